using Simulator.Hardware.Collectives;
using Simulator.Hardware.Specs;

namespace Simulator.Hardware.Calibration;

/// <summary>
/// What NCCL itself knows about a GPU / link generation, taken from its tuner (not from measurements): the LL
/// protocol's bus-bandwidth ceiling, NVLink SHARP's efficiency and whether LL128 is enabled, plus the per-hop latency
/// table of the link's family for the links the A100 table cannot fit (PCIe, NICs).
/// </summary>
/// <param name="Name">ampere (NVLink3), hopper (NVLink4), blackwell (NVLink5), pcie.</param>
/// <param name="LlMaxBusBwGBps">Ceiling on LL's bus bandwidth inside one node (NCCL's llMaxBws, GB/s).</param>
/// <param name="NvlsEfficiency">NVLS bandwidth relative to the Simple ring's (NCCL's nvlsEfficiency; 0: no NVLink SHARP).</param>
/// <param name="Ll128">Whether NCCL enables LL128 by default on this link (NVLink only).</param>
public sealed record NcclGeneration(string Name, double LlMaxBusBwGBps, double NvlsEfficiency, bool Ll128)
{
    // Implementation note: the constants are NCCL's tuner tables (src/graph/tuning.cc and src/tuning/nvls.cc, NCCL 2.2x,
    // read through the search tool): llMaxBws single-node row Ampere 87.7, Hopper 141, Blackwell 282 GB/s;
    // nvlsEfficiency Hopper 0.85, Blackwell 0.74 (Ampere 0: no NVLink SHARP); LL128 enabled on NVLink only.
    // They describe the hardware generation, so they are what carries the A100 fit to H100/H200/B200.

    /// <summary>NVLink3 + second-generation NVSwitch (A100).</summary>
    public static NcclGeneration Ampere { get; } = new("ampere", 87.7, 0, true);

    /// <summary>NVLink4 + third-generation NVSwitch with NVLink SHARP (H100, H200).</summary>
    public static NcclGeneration Hopper { get; } = new("hopper", 141.0, 0.85, true);

    /// <summary>NVLink5 + fourth-generation NVSwitch with NVLink SHARP (B200).</summary>
    public static NcclGeneration Blackwell { get; } = new("blackwell", 282.0, 0.74, true);

    /// <summary>GPUs peered over PCIe (no LL128, no NVLS; LL bounded as on Ampere).</summary>
    public static NcclGeneration Pcie { get; } = new("pcie", 87.7, 0, false);

    /// <summary>The generation a node's intra-node link belongs to: by NVLink name, PCIe otherwise.</summary>
    public static NcclGeneration For(LinkSpec link) => link.Name.ToLowerInvariant() switch
    {
        "nvlink5" => Blackwell,
        "nvlink4" => Hopper,
        _ when link.Kind == LinkKind.NvLink => link.InSwitchReduction ? Hopper : Ampere,
        _ => Pcie,
    };
}

/// <summary>
/// The fitted part of the NCCL-structured collective model (<see cref="NcclModel"/>): per-protocol fixed costs and
/// per-hop latencies on NVLink, the fraction of the link's datasheet bandwidth the Simple protocol reaches per op, and
/// how fast bandwidth builds up with message size (channels filling). Fitted on nccl-tests on 8x A100
/// (<see cref="NcclStructureFit"/>); it carries to other NVLink generations through the link bandwidth and
/// <see cref="NcclGeneration"/>.
/// </summary>
/// <param name="LlBaseUs">Fixed cost of a call in LL (launch + NCCL's base latency), us.</param>
/// <param name="Ll128BaseUs">Same for LL128.</param>
/// <param name="SimpleBaseUs">Same for Simple.</param>
/// <param name="LlHopUs">Latency of one ring step over NVLink in LL, us.</param>
/// <param name="Ll128HopUs">Same for LL128.</param>
/// <param name="SimpleHopUs">Same for Simple.</param>
/// <param name="AllReduceLinkFraction">Peak bus bandwidth of Simple all-reduce as a fraction of the link (per direction).</param>
/// <param name="AllGatherLinkFraction">Same for all-gather (and broadcast).</param>
/// <param name="ReduceScatterLinkFraction">Same for reduce-scatter.</param>
/// <param name="AllToAllLinkFraction">Same for all-to-all and send/recv (point-to-point).</param>
/// <param name="RampHalfBytes">Message size (nccl-tests bytes) at which bandwidth reaches half its peak.</param>
/// <param name="RampExponent">Steepness of that ramp: fraction = 1 / (1 + (half / S)^p).</param>
/// <param name="AllToAllStepExponent">All-to-all pays (n-1)^q hop latencies (its n-1 sends are posted together and overlap).</param>
/// <param name="RingFillShare">Share of one step's bandwidth a ring of n ranks loses per turn to pipeline fill and drain:
/// the link fractions apply x (1 - c / n), so small rings reach less of the link (on A100, 2-GPU all-gather peaks at
/// half the link, 8-GPU at two thirds).</param>
public sealed record NcclTuning(
    double LlBaseUs, double Ll128BaseUs, double SimpleBaseUs,
    double LlHopUs, double Ll128HopUs, double SimpleHopUs,
    double AllReduceLinkFraction, double AllGatherLinkFraction, double ReduceScatterLinkFraction, double AllToAllLinkFraction,
    double RampHalfBytes, double RampExponent, double AllToAllStepExponent, double RingFillShare)
{
    /// <summary>
    /// NCCL's extra fixed latency of NVLS over ring Simple (its tuner: NVLS 25 us of hardware latency and no base,
    /// ring Simple 8.4 us base), added to <see cref="SimpleBaseUs"/> for NVLS. Not fitted (NVLS is not in the A100 file).
    /// </summary>
    public const double NvlsExtraLatencyUs = 25.0 - 8.4;

    /// <summary>Per-hop latencies of NCCL's tuner for PCIe (LL, LL128, Simple), us (not fitted).</summary>
    public static readonly (double Ll, double Ll128, double Simple) PcieHopUs = (1.0, 2.5, 5.7);

    /// <summary>Fraction of the link's bandwidth LL128 reaches relative to Simple (NCCL's tuner: 0.92, 120 of 128 bytes are data).</summary>
    public const double Ll128BandwidthFraction = 0.92;

    /// <summary>Fraction LL reaches relative to Simple (NCCL's tuner: 0.5, 4 of every 8 bytes are a flag).</summary>
    public const double LlBandwidthFraction = 0.5;

    /// <summary>
    /// The shipped fit (nccl-tests on 8x A100-SXM4-80GB, 504 rows, NCCL 2.27.3: data/calibration/network/nccl-tests/a100_sxm.csv;
    /// <see cref="NcclStructureFit.Fit"/>). Accuracy on that file and on the public H100/H200/B200 figures: README.md
    /// ("Collectives from NCCL's structure").
    /// </summary>
    public static NcclTuning A100Fit { get; } = new(
        LlBaseUs: 8.158, Ll128BaseUs: 9.115, SimpleBaseUs: 10.818,
        LlHopUs: 0.8638, Ll128HopUs: 0.8638, SimpleHopUs: 0.8648,
        AllReduceLinkFraction: 1.0, AllGatherLinkFraction: 0.8295, ReduceScatterLinkFraction: 0.8770, AllToAllLinkFraction: 0.8864,
        RampHalfBytes: 8.4915e6, RampExponent: 0.4296, AllToAllStepExponent: 0.5318, RingFillShare: 0.5409);

    /// <summary>Simple's peak link fraction for an op on <paramref name="ranks"/> GPUs (x (1 - fill share / n)).</summary>
    public double LinkFraction(CollectiveOp op, int ranks) => Math.Max(0.02, 1 - RingFillShare / Math.Max(ranks, 1)) * (op switch
    {
        CollectiveOp.AllReduce => AllReduceLinkFraction,
        CollectiveOp.AllGather or CollectiveOp.Broadcast => AllGatherLinkFraction,
        CollectiveOp.ReduceScatter => ReduceScatterLinkFraction,
        _ => AllToAllLinkFraction,
    });

    /// <summary>The share of peak bandwidth reached at <paramref name="bytes"/> (channels filling), in (0, 1].</summary>
    public double Ramp(double bytes) => 1.0 / (1.0 + Math.Pow(RampHalfBytes / Math.Max(bytes, 1.0), RampExponent));
}
