namespace Simulator.Inference.Parallelism;

/// <summary>A cluster's shape for placement: <see cref="Nodes"/> nodes of <see cref="GpusPerNode"/> GPUs;
/// global GPU id = node x GpusPerNode + local index (the hardware layer's convention).</summary>
public readonly record struct ClusterShape(int Nodes, int GpusPerNode)
{
    public int TotalGpus => Nodes * GpusPerNode;
}

/// <summary>One row of the placement table: which replica, stage, CP rank and TP rank a GPU serves.</summary>
// Implementation note: a record class, not a struct: the table's list, sort and queries then run the framework's shared,
// precompiled code for reference types instead of about 25 methods the JIT compiled for this struct at every start.
public sealed record GpuPlacement(int Gpu, int Node, int Replica, int Stage, int CpRank, int TpRank);

/// <summary>
/// Maps (replica, stage, CP rank, TP rank) to global GPU ids. Each TP group occupies consecutive GPUs
/// of one node whenever TP &lt;= GPUs per node (groups are packed whole into nodes, never straddling a
/// node boundary; leftover GPUs of a node stay unused); a TP group larger than a node spans whole
/// consecutive nodes. Groups are ordered replica, then stage, then CP rank, so a replica's stages are
/// neighbours. The expert-parallel group is the TP group (see <see cref="ParallelPlan"/>).
/// </summary>
public sealed class PlacementTable
{
    private readonly int[] _gpuOf; // index ((r * Pp + s) * Cp + c) * Tp + t

    public ParallelPlan Plan { get; }
    public ClusterShape Cluster { get; }

    /// <summary>Rows ordered by GPU id.</summary>
    public IReadOnlyList<GpuPlacement> Rows { get; }

    private PlacementTable(ParallelPlan plan, ClusterShape cluster, int[] gpuOf, IReadOnlyList<GpuPlacement> rows)
    {
        Plan = plan; Cluster = cluster; _gpuOf = gpuOf; Rows = rows;
    }

    /// <summary>Places every replica of <paramref name="plan"/> on <paramref name="cluster"/>; throws
    /// <see cref="PlanException"/> when the GPUs do not suffice.</summary>
    public static PlacementTable Build(ParallelPlan plan, ClusterShape cluster)
    {
        if (cluster.Nodes < 1 || cluster.GpusPerNode < 1)
            throw new PlanException([$"cluster must have at least one node and one GPU per node (got {cluster.Nodes} x {cluster.GpusPerNode})"]);
        var groups = plan.Replicas * plan.Pp * plan.Cp;
        var gpuOf = new int[groups * plan.Tp];
        int gpn = cluster.GpusPerNode, tp = plan.Tp;
        if (tp <= gpn)
        {
            var perNode = gpn / tp;
            var nodesNeeded = (groups + perNode - 1) / perNode;
            if (nodesNeeded > cluster.Nodes)
                throw new PlanException([$"the plan needs {groups} TP groups of {tp} GPUs; {cluster.Nodes} nodes of {gpn} GPUs hold {perNode * cluster.Nodes} such groups without splitting a group across nodes"]);
            for (var g = 0; g < groups; g++)
                for (var t = 0; t < tp; t++)
                    gpuOf[g * tp + t] = g / perNode * gpn + g % perNode * tp + t;
        }
        else
        {
            var nodesPerGroup = (tp + gpn - 1) / gpn;
            if (groups * nodesPerGroup > cluster.Nodes)
                throw new PlanException([$"the plan needs {groups * nodesPerGroup} nodes ({groups} TP groups of {tp} GPUs, each spanning {nodesPerGroup} nodes) but the cluster has {cluster.Nodes}"]);
            for (var g = 0; g < groups; g++)
                for (var t = 0; t < tp; t++)
                    gpuOf[g * tp + t] = g * nodesPerGroup * gpn + t;
        }
        var rows = new List<GpuPlacement>(gpuOf.Length);
        for (var r = 0; r < plan.Replicas; r++)
            for (var s = 0; s < plan.Pp; s++)
                for (var c = 0; c < plan.Cp; c++)
                    for (var t = 0; t < tp; t++)
                    {
                        var gpu = gpuOf[((r * plan.Pp + s) * plan.Cp + c) * tp + t];
                        rows.Add(new GpuPlacement(gpu, gpu / gpn, r, s, c, t));
                    }
        rows.Sort((a, b) => a.Gpu.CompareTo(b.Gpu));
        return new PlacementTable(plan, cluster, gpuOf, rows);
    }

    /// <summary>Global id of one GPU of the plan.</summary>
    public int GpuOf(int replica, int stage, int tpRank, int cpRank = 0) =>
        _gpuOf[((replica * Plan.Pp + stage) * Plan.Cp + cpRank) * Plan.Tp + tpRank];

    /// <summary>The TP group (also the EP group) of a stage, in TP-rank order.</summary>
    public int[] TpGroup(int replica, int stage, int cpRank = 0)
    {
        var g = new int[Plan.Tp];
        for (var t = 0; t < Plan.Tp; t++) g[t] = GpuOf(replica, stage, t, cpRank);
        return g;
    }

    /// <summary>
    /// The expert-parallel group of a stage: the TP group, or under DP attention every GPU of the replica's engine
    /// (its DP ranks' TP groups in rank order, EP = TP x DP).
    /// </summary>
    public int[] EpGroup(int replica, int stage)
    {
        if (!Plan.IsDataParallelAttention) return TpGroup(replica, stage);
        int first = Plan.EngineOf(replica) * Plan.Dp;
        var g = new int[Plan.Dp * Plan.Tp];
        for (var d = 0; d < Plan.Dp; d++)
            for (var t = 0; t < Plan.Tp; t++) g[d * Plan.Tp + t] = GpuOf(first + d, stage, t);
        return g;
    }

    /// <summary>The CP group of a stage for one TP rank, in CP-rank order.</summary>
    public int[] CpGroup(int replica, int stage, int tpRank = 0)
    {
        var g = new int[Plan.Cp];
        for (var c = 0; c < Plan.Cp; c++) g[c] = GpuOf(replica, stage, tpRank, c);
        return g;
    }

    /// <summary>All GPUs of a stage (CP ranks x TP ranks).</summary>
    public int[] StageGpus(int replica, int stage)
    {
        var g = new int[Plan.Cp * Plan.Tp];
        for (var c = 0; c < Plan.Cp; c++)
            for (var t = 0; t < Plan.Tp; t++) g[c * Plan.Tp + t] = GpuOf(replica, stage, t, c);
        return g;
    }

    /// <summary>True when the TP group of this stage sits inside one node.</summary>
    public bool TpGroupIsIntraNode(int replica, int stage)
    {
        var g = TpGroup(replica, stage);
        var node = g[0] / Cluster.GpusPerNode;
        foreach (var x in g) if (x / Cluster.GpusPerNode != node) return false;
        return true;
    }
}
