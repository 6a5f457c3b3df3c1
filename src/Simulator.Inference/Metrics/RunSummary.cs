namespace Simulator.Inference.Metrics;

/// <summary>
/// How many requests ended each way; <see cref="Total"/> is their sum. <see cref="Reasons"/> counts the non-completed
/// ones by requests.csv <c>reason</c> (null when every request completed).
/// </summary>
public sealed record RequestCounts(long Total, long Completed, long Rejected, long Failed, long Unfinished, ReasonCounts? Reasons = null);

/// <summary>Request counts by <c>reason</c>, sorted by reason (summary.json <c>requests.reasons</c>).</summary>
public sealed record ReasonCounts(IReadOnlyList<KeyValuePair<string, long>> Items)
{
    public bool Equals(ReasonCounts? other) => other is not null && Items.SequenceEqual(other.Items);

    public override int GetHashCode() => Items.Count;
}

/// <summary>
/// Fault injection results (summary.json <c>faults</c> and <c>availability</c>): every fault as applied, and the
/// fraction of replica-seconds the replicas were live (not down, not reloading weights).
/// </summary>
public sealed record FaultSummary(double Availability, IReadOnlyList<FaultRecord> Faults)
{
    public bool Equals(FaultSummary? other) => other is not null && Availability == other.Availability && Faults.SequenceEqual(other.Faults);

    public override int GetHashCode() => HashCode.Combine(Availability, Faults.Count);
}

/// <summary>Completed work per second over the throughput window (first arrival to last completion).</summary>
public sealed record ThroughputSummary(double RequestsPerS, double InputTokensPerS, double OutputTokensPerS, double WindowS, long InputTokens, long OutputTokens);

/// <summary>
/// SLO results. <see cref="Attainment"/> = requests meeting every SLO / requests that ended (completed,
/// rejected or failed; unfinished excluded); <see cref="GoodputRequestsPerS"/> = requests meeting every SLO
/// / throughput window. <see cref="TtftAtPercentileMs"/> and <see cref="TpotAtPercentileMs"/> are the
/// <see cref="Percentile"/>-th percentiles over completed requests, and <see cref="PercentileMet"/> says
/// whether both are within their thresholds.
/// </summary>
public sealed record SloSummary(
    double Attainment, double GoodputRequestsPerS, long Met,
    double? TtftMs, double? TpotMs, double Percentile,
    double? TtftAtPercentileMs, double? TpotAtPercentileMs, bool PercentileMet);

/// <summary>Pipeline shape and the measured bubble fraction (idle stage-time / (stages x busy-period span)).</summary>
public sealed record PipelineSummary(int Stages, int Microbatches, double BubbleFraction);

/// <summary>Deterministic figures of the simulation (no wall clock: that is in perf.json).</summary>
public sealed record SimulationSummary(long Events, double SimulatedS);

/// <summary>The memory plan of the GPU with the least free memory (ties: lowest index), GB.</summary>
public sealed record MemorySummary(int Gpus, int Gpu, double WeightsGB, double KvCapacityGB, double ActivationGB, double ReserveGB, double FreeGB);

/// <summary>
/// KV moved from prefill to decode replicas (disaggregated pools): total bytes over the hand-offs of requests that
/// reached their decode replica, and the time from first token until the KV was there (mean, p95 in ms).
/// </summary>
public sealed record KvTransferSummary(long Bytes, long Transfers, double? MeanMs, double? P95Ms);

/// <summary>MoE routing balance: the most loaded GPU's expert load over the mean load (1 = balanced).</summary>
public sealed record ExpertSummary(double HotspotRatio);

/// <summary>
/// DP-attention engines over the run (summary.json <c>data_parallel</c>): <see cref="Steps"/> lockstep steps over all
/// engines; <see cref="EpCommMs"/> their dispatch + combine time summed per step (not per rank); <see cref="ExpertMs"/>
/// the routed experts on the hottest GPU; <see cref="RankTokenImbalance"/> the busiest rank's new tokens over the mean rank's.
/// </summary>
public sealed record DataParallelSummary(int Engines, int RanksPerEngine, int ExpertParallelSize, long Steps, double EpCommMs,
    double ExpertMs, double RankTokenImbalance);

/// <summary>
/// What the run's GPUs cost (summary.json <c>cost</c>, only when the scenario prices its GPUs): <see cref="UsdPerHour"/> =
/// the GPUs of every pool (replicas x TP x PP x CP, as <c>sim plan</c> counts a layout) x their price per GPU-hour;
/// <see cref="UsdTotal"/> = that rate over the throughput window (<c>throughput.window_s</c>, first arrival to last
/// completion); <see cref="UsdPerMillionOutputTokens"/> = <see cref="UsdTotal"/> / the window's output tokens x 10^6
/// (null when no token was produced).
/// </summary>
public sealed record CostSummary(double UsdPerHour, double UsdTotal, double? UsdPerMillionOutputTokens)
{
    /// <summary>The cost of a run whose GPUs cost <paramref name="usdPerHour"/> together, over <paramref name="throughput"/>'s window.</summary>
    public static CostSummary Of(double usdPerHour, ThroughputSummary throughput)
    {
        double total = usdPerHour * throughput.WindowS / 3600;
        return new(MetricFormat.Round(usdPerHour, 4), MetricFormat.Round(total, 6),
            throughput.OutputTokens > 0 ? MetricFormat.Round(total / throughput.OutputTokens * 1e6, 4) : null);
    }
}

/// <summary>
/// Prefix caching over the run: <see cref="HitRatioTokens"/> = (GPU + CPU-tier hit tokens) / prompt tokens of the
/// requests looked up at their first admission; <see cref="EvictedBlocks"/> = blocks evicted from GPU memory.
/// </summary>
public sealed record PrefixCacheSummary(bool Enabled, double HitRatioTokens, long HbmHitTokens, long CpuHitTokens, long EvictedBlocks, long PromptTokens)
{
    /// <summary>The summary of these totals, the ratio rounded to <paramref name="decimals"/> decimals (0 when no prompt was looked up).</summary>
    public static PrefixCacheSummary From(bool enabled, long promptTokens, long hbmHitTokens, long cpuHitTokens, long evictedBlocks, int decimals = 4) =>
        new(enabled, promptTokens > 0 ? MetricFormat.Round((double)(hbmHitTokens + cpuHitTokens) / promptTokens, decimals) : 0,
            hbmHitTokens, cpuHitTokens, evictedBlocks, promptTokens);
}

/// <summary>
/// The headline figures of one run, as written to summary.json (figures already rounded to the
/// precision written, so the object and the file agree). Latencies in ms over completed requests;
/// <see cref="ItlMs"/> over every gap between consecutive output tokens of a request, pooled over requests.
/// <see cref="Iterations"/> says which iteration rows were written when iterations.csv does not hold them all.
/// </summary>
public sealed record RunSummary(
    string Scenario,
    long Seed,
    RequestCounts Requests,
    LatencyStats TtftMs,
    LatencyStats TpotMs,
    LatencyStats E2eMs,
    LatencyStats QueueMs,
    ThroughputSummary Throughput,
    SloSummary Slo,
    PipelineSummary Pipeline,
    SimulationSummary Simulation,
    MemorySummary? Memory,
    ExpertSummary? Experts,
    LatencyStats? ItlMs = null,
    PrefixCacheSummary? PrefixCache = null,
    FaultSummary? Faults = null,
    KvTransferSummary? KvTransfer = null,
    IterationsKept? Iterations = null,
    DataParallelSummary? DataParallel = null,
    CostSummary? Cost = null,
    FrontEndSummary? FrontEnd = null);
