using Simulator.Hardware.Calibration;
using Simulator.Hardware.Specs;

namespace Simulator.Hardware.Collectives;

/// <summary>A collective as NCCL would run it inside one node: the (algorithm, protocol) its tuner picks and the predicted time.</summary>
/// <param name="Op">The operation.</param>
/// <param name="Ranks">GPUs in the group.</param>
/// <param name="Bytes">The nccl-tests size.</param>
/// <param name="Algorithm">Ring, NVLS or direct (point-to-point).</param>
/// <param name="Protocol">LL, LL128 or Simple.</param>
/// <param name="TimeUs">Predicted time, us.</param>
/// <param name="LatencyUs">Its fixed part: the protocol's base cost and the hop latencies.</param>
/// <param name="TransferUs">Its bandwidth part.</param>
/// <param name="AlgBwGBps">bytes / time, GB/s.</param>
/// <param name="BusBwGBps">algbw x the op's nccl-tests bus factor.</param>
public sealed record NcclEstimate(CollectiveOp Op, int Ranks, long Bytes, CollectiveAlgorithm Algorithm, NcclProtocol Protocol,
    double TimeUs, double LatencyUs, double TransferUs, double AlgBwGBps, double BusBwGBps);

/// <summary>
/// Collectives inside one node from NCCL's own structure. For every (algorithm, protocol) pair NCCL would enable it
/// predicts T = base(protocol) + steps(algorithm, n) x hop(link, protocol) + wire bytes / bus bandwidth(algorithm, protocol, size)
/// and, like NCCL's tuner, runs the pair with the smallest predicted time (or the one forced, as NCCL_ALGO / NCCL_PROTO do).
/// Bus bandwidth is the link's datasheet bandwidth x Simple's fraction for the op x the channel ramp; LL128 gets 0.92 of it,
/// LL half (at most NCCL's LL ceiling for the generation), NVLS Simple's x NCCL's NVLS efficiency. Ring moves 2(n-1)/n x S
/// per rank for all-reduce and (n-1)/n x S for all-gather / reduce-scatter in 2(n-1) / (n-1) steps; NVLS moves (n+1)/n x S
/// for all-reduce (reduce in the switch, multicast back) in one switch round trip.
/// Thread-safe (immutable); <see cref="TimeUs"/> allocates nothing.
/// </summary>
/// <remarks>
/// Implementation note: the structure follows NCCL's tuner as read in its source (src/graph/tuning.cc: time = latency +
/// bytes / bandwidth per (algorithm, protocol); ring latency = baseLat + nsteps x hwLat; LL busBw = min(llMaxBw, 0.5 x busBw);
/// LL128 busBw = 0.92 x busBw; NVLS only with Simple and busBw x nvlsEfficiency; ring's algbw = busBw x n / nsteps) and the
/// nccl-tests bus-bandwidth definitions (doc/PERFORMANCE.md). NCCL's own latency and bandwidth numbers are estimates it only
/// uses to rank the pairs; here the base costs, NVLink hop latencies, Simple's link fractions and the ramp are fitted to
/// measured nccl-tests times (<see cref="NcclStructureFit"/>), and only what describes a newer generation
/// (<see cref="NcclGeneration"/>, link bandwidth from the datasheet) changes from A100 to H100/H200/B200.
/// </remarks>
public sealed class NcclModel
{
    private static readonly NcclProtocol[] RingProtocols = [NcclProtocol.LL, NcclProtocol.LL128, NcclProtocol.Simple];
    private static readonly NcclProtocol[] RingWithoutLl128 = [NcclProtocol.LL, NcclProtocol.Simple];
    private static readonly NcclProtocol[] SimpleOnly = [NcclProtocol.Simple];
    private static readonly CollectiveAlgorithm[] DirectOnly = [CollectiveAlgorithm.Direct];
    private static readonly CollectiveAlgorithm[] RingOnly = [CollectiveAlgorithm.Ring];
    private static readonly CollectiveAlgorithm[] RingOrNvls = [CollectiveAlgorithm.Ring, CollectiveAlgorithm.Nvls];

    /// <param name="intraNode">The node's GPU link (NVLink generation or PCIe); its bandwidth is per direction.</param>
    /// <param name="tuning">The fitted terms (default: <see cref="NcclTuning.A100Fit"/>).</param>
    public NcclModel(LinkSpec intraNode, NcclTuning? tuning = null)
    {
        Link = intraNode ?? throw new ArgumentNullException(nameof(intraNode));
        Tuning = tuning ?? NcclTuning.A100Fit;
        Generation = NcclGeneration.For(intraNode);
        Nvls = intraNode.InSwitchReduction && Generation.NvlsEfficiency > 0;
    }

    public LinkSpec Link { get; }
    public NcclTuning Tuning { get; }
    public NcclGeneration Generation { get; }

    /// <summary>True when the node's NVSwitch reduces in the switch (NVLS is a candidate).</summary>
    public bool Nvls { get; }

    /// <summary>The algorithms the tuner considers for <paramref name="op"/> inside one node.</summary>
    public IReadOnlyList<CollectiveAlgorithm> Algorithms(CollectiveOp op) => op switch
    {
        CollectiveOp.AllToAll or CollectiveOp.SendRecv => DirectOnly,
        CollectiveOp.AllReduce or CollectiveOp.AllGather or CollectiveOp.ReduceScatter when Nvls => RingOrNvls,
        _ => RingOnly,
    };

    /// <summary>The protocols <paramref name="algorithm"/> can run with here (NVLS and point-to-point: Simple only; LL128: NVLink only).</summary>
    public IReadOnlyList<NcclProtocol> Protocols(CollectiveAlgorithm algorithm) => algorithm switch
    {
        CollectiveAlgorithm.Ring when Generation.Ll128 => RingProtocols,
        CollectiveAlgorithm.Ring => RingWithoutLl128,
        _ => SimpleOnly,
    };

    /// <summary>
    /// The tuner's pick and its time. <paramref name="algorithm"/> / <paramref name="protocol"/> other than Auto restrict
    /// the candidates (as NCCL_ALGO / NCCL_PROTO do); a combination that cannot run throws <see cref="ArgumentException"/>
    /// naming what is allowed.
    /// </summary>
    public NcclEstimate Estimate(CollectiveOp op, int ranks, long bytes,
        CollectiveAlgorithm algorithm = CollectiveAlgorithm.Auto, NcclProtocol protocol = NcclProtocol.Auto)
    {
        var (a, p, t, lat) = Best(op, ranks, bytes, algorithm, protocol);
        if (double.IsNaN(t))
            throw new ArgumentException($"{Names.Of(op)} cannot run with algorithm {Names.Of(algorithm)} and protocol {Names.Of(protocol)} on {Link.Name}; " +
                $"allowed: {string.Join(", ", Algorithms(op).SelectMany(x => Protocols(x).Select(y => Names.Of(x) + "/" + Names.Of(y))))}",
                protocol != NcclProtocol.Auto ? nameof(protocol) : nameof(algorithm));
        double algBw = t > 0 ? bytes / t / 1e3 : 0;
        return new NcclEstimate(op, ranks, bytes, a, p, t, lat, t - lat, algBw, algBw * CollectiveEstimate.BusFactor(op, ranks));
    }

    /// <summary>The tuner's predicted time (us) without building a result; NaN when nothing enabled can run it. Allocates nothing.</summary>
    public double TimeUs(CollectiveOp op, int ranks, long bytes,
        CollectiveAlgorithm algorithm = CollectiveAlgorithm.Auto, NcclProtocol protocol = NcclProtocol.Auto) =>
        Best(op, ranks, bytes, algorithm, protocol).TimeUs;

    private (CollectiveAlgorithm Algorithm, NcclProtocol Protocol, double TimeUs, double LatencyUs) Best(
        CollectiveOp op, int ranks, long bytes, CollectiveAlgorithm algorithm, NcclProtocol protocol)
    {
        if (ranks < 1) throw new ArgumentOutOfRangeException(nameof(ranks), "ranks must be >= 1");
        if (bytes < 0) throw new ArgumentOutOfRangeException(nameof(bytes), "bytes must be >= 0");
        var best = (Algorithm: CollectiveAlgorithm.Auto, Protocol: NcclProtocol.Auto, TimeUs: double.NaN, LatencyUs: 0.0);
        // Implementation note: indexed loops over the cached arrays (an IReadOnlyList foreach would box its enumerator).
        var algorithms = (CollectiveAlgorithm[])Algorithms(op);
        for (int i = 0; i < algorithms.Length; i++)
        {
            var a = algorithms[i];
            if (algorithm != CollectiveAlgorithm.Auto && algorithm != a) continue;
            var protocols = (NcclProtocol[])Protocols(a);
            for (int k = 0; k < protocols.Length; k++)
            {
                var p = protocols[k];
                if (protocol != NcclProtocol.Auto && protocol != p) continue;
                var (t, lat) = PairTimeUs(Tuning, Generation, Link.Kind, Link.BandwidthGBps, op, ranks, bytes, a, p);
                if (double.IsNaN(best.TimeUs) || t < best.TimeUs * (1 - 1e-12)) best = (a, p, t, lat);
            }
        }
        return best;
    }

    /// <summary>
    /// Predicted time and its fixed part (us) of one (algorithm, protocol) pair for <paramref name="op"/> on
    /// <paramref name="ranks"/> GPUs of one node whose link moves <paramref name="linkGBps"/> per direction.
    /// </summary>
    public static (double TimeUs, double LatencyUs) PairTimeUs(NcclTuning tuning, NcclGeneration generation, LinkKind linkKind, double linkGBps,
        CollectiveOp op, int ranks, double bytes, CollectiveAlgorithm algorithm, NcclProtocol protocol)
    {
        if (ranks < 2 || bytes <= 0) return (0, 0);
        int n = ranks;
        bool nvlink = linkKind == LinkKind.NvLink;
        double hop = protocol switch
        {
            NcclProtocol.LL => nvlink ? tuning.LlHopUs : NcclTuning.PcieHopUs.Ll,
            NcclProtocol.LL128 => nvlink ? tuning.Ll128HopUs : NcclTuning.PcieHopUs.Ll128,
            _ => nvlink ? tuning.SimpleHopUs : NcclTuning.PcieHopUs.Simple,
        };
        double baseUs = protocol switch
        {
            NcclProtocol.LL => tuning.LlBaseUs,
            NcclProtocol.LL128 => tuning.Ll128BaseUs,
            _ => tuning.SimpleBaseUs,
        };
        double simpleBusGBps = linkGBps * tuning.LinkFraction(op, n) * tuning.Ramp(bytes);
        double latency, wireBytes, busGBps;
        switch (algorithm)
        {
            case CollectiveAlgorithm.Nvls:
                latency = tuning.SimpleBaseUs + NcclTuning.NvlsExtraLatencyUs;
                wireBytes = op == CollectiveOp.AllReduce ? bytes * (n + 1) / n : bytes * (n - 1) / n;
                busGBps = simpleBusGBps * generation.NvlsEfficiency;
                break;
            case CollectiveAlgorithm.Direct:
                // nccl-tests alltoall: every rank sends S/n to each of the n-1 others; sendrecv: S to the next rank.
                double steps = op == CollectiveOp.AllToAll ? Math.Pow(n - 1, tuning.AllToAllStepExponent) : 1;
                latency = baseUs + steps * hop;
                wireBytes = op == CollectiveOp.AllToAll ? bytes * (n - 1) / n : bytes;
                busGBps = simpleBusGBps;
                break;
            default:
                int ringSteps = op == CollectiveOp.AllReduce ? 2 * (n - 1) : n - 1;
                latency = baseUs + ringSteps * hop;
                wireBytes = op == CollectiveOp.Broadcast ? bytes : CollectiveEstimate.BusFactor(op, n) * bytes;
                busGBps = protocol switch
                {
                    NcclProtocol.LL => Math.Min(simpleBusGBps * NcclTuning.LlBandwidthFraction, generation.LlMaxBusBwGBps),
                    NcclProtocol.LL128 => simpleBusGBps * NcclTuning.Ll128BandwidthFraction,
                    _ => simpleBusGBps,
                };
                break;
        }
        return (latency + wireBytes / (busGBps * 1e3), latency);
    }
}
