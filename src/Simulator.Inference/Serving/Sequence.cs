using Simulator.Inference.Workload;

namespace Simulator.Inference.Serving;

/// <summary>Where a sequence is in its replica.</summary>
public enum SequenceState { Waiting, Running, Swapped, Finished }

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
    }

    public Request Request { get; }

    /// <summary>Index of the replica the router sent it to.</summary>
    public int Replica { get; }

    public SequenceState State { get; internal set; } = SequenceState.Waiting;

    /// <summary>Tokens whose KV has been computed (prompt chunks and decoded tokens).</summary>
    public int ComputedTokens { get; internal set; }

    /// <summary>
    /// Tokens the current prefill must reach before the next token is emitted: the prompt, or after a
    /// recompute preemption the prompt plus the tokens already generated.
    /// </summary>
    public int PrefillTargetTokens { get; internal set; }

    /// <summary>Output tokens generated so far.</summary>
    public int GeneratedTokens { get; internal set; }

    /// <summary>KV blocks held on the GPU (or, while swapped, on the host).</summary>
    public int HeldBlocks { get; internal set; }

    /// <summary>The microbatch group that runs it while it is running; -1 otherwise.</summary>
    public int Group { get; internal set; } = -1;

    public int Preemptions { get; internal set; }

    /// <summary>First time it was admitted into a batch (ns), if ever.</summary>
    public long? ScheduledNs { get; internal set; }

    public long? FirstTokenNs { get; internal set; }

    /// <summary>When it emitted its latest output token (ns); meaningful once <see cref="FirstTokenNs"/> is set.</summary>
    public long LastTokenNs { get; internal set; }

    /// <summary>True while its prompt (or recompute prefill) is not fully in the KV cache.</summary>
    public bool IsPrefilling => ComputedTokens < PrefillTargetTokens;

    /// <summary>Prompt tokens still to prefill.</summary>
    public int RemainingPrefillTokens => Math.Max(0, PrefillTargetTokens - ComputedTokens);

    /// <summary>Iteration stamp of the batch it was last put in (internal bookkeeping).</summary>
    internal long BatchStamp { get; set; } = -1;

    /// <summary>Static batching: the batch it belongs to.</summary>
    internal long StaticBatchId { get; set; } = -1;
}
