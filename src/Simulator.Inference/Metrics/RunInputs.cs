namespace Simulator.Inference.Metrics;

/// <summary>
/// Latency service-level objectives of a run (scenario key <c>slo</c>): per-request thresholds
/// (null = no limit on that metric) and the percentile at which the run is judged (e.g. 95: p95 TTFT
/// must be within <see cref="TtftMs"/>).
/// </summary>
public sealed record SloSpec(double? TtftMs, double? TpotMs, double Percentile = 95)
{
    /// <summary>No objective: every completed request meets it.</summary>
    public static SloSpec None { get; } = new(null, null);
}

/// <summary>What is known about the run before it starts (written into summary.json).</summary>
/// <param name="Scenario">The scenario name.</param>
/// <param name="Seed">The random seed.</param>
/// <param name="Slo">The latency objectives.</param>
/// <param name="PipelineStages">Pipeline-parallel size (stages per replica).</param>
/// <param name="Microbatches">Microbatches in flight per replica.</param>
/// <param name="Disaggregated">Prefill and decode pools: summary.json gets <c>kv_transfer</c>.</param>
/// <param name="UsdPerHour">What the run's GPUs cost per hour together (null: unpriced): summary.json gets <c>cost</c>.</param>
public sealed record RunMetadata(string Scenario, long Seed, SloSpec Slo, int PipelineStages = 1, int Microbatches = 1, bool Disaggregated = false,
    double? UsdPerHour = null);

/// <summary>One GPU's placement, memory plan and activity over the run (a row of gpus.csv).</summary>
/// <param name="Gpu">Global GPU index.</param>
/// <param name="Node">Node index.</param>
/// <param name="Replica">Replica the GPU serves.</param>
/// <param name="Stage">Pipeline stage within the replica.</param>
/// <param name="TpRank">Rank within the stage's tensor-parallel group.</param>
/// <param name="WeightsGB">Weights resident on the GPU, GB (1e9 bytes).</param>
/// <param name="KvCapacityGB">Memory given to the KV cache, GB.</param>
/// <param name="ActivationGB">Peak activation / workspace memory, GB.</param>
/// <param name="ReserveGB">Memory held back (1 - gpu_memory_utilization, runtime overhead), GB.</param>
/// <param name="FreeGB">Memory left unused, GB.</param>
/// <param name="BusyNs">Time the GPU did any work (compute or its collectives).</param>
/// <param name="ComputeNs">Time spent computing.</param>
/// <param name="CommNs">Time spent in collectives (not overlapped with compute).</param>
/// <param name="ExpertLoad">For MoE: this GPU's share of routed expert tokens divided by the mean share (1 = balanced); null otherwise.</param>
/// <param name="Pool">With pools: the pool the GPU belongs to (null without pools or outside every pool's replicas).</param>
/// <param name="GpuType">With pools: the GPU's type (each pool has its own).</param>
public sealed record GpuActivity(
    int Gpu, int Node, int Replica, int Stage, int TpRank,
    double WeightsGB, double KvCapacityGB, double ActivationGB, double ReserveGB, double FreeGB,
    long BusyNs, long ComputeNs, long CommNs, double? ExpertLoad = null, string? Pool = null, string? GpuType = null);

/// <summary>One link's capacity and use over the run (a row of links.csv).</summary>
/// <param name="Link">Link name (unique).</param>
/// <param name="Kind">Link kind (nvlink4, ib-ndr400, ...).</param>
/// <param name="From">Source endpoint.</param>
/// <param name="To">Destination endpoint.</param>
/// <param name="BandwidthGBps">Capacity in GB/s (1e9 bytes per second).</param>
/// <param name="BytesCarried">Bytes that crossed the link.</param>
/// <param name="BusyNs">Time with at least one transfer on the link.</param>
public sealed record LinkActivity(string Link, string Kind, string From, string To, double BandwidthGBps, long BytesCarried, long BusyNs);

/// <summary>
/// One replica's pipeline activity: <see cref="ActiveNs"/> is the total time with at least one
/// microbatch in flight anywhere in the replica's pipeline; <see cref="StageBusyNs"/> is, per stage,
/// the time that stage was busy.
/// </summary>
public sealed record ReplicaPipelineStats(int Replica, long ActiveNs, IReadOnlyList<long> StageBusyNs);

/// <summary>
/// Figures about the simulation itself. <see cref="WallSeconds"/>, <see cref="Threads"/> (the threads that simulated the
/// replicas) and <see cref="SerialReason"/> (why more threads were asked for and one was used; null otherwise) go only to
/// perf.json and the console, never to summary.json, which stays the same for every thread count.
/// </summary>
/// <see cref="Windows"/>: the barriers at which the serving loop stopped the replica groups (0 without groups);
/// <see cref="NoLookaheadReason"/>: on several threads, why each barrier covered one serving-loop instant (null when
/// the run looked ahead, see README "Parallel replicas"); <see cref="WorkerShare"/>: on several threads, the fraction of
/// the groups' runs that the worker threads took.
public sealed record SimulationStats(long Events, long SimulatedNs, double WallSeconds, int Threads = 1, string? SerialReason = null,
    long Windows = 0, string? NoLookaheadReason = null, double WorkerShare = 0);

/// <summary>
/// Everything the run reports once, at its end, to complete the run directory (<see cref="PrefixCache"/>: null = not
/// reported). <c>Faults</c>: with fault injection, the faults applied and the replicas' availability; null otherwise.
/// </summary>
public sealed record RunEndInputs(
    SimulationStats Simulation,
    IReadOnlyList<ReplicaPipelineStats> Pipelines,
    IReadOnlyList<GpuActivity> Gpus,
    IReadOnlyList<LinkActivity> Links,
    PrefixCacheSummary? PrefixCache = null,
    FaultSummary? Faults = null,
    DataParallelSummary? DataParallel = null,
    FrontEndSummary? FrontEnd = null)
{
    /// <summary>End inputs with no GPUs, links or pipeline statistics (tests, request-only runs).</summary>
    public static RunEndInputs Minimal(SimulationStats simulation) => new(simulation, [], [], []);
}
