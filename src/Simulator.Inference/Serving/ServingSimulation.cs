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
public sealed record ServingOptions(
    string Router = "round_robin",
    ulong RouterSeed = 1,
    long SampleIntervalNs = 1_000_000_000,
    long? EndNs = null);

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
    private readonly Replica[] _replicas;
    private readonly IRouter _router;
    private readonly int[] _entry;              // replicas that take new requests (mixed and prefill), in index order
    private readonly IReplicaLoad[] _entryLoads;
    private readonly KvHandoff? _handoff;
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
        ServingOptions options, IRunRecorder recorder, IStageExecutor? executor = null, DisaggregationOptions? disaggregation = null)
    {
        _sim = sim ?? throw new ArgumentNullException(nameof(sim));
        _workload = workload ?? throw new ArgumentNullException(nameof(workload));
        _recorder = recorder ?? throw new ArgumentNullException(nameof(recorder));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        ArgumentNullException.ThrowIfNull(replicas);
        if (replicas.Count == 0) throw new ArgumentException("at least one replica is needed", nameof(replicas));
        if (options.SampleIntervalNs < 0) throw new ArgumentException("the sample interval cannot be negative", nameof(options));
        executor ??= new AnalyticStageExecutor(sim);
        _router = RouterRegistry.Create(options.Router, options.RouterSeed);
        _replicas = new Replica[replicas.Count];
        for (int i = 0; i < replicas.Count; i++)
            _replicas[i] = new Replica(i, sim, replicas[i], executor, recorder, OnFinished);
        _entry = Enumerable.Range(0, _replicas.Length).Where(i => _replicas[i].Role != ReplicaRole.Decode).ToArray();
        _entryLoads = _entry.Select(i => (IReplicaLoad)_replicas[i]).ToArray();
        if (_entry.Length == 0) throw new ArgumentException("at least one replica must take new requests (role mixed or prefill)", nameof(replicas));
        if (_replicas.Any(r => r.Role == ReplicaRole.Prefill))
        {
            if (disaggregation is null) throw new ArgumentException("prefill replicas need disaggregation options (decode router, KV transport)", nameof(disaggregation));
            _handoff = new KvHandoff(sim, _replicas, disaggregation, OnHandOffRejected);
        }
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
        int pick = _router.Route(request, _entryLoads);
        if ((uint)pick >= (uint)_entry.Length)
            throw new InvalidOperationException($"router {_router.Name} chose replica {pick} of {_entry.Length}");
        int target = _entry[pick];
        var replica = _replicas[target];
        if (replica.WhyNeverServable(request) != null)
        {
            _rejected++;
            _recorder.OnRequestFinished(new RequestRecord(request.Id, request.ArrivalNs, target, request.InputTokens,
                request.OutputTokens, 0, 0, RequestStatus.Rejected, null, null, null, 0));
        }
        else
        {
            replica.Enqueue(request);
        }
        ScheduleNextArrival();
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
            seq.GeneratedTokens, 0, RequestStatus.Rejected, seq.FirstTokenNs, null, seq.ScheduledNs, seq.Preemptions));
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
        if (_handoff != null) left.AddRange(_handoff.InTransit().Select(t => t.Seq));
        left.Sort((a, b) => a.Request.Id.CompareTo(b.Request.Id));
        foreach (var seq in left)
            _recorder.OnRequestFinished(Replica.ToRecord(seq, RequestStatus.Unfinished, _sim.NowNs));
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
