using Simulator.Hardware.Collectives;

namespace Simulator.Hardware.Calibration;

/// <summary>
/// How NCCL-style collectives behave on one tier of the network (inside a node, or across NICs): the fixed costs
/// and the fraction of the link bandwidth they reach. Efficiencies are relative to the link's datasheet bandwidth,
/// so the same profile carries to another GPU generation with the same kind of fabric.
/// The per-step latency is not here: it is the link's <see cref="Specs.LinkSpec.LatencyUs"/>.
/// </summary>
/// <param name="BaseLatencyUs">Fixed cost of one collective call (kernel launch, synchronisation), us.</param>
/// <param name="RampHalfBytes">Message size (the nccl-tests size) at which the efficiency ramp reaches half its peak.</param>
/// <param name="RampExponent">Steepness of the ramp: eff(S) = peak x S^p / (S^p + half^p).</param>
/// <param name="ProtocolSwitchChunkBytes">Per-rank chunk (size / ranks) above which NCCL leaves its low-latency protocols
/// (LL/LL128) for Simple, for 1 rank; on n ranks the threshold is this x n^<paramref name="ProtocolSwitchRankExponent"/>
/// (x <paramref name="AllReduceSwitchScale"/> for all-reduce).</param>
/// <param name="ProtocolSwitchLatencyUs">Extra fixed latency Simple costs once chosen (us), for 1 rank; on n ranks this x
/// n^<paramref name="ProtocolSwitchLatencyRankExponent"/>. Not paid by point-to-point ops (all-to-all, send/recv).</param>
/// <param name="AllReducePeakEfficiency">Peak bus-bandwidth fraction of the link for all-reduce.</param>
/// <param name="AllGatherPeakEfficiency">Same for all-gather (also used for broadcast).</param>
/// <param name="ReduceScatterPeakEfficiency">Same for reduce-scatter.</param>
/// <param name="AllToAllPeakEfficiency">Same for all-to-all (also used for send/recv).</param>
/// <param name="ProtocolSwitchRankExponent">How the switch threshold (per-rank chunk) scales with the rank count (0: not at all).</param>
/// <param name="ProtocolSwitchLatencyRankExponent">How Simple's extra latency scales with the rank count (0: not at all).</param>
/// <param name="AllReduceSwitchScale">All-reduce's switch threshold relative to all-gather / reduce-scatter's (1: the same).</param>
/// <param name="AllToAllStepExponent">All-to-all pays (n-1)^q message latencies instead of n-1: its n-1 sends are posted
/// back to back and partly overlap (1: fully serial).</param>
/// <param name="NvlsPeakEfficiency">Peak fraction of the link bandwidth NVLS all-reduce reaches on its (n+1)/n x S
/// per-direction traffic (NaN: the all-reduce peak). NVLS always runs the Simple protocol.</param>
public sealed record TierProfile(
    double BaseLatencyUs,
    double RampHalfBytes,
    double RampExponent,
    double ProtocolSwitchChunkBytes,
    double ProtocolSwitchLatencyUs,
    double AllReducePeakEfficiency,
    double AllGatherPeakEfficiency,
    double ReduceScatterPeakEfficiency,
    double AllToAllPeakEfficiency,
    double ProtocolSwitchRankExponent = 0,
    double ProtocolSwitchLatencyRankExponent = 0,
    double AllReduceSwitchScale = 1,
    double AllToAllStepExponent = 1,
    double NvlsPeakEfficiency = double.NaN)
{
    /// <summary>Steepness of the smooth protocol-switch step in log-size space (a step about 5% wide).</summary>
    public const double SwitchSharpness = 40.0;

    /// <summary>A profile with no overheads and full link efficiency: collectives follow the textbook alpha-beta forms exactly.</summary>
    public static TierProfile Textbook { get; } = new(0, 0, 1, double.PositiveInfinity, 0, 1, 1, 1, 1, NvlsPeakEfficiency: 1);

    /// <summary>Peak efficiency for an operation carried by <paramref name="algorithm"/>.</summary>
    public double PeakEfficiency(CollectiveOp op, CollectiveAlgorithm algorithm = CollectiveAlgorithm.Auto) => op switch
    {
        CollectiveOp.AllReduce when algorithm == CollectiveAlgorithm.Nvls && !double.IsNaN(NvlsPeakEfficiency) => NvlsPeakEfficiency,
        CollectiveOp.AllReduce => AllReducePeakEfficiency,
        CollectiveOp.AllGather or CollectiveOp.Broadcast => AllGatherPeakEfficiency,
        CollectiveOp.ReduceScatter => ReduceScatterPeakEfficiency,
        _ => AllToAllPeakEfficiency,
    };

    /// <summary>Fraction of link bandwidth reached by <paramref name="op"/> (carried by <paramref name="algorithm"/>) at message size <paramref name="bytes"/> (0 &lt; eff &lt;= 1).</summary>
    public double Efficiency(CollectiveOp op, double bytes, CollectiveAlgorithm algorithm = CollectiveAlgorithm.Auto)
    {
        double peak = PeakEfficiency(op, algorithm);
        if (RampHalfBytes <= 0) return peak;
        double s = Math.Max(bytes, 1.0);
        // ratio form avoids overflow of S^p for large S: S^p / (S^p + h^p) = 1 / (1 + (h/S)^p)
        return peak / (1.0 + Math.Pow(RampHalfBytes / s, RampExponent));
    }

    /// <summary>True for ops that go through NCCL's LL/LL128/Simple protocol choice (not point-to-point ones).</summary>
    public static bool UsesProtocolSwitch(CollectiveOp op) => op is not (CollectiveOp.AllToAll or CollectiveOp.SendRecv);

    /// <summary>The per-rank chunk (bytes) at which <paramref name="op"/> on <paramref name="ranks"/> ranks switches to Simple.</summary>
    public double ProtocolSwitchChunk(CollectiveOp op, int ranks) =>
        ProtocolSwitchChunkBytes * Math.Pow(Math.Max(ranks, 1), ProtocolSwitchRankExponent) * (op == CollectiveOp.AllReduce ? AllReduceSwitchScale : 1.0);

    /// <summary>Simple's extra latency (us) on <paramref name="ranks"/> ranks once it is chosen.</summary>
    public double ProtocolSwitchJumpUs(int ranks) => ProtocolSwitchLatencyUs * Math.Pow(Math.Max(ranks, 1), ProtocolSwitchLatencyRankExponent);

    /// <summary>
    /// The extra latency (us) of the Simple protocol for <paramref name="op"/> on <paramref name="ranks"/> ranks with a
    /// per-rank chunk of <paramref name="chunkBytes"/>: a smooth step of <see cref="ProtocolSwitchJumpUs"/> at
    /// <see cref="ProtocolSwitchChunk"/>.
    /// </summary>
    public double ProtocolSwitchUs(CollectiveOp op, int ranks, double chunkBytes, CollectiveAlgorithm algorithm = CollectiveAlgorithm.Auto)
    {
        if (!UsesProtocolSwitch(op) || ProtocolSwitchLatencyUs == 0 || double.IsPositiveInfinity(ProtocolSwitchChunkBytes)) return 0;
        if (algorithm == CollectiveAlgorithm.Nvls) return ProtocolSwitchJumpUs(ranks); // NVLS only runs Simple
        double x = SwitchSharpness * (Math.Log(Math.Max(chunkBytes, 1.0)) - Math.Log(ProtocolSwitchChunk(op, ranks)));
        return ProtocolSwitchJumpUs(ranks) / (1.0 + Math.Exp(-Math.Clamp(x, -700, 700)));
    }

    /// <summary>
    /// Message latencies a phase of <paramref name="op"/> pays for <paramref name="steps"/> planned steps: all-to-all's
    /// back-to-back sends overlap (steps^<see cref="AllToAllStepExponent"/>); every other op pays them in sequence.
    /// </summary>
    public double LatencySteps(CollectiveOp op, double steps) =>
        op == CollectiveOp.AllToAll && AllToAllStepExponent != 1 && steps > 0 ? Math.Pow(steps, AllToAllStepExponent) : steps;
}

/// <summary>A named calibration: one <see cref="TierProfile"/> for links inside a node and one for NIC/spine links.</summary>
public sealed record CalibrationProfile(string Name, TierProfile IntraNode, TierProfile InterNode, string Source);
