namespace Simulator.Inference.Serving;

/// <summary>
/// TensorRT-LLM's in-flight batching executor as <c>trtllm-serve</c> and NVIDIA NIM run it by default (scheduler policy
/// <c>trtllm</c>): the <c>GUARANTEED_NO_EVICT</c> capacity scheduler and the micro-batch scheduler under
/// <c>max_batch_size</c> (<see cref="SchedulerConfig.MaxNumSeqs"/>) and <c>max_num_tokens</c>
/// (<see cref="SchedulerConfig.MaxNumBatchedTokens"/>). A request is started only when the KV blocks for its whole
/// prompt plus its whole requested output are free (reserved at admission, so a started request is never paused or
/// evicted); requests are taken first come first served and the first that does not fit stops admission (no
/// overtaking). Every iteration carries all running generation requests (one token each) and whole contexts while
/// they fit what is left of the token budget; with chunked context off (TensorRT-LLM's default,
/// <see cref="SchedulerConfig.EnableChunkedPrefill"/> false) a context runs in one iteration or waits, with it on, the
/// context is cut to what is left of the budget.
/// </summary>
/// <remarks>
/// Sources: TensorRT-LLM "Useful Runtime Options" (capacity scheduler policies: GUARANTEED_NO_EVICT is the default and
/// "guarantee[s] that a started request is never paused"; MAX_UTILIZATION packs more at the risk of pausing);
/// "Tuning Max Batch Size and Max Num Tokens" (contexts and generations share one iteration's max_num_tokens; the
/// scheduler stops adding requests when the next does not fit); "Long Sequences / Chunked Context" (chunking is off
/// unless enabled). nvidia.github.io/TensorRT-LLM/performance/performance-tuning-guide/ and .../features/long-sequence.html.
/// Implementation note: TensorRT-LLM counts the reservation without allocating it; here the blocks are allocated at
/// admission, which is the same capacity limit (KV utilization then reads as reserved, the way the engine budgets it).
/// A decode replica of a disaggregated pair receives sequences whose KV was reserved elsewhere; if one of them cannot
/// grow, the newest running sequence is preempted as vLLM would (TensorRT-LLM would not have admitted it).
/// </remarks>
public sealed class TrtllmScheduler : IReplicaScheduler
{
    private TrtllmScheduler(int maxBatchSize, long maxNumTokens, bool chunkedContext)
    {
        MaxBatchSize = maxBatchSize;
        MaxNumTokens = maxNumTokens;
        ChunkedContext = chunkedContext;
    }

    /// <summary>The policy from a replica's scheduler settings.</summary>
    public static TrtllmScheduler From(SchedulerConfig c) => new(c.MaxNumSeqs, c.MaxNumBatchedTokens, c.EnableChunkedPrefill);

    public string Name => "trtllm";

    /// <summary>max_batch_size: most requests in one iteration.</summary>
    public int MaxBatchSize { get; }

    /// <summary>max_num_tokens: tokens one iteration may process (a generation request counts one).</summary>
    public long MaxNumTokens { get; }

    /// <summary>Whether a context may be split over iterations (TensorRT-LLM's enable_chunked_context).</summary>
    public bool ChunkedContext { get; }

    public bool CanEverSchedule(Workload.Request request) => ChunkedContext || request.InputTokens <= MaxNumTokens;

    public void Schedule(Replica replica, int group)
    {
        int seqsLeft = MaxBatchSize;
        long tokensLeft = MaxNumTokens;

        // Running requests in admission order: generations one token each, unfinished contexts their (next) part.
        var running = replica.RunningOf(group);
        for (int i = 0; i < running.Count && seqsLeft > 0; i++)
        {
            var seq = running[i];
            int n = ContextTokens(seq, tokensLeft);
            if (n == 0) break; // first come first served: a context that does not fit holds back the rest
            if (!replica.AddToBatch(seq, n))
            {
                // Only a sequence whose KV was reserved elsewhere (a decode replica's) can get here.
                replica.PreemptNewest(group, seq);
                return;
            }
            seqsLeft--;
            tokensLeft -= n;
        }

        // New requests, first come first served, each admitted with its whole prompt + output reserved.
        int groups = replica.Microbatches;
        int cap = groups == 1 ? int.MaxValue
            : (int)((replica.RunningCount + replica.Waiting.Count + (long)groups - 1) / groups);
        while (replica.Waiting.Count > 0 && seqsLeft > 0 && running.Count < cap)
        {
            var seq = replica.Waiting.PeekFront();
            if (ContextTokens(seq, tokensLeft) == 0) return;
            if (!replica.TryAdmit(group, ReservedTokens(replica, seq))) return;
            int n = ContextTokens(seq, tokensLeft); // a prefix-cache hit shortened the context
            if (!replica.AddToBatch(seq, n)) throw new InvalidOperationException("admission reserved the whole request");
            seqsLeft--;
            tokensLeft -= n;
        }
    }

    /// <summary>Tokens <paramref name="seq"/> processes this iteration: 1 for a generation, its context (or, chunked, the part that fits); 0 = not now.</summary>
    private int ContextTokens(Sequence seq, long tokensLeft)
    {
        int remaining = seq.RemainingPrefillTokens;
        if (remaining == 0) return tokensLeft >= 1 ? 1 : 0;
        if (ChunkedContext) return (int)Math.Min(remaining, tokensLeft);
        return remaining <= tokensLeft ? remaining : 0;
    }

    /// <summary>
    /// GUARANTEED_NO_EVICT's reservation: the prompt still to hold plus every output token not yet generated (the last
    /// generated token needs no KV slot, the first one's slot comes with the prompt). A prefill replica of a
    /// disaggregated pair holds the prompt and the first token only.
    /// </summary>
    private static int ReservedTokens(Replica replica, Sequence seq)
    {
        if (replica.Role == ReplicaRole.Prefill) return seq.PrefillTargetTokens + 1;
        long tokens = (long)seq.PrefillTargetTokens + Math.Max(1, seq.OutputTarget - seq.GeneratedTokens);
        return (int)Math.Min(int.MaxValue, tokens);
    }
}
