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
    /// <remarks>
    /// Implementation note: the cost model calls this for every batch on every stage with sizes that change with
    /// the batch, so plans are compiled once per (op, group, algorithm) into per-phase coefficients (a plan's
    /// transfers scale linearly with the buffer) and only the size-dependent efficiencies are evaluated per call.
    /// The result equals <see cref="Estimate"/>'s time (a test checks it).
    /// </remarks>
    public double TimeUs(CollectiveOp op, IReadOnlyList<int> gpus, long bytes, CollectiveAlgorithm algorithm = CollectiveAlgorithm.Auto)
    {
        if (bytes <= 0 || gpus.Count < 2 || bytes > long.MaxValue / 4) return Estimate(op, gpus, bytes, algorithm).TimeUs;
        if (Topology.ConditionsVersion != _compiledVersion)
        {
            // Compiled plans hold link bandwidths: a degraded (or restored) link makes them stale.
            _compiled.Clear();
            _compiledVersion = Topology.ConditionsVersion;
        }
        var key = ((int)op, (int)algorithm, string.Join(',', gpus));
        var candidates = _compiled.GetOrAdd(key, _ => Compile(op, gpus, algorithm));
        double best = double.PositiveInfinity;
        foreach (var c in candidates)
        {
            double t = c.TimeUs(bytes, this);
            if (t < best * (1 - 1e-9)) best = t;
        }
        return best;
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<(int, int, string), CompiledPlan[]> _compiled = new();
    private long _compiledVersion;

    private CompiledPlan[] Compile(CollectiveOp op, IReadOnlyList<int> gpus, CollectiveAlgorithm algorithm)
    {
        const long referenceBytes = 1L << 20;
        var algorithms = algorithm == CollectiveAlgorithm.Auto
            ? CollectivePlanner.Candidates(Topology, op, gpus, forAuto: true)
            : new[] { algorithm };
        var list = new List<CompiledPlan>();
        foreach (var a in algorithms)
        {
            var plan = CollectivePlanner.Plan(Topology, op, gpus, referenceBytes, a);
            var phases = new (int Repeat, double LatencyUs, double IntraUsPerByte, double InterUsPerByte)[plan.Phases.Count];
            var load = new Dictionary<int, double>();
            for (int i = 0; i < plan.Phases.Count; i++)
            {
                var phase = plan.Phases[i];
                load.Clear();
                foreach (var t in phase.Transfers)
                    foreach (var link in Topology.Route(t.Src, t.Dst))
                        if (!link.IsIdeal) load[link.Id] = load.GetValueOrDefault(link.Id) + t.Bytes / referenceBytes;
                double intra = 0, inter = 0;
                foreach (var (id, perByte) in load)
                {
                    var link = Topology.Links[id];
                    double us = perByte / link.BytesPerUs;
                    if (link.Tier == LinkTier.IntraNode) intra = Math.Max(intra, us); else inter = Math.Max(inter, us);
                }
                phases[i] = (phase.Repeat, PhaseLatencyUs(plan, phase), intra, inter);
            }
            list.Add(new CompiledPlan(op, a, gpus.Count, CollectivePlanner.SpansNodes(Topology, gpus), phases.Length > 0, phases));
        }
        return list.ToArray();
    }

    private sealed record CompiledPlan(CollectiveOp Op, CollectiveAlgorithm Algorithm, int Ranks, bool Spans, bool HasPhases,
        (int Repeat, double LatencyUs, double IntraUsPerByte, double InterUsPerByte)[] Phases)
    {
        public double TimeUs(long bytes, AnalyticCollectives owner)
        {
            if (!HasPhases) return 0;
            var p = owner.Profile;
            double chunk = (double)bytes / Math.Max(1, Ranks);
            double us = Math.Max(p.IntraNode.BaseLatencyUs, Spans ? p.InterNode.BaseLatencyUs : 0);
            double sw = p.IntraNode.ProtocolSwitchUs(Op, Ranks, chunk, Algorithm);
            if (Spans) sw = Math.Max(sw, p.InterNode.ProtocolSwitchUs(Op, Ranks, chunk, Algorithm));
            us += sw;
            double wfIntra = 1.0 / p.IntraNode.Efficiency(Op, bytes, Algorithm), wfInter = 1.0 / p.InterNode.Efficiency(Op, bytes, Algorithm);
            foreach (var (repeat, latencyUs, intra, inter) in Phases)
                us += repeat * (latencyUs + Math.Max(intra * bytes * wfIntra, inter * bytes * wfInter));
            return us;
        }
    }

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
        double sw = Profile.IntraNode.ProtocolSwitchUs(plan.Op, plan.Ranks, plan.ChunkBytes, plan.Algorithm);
        if (spans) sw = Math.Max(sw, Profile.InterNode.ProtocolSwitchUs(plan.Op, plan.Ranks, plan.ChunkBytes, plan.Algorithm));
        return us + sw;
    }

    /// <summary>
    /// Message latency (us) one repetition of a phase of <paramref name="plan"/> pays: the slowest route's latency times
    /// the phase's latency steps (for all-to-all, as the calibrated profile of the tiers it spans overlaps them).
    /// </summary>
    public double PhaseLatencyUs(CollectivePlan plan, CollectivePhase phase)
    {
        double lat = 0;
        foreach (var t in phase.Transfers) lat = Math.Max(lat, Topology.RouteLatencyUs(t.Src, t.Dst));
        var profile = CollectivePlanner.SpansNodes(Topology, plan.Gpus) ? Profile.InterNode : Profile.IntraNode;
        return lat * profile.LatencySteps(plan.Op, phase.LatencySteps);
    }

    /// <summary>Wire bytes one payload byte costs on a link of <paramref name="tier"/> for this plan (1 / efficiency).</summary>
    public double WireFactor(CollectivePlan plan, LinkTier tier) => 1.0 / ProfileFor(tier).Efficiency(plan.Op, plan.Bytes, plan.Algorithm);

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
            latencyUs += phase.Repeat * PhaseLatencyUs(plan, phase);
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
