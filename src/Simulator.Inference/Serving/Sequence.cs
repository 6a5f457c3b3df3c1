using Simulator.Inference.Workload;

namespace Simulator.Inference.Serving;

/// <summary>Where a sequence is in its replica.</summary>
public enum SequenceState { Waiting, Running, Swapped, Finished, Transferring }

/// <summary>
/// A request's mutable serving state inside one replica: how much of its prompt has KV, how many
/// tokens it has generated, the KV blocks it holds. Schedulers read it; the replica changes it.
/// </summary>
public sealed class Sequence
{
    internal Sequence(Request request, int replica)
    {
        Request = request;
        Replica = replica;
        PrefillTargetTokens = request.InputTokens;
        OutputTarget = request.OutputTokens;
    }

    /// <summary>
    /// The retry of <paramref name="previous"/> on <paramref name="replica"/> after its replica went down: a new prompt of
    /// input + tokens already generated (whose KV must be recomputed, as a router's retry does); the tokens already
    /// streamed, the first-token and first-scheduled times and the preemptions stay, and <see cref="Retries"/> grows by one.
    /// </summary>
    internal Sequence(Sequence previous, int replica)
    {
        Request = previous.Request;
        Replica = replica;
        OutputTarget = previous.OutputTarget;
        GeneratedTokens = previous.GeneratedTokens;
        PrefillTargetTokens = previous.Request.InputTokens + previous.GeneratedTokens;
        FirstTokenNs = previous.FirstTokenNs;
        LastTokenNs = previous.LastTokenNs; // the stall across the retry is an inter-token gap the client sees
        ScheduledNs = previous.ScheduledNs;
        Preemptions = previous.Preemptions;
        Retries = previous.Retries + 1;
    }

    /// <summary>A decode replica's copy of a sequence prefilled elsewhere: its KV arrived, its first token was emitted.</summary>
    internal Sequence(Sequence prefilled, int replica, long kvTransferNs, long kvTransferBytes)
        : this(prefilled.Request, replica)
    {
        PrefillTargetTokens = prefilled.PrefillTargetTokens;
        ComputedTokens = prefilled.ComputedTokens;
        GeneratedTokens = prefilled.GeneratedTokens;
        Preemptions = prefilled.Preemptions;
        ScheduledNs = prefilled.ScheduledNs;
        FirstTokenNs = prefilled.FirstTokenNs;
        LastTokenNs = prefilled.LastTokenNs; // the second token's gap (ITL) then carries the transfer
        PrefillReplica = prefilled.Replica;
        KvTransferNs = kvTransferNs;
        KvTransferBytes = kvTransferBytes;
        Retries = prefilled.Retries;
        CachedTokens = prefilled.CachedTokens;
        CpuCachedTokens = prefilled.CpuCachedTokens;
        Admitted = true; // its prefix lookup was counted on the prefill replica
    }

    public Request Request { get; }

    /// <summary>The request's output tokens, kept here so that the per-token loop does not load the request.</summary>
    internal readonly int OutputTarget;

    /// <summary>How often the router re-sent the request because its replica went down.</summary>
    public int Retries { get; }

    /// <summary>For a sequence prefilled on another replica: that replica; -1 otherwise.</summary>
    public int PrefillReplica { get; } = -1;

    /// <summary>Time from the first token until the KV was on this replica (ns), for a sequence prefilled elsewhere.</summary>
    public long? KvTransferNs { get; }

    /// <summary>KV bytes moved to this replica from the prefill replica.</summary>
    public long KvTransferBytes { get; }

    /// <summary>Index of the replica the router sent it to.</summary>
    public int Replica { get; }

    public SequenceState State { get; internal set; } = SequenceState.Waiting;

    /// <summary>Tokens whose KV has been computed (prompt chunks and decoded tokens).</summary>
    public int ComputedTokens
    {
        get => Clock is { } k ? _computedTokens + (int)(k.Ticks - ClockBase) : _computedTokens;
        internal set { EnsureDetached(); _computedTokens = value; }
    }

    /// <summary>
    /// Tokens the current prefill must reach before the next token is emitted: the prompt, or after a
    /// recompute preemption the prompt plus the tokens already generated.
    /// </summary>
    public int PrefillTargetTokens { get; internal set; }

    /// <summary>Output tokens generated so far.</summary>
    public int GeneratedTokens
    {
        get => Clock is { } k ? _generatedTokens + (int)(k.Ticks - ClockBase) : _generatedTokens;
        internal set { EnsureDetached(); _generatedTokens = value; }
    }

    /// <summary>KV blocks held on the GPU (or, while swapped, on the host).</summary>
    public int HeldBlocks
    {
        // On the clock: the blocks its tokens plus one need, counting the pass in flight (its growth is taken at launch).
        get => Clock is { } k ? k.BlocksFor(_computedTokens + (k.ScheduledTicks - ClockBase) + 1) : _heldBlocks;
        internal set { EnsureDetached(); _heldBlocks = value; }
    }

    /// <summary>The microbatch group that runs it while it is running; -1 otherwise.</summary>
    public int Group { get; internal set; } = -1;

    public int Preemptions { get; internal set; }

    /// <summary>First time it was admitted into a batch (ns), if ever.</summary>
    public long? ScheduledNs { get; internal set; }

    public long? FirstTokenNs { get; internal set; }

    /// <summary>When it emitted its latest output token (ns); null until a replica has emitted one (then <see cref="FirstTokenNs"/>, if set, stands for it).</summary>
    public long? LastTokenNs
    {
        get => Clock is { } k ? k.LastPassNs : _lastTokenNs;
        internal set { EnsureDetached(); _lastTokenNs = value; }
    }

    /// <summary>True while its prompt (or recompute prefill) is not fully in the KV cache.</summary>
    public bool IsPrefilling => ComputedTokens < PrefillTargetTokens;

    /// <summary>Prompt tokens still to prefill.</summary>
    public int RemainingPrefillTokens => Math.Max(0, PrefillTargetTokens - ComputedTokens);

    /// <summary>Prompt tokens found in the GPU prefix cache when it was first admitted (requests.csv cached_tokens).</summary>
    public int CachedTokens { get; internal set; }

    /// <summary>Prompt tokens found in the CPU tier when it was first admitted (loaded back over the host link).</summary>
    public int CpuCachedTokens { get; internal set; }

    /// <summary>Whether it has been admitted at least once (its prefix lookup is recorded then).</summary>
    internal bool Admitted { get; set; }

    /// <summary>Identities of its KV blocks (null when caching is off or the request has no prefix ids).</summary>
    internal PrefixBlockKeys? Keys { get; set; }

    /// <summary>The identified blocks it references, in block order (null until it holds one).</summary>
    internal List<CachedBlock>? CachedBlockRefs { get; set; }

    /// <summary>Leading granules already looked up or registered: the next granule to give an identity to.</summary>
    internal int RegisteredGranules { get; set; }

    /// <summary>Iteration stamp of the batch it was last put in (internal bookkeeping).</summary>
    internal long BatchStamp { get; set; } = -1;

    /// <summary>Static batching: the batch it belongs to.</summary>
    internal long StaticBatchId { get; set; } = -1;

    // ---------------------------------------------------------------- decode clock

    private int _computedTokens, _generatedTokens, _heldBlocks;
    private long? _lastTokenNs;

    /// <summary>The clock of its group while its decode steps are counted there (<see cref="DecodeClock"/>); null otherwise.</summary>
    internal DecodeClock? Clock { get; private set; }

    /// <summary>The clock's <see cref="DecodeClock.Ticks"/> when it attached.</summary>
    internal long ClockBase { get; private set; }

    /// <summary>Computed tokens when it attached (the stored value, not advanced by the clock).</summary>
    internal int RawComputedTokens => _computedTokens;

    /// <summary>Generated tokens when it attached (the stored value, not advanced by the clock).</summary>
    internal int RawGeneratedTokens => _generatedTokens;

    /// <summary>Whether some of its prompt's identified granules are not registered yet (a later step would register them).</summary>
    internal bool HasBlocksToRegister(int blockSize) => Keys != null && RegisteredGranules < Keys.CacheableGranules(long.MaxValue, blockSize);

    internal void AttachClock(DecodeClock clock, long ticks)
    {
        EnsureDetached();
        Clock = clock;
        ClockBase = ticks;
    }

    /// <summary>Leaves the clock, keeping the state it reads now as plain values.</summary>
    internal void DetachClock()
    {
        if (Clock is not { } k) return;
        int computed = ComputedTokens, generated = GeneratedTokens, held = HeldBlocks;
        long last = k.LastPassNs;
        Clock = null;
        _computedTokens = computed;
        _generatedTokens = generated;
        _heldBlocks = held;
        _lastTokenNs = last;
    }

    private void EnsureDetached()
    {
        if (Clock != null) throw new InvalidOperationException($"request {Request.Id}: its decode state is counted by its group's clock");
    }
}
