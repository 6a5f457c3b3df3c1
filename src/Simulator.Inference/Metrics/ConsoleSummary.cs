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
        // Only when the cache did something: a workload without prefix ids (most traces) gets no line.
        if (s.PrefixCache is { Enabled: true } pc && (pc.HbmHitTokens + pc.CpuHitTokens > 0 || pc.EvictedBlocks > 0))
            lines.Add($"Prefix cache: hit ratio {F(pc.HitRatioTokens * 100, 2)} % of {I(pc.PromptTokens)} prompt tokens (GPU {I(pc.HbmHitTokens)}, " +
                      $"CPU tier {I(pc.CpuHitTokens)} tokens), {I(pc.EvictedBlocks)} blocks evicted from GPU memory");
        if (s.Faults is { } f)
            lines.Add($"Faults: {I(f.Faults.Count)} applied, availability {F(f.Availability * 100, 2)} % of replica-seconds live");
        if (r.Reasons is { } reasons)
            lines.Add("Not completed, by reason: " + string.Join(", ", reasons.Items.Select(x => $"{x.Key} {I(x.Value)}")));
        if (s.KvTransfer is { } kv)
            lines.Add($"KV transfer: {I(kv.Transfers)} hand-offs, {F(kv.Bytes / 1e9, 3)} GB, mean {(kv.MeanMs is { } mean ? F(mean, 3) : "-")} ms, p95 {(kv.P95Ms is { } p95 ? F(p95, 3) : "-")} ms (first token -> KV on the decode replica)");
        if (s.Iterations is { } it) lines.Add(IterationsLine(it));
        if (s.Cost is { } cost)
            lines.Add($"Cost: {F(cost.UsdPerHour, 2)} USD/hour, {F(cost.UsdTotal, 4)} USD over the {F(s.Throughput.WindowS, 3)} s window, " +
                      (cost.UsdPerMillionOutputTokens is { } pm ? $"{F(pm, 4)} USD per million output tokens" : "no output tokens"));
        var simLine = $"Simulation: {I(s.Simulation.Events)} events, {F(s.Simulation.SimulatedS, 3)} s simulated";
        if (perf is { WallSeconds: > 0 } p)
            simLine += $" in {F(p.WallSeconds, 2)} s wall ({F(p.Events / p.WallSeconds, 0)} events/s)";
        if (perf is { Threads: > 1 })
            simLine += $" on {I(perf.Threads)} threads, {I(perf.Windows)} windows, workers ran {F(perf.WorkerShare * 100, 0)}% of the groups" + (perf.NoLookaheadReason is { } nl ? $" (one instant each: {nl})" : "");
        if (perf?.SerialReason is { } why) simLine += $"; one thread: {why}";
        lines.Add(simLine);
        if (outputDirectory != null) lines.Add($"Outputs: {outputDirectory}");
        return lines;
    }

    /// <summary>What iterations.csv kept, when it does not hold every row.</summary>
    public static string IterationsLine(IterationsKept it) => it.Mode == "none"
        ? $"Iterations: {I(it.Rows)} rows, none written (output.iterations: none; output.iterations: all writes every row)"
        : $"Iterations: {I(it.Written)} of {I(it.Rows)} rows written: the first {I(it.FullRows)} in full, then every iteration numbered a multiple of {I(it.Stride)} (output.iterations: all writes every row)";

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
