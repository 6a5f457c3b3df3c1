using Simulator.Inference.Cost;
using Simulator.Inference.Metrics;
using Simulator.Inference.Workload;
using Simulator.Kernel;
using Request = Simulator.Inference.Workload.Request;

namespace Simulator.Inference.Serving;

/// <summary>What a router may look at when it picks a replica.</summary>
public interface IReplicaLoad
{
    /// <summary>Requests sent to the replica and not finished (waiting, swapped or running).</summary>
    int Outstanding { get; }

    /// <summary>KV blocks in use / capacity, in [0, 1].</summary>
    double KvUtilization { get; }
}

/// <summary>
/// One data-parallel copy of the model: a KV cache, a scheduler, and <see cref="Stages"/> pipeline stages
/// through which <see cref="Microbatches"/> groups of sequences flow independently. A group's next batch
/// enters stage 0 only after its previous batch left the last stage; each stage runs one batch at a time,
/// first come first served; the send between stages occupies the link, not the stages.
/// </summary>
public sealed class Replica : IReplicaLoad
{
    private readonly Simulation _sim;
    private readonly IStageCostModel _cost;
    private readonly IReplicaScheduler _scheduler;
    private readonly IStageExecutor _executor;
    private readonly IRunRecorder _recorder;
    private readonly Action<Sequence> _onFinished;
    private readonly Group[] _groups;
    private readonly StageState[] _stages;
    private readonly StageDoneHandler _stageDone;
    private readonly ArrivedHandler _arrived;
    private readonly KickHandler _kick;
    private bool _kickPending;
    private readonly int _watermarkBlocks;

    private int _runningCount;
    private int _groupsInFlight;
    private long _activeSinceNs;
    private long _pipelineActiveNs;
    private long _nextIteration;
    private int _building = -1;

    // Counters since the last sample.
    private long _samplePrefillTokens;
    private long _sampleOutputTokens;
    private long _sampleCompleted;

    internal Replica(int index, Simulation sim, ReplicaSetup setup, IStageExecutor executor, IRunRecorder recorder, Action<Sequence> onFinished)
    {
        ArgumentNullException.ThrowIfNull(setup);
        setup.Scheduler.EnsureValid();
        if (setup.CostModel.Stages < 1) throw new ArgumentException("the cost model has no pipeline stage", nameof(setup));
        if (setup.Microbatches < 1) throw new ArgumentException($"microbatches must be at least 1, got {setup.Microbatches}", nameof(setup));
        Index = index;
        _sim = sim;
        _cost = setup.CostModel;
        Config = setup.Scheduler;
        _scheduler = SchedulerRegistry.Create(Config.Policy, Config);
        _executor = executor;
        _recorder = recorder;
        _onFinished = onFinished;
        Kv = new KvBlockManager(Config.KvCapacityBlocks, Config.BlockSize);
        _watermarkBlocks = (int)Math.Floor(Config.WatermarkFraction * Config.KvCapacityBlocks);
        Stages = _cost.Stages;
        Microbatches = setup.Microbatches;
        _groups = new Group[Microbatches];
        for (int g = 0; g < Microbatches; g++) _groups[g] = new Group();
        _stages = new StageState[Stages];
        for (int s = 0; s < Stages; s++) _stages[s] = new StageState();
        _stageDone = new StageDoneHandler(this);
        _arrived = new ArrivedHandler(this);
        _kick = new KickHandler(this);
    }

    public int Index { get; }
    public SchedulerConfig Config { get; }
    public KvBlockManager Kv { get; }
    public int Stages { get; }
    public int Microbatches { get; }
    public string SchedulerName => _scheduler.Name;

    /// <summary>KV blocks kept free when admitting new requests (the vLLM watermark).</summary>
    public int WatermarkBlocks => _watermarkBlocks;

    /// <summary>Requests not yet admitted (and recompute-preempted ones, at the front).</summary>
    public RingDeque<Sequence> Waiting { get; } = new();

    /// <summary>Swap-preempted sequences whose KV lives in host memory, oldest first.</summary>
    public RingDeque<Sequence> Swapped { get; } = new();

    /// <summary>Sequences that hold KV on the GPU, in every group.</summary>
    public int RunningCount => _runningCount;

    public int Outstanding => Waiting.Count + Swapped.Count + _runningCount;
    public double KvUtilization => Kv.Utilization;

    /// <summary>The running sequences of microbatch group <paramref name="group"/>, oldest admission first.</summary>
    public IReadOnlyList<Sequence> RunningOf(int group) => _groups[group].Running;

    /// <summary>Whether group <paramref name="group"/> has a batch somewhere in the pipeline.</summary>
    public bool IsInFlight(int group) => _groups[group].InFlight;

    // ---------------------------------------------------------------- statistics

    public long Iterations => _nextIteration;
    public long PrefillTokens { get; private set; }
    public long DecodeTokens { get; private set; }
    public long OutputTokens { get; private set; }
    public long Preemptions { get; private set; }
    public long Completed { get; private set; }

    /// <summary>Time with at least one microbatch in the pipeline so far (ns).</summary>
    public long PipelineActiveNs => _pipelineActiveNs + (_groupsInFlight > 0 ? _sim.NowNs - _activeSinceNs : 0);

    /// <summary>The replica's figures at the end of a run.</summary>
    public ReplicaStats Snapshot()
    {
        var stages = new StageStats[Stages];
        for (int s = 0; s < Stages; s++)
        {
            var st = _stages[s];
            stages[s] = new StageStats(s, st.BusyNs, st.ComputeNs, st.CommNs, st.OverheadNs, st.PpSendNs, st.Iterations,
                st.FirstStartNs < 0 ? 0 : st.FirstStartNs, st.LastEndNs);
        }
        return new ReplicaStats(Index, Stages, Microbatches, stages, PipelineActiveNs, Iterations, PrefillTokens,
            DecodeTokens, OutputTokens, Preemptions, Completed, Kv.PeakUsedBlocks, Kv.CapacityBlocks);
    }

    internal ReplicaSample Sample(long nowNs)
    {
        var sample = new ReplicaSample(nowNs, Index, Waiting.Count + Swapped.Count, _runningCount, Kv.Utilization,
            _samplePrefillTokens, _sampleOutputTokens, _sampleCompleted);
        _samplePrefillTokens = 0;
        _sampleOutputTokens = 0;
        _sampleCompleted = 0;
        return sample;
    }

    // ---------------------------------------------------------------- arrival

    /// <summary>Why the replica can never serve <paramref name="request"/>, or null when it can.</summary>
    public string? WhyNeverServable(Request request)
    {
        long maxTokens = (long)request.InputTokens + Math.Max(0, request.OutputTokens);
        if (Kv.BlocksFor(maxTokens) > Kv.CapacityBlocks - _watermarkBlocks)
            return $"prompt + output = {maxTokens} tokens need {Kv.BlocksFor(maxTokens)} KV blocks; the replica can give {Kv.CapacityBlocks - _watermarkBlocks}";
        if (!_scheduler.CanEverSchedule(request))
            return $"the {_scheduler.Name} scheduler cannot batch a {request.InputTokens}-token prompt (token budget {Config.MaxNumBatchedTokens})";
        return null;
    }

    internal Sequence Enqueue(Request request)
    {
        var seq = new Sequence(request, Index);
        Waiting.PushBack(seq);
        // Implementation note: the scheduler runs after every other event at this instant (priority 1), so
        // requests arriving together are batched together, as an engine's step loop would see them.
        if (!_kickPending)
        {
            _kickPending = true;
            _sim.Schedule(SimDuration.Zero, _kick, 0, priority: 1);
        }
        return seq;
    }

    private void OnKick()
    {
        _kickPending = false;
        TryScheduleIdleGroups(-1);
    }

    // ---------------------------------------------------------------- scheduler actions

    /// <summary>Blocks a sequence must gain to process <paramref name="newTokens"/> more tokens (KV for them plus one slot for the token it emits).</summary>
    public int GrowthBlocks(Sequence seq, int newTokens) =>
        Math.Max(0, Kv.BlocksFor((long)seq.ComputedTokens + newTokens + 1) - seq.HeldBlocks);

    /// <summary>Whether <paramref name="seq"/> is already in the batch being built.</summary>
    public bool InBatch(Sequence seq) => seq.BatchStamp == _nextIteration && _building >= 0;

    /// <summary>Sequences in the batch being built.</summary>
    public int BatchSize => _building < 0 ? 0 : _groups[_building].Seqs.Count;

    /// <summary>Tokens in the batch being built.</summary>
    public int BatchTokens => _building < 0 ? 0 : _groups[_building].BatchTokens;

    /// <summary>
    /// Admits the sequence at the front of <see cref="Waiting"/> into <paramref name="group"/> if KV blocks for
    /// <paramref name="reserveTokens"/> tokens (default: its prefill plus one) fit above the watermark.
    /// </summary>
    public bool TryAdmit(int group, int reserveTokens = -1)
    {
        var seq = Waiting.PeekFront();
        int tokens = reserveTokens >= 0 ? reserveTokens : seq.PrefillTargetTokens + 1;
        int blocks = Kv.BlocksFor(tokens);
        if (!Kv.CanAllocate(blocks, _watermarkBlocks)) return false;
        Waiting.PopFront();
        Kv.Allocate(blocks);
        seq.HeldBlocks = blocks;
        seq.State = SequenceState.Running;
        seq.Group = group;
        seq.ScheduledNs ??= _sim.NowNs;
        _groups[group].Running.Add(seq);
        _runningCount++;
        return true;
    }

    /// <summary>
    /// Brings the sequence at the front of <see cref="Swapped"/> back into <paramref name="group"/> if its blocks
    /// plus <paramref name="extraBlocks"/> fit; the PCIe transfer time is added to this batch.
    /// </summary>
    public bool SwapIn(int group, int extraBlocks = 0)
    {
        var seq = Swapped.PeekFront();
        if (!Kv.CanAllocate(seq.HeldBlocks + extraBlocks)) return false;
        Swapped.PopFront();
        Kv.Allocate(seq.HeldBlocks);
        seq.State = SequenceState.Running;
        seq.Group = group;
        _groups[group].Running.Add(seq);
        _runningCount++;
        _groups[group].SwapNs += SwapTimeNs(seq);
        return true;
    }

    /// <summary>Adds <paramref name="seq"/> (running in the group being scheduled) to its batch with <paramref name="newTokens"/> tokens; false if its KV cannot grow.</summary>
    public bool AddToBatch(Sequence seq, int newTokens)
    {
        if (_building < 0) throw new InvalidOperationException("no batch is being built");
        if (seq.State != SequenceState.Running || seq.Group != _building)
            throw new InvalidOperationException($"request {seq.Request.Id} is not running in group {_building}");
        if (InBatch(seq)) throw new InvalidOperationException($"request {seq.Request.Id} is already in the batch");
        if (newTokens < 1) throw new ArgumentOutOfRangeException(nameof(newTokens), newTokens, "at least one token");
        if (newTokens > 1 && newTokens > seq.RemainingPrefillTokens)
            throw new ArgumentOutOfRangeException(nameof(newTokens), newTokens, $"only {seq.RemainingPrefillTokens} prompt tokens remain");
        int growth = GrowthBlocks(seq, newTokens);
        if (!Kv.CanAllocate(growth)) return false;
        Kv.Allocate(growth);
        seq.HeldBlocks += growth;
        seq.BatchStamp = _nextIteration;
        var g = _groups[_building];
        bool prefill = seq.IsPrefilling;
        g.Seqs.Add(seq);
        g.NewTokens.Add(newTokens);
        g.Work.Add(new SequenceWork(newTokens, seq.ComputedTokens));
        g.BatchTokens += newTokens;
        if (prefill) g.PrefillTokens += newTokens; else g.DecodeTokens += newTokens;
        return true;
    }

    /// <summary>
    /// Preempts the newest running sequence of <paramref name="group"/> that is not in the batch being built
    /// (possibly <paramref name="current"/> itself) and returns it. Recompute frees its KV and puts it at the
    /// front of <see cref="Waiting"/>; swap moves its KV to the host (time added to this batch).
    /// </summary>
    public Sequence PreemptNewest(int group, Sequence current)
    {
        var running = _groups[group].Running;
        for (int i = running.Count - 1; i >= 0; i--)
        {
            var victim = running[i];
            if (InBatch(victim)) continue;
            running.RemoveAt(i);
            Preempt(victim, group);
            return victim;
        }
        throw new InvalidOperationException($"request {current.Request.Id} is not running in group {group}");
    }

    private void Preempt(Sequence seq, int group)
    {
        _runningCount--;
        seq.Preemptions++;
        Preemptions++;
        seq.Group = -1;
        Kv.Release(seq.HeldBlocks);
        if (Config.Preemption == PreemptionMode.Swap)
        {
            _groups[group].SwapNs += SwapTimeNs(seq);
            seq.State = SequenceState.Swapped;
            Swapped.PushFront(seq);
        }
        else
        {
            seq.HeldBlocks = 0;
            seq.ComputedTokens = 0;
            seq.PrefillTargetTokens = seq.Request.InputTokens + seq.GeneratedTokens;
            seq.State = SequenceState.Waiting;
            Waiting.PushFront(seq);
        }
    }

    private long SwapTimeNs(Sequence seq)
    {
        // 1 GB/s moves 1 byte per ns.
        double bytes = (double)seq.ComputedTokens * Config.KvBytesPerTokenPerGpu;
        return SimDuration.RoundToNs(bytes / Config.HostLinkGBps);
    }

    // ---------------------------------------------------------------- pipeline

    /// <summary>Lets the scheduler fill every idle group, <paramref name="first"/> (if any) first, then by index.</summary>
    internal void TryScheduleIdleGroups(int first)
    {
        // A round that only preempted (nothing launched, nothing in flight) freed KV blocks: try once more,
        // since no later event would wake the replica.
        for (int round = 0; round < 2; round++)
        {
            long preemptionsBefore = Preemptions;
            if (first >= 0) TrySchedule(first);
            for (int g = 0; g < _groups.Length; g++)
                if (g != first) TrySchedule(g);
            if (_groupsInFlight > 0 || Preemptions == preemptionsBefore) return;
        }
    }

    private void TrySchedule(int group)
    {
        var g = _groups[group];
        if (g.InFlight) return;
        if (Waiting.Count == 0 && Swapped.Count == 0 && g.Running.Count == 0) return;
        g.ClearBatch();
        _building = group;
        _scheduler.Schedule(this, group);
        _building = -1;
        if (g.Seqs.Count == 0) return; // a swap-out time already counted stays with the group's next batch
        g.InFlight = true;
        g.Iteration = _nextIteration++;
        if (_groupsInFlight++ == 0) _activeSinceNs = _sim.NowNs;
        ArriveAt(0, group);
    }

    private void ArriveAt(int stage, int group)
    {
        var st = _stages[stage];
        if (st.Busy) st.Queue.PushBack(group);
        else StartStage(stage, group);
    }

    private void StartStage(int stage, int group)
    {
        var st = _stages[stage];
        var g = _groups[group];
        st.Busy = true;
        var cost = _cost.Estimate(stage, g.Work);
        if (g.SwapNs > 0) cost = cost with { OverheadNs = cost.OverheadNs + g.SwapNs };
        g.Cost = cost;
        g.StageStartNs = _sim.NowNs;
        if (st.FirstStartNs < 0) st.FirstStartNs = _sim.NowNs;
        _executor.Execute(Index, stage, cost, _stageDone, Token(stage, group));
    }

    private static long Token(int stage, int group) => ((long)stage << 32) | (uint)group;

    private void OnStageDone(long token)
    {
        int stage = (int)(token >> 32);
        int group = (int)(token & 0xFFFFFFFF);
        var st = _stages[stage];
        var g = _groups[group];
        var cost = g.Cost!;
        long now = _sim.NowNs;
        st.Busy = false;
        st.Iterations++;
        st.BusyNs += now - g.StageStartNs;
        st.ComputeNs += cost.ComputeNs;
        st.CommNs += cost.TpCommNs + cost.EpCommNs + cost.CpCommNs;
        st.OverheadNs += cost.OverheadNs;
        st.LastEndNs = now;
        _recorder.OnIteration(new IterationRecord(Index, stage, g.Iteration, group, g.StageStartNs, now,
            g.Seqs.Count, g.PrefillTokens, g.DecodeTokens, cost, Kv.UsedBlocks));
        if (st.Queue.Count > 0) StartStage(stage, st.Queue.PopFront());
        if (stage < Stages - 1)
        {
            st.PpSendNs += cost.PpCommNs;
            _executor.Send(Index, stage, cost, _arrived, Token(stage, group));
        }
        else
        {
            CompletePass(group);
        }
    }

    private void OnArrived(long token)
    {
        int fromStage = (int)(token >> 32);
        int group = (int)(token & 0xFFFFFFFF);
        ArriveAt(fromStage + 1, group);
    }

    private void CompletePass(int group)
    {
        var g = _groups[group];
        long now = _sim.NowNs;
        PrefillTokens += g.PrefillTokens;
        DecodeTokens += g.DecodeTokens;
        _samplePrefillTokens += g.PrefillTokens;
        bool anyFinished = false;
        // Inter-token gaps, reported as runs of equal gaps (one per batch in steady decoding).
        long gapRunNs = -1;
        int gapRunCount = 0;
        for (int i = 0; i < g.Seqs.Count; i++)
        {
            var seq = g.Seqs[i];
            bool wasPrefill = seq.IsPrefilling;
            seq.ComputedTokens += g.NewTokens[i];
            if (wasPrefill && seq.IsPrefilling) continue; // a chunk that does not complete the prompt emits nothing
            if (seq.GeneratedTokens < seq.Request.OutputTokens)
            {
                seq.GeneratedTokens++;
                if (seq.FirstTokenNs is null)
                {
                    seq.FirstTokenNs = now;
                }
                else
                {
                    long gap = now - seq.LastTokenNs;
                    if (gap != gapRunNs && gapRunCount > 0) _recorder.OnTokenGaps(gapRunNs, gapRunCount);
                    if (gap != gapRunNs) gapRunCount = 0;
                    gapRunNs = gap;
                    gapRunCount++;
                }
                seq.LastTokenNs = now;
                OutputTokens++;
                _sampleOutputTokens++;
            }
            if (seq.GeneratedTokens >= seq.Request.OutputTokens)
            {
                seq.State = SequenceState.Finished;
                anyFinished = true;
            }
        }
        if (gapRunCount > 0) _recorder.OnTokenGaps(gapRunNs, gapRunCount);
        if (anyFinished)
        {
            var running = g.Running;
            int kept = 0;
            for (int i = 0; i < running.Count; i++)
            {
                var seq = running[i];
                if (seq.State == SequenceState.Finished)
                {
                    Kv.Release(seq.HeldBlocks);
                    seq.HeldBlocks = 0;
                    seq.Group = -1;
                    _runningCount--;
                    Completed++;
                    _sampleCompleted++;
                    _recorder.OnRequestFinished(ToRecord(seq, RequestStatus.Completed, now));
                    _onFinished(seq);
                }
                else
                {
                    running[kept++] = seq;
                }
            }
            running.RemoveRange(kept, running.Count - kept);
        }
        g.ClearBatch();
        g.SwapNs = 0;
        g.InFlight = false;
        g.Cost = null;
        if (--_groupsInFlight == 0) _pipelineActiveNs += now - _activeSinceNs;
        TryScheduleIdleGroups(group);
    }

    internal static RequestRecord ToRecord(Sequence seq, RequestStatus status, long nowNs)
    {
        var r = seq.Request;
        return new RequestRecord(r.Id, r.ArrivalNs, seq.Replica, r.InputTokens, r.OutputTokens, seq.GeneratedTokens,
            0, status, seq.FirstTokenNs, status == RequestStatus.Completed ? nowNs : null, seq.ScheduledNs, seq.Preemptions);
    }

    /// <summary>Every sequence still held (waiting, swapped, running), for end-of-run records.</summary>
    internal IEnumerable<Sequence> ActiveSequences()
    {
        for (int i = 0; i < Waiting.Count; i++) yield return Waiting[i];
        for (int i = 0; i < Swapped.Count; i++) yield return Swapped[i];
        foreach (var g in _groups)
            foreach (var s in g.Running) yield return s;
    }

    private sealed class Group
    {
        public readonly List<Sequence> Running = new();
        public readonly List<Sequence> Seqs = new();
        public readonly List<int> NewTokens = new();
        public readonly List<SequenceWork> Work = new();
        public int BatchTokens;
        public int PrefillTokens;
        public int DecodeTokens;
        public long SwapNs;
        public bool InFlight;
        public long Iteration;
        public StageCost? Cost;
        public long StageStartNs;

        public void ClearBatch()
        {
            Seqs.Clear();
            NewTokens.Clear();
            Work.Clear();
            BatchTokens = 0;
            PrefillTokens = 0;
            DecodeTokens = 0;
        }
    }

    private sealed class StageState
    {
        public readonly RingDeque<int> Queue = new();
        public bool Busy;
        public long BusyNs;
        public long ComputeNs;
        public long CommNs;
        public long OverheadNs;
        public long PpSendNs;
        public long Iterations;
        public long FirstStartNs = -1;
        public long LastEndNs;
    }

    private sealed class StageDoneHandler(Replica owner) : IEventHandler
    {
        public void Handle(long token) => owner.OnStageDone(token);
    }

    private sealed class ArrivedHandler(Replica owner) : IEventHandler
    {
        public void Handle(long token) => owner.OnArrived(token);
    }

    private sealed class KickHandler(Replica owner) : IEventHandler
    {
        public void Handle(long token) => owner.OnKick();
    }
}
