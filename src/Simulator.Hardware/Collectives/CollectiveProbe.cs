using Simulator.Hardware.Specs;
using Simulator.Hardware.Topology;

namespace Simulator.Hardware.Collectives;

/// <summary>
/// What <c>sim collective</c> prints: the predicted time and bandwidths of one collective, and the (algorithm, protocol)
/// that carried it (<c>Protocol</c> is <c>n/a</c> for the multi-node plan model, which does not split protocols).
/// </summary>
public sealed record CollectiveProbeResult(
    string Gpu, string Op, int Ranks, int Nodes, long Bytes, string Algorithm, string BottleneckTier,
    double TimeUs, double AlgBwGBps, double BusBwGBps, string Protocol = "n/a");

/// <summary>The library call behind <c>sim collective</c>: builds a topology from presets and estimates one collective analytically.</summary>
public static class CollectiveProbe
{
    /// <summary>Most ranks a probe accepts (the largest GPU clusters in service are of this order).</summary>
    public const int MaxRanks = 65_536;

    /// <summary>Most ranks on one node (the largest NVLink domains announced, NVL576, are below it).</summary>
    public const int MaxRanksPerNode = 1_024;

    /// <summary>Most ranks of an all-to-all (or any direct algorithm): every pair is a transfer, n(n-1) of them.</summary>
    public const int MaxAllToAllRanks = 2_048;

    /// <summary>Largest message a probe accepts: 1 TiB (no GPU holds more).</summary>
    public const long MaxBytes = 1L << 40;

    /// <summary>
    /// Predicts one collective on <paramref name="ranks"/> GPUs spread evenly over <paramref name="nodes"/> nodes of
    /// <paramref name="gpuName"/> (its default links; at least 8 GPUs per node, as in an HGX/DGX box).
    /// Bad names or shapes throw <see cref="ArgumentException"/> with a one-line message listing what is allowed.
    /// Inside one node ring, NVLS and direct collectives come from <see cref="NcclModel"/> (NCCL's algorithms and
    /// protocols, the tuner's pick unless <paramref name="algorithm"/> / <paramref name="protocol"/> force one); across
    /// nodes, and for tree / hierarchical, from <see cref="AnalyticCollectives"/>' plans.
    /// </summary>
    public static CollectiveProbeResult Run(string gpuName, string op, int ranks, long bytes, int nodes = 1, string algorithm = "auto",
        string protocol = "auto")
    {
        if (!GpuPresets.TryGet(gpuName, out var gpu))
            throw new ArgumentException($"unknown GPU '{gpuName}'; allowed: {string.Join(", ", GpuPresets.Names)}");
        var collectiveOp = Names.ParseOp(op);
        var algo = Names.ParseAlgorithm(algorithm);
        var proto = Names.ParseProtocol(protocol);
        // Implementation note: the bounds come before any allocation: a topology and its route tables grow with the ranks.
        if (nodes < 1 || nodes > MaxRanks) throw new ArgumentException($"nodes = {nodes} is out of range; expected 1 to 65,536", nameof(nodes));
        if (ranks < 1 || ranks > MaxRanks) throw new ArgumentException($"ranks = {ranks} is out of range; expected 1 to 65,536", nameof(ranks));
        if (ranks % nodes != 0) throw new ArgumentException($"ranks ({ranks}) must be a multiple of nodes ({nodes})", nameof(ranks));
        if (ranks / nodes > MaxRanksPerNode)
            throw new ArgumentException($"{ranks / nodes} ranks on one node is out of range; expected at most 1,024 per node (spread them with --nodes)", nameof(ranks));
        if (ranks > MaxAllToAllRanks && (collectiveOp == CollectiveOp.AllToAll || algo == CollectiveAlgorithm.Direct))
            throw new ArgumentException($"ranks = {ranks} is out of range for all_to_all and the direct algorithm (every pair is a transfer); expected at most 2,048", nameof(ranks));
        if (bytes < 0 || bytes > MaxBytes) throw new ArgumentException($"bytes = {bytes} is out of range; expected 0 to 1,099,511,627,776 (1 TiB)", nameof(bytes));
        if (collectiveOp == CollectiveOp.SendRecv && ranks < 2) throw new ArgumentException("send_recv needs ranks >= 2");
        int perNode = ranks / nodes;
        var intra = LinkPresets.Get(gpu.DefaultIntraNodeLink);
        var inter = LinkPresets.Get(gpu.DefaultInterNodeLink);
        if (nodes == 1 && !intra.IsIdeal && algo is CollectiveAlgorithm.Auto or CollectiveAlgorithm.Ring or CollectiveAlgorithm.Nvls or CollectiveAlgorithm.Direct)
        {
            var e = new NcclModel(intra).Estimate(collectiveOp, ranks, bytes, algo, proto);
            string where = ranks > 1 && bytes > 0 ? "intra_node" : "none";
            return new CollectiveProbeResult(gpu.Name, Names.Of(collectiveOp), ranks, nodes, bytes, Names.Of(e.Algorithm), where,
                e.TimeUs, e.AlgBwGBps, e.BusBwGBps, Names.Of(e.Protocol));
        }
        if (proto != NcclProtocol.Auto)
            throw new ArgumentException($"protocol {Names.Of(proto)} applies to collectives inside one node (ring, nvls, direct); " +
                "across nodes and for tree / hierarchical leave it auto", nameof(protocol));
        var topology = new ClusterTopology(gpu, nodes, Math.Max(perNode, 8), intra, inter, ClusterTopology.DefaultFabricFor(intra));
        var group = new List<int>(ranks);
        for (int node = 0; node < nodes; node++)
            for (int l = 0; l < perNode; l++) group.Add(node * topology.GpusPerNode + l);
        var estimate = new AnalyticCollectives(topology).Estimate(collectiveOp, group, bytes, algo);
        string tier = estimate.BottleneckTier switch
        {
            LinkTier.IntraNode => "intra_node",
            LinkTier.Nic => "nic",
            LinkTier.Spine => "spine",
            _ => "none",
        };
        return new CollectiveProbeResult(gpu.Name, Names.Of(collectiveOp), ranks, nodes, bytes, Names.Of(estimate.Algorithm), tier,
            estimate.TimeUs, estimate.AlgBwGBps, estimate.BusBwGBps);
    }
}
