using System.Runtime.InteropServices;

namespace Simulator.Inference.Metrics;

/// <summary>
/// A mergeable histogram of non-negative integer-nanosecond values (inter-token latencies) in logarithmic
/// buckets of ratio <see cref="BucketRatio"/>, so a run of any length needs memory for its distinct buckets
/// only (at most about 21,000 between 1 us and 1,000 s), never one entry per token. Count, sum, min and max
/// are exact, and so is the mean. Each bucket also keeps the smallest and largest value it saw: a bucket
/// that holds one distinct value (the common case here, since all tokens of one batch share one gap) gives
/// that value exactly. Percentiles use numpy's linear rule on the order statistics, each read from its
/// bucket as the bucket's geometric midpoint clamped to the values seen there, so every percentile is
/// within <see cref="RelativeErrorBound"/> (sqrt(1.001) - 1, under 0.05%) of the exact one.
/// </summary>
public sealed class GapHistogram
{
    /// <summary>Upper over lower bound of every bucket.</summary>
    public const double BucketRatio = 1.001;

    /// <summary>The largest relative error of a percentile: sqrt(<see cref="BucketRatio"/>) - 1.</summary>
    public static readonly double RelativeErrorBound = Math.Sqrt(BucketRatio) - 1;

    private static readonly double InvLogRatio = 1 / Math.Log(BucketRatio);
    private const int ZeroBucket = int.MinValue;

    private readonly Dictionary<int, Bucket> _buckets = [];
    private Bucket[]? _sorted;

    /// <summary>Values added.</summary>
    public long Count { get; private set; }

    /// <summary>Sum of the values, ns.</summary>
    public long SumNs { get; private set; }

    /// <summary>Largest value, ns (0 when empty).</summary>
    public long MaxNs { get; private set; }

    /// <summary>Non-empty buckets.</summary>
    public int BucketCount => _buckets.Count;

    /// <summary>Adds <paramref name="count"/> values equal to <paramref name="valueNs"/>.</summary>
    public void Add(long valueNs, long count = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(valueNs);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count == 0) return;
        AddBucket(IndexOf(valueNs), new Bucket(count, valueNs, valueNs));
        Count += count;
        SumNs = checked(SumNs + valueNs * count);
        MaxNs = Math.Max(MaxNs, valueNs);
    }

    /// <summary>Adds every value of <paramref name="other"/> (the result equals one histogram fed both streams).</summary>
    public void Merge(GapHistogram other)
    {
        ArgumentNullException.ThrowIfNull(other);
        foreach (var (index, b) in other._buckets) AddBucket(index, b);
        Count += other.Count;
        SumNs = checked(SumNs + other.SumNs);
        MaxNs = Math.Max(MaxNs, other.MaxNs);
    }

    /// <summary>Mean value, ns (exact; NaN when empty).</summary>
    public double MeanNs => Count > 0 ? (double)SumNs / Count : double.NaN;

    /// <summary>The <paramref name="percent"/>-th percentile (numpy's linear rule), ns, within <see cref="RelativeErrorBound"/>; NaN when empty.</summary>
    public double PercentileNs(double percent)
    {
        if (percent is < 0 or > 100 || double.IsNaN(percent))
            throw new ArgumentOutOfRangeException(nameof(percent), percent, "percent must be in [0, 100]");
        if (Count == 0) return double.NaN;
        var sorted = Sorted();
        var rank = (Count - 1) * percent / 100.0;
        var lo = (long)Math.Floor(rank);
        var hi = Math.Min(lo + 1, Count - 1);
        double a = OrderStatistic(sorted, lo), b = hi == lo ? a : OrderStatistic(sorted, hi);
        return a + (rank - lo) * (b - a);
    }

    /// <summary>The non-empty buckets in ascending order: smallest and largest value seen in each (ns) and how many values.</summary>
    public IReadOnlyList<(long MinNs, long MaxNs, long Count)> Buckets() =>
        Sorted().Select(b => (b.MinNs, b.MaxNs, b.Count)).ToArray();

    /// <summary>Count, mean, p50 / p90 / p95 / p99 and max in ms (not rounded); <see cref="LatencyStats.Empty"/> when empty.</summary>
    public LatencyStats StatsMs() => Count == 0
        ? LatencyStats.Empty
        : new LatencyStats(Count, MeanNs / 1e6, PercentileNs(50) / 1e6, PercentileNs(90) / 1e6, PercentileNs(95) / 1e6,
            PercentileNs(99) / 1e6, MaxNs / 1e6);

    private static int IndexOf(long valueNs) => valueNs == 0 ? ZeroBucket : (int)Math.Floor(Math.Log(valueNs) * InvLogRatio);

    private void AddBucket(int index, Bucket b)
    {
        _sorted = null;
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_buckets, index, out var existed);
        slot = existed ? new Bucket(slot.Count + b.Count, Math.Min(slot.MinNs, b.MinNs), Math.Max(slot.MaxNs, b.MaxNs), index) : b with { Index = index };
    }

    private Bucket[] Sorted()
    {
        if (_sorted != null) return _sorted;
        var array = _buckets.Values.ToArray();
        Array.Sort(array, (x, y) => x.Index.CompareTo(y.Index));
        return _sorted = array;
    }

    private static double OrderStatistic(Bucket[] sorted, long k)
    {
        long seen = 0;
        foreach (var b in sorted)
        {
            seen += b.Count;
            if (k < seen) return b.Estimate();
        }
        return sorted[^1].MaxNs;
    }

    private readonly record struct Bucket(long Count, long MinNs, long MaxNs, int Index = 0)
    {
        // Implementation note: the geometric midpoint of [ratio^i, ratio^(i+1)) is within sqrt(ratio) - 1 of every
        // value in the bucket; clamping to the values actually seen can only bring it closer (and makes a
        // single-valued bucket exact).
        public double Estimate()
        {
            if (MinNs == MaxNs || Index == ZeroBucket) return MinNs;
            var mid = Math.Pow(BucketRatio, Index + 0.5);
            return Math.Clamp(mid, MinNs, MaxNs);
        }
    }
}
