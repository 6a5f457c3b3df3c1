using Simulator.Inference.Workload;

namespace Simulator.Inference.Serving;

/// <summary>
/// Request-level (static) batching: when no batch is running, take up to max_num_seqs waiting requests
/// (first come first served) whose full length (prompt + output) fits the free KV blocks, split them into
/// the microbatch groups in order, and run the batch until every request in it has finished; only then
/// form the next batch. Each member's whole prompt is prefilled in its first iteration (no token budget);
/// KV for the full length is reserved up front, so a static batch never preempts.
/// </summary>
public sealed class StaticBatchScheduler : IReplicaScheduler
{
    private readonly int _maxNumSeqs;

    public StaticBatchScheduler(SchedulerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        _maxNumSeqs = config.MaxNumSeqs;
    }

    public string Name => "static";

    public bool CanEverSchedule(Request request) => true;

    public void Schedule(Replica replica, int group)
    {
        if (replica.RunningCount == 0) FormBatch(replica);
        var running = replica.RunningOf(group);
        for (int i = 0; i < running.Count; i++)
        {
            var seq = running[i];
            int n = seq.IsPrefilling ? seq.RemainingPrefillTokens : 1;
            if (!replica.AddToBatch(seq, Math.Max(1, n)))
                throw new InvalidOperationException($"static batch: request {seq.Request.Id} outgrew its reserved KV blocks");
        }
    }

    private void FormBatch(Replica replica)
    {
        // Count the members first so that they can be split evenly, in order, over the groups.
        int members = 0;
        long freeBlocks = replica.Kv.FreeBlocks - replica.WatermarkBlocks;
        while (members < replica.Waiting.Count && members < _maxNumSeqs)
        {
            var req = replica.Waiting[members].Request;
            int blocks = replica.Kv.BlocksFor(FullLength(req));
            if (blocks > freeBlocks) break;
            freeBlocks -= blocks;
            members++;
        }
        int groups = replica.Microbatches;
        for (int i = 0; i < members; i++)
        {
            int g = (int)((long)i * groups / members);
            var req = replica.Waiting.PeekFront().Request;
            if (!replica.TryAdmit(g, FullLength(req)))
                throw new InvalidOperationException("static batch: admission failed after the blocks were counted");
        }
    }

    private static int FullLength(Request r) => checked(r.InputTokens + Math.Max(0, r.OutputTokens));
}
