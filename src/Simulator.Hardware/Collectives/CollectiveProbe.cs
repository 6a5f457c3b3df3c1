using Simulator.Hardware.Specs;
using Simulator.Hardware.Topology;

namespace Simulator.Hardware.Collectives;

/// <summary>What <c>sim collective</c> prints: the predicted time and bandwidths of one collective.</summary>
public sealed record CollectiveProbeResult(
    string Gpu, string Op, int Ranks, int Nodes, long Bytes, string Algorithm, string BottleneckTier,
    double TimeUs, double AlgBwGBps, double BusBwGBps);

/// <summary>The library call behind <c>sim collective</c>: builds a topology from presets and estimates one collective analytically.</summary>
public static class CollectiveProbe
{
    /// <summary>
    /// Predicts one collective on <paramref name="ranks"/> GPUs spread evenly over <paramref name="nodes"/> nodes of
    /// <paramref name="gpuName"/> (its default links; at least 8 GPUs per node, as in an HGX/DGX box).
    /// Bad names or shapes throw <see cref="ArgumentException"/> with a one-line message listing what is allowed.
    /// </summary>
    public static CollectiveProbeResult Run(string gpuName, string op, int ranks, long bytes, int nodes = 1, string algorithm = "auto")
    {
        if (!GpuPresets.TryGet(gpuName, out var gpu))
            throw new ArgumentException($"unknown GPU '{gpuName}'; allowed: {string.Join(", ", GpuPresets.Names)}");
        var collectiveOp = Names.ParseOp(op);
        var algo = Names.ParseAlgorithm(algorithm);
        if (nodes < 1) throw new ArgumentException($"nodes must be >= 1 (got {nodes})");
        if (ranks < 1) throw new ArgumentException($"ranks must be >= 1 (got {ranks})");
        if (ranks % nodes != 0) throw new ArgumentException($"ranks ({ranks}) must be a multiple of nodes ({nodes})");
        if (bytes < 0) throw new ArgumentException($"bytes must be >= 0 (got {bytes})");
        if (collectiveOp == CollectiveOp.SendRecv && ranks < 2) throw new ArgumentException("send_recv needs ranks >= 2");
        int perNode = ranks / nodes;
        var intra = LinkPresets.Get(gpu.DefaultIntraNodeLink);
        var inter = LinkPresets.Get(gpu.DefaultInterNodeLink);
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
