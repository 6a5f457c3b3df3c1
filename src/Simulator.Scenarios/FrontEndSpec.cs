using Simulator.Inference.Cost;
using Simulator.Inference.Serving;

namespace Simulator.Scenarios;

/// <summary>
/// The <c>frontend:</c> block: how the engine profile's per-request and per-token front-end costs
/// (<see cref="FrontEndCost"/>) are applied, and optionally the costs themselves for a host the profile does not
/// describe. <see cref="Model"/> <c>delay</c> (the default): fixed delays, no queueing; <c>queue</c>: the costs are
/// work of <see cref="ApiServerCount"/> API server processes per replica (vLLM's <c>--api-server-count</c>, default 1),
/// so requests and streamed tokens wait for a busy server. Null costs keep the engine profile's.
/// </summary>
public sealed record FrontEndSpec
{
    public string Model { get; init; } = "delay";

    public int ApiServerCount { get; init; } = 1;

    /// <summary>Parsing, chat template and hand-off per request (us); null = the engine profile's.</summary>
    public double? PerRequestUs { get; init; }

    /// <summary>Tokenization per prompt token (us); null = the engine profile's.</summary>
    public double? PerInputTokenUs { get; init; }

    /// <summary>Detokenization + streaming per output token (us); null = the engine profile's.</summary>
    public double? PerOutputTokenUs { get; init; }

    public static readonly IReadOnlyList<string> Models = ["delay", "queue"];

    /// <summary>The most API server processes per replica a scenario may ask for (vLLM runs a handful).</summary>
    public const int MaxApiServerCount = 1024;

    /// <summary>The largest front-end cost a key may give (us): one second per request or per token.</summary>
    /// <remarks>
    /// Implementation note: the bound keeps every product in range of integer ns: a second per token times a
    /// million-token prompt is 1e15 ns, far from long.MaxValue (9.2e18), where 1e16 us saturated the clock.
    /// </remarks>
    public const double MaxCostUs = 1e6;

    /// <summary>The serving simulation's front end: the engine profile's <paramref name="cost"/> with this block's settings.</summary>
    public FrontEndDelays Apply(FrontEndCost cost)
    {
        var c = cost with
        {
            PerRequestUs = PerRequestUs ?? cost.PerRequestUs,
            TokenizePerInputTokenUs = PerInputTokenUs ?? cost.TokenizePerInputTokenUs,
            DetokenizePerOutputTokenUs = PerOutputTokenUs ?? cost.DetokenizePerOutputTokenUs,
            StreamPerTokenUs = PerOutputTokenUs is null ? cost.StreamPerTokenUs : 0,
        };
        return c.Delays() with
        {
            Model = Model == "queue" ? FrontEndModel.Queue : FrontEndModel.Delay,
            ApiServerCount = ApiServerCount,
        };
    }
}
