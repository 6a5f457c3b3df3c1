namespace Simulator.Scenarios;

/// <summary>
/// The <c>frontend:</c> block: how the engine profile's per-request and per-token front-end costs
/// (<see cref="Simulator.Inference.Cost.FrontEndCost"/>) are applied. <see cref="Model"/> <c>delay</c> (the default): fixed
/// delays, no queueing; <c>queue</c>: the costs are work of <see cref="ApiServerCount"/> FIFO API server processes per
/// replica (vLLM's <c>--api-server-count</c>, default 1), so requests and streamed tokens wait for a busy server.
/// </summary>
public sealed record FrontEndSpec
{
    public string Model { get; init; } = "delay";

    public int ApiServerCount { get; init; } = 1;

    public static readonly IReadOnlyList<string> Models = ["delay", "queue"];

    /// <summary>Applies the block to the engine profile's delays.</summary>
    public Simulator.Inference.Serving.FrontEndDelays Apply(Simulator.Inference.Serving.FrontEndDelays delays) => delays with
    {
        Model = Model == "queue" ? Simulator.Inference.Serving.FrontEndModel.Queue : Simulator.Inference.Serving.FrontEndModel.Delay,
        ApiServerCount = ApiServerCount,
    };
}
