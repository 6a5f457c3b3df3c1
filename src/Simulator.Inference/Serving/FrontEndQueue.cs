using Simulator.Inference.Metrics;
using Simulator.Kernel;
using Request = Simulator.Inference.Workload.Request;

namespace Simulator.Inference.Serving;

/// <summary>
/// One replica's API server processes (<c>frontend.model: queue</c>): each request's parsing and tokenization, and
/// every pass's detokenization and streaming of the tokens it emitted, is work that starts when a server is free.
/// Streaming goes first: a pass's tokens take the next free servers, and a request's input work starts only on a
/// server that no streaming is waiting for (non-preemptive priority; requests among themselves in arrival order).
/// Times are absolute simulation ns; the caller advances the servers in time order.
/// </summary>
/// <remarks>
/// Implementation note: why streaming first. vLLM's API server is one asyncio process: its output handler runs as soon
/// as the engine core's outputs arrive and pushes every token to its request's stream, while a new request's handler
/// advances through parsing, chat template and tokenization between those turns. So under a burst the engine is fed
/// new requests at the rate the server has left over after streaming, and the requests' first tokens come out one
/// after another (kvcached PR #331's vLLM 0.19 burst of 500: mean TTFT 2.9 s, half the 5.27 s run), where a plain FIFO
/// would parse all 500 before streaming any token and hand the whole burst to the engine at once. A pass's tokens are
/// spread over the servers as evenly as whole tokens allow (the extra ones to the servers free first) and are all
/// delivered when the last share is done: requests are spread over the processes evenly on average, and the engine
/// core sends one batch of outputs per step. With one server (vLLM's default) that is exact.
/// </remarks>
public sealed class FrontEndServers
{
    private readonly long[] _freeNs;
    private readonly Queue<(long ArrivalNs, long WorkNs, Action<long, long> Started)> _waiting = new();

    /// <summary>Servers of <paramref name="count"/> processes, all idle at time 0.</summary>
    public FrontEndServers(int count)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "at least one API server is needed");
        _freeNs = new long[count];
    }

    /// <summary>Work done or started so far, summed over the servers (ns).</summary>
    public long BusyNs { get; private set; }

    /// <summary>
    /// Work done by <paramref name="endNs"/>, summed over the servers (ns): <see cref="BusyNs"/> less what is still to
    /// run after it. Work past <paramref name="endNs"/> is one stretch per server ending at its free time (nothing starts
    /// later than the clock, so a job that starts after it starts when the one before ends).
    /// </summary>
    public long BusyNsBy(long endNs)
    {
        long past = 0;
        foreach (long free in _freeNs) past += Math.Max(0, free - endNs);
        return BusyNs - past;
    }

    /// <summary>Number of servers.</summary>
    public int Count => _freeNs.Length;

    /// <summary>Requests waiting for a server.</summary>
    public int Waiting => _waiting.Count;

    /// <summary>When the next waiting request can start (the first server to free up); null when none waits.</summary>
    public long? NextStartNs => _waiting.Count == 0 ? null : _freeNs[FreeFirst()];

    /// <summary>
    /// A request's input work of <paramref name="workNs"/> arriving at <paramref name="nowNs"/>;
    /// <paramref name="started"/> gets its start and end times when a server takes it (at once if one is free).
    /// </summary>
    public void Admit(long nowNs, long workNs, Action<long, long> started)
    {
        _waiting.Enqueue((nowNs, workNs, started));
        Advance(nowNs);
    }

    /// <summary>Starts the waiting requests that a server can take at or before <paramref name="nowNs"/>.</summary>
    public void Advance(long nowNs) => Advance(nowNs, inclusive: true);

    /// <summary>
    /// A pass at <paramref name="nowNs"/> emitted <paramref name="tokens"/> tokens of <paramref name="perTokenNs"/> work
    /// each: returns when the last of them has reached its client.
    /// </summary>
    public long Emit(long nowNs, long tokens, long perTokenNs)
    {
        Advance(nowNs, inclusive: false);   // requests a server took before this pass keep their server
        if (tokens <= 0) return nowNs;
        int n = _freeNs.Length;
        long share = tokens / n;
        int extra = (int)(tokens % n);
        long done = nowNs;
        if (extra > 0)
        {
            // The servers free first take one token more (at most n - 1 of them: O(n^2) for a handful of processes).
            Span<bool> more = n <= 64 ? stackalloc bool[n] : new bool[n];
            for (int e = 0; e < extra; e++)
            {
                int best = -1;
                for (int k = 0; k < n; k++)
                    if (!more[k] && (best < 0 || _freeNs[k] < _freeNs[best])) best = k;
                more[best] = true;
            }
            for (int k = 0; k < n; k++) done = Math.Max(done, Take(k, nowNs, (share + (more[k] ? 1 : 0)) * perTokenNs));
        }
        else
        {
            for (int k = 0; k < n; k++) done = Math.Max(done, Take(k, nowNs, share * perTokenNs));
        }
        return done;
    }

    private void Advance(long nowNs, bool inclusive)
    {
        while (_waiting.Count > 0)
        {
            int k = FreeFirst();
            var (arrival, work, started) = _waiting.Peek();
            long start = Math.Max(_freeNs[k], arrival);
            if (inclusive ? start > nowNs : start >= nowNs) return;
            _waiting.Dequeue();
            _freeNs[k] = start + work;
            BusyNs += work;
            started(start, start + work);
        }
    }

    private long Take(int k, long nowNs, long workNs)
    {
        if (workNs == 0) return nowNs;
        long start = Math.Max(nowNs, _freeNs[k]);
        _freeNs[k] = start + workNs;
        BusyNs += workNs;
        return _freeNs[k];
    }

    private int FreeFirst()
    {
        int best = 0;
        for (int k = 1; k < _freeNs.Length; k++)
            if (_freeNs[k] < _freeNs[best]) best = k;
        return best;
    }
}

/// <summary>
/// The serialized front end of every replica (<see cref="FrontEndModel.Queue"/>): admits requests through their
/// replica's <see cref="FrontEndServers"/>, delays every pass's tokens by the servers' backlog, and rewrites what the
/// recorder sees as a benchmark client sees it: first token and completion when their chunks reach the client,
/// inter-token gaps between deliveries, <see cref="RequestRecord.FrontEndNs"/> = input time + first token's lag.
/// </summary>
internal sealed class FrontEndQueue : IRunRecorder
{
    /// <summary>Recent passes kept per replica to price the previous token of a gap (a few thousand covers any pipeline depth).</summary>
    private const int RecentPasses = 4096;

    /// <summary>Passes a replica's ring holds at first (it doubles as passes come).</summary>
    private const int InitialPasses = 64;

    private readonly Simulation _sim;
    private readonly IRunRecorder _inner;
    private readonly FrontEndDelays _delays;
    private readonly PerReplica[] _replicas;
    private readonly Dictionary<long, long> _inputNs = new();     // request id -> arrival to scheduler, while in flight
    private readonly Dictionary<long, int> _firstReplica = new();  // request id -> the replica that emitted its first token
    private readonly List<(long GapNs, int Count)> _gaps = new();  // the current pass's gaps, until its tokens are priced
    private int _gapTokens;
    private long _inputWaitSumNs, _inputWaitMaxNs, _admitted, _lagMaxNs;

    public FrontEndQueue(Simulation sim, IRunRecorder inner, FrontEndDelays delays, int replicas)
    {
        _sim = sim;
        _inner = inner;
        _delays = delays;
        _replicas = new PerReplica[replicas];
        for (int i = 0; i < replicas; i++) _replicas[i] = new PerReplica(delays.ApiServerCount);
    }

    /// <summary>
    /// A request routed to <paramref name="replica"/> arrives now: <paramref name="handOff"/> runs when its servers are
    /// done with its input work (its scheduler sees it then).
    /// </summary>
    public void Admit(int replica, Request request, Action handOff)
    {
        long now = _sim.NowNs;
        long id = request.Id;
        _replicas[replica].Servers.Admit(now, _delays.InputNs(request.InputTokens), (start, done) =>
        {
            _inputNs[id] = done - now;
            _admitted++;
            _inputWaitSumNs += start - now;
            _inputWaitMaxNs = Math.Max(_inputWaitMaxNs, start - now);
            _sim.Schedule(new SimDuration(Math.Max(0, done - _sim.NowNs)), handOff);
        });
        WakeLater(replica);
    }

    /// <summary>Makes sure the servers of <paramref name="replica"/> look at their waiting requests when a server frees up.</summary>
    private void WakeLater(int replica)
    {
        var r = _replicas[replica];
        if (r.Servers.NextStartNs is not long at || at == r.WakeNs) return;
        r.WakeNs = at;
        _sim.Schedule(new SimDuration(Math.Max(0, at - _sim.NowNs)), () =>
        {
            if (r.WakeNs == at) r.WakeNs = -1;
            r.Servers.Advance(_sim.NowNs);
            WakeLater(replica);
        });
    }

    /// <summary>
    /// A pass of <paramref name="replica"/> ended at <paramref name="nowNs"/> having emitted <paramref name="emitted"/>
    /// tokens (its gaps were reported just before): queues their streaming work and passes the gaps on as delivered.
    /// </summary>
    public void OnPass(int replica, long nowNs, long emitted)
    {
        var r = _replicas[replica];
        // Implementation note: with several servers a small pass may land on idler servers than the pass before; its
        // tokens still reach their clients after that pass's (a stream is delivered in order), so delivery is monotone.
        long delivered = Math.Max(r.LastDeliveredNs, r.Servers.Emit(nowNs, emitted, _delays.PerOutputTokenNs));
        r.LastDeliveredNs = delivered;
        long lag = delivered - nowNs;
        _lagMaxNs = Math.Max(_lagMaxNs, lag);
        r.Remember(nowNs, delivered);
        WakeLater(replica);
        long firsts = emitted - _gapTokens;
        if (firsts > 0)
        {
            ref var entry = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(r.FirstTokens, nowNs, out _);
            entry = (delivered, entry.Left + firsts);
        }
        foreach (var (gap, count) in _gaps)
        {
            long before = r.LagAt(nowNs - gap) ?? lag;   // an older token (or another replica's): its lag is taken as this one's
            _inner.OnTokenGaps(Math.Max(0, gap + lag - before), count);
        }
        _gaps.Clear();
        _gapTokens = 0;
    }

    /// <summary>
    /// <paramref name="replica"/> emitted the first token of request <paramref name="requestId"/> in the pass now ending:
    /// its delivery is that replica's, wherever the request ends (a retry after a fault, a decode replica).
    /// </summary>
    public void OnFirstToken(long requestId, int replica) => _firstReplica[requestId] = replica;

    public void OnIteration(in IterationRecord record) => _inner.OnIteration(record);

    public void OnSample(in ReplicaSample sample) => _inner.OnSample(sample);

    public void OnFault(FaultRecord record) => _inner.OnFault(record);

    /// <summary>Held until the pass's tokens are priced (<see cref="OnPass"/>, in the same pass).</summary>
    public void OnTokenGaps(long gapNs, int count)
    {
        _gaps.Add((gapNs, count));
        _gapTokens += count;
    }

    public void OnRequestFinished(RequestRecord record)
    {
        bool admitted = _inputNs.Remove(record.RequestId, out long input);
        if (record.Status == RequestStatus.Rejected || record.ScheduledNs is null && record.FirstTokenNs is null)
        {
            _inner.OnRequestFinished(record);
            return;
        }
        if (!admitted) input = _delays.InputNs(record.InputTokens);
        int firstReplica = _firstReplica.Remove(record.RequestId, out int emitter) ? emitter : record.PrefillReplica >= 0 ? record.PrefillReplica : record.Replica;
        long? first = record.FirstTokenNs is long f ? f + FirstLag(firstReplica, f) : null;
        long? completion = record.CompletionNs is long c ? c + (Recent(record.Replica)?.LagAt(c) ?? _delays.PerOutputTokenNs) : null;
        if (first is long a && completion is long b && b < a) completion = a;
        _inner.OnRequestFinished(record with
        {
            FirstTokenNs = first,
            CompletionNs = completion,
            FrontEndNs = input + (first - record.FirstTokenNs ?? 0),
        });
    }

    /// <summary>
    /// The servers' totals: busy fraction over <paramref name="spanNs"/> (work done by then over servers x replicas x
    /// span, so at most 1), input waits, the largest token lag.
    /// </summary>
    public FrontEndSummary Summary(long spanNs)
    {
        long busy = _replicas.Sum(r => r.Servers.BusyNsBy(spanNs));
        double capacity = (double)spanNs * _replicas.Length * _delays.ApiServerCount;
        return new FrontEndSummary("queue", _delays.ApiServerCount,
            Utilization: capacity > 0 ? Math.Round(busy / capacity, 6) : 0,
            InputWaitMeanMs: _admitted > 0 ? Math.Round(_inputWaitSumNs / 1e6 / _admitted, 6) : 0,
            InputWaitMaxMs: Math.Round(_inputWaitMaxNs / 1e6, 6),
            TokenLagMaxMs: Math.Round(_lagMaxNs / 1e6, 6));
    }

    private PerReplica? Recent(int replica) => replica >= 0 && replica < _replicas.Length ? _replicas[replica] : null;

    /// <summary>The lag of the first token a pass of <paramref name="replica"/> emitted at <paramref name="tokenNs"/> (one of its requests is done with it).</summary>
    private long FirstLag(int replica, long tokenNs)
    {
        var r = Recent(replica);
        if (r is null || !r.FirstTokens.TryGetValue(tokenNs, out var entry)) return _delays.PerOutputTokenNs;
        if (entry.Left <= 1) r.FirstTokens.Remove(tokenNs);
        else r.FirstTokens[tokenNs] = (entry.DeliveredNs, entry.Left - 1);
        return entry.DeliveredNs - tokenNs;
    }

    private sealed class PerReplica(int servers)
    {
        public FrontEndServers Servers { get; } = new(servers);

        /// <summary>When the latest pass's tokens reached their clients.</summary>
        public long LastDeliveredNs { get; set; }

        /// <summary>When a wake-up for the waiting requests is scheduled (-1: none).</summary>
        public long WakeNs { get; set; } = -1;

        /// <summary>Passes that emitted first tokens: when they were delivered and how many requests still need it.</summary>
        public Dictionary<long, (long DeliveredNs, long Left)> FirstTokens { get; } = new();

        // Implementation note: the ring starts small and doubles up to RecentPasses, so a fleet of thousands of replicas
        // that each run few passes does not hold 64 KiB per replica from the start.
        private long[] _passNs = new long[InitialPasses];
        private long[] _deliveredNs = new long[InitialPasses];
        private int _start, _count;

        public void Remember(long passNs, long deliveredNs)
        {
            if (_count == _passNs.Length && _count < RecentPasses) Grow();
            int capacity = _passNs.Length;
            int at = (_start + _count) % capacity;
            if (_count == capacity) _start = (_start + 1) % capacity;
            else _count++;
            _passNs[at] = passNs;
            _deliveredNs[at] = deliveredNs;
        }

        private void Grow()
        {
            var passes = new long[Math.Min(RecentPasses, _passNs.Length * 2)];
            var delivered = new long[passes.Length];
            for (int i = 0; i < _count; i++)
            {
                int from = (_start + i) % _passNs.Length;
                passes[i] = _passNs[from];
                delivered[i] = _deliveredNs[from];
            }
            (_passNs, _deliveredNs, _start) = (passes, delivered, 0);
        }

        /// <summary>The lag of the latest remembered pass that ended at <paramref name="passNs"/>; null when none is remembered.</summary>
        public long? LagAt(long passNs)
        {
            int capacity = _passNs.Length;
            int lo = 0, hi = _count;   // first logical index with time > passNs
            while (lo < hi)
            {
                int mid = (lo + hi) >>> 1;
                if (_passNs[(_start + mid) % capacity] <= passNs) lo = mid + 1;
                else hi = mid;
            }
            if (lo == 0) return null;
            int i = (_start + lo - 1) % capacity;
            return _passNs[i] == passNs ? _deliveredNs[i] - passNs : null;
        }
    }
}
