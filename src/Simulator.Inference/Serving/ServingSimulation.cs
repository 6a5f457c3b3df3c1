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
/// <param name="FrontEnd">The engine front end's per-request costs (null = none): requests reach the scheduler that
/// much after they arrive, and every token reaches the client that much after the engine emits it.</param>
public sealed record ServingOptions(
    string Router = "round_robin",
    ulong RouterSeed = 1,
    long SampleIntervalNs = 1_000_000_000,
    long? EndNs = null,
    FrontEndDelays? FrontEnd = null);

/// <summary>What a serving run produced besides the streamed records.</summary>
public sealed record ServingResult(
    IReadOnlyList<ReplicaStats> Replicas, long Requests, long Completed, long Rejected, long Unfinished,
    long EndNs, long Events);

/// <summary>
/// A cluster of replicas behind a router, fed by a streamed workload: requests arrive one at a time (the
/// next is read only when the previous has arrived), the router picks a replica, the replica's scheduler
/// batches them through its pipeline. Every request of the workload ends with exactly one
/// <see cref="RequestRecord"/> (completed, rejected or unfinished); every batch on every stage with an
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
    private readonly Dictionary<long, (int Replica, Request Request)> _inFrontEnd = new();
    private readonly Replica[] _replicas;
    private readonly IRouter _router;
    private readonly ArrivalHandler _arrival;
    private readonly SampleHandler _sampler;
    private IEnumerator<Request>? _source;
    private Request? _pending;
    private bool _sourceDone;
    private long _requests;
    private long _rejected;
    private long _completed;
    private long _lastArrivalNs;
    private bool _ran;

    public ServingSimulation(Simulation sim, IWorkloadSource workload, IReadOnlyList<ReplicaSetup> replicas,
        ServingOptions options, IRunRecorder recorder, IStageExecutor? executor = null)
    {
        _sim = sim ?? throw new ArgumentNullException(nameof(sim));
        _workload = workload ?? throw new ArgumentNullException(nameof(workload));
        ArgumentNullException.ThrowIfNull(recorder);
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _frontEnd = options.FrontEnd ?? FrontEndDelays.None;
        _recorder = _frontEnd.IsNone ? recorder : new FrontEndRecorder(recorder, _frontEnd);
        recorder = _recorder;
        ArgumentNullException.ThrowIfNull(replicas);
        if (replicas.Count == 0) throw new ArgumentException("at least one replica is needed", nameof(replicas));
        if (options.SampleIntervalNs < 0) throw new ArgumentException("the sample interval cannot be negative", nameof(options));
        executor ??= new AnalyticStageExecutor(sim);
        _router = RouterRegistry.Create(options.Router, options.RouterSeed);
        _replicas = new Replica[replicas.Count];
        for (int i = 0; i < replicas.Count; i++)
            _replicas[i] = new Replica(i, sim, replicas[i], executor, recorder, OnFinished);
        _arrival = new ArrivalHandler(this);
        _sampler = new SampleHandler(this);
    }

    /// <summary>The replicas, in index order (live state; read-only use).</summary>
    public IReadOnlyList<Replica> Replicas => _replicas;

    /// <summary>Runs the whole workload (or until <see cref="ServingOptions.EndNs"/>) and returns the totals.</summary>
    public ServingResult Run()
    {
        if (_ran) throw new InvalidOperationException("a serving simulation runs once");
        _ran = true;
        _source = _workload.Read().GetEnumerator();
        try
        {
            ScheduleNextArrival();
            if (_options.SampleIntervalNs > 0) _sim.Schedule(new SimDuration(_options.SampleIntervalNs), _sampler, 0);
            if (_options.EndNs is long end)
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
        }
        var stats = new ReplicaStats[_replicas.Length];
        for (int i = 0; i < _replicas.Length; i++) stats[i] = _replicas[i].Snapshot();
        return new ServingResult(stats, _requests, _completed, _rejected, _requests - _completed - _rejected,
            _sim.NowNs, _sim.ProcessedEvents);
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
        int target = _router.Route(request, _replicas);
        if ((uint)target >= (uint)_replicas.Length)
            throw new InvalidOperationException($"router {_router.Name} chose replica {target} of {_replicas.Length}");
        var replica = _replicas[target];
        if (replica.WhyNeverServable(request) != null)
        {
            _rejected++;
            _recorder.OnRequestFinished(new RequestRecord(request.Id, request.ArrivalNs, target, request.InputTokens,
                request.OutputTokens, 0, 0, RequestStatus.Rejected, null, null, null, 0));
        }
        else if (_frontEnd.IsNone)
        {
            replica.Enqueue(request);
        }
        else
        {
            // The front end parses and tokenizes the request before the engine's scheduler sees it.
            _inFrontEnd.Add(request.Id, (target, request));
            _sim.Schedule(new SimDuration(_frontEnd.InputNs(request.InputTokens)), () =>
            {
                _inFrontEnd.Remove(request.Id);
                replica.Enqueue(request);
            });
        }
        ScheduleNextArrival();
    }

    private void OnFinished(Sequence seq)
    {
        _completed++;
    }

    private void OnSample()
    {
        long now = _sim.NowNs;
        for (int i = 0; i < _replicas.Length; i++) _recorder.OnSample(_replicas[i].Sample(now));
        // Keep sampling while anything else can still happen; then the queue empties and Run() returns.
        if (_sim.Peek() != SimTime.MaxValue)
            _sim.Schedule(new SimDuration(_options.SampleIntervalNs), _sampler, 0);
    }

    /// <summary>Records every request still in a replica, and every one not yet arrived, as unfinished.</summary>
    private void FinishUnfinished()
    {
        var left = new List<Sequence>();
        foreach (var r in _replicas) left.AddRange(r.ActiveSequences());
        left.Sort((a, b) => a.Request.Id.CompareTo(b.Request.Id));
        foreach (var seq in left)
            _recorder.OnRequestFinished(Replica.ToRecord(seq, RequestStatus.Unfinished, _sim.NowNs));
        // Requests still in the front end when the run stopped (never seen by a scheduler).
        foreach (var (replica, r) in _inFrontEnd.Values.OrderBy(v => v.Request.Id))
            _recorder.OnRequestFinished(new RequestRecord(r.Id, r.ArrivalNs, replica, r.InputTokens, r.OutputTokens, 0, 0,
                RequestStatus.Unfinished, null, null, null, 0));
        _inFrontEnd.Clear();
        // Requests of the workload that never arrived: one record each, replica -1.
        var unseen = _pending;
        while (unseen != null)
        {
            _requests++;
            _recorder.OnRequestFinished(new RequestRecord(unseen.Id, unseen.ArrivalNs, -1, unseen.InputTokens,
                unseen.OutputTokens, 0, 0, RequestStatus.Unfinished, null, null, null, 0));
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
