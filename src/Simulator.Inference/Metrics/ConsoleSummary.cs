namespace Simulator.Inference.Metrics;

/// <summary>
/// Renders a run summary as plain-text lines for the console (the CLI prints them): a latency table
/// (mean, p50, p95, p99 in ms), throughput, SLO attainment and goodput, bubble fraction, memory per GPU,
/// the simulation's speed and where the outputs are. Invariant culture, fixed decimals.
/// </summary>
public static class ConsoleSummary
{
    /// <summary>The lines of the summary; <paramref name="perf"/> adds wall-clock speed, <paramref name="outputDirectory"/> the outputs line.</summary>
    public static IReadOnlyList<string> Lines(RunSummary s, string? outputDirectory = null, SimulationStats? perf = null)
    {
        ArgumentNullException.ThrowIfNull(s);
        var r = s.Requests;
        var lines = new List<string>
        {
            $"Run {s.Scenario} (seed {I(s.Seed)}): {I(r.Total)} requests: {I(r.Completed)} completed, {I(r.Rejected)} rejected, {I(r.Failed)} failed, {I(r.Unfinished)} unfinished",
            "",
            $"{"latency (ms)",-14}{"mean",12}{"p50",12}{"p95",12}{"p99",12}{"max",12}{"count",10}",
            Row("TTFT", s.TtftMs),
            Row("TPOT", s.TpotMs),
            Row("ITL", s.ItlMs ?? LatencyStats.Empty),
            Row("E2E", s.E2eMs),
            Row("Queue", s.QueueMs),
            "",
            $"Throughput: {F(s.Throughput.RequestsPerS, 3)} req/s, {F(s.Throughput.InputTokensPerS, 1)} input tok/s, " +
            $"{F(s.Throughput.OutputTokensPerS, 1)} output tok/s (window {F(s.Throughput.WindowS, 3)} s)",
            SloLine(s.Slo),
            $"Pipeline: {I(s.Pipeline.Stages)} stage(s) x {I(s.Pipeline.Microbatches)} microbatch(es), bubble fraction {F(s.Pipeline.BubbleFraction, 4)}",
        };
        if (s.Memory is { } m)
            lines.Add($"Memory per GPU (tightest: GPU {I(m.Gpu)} of {I(m.Gpus)}): weights {F(m.WeightsGB, 2)} GB, KV cache {F(m.KvCapacityGB, 2)} GB, " +
                      $"activations {F(m.ActivationGB, 2)} GB, reserve {F(m.ReserveGB, 2)} GB, free {F(m.FreeGB, 2)} GB");
        if (s.Experts is { } e)
            lines.Add($"Experts: hotspot ratio {F(e.HotspotRatio, 3)} (max GPU expert load / mean)");
        var simLine = $"Simulation: {I(s.Simulation.Events)} events, {F(s.Simulation.SimulatedS, 3)} s simulated";
        if (perf is { WallSeconds: > 0 } p)
            simLine += $" in {F(p.WallSeconds, 2)} s wall ({F(p.Events / p.WallSeconds, 0)} events/s)";
        lines.Add(simLine);
        if (outputDirectory != null) lines.Add($"Outputs: {outputDirectory}");
        return lines;
    }

    private static string SloLine(SloSummary slo)
    {
        var limits = new List<string>();
        if (slo.TtftMs is { } t) limits.Add($"TTFT <= {F(t, 1)} ms");
        if (slo.TpotMs is { } p) limits.Add($"TPOT <= {F(p, 1)} ms");
        var what = limits.Count > 0 ? string.Join(", ", limits) : "no limits";
        var pct = "p" + F(slo.Percentile, slo.Percentile % 1 == 0 ? 0 : 1);
        var at = $"{pct} TTFT {Opt(slo.TtftAtPercentileMs)} ms, {pct} TPOT {Opt(slo.TpotAtPercentileMs)} ms: {(slo.PercentileMet ? "met" : "NOT met")}";
        return $"SLO ({what}): attainment {F(slo.Attainment * 100, 2)} %, goodput {F(slo.GoodputRequestsPerS, 3)} req/s; {at}";
    }

    private static string Row(string name, LatencyStats s) => s.Count == 0
        ? $"{name,-14}{"-",12}{"-",12}{"-",12}{"-",12}{"-",12}{I(0),10}"
        : $"{name,-14}{F(s.Mean, 3),12}{F(s.P50, 3),12}{F(s.P95, 3),12}{F(s.P99, 3),12}{F(s.Max, 3),12}{I(s.Count),10}";

    private static string Opt(double? v) => v is { } x ? F(x, 1) : "-";

    private static string F(double v, int decimals) => MetricFormat.Fixed(v, decimals);

    private static string I(long v) => MetricFormat.Integer(v);
}
