using System.Text;
using CsvHelper;

namespace Simulator.Inference.Metrics;

/// <summary>One sweep point: its swept values (in the order of the swept keys) and its summary, or the error that stopped it.</summary>
public sealed record SweepPointResult(IReadOnlyList<string> Values, RunSummary? Summary, string? Error = null);

/// <summary>
/// Writes sweep.csv: one row per point, a column per swept key (named by its path), then the headline
/// figures of the point's summary, then <c>status</c> (ok | error) and <c>error</c>. A point that failed has
/// empty figures; a statistic of no values (e.g. TPOT when every output is one token) is empty too.
/// </summary>
public static class SweepTable
{
    /// <summary>The columns after the swept keys.</summary>
    public static readonly IReadOnlyList<string> MetricColumns =
    [
        "completed", "ttft_p50_ms", "ttft_p95_ms", "tpot_p50_ms", "tpot_p95_ms", "output_tokens_per_s",
        "bubble_fraction", "slo_attainment", "goodput_requests_per_s", "status", "error",
    ];

    /// <summary>Writes sweep.csv to <paramref name="path"/> (replacing it).</summary>
    public static void Write(string path, IReadOnlyList<string> sweptKeys, IReadOnlyList<SweepPointResult> points)
    {
        using var f = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read);
        Write(f, sweptKeys, points);
    }

    /// <summary>Writes sweep.csv to <paramref name="stream"/> (left open).</summary>
    public static void Write(Stream stream, IReadOnlyList<string> sweptKeys, IReadOnlyList<SweepPointResult> points)
    {
        ArgumentNullException.ThrowIfNull(sweptKeys);
        ArgumentNullException.ThrowIfNull(points);
        using var w = CsvWriter.Create(stream, CsvWriterOptions.Default with { NewLine = "\n" }, leaveOpen: true);
        w.WriteHeader(sweptKeys.Concat(MetricColumns).ToArray());
        foreach (var p in points)
        {
            if (p.Values.Count != sweptKeys.Count)
                throw new ArgumentException($"a point has {p.Values.Count} values for {sweptKeys.Count} swept keys", nameof(points));
            foreach (var v in p.Values) w.WriteField(v);
            if (p.Summary is { } s)
            {
                w.WriteField(MetricFormat.Integer(s.Requests.Completed));
                w.WriteField(Stat(s.TtftMs, s.TtftMs.P50));
                w.WriteField(Stat(s.TtftMs, s.TtftMs.P95));
                w.WriteField(Stat(s.TpotMs, s.TpotMs.P50));
                w.WriteField(Stat(s.TpotMs, s.TpotMs.P95));
                w.WriteField(MetricFormat.Fixed(s.Throughput.OutputTokensPerS, 3));
                w.WriteField(MetricFormat.Fraction(s.Pipeline.BubbleFraction));
                w.WriteField(MetricFormat.Fraction(s.Slo.Attainment));
                w.WriteField(MetricFormat.Fixed(s.Slo.GoodputRequestsPerS, 4));
                w.WriteField("ok");
                w.WriteField(p.Error ?? "");
            }
            else
            {
                for (var i = 0; i < MetricColumns.Count - 2; i++) w.WriteField("");
                w.WriteField("error");
                w.WriteField(OneLine(p.Error ?? "unknown error"));
            }
            w.EndRecord();
        }
    }

    private static string Stat(LatencyStats s, double value) => s.Count > 0 ? MetricFormat.Milliseconds(value) : "";

    private static string OneLine(string text) => new StringBuilder(text).Replace("\r\n", " ").Replace('\n', ' ').Replace('\r', ' ').ToString();
}
