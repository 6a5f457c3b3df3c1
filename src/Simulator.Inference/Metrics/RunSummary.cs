namespace Simulator.Inference.Metrics;

/// <summary>How many requests ended each way; <see cref="Total"/> is their sum.</summary>
public sealed record RequestCounts(long Total, long Completed, long Rejected, long Failed, long Unfinished);

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

/// <summary>MoE routing balance: the most loaded GPU's expert load over the mean load (1 = balanced).</summary>
public sealed record ExpertSummary(double HotspotRatio);

/// <summary>
/// The headline figures of one run, as written to summary.json (figures already rounded to the
/// precision written, so the object and the file agree). Latencies in ms over completed requests;
/// <see cref="ItlMs"/> over every gap between consecutive output tokens of a request, pooled over requests.
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
    LatencyStats? ItlMs = null);
