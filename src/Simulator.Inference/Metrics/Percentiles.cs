namespace Simulator.Inference.Metrics;

/// <summary>
/// Percentiles by linear interpolation between closest ranks, the method of numpy's default
/// <c>np.percentile</c> (and so of vLLM's benchmark): for n sorted values and percent p, the rank is
/// h = (n - 1) p / 100 and the value is x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h]).
/// </summary>
public static class Percentiles
{
    /// <summary>The <paramref name="percent"/>-th percentile (0..100) of values sorted ascending; NaN when empty.</summary>
    public static double Linear(ReadOnlySpan<float> sortedAscending, double percent)
    {
        if (percent is < 0 or > 100 || double.IsNaN(percent))
            throw new ArgumentOutOfRangeException(nameof(percent), percent, "percent must be in [0, 100]");
        var n = sortedAscending.Length;
        if (n == 0) return double.NaN;
        var rank = (n - 1) * percent / 100.0;
        var lo = (int)Math.Floor(rank);
        var hi = Math.Min(lo + 1, n - 1);
        double a = sortedAscending[lo], b = sortedAscending[hi];
        return a + (rank - lo) * (b - a);
    }
}

/// <summary>
/// Summary statistics of one latency metric in milliseconds over the requests that have it.
/// All figures are 0 when <see cref="Count"/> is 0 (summary.json writes them as null then).
/// </summary>
public sealed record LatencyStats(long Count, double Mean, double P50, double P90, double P95, double P99, double Max)
{
    /// <summary>Statistics of no values.</summary>
    public static LatencyStats Empty { get; } = new(0, 0, 0, 0, 0, 0, 0);

    /// <summary>Sorts <paramref name="values"/> in place and computes mean, linear percentiles and max (sums in double).</summary>
    public static LatencyStats FromValues(Span<float> values)
    {
        FloatSort.Sort(values);
        return FromSorted(values);
    }

    /// <summary>Mean, linear percentiles and max of values already sorted ascending (sums in double).</summary>
    public static LatencyStats FromSorted(ReadOnlySpan<float> s)
    {
        if (s.Length == 0) return Empty;
        double sum = 0;
        foreach (var v in s) sum += v;
        return new LatencyStats(s.Length, sum / s.Length,
            Percentiles.Linear(s, 50), Percentiles.Linear(s, 90), Percentiles.Linear(s, 95),
            Percentiles.Linear(s, 99), s[^1]);
    }
}
