namespace Simulator.Inference.Cost;

/// <summary>
/// What one sequence contributes to one iteration: <see cref="NewTokens"/> tokens processed now
/// (a prefill chunk, or 1 for a decode step) on top of <see cref="ContextTokens"/> tokens already in
/// its KV cache.
/// </summary>
public readonly record struct SequenceWork(int NewTokens, int ContextTokens)
{
    public bool IsDecode => NewTokens == 1 && ContextTokens > 0;
}

/// <summary>
/// The predicted time of one iteration on one pipeline stage, split by cause. All parts in
/// nanoseconds; <see cref="TotalNs"/> is what the stage is busy for. Communication parts are the
/// analytic (no-contention) times; <see cref="Comms"/> lists the same collectives so a flow-mode
/// network can replay them on shared links instead. <see cref="NewTokens"/> is the batch's new tokens (what a DP-attention
/// engine adds up over its ranks to price its MoE layers). <see cref="BreakdownMs"/> is empty for a cost priced for its
/// times only (<see cref="IStageCostModel.EstimateTimes"/>, what the serving loop asks every iteration). A value, not an
/// object: the serving loop prices every iteration, and a cost it does not allocate is one the collector never sees.
/// </summary>
public readonly record struct StageCost(
    long ComputeNs,
    long TpCommNs,
    long EpCommNs,
    long CpCommNs,
    long PpCommNs,
    long OverheadNs,
    IReadOnlyDictionary<string, double> BreakdownMs,
    IReadOnlyList<CommDemand> Comms,
    long NewTokens = 0)
{
    /// <summary>Stage busy time excluding the PP send to the next stage (which occupies the link, not the GPUs).</summary>
    public long StageBusyNs => ComputeNs + TpCommNs + EpCommNs + CpCommNs + OverheadNs;

    public long TotalNs => StageBusyNs + PpCommNs;
}

/// <summary>Which parallel group a collective runs on.</summary>
public enum CommGroupKind { Tensor, Expert, Context, Pipeline }

/// <summary>
/// A collective the iteration needs: <paramref name="Count"/> times an operation of <paramref name="Bytes"/> bytes on a
/// group. <paramref name="OverlapNs"/> is compute time it runs under (the CP ring under attention): only what the
/// collective takes beyond it is charged, in the analytic model and in flow mode alike.
/// </summary>
public readonly record struct CommDemand(CommGroupKind Group, string Op, long Bytes, int Count, long AnalyticNsEach, long OverlapNs = 0);
