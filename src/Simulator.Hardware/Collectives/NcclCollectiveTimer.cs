using Simulator.Hardware.Calibration;
using Simulator.Hardware.Topology;

namespace Simulator.Hardware.Collectives;

/// <summary>
/// An <see cref="ICollectiveTimer"/> that times groups inside one NVSwitch or PCIe node with <see cref="NcclModel"/>
/// (NCCL's algorithms and protocols, the tuner's pick) and everything else (groups spanning nodes, pairwise-NVLink
/// nodes, tree / hierarchical, a degraded link) with <see cref="AnalyticCollectives"/>' plans. Meant to sit behind
/// <see cref="CachingCollectiveTimer"/> in the serving path. Thread-safe.
/// </summary>
/// <remarks>
/// Implementation note: the single-node test walks the group once and <see cref="NcclModel.TimeUs"/> allocates
/// nothing, so a call costs about as much as the compiled-plan path it replaces; a link degradation
/// (<see cref="ClusterTopology.ConditionsVersion"/> moved) sends every group to the plan model, which prices degraded links.
/// </remarks>
public sealed class NcclCollectiveTimer : ICollectiveTimer
{
    private readonly ClusterTopology _topology;
    private readonly AnalyticCollectives _plans;
    private readonly NcclModel[] _byNode;
    private readonly long _version;

    public NcclCollectiveTimer(ClusterTopology topology, NcclTuning? tuning = null, CalibrationProfile? planProfile = null)
    {
        _topology = topology ?? throw new ArgumentNullException(nameof(topology));
        _plans = new AnalyticCollectives(topology, planProfile);
        _byNode = new NcclModel[topology.Nodes];
        for (int node = 0; node < topology.Nodes; node++) _byNode[node] = new NcclModel(topology.IntraNodeOf(node), tuning);
        _version = topology.ConditionsVersion;
    }

    /// <inheritdoc />
    public double TimeUs(CollectiveOp op, IReadOnlyList<int> gpus, long bytes, CollectiveAlgorithm algorithm = CollectiveAlgorithm.Auto)
    {
        if (gpus.Count >= 2 && bytes > 0 && _topology.ConditionsVersion == _version
            && _topology.Fabric is IntraNodeFabric.NvSwitch or IntraNodeFabric.PcieTree
            && algorithm is CollectiveAlgorithm.Auto or CollectiveAlgorithm.Ring or CollectiveAlgorithm.Nvls or CollectiveAlgorithm.Direct
            && SingleNode(gpus, out int node) && !_byNode[node].Link.IsIdeal)
        {
            double us = _byNode[node].TimeUs(op, gpus.Count, bytes, algorithm);
            if (!double.IsNaN(us)) return us;
        }
        return _plans.TimeUs(op, gpus, bytes, algorithm);
    }

    private bool SingleNode(IReadOnlyList<int> gpus, out int node)
    {
        node = _topology.NodeOf(gpus[0]);
        for (int i = 1; i < gpus.Count; i++)
            if (_topology.NodeOf(gpus[i]) != node) return false;
        return true;
    }
}
