using System.Runtime.InteropServices;
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
    private readonly Dictionary<(int Replica, int Stage, CommGroupKind Group), (double Bytes, long Ns)> _totals = new();

    public CommAccounting(IRunRecorder inner, BuiltScenario built)
    {
        _inner = inner;
        _built = built;
    }

    public void OnIteration(in IterationRecord record)
    {
        foreach (var c in record.Cost.Comms)
        {
            var key = (record.Replica, record.Stage, c.Group);
            int n = GroupSize(c.Group);
            double wire = c.Bytes * (double)c.Count * n * WireFactor(c.Op, n);
            // One hash lookup per collective (this runs for every batch on every stage).
            ref var total = ref CollectionsMarshal.GetValueRefOrAddDefault(_totals, key, out _);
            total = (total.Bytes + wire, total.Ns + c.AnalyticNsEach * c.Count);
        }
        _inner.OnIteration(record);
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
        foreach (var ((replica, stage, group), (bytes, ns)) in _totals.OrderBy(k => k.Key.Replica).ThenBy(k => k.Key.Stage).ThenBy(k => k.Key.Group))
        {
            int[] gpus = group == CommGroupKind.Pipeline
                ? new[] { _built.Placement.GpuOf(replica, stage, 0), _built.Placement.GpuOf(replica, stage + 1, 0) }
                : group == CommGroupKind.Context ? _built.Placement.CpGroup(replica, stage) : _built.Placement.TpGroup(replica, stage);
            bool crossNode = gpus.Select(topo.NodeOf).Distinct().Count() > 1;
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
/// all-reduces per iteration) run as one flow of their total bytes plus a fixed delay for what separate calls
/// cost beyond it, so that without contention a stage takes its analytic time.
/// </summary>
internal sealed class FlowStageExecutor : IStageExecutor
{
    private readonly Simulation _sim;
    private readonly BuiltScenario _built;
    private readonly FlowNetwork _network;
    private readonly int _gpuOffset;

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
        if (overlapped.Length == 0)
        {
            _sim.Schedule(new SimDuration(computeNs), () => RunComm(replica, stage, comms, 0, done, token));
            return;
        }
        // Implementation note: a collective that runs under compute (the CP ring under attention) starts with the stage
        // and races a timer of the compute it hides under; the rest of the compute follows once both are done. The
        // analytic model charges max(0, ring - attention) per layer, which is the same total for identical layers.
        var parts = new List<Event>(overlapped.Length + 1);
        long hiddenNs = 0;
        foreach (var c in overlapped)
        {
            hiddenNs = Math.Max(hiddenNs, Math.Min(c.OverlapNs, computeNs));
            parts.Add(CommFlow(replica, stage, c));
        }
        parts.Add(_sim.Timeout(new SimDuration(hiddenNs)));
        new AllOf(_sim, parts.ToArray()).AddCallback(_ =>
            _sim.Schedule(new SimDuration(computeNs - hiddenNs), () => RunComm(replica, stage, comms, 0, done, token)));
    }

    /// <summary>
    /// One demand as flows: the count collectives run as one flow of their total bytes; what separate calls cost beyond
    /// that (their latencies, and the lower efficiency of smaller messages) is added as a fixed delay, so that without
    /// other traffic it takes exactly the analytic time and contention only stretches the flow part.
    /// </summary>
    private Event CommFlow(int replica, int stage, CommDemand c)
    {
        var gpus = Global(c.Group == CommGroupKind.Context ? _built.Placement.CpGroup(replica, stage) : _built.Placement.TpGroup(replica, stage));
        var op = Names.ParseOp(c.Op);
        long total = c.Bytes * c.Count;
        double separateUs = _network.Analytic.TimeUs(op, gpus, c.Bytes) * c.Count;
        double aggregatedUs = _network.Analytic.TimeUs(op, gpus, total);
        long extraLatencyNs = (long)Math.Round(Math.Max(0, separateUs - aggregatedUs) * 1e3);
        var finished = new Event(_sim);
        _network.Collective(op, gpus, total).AddCallback(_ => _sim.Schedule(new SimDuration(extraLatencyNs), () => finished.Succeed()));
        return finished;
    }

    private void RunComm(int replica, int stage, CommDemand[] comms, int index, IEventHandler done, long token)
    {
        if (index >= comms.Length)
        {
            done.Handle(token);
            return;
        }
        CommFlow(replica, stage, comms[index]).AddCallback(_ => RunComm(replica, stage, comms, index + 1, done, token));
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
        int tp = _built.Plan.Tp;
        var sends = new Event[tp];
        for (int t = 0; t < tp; t++)
            sends[t] = _network.Collective(CollectiveOp.SendRecv,
                Global(new[] { _built.Placement.GpuOf(replica, fromStage, t), _built.Placement.GpuOf(replica, fromStage + 1, t) }), (bytes + tp - 1) / tp);
        new AllOf(_sim, sends).AddCallback(_ =>
        {
            if (tp < 2)
            {
                arrived.Handle(token);
                return;
            }
            _network.Collective(CollectiveOp.AllGather, Global(_built.Placement.TpGroup(replica, fromStage + 1)), bytes)
                .AddCallback(_ => arrived.Handle(token));
        });
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
