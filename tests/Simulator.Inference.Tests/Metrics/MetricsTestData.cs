using Simulator.Inference.Cost;
using Simulator.Inference.Metrics;

namespace Simulator.Inference.Tests.Metrics;

/// <summary>Hand-made records for the metrics tests.</summary>
internal static class MetricsTestData
{
    public const long Ms = 1_000_000;
    public const long S = 1_000_000_000;

    public static RequestRecord Completed(long id, long arrivalNs, long firstTokenNs, long completionNs, int generated,
        int input = 100, long? scheduledNs = null, int replica = 0) =>
        new(id, arrivalNs, replica, input, generated, generated, 0, RequestStatus.Completed,
            firstTokenNs, completionNs, scheduledNs ?? arrivalNs, 0);

    public static RequestRecord Ended(long id, long arrivalNs, RequestStatus status) =>
        new(id, arrivalNs, 0, 100, 10, 0, 0, status, null, null, null, 0);

    public static StageCost StageCostOf(long computeNs, long tpNs = 0, long epNs = 0, long cpNs = 0, long ppNs = 0, long overheadNs = 0) =>
        new(computeNs, tpNs, epNs, cpNs, ppNs, overheadNs, new Dictionary<string, double>(), []);

    public static RunMetadata Meta(SloSpec? slo = null) =>
        new("unit-test", 7, slo ?? new SloSpec(500, 50, 95), PipelineStages: 2, Microbatches: 2);

    public static RunEndInputs End() => new(
        new SimulationStats(Events: 1234, SimulatedNs: 10 * S, WallSeconds: 0.5),
        [new ReplicaPipelineStats(0, 8 * S, [6 * S, 4 * S])],
        [
            new GpuActivity(1, 0, 0, 1, 0, 20, 50, 2, 8, 0.5, 4 * S, 3 * S, 1 * S, 1.5),
            new GpuActivity(0, 0, 0, 0, 0, 20, 50, 2, 8, 0.5, 6 * S, 5 * S, 1 * S, 0.5),
        ],
        [new LinkActivity("gpu0-gpu1", "nvlink4", "gpu0", "gpu1", 450, 123_456_789, 1 * S)]);

    /// <summary>A small deterministic run: completed, 1-token, rejected, failed and unfinished requests.</summary>
    public static IEnumerable<RequestRecord> SmallRun()
    {
        yield return Completed(0, 0, 200 * Ms, 1200 * Ms, 11, scheduledNs: 50 * Ms);     // TTFT 200, TPOT 100, meets 500/50? no (TPOT 100 > 50)
        yield return Completed(1, 100 * Ms, 300 * Ms, 700 * Ms, 21);                     // TTFT 200, TPOT 20: meets
        yield return Completed(2, 200 * Ms, 1000 * Ms, 1000 * Ms, 1);                    // TTFT 800 > 500: misses; no TPOT
        yield return Completed(3, 300 * Ms, 400 * Ms, 400 * Ms, 1);                      // TTFT 100, 1 token: meets
        yield return Ended(4, 400 * Ms, RequestStatus.Rejected);
        yield return Ended(5, 500 * Ms, RequestStatus.Failed);
        yield return Ended(6, 600 * Ms, RequestStatus.Unfinished);
    }
}
