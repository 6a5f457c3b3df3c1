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

    /// <summary>Leading prompt tokens of <paramref name="request"/> the replica has cached (GPU or CPU tier, whole blocks); 0 without prefix caching.</summary>
    int CachedPrefixTokens(Request request) => 0;
    /// <summary>
    /// How long the replica takes for a reference unit of work (one 1,024-token prefill through every stage, ns):
    /// lets a router weigh replicas of different GPUs. 1 where unknown.
    /// </summary>
    double ReferenceWorkNs => 1;
}

/// <summary>Whether a replica serves: live, down (a GPU or node of it failed), or loading its weights after the repair.</summary>
public enum ReplicaState { Live, Down, Loading }

/// <summary>
/// One data-parallel copy of the model: a KV cache, a scheduler, and <see cref="Stages"/> pipeline stages
/// through which <see cref="Microbatches"/> groups of sequences flow independently. A group's next batch
/// enters stage 0 only after its previous batch left the last stage; each stage runs one batch at a time,
/// first come first served; the send between stages occupies the link, not the stages.
/// </summary>
public sealed partial class Replica : IReplicaLoad, IEventHandler
{
    private readonly Simulation _sim;
    private readonly IStageCostModel _cost;
    private readonly IReplicaScheduler _scheduler;
    private readonly ContinuousBatchingScheduler? _continuous; // _scheduler when it is one: called directly, no interface stub
    private bool _anySlowdown; // some stage has a straggler factor other than 1
    // The usual cost model and executor as their sealed types (or null): called directly, no interface stub per pass.
    private readonly RooflineStageCostModel? _roofline;
    private readonly AnalyticStageExecutor? _analytic;
    private readonly IStageExecutor _executor;
    private readonly IRunRecorder _recorder;
    private readonly Action<Sequence> _onFinished;
    private readonly Group[] _groups;
    private readonly StageState[] _stages;
    private bool _kickPending;
    private readonly int _watermarkBlocks;

    private int _runningCount;
    private int _handedOff;   // prefilled here, KV still held until the decode side has it
    private int _incoming;    // KV blocks reserved here for a transfer still under way
    private int _groupsInFlight;
    private int _epoch;                 // bumped when the replica goes down: stage events of abandoned batches are ignored
    private readonly double[] _computeSlowdown;
    private long _liveNs;
    private long _liveSinceNs;
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
        Role = setup.Role;
        KvBytesPerToken = setup.KvBytesPerToken;
        Layers = setup.Layers;
        _sim = sim;
        _cost = setup.CostModel;
        Config = setup.Scheduler;
        _scheduler = SchedulerRegistry.Create(Config.Policy, Config);
        _executor = executor;
        _recorder = recorder;
        _onFinished = onFinished;
        Kv = new KvBlockManager(Config.KvCapacityBlocks, Config.BlockSize, Config.EnablePrefixCaching, Config.CpuOffloadBlocks);
        _watermarkBlocks = (int)Math.Floor(Config.WatermarkFraction * Config.KvCapacityBlocks);
        Stages = _cost.Stages;
        Microbatches = setup.Microbatches;
        _groups = new Group[Microbatches];
        for (int g = 0; g < Microbatches; g++) _groups[g] = new Group(Config.BlockSize);
        _decodeSumCost = _cost as IDecodeSumCostModel;
        _roofline = _cost as RooflineStageCostModel;
        _analytic = executor as AnalyticStageExecutor;
        _continuous = _scheduler as ContinuousBatchingScheduler;
        _useClock = _decodeSumCost != null && _continuous != null;
        _stages = new StageState[Stages];
        for (int s = 0; s < Stages; s++) _stages[s] = new StageState();
        _computeSlowdown = new double[Stages];
        Array.Fill(_computeSlowdown, 1.0);
        _liveSinceNs = sim.NowNs;
    }

    public int Index { get; }

    /// <summary>Which phases the replica serves (<see cref="ReplicaRole"/>).</summary>
    public ReplicaRole Role { get; }

    /// <summary>KV bytes of one token over the whole model (what a hand-off moves per prompt token).</summary>
    public long KvBytesPerToken { get; }

    /// <summary>The model's layers.</summary>
    public int Layers { get; }

    /// <summary>Prefill role: called when a sequence's first token is out and its KV must move; the replica keeps its blocks until <see cref="ReleaseHandedOff"/>.</summary>
    internal Action<Replica, Sequence>? HandOff { get; set; }

    /// <summary>Called after finished sequences freed KV blocks (a decode replica's pending hand-offs may now fit).</summary>
    internal Action<Replica>? BlocksFreed { get; set; }
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

    public int Outstanding => Waiting.Count + Swapped.Count + _runningCount + _handedOff + _incoming + InFrontEnd;

    /// <summary>
    /// Requests routed here that are still in the engine's front end (parsed and tokenized before the scheduler sees
    /// them): they count as outstanding, or every request of a burst would see the same least-loaded replica.
    /// </summary>
    internal int InFrontEnd
    {
        get => _inFrontEnd;
        set
        {
            _inFrontEnd = value;
            OutstandingChanged?.Invoke(Index);
        }
    }

    private int _inFrontEnd;

    /// <summary>The serialized front end (<c>frontend.model: queue</c>) that streams this replica's tokens; null otherwise.</summary>
    internal FrontEndQueue? FrontEnd { get; set; }

    /// <summary>
    /// Called with <see cref="Index"/> right after <see cref="Outstanding"/> changed (before any other callback), so a
    /// router's index of loads stays exact; moves between waiting, swapped and running leave the sum and do not call it.
    /// </summary>
    internal Action<int>? OutstandingChanged { get; set; }

    /// <summary>Live (serving), down (a GPU or node of it failed) or loading its weights after recovering.</summary>
    public ReplicaState State { get; private set; } = ReplicaState.Live;

    /// <summary>Whether the router may send it requests.</summary>
    public bool IsLive => State == ReplicaState.Live;

    /// <summary>Time it has been live so far (ns): the numerator of summary.json's availability.</summary>
    public long LiveNs => _liveNs + (IsLive ? _sim.NowNs - _liveSinceNs : 0);

    /// <summary>The factor a straggler multiplies stage <paramref name="stage"/>'s compute time by (1 = healthy).</summary>
    public double ComputeSlowdown(int stage) => _computeSlowdown[stage];
    public double KvUtilization => Kv.Utilization;

    /// <inheritdoc />
    public double ReferenceWorkNs => _referenceWorkNs ??= ReferenceWork();

    private double? _referenceWorkNs;

    private double ReferenceWork()
    {
        long ns = 0;
        var work = new[] { new SequenceWork(1024, 0) };
        for (int s = 0; s < Stages; s++) ns += _cost.Estimate(s, work).StageBusyNs;
        return Math.Max(1, ns);
    }

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
            DecodeTokens, OutputTokens, Preemptions, Completed, Kv.PeakUsedBlocks, Kv.CapacityBlocks, PrefixTotals());
    }

    internal ReplicaSample Sample(long nowNs)
    {
        var sample = new ReplicaSample(nowNs, Index, Waiting.Count + Swapped.Count, _runningCount, Kv.Utilization,
            _samplePrefillTokens, _sampleOutputTokens, _sampleCompleted, _samplePromptTokensLookedUp, _samplePrefixHitTokens, IsLive);
        _samplePromptTokensLookedUp = 0;
        _samplePrefixHitTokens = 0;
        _samplePrefillTokens = 0;
        _sampleOutputTokens = 0;
        _sampleCompleted = 0;
        return sample;
    }

    // ---------------------------------------------------------------- arrival

    /// <summary>The requests.csv reason code of <see cref="WhyNeverServable"/> (<see cref="RequestReasons"/>), or null when it can serve it.</summary>
    public string? ReasonNeverServable(Request request)
    {
        long maxTokens = (long)request.InputTokens + Math.Max(0, request.OutputTokens);
        if (Kv.BlocksFor(maxTokens) > Kv.CapacityBlocks - _watermarkBlocks) return RequestReasons.TooLongForKv;
        if (!_scheduler.CanEverSchedule(request)) return RequestReasons.OverTokenBudget;
        return null;
    }

    /// <summary>Why the replica can never serve <paramref name="request"/>, or null when it can.</summary>
    public string? WhyNeverServable(Request request)
    {
        // A prefill replica holds the prompt and the one slot of the first token, never the whole output.
        long maxTokens = (long)request.InputTokens + (Role == ReplicaRole.Prefill ? 1 : Math.Max(0, request.OutputTokens));
        if (Kv.BlocksFor(maxTokens) > Kv.CapacityBlocks - _watermarkBlocks)
            return $"prompt + output = {maxTokens} tokens need {Kv.BlocksFor(maxTokens)} KV blocks; the replica can give {Kv.CapacityBlocks - _watermarkBlocks}";
        if (!_scheduler.CanEverSchedule(request))
            return $"the {_scheduler.Name} scheduler cannot batch a {request.InputTokens}-token prompt (token budget {Config.MaxNumBatchedTokens})";
        return null;
    }

    internal Sequence Enqueue(Request request) => Enqueue(new Sequence(request, Index));

    /// <summary>Queues a sequence built for this replica (a new request, or the retry of one from a replica that went down).</summary>
    internal Sequence Enqueue(Sequence seq)
    {
        if (seq.Replica != Index) throw new ArgumentException($"request {seq.Request.Id} was built for replica {seq.Replica}, not {Index}", nameof(seq));
        if (!IsLive) throw new InvalidOperationException($"replica {Index} is {State.ToString().ToLowerInvariant()}; routers pick live replicas only");
        Waiting.PushBack(seq);
        OutstandingChanged?.Invoke(Index);
        Kick();
        return seq;
    }

    private void OnKick()
    {
        _kickPending = false;
        if (IsLive) TryScheduleIdleGroups(-1);
    }

    // ---------------------------------------------------------------- faults

    /// <summary>
    /// Stops the replica at once (a GPU or node of it failed): batches in flight are abandoned (their stage events are
    /// ignored), its KV cache is lost, and every request it held (running, swapped, waiting) is returned, oldest
    /// request first, for the router to retry elsewhere. The replica takes no work until <see cref="Recover"/>.
    /// </summary>
    internal List<Sequence> GoDown()
    {
        if (State == ReplicaState.Down) return [];
        long now = _sim.NowNs;
        if (IsLive) _liveNs += now - _liveSinceNs;
        State = ReplicaState.Down;
        var held = ActiveSequences().ToList();
        held.Sort((a, b) => a.Request.Id.CompareTo(b.Request.Id));
        Waiting.Clear();
        Swapped.Clear();
        foreach (var g in _groups)
        {
            g.Clock.DetachAll(g.Running);
            g.Loose.Clear();
            foreach (var seq in g.Running) ReleaseBlocks(seq);
            g.Running.Clear();
            g.ClearBatch();
            g.SwapNs = 0;
            g.InFlight = false;
            g.Cost = default;
        }
        Kv.DropGpuCache();
        foreach (var st in _stages)
        {
            st.Busy = false;
            st.Queue.Clear();
        }
        if (_groupsInFlight > 0) _pipelineActiveNs += now - _activeSinceNs;
        _groupsInFlight = 0;
        _runningCount = 0;
        _epoch = (_epoch + 1) & 0x7FFF;
        foreach (var seq in held) seq.State = SequenceState.Finished;
        OutstandingChanged?.Invoke(Index);
        return held;
    }

    /// <summary>The failure is repaired; the replica reloads its weights (not live yet).</summary>
    internal void BeginLoading()
    {
        if (State == ReplicaState.Down) State = ReplicaState.Loading;
    }

    /// <summary>Weights are loaded: the replica is live and takes requests again.</summary>
    internal void Recover()
    {
        if (State == ReplicaState.Live) return;
        State = ReplicaState.Live;
        _liveSinceNs = _sim.NowNs;
    }

    /// <summary>Sets the straggler factor of stage <paramref name="stage"/>'s compute time (1 = healthy); batches that start later see it.</summary>
    internal void SetComputeSlowdown(int stage, double factor)
    {
        if (!(factor >= 1.0) || double.IsInfinity(factor)) throw new ArgumentOutOfRangeException(nameof(factor), factor, "a slowdown must be a finite number >= 1");
        _computeSlowdown[stage] = factor;
        if (factor != 1.0) _anySlowdown = true;
    }

    // ---------------------------------------------------------------- scheduler actions

    /// <summary>Blocks a sequence must gain to process <paramref name="newTokens"/> more tokens (KV for them plus one slot for the token it emits).</summary>
    public int GrowthBlocks(Sequence seq, int newTokens)
    {
        long tokens = (long)seq.ComputedTokens + newTokens + 1;
        // Most decode steps fit in the blocks held: then the answer is 0 without a division.
        if (tokens <= (long)seq.HeldBlocks * Kv.BlockSize) return 0;
        return Math.Max(0, Kv.BlocksFor(tokens) - seq.HeldBlocks);
    }

    /// <summary>Whether <paramref name="seq"/> is already in the batch being built.</summary>
    public bool InBatch(Sequence seq) => _building >= 0 && (seq.BatchStamp == _nextIteration
        || (seq.Clock is { } k && k == _groups[_building].Clock && _groups[_building].ClockInBatch));

    /// <summary>Sequences in the batch being built.</summary>
    public int BatchSize => _building < 0 ? 0 : _groups[_building].Seqs.Count + _groups[_building].ClockSeqs;

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
        var hit = LookUpPrefix(seq);
        if (!Kv.CanAllocate(blocks - hit.SharedBlocks, _watermarkBlocks)) return false;
        Waiting.PopFront();
        if (hit.Granules > 0) AcquirePrefix(seq, hit, group);
        else RecordLookup(seq, hit);
        Kv.Allocate(blocks - hit.EntryBlocks);
        seq.HeldBlocks = blocks;
        seq.State = SequenceState.Running;
        seq.Group = group;
        seq.ScheduledNs ??= _sim.NowNs;
        _groups[group].Running.Add(seq);
        _groups[group].Loose.Add(seq);
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
        _groups[group].Loose.Add(seq);
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
        AppendToBatch(seq, newTokens, growth);
        return true;
    }

    /// <summary>
    /// <see cref="AddToBatch"/> for a caller that has already checked the sequence and made room for
    /// <paramref name="growth"/> = <see cref="GrowthBlocks"/>(seq, newTokens) blocks: the per-sequence step of the scheduler.
    /// </summary>
    internal void AppendToBatch(Sequence seq, int newTokens, int growth)
    {
        Kv.Allocate(growth);
        seq.HeldBlocks += growth;
        if (seq.Keys != null) RegisterFullBlocks(seq, seq.ComputedTokens + newTokens);
        seq.BatchStamp = _nextIteration;
        var g = _groups[_building];
        bool prefill = seq.IsPrefilling;
        g.Seqs.Add(seq);
        g.NewTokens.Add(newTokens);
        g.Work.Add(new SequenceWork(newTokens, seq.ComputedTokens));
        g.BatchTokens += newTokens;
        if (prefill) g.PrefillTokens += newTokens; else g.DecodeTokens += newTokens;
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
            RemoveLoose(group, victim);
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
        ReleaseBlocks(seq);
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
            seq.RegisteredGranules = 0;
            seq.PrefillTargetTokens = seq.Request.InputTokens + seq.GeneratedTokens;
            seq.State = SequenceState.Waiting;
            Waiting.PushFront(seq);
        }
    }

    private long SwapTimeNs(Sequence seq) => HostTransferNs(seq.ComputedTokens);

    /// <summary>Time to move the KV of <paramref name="tokens"/> tokens between GPU and host memory (each GPU over its own host link).</summary>
    private long HostTransferNs(long tokens)
    {
        // 1 GB/s moves 1 byte per ns.
        double bytes = (double)tokens * Config.KvBytesPerTokenPerGpu;
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
        if (_continuous != null) _continuous.Schedule(this, group);
        else _scheduler.Schedule(this, group);
        _building = -1;
        if (g.Seqs.Count == 0 && !g.ClockInBatch) return; // a swap-out time already counted stays with the group's next batch
        g.InFlight = true;
        g.Iteration = _nextIteration++;
        if (_groupsInFlight++ == 0) _activeSinceNs = _sim.NowNs;
        ArriveAt(0, group);
        if (Forecasts != null) AnnouncePass(g);
    }

    /// <summary>
    /// Replica-group lookahead (<see cref="PassForecasts"/>): when a pass starts, its end and how many of its sequences
    /// finish at that end are known; both are announced, and the count is checked when the pass ends.
    /// </summary>
    // Implementation note: only a single-stage replica with one microbatch group is forecast (ParallelEligibility):
    // its pass's end is its start + the stage's busy time, and nothing can touch the batch while it is in flight (the
    // one group is in flight, so no scheduling round runs). The count mirrors CompletePass's test, sequence by sequence.
    private void AnnouncePass(Group g)
    {
        long start = _sim.NowNs;
        int finishing = 0;
        var seqs = g.Seqs;
        var newTokens = g.NewTokens;
        for (int i = 0; i < seqs.Count; i++)
        {
            var seq = seqs[i];
            if (seq.IsPrefilling && seq.ComputedTokens + newTokens[i] < seq.PrefillTargetTokens) continue;
            int generated = seq.GeneratedTokens < seq.OutputTarget ? seq.GeneratedTokens + 1 : seq.GeneratedTokens;
            if (generated >= seq.OutputTarget) finishing++;
        }
        if (g.ClockInBatch) finishing += g.Clock.FinishingAtNextPass();
        _forecastFinishing = finishing;
        Forecasts!.Announce(Index, start, start + g.Cost.StageBusyNs, finishing);
    }

    /// <summary>Where this replica announces its passes (replica-group lookahead); null otherwise.</summary>
    internal PassForecasts? Forecasts { get; set; }

    private int _forecastFinishing = -1;

    /// <summary>
    /// A lower bound of any pass's duration on this replica (ns), for replica-group lookahead: half the cheaper of a
    /// one-token decode and a one-token prefill (every pass holds at least one token and reads every weight); 0 when
    /// the replica has more than one stage or microbatch group. <see cref="PassForecasts.Announce"/> checks every pass against it.
    /// </summary>
    internal long MinPassLowerBoundNs()
    {
        if (Stages != 1 || Microbatches != 1) return 0;
        long decode = _cost.EstimateTimes(0, [new SequenceWork(1, 1)]).StageBusyNs;
        long prefill = _cost.EstimateTimes(0, [new SequenceWork(1, 0)]).StageBusyNs;
        return Math.Max(0, Math.Min(decode, prefill) / 2);
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
        // Implementation note: the price goes straight into the group and is read there (a 72-byte value: every copy
        // of it was a block move per iteration).
        g.Cost = !g.ClockInBatch ? (_roofline != null ? _roofline.EstimateTimes(stage, g.Work) : _cost.EstimateTimes(stage, g.Work))
            : _roofline != null ? _roofline.EstimateTimes(stage, g.Work, g.ClockSeqs, g.ClockContextTokens)
            : _decodeSumCost!.EstimateTimes(stage, g.Work, g.ClockSeqs, g.ClockContextTokens);
        // A straggler slows the stage's compute (the slowest GPU of its TP group sets the pace); communication is unchanged.
        if (_anySlowdown && _computeSlowdown[stage] != 1.0) g.Cost = g.Cost with { ComputeNs = SimDuration.RoundToNs(g.Cost.ComputeNs * _computeSlowdown[stage]) };
        if (g.SwapNs > 0) g.Cost = g.Cost with { OverheadNs = g.Cost.OverheadNs + g.SwapNs };
        g.StageStartNs = _sim.NowNs;
        if (st.FirstStartNs < 0) st.FirstStartNs = _sim.NowNs;
        if (_analytic != null) _analytic.Execute(g.Cost.StageBusyNs, this, Token(EventKind.StageDone, stage, group));
        else _executor.Execute(Index, stage, g.Cost, this, Token(EventKind.StageDone, stage, group));
    }

    // A token: the epoch (bits 48-62), the stage (bits 32-47), the event kind (bits 30-31) and the group (bits 0-29).
    private const int KindShift = 30;
    private const long GroupMask = (1L << KindShift) - 1;

    private long Token(EventKind kind, int stage, int group) =>
        ((long)_epoch << 48) | ((long)stage << 32) | ((long)kind << KindShift) | (uint)group;

    /// <summary>What one of the replica's own queue entries is for (the kernel calls the replica itself, no handler object).</summary>
    private enum EventKind { StageDone = 0, Arrived = 1, Kick = 2 }

    // Implementation note: the replica is its own event handler, the kind in the token: at fleet scale every event
    // lands on a replica whose state is cold, and a separate handler object was one more cache miss before the replica
    // itself (and made the kernel's call site see three handler types instead of one).
    void IEventHandler.Handle(long token)
    {
        switch ((EventKind)((token >> KindShift) & 3))
        {
            case EventKind.StageDone: OnStageDone(token); break;
            case EventKind.Arrived: OnArrived(token); break;
            default: OnKick(); break;
        }
    }

    private bool IsStale(long token) => (token >> 48) != _epoch || !IsLive;

    private void OnStageDone(long token)
    {
        if (IsStale(token)) return; // a batch abandoned when the replica went down
        PrefetchPassState();
        int stage = (int)((token >> 32) & 0xFFFF);
        int group = (int)(token & GroupMask);
        var st = _stages[stage];
        var g = _groups[group];
        CachePrefetch.Object(g.Clock);
        CachePrefetch.Object(g.Seqs);
        CachePrefetch.Object(g.Loose);
        var cost = _analytic != null ? g.Cost : _executor.Charged(Index, stage, g.Cost); // the analytic executor charges the plan
        long now = _sim.NowNs;
        st.Busy = false;
        st.Iterations++;
        st.BusyNs += now - g.StageStartNs;
        st.ComputeNs += cost.ComputeNs;
        st.CommNs += cost.TpCommNs + cost.EpCommNs + cost.CpCommNs;
        st.OverheadNs += cost.OverheadNs;
        st.LastEndNs = now;
        _recorder.OnIteration(new IterationRecord(Index, stage, g.Iteration, group, g.StageStartNs, now,
            g.Seqs.Count + g.ClockSeqs, g.PrefillTokens, g.DecodeTokens, cost, Kv.UsedBlocks));
        // With one microbatch group no other batch can be waiting for the stage (the queue is empty: not read).
        if (Microbatches > 1 && st.Queue.Count > 0) StartStage(stage, st.Queue.PopFront());
        if (stage < Stages - 1)
        {
            st.PpSendNs += cost.PpCommNs;
            _executor.Send(Index, stage, cost, this, Token(EventKind.Arrived, stage, group));
        }
        else
        {
            CompletePass(group);
        }
    }

    /// <summary>Asks the CPU for the replica's own objects that the end of a pass and the next batch touch (<see cref="CachePrefetch"/>).</summary>
    // Implementation note: at fleet scale the replica of nearly every event is cold, and each of its small objects (the
    // cost model, scheduler, KV manager, queues, group and stage arrays, outbox) missed the caches one after another as
    // the code reached it; asked for together, their misses overlap. A hint only: nothing here changes a result.
    private void PrefetchPassState()
    {
        CachePrefetch.Object(_cost);
        CachePrefetch.Object(_scheduler);
        CachePrefetch.Object(_recorder);
        CachePrefetch.Object(Kv);
        CachePrefetch.Object(Waiting);
        CachePrefetch.Object(Swapped);
        CachePrefetch.Object(_clockFinished);
        CachePrefetch.Object(_groups);
        CachePrefetch.Object(_stages);
    }

    private void OnArrived(long token)
    {
        if (IsStale(token)) return;
        int fromStage = (int)((token >> 32) & 0xFFFF);
        int group = (int)(token & GroupMask);
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
        bool handsOff = HandOff != null;
        long emitted = 0;
        // Inter-token gaps, reported as runs of equal gaps (one per batch in steady decoding).
        long gapRunNs = -1;
        int gapRunCount = 0;
        var seqs = g.Seqs;
        var newTokens = g.NewTokens;
        for (int i = 0; i < seqs.Count; i++)
        {
            var seq = seqs[i];
            bool wasPrefill = seq.IsPrefilling;
            seq.ComputedTokens += newTokens[i];
            if (wasPrefill && seq.IsPrefilling) continue; // a chunk that does not complete the prompt emits nothing
            if (seq.GeneratedTokens < seq.OutputTarget)
            {
                seq.GeneratedTokens++;
                if (seq.FirstTokenNs is null)
                {
                    seq.FirstTokenNs = now;
                    FrontEnd?.OnFirstToken(seq.Request.Id, Index);
                }
                else
                {
                    long gap = now - (seq.LastTokenNs ?? seq.FirstTokenNs.Value);
                    if (gap != gapRunNs && gapRunCount > 0) _recorder.OnTokenGaps(gapRunNs, gapRunCount);
                    if (gap != gapRunNs) gapRunCount = 0;
                    gapRunNs = gap;
                    gapRunCount++;
                }
                seq.LastTokenNs = now;
                emitted++;
            }
            if (seq.GeneratedTokens >= seq.OutputTarget)
            {
                seq.State = SequenceState.Finished;
                anyFinished = true;
            }
            else if (handsOff)
            {
                seq.State = SequenceState.Transferring;
                anyFinished = true;
            }
        }
        if (gapRunCount > 0) _recorder.OnTokenGaps(gapRunNs, gapRunCount);
        if (CompleteClockedPass(g, now)) anyFinished = true;
        emitted += g.ClockSeqs;
        FrontEnd?.OnPass(Index, now, emitted);
        OutputTokens += emitted;
        _sampleOutputTokens += emitted;
        List<Sequence>? handedOff = null;
        int finished = 0;
        if (anyFinished)
        {
            var running = g.Running;
            int kept = 0;
            for (int i = 0; i < running.Count; i++)
            {
                var seq = running[i];
                if (seq.State == SequenceState.Transferring)
                {
                    seq.Group = -1;
                    _runningCount--;
                    _handedOff++;
                    (handedOff ??= new List<Sequence>()).Add(seq);
                }
                else if (seq.State == SequenceState.Finished)
                {
                    ReleaseBlocks(seq);
                    seq.HeldBlocks = 0;
                    seq.Group = -1;
                    _runningCount--;
                    finished++;
                    OutstandingChanged?.Invoke(Index);
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
        if (_forecastFinishing >= 0)
        {
            if (finished != _forecastFinishing)
                throw new InvalidOperationException($"replica {Index}: the pass ending at {now} ns finished {finished} request(s), {_forecastFinishing} were forecast when it started");
            _forecastFinishing = -1;
        }
        AttachSteadyDecodes(g, now);
        g.ClearBatch();
        g.SwapNs = 0;
        g.InFlight = false;
        g.Cost = default;
        if (--_groupsInFlight == 0) _pipelineActiveNs += now - _activeSinceNs;
        if (handedOff != null) foreach (var seq in handedOff) HandOff!(this, seq);
        if (anyFinished) BlocksFreed?.Invoke(this);
        TryScheduleIdleGroups(group);
    }

    // ---------------------------------------------------------------- disaggregated hand-off

    /// <summary>Prefill side: the decode replica has the KV of <paramref name="seq"/>; its blocks here are freed.</summary>
    internal void ReleaseHandedOff(Sequence seq)
    {
        Kv.Release(seq.HeldBlocks);
        seq.HeldBlocks = 0;
        seq.State = SequenceState.Finished;
        _handedOff--;
        OutstandingChanged?.Invoke(Index);
        Kick();
    }

    /// <summary>Decode side: reserves <paramref name="blocks"/> KV blocks above the watermark for a transfer; false when they do not fit now.</summary>
    internal bool TryReserveIncoming(int blocks)
    {
        if (!Kv.CanAllocate(blocks, _watermarkBlocks)) return false;
        Kv.Allocate(blocks);
        _incoming++;
        OutstandingChanged?.Invoke(Index);
        return true;
    }

    /// <summary>Decode side: a reserved transfer will not arrive (its source or this replica went down); its blocks are freed.</summary>
    internal void CancelIncoming(int blocks)
    {
        Kv.Release(blocks);
        _incoming--;
        OutstandingChanged?.Invoke(Index);
    }

    /// <summary>Decode side: the KV of a sequence prefilled on another replica arrived into <paramref name="blocks"/> reserved blocks; it joins the least loaded microbatch group and decodes.</summary>
    internal Sequence AcceptTransferred(Sequence prefilled, int blocks, long kvTransferNs, long kvTransferBytes)
    {
        var seq = new Sequence(prefilled, Index, kvTransferNs, kvTransferBytes)
        {
            HeldBlocks = blocks,
            State = SequenceState.Running,
        };
        int group = 0;
        for (int g = 1; g < _groups.Length; g++)
            if (_groups[g].Running.Count < _groups[group].Running.Count) group = g;
        seq.Group = group;
        _groups[group].Running.Add(seq);
        _groups[group].Loose.Add(seq);
        _runningCount++;
        _incoming--;
        Kick();
        return seq;
    }

    // Implementation note: the scheduler runs after every other event at this instant (priority 1), so
    // requests arriving together are batched together, as an engine's step loop would see them.
    private void Kick()
    {
        if (_kickPending) return;
        _kickPending = true;
        _sim.Schedule(SimDuration.Zero, this, (long)EventKind.Kick << KindShift, priority: 1);
    }

    internal static RequestRecord ToRecord(Sequence seq, RequestStatus status, long nowNs, string? reason = null)
    {
        var r = seq.Request;
        return new RequestRecord(r.Id, r.ArrivalNs, seq.Replica, r.InputTokens, r.OutputTokens, seq.GeneratedTokens,
            seq.CachedTokens, status, seq.FirstTokenNs, status == RequestStatus.Completed ? nowNs : null, seq.ScheduledNs, seq.Preemptions,
            seq.CpuCachedTokens, r.Session, seq.Retries, reason, seq.PrefillReplica, seq.KvTransferNs, seq.KvTransferBytes);
    }

    /// <summary>Every sequence still held (waiting, swapped, running), for end-of-run records.</summary>
    internal IEnumerable<Sequence> ActiveSequences()
    {
        for (int i = 0; i < Waiting.Count; i++) yield return Waiting[i];
        for (int i = 0; i < Swapped.Count; i++) yield return Swapped[i];
        foreach (var g in _groups)
            foreach (var s in g.Running) yield return s;
    }

    private sealed class Group(int blockSize)
    {
        public readonly List<Sequence> Running = new();
        /// <summary>The running sequences not counted by <see cref="Clock"/>, in admission order.</summary>
        public readonly List<Sequence> Loose = new();
        public readonly DecodeClock Clock = new(blockSize);
        /// <summary>Whether the batch being built or in flight holds the clock's sequences (<see cref="ClockSeqs"/> decodes on <see cref="ClockContextTokens"/>).</summary>
        public bool ClockInBatch;
        public int ClockSeqs;
        public long ClockContextTokens;
        /// <summary>Passes left before sequences may join <see cref="Clock"/> again after it was detached.</summary>
        public int AttachCooldown;
        public readonly List<Sequence> Seqs = new();
        public readonly List<int> NewTokens = new();
        public readonly List<SequenceWork> Work = new();
        public int BatchTokens;
        public int PrefillTokens;
        public int DecodeTokens;
        public long SwapNs;
        public bool InFlight;
        public long Iteration;
        public StageCost Cost;
        public long StageStartNs;

        public void ClearBatch()
        {
            // The three lists grow together (Replica.AppendToBatch): a batch of clocked decodes alone leaves them untouched.
            if (Seqs.Count > 0)
            {
                Seqs.Clear();
                NewTokens.Clear();
                Work.Clear();
            }
            BatchTokens = 0;
            PrefillTokens = 0;
            DecodeTokens = 0;
            ClockInBatch = false;
            ClockSeqs = 0;
            ClockContextTokens = 0;
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
}
