using Simulator.Inference.Cost;
using Simulator.Kernel;
using Request = Simulator.Inference.Workload.Request;

namespace Simulator.Inference.Serving;

/// <summary>
/// Where a replica sits in a DP-attention engine (vLLM <c>--data-parallel-size</c> with <c>--enable-expert-parallel</c>):
/// rank <paramref name="Rank"/> of <paramref name="Size"/>; the engine's ranks are consecutive replicas, rank 0 first.
/// <paramref name="Experts"/> prices the engine's MoE layers (the same for every rank of the engine).
/// </summary>
public sealed record DataParallelRank(int Rank, int Size, IEngineExpertCost Experts);

/// <summary>One DP-attention engine's totals over a run (summary.json's <c>data_parallel</c>).</summary>
/// <param name="FirstReplica">The replica index of its rank 0.</param>
/// <param name="Steps">Lockstep steps (iterations of the engine, however many ranks had work).</param>
/// <param name="EpCommNs">Dispatch + combine all-to-all time, summed over steps.</param>
/// <param name="ExpertComputeNs">Routed-expert time on the hottest GPU, summed over steps.</param>
/// <param name="RankTokens">New tokens each rank processed (its attention load), in rank order.</param>
public sealed record DataParallelEngineStats(int FirstReplica, long Steps, long EpCommNs, long ExpertComputeNs, IReadOnlyList<long> RankTokens);

// Implementation note: one Replica per DP rank (its own scheduler, batch and KV cache, exactly as a plain replica) plus a
// lockstep group behind the stage-executor hook, rather than one engine object with D sub-schedulers: the ranks reuse
// every scheduler, KV, prefix-cache, fault and output path unchanged, a DP run with D = 1 is literally today's run, and
// the lockstep needs no change to Replica beyond asking the executor what a step was charged. vLLM's DP ranks likewise
// run separate EngineCores that meet in the MoE collectives.
/// <summary>
/// The stage executor of a run with DP-attention engines: a rank's batch joins its engine's next step; a step starts once
/// every rank that has a batch at that instant has joined (after the instant's scheduler kicks) and the previous step has
/// ended, and ends for all its ranks at once: max over ranks of its own (attention, dense, shared-expert, TP) time, plus
/// the routed experts and dispatch/combine for the engine's total tokens. Ranks without work run vLLM's dummy batch:
/// they add no time but the all-to-all still spans every GPU of the engine. Other replicas pass straight through.
/// </summary>
internal sealed class DataParallelLockstep : IStageExecutor
{
    private readonly IStageExecutor _inner;
    private readonly LockstepEngine?[] _engineOf;
    private readonly int[] _rankOf;
    private readonly List<LockstepEngine> _engines = [];

    public DataParallelLockstep(Simulation sim, IStageExecutor inner, IReadOnlyList<ReplicaSetup> setups)
    {
        _inner = inner;
        _engineOf = new LockstepEngine?[setups.Count];
        _rankOf = new int[setups.Count];
        for (int i = 0; i < setups.Count; i++)
        {
            if (setups[i].DataParallel is not { } dp) continue;
            if (dp.Rank == 0)
            {
                if (i + dp.Size > setups.Count) throw new ArgumentException($"replica {i} starts a DP engine of {dp.Size} ranks but only {setups.Count - i} replicas follow", nameof(setups));
                _engines.Add(new LockstepEngine(sim, inner, i, dp.Size, dp.Experts));
            }
            var engine = _engines.Count > 0 ? _engines[^1] : null;
            if (engine is null || i - engine.FirstReplica != dp.Rank || dp.Size != engine.Size)
                throw new ArgumentException($"replica {i} is DP rank {dp.Rank} of {dp.Size}, but the ranks of an engine must be consecutive replicas from rank 0", nameof(setups));
            _engineOf[i] = engine;
            _rankOf[i] = dp.Rank;
        }
    }

    /// <summary>Whether any replica belongs to a DP-attention engine.</summary>
    public static bool Needed(IReadOnlyList<ReplicaSetup> setups) => setups.Any(s => s.DataParallel is { Size: > 1 });

    /// <summary>Each engine's totals, in replica order.</summary>
    public IReadOnlyList<DataParallelEngineStats> Stats() => _engines.Select(e => e.Stats()).ToList();

    public void Execute(int replica, int stage, StageCost cost, IEventHandler done, long token)
    {
        if (_engineOf[replica] is { } e) e.Join(_rankOf[replica], cost, done, token);
        else _inner.Execute(replica, stage, cost, done, token);
    }

    public void Send(int replica, int fromStage, StageCost cost, IEventHandler arrived, long token) =>
        _inner.Send(replica, fromStage, cost, arrived, token);

    public StageCost Charged(int replica, int stage, StageCost planned) =>
        _engineOf[replica] is { } e ? e.Charged(_rankOf[replica], planned) : _inner.Charged(replica, stage, planned);

    /// <summary>One engine's lockstep: per-rank slots for the batch that waits for the next step and the one in the running step.</summary>
    private sealed class LockstepEngine : IEventHandler
    {
        private readonly Simulation _sim;
        private readonly IStageExecutor _inner;
        private readonly IEngineExpertCost _experts;
        private readonly Slot[] _waiting;
        private readonly Slot[] _running;
        private readonly StageCost?[] _charged;
        private readonly long[] _rankTokens;
        private readonly EndHandler _end;
        private bool _busy;
        private bool _flushPending;
        private long _stepStartNs;
        private ExpertStepCost _step = new(0, 0, [], 1);
        private long _steps, _epCommNs, _expertNs;

        public LockstepEngine(Simulation sim, IStageExecutor inner, int firstReplica, int size, IEngineExpertCost experts)
        {
            _sim = sim; _inner = inner; _experts = experts;
            FirstReplica = firstReplica; Size = size;
            _waiting = new Slot[size];
            _running = new Slot[size];
            _charged = new StageCost?[size];
            _rankTokens = new long[size];
            _end = new EndHandler(this);
        }

        public int FirstReplica { get; }
        public int Size { get; }

        public DataParallelEngineStats Stats() => new(FirstReplica, _steps, _epCommNs, _expertNs, _rankTokens.ToArray());

        public void Join(int rank, StageCost cost, IEventHandler done, long token)
        {
            // One batch in flight per rank (microbatches = 1); a slot still held here belongs to a batch its rank abandoned
            // when it went down (its token is stale and would be ignored), so the new batch replaces it.
            _waiting[rank] = new Slot(cost, done, token);
            if (_busy || _flushPending) return;
            _flushPending = true;
            // Priority 2: after the instant's arrivals and scheduler kicks (priority 1), so every rank with work joins.
            _sim.Schedule(SimDuration.Zero, this, 0, priority: 2);
        }

        public StageCost Charged(int rank, StageCost planned) => _charged[rank] ?? planned;

        /// <summary>The flush: starts a step with every rank that joined.</summary>
        public void Handle(long token)
        {
            _flushPending = false;
            if (!_busy) Start();
        }

        private void Start()
        {
            long total = 0, maxTokens = 0, maxDense = 0;
            bool any = false;
            for (int r = 0; r < Size; r++)
            {
                _running[r] = _waiting[r];
                _waiting[r] = default;
                if (_running[r].Cost is not { } c) continue;
                any = true;
                total += c.NewTokens;
                maxTokens = Math.Max(maxTokens, c.NewTokens);
                maxDense = Math.Max(maxDense, c.StageBusyNs);
            }
            if (!any) return;
            _busy = true;
            _stepStartNs = _sim.NowNs;
            _step = _experts.EngineExpertStep(0, total, maxTokens);
            var step = new StageCost(ComputeNs: maxDense + _step.ComputeNs, TpCommNs: 0, EpCommNs: _step.EpCommNs, CpCommNs: 0, PpCommNs: 0,
                OverheadNs: 0, BreakdownMs: new Dictionary<string, double>(), Comms: _step.Comms, NewTokens: total);
            _inner.Execute(FirstReplica, 0, step, _end, 0);
        }

        private void End()
        {
            _busy = false;
            long elapsed = _sim.NowNs - _stepStartNs;
            _steps++;
            _epCommNs += _step.EpCommNs;
            _expertNs += _step.ComputeNs;
            bool commCharged = false;
            for (int r = 0; r < Size; r++)
            {
                if (_running[r].Cost is not { } c) continue;
                _rankTokens[r] += c.NewTokens;
                long own = c.StageBusyNs + _step.ComputeNs + _step.EpCommNs;
                // The all-to-all's bytes are charged once per step (on the first rank with work), for links.csv.
                var comms = !commCharged && _step.Comms.Count > 0 ? [.. c.Comms, .. _step.Comms] : c.Comms;
                commCharged = true;
                _charged[r] = c with
                {
                    ComputeNs = c.ComputeNs + _step.ComputeNs,
                    EpCommNs = c.EpCommNs + _step.EpCommNs,
                    OverheadNs = c.OverheadNs + Math.Max(0, elapsed - own), // waiting in the collectives for the slowest rank
                    Comms = comms,
                };
            }
            for (int r = 0; r < Size; r++)
            {
                var slot = _running[r];
                _running[r] = default;
                slot.Done?.Handle(slot.Token);
            }
            // Ranks that joined while the step ran start the next one (those the handlers re-joined have already asked).
            if (_flushPending) return;
            for (int r = 0; r < Size; r++)
            {
                if (_waiting[r].Cost is null) continue;
                _flushPending = true;
                _sim.Schedule(SimDuration.Zero, this, 0, priority: 2);
                return;
            }
        }

        private readonly record struct Slot(StageCost? Cost, IEventHandler? Done, long Token);

        private sealed class EndHandler(LockstepEngine owner) : IEventHandler
        {
            public void Handle(long token) => owner.End();
        }
    }
}

/// <summary>
/// Routing with DP-attention engines: the run's router picks among engines (an engine looks like one replica whose load
/// is the sum of its ranks'), then the engine's own balancer picks the rank as vLLM's DP load balancer does: the least
/// waiting x 4 + running (waiting includes requests still in the front end), lowest rank on a tie. vLLM reads these
/// counts from the ranks' stats every 100 ms and counts its own picks in between; here they are exact.
/// </summary>
internal sealed class DataParallelRouter : IRouter
{
    private readonly IRouter _inner;
    private readonly Dictionary<IReplicaLoad, DataParallelRank> _rankOf = new(ReferenceEqualityComparer.Instance);
    private readonly List<IReplicaLoad> _views = [];
    private readonly List<int> _first = [];
    private readonly List<EngineLoad> _pool = [];

    public DataParallelRouter(IRouter inner, IReadOnlyList<Replica> replicas, IReadOnlyList<ReplicaSetup> setups)
    {
        _inner = inner;
        for (int i = 0; i < replicas.Count; i++)
            if (setups[i].DataParallel is { } dp) _rankOf[replicas[i]] = dp;
    }

    public string Name => _inner.Name;

    public int Route(Request request, IReadOnlyList<IReplicaLoad> replicas)
    {
        _views.Clear();
        _first.Clear();
        int engines = 0;
        for (int i = 0; i < replicas.Count; i++)
        {
            if (!_rankOf.TryGetValue(replicas[i], out var dp))
            {
                _views.Add(replicas[i]);
                _first.Add(i);
                continue;
            }
            // A live rank joins the engine view opened by a previous live rank of the same engine (ranks are consecutive).
            if (_views.Count > 0 && _views[^1] is EngineLoad open && _rankOf[replicas[open.First]].Experts == dp.Experts)
            {
                open.Count++;
                continue;
            }
            if (engines == _pool.Count) _pool.Add(new EngineLoad());
            var view = _pool[engines++];
            view.Set(replicas, i);
            _views.Add(view);
            _first.Add(i);
        }
        int pick = _inner.Route(request, _views);
        if (_views[pick] is not EngineLoad engine) return _first[pick];
        int best = engine.First;
        long bestScore = long.MaxValue;
        for (int i = engine.First; i < engine.First + engine.Count; i++)
        {
            long score = Score(replicas[i]);
            if (score < bestScore) { best = i; bestScore = score; }
        }
        return best;
    }

    private static long Score(IReplicaLoad load) => load is Replica r
        ? 4L * (r.Waiting.Count + r.Swapped.Count + r.InFrontEnd) + r.RunningCount
        : load.Outstanding;

    /// <summary>An engine as the run's router sees it: its live ranks' loads together.</summary>
    private sealed class EngineLoad : IReplicaLoad
    {
        private IReadOnlyList<IReplicaLoad> _all = [];
        public int First { get; private set; }
        public int Count { get; set; }

        public void Set(IReadOnlyList<IReplicaLoad> all, int first)
        {
            _all = all; First = first; Count = 1;
        }

        public int Outstanding
        {
            get
            {
                int n = 0;
                for (int i = First; i < First + Count; i++) n += _all[i].Outstanding;
                return n;
            }
        }

        public double KvUtilization
        {
            get
            {
                double u = 0;
                for (int i = First; i < First + Count; i++) u += _all[i].KvUtilization;
                return u / Count;
            }
        }

        public int CachedPrefixTokens(Request request)
        {
            int best = 0;
            for (int i = First; i < First + Count; i++) best = Math.Max(best, _all[i].CachedPrefixTokens(request));
            return best;
        }

        public double ReferenceWorkNs => _all[First].ReferenceWorkNs;
    }
}
