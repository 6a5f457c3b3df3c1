using Simulator.Inference.Workload;

namespace Simulator.Inference.Serving;

/// <summary>
/// Iteration-level (continuous) batching, the family of vllm, sarathi and orca. Each iteration of a
/// microbatch group: (1) its running decodes, oldest first; (2) its running partly-prefilled prompts;
/// (3) swapped sequences coming back; (4) new requests from the waiting queue, first come first served,
/// when KV blocks allow. All within <see cref="MaxNumSeqs"/> sequences and a token budget; prefill tokens
/// also within a per-iteration prefill budget. When a running sequence cannot grow, the newest running
/// sequence of the group not yet in the batch is preempted; no new request is admitted in that iteration.
/// </summary>
public sealed class ContinuousBatchingScheduler : IReplicaScheduler
{
    private readonly List<Sequence> _candidates = new();
    private readonly List<Sequence> _prefilling = new();

    private ContinuousBatchingScheduler(string name, int maxNumSeqs, long tokenBudget, long prefillBudget, bool chunked)
    {
        Name = name;
        MaxNumSeqs = maxNumSeqs;
        TokenBudget = tokenBudget;
        PrefillBudget = prefillBudget;
        Chunked = chunked;
    }

    /// <summary>vLLM (v1-style): decodes first, then prefills chunked to fit max_num_batched_tokens when enable_chunked_prefill; otherwise a prompt runs whole only if it fits the budget.</summary>
    public static ContinuousBatchingScheduler Vllm(SchedulerConfig c) =>
        new("vllm", c.MaxNumSeqs, c.MaxNumBatchedTokens, c.MaxNumBatchedTokens, c.EnableChunkedPrefill);

    /// <summary>Sarathi-Serve: at most chunk_size prefill tokens per iteration piggybacked on the decodes (all within max_num_batched_tokens).</summary>
    public static ContinuousBatchingScheduler Sarathi(SchedulerConfig c) =>
        new("sarathi", c.MaxNumSeqs, c.MaxNumBatchedTokens, c.ChunkSize, chunked: true);

    /// <summary>Orca: iteration-level batching of whole prompts, no chunking and no token budget (only max_num_seqs and KV).</summary>
    public static ContinuousBatchingScheduler Orca(SchedulerConfig c) =>
        new("orca", c.MaxNumSeqs, long.MaxValue, long.MaxValue, chunked: false);

    public string Name { get; }
    public int MaxNumSeqs { get; }

    /// <summary>Tokens one iteration may process (decodes count one each).</summary>
    public long TokenBudget { get; }

    /// <summary>Prefill tokens one iteration may process.</summary>
    public long PrefillBudget { get; }

    /// <summary>Whether a prompt may be split over iterations.</summary>
    public bool Chunked { get; }

    public bool CanEverSchedule(Request request) => Chunked || request.InputTokens <= Math.Min(TokenBudget, PrefillBudget);

    public void Schedule(Replica replica, int group)
    {
        int seqsLeft = MaxNumSeqs;
        long tokensLeft = TokenBudget;
        long prefillLeft = PrefillBudget;
        bool preempted = false;

        // (1) decodes, then (2) continuing prefills, of this group's running sequences, in admission order.
        // Steady decodes counted by the group's clock join as one block when every decode of the group gets in with its
        // growth (then the order among decodes changes nothing); otherwise the group is taken off the clock and every
        // sequence is visited in order.
        var running = replica.RunningOf(group);
        var loose = replica.LooseOf(group);
        int clocked = replica.ClockedDecodes(group);
        if (clocked > 0 && !AllDecodesFit(replica, group, loose, clocked))
        {
            replica.DetachClock(group);
            clocked = 0;
        }
        if (clocked > 0)
        {
            replica.AppendClocked();
            seqsLeft -= clocked;
            if (tokensLeft != long.MaxValue) tokensLeft -= clocked;
        }
        // One pass sorts the rest (decodes in order, then prefills in order); the preemption victim search reads the group's list.
        // (With every running sequence on the clock there is no rest: the lists are not touched.)
        if (loose.Count > 0)
        {
            _candidates.Clear();
            _prefilling.Clear();
            for (int i = 0; i < loose.Count; i++)
            {
                var seq = loose[i];
                (seq.IsPrefilling ? _prefilling : _candidates).Add(seq);
            }
            _candidates.AddRange(_prefilling);
            _prefilling.Clear();
            foreach (var seq in _candidates)
            {
                if (seqsLeft == 0 || tokensLeft == 0) break;
                if (seq.State != SequenceState.Running) continue; // preempted earlier in this loop
                int n = seq.IsPrefilling ? PrefillChunk(seq, tokensLeft, prefillLeft) : 1;
                if (n == 0) continue;
                int growth = MakeRoom(replica, group, seq, n, ref preempted);
                if (growth < 0) continue;
                replica.AppendToBatch(seq, n, growth);
                Count(seq, n, ref seqsLeft, ref tokensLeft, ref prefillLeft);
            }
            _candidates.Clear();
            if (preempted) return;
        }

        // (3) swapped sequences come back first, oldest first.
        while (replica.Swapped.Count > 0 && seqsLeft > 0 && tokensLeft > 0)
        {
            var seq = replica.Swapped.PeekFront();
            int n = seq.IsPrefilling ? PrefillChunk(seq, tokensLeft, prefillLeft) : 1;
            if (n == 0) return;
            int growth = replica.GrowthBlocks(seq, n);
            if (!replica.SwapIn(group, growth)) return;
            Add(replica, seq, n, ref seqsLeft, ref tokensLeft, ref prefillLeft);
        }
        if (replica.Swapped.Count > 0) return;

        // (4) new requests, first come first served; with several microbatch groups a group takes at most its fair share.
        int groups = replica.Microbatches;
        int cap = groups == 1 ? int.MaxValue
            : (int)((replica.RunningCount + replica.Waiting.Count + (long)groups - 1) / groups);
        while (replica.Waiting.Count > 0 && seqsLeft > 0 && tokensLeft > 0 && running.Count < cap)
        {
            var seq = replica.Waiting.PeekFront();
            int n = PrefillChunk(seq, tokensLeft, prefillLeft);
            if (n == 0) return;
            if (!replica.TryAdmit(group)) return;
            n = PrefillChunk(seq, tokensLeft, prefillLeft); // a prefix-cache hit shortened the prefill
            Add(replica, seq, n, ref seqsLeft, ref tokensLeft, ref prefillLeft); // fits: admission reserved the prompt plus one
        }
    }

    /// <summary>
    /// Whether the per-sequence pass would put every decode of <paramref name="group"/> (<paramref name="clocked"/> on the
    /// clock and the loose ones) in this batch without preempting: all within both budgets, their growth within the free
    /// blocks, and none with prompt blocks still to register (registration between allocations could change evictions).
    /// </summary>
    private bool AllDecodesFit(Replica replica, int group, List<Sequence> loose, int clocked)
    {
        long decodes = clocked;
        long growth = replica.ClockedGrowthBlocks(group);
        for (int i = 0; i < loose.Count; i++)
        {
            var seq = loose[i];
            if (seq.IsPrefilling) continue;
            if (seq.HasBlocksToRegister(replica.Kv.BlockSize)) return false;
            decodes++;
            growth += replica.GrowthBlocks(seq, 1);
        }
        return decodes <= MaxNumSeqs && decodes <= TokenBudget && growth <= replica.Kv.FreeBlocks;
    }

    /// <summary>Prompt tokens this sequence may process now: a chunk within both budgets, or its whole remaining prompt if that fits (0 = not now).</summary>
    private int PrefillChunk(Sequence seq, long tokensLeft, long prefillLeft)
    {
        long room = Math.Min(tokensLeft, prefillLeft);
        int remaining = seq.RemainingPrefillTokens;
        if (remaining == 0) return 1; // nothing to prefill (empty prompt): a single step emits the token
        if (Chunked) return (int)Math.Min(remaining, room);
        return remaining <= room ? remaining : 0;
    }

    /// <summary>The blocks <paramref name="seq"/> grows by once there is room for them (newest sequences preempted as needed); -1 when it was preempted itself.</summary>
    private static int MakeRoom(Replica replica, int group, Sequence seq, int n, ref bool preempted)
    {
        // Preempting another sequence leaves this one's growth as it was: it is computed once.
        int growth = replica.GrowthBlocks(seq, n);
        while (!replica.Kv.CanAllocate(growth))
        {
            var victim = replica.PreemptNewest(group, seq);
            preempted = true;
            if (ReferenceEquals(victim, seq)) return -1;
        }
        return growth;
    }

    private static void Add(Replica replica, Sequence seq, int n, ref int seqsLeft, ref long tokensLeft, ref long prefillLeft)
    {
        if (!replica.AddToBatch(seq, n)) throw new InvalidOperationException("KV room was checked before adding");
        Count(seq, n, ref seqsLeft, ref tokensLeft, ref prefillLeft);
    }

    private static void Count(Sequence seq, int n, ref int seqsLeft, ref long tokensLeft, ref long prefillLeft)
    {
        // Adding to the batch does not change IsPrefilling: progress is applied when the batch leaves the pipeline.
        seqsLeft--;
        if (tokensLeft != long.MaxValue) tokensLeft -= n;
        if (seq.IsPrefilling && prefillLeft != long.MaxValue) prefillLeft -= n;
    }
}
