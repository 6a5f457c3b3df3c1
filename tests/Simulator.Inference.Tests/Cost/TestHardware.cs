using Simulator.Hardware.Collectives;
using Simulator.Hardware.Specs;

namespace Simulator.Inference.Tests.Cost;

/// <summary>Datasheet GPU specs for tests (the hardware presets are another engineer's work).</summary>
internal static class TestGpus
{
    public static GpuSpec A100 { get; } = new("A100-SXM-80GB", 80, 2.039, 312, 0, 624, 19.5, "nvlink3", "ib-hdr200", 108, "NVIDIA A100 datasheet");
    public static GpuSpec H100 { get; } = new("H100-SXM-80GB", 80, 3.35, 989, 1979, 1979, 67, "nvlink4", "ib-ndr400", 132, "NVIDIA H100 datasheet");
}

/// <summary>
/// A simple alpha-beta collective timer for tests: ring all-reduce alpha + 2(n-1)/n x S/B, all-gather,
/// reduce-scatter and all-to-all alpha + (n-1)/n x S/B, send/recv alpha + S/B; one rank costs nothing.
/// Defaults: A100 NVSwitch, NVLink3 300 GB/s per direction, 8 us latency.
/// </summary>
internal sealed class AlphaBetaTimer(double alphaUs = 8, double bandwidthGBps = 300) : ICollectiveTimer
{
    public int Calls { get; private set; }

    public double TimeUs(CollectiveOp op, IReadOnlyList<int> gpus, long bytes, CollectiveAlgorithm algorithm = CollectiveAlgorithm.Auto)
    {
        Calls++;
        int n = gpus.Count;
        if (n <= 1) return 0;
        double sOverB = bytes / (bandwidthGBps * 1e3); // us
        return op switch
        {
            CollectiveOp.AllReduce => alphaUs + 2.0 * (n - 1) / n * sOverB,
            CollectiveOp.SendRecv or CollectiveOp.Broadcast => alphaUs + sOverB,
            _ => alphaUs + (double)(n - 1) / n * sOverB,
        };
    }
}
