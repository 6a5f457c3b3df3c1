using Simulator.Inference.Metrics;

namespace Simulator.Inference.Serving;

/// <summary>
/// What the engine's front end (API server) adds to every request on its way in and out, in nanoseconds: parsing,
/// chat template and hand-off to the engine (<paramref name="PerRequestNs"/>) and tokenization
/// (<paramref name="PerInputTokenNs"/> per prompt token) before the scheduler sees the request; detokenization and
/// streaming of every output token (<paramref name="PerOutputTokenNs"/>, a lag on each token, pipelined with the
/// engine, so it moves TTFT and E2E but not the gaps between tokens).
/// </summary>
public sealed record FrontEndDelays(long PerRequestNs, double PerInputTokenNs, long PerOutputTokenNs)
{
    /// <summary>No front end (engine-side timings).</summary>
    public static FrontEndDelays None { get; } = new(0, 0, 0);

    /// <summary>True when every term is zero.</summary>
    public bool IsNone => PerRequestNs == 0 && PerInputTokenNs == 0 && PerOutputTokenNs == 0;

    /// <summary>Time from the client's send to the request reaching the scheduler.</summary>
    public long InputNs(int inputTokens) => PerRequestNs + (long)Math.Round(PerInputTokenNs * Math.Max(0, inputTokens));
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
