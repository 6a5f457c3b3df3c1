using Simulator.Hardware.Collectives;
using Simulator.Hardware.Network;
using Simulator.Inference.Cost;
using Simulator.Inference.Metrics;
using Simulator.Inference.Serving;
using Simulator.Kernel;

namespace Simulator.Scenarios;

/// <summary>
/// Analytic network mode: forwards every record to the run writer and, on the way, adds up the bytes and busy
/// time of each parallel group's collectives, so links.csv can report per group link (a stage's TP/EP/CP group,
/// each pipeline boundary) what it carried. Bytes carried = the bytes every rank of the group puts on the wire
/// (ring all-reduce 2(n-1)/n x S per rank; all-gather, reduce-scatter, all-to-all (n-1)/n x S; send S).
/// </summary>
internal sealed class CommAccounting : IRunRecorder
{
    private readonly IRunRecorder _inner;
    private readonly BuiltScenario _built;
    // Totals by owner replica, then stage x group kind, in one flat array (one cache miss per iteration at fleet scale,
    // not two); Seen marks the keys a collective has reached (with zero bytes too).
    private (double Bytes, long Ns, bool Seen)[] _totals = [];
    private int _owners;
    private static readonly int GroupKinds = Enum.GetValues<CommGroupKind>().Length;
    // What the plan decides once: totals per owner, each group kind's size, whether expert traffic is kept per engine.
    private readonly int _perOwner;
    private readonly int[] _groupSizes;
    private readonly bool _expertPerEngine;
    // The wire factor of the op a group kind last carried, keyed by the op name's reference (see OnIteration).
    private readonly (string? Op, double Factor)[] _lastFactor;

    public CommAccounting(IRunRecorder inner, BuiltScenario built)
    {
        _inner = inner;
        _built = built;
        _perOwner = built.Plan.Pp * GroupKinds;
        _groupSizes = new int[GroupKinds];
        for (int g = 0; g < GroupKinds; g++) _groupSizes[g] = GroupSize((CommGroupKind)g);
        _expertPerEngine = built.Plan.IsDataParallelAttention;
        _lastFactor = new (string?, double)[GroupKinds];
    }

    public void OnIteration(in IterationRecord record)
    {
        // Implementation note: this runs for every batch on every stage, so it indexes arrays (no enumerator, no hash);
        // each key's sums add up in the same order as before, so links.csv is unchanged. The cost model's demands
        // are arrays (its memo's) nearly always, read as a span without the list interface; an op's wire factor is
        // decided once per op name instance: the names are the cost model's literals, so comparing references
        // finds the previous answer and only another instance of a name is compared as text.
        var comms = record.Cost.Comms;
        if (comms is CommDemand[] array)
        {
            foreach (ref readonly var c in array.AsSpan()) Add(in record, in c);
        }
        else
        {
            for (int i = 0; i < comms.Count; i++)
            {
                var c = comms[i];
                Add(in record, in c);
            }
        }
        _inner.OnIteration(record);
    }

    private void Add(in IterationRecord record, in CommDemand c)
    {
        // A DP-attention engine's all-to-all is one group over all its ranks: its bytes are kept on the engine's rank 0.
        int owner = c.Group == CommGroupKind.Expert && _expertPerEngine
            ? _built.Plan.EngineOf(record.Replica) * _built.Plan.Dp
            : record.Replica;
        int n = _groupSizes[(int)c.Group];
        ref var last = ref _lastFactor[(int)c.Group];
        if (!ReferenceEquals(last.Op, c.Op)) last = (c.Op, WireFactor(c.Op, n));
        double wire = c.Bytes * (double)c.Count * n * last.Factor;
        ref var total = ref TotalOf(owner, record.Stage, c.Group);
        total = (total.Bytes + wire, total.Ns + c.AnalyticNsEach * c.Count, true);
    }

    private ref (double Bytes, long Ns, bool Seen) TotalOf(int owner, int stage, CommGroupKind group)
    {
        int perOwner = _perOwner;
        if (owner >= _owners)
        {
            _owners = Math.Max(owner + 1, 2 * _owners);
            Array.Resize(ref _totals, _owners * perOwner);
        }
        return ref _totals[owner * perOwner + stage * GroupKinds + (int)group];
    }

    /// <summary>The keys collectives reached, by replica, stage and group kind, with their bytes and busy time.</summary>
    private IEnumerable<((int Replica, int Stage, CommGroupKind Group) Key, (double Bytes, long Ns) Value)> Totals()
    {
        int perOwner = _built.Plan.Pp * GroupKinds;
        for (int r = 0; r < _owners; r++)
            for (int k = 0; k < perOwner; k++)
                if (_totals[r * perOwner + k] is { Seen: true } t) yield return ((r, k / GroupKinds, (CommGroupKind)(k % GroupKinds)), (t.Bytes, t.Ns));
    }

    public void OnRequestFinished(RequestRecord record) => _inner.OnRequestFinished(record);

    public void OnSample(in ReplicaSample sample) => _inner.OnSample(sample);

    public void OnTokenGaps(long gapNs, int count) => _inner.OnTokenGaps(gapNs, count);

    public void OnFault(FaultRecord record) => _inner.OnFault(record);

    /// <param name="firstReplica">With pools: the run-wide index of this pool's replica 0 (row names use run-wide numbers).</param>
    /// <param name="firstGpu">With pools: the global id of this pool's GPU 0.</param>
    public List<LinkActivity> LinkRows(int firstReplica = 0, int firstGpu = 0)
    {
        var rows = new List<LinkActivity>();
        var topo = _built.Topology;
        foreach (var ((replica, stage, group), (bytes, ns)) in Totals())
        {
            int[] gpus = group == CommGroupKind.Pipeline
                ? new[] { _built.Placement.GpuOf(replica, stage, 0), _built.Placement.GpuOf(replica, stage + 1, 0) }
                : group == CommGroupKind.Context ? _built.Placement.CpGroup(replica, stage)
                : group == CommGroupKind.Expert ? _built.Placement.EpGroup(replica, stage) : _built.Placement.TpGroup(replica, stage);
            bool crossNode = gpus.Select(topo.NodeOf).Distinct().Count() > 1;
            if (group == CommGroupKind.Expert && crossNode && _built.Plan.IsDataParallelAttention)
            {
                rows.AddRange(SplitByTier(gpus, bytes, ns, $"r{firstReplica + replica}.stage{stage}.ep", firstGpu));
                continue;
            }
            var spec = crossNode ? _built.InterNodeLink : _built.IntraNodeLink;
            int r = firstReplica + replica;
            string name = group switch
            {
                CommGroupKind.Pipeline => $"r{r}.stage{stage}->stage{stage + 1}",
                CommGroupKind.Tensor => $"r{r}.stage{stage}.tp",
                CommGroupKind.Expert => $"r{r}.stage{stage}.ep",
                _ => $"r{r}.stage{stage}.cp",
            };
            // A pipeline boundary is crossed by every TP rank over its own link (1/TP of the activations each).
            rows.Add(new LinkActivity(name, spec.Kind.ToString().ToLowerInvariant(), $"gpu{firstGpu + gpus[0]}", $"gpu{firstGpu + gpus[^1]}",
                spec.BandwidthGBps * (group == CommGroupKind.Pipeline ? _built.Plan.Tp : gpus.Length), (long)Math.Round(bytes), ns));
        }
        return rows;
    }

    /// <summary>
    /// An all-to-all over GPUs of several nodes as two rows: the share of its bytes that goes to peers on the same node
    /// (NVLink) and the share that leaves the node through each GPU's NIC (the inter-node fabric).
    /// </summary>
    private IEnumerable<LinkActivity> SplitByTier(int[] gpus, double bytes, long ns, string name, int firstGpu)
    {
        var topo = _built.Topology;
        int n = gpus.Length;
        double localPeers = 0;
        foreach (var g in gpus) localPeers += gpus.Count(x => x != g && topo.NodeOf(x) == topo.NodeOf(g));
        double localShare = n > 1 ? localPeers / (n * (n - 1.0)) : 1;
        string from = $"gpu{firstGpu + gpus[0]}", to = $"gpu{firstGpu + gpus[^1]}";
        var intra = _built.IntraNodeLink;
        var inter = _built.InterNodeLink;
        yield return new LinkActivity(name + ".nvlink", intra.Kind.ToString().ToLowerInvariant(), from, to, intra.BandwidthGBps * n,
            (long)Math.Round(bytes * localShare), ns);
        yield return new LinkActivity(name + ".nic", inter.Kind.ToString().ToLowerInvariant(), from, to, inter.BandwidthGBps * n,
            (long)Math.Round(bytes * (1 - localShare)), ns);
    }

    private int GroupSize(CommGroupKind group) => group switch
    {
        CommGroupKind.Pipeline => 1,
        CommGroupKind.Context => _built.Plan.Cp,
        CommGroupKind.Expert => _built.Plan.Ep,
        _ => _built.Plan.Tp,
    };

    private static double WireFactor(string op, int n) => op switch
    {
        "all_reduce" => n > 1 ? 2.0 * (n - 1) / n : 0,
        "all_gather" or "reduce_scatter" or "all_to_all" => n > 1 ? (n - 1.0) / n : 0,
        _ => 1.0,
    };
}

/// <summary>
/// Flow network mode: a stage computes for its compute + overhead time, then plays its collectives on the shared
/// links of the topology (so replicas, PP sends and EP all-to-alls contend); a PP boundary sends each TP rank's
/// share of the activations to the same rank of the next stage. Repeated collectives of one kind (e.g. 160
/// all-reduces per iteration) run as one flow of their total bytes, shaped to the time the cost model charged for them,
/// so that without contention a stage takes its analytic time.
/// </summary>
internal sealed class FlowStageExecutor : IStageExecutor
{
    private readonly Simulation _sim;
    private readonly BuiltScenario _built;
    private readonly FlowNetwork _network;
    private readonly int _gpuOffset;
    private readonly Dictionary<(int Replica, int Stage), int[][]> _boundaries = new();

    /// <param name="sim">The run's simulation.</param>
    /// <param name="built">The (pool's) scenario whose stages run here.</param>
    /// <param name="network">A network shared with other pools (null: one over <paramref name="built"/>'s topology).</param>
    /// <param name="gpuOffset">Global id of the pool's GPU 0 in <paramref name="network"/>'s topology.</param>
    public FlowStageExecutor(Simulation sim, BuiltScenario built, FlowNetwork? network = null, int gpuOffset = 0)
    {
        _sim = sim;
        _built = built;
        _network = network ?? new FlowNetwork(sim, built.Topology);
        _gpuOffset = gpuOffset;
    }

    /// <summary>The flow network the stages play on.</summary>
    public FlowNetwork Network => _network;

    private int[] Global(int[] gpus)
    {
        if (_gpuOffset != 0) for (int i = 0; i < gpus.Length; i++) gpus[i] += _gpuOffset;
        return gpus;
    }

    public void Execute(int replica, int stage, StageCost cost, IEventHandler done, long token)
    {
        var all = cost.Comms.Where(c => c.Group != CommGroupKind.Pipeline && c.Count > 0 && c.Bytes > 0).ToArray();
        var comms = all.Where(c => c.OverlapNs == 0).ToArray();
        var overlapped = all.Where(c => c.OverlapNs > 0).ToArray();
        long computeNs = cost.ComputeNs + cost.OverheadNs;
        var targets = comms.Select(c => TargetNs(c, all, cost)).ToArray();
        if (overlapped.Length == 0)
        {
            _sim.Schedule(new SimDuration(computeNs), () => RunComm(replica, stage, comms, targets, 0, done, token));
            return;
        }
        // Implementation note: a collective that runs under compute (the CP ring under attention) starts with the stage
        // and races a timer of the compute it hides under; the rest of the compute follows once both are done. The
        // analytic model charges max(0, ring - attention) per layer, which is the same total for identical layers.
        var parts = new List<Event>(overlapped.Length + 1);
        long hiddenNs = 0;
        foreach (var c in overlapped) hiddenNs = Math.Max(hiddenNs, Math.Min(c.OverlapNs, computeNs));
        foreach (var c in overlapped) parts.Add(CommFlow(replica, stage, c, OverlappedTargetNs(c, all, cost, hiddenNs)));
        parts.Add(_sim.Timeout(new SimDuration(hiddenNs)));
        new AllOf(_sim, parts.ToArray()).AddCallback(_ =>
            _sim.Schedule(new SimDuration(computeNs - hiddenNs), () => RunComm(replica, stage, comms, targets, 0, done, token)));
    }

    /// <summary>
    /// The time (ns) a demand that runs after compute must take without other traffic: the stage's charged total of its
    /// kind (<see cref="StageCost.TpCommNs"/> ...) when it is that kind's only demand, otherwise its count x its per-call time.
    /// </summary>
    /// <remarks>
    /// Implementation note: the cost model charges a kind's count calls as Ns(count x t) but records each call rounded,
    /// Ns(t); count x Ns(t) is off by up to count / 2 ns (63 ns a stage for Llama-3.1-405B's 126 all-reduces), a drift
    /// that shifted iterations across arrivals and made the two modes' schedules part. The kind's total is used only when
    /// it is that rounding away from count x Ns(t) (so a cost priced some other way keeps the per-call product).
    /// </remarks>
    private static long TargetNs(CommDemand c, CommDemand[] all, StageCost cost)
    {
        long each = c.AnalyticNsEach * c.Count;
        if (all.Count(d => d.Group == c.Group) != 1) return each;
        long total = KindTotalNs(c.Group, cost);
        return Math.Abs(total - each) <= c.Count ? total : each;
    }

    /// <summary>
    /// The time (ns) a demand that runs under <paramref name="hiddenNs"/> of compute must take: so that it shows
    /// exactly the kind's charged excess (hidden + charged) or, when nothing is charged, stays hidden (see <see cref="TargetNs"/>).
    /// </summary>
    private static long OverlappedTargetNs(CommDemand c, CommDemand[] all, StageCost cost, long hiddenNs)
    {
        long each = c.AnalyticNsEach * c.Count;
        if (all.Count(d => d.Group == c.Group) != 1 || all.Count(d => d.OverlapNs > 0) != 1) return each;
        long excess = KindTotalNs(c.Group, cost);
        long target = excess > 0 ? hiddenNs + excess : Math.Min(each, hiddenNs);
        return Math.Abs(target - each) <= c.Count ? target : each;
    }

    private static long KindTotalNs(CommGroupKind group, StageCost cost) => group switch
    {
        CommGroupKind.Tensor => cost.TpCommNs,
        CommGroupKind.Expert => cost.EpCommNs,
        CommGroupKind.Context => cost.CpCommNs,
        _ => cost.PpCommNs,
    };

    /// <summary>
    /// One demand as flows: the count collectives run as one flow of their total bytes, shaped so that without other
    /// traffic it takes exactly <paramref name="targetNs"/> (what the cost model charged for them) and contention only
    /// stretches the flow part (see <see cref="Shaped"/>).
    /// </summary>
    private Event CommFlow(int replica, int stage, CommDemand c, long targetNs)
    {
        var gpus = Global(c.Group switch
        {
            CommGroupKind.Context => _built.Placement.CpGroup(replica, stage),
            CommGroupKind.Expert => _built.Placement.EpGroup(replica, stage),
            _ => _built.Placement.TpGroup(replica, stage),
        });
        return Shaped(Names.ParseOp(c.Op), gpus, c.Bytes * c.Count, targetNs);
    }

    /// <summary>
    /// A collective of <paramref name="bytes"/> on <paramref name="gpus"/> (global ids) that takes
    /// <paramref name="targetNs"/> when nothing else moves: the plan model's flows, their wire bytes scaled down when the
    /// target is faster than the plan's transfer, then a fixed delay for the rest of the target.
    /// </summary>
    /// <remarks>
    /// Implementation note: the cost model prices collectives with the serving path's timer (NCCL's structure inside a
    /// node, plans elsewhere) and folds them into the step (the CPU-floor wait is what the step lacks after compute AND
    /// those collective times); flow mode charges compute + overhead from that same step and then replays the
    /// collectives on the links, so the replay must take the cost model's collective time, not the plan model's, or the
    /// two modes differ by NCCL-vs-plan per collective. The plan model is only the shape of the traffic: its time is a
    /// fixed part L (launch, per-step latencies) plus a transfer part X on the links. With a target T >= L + X the flows
    /// run as planned and T - L - X follows as a fixed delay (what separate calls cost beyond one aggregated flow); with
    /// T below it the wire bytes per payload byte are scaled by (T - L) / X (NCCL's protocols move a byte more efficiently
    /// than the plan profile says), so the link load, and what contention costs, shrinks with the time; latencies are not
    /// bandwidth and stay as planned. The target is the demand's own total, never a per-call ratio: a ratio
    /// r = NCCL(b) / plan(b) applied to the aggregated flow plus the plan's delay for separate calls gives
    /// plan(b) n + (r - 1) plan(n b), not r plan(b) n, so the modes would drift apart by (r - 1)(plan(b) n - plan(n b)).
    /// The flows land on the kernel's nanosecond grid once per round (a latency rounded, a completion timer rounded up),
    /// so they take L + X give or take a few ns; the delay absorbs up to <see cref="TickSlackNs"/> per round of that
    /// difference (and T keeps that much delay when the wire is scaled), so without other traffic the collective ends
    /// exactly T after it started, and contention loses at most that slack (ns against the us it stretches by).
    /// </remarks>
    private Event Shaped(CollectiveOp op, int[] gpus, long bytes, long targetNs)
    {
        var plan = _network.Analytic.Resolve(op, gpus, bytes);
        var estimate = _network.Analytic.Evaluate(plan);
        int rounds = 1;
        foreach (var p in plan.Phases) rounds += p.Repeat;
        double slackNs = TickSlackNs * rounds;
        double latencyNs = estimate.LatencyUs * 1e3, transferNs = estimate.TransferUs * 1e3;
        double wireScale = 1.0, delayNs = targetNs - latencyNs - transferNs;
        if (delayNs < slackNs && transferNs > 0)
        {
            wireScale = Math.Clamp((targetNs - slackNs - latencyNs) / transferNs, MinWireScale, 1.0);
            delayNs = targetNs - latencyNs - wireScale * transferNs;
        }
        double flowNs = targetNs - delayNs; // what the flows take without other traffic, off the ns grid
        long startNs = _sim.NowNs;
        var finished = new Event(_sim);
        _network.Collective(op, gpus, bytes, wireScale: wireScale).AddCallback(_ =>
        {
            double tickNs = Math.Clamp(_sim.NowNs - startNs - flowNs, -slackNs, slackNs);
            long restNs = Math.Max(0, SimDuration.RoundToNs(delayNs - tickNs));
            _sim.Schedule(new SimDuration(restNs), () => finished.Succeed());
        });
        return finished;
    }

    /// <summary>Smallest wire scale <see cref="Shaped"/> applies (a target below the plan's fixed part cannot be met anyway).</summary>
    private const double MinWireScale = 1e-3;

    /// <summary>Nanoseconds per round a flow may land off its exact time on the kernel's grid (a rounded latency, a completion rounded up).</summary>
    private const double TickSlackNs = 2.0;

    private void RunComm(int replica, int stage, CommDemand[] comms, long[] targets, int index, IEventHandler done, long token)
    {
        if (index >= comms.Length)
        {
            done.Handle(token);
            return;
        }
        CommFlow(replica, stage, comms[index], targets[index])
            .AddCallback(_ => RunComm(replica, stage, comms, targets, index + 1, done, token));
    }

    public void Send(int replica, int fromStage, StageCost cost, IEventHandler arrived, long token)
    {
        long bytes = 0;
        foreach (var c in cost.Comms) if (c.Group == CommGroupKind.Pipeline) bytes += c.Bytes * c.Count;
        if (bytes <= 0 || fromStage + 1 >= _built.Plan.Pp)
        {
            _sim.Schedule(SimDuration.Zero, arrived, token);
            return;
        }
        // Each TP rank sends its 1/TP slice to the same rank of the next stage; that stage then all-gathers the slices
        // (vLLM's hand-off under TP; the analytic cost model charges the same two steps).
        // Each step takes what the serving path's timer gives it (as the cost model charges it) when nothing else moves;
        // the all-gather takes the rest of the charged hand-off (PpCommNs = Ns(send + gather), not Ns(send) + Ns(gather)).
        int tp = _built.Plan.Tp;
        long slice = (bytes + tp - 1) / tp;
        var groups = BoundaryGroups(replica, fromStage);
        var next = groups[tp];
        double sendUs = _built.Timer.TimeUs(CollectiveOp.SendRecv, groups[0], slice);
        double gatherUs = tp < 2 ? 0 : _built.Timer.TimeUs(CollectiveOp.AllGather, next, bytes);
        bool charged = Math.Abs(cost.PpCommNs - (sendUs + gatherUs) * 1e3) <= 1;
        long sendNs = tp < 2 && charged ? cost.PpCommNs : SimDuration.RoundToNs(sendUs * 1e3);
        long gatherNs = charged ? cost.PpCommNs - sendNs : SimDuration.RoundToNs(gatherUs * 1e3);
        var sends = new Event[tp];
        for (int t = 0; t < tp; t++)
            sends[t] = Shaped(CollectiveOp.SendRecv, Global([.. groups[t]]), slice,
                t == 0 ? sendNs : SimDuration.RoundToNs(_built.Timer.TimeUs(CollectiveOp.SendRecv, groups[t], slice) * 1e3));
        new AllOf(_sim, sends).AddCallback(_ =>
        {
            if (tp < 2)
            {
                arrived.Handle(token);
                return;
            }
            Shaped(CollectiveOp.AllGather, Global([.. next]), bytes, gatherNs).AddCallback(_ => arrived.Handle(token));
        });
    }

    /// <summary>
    /// The groups (pool-local ids) of one pipeline boundary: TP rank t's pair (stage, stage + 1) at index t, the next
    /// stage's TP group last. Kept per boundary, so the timer (which recognises groups by reference) sees the same arrays.
    /// </summary>
    private int[][] BoundaryGroups(int replica, int fromStage)
    {
        if (_boundaries.TryGetValue((replica, fromStage), out var groups)) return groups;
        int tp = _built.Plan.Tp;
        groups = new int[tp + 1][];
        for (int t = 0; t < tp; t++)
            groups[t] = [_built.Placement.GpuOf(replica, fromStage, t), _built.Placement.GpuOf(replica, fromStage + 1, t)];
        groups[tp] = _built.Placement.TpGroup(replica, fromStage + 1);
        _boundaries[(replica, fromStage)] = groups;
        return groups;
    }

    /// <summary>Degrades (or restores) a physical link: in-flight flows move on at their old rates, then shares are recomputed.</summary>
    public void SetPortFactor(string port, double factor) => _network.SetPortFactor(port, factor);

    public List<LinkActivity> LinkRows() => LinkRows(_network);

    /// <summary>links.csv rows of a flow network: every link that carried bytes.</summary>
    internal static List<LinkActivity> LinkRows(FlowNetwork network)
    {
        return network.LinkStatistics()
            .Where(u => u.BytesCarried > 0)
            .Select(u => new LinkActivity(u.Link.Name, u.Link.Spec.Kind.ToString().ToLowerInvariant(), u.Link.From, u.Link.To,
                u.Link.BandwidthGBps, (long)Math.Round(u.BytesCarried), (long)Math.Round(u.BusyUs * 1e3)))
            .ToList();
    }
}
