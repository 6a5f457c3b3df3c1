namespace Simulator.Inference.Metrics;

/// <summary>
/// The API servers over the run (summary.json <c>front_end</c>, only under <c>frontend.model: queue</c>):
/// <see cref="Utilization"/> = their work done by the end of the run over (servers x replicas x simulated time), at
/// most 1 (streaming still queued when the run ends is left out); <see cref="InputWaitMeanMs"/> /
/// <see cref="InputWaitMaxMs"/>: how long a request waited for a free server before its parsing and tokenization
/// began; <see cref="TokenLagMaxMs"/>: the longest time a pass's tokens took from the engine to the client. A
/// utilization near 1, or a wait that grows through the run, says the front end and not the GPU bounds the run.
/// </summary>
public sealed record FrontEndSummary(string Model, int ApiServerCount, double Utilization, double InputWaitMeanMs,
    double InputWaitMaxMs, double TokenLagMaxMs);
