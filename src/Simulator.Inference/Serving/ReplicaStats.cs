using Simulator.Inference.Cost;

namespace Simulator.Inference.Serving;

/// <summary>How to build one replica: its cost model (which fixes the stage count), scheduler settings and microbatches.</summary>
/// <param name="CostModel">Prices each batch on each stage (fixes the stage count).</param>
/// <param name="Scheduler">Scheduler settings and KV capacity.</param>
/// <param name="Microbatches">Batches in flight in the replica's pipeline.</param>
/// <param name="Role">Mixed (both phases), Prefill (prompts and first tokens, then hands the KV to a decode replica) or Decode.</param>
/// <param name="KvBytesPerToken">KV bytes of one token over the whole model (all layers and KV heads, not per GPU): what a hand-off moves per prompt token.</param>
/// <param name="Layers">The model's layers (a layerwise transfer streams one layer's share at a time).</param>
/// <param name="DataParallel">The replica's place in a DP-attention engine (null: a replica of its own).</param>
public sealed record ReplicaSetup(IStageCostModel CostModel, SchedulerConfig Scheduler, int Microbatches = 1,
    ReplicaRole Role = ReplicaRole.Mixed, long KvBytesPerToken = 0, int Layers = 1, DataParallelRank? DataParallel = null);

/// <summary>
/// One pipeline stage's totals over a run. <see cref="BusyNs"/> is the time the stage's GPUs were occupied;
/// compute / comm (TP + EP + CP) / overhead split it as the cost model did; <see cref="PpSendNs"/> is the time
/// of its sends to the next stage (on the link, not counted as busy).
/// </summary>
public sealed record StageStats(
    int Stage, long BusyNs, long ComputeNs, long CommNs, long OverheadNs, long PpSendNs, long Iterations,
    long FirstStartNs, long LastEndNs);

/// <summary>
/// One replica's figures at the end of a run. <see cref="PipelineActiveNs"/> is the time with at least one
/// microbatch somewhere in the pipeline; token counts are totals over the run; <see cref="PrefixCache"/> holds the
/// prefix-cache lookups and evictions (null = not reported).
/// </summary>
public sealed record ReplicaStats(
    int Replica, int Stages, int Microbatches, IReadOnlyList<StageStats> StageTotals, long PipelineActiveNs,
    long Iterations, long PrefillTokens, long DecodeTokens, long OutputTokens, long Preemptions, long Completed,
    int PeakKvBlocks, int KvCapacityBlocks, PrefixCacheStats? PrefixCache = null)
{
    /// <summary>Sum of stage busy time over stages x active time: the pipeline's utilization while it had work.</summary>
    public double Utilization
    {
        get
        {
            if (PipelineActiveNs <= 0) return 0;
            double busy = 0;
            foreach (var s in StageTotals) busy += s.BusyNs;
            return busy / ((double)Stages * PipelineActiveNs);
        }
    }

    /// <summary>Idle stage-time / (stages x active time): 1 - <see cref="Utilization"/> (0 when the replica never ran).</summary>
    public double BubbleFraction => PipelineActiveNs <= 0 ? 0 : 1 - Utilization;
}
