using Simulator.Hardware.Network;
using Simulator.Hardware.Topology;
using Simulator.Inference.Metrics;
using Simulator.Inference.Serving;
using Simulator.Kernel;

namespace Simulator.Scenarios;

/// <summary>
/// Moves a hand-off's KV over the pools' topology. The prefill replica's TP ranks each hold 1/TP_p of the KV heads,
/// the decode replica's ranks need 1/TP_d each, so the KV travels as max(TP_p, TP_d) equal shards: shard i leaves
/// prefill rank i x TP_p / n and reaches decode rank i x TP_d / n (each decode rank receives its share; when TP_d &lt;
/// TP_p a decode rank gathers from several prefill ranks, when TP_d &gt; TP_p a prefill rank feeds several). A shard's
/// route is the topology's: NVLink through the switch when both GPUs share a node, else source NIC, spine, destination
/// NIC (GPUDirect RDMA). Analytic: time = max over links of the bytes all shards put on it / its bandwidth + the route
/// latency; flow: one flow per shard on the shared links (contending with TP, PP and other hand-offs).
/// </summary>
internal sealed class KvTransport : IKvTransport
{
    private readonly BuiltPools _pools;
    private readonly FlowNetwork? _network;
    private readonly Simulation _sim;
    private readonly Dictionary<(int From, int To), (double UsPerByte, double LatencyUs, bool CrossesNodes)> _routes = new();
    private readonly SortedDictionary<(int FromPool, int ToPool), (long Bytes, long Ns, bool CrossesNodes)> _totals = new();

    public KvTransport(Simulation sim, BuiltPools pools, FlowNetwork? network)
    {
        _sim = sim;
        _pools = pools;
        _network = network;
    }

    public bool IsAnalytic => _network is null;

    public long TimeNs(int prefillReplica, int decodeReplica, long bytes)
    {
        var r = Route(prefillReplica, decodeReplica);
        return SimDuration.RoundToNs((bytes * r.UsPerByte + r.LatencyUs) * 1e3);
    }

    public void Start(int prefillReplica, int decodeReplica, long bytes, Action done)
    {
        var shards = Shards(prefillReplica, decodeReplica);
        long each = (bytes + shards.Count - 1) / shards.Count;
        var events = shards.Select(s => _network!.Transfer(s.Src, s.Dst, each)).ToArray();
        long start = _sim.NowNs;
        new AllOf(_sim, events).AddCallback(_ =>
        {
            Record(prefillReplica, decodeReplica, bytes, _sim.NowNs - start);
            done();
        });
    }

    public void Record(int prefillReplica, int decodeReplica, long bytes, long ns)
    {
        var key = (_pools.PoolIndexOf(prefillReplica), _pools.PoolIndexOf(decodeReplica));
        var (b, t, _) = _totals.TryGetValue(key, out var v) ? v : (0, 0, false);
        _totals[key] = (b + bytes, t + ns, Route(prefillReplica, decodeReplica).CrossesNodes);
    }

    /// <summary>
    /// links.csv rows of the analytic mode: one per (prefill pool, decode pool) pair that moved KV, named
    /// <c>kv.P->D</c>, with the aggregate bandwidth of the shards' NICs (or NVLinks) and the summed transfer time.
    /// </summary>
    public IEnumerable<LinkActivity> LinkRows()
    {
        foreach (var ((from, to), (bytes, ns, cross)) in _totals)
        {
            var p = _pools.Pools[from];
            var d = _pools.Pools[to];
            int shards = Math.Max(p.Built.Plan.Tp, d.Built.Plan.Tp);
            var spec = cross ? _pools.InterNodeLink : p.Built.IntraNodeLink;
            yield return new LinkActivity($"kv.{p.Spec.Name}->{d.Spec.Name}", spec.Kind.ToString().ToLowerInvariant(),
                $"pool:{p.Spec.Name}", $"pool:{d.Spec.Name}", spec.BandwidthGBps * shards, bytes, ns);
        }
    }

    private List<(int Src, int Dst)> Shards(int prefillReplica, int decodeReplica)
    {
        var p = _pools.PoolOf(prefillReplica);
        var d = _pools.PoolOf(decodeReplica);
        int tpP = p.Built.Plan.Tp, tpD = d.Built.Plan.Tp, n = Math.Max(tpP, tpD);
        var shards = new List<(int, int)>(n);
        for (int i = 0; i < n; i++)
            shards.Add((p.GlobalGpu(prefillReplica - p.FirstReplica, i * tpP / n), d.GlobalGpu(decodeReplica - d.FirstReplica, i * tpD / n)));
        return shards;
    }

    private (double UsPerByte, double LatencyUs, bool CrossesNodes) Route(int prefillReplica, int decodeReplica)
    {
        if (_routes.TryGetValue((prefillReplica, decodeReplica), out var cached)) return cached;
        var shards = Shards(prefillReplica, decodeReplica);
        double share = 1.0 / shards.Count;
        var load = new Dictionary<Link, double>();
        double latencyUs = 0;
        bool cross = false;
        var topo = _pools.Topology;
        foreach (var (src, dst) in shards)
        {
            foreach (var link in topo.Route(src, dst)) load[link] = load.GetValueOrDefault(link) + share;
            latencyUs = Math.Max(latencyUs, topo.RouteLatencyUs(src, dst));
            cross |= topo.CrossesNodes(src, dst);
        }
        double usPerByte = 0;
        foreach (var (link, fraction) in load)
            if (!link.IsIdeal) usPerByte = Math.Max(usPerByte, fraction / link.BytesPerUs);
        var r = (usPerByte, latencyUs, cross);
        _routes[(prefillReplica, decodeReplica)] = r;
        return r;
    }
}
