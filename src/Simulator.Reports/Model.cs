using System.Globalization;

namespace Simulator.Reports;

/// <summary>Options of a report; every field has a sensible default.</summary>
public sealed record ReportOptions
{
    /// <summary>The report heading (default: the scenario name, or "Simulation report").</summary>
    public string? Title { get; init; }

    /// <summary>Longest stretch of the stage timeline, from the first iteration (seconds).</summary>
    public double TimelineWindowS { get; init; } = 2.0;

    /// <summary>At most this many iterations of the busiest stage appear in the timeline (keeps bubbles visible).</summary>
    public int TimelineMaxIterationsPerRow { get; init; } = 60;

    /// <summary>Chart width in pixels (of the SVG; the PNG has <see cref="PngScale"/> times as many).</summary>
    public int ChartWidth { get; init; } = 860;

    /// <summary>Chart height in pixels (of the SVG; the PNG has <see cref="PngScale"/> times as many).</summary>
    public int ChartHeight { get; init; } = 460;

    /// <summary>PNG pixels per SVG pixel: 2 gives slides a sharp image at the same layout.</summary>
    public int PngScale { get; init; } = 2;

    /// <summary>Overrides the TTFT bound of the SLO (ms).</summary>
    public double? SloTtftMs { get; init; }

    /// <summary>Overrides the TPOT bound of the SLO (ms).</summary>
    public double? SloTpotMs { get; init; }

    /// <summary>Overrides the SLO percentile (e.g. 95).</summary>
    public double? SloPercentile { get; init; }
}

/// <summary>
/// One chart of the report: <paramref name="Name"/> names its files <c>charts/NAME.png</c> and <c>charts/NAME.svg</c>;
/// <paramref name="Plot"/> is the ScottPlot model they are rendered from.
/// </summary>
public sealed record ChartInfo(string Name, string Title, string Question, ScottPlot.Plot Plot)
{
    /// <summary>The PNG's file name.</summary>
    public string PngFile => Name + ".png";

    /// <summary>The SVG's file name.</summary>
    public string SvgFile => Name + ".svg";
}

/// <summary>
/// What <see cref="ReportBuilder.Build"/> wrote and concluded: <see cref="Charts"/> are the charts (with their
/// ScottPlot models), <see cref="ChartPaths"/> every chart file written (charts/NAME.png and charts/NAME.svg per chart).
/// </summary>
public sealed record ReportResult(
    string HtmlPath,
    string MarkdownPath,
    IReadOnlyList<ChartInfo> Charts,
    IReadOnlyList<string> ChartPaths,
    IReadOnlyList<ConfigurationResult> Configurations,
    ConfigurationResult? Best,
    string Verdict,
    IReadOnlyList<string> Notes);

/// <summary>One compared configuration: a run directory, or a row of a sweep (with its point run when present).</summary>
public sealed record ConfigurationResult
{
    public required string Label { get; init; }
    public RunData? Run { get; init; }
    public IReadOnlyDictionary<string, string> SweptValues { get; init; } = new SortedDictionary<string, string>(StringComparer.Ordinal);
    public string Status { get; init; } = "ok";
    public string Error { get; init; } = "";
    public double? Completed { get; init; }
    public double? TtftP50Ms { get; init; }
    public double? TtftAtPercentileMs { get; init; }
    public double? TpotP50Ms { get; init; }
    public double? TpotAtPercentileMs { get; init; }
    public double? OutputTokensPerS { get; init; }
    public double? GoodputRequestsPerS { get; init; }
    public double? SloAttainment { get; init; }
    public double? BubbleFraction { get; init; }

    /// <summary>summary.json's <c>cost.usd_per_million_output_tokens</c> (null when the run was not priced).</summary>
    public double? UsdPerMillionOutputTokens { get; init; }

    /// <summary>True when the run finished without error.</summary>
    public bool Succeeded => Status is "ok" or "completed" or "success" or "";

    /// <summary>Whether the configuration meets the SLO (null when no SLO is set or the figures are missing).</summary>
    public bool? MeetsSlo { get; init; }
}

/// <summary>Invariant number formatting for tables and sentences.</summary>
internal static class Fmt
{
    public static string Num(double? v)
    {
        if (v is not { } x || !double.IsFinite(x)) return "–";
        var a = Math.Abs(x);
        var format = a >= 100 ? "0" : a >= 10 ? "0.0" : a >= 1 ? "0.00" : "0.###";
        var s = x.ToString(format, CultureInfo.InvariantCulture);
        return s == "-0" ? "0" : s;
    }

    public static string Pct(double? v) =>
        v is { } x && double.IsFinite(x) ? (x * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%" : "–";

    public static string Inv(double v) => v.ToString("0.######", CultureInfo.InvariantCulture);
}

/// <summary>Order statistics with linear interpolation between closest ranks (numpy's default, as vLLM's benchmark).</summary>
public static class Percentiles
{
    /// <summary>The <paramref name="p"/>-th percentile (0..100) of the finite values; NaN when there are none.</summary>
    public static double Of(IEnumerable<double> values, double p) => OfSorted(SortedFinite(values), p);

    /// <summary>The <paramref name="p"/>-th percentile of values already in ascending order and finite (<see cref="SortedFinite"/>); NaN when there are none.</summary>
    internal static double OfSorted(ReadOnlySpan<double> sorted, double p)
    {
        if (sorted.Length == 0) return double.NaN;
        var rank = Math.Clamp(p, 0, 100) / 100 * (sorted.Length - 1);
        var lo = (int)Math.Floor(rank);
        var hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }

    /// <summary>The finite values in ascending order, ties in their input order (as a stable sort gives them).</summary>
    internal static double[] SortedFinite(IEnumerable<double> values)
    {
        var sorted = values.Where(double.IsFinite).ToArray();
        // Implementation note: Array.Sort (introsort) is several times faster than LINQ's stable OrderBy on a million
        // latencies, and equal doubles are the same bits, so its order is the stable one; the one exception is -0 and
        // +0, which compare equal but print differently, so a list holding a -0 is sorted the stable way.
        if (Array.Exists(sorted, v => v == 0 && double.IsNegative(v))) return sorted.OrderBy(v => v).ToArray();
        Array.Sort(sorted);
        return sorted;
    }
}
