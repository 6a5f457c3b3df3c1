using Simulator.Inference.Cost;

namespace Simulator.Inference.Metrics;

/// <summary>How a request ended (requests.csv `status`).</summary>
public enum RequestStatus { Completed, Rejected, Failed, Unfinished }

/// <summary>One batch on one pipeline stage (a row of iterations.csv).</summary>
public readonly record struct IterationRecord(
    int Replica, int Stage, long Iteration, int Microbatch, long StartNs, long EndNs,
    int BatchSize, int PrefillTokens, int DecodeTokens, StageCost Cost, int KvBlocksUsed);

/// <summary>
/// The fate of one request (a row of requests.csv). Times are absolute simulation ns; null where they never happened.
/// <see cref="CachedTokens"/> are prompt tokens found in the GPU prefix cache, <see cref="CpuCachedTokens"/> those
/// found in the CPU tier (both at the first admission); <see cref="SessionId"/> is the workload's session, if any.
/// <see cref="Retries"/> counts how often the router re-sent it after its replica went down; <see cref="Reason"/> says
/// why a request did not complete (one of <see cref="RequestReasons"/>; null for completed ones).
/// With disaggregated pools, <see cref="Replica"/> is the decode replica and <see cref="PrefillReplica"/> the prefill one
/// (-1 when the request was not handed off); <see cref="KvTransferNs"/> runs from the first token until the KV was on the
/// decode replica, <see cref="KvTransferBytes"/> is what moved.
/// </summary>
public sealed record RequestRecord(
    long RequestId, long ArrivalNs, int Replica, int InputTokens, int OutputTokens, int GeneratedTokens,
    int CachedTokens, RequestStatus Status, long? FirstTokenNs, long? CompletionNs, long? ScheduledNs, int Preemptions,
    int CpuCachedTokens = 0, string? SessionId = null, int Retries = 0, string? Reason = null,
    int PrefillReplica = -1, long? KvTransferNs = null, long KvTransferBytes = 0, long FrontEndNs = 0);

/// <summary>
/// A replica's state at one sampling instant; token and completion counts are since the previous sample.
/// <see cref="PromptTokensLookedUpSinceLast"/> are the prompt tokens of requests first admitted in the interval (with
/// prefix caching on), <see cref="PrefixHitTokensSinceLast"/> the part of them served from the prefix cache.
/// <see cref="Live"/> is false while the replica is down or reloading its weights after a fault.
/// </summary>
public readonly record struct ReplicaSample(
    long TimeNs, int Replica, int Queued, int Running, double KvUtilization,
    long PrefillTokensSinceLast, long OutputTokensSinceLast, long CompletedSinceLast,
    long PromptTokensLookedUpSinceLast = 0, long PrefixHitTokensSinceLast = 0, bool Live = true);

/// <summary>The <c>reason</c> values of requests.csv for requests that did not complete.</summary>
public static class RequestReasons
{
    /// <summary>Rejected at arrival: prompt + output need more KV blocks than a replica can ever give.</summary>
    public const string TooLongForKv = "too_long_for_kv";

    /// <summary>Rejected at arrival: the scheduler can never batch the prompt (no chunking and over the token budget).</summary>
    public const string OverTokenBudget = "over_token_budget";

    /// <summary>Failed: it arrived (or had to be retried) while no replica was live.</summary>
    public const string NoLiveReplica = "no_live_replica";

    /// <summary>Failed: its replica went down more often than <c>retry.max_retries</c> allows.</summary>
    public const string RetriesExhausted = "retries_exhausted";

    /// <summary>Unfinished: the run ended (end time reached, or the workload stopped) before it completed.</summary>
    public const string RunEnded = "run_ended";
}

/// <summary>Receives everything the serving simulation reports while it runs; writers stream it to disk.</summary>
public interface IRunRecorder
{
    void OnIteration(in IterationRecord record);
    void OnRequestFinished(RequestRecord record);
    void OnSample(in ReplicaSample sample);

    /// <summary>
    /// <paramref name="count"/> sequences each emitted an output token <paramref name="gapNs"/> after their previous one
    /// (inter-token latency; a request's first token is not a gap). Sequences of one batch usually share the gap, so
    /// the serving layer reports them together.
    /// </summary>
    void OnTokenGaps(long gapNs, int count);

    /// <summary>A fault was applied (a GPU, node or link failed or degraded); recorders that show faults override it.</summary>
    void OnFault(FaultRecord record) { }
}

/// <summary>
/// One fault as applied (summary.json <c>faults</c>, the timeline's faults track): when it began, its kind
/// (gpu_down, node_down, straggler, link_degraded), what it hit (<c>gpu5</c>, <c>node1</c>, <c>n0.gpu3.nic</c>),
/// how long it lasted (null: to the end of the run), and the slowdown or bandwidth factor where one applies.
/// </summary>
public sealed record FaultRecord(long AtNs, string Kind, string Target, long? DurationNs, double? Factor = null);
