using Simulator.Hardware.Topology;

namespace Simulator.Hardware.Collectives;

/// <summary>One point-to-point message of a collective step: <see cref="Bytes"/> of payload from one GPU to another.</summary>
public readonly record struct PlannedTransfer(int Src, int Dst, double Bytes);

/// <summary>
/// A set of transfers that run concurrently, repeated <see cref="Repeat"/> times one after the other (ring steps
/// are one phase repeated). Each repetition first pays <see cref="LatencySteps"/> x the per-message latency of the
/// slowest route in the phase, then moves its bytes.
/// </summary>
public sealed record CollectivePhase(IReadOnlyList<PlannedTransfer> Transfers, int Repeat, double LatencySteps);

/// <summary>
/// A collective algorithm unrolled into phases of transfers over global GPU ids. Both backends consume it:
/// <see cref="AnalyticCollectives"/> times it in closed form, <see cref="Network.FlowNetwork"/> runs it as flows.
/// </summary>
public sealed record CollectivePlan(CollectiveOp Op, CollectiveAlgorithm Algorithm, IReadOnlyList<int> Gpus,
    long Bytes, IReadOnlyList<CollectivePhase> Phases)
{
    public int Ranks => Gpus.Count;

    /// <summary>The per-rank chunk (bytes / ranks) that decides NCCL's protocol.</summary>
    public double ChunkBytes => (double)Bytes / Math.Max(1, Gpus.Count);
}

/// <summary>Unrolls (op, algorithm, ranks, bytes) into a <see cref="CollectivePlan"/> on a topology.</summary>
public static class CollectivePlanner
{
    /// <summary>
    /// The algorithms that can carry <paramref name="op"/> on <paramref name="gpus"/>, Auto excluded. With
    /// <paramref name="forAuto"/>, only those NCCL would consider: its tree is an inter-node algorithm (inside one node
    /// it degenerates to a chain), so Auto considers Tree only for groups spanning nodes.
    /// </summary>
    public static IReadOnlyList<CollectiveAlgorithm> Candidates(ClusterTopology topology, CollectiveOp op, IReadOnlyList<int> gpus, bool forAuto = false)
    {
        bool spans = SpansNodes(topology, gpus);
        bool balanced = spans && BalancedPerNode(topology, gpus, out _);
        var list = new List<CollectiveAlgorithm>();
        switch (op)
        {
            case CollectiveOp.AllReduce:
                list.Add(CollectiveAlgorithm.Ring);
                if (spans || !forAuto) list.Add(CollectiveAlgorithm.Tree);
                if (balanced) list.Add(CollectiveAlgorithm.Hierarchical);
                if (SupportsNvls(topology, gpus)) list.Add(CollectiveAlgorithm.Nvls);
                break;
            case CollectiveOp.AllGather:
            case CollectiveOp.ReduceScatter:
                list.Add(CollectiveAlgorithm.Ring);
                if (balanced) list.Add(CollectiveAlgorithm.Hierarchical);
                break;
            case CollectiveOp.AllToAll:
            case CollectiveOp.SendRecv:
                list.Add(CollectiveAlgorithm.Direct);
                break;
            case CollectiveOp.Broadcast:
                list.Add(CollectiveAlgorithm.Ring);
                if (spans || !forAuto) list.Add(CollectiveAlgorithm.Tree);
                break;
        }
        return list;
    }

    /// <summary>
    /// Builds the plan for an explicit algorithm (not Auto). Throws <see cref="ArgumentException"/> when the algorithm
    /// cannot carry the op (e.g. tree all-gather) or the group is unsuitable (hierarchical needs equal ranks per node).
    /// </summary>
    public static CollectivePlan Plan(ClusterTopology topology, CollectiveOp op, IReadOnlyList<int> gpus, long bytes, CollectiveAlgorithm algorithm)
    {
        ArgumentNullException.ThrowIfNull(topology);
        Validate(topology, gpus, bytes);
        if (algorithm == CollectiveAlgorithm.Auto)
            throw new ArgumentException("resolve Auto first (AnalyticCollectives.Resolve)", nameof(algorithm));
        int n = gpus.Count;
        if (op == CollectiveOp.SendRecv && n < 2) throw new ArgumentException("send/recv needs at least 2 GPUs", nameof(gpus));
        var phases = new List<CollectivePhase>();
        if (n >= 2 && bytes > 0 || op == CollectiveOp.SendRecv)
        {
            if (!Candidates(topology, op, gpus).Contains(algorithm) && !(algorithm == CollectiveAlgorithm.Ring && op is CollectiveOp.SendRecv))
                throw new ArgumentException(
                    $"algorithm {Names.Of(algorithm)} cannot run {Names.Of(op)} on this group; allowed: " +
                    string.Join(", ", Candidates(topology, op, gpus).Select(Names.Of)), nameof(algorithm));
            double s = bytes;
            switch (op)
            {
                case CollectiveOp.AllReduce when algorithm == CollectiveAlgorithm.Ring:
                    phases.Add(RingPhase(gpus, s / n, 2 * (n - 1)));
                    break;
                case CollectiveOp.AllReduce when algorithm == CollectiveAlgorithm.Nvls:
                    phases.Add(NvlsPhase(gpus, s));
                    break;
                case CollectiveOp.AllReduce when algorithm == CollectiveAlgorithm.Tree:
                    AddDoubleBinaryTree(phases, gpus, s);
                    break;
                case CollectiveOp.AllReduce:
                    AddHierarchicalAllReduce(phases, topology, gpus, s);
                    break;
                case CollectiveOp.AllGather or CollectiveOp.ReduceScatter when algorithm == CollectiveAlgorithm.Ring:
                    phases.Add(RingPhase(gpus, s / n, n - 1));
                    break;
                case CollectiveOp.AllGather or CollectiveOp.ReduceScatter:
                    AddHierarchicalGatherOrScatter(phases, topology, gpus, s, op == CollectiveOp.AllGather);
                    break;
                case CollectiveOp.AllToAll:
                {
                    var t = new List<PlannedTransfer>(n * (n - 1));
                    for (int i = 0; i < n; i++)
                        for (int k = 1; k < n; k++)
                            t.Add(new PlannedTransfer(gpus[i], gpus[(i + k) % n], s / n));
                    // NCCL posts the n-1 sends and receives of a rank one after another: n-1 message latencies.
                    phases.Add(new CollectivePhase(t, 1, n - 1));
                    break;
                }
                case CollectiveOp.SendRecv:
                {
                    // nccl-tests sendrecv: every rank sends the whole buffer to the next rank (a ring shift).
                    var t = new List<PlannedTransfer>(n);
                    for (int i = 0; i < n; i++) t.Add(new PlannedTransfer(gpus[i], gpus[(i + 1) % n], s));
                    phases.Add(new CollectivePhase(t, 1, 1));
                    break;
                }
                case CollectiveOp.Broadcast when algorithm == CollectiveAlgorithm.Ring:
                {
                    // Pipelined chain from rank 0: every edge carries the whole buffer; the pipeline fills in n-1 latencies.
                    var t = new List<PlannedTransfer>(n - 1);
                    for (int i = 0; i + 1 < n; i++) t.Add(new PlannedTransfer(gpus[i], gpus[i + 1], s));
                    phases.Add(new CollectivePhase(t, 1, n - 1));
                    break;
                }
                case CollectiveOp.Broadcast:
                {
                    var t = new List<PlannedTransfer>(n - 1);
                    for (int i = 1; i < n; i++) t.Add(new PlannedTransfer(gpus[(i - 1) / 2], gpus[i], s));
                    phases.Add(new CollectivePhase(t, 1, TreeDepth(n)));
                    break;
                }
            }
        }
        return new CollectivePlan(op, algorithm, gpus.ToArray(), bytes, phases);
    }

    /// <summary>True when the group has GPUs in more than one node.</summary>
    public static bool SpansNodes(ClusterTopology topology, IReadOnlyList<int> gpus)
    {
        if (gpus.Count == 0) return false;
        int first = topology.NodeOf(gpus[0]);
        for (int i = 1; i < gpus.Count; i++) if (topology.NodeOf(gpus[i]) != first) return true;
        return false;
    }

    /// <summary>Groups the ranks by node (in order of first appearance) and tells whether every node holds the same count.</summary>
    public static bool BalancedPerNode(ClusterTopology topology, IReadOnlyList<int> gpus, out List<List<int>> byNode)
    {
        var index = new Dictionary<int, int>();
        byNode = new List<List<int>>();
        foreach (int g in gpus)
        {
            int node = topology.NodeOf(g);
            if (!index.TryGetValue(node, out int slot))
            {
                slot = byNode.Count;
                index[node] = slot;
                byNode.Add(new List<int>());
            }
            byNode[slot].Add(g);
        }
        int count = byNode[0].Count;
        return byNode.All(l => l.Count == count);
    }

    private static void Validate(ClusterTopology topology, IReadOnlyList<int> gpus, long bytes)
    {
        ArgumentNullException.ThrowIfNull(gpus);
        if (gpus.Count == 0) throw new ArgumentException("a collective needs at least one GPU", nameof(gpus));
        if (bytes < 0) throw new ArgumentOutOfRangeException(nameof(bytes), "bytes must be >= 0");
        var seen = new HashSet<int>();
        foreach (int g in gpus)
        {
            if ((uint)g >= (uint)topology.GpuCount)
                throw new ArgumentException($"GPU id {g} is outside 0..{topology.GpuCount - 1}", nameof(gpus));
            if (!seen.Add(g)) throw new ArgumentException($"GPU id {g} appears twice in the group", nameof(gpus));
        }
    }

    private static CollectivePhase RingPhase(IReadOnlyList<int> ring, double chunkBytes, int steps)
    {
        int n = ring.Count;
        var t = new PlannedTransfer[n];
        for (int i = 0; i < n; i++) t[i] = new PlannedTransfer(ring[i], ring[(i + 1) % n], chunkBytes);
        return new CollectivePhase(t, steps, 1);
    }

    /// <summary>
    /// True when NVLS can carry an all-reduce over <paramref name="gpus"/>: at least two GPUs, all in one node whose
    /// NVSwitch reduces in the switch (<see cref="Specs.LinkSpec.InSwitchReduction"/>).
    /// </summary>
    public static bool SupportsNvls(ClusterTopology topology, IReadOnlyList<int> gpus) =>
        gpus.Count >= 2 && topology.Fabric == IntraNodeFabric.NvSwitch && topology.IntraNode.InSwitchReduction
        && !SpansNodes(topology, gpus);

    /// <summary>
    /// NVLS all-reduce as link loads: each GPU's shard of S/n is reduced by the switch from all n GPUs (every GPU
    /// sends S up, receives S/n down), then stored once and multicast to all n (S/n up, S down): (n+1)/n x S in
    /// each direction of every GPU's link, against 2(n-1)/n x S for a ring. Modelled as one phase of equal
    /// pairwise transfers with exactly those per-link loads and two message latencies (load-reduce, store).
    /// </summary>
    private static CollectivePhase NvlsPhase(IReadOnlyList<int> gpus, double bytes)
    {
        int n = gpus.Count;
        double perPair = bytes * (n + 1) / ((double)n * (n - 1));
        var t = new List<PlannedTransfer>(n * (n - 1));
        for (int i = 0; i < n; i++)
            for (int k = 1; k < n; k++)
                t.Add(new PlannedTransfer(gpus[i], gpus[(i + k) % n], perPair));
        return new CollectivePhase(t, 1, 2);
    }

    /// <summary>ceil(log2 n): the depth of a binary tree over n ranks.</summary>
    public static int TreeDepth(int n)
    {
        int d = 0;
        while ((1 << d) < n) d++;
        return d;
    }

    // NCCL's double binary tree: tree A is the binary heap over rank positions, tree B the heap over mirrored positions;
    // each tree carries half the buffer, reduce up then broadcast down, pipelined (latency = depth per direction).
    private static void AddDoubleBinaryTree(List<CollectivePhase> phases, IReadOnlyList<int> gpus, double bytes)
    {
        int n = gpus.Count;
        var up = new List<PlannedTransfer>();
        var down = new List<PlannedTransfer>();
        for (int pos = 1; pos < n; pos++)
        {
            int parent = (pos - 1) / 2;
            up.Add(new PlannedTransfer(gpus[pos], gpus[parent], bytes / 2));
            down.Add(new PlannedTransfer(gpus[parent], gpus[pos], bytes / 2));
            up.Add(new PlannedTransfer(gpus[n - 1 - pos], gpus[n - 1 - parent], bytes / 2));
            down.Add(new PlannedTransfer(gpus[n - 1 - parent], gpus[n - 1 - pos], bytes / 2));
        }
        int depth = TreeDepth(n);
        phases.Add(new CollectivePhase(up, 1, depth));
        phases.Add(new CollectivePhase(down, 1, depth));
    }

    private static void AddHierarchicalAllReduce(List<CollectivePhase> phases, ClusterTopology topology, IReadOnlyList<int> gpus, double bytes)
    {
        BalancedPerNode(topology, gpus, out var byNode);
        int k = byNode.Count, local = byNode[0].Count;
        if (local > 1) phases.Add(MultiRing(byNode, bytes / local, local - 1));          // intra-node reduce-scatter
        phases.Add(MultiRing(Columns(byNode), bytes / (local * (double)k), 2 * (k - 1))); // inter-node all-reduce of a 1/local shard
        if (local > 1) phases.Add(MultiRing(byNode, bytes / local, local - 1));          // intra-node all-gather
    }

    private static void AddHierarchicalGatherOrScatter(List<CollectivePhase> phases, ClusterTopology topology, IReadOnlyList<int> gpus,
        double bytes, bool gather)
    {
        BalancedPerNode(topology, gpus, out var byNode);
        int k = byNode.Count, local = byNode[0].Count, n = k * local;
        var inter = MultiRing(Columns(byNode), bytes / n, k - 1);
        var intra = local > 1 ? MultiRing(byNode, bytes / local, local - 1) : null;
        if (gather)
        {
            phases.Add(inter);                      // gather the node's column across nodes
            if (intra != null) phases.Add(intra);   // then gather inside the node
        }
        else
        {
            if (intra != null) phases.Add(intra);
            phases.Add(inter);
        }
    }

    private static List<List<int>> Columns(List<List<int>> byNode)
    {
        int local = byNode[0].Count;
        var cols = new List<List<int>>(local);
        for (int j = 0; j < local; j++) cols.Add(byNode.Select(node => node[j]).ToList());
        return cols;
    }

    private static CollectivePhase MultiRing(List<List<int>> rings, double chunkBytes, int steps)
    {
        var t = new List<PlannedTransfer>();
        foreach (var ring in rings)
        {
            int m = ring.Count;
            if (m < 2) continue;
            for (int i = 0; i < m; i++) t.Add(new PlannedTransfer(ring[i], ring[(i + 1) % m], chunkBytes));
        }
        return new CollectivePhase(t, steps, 1);
    }
}
