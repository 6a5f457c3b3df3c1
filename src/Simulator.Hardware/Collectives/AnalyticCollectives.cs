using Simulator.Hardware.Calibration;
using Simulator.Hardware.Topology;

namespace Simulator.Hardware.Collectives;

/// <summary>A collective's predicted time and bandwidths (nccl-tests definitions).</summary>
/// <param name="Op">The operation.</param>
/// <param name="Ranks">Number of GPUs in the group.</param>
/// <param name="Bytes">The nccl-tests size (whole buffer per rank).</param>
/// <param name="TimeUs">Predicted completion time, microseconds.</param>
/// <param name="AlgBwGBps">bytes / time, GB/s.</param>
/// <param name="BusBwGBps">algbw x the op's bus factor (2(n-1)/n all-reduce; (n-1)/n all-gather, reduce-scatter, all-to-all; 1 otherwise).</param>
/// <param name="Algorithm">The algorithm used (Auto resolved).</param>
/// <param name="BottleneckTier">The tier whose links limited the bandwidth part most; null when no link limited it (ideal links, one rank).</param>
/// <param name="LatencyUs">The fixed part: launch, protocol switch and per-step latencies.</param>
/// <param name="TransferUs">The bandwidth part.</param>
public sealed record CollectiveEstimate(
    CollectiveOp Op, int Ranks, long Bytes, double TimeUs, double AlgBwGBps, double BusBwGBps,
    CollectiveAlgorithm Algorithm, LinkTier? BottleneckTier, double LatencyUs, double TransferUs)
{
    /// <summary>The nccl-tests bus-bandwidth factor for an op on n ranks.</summary>
    public static double BusFactor(CollectiveOp op, int ranks)
    {
        if (ranks <= 1) return 1;
        return op switch
        {
            CollectiveOp.AllReduce => 2.0 * (ranks - 1) / ranks,
            CollectiveOp.AllGather or CollectiveOp.ReduceScatter or CollectiveOp.AllToAll => (ranks - 1) / (double)ranks,
            _ => 1.0,
        };
    }
}

/// <summary>
/// Closed-form (alpha-beta) collective times on a topology, without contention:
/// T = base + protocol switch + sum over phases of repeat x (latencySteps x route latency + max over links of wire bytes / bandwidth),
/// where a link's wire bytes are its payload divided by the calibrated efficiency of its tier. On one NVSwitch node this is
/// exactly ring all-reduce 2(n-1)a + 2(n-1)/n S/B, all-gather / reduce-scatter (n-1)a + (n-1)/n S/B, all-to-all
/// (n-1)a + (n-1)/n S/B (plus calibrated overheads); across nodes the NIC links become the bottleneck tier.
/// Thread-safe (stateless after construction).
/// </summary>
public sealed class AnalyticCollectives : ICollectiveTimer
{
    public AnalyticCollectives(ClusterTopology topology, CalibrationProfile? profile = null)
    {
        Topology = topology ?? throw new ArgumentNullException(nameof(topology));
        Profile = profile ?? CalibrationProfiles.Nccl;
    }

    public ClusterTopology Topology { get; }
    public CalibrationProfile Profile { get; }

    /// <inheritdoc />
    public double TimeUs(CollectiveOp op, IReadOnlyList<int> gpus, long bytes, CollectiveAlgorithm algorithm = CollectiveAlgorithm.Auto) =>
        Estimate(op, gpus, bytes, algorithm).TimeUs;

    /// <summary>Time, algbw, busbw, chosen algorithm and bottleneck tier. Auto picks the fastest candidate, as NCCL's tuner does.</summary>
    public CollectiveEstimate Estimate(CollectiveOp op, IReadOnlyList<int> gpus, long bytes, CollectiveAlgorithm algorithm = CollectiveAlgorithm.Auto) =>
        Evaluate(Resolve(op, gpus, bytes, algorithm));

    /// <summary>The plan for (op, gpus, bytes, algorithm), with Auto replaced by the fastest candidate.</summary>
    public CollectivePlan Resolve(CollectiveOp op, IReadOnlyList<int> gpus, long bytes, CollectiveAlgorithm algorithm = CollectiveAlgorithm.Auto)
    {
        if (algorithm != CollectiveAlgorithm.Auto) return CollectivePlanner.Plan(Topology, op, gpus, bytes, algorithm);
        CollectivePlan? best = null;
        double bestUs = double.PositiveInfinity;
        foreach (var candidate in CollectivePlanner.Candidates(Topology, op, gpus, forAuto: true))
        {
            var plan = CollectivePlanner.Plan(Topology, op, gpus, bytes, candidate);
            double t = Evaluate(plan).TimeUs;
            if (t < bestUs * (1 - 1e-9)) // ties keep the earlier (simpler) candidate
            {
                bestUs = t;
                best = plan;
            }
        }
        return best ?? throw new ArgumentException($"no algorithm can run {Names.Of(op)} on this group");
    }

    /// <summary>The tier profile that times a link.</summary>
    public TierProfile ProfileFor(LinkTier tier) => tier == LinkTier.IntraNode ? Profile.IntraNode : Profile.InterNode;

    /// <summary>The fixed cost of a plan before its phases: the launch latency and the protocol-switch latency of the tiers it touches.</summary>
    public double StartupUs(CollectivePlan plan)
    {
        if (plan.Phases.Count == 0) return 0;
        bool spans = CollectivePlanner.SpansNodes(Topology, plan.Gpus);
        double us = Math.Max(Profile.IntraNode.BaseLatencyUs, spans ? Profile.InterNode.BaseLatencyUs : 0);
        double sw = Profile.IntraNode.ProtocolSwitchUs(plan.Op, plan.ChunkBytes);
        if (spans) sw = Math.Max(sw, Profile.InterNode.ProtocolSwitchUs(plan.Op, plan.ChunkBytes));
        return us + sw;
    }

    /// <summary>Per-message latency (us) one repetition of a phase pays.</summary>
    public double PhaseLatencyUs(CollectivePhase phase)
    {
        double lat = 0;
        foreach (var t in phase.Transfers) lat = Math.Max(lat, Topology.RouteLatencyUs(t.Src, t.Dst));
        return lat * phase.LatencySteps;
    }

    /// <summary>Wire bytes one payload byte costs on a link of <paramref name="tier"/> for this plan (1 / efficiency).</summary>
    public double WireFactor(CollectivePlan plan, LinkTier tier) => 1.0 / ProfileFor(tier).Efficiency(plan.Op, plan.Bytes);

    /// <summary>Times a plan in closed form.</summary>
    public CollectiveEstimate Evaluate(CollectivePlan plan)
    {
        double latencyUs = StartupUs(plan);
        double transferUs = 0;
        var tierUs = new double[3];
        var load = new Dictionary<int, double>();
        double intraWire = WireFactor(plan, LinkTier.IntraNode), interWire = WireFactor(plan, LinkTier.Nic);
        foreach (var phase in plan.Phases)
        {
            load.Clear();
            foreach (var t in phase.Transfers)
            {
                foreach (var link in Topology.Route(t.Src, t.Dst))
                {
                    if (link.IsIdeal) continue;
                    double wire = t.Bytes * (link.Tier == LinkTier.IntraNode ? intraWire : interWire);
                    load[link.Id] = load.GetValueOrDefault(link.Id) + wire;
                }
            }
            double phaseUs = 0;
            Link? bottleneck = null;
            foreach (var (id, bytes) in load)
            {
                var link = Topology.Links[id];
                double us = bytes / link.BytesPerUs;
                if (us > phaseUs || (us == phaseUs && bottleneck != null && id < bottleneck.Id))
                {
                    phaseUs = us;
                    bottleneck = link;
                }
            }
            transferUs += phase.Repeat * phaseUs;
            if (bottleneck != null) tierUs[(int)bottleneck.Tier] += phase.Repeat * phaseUs;
            latencyUs += phase.Repeat * PhaseLatencyUs(phase);
        }
        LinkTier? tier = null;
        double most = 0;
        for (int i = 0; i < tierUs.Length; i++)
            if (tierUs[i] > most) { most = tierUs[i]; tier = (LinkTier)i; }
        double timeUs = latencyUs + transferUs;
        double algBw = timeUs > 0 ? plan.Bytes / timeUs / 1e3 : double.PositiveInfinity;
        if (plan.Bytes == 0) algBw = 0;
        double busBw = algBw * CollectiveEstimate.BusFactor(plan.Op, plan.Ranks);
        return new CollectiveEstimate(plan.Op, plan.Ranks, plan.Bytes, timeUs, algBw, busBw, plan.Algorithm, tier, latencyUs, transferUs);
    }
}
