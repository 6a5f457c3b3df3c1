using Simulator.Inference.Metrics;

namespace Simulator.Inference.Serving;

/// <summary>
/// What the engine's front end (API server) adds to every request on its way in and out, in nanoseconds: parsing,
/// chat template and hand-off to the engine (<paramref name="PerRequestNs"/>) and tokenization
/// (<paramref name="PerInputTokenNs"/> per prompt token) before the scheduler sees the request; detokenization and
/// streaming of every output token (<paramref name="PerOutputTokenNs"/>, a lag on each token, pipelined with the
/// engine, so it moves TTFT and E2E but not the gaps between tokens).
/// Under <see cref="FrontEndModel.Queue"/> the same terms are WORK of <see cref="ApiServerCount"/> FIFO servers per
/// replica (<see cref="FrontEndQueue"/>): each waits for the server, so at high request or token rates they queue.
/// </summary>
public sealed record FrontEndDelays(long PerRequestNs, double PerInputTokenNs, long PerOutputTokenNs)
{
    /// <summary>Fixed delays (the default) or serialized work of <see cref="ApiServerCount"/> servers per replica.</summary>
    public FrontEndModel Model { get; init; } = FrontEndModel.Delay;

    /// <summary>API server processes per replica (vLLM's <c>--api-server-count</c>); used by <see cref="FrontEndModel.Queue"/>.</summary>
    public int ApiServerCount { get; init; } = 1;

    /// <summary>No front end (engine-side timings).</summary>
    public static FrontEndDelays None { get; } = new(0, 0, 0);

    /// <summary>True when every term is zero.</summary>
    public bool IsNone => PerRequestNs == 0 && PerInputTokenNs == 0 && PerOutputTokenNs == 0;

    /// <summary>Time from the client's send to the request reaching the scheduler.</summary>
    public long InputNs(int inputTokens) => PerRequestNs + (long)Math.Round(PerInputTokenNs * Math.Max(0, inputTokens));
}

/// <summary>How the front end's terms are applied (scenario key <c>frontend.model</c>).</summary>
public enum FrontEndModel
{
    /// <summary>Fixed per-request and per-token delays, no queueing (any load).</summary>
    Delay,

    /// <summary>The terms are work of FIFO servers: requests and tokens wait for a busy API server.</summary>
    Queue,
}

/// <summary>
/// Shifts each completed request's first-token and completion times by the front end's costs, as a benchmark client
/// sees them, and records the front end's share (<see cref="RequestRecord.FrontEndNs"/>).
/// </summary>
internal sealed class FrontEndRecorder : IRunRecorder
{
    private readonly IRunRecorder _inner;
    private readonly FrontEndDelays _delays;

    public FrontEndRecorder(IRunRecorder inner, FrontEndDelays delays)
    {
        _inner = inner;
        _delays = delays;
    }

    public void OnIteration(in IterationRecord record) => _inner.OnIteration(record);

    public void OnSample(in ReplicaSample sample) => _inner.OnSample(sample);

    public void OnFault(FaultRecord record) => _inner.OnFault(record);

    /// <summary>Every token is shifted by the same lag, so the gaps between tokens are the engine's.</summary>
    public void OnTokenGaps(long gapNs, int count) => _inner.OnTokenGaps(gapNs, count);

    public void OnRequestFinished(RequestRecord record)
    {
        if (record.Status == RequestStatus.Rejected || record.ScheduledNs is null && record.FirstTokenNs is null)
        {
            _inner.OnRequestFinished(record);
            return;
        }
        long lag = _delays.PerOutputTokenNs;
        long input = _delays.InputNs(record.InputTokens);
        _inner.OnRequestFinished(record with
        {
            FirstTokenNs = record.FirstTokenNs + lag,
            CompletionNs = record.CompletionNs + lag,
            FrontEndNs = input + (record.FirstTokenNs is null ? 0 : lag),
        });
    }
}
