using Simulator.Inference.Metrics;
using Simulator.Kernel;

namespace Simulator.Inference.Serving;

/// <summary>Which phases a replica serves.</summary>
public enum ReplicaRole
{
    /// <summary>Prefill and decode (the colocated default).</summary>
    Mixed,

    /// <summary>Prompts and first tokens only; then the KV moves to a decode replica. A prefill replica never decodes.</summary>
    Prefill,

    /// <summary>Receives prefilled requests' KV and decodes them to the end; takes no new requests from the router.</summary>
    Decode,
}

/// <summary>When a hand-off's KV transfer may start.</summary>
public enum KvTransferMode
{
    /// <summary>After the prompt's last prefill pass: done = reservation + transfer time.</summary>
    AfterPrefill,

    /// <summary>
    /// Layer by layer as the prefill computes them: done = max(prefill end + transfer time / layers, prefill start +
    /// transfer time) when the decode side had room at the prefill's end, else as <see cref="AfterPrefill"/>.
    /// </summary>
    Layerwise,
}

/// <summary>Moves a request's KV from a prefill replica's GPUs to a decode replica's over the modeled links.</summary>
public interface IKvTransport
{
    /// <summary>True when <see cref="TimeNs"/> gives the transfer time (fixed delay); false when <see cref="Start"/> plays flows on shared links.</summary>
    bool IsAnalytic { get; }

    /// <summary>Closed-form transfer time: bytes on the most loaded link of the routes / its bandwidth + the route latency.</summary>
    long TimeNs(int prefillReplica, int decodeReplica, long bytes);

    /// <summary>Starts the transfer as flows; calls <paramref name="done"/> when the last byte arrives.</summary>
    void Start(int prefillReplica, int decodeReplica, long bytes, Action done);

    /// <summary>Accounts a transfer that took <paramref name="ns"/> (analytic mode: for links.csv).</summary>
    void Record(int prefillReplica, int decodeReplica, long bytes, long ns);
}

/// <summary>Settings of the disaggregated path: the decode-side router, the transfer mode and the transport.</summary>
public sealed record DisaggregationOptions(string DecodeRouter, ulong DecodeRouterSeed, KvTransferMode Mode, IKvTransport Transport);

/// <summary>
/// The hand-off between prefill and decode replicas. When a prefill replica emits a request's first token it keeps the
/// request's KV blocks and calls <see cref="OnHandOff"/>: the decode router picks a decode replica (among those that can
/// ever hold the request), the request waits there in FIFO order until the decode replica can reserve its blocks
/// (prompt + 1 token, above the watermark: back-pressure), then its KV moves; when the transfer is done the prefill
/// replica frees its blocks and the decode replica decodes the request to the end. With faults, only live decode
/// replicas are picked, and <see cref="OnReplicaDown"/> re-routes the hand-offs a failed replica was part of.
/// </summary>
internal sealed class KvHandoff
{
    private readonly Simulation _sim;
    private readonly Replica[] _replicas;
    private readonly Replica[] _decode;
    private readonly IRouter _router;
    private readonly DisaggregationOptions _options;
    private readonly Queue<Transfer>[] _pending;
    private readonly Action<Sequence, Replica, string> _reject;
    private readonly Action<Sequence> _retry;
    private readonly SortedDictionary<long, Transfer> _inTransit = new();

    /// <param name="sim">The run's simulation.</param>
    /// <param name="replicas">Every replica of the run, by index.</param>
    /// <param name="options">Decode router, transfer mode and transport.</param>
    /// <param name="reject">Ends a request no decode replica can ever hold.</param>
    /// <param name="retry">Sends a request back to the prefill router (its KV was lost, or no decode replica is live).</param>
    public KvHandoff(Simulation sim, Replica[] replicas, DisaggregationOptions options, Action<Sequence, Replica, string> reject,
        Action<Sequence> retry)
    {
        _retry = retry;
        _sim = sim;
        _replicas = replicas;
        _options = options;
        _reject = reject;
        _decode = replicas.Where(r => r.Role == ReplicaRole.Decode).ToArray();
        if (_decode.Length == 0) throw new ArgumentException("prefill replicas need at least one decode replica", nameof(replicas));
        _router = RouterRegistry.Create(options.DecodeRouter, options.DecodeRouterSeed);
        _pending = new Queue<Transfer>[replicas.Length];
        foreach (var r in replicas)
        {
            if (r.Role == ReplicaRole.Prefill) r.HandOff = OnHandOff;
            if (r.Role == ReplicaRole.Decode)
            {
                _pending[r.Index] = new Queue<Transfer>();
                r.BlocksFreed = StartPending;
            }
        }
    }

    /// <summary>Hand-offs not yet on their decode replica (waiting for blocks or moving), by request id.</summary>
    public IEnumerable<(Sequence Seq, int PrefillReplica)> InTransit() => _inTransit.Values.Select(t => (t.Seq, t.From.Index));

    private void OnHandOff(Replica prefill, Sequence seq)
    {
        var candidates = _decode.Where(d => d.WhyNeverServable(seq.Request) is null).ToArray();
        if (candidates.Length == 0)
        {
            prefill.ReleaseHandedOff(seq);
            _reject(seq, prefill, "no decode replica can ever hold it");
            return;
        }
        if (PickDecode(seq, candidates) is not { } to)
        {
            prefill.ReleaseHandedOff(seq);
            _retry(seq);
            return;
        }
        long bytes = seq.ComputedTokens * prefill.KvBytesPerToken;
        Enqueue(new Transfer(seq, prefill, to, bytes, to.Kv.BlocksFor((long)seq.ComputedTokens + 1), _sim.NowNs, seq.ScheduledNs ?? _sim.NowNs));
    }

    /// <summary>The decode router's pick among the live <paramref name="candidates"/>; null when none is live.</summary>
    private Replica? PickDecode(Sequence seq, Replica[] candidates)
    {
        // Implementation note: without faults every decode replica is live, so the router sees the same list as before.
        var live = candidates.All(d => d.IsLive) ? candidates : candidates.Where(d => d.IsLive).ToArray();
        return live.Length == 0 ? null : live[_router.Route(seq.Request, live)];
    }

    private void Enqueue(Transfer t)
    {
        _inTransit[t.Seq.Request.Id] = t;
        _pending[t.To.Index].Enqueue(t);
        StartPending(t.To);
    }

    /// <summary>
    /// A replica went down (after <see cref="Replica.GoDown"/>). Hand-offs from it lost their KV with it: the decode
    /// side's reservation is freed and the request is retried from the start. Hand-offs to it are re-pointed by the
    /// decode router to another live decode replica (the prefill side still holds the KV; the transfer starts over),
    /// or retried when none is live. Oldest request first.
    /// </summary>
    public void OnReplicaDown(Replica down)
    {
        var hit = _inTransit.Values.Where(t => t.From == down || t.To == down).ToList();
        if (hit.Count == 0) return;
        foreach (var t in hit)
        {
            _inTransit.Remove(t.Seq.Request.Id);
            if (t.Started) t.To.CancelIncoming(t.Blocks);
        }
        foreach (var q in _pending)
        {
            if (q is null || q.Count == 0) continue;
            var kept = q.Where(t => _inTransit.TryGetValue(t.Seq.Request.Id, out var cur) && ReferenceEquals(cur, t)).ToList();
            q.Clear();
            foreach (var t in kept) q.Enqueue(t);
        }
        foreach (var t in hit)
        {
            if (t.From != down)
            {
                var candidates = _decode.Where(d => d.WhyNeverServable(t.Seq.Request) is null).ToArray();
                if (PickDecode(t.Seq, candidates) is { } to)
                {
                    Enqueue(t with { To = to, Blocks = to.Kv.BlocksFor((long)t.Seq.ComputedTokens + 1), Started = false });
                    continue;
                }
            }
            t.From.ReleaseHandedOff(t.Seq);
            _retry(t.Seq);
        }
    }

    private void StartPending(Replica decode)
    {
        var queue = _pending[decode.Index];
        while (queue.Count > 0 && decode.TryReserveIncoming(queue.Peek().Blocks))
        {
            var t = queue.Dequeue();
            t.Started = true;
            long now = _sim.NowNs;
            var transport = _options.Transport;
            if (transport.IsAnalytic)
            {
                long timeNs = transport.TimeNs(t.From.Index, t.To.Index, t.Bytes);
                long doneNs = now + timeNs;
                // Layerwise: layer l's KV leaves when layer l's prefill is done, so the last layer's share follows the
                // prefill's end and the whole cannot beat start + transfer time. Only when the decode side had room at
                // the prefill's end (no back-pressure wait) could the layers stream during the prefill.
                if (_options.Mode == KvTransferMode.Layerwise && now == t.HandoffNs)
                    doneNs = Math.Max(now + timeNs / Math.Max(1, t.From.Layers), t.PrefillStartNs + timeNs);
                transport.Record(t.From.Index, t.To.Index, t.Bytes, timeNs);
                _sim.Schedule(new SimDuration(Math.Max(0, doneNs - now)), () => Complete(t));
            }
            else
            {
                transport.Start(t.From.Index, t.To.Index, t.Bytes, () => Complete(t));
            }
        }
    }

    private void Complete(Transfer t)
    {
        // A transfer re-routed or abandoned because a replica went down: its old completion is ignored.
        if (!_inTransit.TryGetValue(t.Seq.Request.Id, out var current) || !ReferenceEquals(current, t)) return;
        _inTransit.Remove(t.Seq.Request.Id);
        t.From.ReleaseHandedOff(t.Seq);
        t.To.AcceptTransferred(t.Seq, t.Blocks, _sim.NowNs - t.HandoffNs, t.Bytes);
    }

    private sealed record Transfer(Sequence Seq, Replica From, Replica To, long Bytes, int Blocks, long HandoffNs, long PrefillStartNs)
    {
        /// <summary>Its blocks are reserved on <see cref="To"/> and the KV is moving.</summary>
        public bool Started { get; set; }
    }
}
