using Simulator.Inference.Metrics;
using Simulator.Kernel;
using Request = Simulator.Inference.Workload.Request;

namespace Simulator.Inference.Serving;

/// <summary>
/// Whether a serving run may simulate its replicas in parallel (<see cref="ServingOptions.Threads"/>), and how many
/// threads <c>auto</c> means.
/// </summary>
public static class ParallelEligibility
{
    /// <summary>
    /// Why the replicas of this run cannot be simulated apart between router decisions (one line, for the console and
    /// perf.json), or null when they can: only the serving loop's own events (arrivals, samples) may look across replicas.
    /// </summary>
    public static string? WhyNot(IReadOnlyList<ReplicaSetup> replicas, ServingOptions options, bool sharedExecutor)
    {
        ArgumentNullException.ThrowIfNull(replicas);
        ArgumentNullException.ThrowIfNull(options);
        if (sharedExecutor) return "network.model flow: replicas share links";
        if (replicas.Any(r => r.Role != ReplicaRole.Mixed)) return "disaggregated pools: prefill hands requests to decode replicas";
        if (DataParallelLockstep.Needed(replicas)) return "DP-attention engines step their replicas in lockstep";
        if (options.Faults is not null) return "faults: a failing replica sends its requests to others";
        if (options.FrontEnd is { Model: FrontEndModel.Queue }) return "frontend.model queue: the API servers price each pass's tokens as it ends";
        return null;
    }

    /// <summary>
    /// The threads a run uses: <paramref name="requested"/>, or for 0 (auto) one; never more than replicas.
    /// </summary>
    // Implementation note: auto is one thread because no measurement has shown more to be faster: on fleet-1m, 2 threads
    // with a barrier per arrival took 23.5 s against 15.4 s on one on an idle 2-core machine; with lookahead windows
    // (7.6x fewer barriers) 12.1-12.9 s against 9.8-10.9 s on the shared, loaded 2-core machine (README "Parallel
    // replicas"), and on the idle machine 7.7-10.6 s against 7.5-7.8 s. N threads stay an explicit choice.
    public static int Resolve(int requested, int replicas)
    {
        if (requested < 0) throw new ArgumentOutOfRangeException(nameof(requested), requested, "threads must be 0 (auto) or more");
        int threads = requested > 0 ? requested : 1;
        return Math.Clamp(threads, 1, Math.Max(1, replicas));
    }
}

/// <summary>
/// The replicas of a serving run split into groups of contiguous indices, each with its own kernel
/// <see cref="Simulation"/>, stepped together to barriers by dedicated worker threads. Whatever a replica reports
/// (records, completions, load changes) is kept in its group's outbox and handed on by <see cref="Flush"/> in one
/// canonical order, so the outputs do not depend on the number of groups.
/// </summary>
// Implementation note (exactness): replicas of a mixed, fault-free, analytic-network run share nothing: each one's
// events touch only its own state, its executor only schedules on its own group's clock, and only the driver (arrivals,
// routing, samples) reads across replicas; the front end's hand-over of a routed request is an event of its replica's
// group. The driver steps every group to just before each of its own events at time t, i.e. through every entry due
// before t and every priority-0 entry due at t, leaving the schedulers' priority-1 kicks pending (so requests arriving
// together still batch together); then it flushes the outboxes and runs its event. A replica's entries are ordered by
// (time, priority, insertion) within its group's queue, and the relative insertion order of one replica's entries
// depends only on that replica's own history and the driver's injections, not on which other replicas share its queue;
// so each replica processes the same events in the same order for any grouping. The outboxes are merged per window by
// (time, replica, order within the replica), a total order that no grouping changes, so the streams the recorders see
// are the same for 1 thread or many. With lookahead (ServingSimulation.Horizon) a window covers every arrival before the
// groups' announced horizon (7.6 arrivals, about 130 replica events on fleet-1m); without it, one driver instant.
internal sealed class ReplicaGroups : IDisposable
{
    private readonly Group[] _groups;
    private readonly int[] _groupOf;
    private readonly ReplicaOutbox[] _outboxes;
    private Entry[] _merged = new Entry[256];
    private readonly List<int> _changed = [];
    private Thread[]? _workers;
    private long _untilNs;
    private int _untilPriority;
    private int _generation;
    private long _claims;   // (window << 32) | next group of the window to claim
    private int _done;      // groups of the current window run to its end
    private volatile bool _stop;
    private readonly List<(long TimeNs, RequestRecord Record)> _driverRecords = [];
    private readonly int[] _parked;             // per worker: 1 while it waits on its semaphore
    private readonly SemaphoreSlim[] _wake;

    public ReplicaGroups(int replicas, int groups, int threads, int seed)
    {
        if (groups < 1 || groups > replicas) throw new ArgumentOutOfRangeException(nameof(groups), groups, $"expected 1..{replicas} groups");
        if (threads < 1 || threads > groups) throw new ArgumentOutOfRangeException(nameof(threads), threads, $"expected 1..{groups} threads");
        Threads = threads;
        _parked = new int[threads - 1];
        _wake = new SemaphoreSlim[threads - 1];
        for (int w = 0; w < _wake.Length; w++) _wake[w] = new SemaphoreSlim(0);
        _groups = new Group[groups];
        _groupOf = new int[replicas];
        _outboxes = new ReplicaOutbox[replicas];
        for (int g = 0; g < groups; g++)
        {
            var group = _groups[g] = new Group(new Simulation(seed));
            int first = (int)((long)g * replicas / groups), end = (int)((long)(g + 1) * replicas / groups);
            for (int i = first; i < end; i++)
            {
                _groupOf[i] = g;
                _outboxes[i] = new ReplicaOutbox(group, i);
            }
        }
    }

    /// <summary>Groups (<see cref="GroupsFor"/>).</summary>
    public int Count => _groups.Length;

    /// <summary>Threads that step the groups: the serving loop's own and <see cref="Threads"/> - 1 workers.</summary>
    public int Threads { get; }

    /// <summary>
    /// Groups for <paramref name="threads"/> threads: one on one thread, else two per thread (at most one per replica).
    /// </summary>
    // Implementation note: a group, once claimed, is run to the barrier by the thread that took it; on cores shared with
    // other work a worker descheduled in the middle of its group stalls the barrier for a time slice. With two groups
    // per thread the claimed part is smaller and the serving loop's thread takes the rest (four measured no better on
    // fleet-1m: more groups, more per-window overhead). The outputs do not depend on it.
    public static int GroupsFor(int threads, int replicas) => threads <= 1 ? 1 : Math.Min(replicas, threads * GroupsPerThread);

    private const int GroupsPerThread = 2;

    /// <summary>Barriers so far: calls of <see cref="AdvanceBefore"/> (each one a window of the serving loop).</summary>
    public long Barriers { get; private set; }

    /// <summary>
    /// Of the group runs of windows that woke the workers, the fraction the workers took (0 when none did): near
    /// 1 - 1/threads when the workers kept up, near 0 when the serving loop's thread ran nearly every group itself
    /// (workers descheduled on busy cores, or waking too late). Read after the run.
    /// </summary>
    public double WorkerShare
    {
        get
        {
            long workers = Interlocked.Read(ref _workerRuns);
            return workers + _driverRuns == 0 ? 0 : (double)workers / (workers + _driverRuns);
        }
    }

    private long _driverRuns;
    private long _workerRuns;

    /// <summary>
    /// Hands a routed request to its replica (the serving loop's own code, run on the thread of the replica's group at
    /// the request's instant); set before the first <see cref="Inject"/>.
    /// </summary>
    public Action<int, Request>? Deliver { get; set; }

    /// <summary>
    /// Queues <paramref name="request"/>, routed at <paramref name="timeNs"/> (no earlier than the groups' clocks), for
    /// replica <paramref name="replica"/>: the next <see cref="AdvanceBefore"/> steps its group to just before that
    /// instant (as for a serving-loop event there) and calls <see cref="Deliver"/>, all in the order injected.
    /// </summary>
    public void Inject(long timeNs, int replica, Request request) =>
        _groups[_groupOf[replica]].Inbox.Add((timeNs, replica, request));

    /// <summary>
    /// A record the serving loop wrote at <paramref name="timeNs"/> while the groups were behind it: the next
    /// <see cref="Flush"/> hands it on after every replica record up to that instant, in the order added.
    /// </summary>
    public void AddDriverRecord(long timeNs, RequestRecord record) => _driverRecords.Add((timeNs, record));

    /// <summary>The group of replica <paramref name="replica"/>.</summary>
    public int GroupOf(int replica) => _groupOf[replica];

    /// <summary>The kernel simulation replica <paramref name="replica"/> runs on.</summary>
    public Simulation SimOf(int replica) => _groups[_groupOf[replica]].Sim;

    /// <summary>The stage executor of replica <paramref name="replica"/>'s group.</summary>
    public IStageExecutor ExecutorOf(int replica) => _groups[_groupOf[replica]].Executor;

    /// <summary>The recorder replica <paramref name="replica"/> reports to (its group's outbox).</summary>
    public IRunRecorder RecorderOf(int replica) => _outboxes[replica];

    /// <summary>Counts a completion of replica <paramref name="replica"/>'s group (handed on by <see cref="Flush"/>).</summary>
    public Action<Sequence> FinishedOf(int replica) => _groups[_groupOf[replica]].OnFinished;

    /// <summary>Notes that replica <paramref name="replica"/>'s load changed (handed on by <see cref="Flush"/>).</summary>
    public Action<int> LoadChangedOf(int replica) => _groups[_groupOf[replica]].OnLoadChanged;

    /// <summary>Entries processed by every group.</summary>
    public long ProcessedEvents
    {
        get
        {
            long n = 0;
            foreach (var g in _groups) n += g.Sim.ProcessedEvents;
            return n;
        }
    }

    /// <summary>Time of the earliest pending entry of any group (<see cref="SimTime.MaxValue"/> when none).</summary>
    public SimTime Peek()
    {
        var next = SimTime.MaxValue;
        foreach (var g in _groups)
        {
            var t = g.Sim.Peek();
            if (t < next) next = t;
        }
        return next;
    }

    /// <summary>The latest clock of any group.</summary>
    public long LatestNs()
    {
        long latest = 0;
        foreach (var g in _groups) latest = Math.Max(latest, g.Sim.NowNs);
        return latest;
    }

    /// <summary>Steps every group through its entries ordered before (<paramref name="untilNs"/>, <paramref name="priority"/>), in parallel; every clock ends at until (unless it is <see cref="long.MaxValue"/>).</summary>
    public void AdvanceBefore(long untilNs, int priority)
    {
        var until = new SimTime(untilNs);
        Barriers++;
        int busy = 0;
        foreach (var g in _groups)
            if (g.Sim.Peek() <= until || g.Inbox.Count > 0) busy++;
        if (busy <= 1 || Threads == 1)
        {
            // Implementation note: a window with work in one group at most is not worth waking the workers for.
            foreach (var g in _groups) RunGroup(g, until, priority);
            return;
        }
        _workers ??= StartWorkers();
        _untilNs = untilNs;
        _untilPriority = priority;
        Volatile.Write(ref _done, 0);
        int window = ++_generation;
        Interlocked.Exchange(ref _claims, (long)window << 32);
        WakeParked();
        _driverRuns += RunClaimed(window);
        var spin = new SpinWait();
        while (Volatile.Read(ref _done) != _groups.Length) spin.SpinOnce(sleep1Threshold: -1);
        for (int g = 0; g < _groups.Length; g++)
        {
            if (_groups[g].Error is { } error)
            {
                _groups[g].Error = null;
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
            }
        }
    }

    /// <summary>Sets every clock to <paramref name="endNs"/> (no entry may be pending before it).</summary>
    public void AlignClocks(long endNs)
    {
        foreach (var g in _groups) g.Sim.Run(new SimTime(endNs));
    }

    /// <summary>
    /// Hands on what the groups reported since the last flush: records to <paramref name="recorder"/> ordered by (time,
    /// replica, order within the replica), load changes to <paramref name="loadChanged"/> by replica index; returns the completions.
    /// </summary>
    public long Flush(IRunRecorder recorder, Action<int>? loadChanged)
    {
        long completed = 0;
        int n = 0;
        foreach (var g in _groups)
        {
            completed += g.Completed;
            g.Completed = 0;
            n += g.Count;
        }
        if (n == 0 && _driverRecords.Count > 0) HandOn(recorder, _merged, 0);
        else if (n > 0 && _groups.Length == 1)
        {
            // Implementation note: one group's outbox is sorted where it lies (it is nearly in (time, replica, order)
            // order already) and handed on without the copy into the merge buffer; the stream is the same. The group
            // reports into the (cleared) merge buffer meanwhile, which then takes the handed-on array's place.
            var g = _groups[0];
            var entries = g.Entries;
            SortNearlySorted(entries, n);
            g.Entries = _merged;
            g.Count = 0;
            HandOn(recorder, entries, n);
            _merged = entries;
        }
        else if (n > 0)
        {
            if (_merged.Length < n) _merged = new Entry[Math.Max(n, _merged.Length * 2)];
            MergeOutboxes(n);
            HandOn(recorder, _merged, n);
        }
        if (loadChanged != null)
        {
            foreach (var g in _groups)
            {
                _changed.AddRange(g.Changed);
                g.Changed.Clear();
            }
            if (_changed.Count > 0)
            {
                _changed.Sort();
                foreach (int r in _changed) loadChanged(r);
                _changed.Clear();
            }
        }
        return completed;
    }

    /// <summary>
    /// Merges the groups' outboxes (<paramref name="n"/> entries in all) into the merge buffer in (time, replica,
    /// order) order and empties them.
    /// </summary>
    // Implementation note: each outbox is first sorted where it lies (nearly sorted: in time order, out of replica order
    // only at shared instants), then the sorted runs are merged by taking the smallest head each time: a handful of
    // compares per entry. Sorting the concatenated outboxes instead moved half of them past the other half per window.
    private void MergeOutboxes(int n)
    {
        var heads = _heads ??= new int[_groups.Length];
        foreach (var g in _groups) SortNearlySorted(g.Entries, g.Count);
        Array.Clear(heads);
        for (int at = 0; at < n; at++)
        {
            int best = -1;
            for (int k = 0; k < _groups.Length; k++)
            {
                var g = _groups[k];
                if (heads[k] == g.Count) continue;
                if (best < 0 || EntryOrder.After(in _groups[best].Entries[heads[best]], in g.Entries[heads[k]])) best = k;
            }
            _merged[at] = _groups[best].Entries[heads[best]++];
        }
        foreach (var g in _groups)
        {
            Array.Clear(g.Entries, 0, g.Count);
            g.Count = 0;
        }
    }

    private int[]? _heads;

    /// <summary>Sorts the first <paramref name="n"/> entries by (time, replica, order).</summary>
    // Implementation note: one group's outbox is in time order and out of (replica, order) order only where replicas'
    // entries share an instant, so an insertion sort finishes in about n compares where Array.Sort copied ~180-byte
    // entries through a comparer. The key is a total order (each entry's order is unique), so any sort gives the same
    // result; past a budget of moves (an outbox far from sorted) the rest is left to Array.Sort.
    private static void SortNearlySorted(Entry[] entries, int n)
    {
        long budget = 8L * n + 64;
        for (int i = 1; i < n; i++)
        {
            if (!EntryOrder.After(in entries[i - 1], in entries[i])) continue;
            var item = entries[i];
            int j = i - 1;
            do
            {
                entries[j + 1] = entries[j];
                j--;
                if (--budget == 0)
                {
                    entries[j + 1] = item;
                    Array.Sort(entries, 0, n, EntryOrder.Instance);
                    return;
                }
            }
            while (j >= 0 && EntryOrder.After(in entries[j], in item));
            entries[j + 1] = item;
        }
    }

    /// <summary>Hands the first <paramref name="n"/> entries to <paramref name="recorder"/> in order and clears them (no record stays reachable).</summary>
    // Implementation note: the serving loop's records (rejections at arrival) go after every replica record of their
    // instant: a replica reports only at the end of a pass (a priority-0 entry, and passes last at least a nanosecond
    // under lookahead), so those records were all handed on before the serving loop's event at that instant ran.
    private void HandOn(IRunRecorder recorder, Entry[] entries, int n)
    {
        var driver = _driverRecords;
        int d = 0;
        for (int i = 0; i < n; i++)
        {
            ref var e = ref entries[i];
            while (d < driver.Count && driver[d].TimeNs < e.TimeNs) recorder.OnRequestFinished(driver[d++].Record);
            switch (e.Kind)
            {
                case EntryKind.Iteration: recorder.OnIteration(in e.Iteration); break;
                case EntryKind.Request: recorder.OnRequestFinished(e.Request!); break;
                default: recorder.OnTokenGaps(e.GapNs, e.GapCount); break;
            }
        }
        while (d < driver.Count) recorder.OnRequestFinished(driver[d++].Record);
        driver.Clear();
        Array.Clear(entries, 0, n);
    }

    /// <summary>Steps one group to (until, priority), delivering its injected requests each at its instant on the way.</summary>
    private void RunGroup(Group group, SimTime until, int priority)
    {
        var inbox = group.Inbox;
        if (inbox.Count > 0)
        {
            var deliver = Deliver ?? throw new InvalidOperationException("requests were injected with no delivery set");
            for (int i = 0; i < inbox.Count; i++)
            {
                var (timeNs, replica, request) = inbox[i];
                // Just before a serving-loop event at that instant: the replicas' priority-1 kicks stay pending.
                group.Sim.RunBefore(new SimTime(timeNs), 1);
                deliver(replica, request);
            }
            inbox.Clear();
        }
        group.Sim.RunBefore(until, priority);
    }

    private Thread[] StartWorkers()
    {
        var workers = new Thread[Threads - 1];
        for (int w = 0; w < workers.Length; w++)
        {
            workers[w] = new Thread(Work) { IsBackground = true, Name = $"replica-groups-{w + 1}" };
            workers[w].Start(w);
        }
        return workers;
    }

    // Implementation note: the groups of a window are claimed, not assigned: the driver and every worker take the next
    // unclaimed group of the current window (one compare-and-swap on the packed window and index) until none is left.
    // A worker the operating system has not scheduled yet (cores shared with other work) then costs nothing: the driver
    // runs its groups too, and waits only for groups already taken. Which thread runs a group changes no result.
    private int RunClaimed(int window)
    {
        int ran = 0;
        while (true)
        {
            long claims = Volatile.Read(ref _claims);
            int next = (int)(claims & 0xFFFF_FFFF);
            if ((int)(claims >> 32) != window || next >= _groups.Length) return ran;
            ran++;
            if (Interlocked.CompareExchange(ref _claims, claims + 1, claims) != claims) continue;
            var group = _groups[next];
            try
            {
                RunGroup(group, new SimTime(_untilNs), _untilPriority);
            }
            catch (Exception ex)
            {
                group.Error = ex;
            }
            Interlocked.Increment(ref _done);
        }
    }

    // Implementation note: a worker waits for the next window by spinning a little (SpinWait: busy spins, then yields),
    // then parks on its semaphore, so an idle worker does not take a core from the serving loop or from other work on
    // shared cores; the serving loop wakes a parked worker when it opens a window (WakeParked). Parking is announced
    // before the last look at the claims and the loop publishes the window before it looks at the flag, both with full
    // fences, so a window is never missed; a stale wake-up only costs one more look. Nothing is allocated per window.
    private void Work(object? state)
    {
        int w = (int)state!;
        int seen = 0;
        var spin = new SpinWait();
        while (!_stop)
        {
            long claims = Volatile.Read(ref _claims);
            int window = (int)(claims >> 32);
            if (window != seen && (int)(claims & 0xFFFF_FFFF) < _groups.Length)
            {
                seen = window;
                int ran = RunClaimed(window);
                if (ran > 0) Interlocked.Add(ref _workerRuns, ran);
                spin.Reset();
                continue;
            }
            if (spin.Count < SpinsBeforeParking)
            {
                spin.SpinOnce(sleep1Threshold: -1);
                continue;
            }
            Interlocked.Exchange(ref _parked[w], 1);
            claims = Volatile.Read(ref _claims);
            if (!_stop && ((int)(claims >> 32) == seen || (int)(claims & 0xFFFF_FFFF) >= _groups.Length)) _wake[w].Wait();
            Interlocked.Exchange(ref _parked[w], 0);
            spin.Reset();
        }
    }

    /// <summary>Spins of a worker between windows before it parks (about 10-30 us of SpinWait).</summary>
    private const int SpinsBeforeParking = 24;

    private void WakeParked()
    {
        for (int w = 0; w < _parked.Length; w++)
            if (Interlocked.Exchange(ref _parked[w], 0) == 1) _wake[w].Release();
    }

    /// <summary>Stops the worker threads.</summary>
    public void Dispose()
    {
        _stop = true;
        if (_workers is null) return;
        foreach (var wake in _wake) wake.Release();
        foreach (var w in _workers) w.Join();
        _workers = null;
    }

    private enum EntryKind : byte { Iteration, Request, TokenGaps }

    private struct Entry
    {
        public long TimeNs;
        public int Replica;
        public long Order;
        public EntryKind Kind;
        public IterationRecord Iteration;
        public RequestRecord? Request;
        public long GapNs;
        public int GapCount;
    }

    private sealed class EntryOrder : IComparer<Entry>
    {
        public static readonly EntryOrder Instance = new();

        /// <summary>Whether <paramref name="a"/> comes after <paramref name="b"/> (without copying either).</summary>
        public static bool After(in Entry a, in Entry b) =>
            a.TimeNs != b.TimeNs ? a.TimeNs > b.TimeNs : a.Replica != b.Replica ? a.Replica > b.Replica : a.Order > b.Order;

        public int Compare(Entry a, Entry b)
        {
            int c = a.TimeNs.CompareTo(b.TimeNs);
            if (c != 0) return c;
            c = a.Replica.CompareTo(b.Replica);
            return c != 0 ? c : a.Order.CompareTo(b.Order);
        }
    }

    /// <summary>One group: its simulation, executor and the outbox its replicas report to.</summary>
    private sealed class Group
    {
        public readonly Simulation Sim;
        public readonly IStageExecutor Executor;
        public readonly Action<Sequence> OnFinished;
        public readonly Action<int> OnLoadChanged;
        public readonly List<int> Changed = [];
        public readonly List<(long TimeNs, int Replica, Request Request)> Inbox = [];
        public Entry[] Entries = new Entry[64];
        public int Count;
        public long Completed;
        public long NextOrder;
        public Exception? Error;

        public Group(Simulation sim)
        {
            Sim = sim;
            Executor = new AnalyticStageExecutor(sim);
            OnFinished = _ => Completed++;
            OnLoadChanged = Changed.Add;
        }

        public ref Entry Add(int replica, EntryKind kind)
        {
            if (Count == Entries.Length) Array.Resize(ref Entries, Entries.Length * 2);
            ref var e = ref Entries[Count++];
            e.TimeNs = Sim.NowNs;
            e.Replica = replica;
            e.Order = NextOrder++;
            e.Kind = kind;
            return ref e;
        }
    }

    /// <summary>What one replica reports, kept in its group's outbox until the next flush.</summary>
    private sealed class ReplicaOutbox(Group group, int replica) : IRunRecorder
    {
        public void OnIteration(in IterationRecord record) => group.Add(replica, EntryKind.Iteration).Iteration = record;

        public void OnRequestFinished(RequestRecord record) => group.Add(replica, EntryKind.Request).Request = record;

        public void OnTokenGaps(long gapNs, int count)
        {
            ref var e = ref group.Add(replica, EntryKind.TokenGaps);
            e.GapNs = gapNs;
            e.GapCount = count;
        }

        public void OnSample(in ReplicaSample sample) =>
            throw new InvalidOperationException("samples are taken by the serving loop, not by a replica");
    }
}

/// <summary>
/// What replica-group lookahead knows of every replica's pass in flight: when it ends and how many requests finish at
/// that end (announced by the replica when the pass starts, <see cref="Replica.Forecasts"/>), and a lower bound of any
/// pass's duration. Each replica writes only its own slots, on its group's thread; the serving loop reads them between
/// windows, when every group is stopped.
/// </summary>
internal sealed class PassForecasts
{
    /// <summary>Per replica: end of the last pass announced (ns; <see cref="long.MinValue"/> before the first).</summary>
    public readonly long[] EndNs;

    /// <summary>Per replica: requests that finish at <see cref="EndNs"/>.</summary>
    public readonly int[] Finishing;

    /// <summary>Per replica: no pass is shorter than this (ns, >= 1).</summary>
    public readonly long[] MinPassNs;

    public PassForecasts(long[] minPassNs)
    {
        ArgumentNullException.ThrowIfNull(minPassNs);
        if (minPassNs.Any(ns => ns < 1)) throw new ArgumentException("every replica needs a pass lower bound of at least 1 ns", nameof(minPassNs));
        MinPassNs = minPassNs;
        EndNs = new long[minPassNs.Length];
        Array.Fill(EndNs, long.MinValue);
        Finishing = new int[minPassNs.Length];
    }

    /// <summary>Replica <paramref name="replica"/> started a pass at <paramref name="startNs"/> that ends at <paramref name="endNs"/> with <paramref name="finishing"/> requests finished.</summary>
    public void Announce(int replica, long startNs, long endNs, int finishing)
    {
        // Implementation note: the lookahead's exactness rests on this bound; a pass below it is a bug in sim, stopped here.
        if (endNs - startNs < MinPassNs[replica])
            throw new InvalidOperationException($"replica {replica}: a pass of {endNs - startNs} ns at {startNs} ns is shorter than the lookahead's lower bound of {MinPassNs[replica]} ns");
        EndNs[replica] = endNs;
        Finishing[replica] = finishing;
    }
}
