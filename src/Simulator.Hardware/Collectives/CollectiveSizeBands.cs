namespace Simulator.Hardware.Collectives;

/// <summary>
/// The three message-size bands in which collective accuracy is reported: up to 64 KiB (latency-bound: fixed costs and hop
/// latencies, nccl-tests' host floor), 64 KiB to 16 MiB (the protocols and the bandwidth ramp hand over), 16 MiB and up
/// (bandwidth-bound). Sizes are nccl-tests bytes (the whole buffer).
/// </summary>
public static class CollectiveSizeBands
{
    /// <summary>Largest size of the small band (64 KiB, included).</summary>
    public const long SmallMaxBytes = 64L * 1024;

    /// <summary>Smallest size of the large band (16 MiB, included).</summary>
    public const long LargeMinBytes = 16L * 1024 * 1024;

    /// <summary>The bands' labels, in order.</summary>
    public static readonly IReadOnlyList<string> Labels = ["<= 64 KiB", "64 KiB-16 MiB", ">= 16 MiB"];

    /// <summary>The band (0, 1, 2: index into <see cref="Labels"/>) of a size in bytes.</summary>
    public static int Of(double bytes) => bytes <= SmallMaxBytes ? 0 : bytes >= LargeMinBytes ? 2 : 1;
}
