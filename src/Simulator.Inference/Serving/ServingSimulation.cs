using Simulator.Inference.Metrics;
using Simulator.Inference.Workload;
using Simulator.Kernel;
using Request = Simulator.Inference.Workload.Request;

namespace Simulator.Inference.Serving;

/// <summary>Run-wide serving settings.</summary>
/// <param name="Router">Router name in <see cref="RouterRegistry"/>.</param>
/// <param name="RouterSeed">Seed of the random routers (derive it from the scenario seed).</param>
/// <param name="SampleIntervalNs">Interval of the per-replica time series; 0 = no samples.</param>
/// <param name="EndNs">Stop the run here; requests not finished by then are recorded as unfinished. Null = run until every request is done.</param>
/// <param name="PrefixRouter">Thresholds of the prefix_aware router (null = SGLang's defaults).</param>
/// <param name="Faults">Faults to inject and the retry policy; null = a fault-free run.</param>
/// <param name="FrontEnd">The engine front end's per-request costs (null = none): requests reach the scheduler that
/// much after they arrive, and every token reaches the client that much after the engine emits it.</param>
/// <param name="Threads">Null: one kernel simulation for everything. 0 (auto) or N: when the run is eligible
/// (<see cref="ParallelEligibility.WhyNot"/>), the replicas run in groups stepped to a barrier at every sample and at the
/// end of every lookahead window (every arrival where the router cannot look ahead),
/// on that many threads; the outputs are the same for every thread count (not the same as with null at same-instant ties).</param>
/// <param name="Lookahead">With replica groups: whether the serving loop may route every arrival up to the groups'
/// announced horizon between two barriers (README "Parallel replicas"); false stops the groups at every serving-loop
/// instant; null (the default) looks ahead with more than one thread only (on one thread nothing waits at a barrier and
/// the window's bookkeeping is pure cost). The outputs are the same either way (tests compare them).</param>
public sealed record ServingOptions(
    string Router = "round_robin",
    ulong RouterSeed = 1,
    long SampleIntervalNs = 1_000_000_000,
    long? EndNs = null,
    PrefixRouterOptions? PrefixRouter = null,
    FaultSettings? Faults = null,
    FrontEndDelays? FrontEnd = null,
    int? Threads = null,
    bool? Lookahead = null);

/// <summary>
/// What a serving run produced besides the streamed records. <c>Failed</c>: requests that ended failed (their replica
/// went down and no retry was possible); <c>LiveNs</c>: per replica, the time it was live (not down, not reloading
/// weights); <c>Faults</c>: the faults applied, in the order they began (empty without fault injection); <c>Threads</c>:
/// the threads that simulated the replicas; <c>SerialReason</c>: why threads were asked for but the run used one (null otherwise).
/// </summary>
/// <c>Windows</c>: with replica groups, the barriers at which the serving loop stopped every group (0 without groups);
/// <c>WorkerShare</c>: on several threads, the fraction of group runs the worker threads took (<see cref="ReplicaGroups.WorkerShare"/>);
/// <c>NoLookaheadReason</c>: with groups, why each barrier covers a single serving-loop instant instead of a lookahead window (null when it does not).
public sealed record ServingResult(
    IReadOnlyList<ReplicaStats> Replicas, long Requests, long Completed, long Rejected, long Unfinished,
    long EndNs, long Events, long Failed = 0, IReadOnlyList<long>? LiveNs = null, IReadOnlyList<FaultRecord>? Faults = null,
    int Threads = 1, string? SerialReason = null, long Windows = 0, string? NoLookaheadReason = null, double WorkerShare = 0);

/// <summary>
/// A cluster of replicas behind a router, fed by a streamed workload: requests arrive one at a time (the
/// next is read only when the previous has arrived), the router picks a replica, the replica's scheduler
/// batches them through its pipeline. Every request of the workload ends with exactly one
/// <see cref="RequestRecord"/> (completed, rejected, failed or unfinished, with a reason when not completed); every batch on every stage with an
/// <see cref="IterationRecord"/>; every <see cref="ServingOptions.SampleIntervalNs"/> each replica with a
/// <see cref="ReplicaSample"/>.
/// </summary>
public sealed class ServingSimulation
{
    private readonly Simulation _sim;
    private readonly IWorkloadSource _workload;
    private readonly IRunRecorder _recorder;
    private readonly ServingOptions _options;
    private readonly FrontEndDelays _frontEnd;
    private readonly FrontEndQueue? _frontEndQueue;   // frontend.model: queue
    private readonly Dictionary<long, (int Replica, Request Request)>[] _inFrontEnd;   // one per replica group (one in all without groups)
    private readonly Replica[] _replicas;
    private readonly IRouter _router;
    private readonly DataParallelLockstep? _lockstep;
    private readonly int[] _entry;              // replicas that take new requests (mixed and prefill), in index order
    private readonly KvHandoff? _handoff;
    private readonly ArrivalHandler _arrival;
    private readonly SampleHandler _sampler;
    private IEnumerator<Request>? _source;
    private Request? _pending;
    private bool _sourceDone;
    private long _requests;
    private long _rejected;
    private long _completed;
    private long _failed;
    private readonly FaultInjector? _faults;
    private readonly List<Replica> _live = [];
    private readonly ILoadIndexedRouter? _indexedRouter;
    private int[] _livePosition = [];   // replica index -> position in _live, -1 when not there
    private bool _liveStale = true;
    private long _lastArrivalNs;
    private bool _ran;
    private readonly ReplicaGroups? _groups;       // the replicas' own simulations when they run in parallel
    private readonly string? _serialReason;
    private readonly PassForecasts? _forecasts;    // lookahead windows: every replica's pass in flight
    private readonly string? _noLookaheadReason;
    private readonly bool _countRouter;            // the router reads the replicas' outstanding counts (and nothing else that changes)
    private readonly LoadView[]? _views;           // what the router reads under lookahead, per replica
    private readonly List<IReplicaLoad> _liveViews = [];
    private readonly List<int> _viewsTouched = [];
    private readonly List<(long EndNs, int Replica)> _crossing = [];
    private int _crossingAt;
    private bool _deferring;                       // inside a lookahead window: the groups are behind the serving loop
    private long _nextSampleNs = long.MaxValue;

    public ServingSimulation(Simulation sim, IWorkloadSource workload, IReadOnlyList<ReplicaSetup> replicas,
        ServingOptions options, IRunRecorder recorder, IStageExecutor? executor = null, DisaggregationOptions? disaggregation = null)
    {
        _sim = sim ?? throw new ArgumentNullException(nameof(sim));
        _workload = workload ?? throw new ArgumentNullException(nameof(workload));
        ArgumentNullException.ThrowIfNull(recorder);
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _frontEnd = options.FrontEnd ?? FrontEndDelays.None;
        // A queue of zero costs still runs (and reports utilization 0): the user asked for the servers' totals.
        if (_frontEnd.Model == FrontEndModel.Queue) _recorder = _frontEndQueue = new FrontEndQueue(sim, recorder, _frontEnd, replicas?.Count ?? 0);
        else _recorder = _frontEnd.IsNone ? recorder : new FrontEndRecorder(recorder, _frontEnd);
        recorder = _recorder;
        ArgumentNullException.ThrowIfNull(replicas);
        if (replicas.Count == 0) throw new ArgumentException("at least one replica is needed", nameof(replicas));
        if (options.SampleIntervalNs < 0) throw new ArgumentException("the sample interval cannot be negative", nameof(options));
        if (options.Threads is int threads)
        {
            _serialReason = ParallelEligibility.WhyNot(replicas, options, executor != null);
            if (_serialReason is null)
            {
                int resolved = ParallelEligibility.Resolve(threads, replicas.Count);
                _groups = new ReplicaGroups(replicas.Count, ReplicaGroups.GroupsFor(resolved, replicas.Count), resolved, sim.RandomSeed);
            }
        }
        _inFrontEnd = new Dictionary<long, (int, Request)>[_groups?.Count ?? 1];
        for (int g = 0; g < _inFrontEnd.Length; g++) _inFrontEnd[g] = new();
        executor ??= new AnalyticStageExecutor(sim);
        if (DataParallelLockstep.Needed(replicas)) executor = _lockstep = new DataParallelLockstep(sim, executor, replicas);
        IRouter router = options.PrefixRouter is { } pr && options.Router == "prefix_aware"
            ? new PrefixAwareRouter(pr)
            : RouterRegistry.Create(options.Router, options.RouterSeed);
        _replicas = new Replica[replicas.Count];
        for (int i = 0; i < replicas.Count; i++)
            _replicas[i] = _groups is null
                ? new Replica(i, sim, replicas[i], executor, recorder, OnFinished)
                : new Replica(i, _groups.SimOf(i), replicas[i], _groups.ExecutorOf(i), _groups.RecorderOf(i), _groups.FinishedOf(i));
        if (_frontEndQueue != null) foreach (var r in _replicas) r.FrontEnd = _frontEndQueue;
        ShareCostMemos(replicas);
        _router = _lockstep is null ? router : new DataParallelRouter(router, _replicas, replicas);
        _indexedRouter = _router as ILoadIndexedRouter;
        if (_groups != null)
        {
            _noLookaheadReason = LookaheadWhyNot(router, replicas);
            if (_noLookaheadReason is null)
            {
                _forecasts = new PassForecasts(_replicas.Select(r => r.MinPassLowerBoundNs()).ToArray());
                foreach (var r in _replicas) r.Forecasts = _forecasts;
                _countRouter = router is not (RoundRobinRouter or RandomRouter);
                if (_countRouter) _views = _replicas.Select(r => new LoadView(r)).ToArray();
                _groups.Deliver = Deliver;
            }
        }
        if (_indexedRouter != null)
            foreach (var r in _replicas) r.OutstandingChanged = _groups is null ? OnOutstandingChanged : _groups.LoadChangedOf(r.Index);
        _entry = Enumerable.Range(0, _replicas.Length).Where(i => _replicas[i].Role != ReplicaRole.Decode).ToArray();
        if (_entry.Length == 0) throw new ArgumentException("at least one replica must take new requests (role mixed or prefill)", nameof(replicas));
        if (_replicas.Any(r => r.Role == ReplicaRole.Prefill))
        {
            if (disaggregation is null) throw new ArgumentException("prefill replicas need disaggregation options (decode router, KV transport)", nameof(disaggregation));
            _handoff = new KvHandoff(sim, _replicas, disaggregation, OnHandOffRejected, Retry);
        }
        _arrival = new ArrivalHandler(this);
        _sampler = new SampleHandler(this);
        if (options.Faults is { } faults)
            _faults = new FaultInjector(sim, faults, _replicas, recorder, OnReplicaDown, () => _liveStale = true);
    }

    /// <summary>
    /// Replicas of one layout simulated on one thread share their cost models' memos (<see cref="Cost.RooflineStageCostModel.ShareMemos"/>):
    /// one warm set instead of one per replica, so the per-iteration lookups stay in cache as the fleet grows.
    /// </summary>
    private void ShareCostMemos(IReadOnlyList<ReplicaSetup> replicas)
    {
        for (int g = 0; g < (_groups?.Count ?? 1); g++)
        {
            int group = g;
            Cost.RooflineStageCostModel.ShareMemos(Enumerable.Range(0, replicas.Count)
                .Where(i => (_groups?.GroupOf(i) ?? 0) == group).Select(i => replicas[i].CostModel));
        }
    }

    /// <summary>
    /// Why the replica groups of this run take one serving-loop instant per barrier instead of a lookahead window, or
    /// null when they may look ahead (<see cref="RunGroups"/>).
    /// </summary>
    private string? LookaheadWhyNot(IRouter router, IReadOnlyList<ReplicaSetup> replicas)
    {
        if (_options.Lookahead == false) return "lookahead turned off";
        // One thread has nobody to wait for at a barrier, and the window's bookkeeping (views, inboxes, forecasts) cost
        // 5% more instructions on fleet-1m at 30,000 requests (callgrind, 2,908 -> 3,055 M) for nothing.
        if (_options.Lookahead is null && _groups!.Threads == 1) return "one thread";
        if (router is not (RoundRobinRouter or RandomRouter or LeastOutstandingRouter or PowerOfTwoRouter or SpeedWeightedRouter))
            return $"router {router.Name} reads more of a replica than its outstanding count";
        if (_frontEndQueue != null) return "frontend.model queue";
        if (_replicas.Any(r => r.Stages != 1 || r.Microbatches != 1)) return "pipeline stages or microbatches: a pass's end is not known when it starts";
        if (_replicas.Any(r => r.MinPassLowerBoundNs() < 1)) return "no lower bound of a pass's duration";
        return null;
    }

    /// <summary>The replicas, in index order (live state; read-only use).</summary>
    public IReadOnlyList<Replica> Replicas => _replicas;

    /// <summary>The API servers' totals under <c>frontend.model: queue</c> (null otherwise); complete after <see cref="Run"/>.</summary>
    public FrontEndSummary? FrontEndTotals => _frontEndQueue?.Summary(_sim.NowNs);

    /// <summary>The DP-attention engines' totals (empty when the run has none); complete after <see cref="Run"/>.</summary>
    public IReadOnlyList<DataParallelEngineStats> DataParallelEngines => _lockstep?.Stats() ?? [];

    /// <summary>Runs the whole workload (or until <see cref="ServingOptions.EndNs"/>) and returns the totals.</summary>
    public ServingResult Run()
    {
        if (_ran) throw new InvalidOperationException("a serving simulation runs once");
        _ran = true;
        _source = _workload.Read().GetEnumerator();
        try
        {
            ScheduleNextArrival();
            if (_options.SampleIntervalNs > 0) ScheduleSample(_options.SampleIntervalNs);
            if (_groups != null)
            {
                RunGroups();
            }
            else if (_faults != null)
            {
                _faults.Start();
                RunUntilAllEnded();
            }
            else if (_options.EndNs is long end)
            {
                if (end > _sim.NowNs) _sim.Run(new SimTime(end));
            }
            else
            {
                _sim.Run();
            }
            // Normally a no-op without an end time; it keeps one record per request even if a policy stalls.
            FinishUnfinished();
        }
        finally
        {
            _source.Dispose();
            _groups?.Dispose();
        }
        var stats = new ReplicaStats[_replicas.Length];
        for (int i = 0; i < _replicas.Length; i++) stats[i] = _replicas[i].Snapshot();
        return new ServingResult(stats, _requests, _completed, _rejected, _requests - _completed - _rejected - _failed,
            _sim.NowNs, _sim.ProcessedEvents + (_groups?.ProcessedEvents ?? 0), _failed, _replicas.Select(r => r.LiveNs).ToList(),
            _faults?.Applied.ToList() ?? [], _groups?.Threads ?? 1,
            _options.Threads is int t && ParallelEligibility.Resolve(t, _replicas.Length) > 1 ? _serialReason : null,
            _groups?.Barriers ?? 0, _groups is { Threads: > 1 } ? _noLookaheadReason : null, _groups?.WorkerShare ?? 0);
    }

    /// <summary>
    /// With faults the event queue never empties by itself (the next random failure is always pending), so the run
    /// stops when every request of the workload has ended, or at <see cref="ServingOptions.EndNs"/>.
    /// </summary>
    private void RunUntilAllEnded()
    {
        long until = _options.EndNs ?? long.MaxValue;
        while (!(_sourceDone && _pending is null && _completed + _rejected + _failed == _requests))
        {
            var next = _sim.Peek();
            if (next == SimTime.MaxValue || next.Nanoseconds >= until) break;
            _sim.Step();
        }
        if (_options.EndNs is long end && end > _sim.NowNs && _sim.Peek().Nanoseconds >= end) _sim.Run(new SimTime(end));
    }

    /// <summary>
    /// The replicas run in their groups' simulations; this one holds the arrivals and samples. Before each of its events
    /// every group is stepped to it (see <see cref="ReplicaGroups"/> for why that is exact), and what the replicas reported
    /// is handed on, so routing and sampling see every replica as of that instant.
    /// </summary>
    private void RunGroups()
    {
        var groups = _groups!;
        long until = _options.EndNs ?? long.MaxValue;
        while (true)
        {
            var next = _sim.Peek();
            if (next == SimTime.MaxValue || next.Nanoseconds >= until) break;
            // The replicas' schedulers run at priority 1 (Replica.Kick): they stay after the arrivals of this instant.
            groups.AdvanceBefore(next.Nanoseconds, 1);
            FlushGroups();
            if (_forecasts is null || next.Nanoseconds >= _nextSampleNs)
            {
                // One instant: a sample (or an arrival at its instant) reads the replicas as they are.
                _sim.Step();
                continue;
            }
            // A lookahead window: every arrival before the horizon is routed now and handed to its group, which
            // delivers it at its instant during the next AdvanceBefore.
            long horizon = Math.Min(Math.Min(Horizon(next.Nanoseconds), _nextSampleNs), until);
            _deferring = true;
            for (int n = 0; n < MaxArrivalsPerWindow && _sim.Peek().Nanoseconds < horizon; n++) _sim.Step();
            _deferring = false;
        }
        groups.AdvanceBefore(until, Simulation.LowestPriority);
        FlushGroups();
        long end = _options.EndNs ?? Math.Max(_sim.NowNs, groups.LatestNs());
        if (end > _sim.NowNs) _sim.Run(new SimTime(end));
        groups.AlignClocks(end);
    }

    private void FlushGroups()
    {
        _completed += _groups!.Flush(_recorder, _indexedRouter is null ? null : OnOutstandingChanged);
        // The groups are at the barrier: what the window's views added is in the replicas themselves now.
        foreach (int r in _viewsTouched) _views![r].Pending = _views[r].Crossed = 0;
        _viewsTouched.Clear();
    }

    /// <summary>Arrivals one lookahead window may route at most (bounds the outboxes between barriers).</summary>
    private const int MaxArrivalsPerWindow = 4096;

    /// <summary>
    /// The end of a lookahead window that starts at <paramref name="startNs"/> (every group stopped just before it):
    /// before it, each replica's outstanding count is its count now, plus what the window routes to it, minus the
    /// requests of its pass in flight once that pass has ended (announced when it started). Lists those passes.
    /// </summary>
    // Implementation note (exactness): without faults, pools or a front-end queue a replica's count changes only when the
    // router sends it a request (+1; the front end's hand-over moves it from InFrontEnd to the queue, no change) and at
    // the end of a pass (-1 per finished request; preemption moves requests between running, waiting and swapped). A
    // pass not in flight now starts no earlier than now (a kick, a hand-over, a routed request) or, for a busy replica,
    // than its pass's end, and lasts at least the replica's lower bound; so it ends at or after the horizon, and every
    // count change before the horizon is known here. Arrivals before the horizon are routed on those counts (views),
    // exactly as if each group were stepped to each of them; the stateless routers read no count (no horizon).
    private long Horizon(long startNs)
    {
        if (!_countRouter) return long.MaxValue;
        var f = _forecasts!;
        long horizon = long.MaxValue;
        for (int r = 0; r < _replicas.Length; r++)
        {
            long end = f.EndNs[r];
            long h = (end > startNs ? end : startNs) + f.MinPassNs[r];
            if (h < horizon) horizon = h;
        }
        _crossing.Clear();
        _crossingAt = 0;
        for (int r = 0; r < _replicas.Length; r++)
        {
            long end = f.EndNs[r];
            if (end > startNs && end < horizon && f.Finishing[r] > 0) _crossing.Add((end, r));
        }
        if (_crossing.Count > 1) _crossing.Sort();
        return horizon;
    }

    /// <summary>
    /// Inside a lookahead window, before routing at <paramref name="nowNs"/>: the announced passes that ended by then
    /// take their finished requests off their replicas' views (a pass ending at this instant ends before the arrival, as
    /// a priority-0 entry of its group would).
    /// </summary>
    private void CrossPassEnds(long nowNs)
    {
        while (_crossingAt < _crossing.Count && _crossing[_crossingAt].EndNs <= nowNs)
        {
            int r = _crossing[_crossingAt++].Replica;
            TouchView(r).Crossed += _forecasts!.Finishing[r];
            OnOutstandingChanged(r);
        }
    }

    private LoadView TouchView(int replica)
    {
        var view = _views![replica];
        if (view.Pending == 0 && view.Crossed == 0) _viewsTouched.Add(replica);
        return view;
    }

    /// <summary>The replica a request goes to: the router's pick among the live replicas; -1 when none is live.</summary>
    private int Route(Request request)
    {
        // New requests go to the live replicas that take them (mixed and prefill roles), in index order.
        if (_liveStale)
        {
            _live.Clear();
            foreach (var i in _entry) if (_replicas[i].IsLive) _live.Add(_replicas[i]);
            _liveStale = false;
            _liveViews.Clear();
            if (_views != null) foreach (var r in _live) _liveViews.Add(_views[r.Index]);
            if (_indexedRouter != null)
            {
                if (_livePosition.Length == 0) _livePosition = new int[_replicas.Length];
                Array.Fill(_livePosition, -1);
                for (int p = 0; p < _live.Count; p++) _livePosition[_live[p].Index] = p;
                _indexedRouter.Track(_views != null ? _liveViews : _live);
            }
        }
        if (_live.Count == 0) return -1;
        // Implementation note: routers see only the live replicas (so none of them can pick a down one); with all live
        // the list is the replicas in index order, so a fault-free stretch routes exactly as a run without faults.
        int pick = _views != null ? _router.Route(request, _liveViews) : _router.Route(request, _live);
        if ((uint)pick >= (uint)_live.Count)
            throw new InvalidOperationException($"router {_router.Name} chose replica {pick} of {_live.Count} live");
        return _live[pick].Index;
    }

    /// <summary>A replica's outstanding count changed: the router's index re-reads it before its next pick (a stale live list is re-indexed whole).</summary>
    private void OnOutstandingChanged(int replica)
    {
        if (_liveStale || _livePosition.Length == 0) return;
        int p = _livePosition[replica];
        if (p >= 0) _indexedRouter!.LoadChanged(p);
    }

    /// <summary>
    /// A replica went down: every request it held goes back to the router, oldest first; with pools, hand-offs from it
    /// (KV lost) are retried too and hand-offs to it are re-pointed to another decode replica (<see cref="KvHandoff.OnReplicaDown"/>).
    /// </summary>
    private void OnReplicaDown(Replica replica)
    {
        var held = replica.GoDown();
        _liveStale = true;
        foreach (var seq in held) Retry(seq);
        _handoff?.OnReplicaDown(replica);
    }

    private void Retry(Sequence seq)
    {
        long now = _sim.NowNs;
        if (seq.Retries >= _options.Faults!.MaxRetries)
        {
            Fail(Replica.ToRecord(seq, RequestStatus.Failed, now, RequestReasons.RetriesExhausted));
            return;
        }
        int target = Route(seq.Request);
        if (target < 0)
        {
            Fail(Replica.ToRecord(seq, RequestStatus.Failed, now, RequestReasons.NoLiveReplica));
            return;
        }
        _replicas[target].Enqueue(new Sequence(seq, target));
    }

    /// <summary>A request that arrived (or left the front end) while no replica was live: failed, never admitted.</summary>
    private void FailNoLiveReplica(Request request) =>
        Fail(new RequestRecord(request.Id, request.ArrivalNs, -1, request.InputTokens, request.OutputTokens, 0, 0,
            RequestStatus.Failed, null, null, null, 0, SessionId: request.Session, Reason: RequestReasons.NoLiveReplica));

    private void Fail(RequestRecord record)
    {
        _failed++;
        _recorder.OnRequestFinished(record);
    }

    private void ScheduleNextArrival()
    {
        if (_sourceDone) return;
        if (!_source!.MoveNext())
        {
            _sourceDone = true;
            _pending = null;
            return;
        }
        var r = _source.Current;
        if (r.ArrivalNs < _lastArrivalNs)
            throw new InvalidOperationException($"request {r.Id} arrives at {r.ArrivalNs} ns, before the previous request ({_lastArrivalNs} ns): the workload must be in arrival order");
        if (r.InputTokens < 0 || r.OutputTokens < 0)
            throw new InvalidOperationException($"request {r.Id} has a negative token count");
        _lastArrivalNs = r.ArrivalNs;
        _pending = r;
        _sim.Schedule(new SimDuration(Math.Max(0, r.ArrivalNs - _sim.NowNs)), _arrival, 0);
    }

    private void OnArrival()
    {
        var request = _pending!;
        _pending = null;
        _requests++;
        if (_deferring && _views != null) CrossPassEnds(_sim.NowNs);
        int target = Route(request);
        if (target < 0)
        {
            FailNoLiveReplica(request);
            ScheduleNextArrival();
            return;
        }
        var replica = _replicas[target];
        if (replica.ReasonNeverServable(request) is { } reason)
        {
            _rejected++;
            var record = new RequestRecord(request.Id, request.ArrivalNs, target, request.InputTokens,
                request.OutputTokens, 0, 0, RequestStatus.Rejected, null, null, null, 0, SessionId: request.Session, Reason: reason);
            if (_deferring) _groups!.AddDriverRecord(_sim.NowNs, record);
            else _recorder.OnRequestFinished(record);
        }
        else if (_deferring)
        {
            _groups!.Inject(_sim.NowNs, target, request);
            if (_views != null)
            {
                TouchView(target).Pending++;
                OnOutstandingChanged(target);
            }
        }
        else
        {
            Deliver(target, request);
        }
        ScheduleNextArrival();
    }

    /// <summary>Hands a routed request to its replica: its queue, or first the front end (on the replica's own clock).</summary>
    private void Deliver(int target, Request request)
    {
        var replica = _replicas[target];
        if (_frontEnd.IsNone && _frontEndQueue is null)
        {
            replica.Enqueue(request);
        }
        else
        {
            // The front end parses and tokenizes the request before the engine's scheduler sees it.
            // Implementation note: with replica groups the hand-over is an event of the replica's own group: without
            // faults its replica stays live, so it touches that replica only (and its group's front-end table).
            var inFrontEnd = _inFrontEnd[_groups?.GroupOf(target) ?? 0];
            inFrontEnd.Add(request.Id, (target, request));
            replica.InFrontEnd++;
            void HandOff()
            {
                inFrontEnd.Remove(request.Id);
                replica.InFrontEnd--;
                AfterFrontEnd(replica, request);
            }
            if (_frontEndQueue != null) _frontEndQueue.Admit(target, request, HandOff);
            else (_groups?.SimOf(target) ?? _sim).Schedule(new SimDuration(_frontEnd.InputNs(request.InputTokens)), HandOff);
        }
    }

    /// <summary>The front end is done with <paramref name="request"/>: its replica queues it, or, if that replica went down meanwhile, the router picks again.</summary>
    private void AfterFrontEnd(Replica replica, Request request)
    {
        if (replica.IsLive)
        {
            replica.Enqueue(request);
            return;
        }
        int target = Route(request);
        if (target < 0)
            FailNoLiveReplica(request);
        else
            _replicas[target].Enqueue(request);
    }

    private void OnFinished(Sequence seq)
    {
        _completed++;
    }

    private void OnHandOffRejected(Sequence seq, Replica prefill, string why)
    {
        _rejected++;
        var r = seq.Request;
        _recorder.OnRequestFinished(new RequestRecord(r.Id, r.ArrivalNs, prefill.Index, r.InputTokens, r.OutputTokens,
            seq.GeneratedTokens, seq.CachedTokens, RequestStatus.Rejected, seq.FirstTokenNs, null, seq.ScheduledNs, seq.Preemptions,
            seq.CpuCachedTokens, r.Session, seq.Retries, RequestReasons.TooLongForKv));
    }

    private void OnSample()
    {
        long now = _sim.NowNs;
        for (int i = 0; i < _replicas.Length; i++) _recorder.OnSample(_replicas[i].Sample(now));
        // Keep sampling while anything else can still happen; then the queue empties and Run() returns.
        var next = _sim.Peek();
        if (_groups?.Peek() is { } replicasNext && replicasNext < next) next = replicasNext;
        if (next == SimTime.MaxValue) return;
        // Implementation note: idle time costs neither events nor rows. Nothing changes before the next event, so
        // the samples on the grid before it are all alike: skip to the last of them (its rates, over the whole gap,
        // are the true zero) and drop the ones in between. With no gap of two intervals the samples are as before.
        long interval = _options.SampleIntervalNs;
        long ticks = Math.Max(1, (next.Nanoseconds - 1 - now) / interval);
        ScheduleSample(ticks * interval);
    }

    private void ScheduleSample(long delayNs)
    {
        _nextSampleNs = _sim.NowNs + delayNs;
        _sim.Schedule(new SimDuration(delayNs), _sampler, 0);
    }

    /// <summary>Records every request still in a replica, and every one not yet arrived, as unfinished.</summary>
    private void FinishUnfinished()
    {
        var left = new List<Sequence>();
        foreach (var r in _replicas) left.AddRange(r.ActiveSequences());
        if (_handoff != null) left.AddRange(_handoff.InTransit().Select(t => t.Seq));
        left.Sort((a, b) => a.Request.Id.CompareTo(b.Request.Id));
        foreach (var seq in left)
            _recorder.OnRequestFinished(Replica.ToRecord(seq, RequestStatus.Unfinished, _sim.NowNs, RequestReasons.RunEnded));
        // Requests still in the front end when the run stopped (never seen by a scheduler).
        foreach (var (replica, r) in _inFrontEnd.SelectMany(g => g.Values).OrderBy(v => v.Request.Id))
            _recorder.OnRequestFinished(new RequestRecord(r.Id, r.ArrivalNs, replica, r.InputTokens, r.OutputTokens, 0, 0,
                RequestStatus.Unfinished, null, null, null, 0, SessionId: r.Session, Reason: RequestReasons.RunEnded));
        foreach (var g in _inFrontEnd) g.Clear();
        // Requests of the workload that never arrived: one record each, replica -1.
        var unseen = _pending;
        while (unseen != null)
        {
            _requests++;
            _recorder.OnRequestFinished(new RequestRecord(unseen.Id, unseen.ArrivalNs, -1, unseen.InputTokens,
                unseen.OutputTokens, 0, 0, RequestStatus.Unfinished, null, null, null, 0, SessionId: unseen.Session, Reason: RequestReasons.RunEnded));
            unseen = !_sourceDone && _source!.MoveNext() ? _source.Current : null;
        }
        _pending = null;
        _sourceDone = true;
    }

    private sealed class ArrivalHandler(ServingSimulation owner) : IEventHandler
    {
        public void Handle(long token) => owner.OnArrival();
    }

    private sealed class SampleHandler(ServingSimulation owner) : IEventHandler
    {
        public void Handle(long token) => owner.OnSample();
    }
}

/// <summary>
/// What a count-reading router sees of one replica under lookahead: its outstanding count at the last barrier (read
/// from the stopped replica), plus what the window routed to it, minus the requests of its announced pass once that
/// pass has ended. Between windows both adjustments are 0 and the view is the replica itself.
/// </summary>
internal sealed class LoadView(Replica replica) : IReplicaLoad
{
    public int Pending;
    public int Crossed;

    public int Outstanding => replica.Outstanding + Pending - Crossed;

    public double KvUtilization => replica.KvUtilization;

    public double ReferenceWorkNs => replica.ReferenceWorkNs;
}
