using Simulator.Hardware.Calibration;
using Simulator.Hardware.Topology;

namespace Simulator.Hardware.Collectives;

/// <summary>
/// An <see cref="ICollectiveTimer"/> that times groups inside one NVSwitch or PCIe node with <see cref="NcclModel"/>
/// (NCCL's algorithms and protocols, the tuner's pick) and everything else (groups spanning nodes, pairwise-NVLink
/// nodes, tree / hierarchical, a group whose node has a degraded link) with <see cref="AnalyticCollectives"/>' plans. Meant to sit behind
/// <see cref="CachingCollectiveTimer"/> in the serving path. Thread-safe.
/// </summary>
/// <remarks>
/// Implementation note: the single-node test walks the group once and <see cref="NcclModel.TimeUs"/> allocates
/// nothing, so a call costs about as much as the compiled-plan path it replaces. A degraded link inside a node sends
/// that node's groups to the plan model, which prices degraded links; once every intra-node link of the node is back at
/// nominal they return to the NCCL model. Whether a node is nominal is checked once per
/// <see cref="ClusterTopology.ConditionsVersion"/> (a scan of the node's links, collected on first use) and remembered,
/// so a call still allocates nothing.
/// </remarks>
public sealed class NcclCollectiveTimer : ICollectiveTimer
{
    private readonly ClusterTopology _topology;
    private readonly AnalyticCollectives _plans;
    private readonly NcclModel[] _byNode;
    private readonly Link[]?[] _nodeLinks;
    private readonly long[] _checkedVersion;
    private readonly bool[] _nominal;
    private readonly object _lock = new();

    public NcclCollectiveTimer(ClusterTopology topology, NcclTuning? tuning = null, CalibrationProfile? planProfile = null)
    {
        _topology = topology ?? throw new ArgumentNullException(nameof(topology));
        _plans = new AnalyticCollectives(topology, planProfile);
        _byNode = new NcclModel[topology.Nodes];
        for (int node = 0; node < topology.Nodes; node++) _byNode[node] = new NcclModel(topology.IntraNodeOf(node), tuning);
        _nodeLinks = new Link[topology.Nodes][];
        _checkedVersion = new long[topology.Nodes];
        Array.Fill(_checkedVersion, -1);
        _nominal = new bool[topology.Nodes];
    }

    /// <inheritdoc />
    public double TimeUs(CollectiveOp op, IReadOnlyList<int> gpus, long bytes, CollectiveAlgorithm algorithm = CollectiveAlgorithm.Auto)
    {
        if (gpus.Count >= 2 && bytes > 0
            && _topology.Fabric is IntraNodeFabric.NvSwitch or IntraNodeFabric.PcieTree
            && algorithm is CollectiveAlgorithm.Auto or CollectiveAlgorithm.Ring or CollectiveAlgorithm.Nvls or CollectiveAlgorithm.Direct
            && SingleNode(gpus, out int node) && !_byNode[node].Link.IsIdeal && Nominal(node))
        {
            double us = _byNode[node].TimeUs(op, gpus.Count, bytes, algorithm);
            if (!double.IsNaN(us)) return us;
        }
        return _plans.TimeUs(op, gpus, bytes, algorithm);
    }

    /// <summary>True when every intra-node link of <paramref name="node"/> delivers its full bandwidth now.</summary>
    private bool Nominal(int node)
    {
        long version = _topology.ConditionsVersion;
        if (Volatile.Read(ref _checkedVersion[node]) == version) return _nominal[node];
        lock (_lock)
        {
            var links = _nodeLinks[node] ??= LinksOf(node);
            bool nominal = true;
            foreach (var l in links) nominal &= l.BandwidthFactor == 1.0;
            _nominal[node] = nominal;
            Volatile.Write(ref _checkedVersion[node], version);
            return nominal;
        }
    }

    /// <summary>The links on the routes between the GPUs of one node (what a single-node collective crosses).</summary>
    private Link[] LinksOf(int node)
    {
        var links = new HashSet<Link>();
        int first = node * _topology.GpusPerNode;
        for (int a = first; a < first + _topology.GpusPerNode; a++)
            for (int b = first; b < first + _topology.GpusPerNode; b++)
                if (a != b) links.UnionWith(_topology.Route(a, b));
        return links.OrderBy(l => l.Id).ToArray();
    }

    private bool SingleNode(IReadOnlyList<int> gpus, out int node)
    {
        node = _topology.NodeOf(gpus[0]);
        for (int i = 1; i < gpus.Count; i++)
            if (_topology.NodeOf(gpus[i]) != node) return false;
        return true;
    }
}
