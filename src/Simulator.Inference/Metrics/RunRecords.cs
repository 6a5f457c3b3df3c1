using Simulator.Inference.Cost;

namespace Simulator.Inference.Metrics;

/// <summary>How a request ended (requests.csv `status`).</summary>
public enum RequestStatus { Completed, Rejected, Failed, Unfinished }

/// <summary>One batch on one pipeline stage (a row of iterations.csv).</summary>
public readonly record struct IterationRecord(
    int Replica, int Stage, long Iteration, int Microbatch, long StartNs, long EndNs,
    int BatchSize, int PrefillTokens, int DecodeTokens, StageCost Cost, int KvBlocksUsed);

/// <summary>The fate of one request (a row of requests.csv). Times are absolute simulation ns; null where they never happened.</summary>
public sealed record RequestRecord(
    long RequestId, long ArrivalNs, int Replica, int InputTokens, int OutputTokens, int GeneratedTokens,
    int CachedTokens, RequestStatus Status, long? FirstTokenNs, long? CompletionNs, long? ScheduledNs, int Preemptions,
    long FrontEndNs = 0);

/// <summary>A replica's state at one sampling instant; token and completion counts are since the previous sample.</summary>
public readonly record struct ReplicaSample(
    long TimeNs, int Replica, int Queued, int Running, double KvUtilization,
    long PrefillTokensSinceLast, long OutputTokensSinceLast, long CompletedSinceLast);

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
}
