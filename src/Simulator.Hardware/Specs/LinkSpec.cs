namespace Simulator.Hardware.Specs;

/// <summary>The physical family of a link; decides which tier of a topology it serves.</summary>
public enum LinkKind { NvLink, Pcie, InfiniBand, Ethernet, Ideal }

/// <summary>
/// A link preset or inline spec: bandwidth per direction (GB/s, 1e9 bytes) and the latency a
/// message pays on it (microseconds). <c>Ideal</c> links have infinite bandwidth and zero latency.
/// <paramref name="InSwitchReduction"/>: the NVSwitch behind this link reduces and multicasts in the switch
/// (NVLink SHARP, NCCL's NVLS all-reduce: third-generation NVSwitch, i.e. NVLink4 and later).
/// </summary>
public sealed record LinkSpec(string Name, LinkKind Kind, double BandwidthGBps, double LatencyUs, string Source, bool InSwitchReduction = false)
{
    public bool IsIdeal => Kind == LinkKind.Ideal || double.IsPositiveInfinity(BandwidthGBps);

    /// <summary>Bytes per second per direction.</summary>
    public double BytesPerSecond => BandwidthGBps * 1e9;
}
