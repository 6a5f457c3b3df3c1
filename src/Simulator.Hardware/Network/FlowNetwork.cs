using System.Globalization;
using Simulator.Hardware.Calibration;
using Simulator.Hardware.Collectives;
using Simulator.Hardware.Topology;
using Simulator.Kernel;

namespace Simulator.Hardware.Network;

/// <summary>Traffic one link carried during a run, for links.csv.</summary>
/// <param name="Link">The directed link.</param>
/// <param name="BytesCarried">Payload bytes that crossed it.</param>
/// <param name="BusyUs">Integral of its utilisation over time (1 us at full rate = 1 us), microseconds.</param>
public sealed record LinkUsage(Link Link, double BytesCarried, double BusyUs)
{
    /// <summary>Busy time / elapsed time (0 when nothing elapsed).</summary>
    public double BusyFraction(double elapsedUs) => elapsedUs > 0 ? Math.Min(1.0, BusyUs / elapsedUs) : 0;
}

/// <summary>
/// Simulated transfers on the links of a <see cref="ClusterTopology"/>, sharing bandwidth MAX-MIN FAIRLY (progressive
/// filling: every flow gets the same rate unless a link it does not cross leaves it less). A transfer first waits its
/// route's per-message latency, then flows at its share; shares are recomputed whenever a flow starts or ends
/// (a few events per transfer, never per byte). Collectives run their <see cref="CollectivePlan"/> phase by phase as
/// transfers, with the calibration profile's launch latency and per-tier efficiency (a flow at efficiency e puts
/// 1/e wire bytes on a link per payload byte), so without contention they take the analytic time.
/// </summary>
public sealed class FlowNetwork
{
    private sealed class Flow
    {
        public long Id;
        public Link[] Links = Array.Empty<Link>();
        public double[] Weights = Array.Empty<double>();
        public double Bytes;
        public double Remaining;
        public double RateBytesPerUs;
        public bool Frozen;
        public bool Finite;
        public Action? OnDone;
    }

    private sealed class Handler : IEventHandler
    {
        private readonly Action<long> _action;
        public Handler(Action<long> action) => _action = action;
        public void Handle(long token) => _action(token);
    }

    private readonly Simulation _sim;
    private readonly AnalyticCollectives _analytic;
    private readonly List<Flow> _active = new();
    private readonly Dictionary<long, List<Flow>> _pendingBatches = new();
    private readonly List<Flow>[] _onLink;
    private readonly double[] _bytesCarried;
    private readonly double[] _busyUs;
    private readonly double[] _usedWirePerUs;
    private readonly double[] _capRemaining;
    private readonly double[] _weightSum;
    private readonly List<int> _touched = new();
    private readonly bool[] _isTouched;
    private readonly Handler _startHandler;
    private readonly Handler _completionHandler;
    private readonly Handler _recomputeHandler;
    private long _nextFlowId;
    private long _nextBatchId;
    private long _generation;
    private long _lastUpdateNs;
    private bool _recomputePending;

    public FlowNetwork(Simulation sim, ClusterTopology topology, CalibrationProfile? profile = null)
    {
        _sim = sim ?? throw new ArgumentNullException(nameof(sim));
        Topology = topology ?? throw new ArgumentNullException(nameof(topology));
        _analytic = new AnalyticCollectives(topology, profile);
        int links = topology.Links.Count;
        _onLink = new List<Flow>[links];
        for (int i = 0; i < links; i++) _onLink[i] = new List<Flow>();
        _bytesCarried = new double[links];
        _busyUs = new double[links];
        _usedWirePerUs = new double[links];
        _capRemaining = new double[links];
        _weightSum = new double[links];
        _isTouched = new bool[links];
        _startHandler = new Handler(StartBatch);
        _completionHandler = new Handler(OnCompletionTimer);
        _recomputeHandler = new Handler(_ => { _recomputePending = false; Advance(); Recompute(); });
        _lastUpdateNs = sim.NowNs;
    }

    public ClusterTopology Topology { get; }

    /// <summary>The analytic model over the same topology and profile (resolves Auto algorithms and fixed costs).</summary>
    public AnalyticCollectives Analytic => _analytic;

    /// <summary>Flows moving bytes right now.</summary>
    public int ActiveFlowCount => _active.Count;

    /// <summary>Transfers completed so far.</summary>
    public long CompletedTransfers { get; private set; }

    /// <summary>
    /// Sends <paramref name="bytes"/> from one GPU to another at raw link rate: the route's per-message latency, then a
    /// bandwidth-limited flow. The event succeeds when the last byte arrives.
    /// </summary>
    public Event Transfer(int srcGpu, int dstGpu, long bytes)
    {
        if (bytes < 0) throw new ArgumentOutOfRangeException(nameof(bytes), "bytes must be >= 0");
        var done = _sim.Event();
        var flow = MakeFlow(srcGpu, dstGpu, bytes, 1.0, 1.0, () => done.Succeed());
        Launch(new List<Flow> { flow }, Topology.RouteLatencyUs(srcGpu, dstGpu));
        return done;
    }

    /// <summary>
    /// Runs a collective as transfers: launch latency, then each phase's repetitions one after another, each a round of
    /// concurrent transfers that share the links with all other traffic. The event succeeds when the last transfer ends;
    /// its value is the <see cref="CollectivePlan"/> that ran. <paramref name="wireScale"/> multiplies the wire bytes each
    /// payload byte costs (1 / the profile's efficiency): below 1 the collective moves its payload more efficiently than the
    /// plan model's profile says (a caller pricing collectives with another model uses it to match that model's time);
    /// payload bytes carried are unchanged.
    /// </summary>
    public Event Collective(CollectiveOp op, IReadOnlyList<int> gpus, long bytes, CollectiveAlgorithm algorithm = CollectiveAlgorithm.Auto,
        double wireScale = 1.0)
    {
        if (!(wireScale > 0) || double.IsInfinity(wireScale)) throw new ArgumentOutOfRangeException(nameof(wireScale), wireScale, "a wire scale must be a finite number > 0");
        var plan = _analytic.Resolve(op, gpus, bytes, algorithm);
        var done = _sim.Event();
        var run = new CollectiveRun(this, plan, done, wireScale);
        double startup = _analytic.StartupUs(plan);
        if (plan.Phases.Count == 0) done.Succeed(plan);
        else _sim.Schedule(SimDuration.FromMicroseconds(startup), run.NextRound);
        return done;
    }

    /// <summary>
    /// Changes the bandwidth of physical link <paramref name="port"/> (both directions) to <paramref name="factor"/> of
    /// nominal: flows are moved forward at their old rates up to now, then every share is recomputed.
    /// </summary>
    public void SetPortFactor(string port, double factor)
    {
        Advance();
        Topology.SetPortFactor(port, factor);
        RequestRecompute();
    }

    /// <summary>Per-link traffic so far, in link id order.</summary>
    public IReadOnlyList<LinkUsage> LinkStatistics()
    {
        Advance();
        var rows = new List<LinkUsage>(Topology.Links.Count);
        foreach (var link in Topology.Links) rows.Add(new LinkUsage(link, _bytesCarried[link.Id], _busyUs[link.Id]));
        return rows;
    }

    /// <summary>
    /// Writes links.csv (columns: link, kind, from, to, bandwidth_gbps, bytes_carried, busy_fraction), one row per
    /// directed link in id order; busy_fraction is busy time over <paramref name="elapsedUs"/> (default: the simulation's current time).
    /// </summary>
    public void WriteLinksCsv(TextWriter writer, double? elapsedUs = null)
    {
        double elapsed = elapsedUs ?? _sim.NowNs / 1e3;
        WriteLinksCsv(writer, LinkStatistics(), elapsed);
    }

    /// <summary>Writes links.csv rows for any usage list (the analytic mode writes zero traffic).</summary>
    public static void WriteLinksCsv(TextWriter writer, IReadOnlyList<LinkUsage> rows, double elapsedUs)
    {
        var ci = CultureInfo.InvariantCulture;
        writer.Write("link,kind,from,to,bandwidth_gbps,bytes_carried,busy_fraction\n");
        foreach (var r in rows)
        {
            string bw = r.Link.IsIdeal ? "inf" : r.Link.BandwidthGBps.ToString("0.###", ci);
            writer.Write(string.Create(ci,
                $"{r.Link.Name},{KindName(r.Link)},{r.Link.From},{r.Link.To},{bw},{Math.Round(r.BytesCarried).ToString("0", ci)},{r.BusyFraction(elapsedUs).ToString("0.######", ci)}\n"));
        }
    }

    private static string KindName(Link link) => link.Spec.Kind switch
    {
        Specs.LinkKind.NvLink => "nvlink",
        Specs.LinkKind.Pcie => "pcie",
        Specs.LinkKind.InfiniBand => "infiniband",
        Specs.LinkKind.Ethernet => "ethernet",
        _ => "ideal",
    } + (link.Tier == LinkTier.Spine ? "-spine" : "");

    private Flow MakeFlow(int src, int dst, double bytes, double intraWire, double interWire, Action? onDone)
    {
        var route = Topology.Route(src, dst);
        var links = new List<Link>(route.Count);
        var weights = new List<double>(route.Count);
        foreach (var l in route)
        {
            if (l.IsIdeal) continue;
            links.Add(l);
            weights.Add(l.Tier == LinkTier.IntraNode ? intraWire : interWire);
        }
        return new Flow
        {
            Id = _nextFlowId++, Links = links.ToArray(), Weights = weights.ToArray(), Bytes = bytes, Remaining = bytes,
            Finite = links.Count > 0 && bytes > 0, OnDone = onDone,
        };
    }

    private void Launch(List<Flow> flows, double latencyUs)
    {
        long batch = _nextBatchId++;
        _pendingBatches[batch] = flows;
        _sim.Schedule(SimDuration.FromMicroseconds(latencyUs), _startHandler, batch);
    }

    private void StartBatch(long batch)
    {
        var flows = _pendingBatches[batch];
        _pendingBatches.Remove(batch);
        Advance();
        List<Flow>? instant = null;
        foreach (var f in flows)
        {
            if (!f.Finite)
            {
                (instant ??= new List<Flow>()).Add(f);
                continue;
            }
            _active.Add(f);
            foreach (var l in f.Links) _onLink[l.Id].Add(f);
        }
        RequestRecompute();
        if (instant != null)
            foreach (var f in instant) Finish(f);
    }

    private void Finish(Flow f)
    {
        CompletedTransfers++;
        foreach (var l in f.Links) _bytesCarried[l.Id] += f.Remaining; // zero for finite flows; all bytes for instant ones
        f.Remaining = 0;
        f.OnDone?.Invoke();
    }

    private void RequestRecompute()
    {
        if (_recomputePending) return;
        _recomputePending = true;
        _generation++; // any completion timer set before this change is stale
        _sim.Schedule(SimDuration.Zero, _recomputeHandler, 0);
    }

    /// <summary>Moves every active flow forward to now at its current rate and books link statistics.</summary>
    private void Advance()
    {
        long now = _sim.NowNs;
        double dtUs = (now - _lastUpdateNs) / 1e3;
        _lastUpdateNs = now;
        if (dtUs <= 0 || _active.Count == 0) return;
        foreach (var f in _active)
        {
            double moved = Math.Min(f.Remaining, f.RateBytesPerUs * dtUs);
            f.Remaining -= moved;
            foreach (var l in f.Links) _bytesCarried[l.Id] += moved;
        }
        foreach (int id in _touched)
        {
            double util = _usedWirePerUs[id] / Topology.Links[id].BytesPerUs;
            _busyUs[id] += Math.Min(1.0, util) * dtUs;
        }
    }

    /// <summary>Max-min fair rates by progressive filling, then the next completion timer.</summary>
    private void Recompute()
    {
        foreach (int id in _touched)
        {
            _usedWirePerUs[id] = 0;
            _isTouched[id] = false;
        }
        _touched.Clear();
        foreach (var f in _active)
        {
            f.Frozen = false;
            f.RateBytesPerUs = 0;
            for (int i = 0; i < f.Links.Length; i++)
            {
                int id = f.Links[i].Id;
                if (!_isTouched[id])
                {
                    _isTouched[id] = true;
                    _touched.Add(id);
                    _capRemaining[id] = f.Links[i].BytesPerUs;
                }
                _weightSum[id] += f.Weights[i];
            }
        }
        int unfrozen = _active.Count;
        while (unfrozen > 0)
        {
            int best = -1;
            double bestShare = double.PositiveInfinity;
            foreach (int id in _touched)
            {
                if (_weightSum[id] <= 1e-12) continue;
                double share = Math.Max(0, _capRemaining[id]) / _weightSum[id];
                if (share < bestShare) { bestShare = share; best = id; }
            }
            if (best < 0) break;
            foreach (var f in _onLink[best])
            {
                if (f.Frozen) continue;
                f.Frozen = true;
                f.RateBytesPerUs = bestShare;
                unfrozen--;
                for (int i = 0; i < f.Links.Length; i++)
                {
                    int id = f.Links[i].Id;
                    _capRemaining[id] -= f.Weights[i] * bestShare;
                    _weightSum[id] -= f.Weights[i];
                    _usedWirePerUs[id] += f.Weights[i] * bestShare;
                }
            }
            _weightSum[best] = 0;
        }
        foreach (int id in _touched)
        {
            _capRemaining[id] = 0;
            _weightSum[id] = 0;
        }
        ScheduleNextCompletion();
    }

    private void ScheduleNextCompletion()
    {
        _generation++;
        if (_active.Count == 0) return;
        double soonestUs = double.PositiveInfinity;
        foreach (var f in _active)
            if (f.RateBytesPerUs > 0) soonestUs = Math.Min(soonestUs, f.Remaining / f.RateBytesPerUs);
        if (double.IsPositiveInfinity(soonestUs)) return;
        long ns = Math.Max(0, (long)Math.Ceiling(soonestUs * 1e3 - 1e-6));
        _sim.Schedule(SimDuration.FromNanoseconds(ns), _completionHandler, _generation);
    }

    private void OnCompletionTimer(long generation)
    {
        if (generation != _generation) return;
        Advance();
        List<Flow>? done = null;
        for (int i = 0; i < _active.Count; i++)
        {
            var f = _active[i];
            // done when what is left would take under a nanosecond (ceil rounding of the timer)
            if (f.Remaining <= f.RateBytesPerUs * 1e-3 + 1e-9 * f.Bytes)
                (done ??= new List<Flow>()).Add(f);
        }
        if (done == null)
        {
            ScheduleNextCompletion();
            return;
        }
        foreach (var f in done)
        {
            _active.Remove(f);
            foreach (var l in f.Links)
            {
                _bytesCarried[l.Id] += f.Remaining;
                _onLink[l.Id].Remove(f);
            }
            f.Remaining = 0;
        }
        RequestRecompute();
        foreach (var f in done)
        {
            CompletedTransfers++;
            f.OnDone?.Invoke();
        }
    }

    /// <summary>Drives one collective: rounds of concurrent transfers, one after another.</summary>
    private sealed class CollectiveRun
    {
        private readonly FlowNetwork _net;
        private readonly CollectivePlan _plan;
        private readonly Event _done;
        private readonly double _intraWire;
        private readonly double _interWire;
        private readonly double[] _phaseLatencyUs; // per phase, paid by each of its rounds
        private readonly Action _onTransferDone;
        private int _phase;
        private int _repeat;
        private int _outstanding;

        public CollectiveRun(FlowNetwork net, CollectivePlan plan, Event done, double wireScale)
        {
            _net = net;
            _plan = plan;
            _done = done;
            _intraWire = net._analytic.WireFactor(plan, LinkTier.IntraNode) * wireScale;
            _interWire = net._analytic.WireFactor(plan, LinkTier.Nic) * wireScale;
            _phaseLatencyUs = plan.Phases.Select(p => net._analytic.PhaseLatencyUs(plan, p)).ToArray();
            _onTransferDone = OnTransferDone;
            NextRound = StartRound;
        }

        public Action NextRound { get; }

        private void StartRound()
        {
            while (_phase < _plan.Phases.Count && _repeat >= _plan.Phases[_phase].Repeat)
            {
                _phase++;
                _repeat = 0;
            }
            if (_phase >= _plan.Phases.Count)
            {
                _done.Succeed(_plan);
                return;
            }
            var phase = _plan.Phases[_phase];
            _repeat++;
            var flows = new List<Flow>(phase.Transfers.Count);
            foreach (var t in phase.Transfers)
                flows.Add(_net.MakeFlow(t.Src, t.Dst, t.Bytes, _intraWire, _interWire, _onTransferDone));
            _outstanding = flows.Count;
            if (_outstanding == 0)
            {
                _net._sim.Schedule(SimDuration.FromMicroseconds(_phaseLatencyUs[_phase]), NextRound);
                return;
            }
            _net.Launch(flows, _phaseLatencyUs[_phase]);
        }

        private void OnTransferDone()
        {
            if (--_outstanding == 0) StartRound();
        }
    }
}
