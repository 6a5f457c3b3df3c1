using Simulator.Hardware.Specs;

namespace Simulator.Hardware.Topology;

/// <summary>How the GPUs of one node are wired to each other.</summary>
public enum IntraNodeFabric
{
    /// <summary>Every GPU has one up and one down link to a non-blocking switch (NVSwitch): any-to-any at full link rate.</summary>
    NvSwitch,
    /// <summary>Direct GPU-to-GPU NVLink between every pair; a GPU's NVLink bandwidth is split evenly across its peers.</summary>
    PairwiseNvLink,
    /// <summary>GPUs behind a PCIe switch: one up and one down PCIe link per GPU.</summary>
    PcieTree,
}

/// <summary>Which level of the network a link belongs to; decides the calibration tier that times it.</summary>
public enum LinkTier { IntraNode, Nic, Spine }

/// <summary>One direction of one physical link of a <see cref="ClusterTopology"/>. Ids are dense, 0-based.</summary>
public sealed class Link
{
    internal Link(int id, string name, string port, LinkTier tier, LinkSpec spec, string from, string to, double bandwidthGBps)
    {
        Id = id;
        Name = name;
        Port = port;
        Tier = tier;
        Spec = spec;
        From = from;
        To = to;
        BandwidthGBps = bandwidthGBps;
    }

    public int Id { get; }

    /// <summary>Readable name, e.g. <c>n0.gpu3-&gt;nvswitch</c>, <c>n0.gpu3.nic.tx</c>, <c>n1-&gt;spine</c>.</summary>
    public string Name { get; }

    /// <summary>
    /// The physical link this direction belongs to (both directions share it), e.g. <c>n0.gpu3.nic</c>,
    /// <c>n0.gpu3.nvswitch</c>, <c>n0.gpu1-gpu2</c>, <c>n1.spine</c>: what a <c>link_degraded</c> fault names.
    /// </summary>
    public string Port { get; }

    public LinkTier Tier { get; }

    /// <summary>The spec the link was built from (kind, latency, source).</summary>
    public LinkSpec Spec { get; }

    /// <summary>Endpoint the data leaves.</summary>
    public string From { get; }

    /// <summary>Endpoint the data reaches.</summary>
    public string To { get; }

    /// <summary>Capacity of this direction in GB/s (may differ from the spec: pairwise splits, spine aggregation).</summary>
    public double BandwidthGBps { get; }

    /// <summary>
    /// Fraction of <see cref="BandwidthGBps"/> the link delivers now (1 = healthy; a <c>link_degraded</c> fault lowers it
    /// through <see cref="ClusterTopology.SetPortFactor"/>).
    /// </summary>
    public double BandwidthFactor { get; internal set; } = 1.0;

    /// <summary>Current capacity in bytes per microsecond (1 GB/s = 1e3 B/us, times <see cref="BandwidthFactor"/>); infinity for ideal links.</summary>
    public double BytesPerUs => BandwidthGBps * 1e3 * BandwidthFactor;

    public bool IsIdeal => double.IsPositiveInfinity(BandwidthGBps);

    public override string ToString() => Name;
}

/// <summary>
/// A cluster of identical nodes: GPUs inside a node joined by an intra-node fabric, each GPU with its own NIC
/// (per-GPU rail) to a spine. Global GPU id = node x gpusPerNode + local index. Links are directed objects.
/// </summary>
public sealed class ClusterTopology
{
    private readonly List<Link> _links = new();
    private readonly Dictionary<string, List<Link>> _ports = new(StringComparer.Ordinal);
    private readonly List<string> _portNames = new();
    private readonly Link[] _up;        // NvSwitch / PcieTree: gpu -> switch
    private readonly Link[] _down;      // switch -> gpu
    private readonly Link[][]? _pairByNode;
    private readonly Link[] _nicTx;
    private readonly Link[] _nicRx;
    private readonly Link[] _nodeUp;    // node -> spine
    private readonly Link[] _nodeDown;  // spine -> node
    private readonly LinkSpec[] _intraByNode;

    /// <param name="gpu">The GPU model of every GPU.</param>
    /// <param name="nodes">Number of nodes (>= 1).</param>
    /// <param name="gpusPerNode">GPUs per node (>= 1).</param>
    /// <param name="intraNode">Link spec inside a node (per GPU, per direction).</param>
    /// <param name="interNode">Per-GPU NIC spec (per direction).</param>
    /// <param name="fabric">How GPUs of a node connect.</param>
    /// <param name="fabricOversubscription">Spine oversubscription: a node's uplink carries (gpusPerNode x NIC) / this. 1.0 = non-blocking.</param>
    /// <param name="intraNodeByNode">Optional: each node's own intra-node link (nodes of different pools side by side); null = <paramref name="intraNode"/> everywhere.</param>
    public ClusterTopology(GpuSpec gpu, int nodes, int gpusPerNode, LinkSpec intraNode, LinkSpec interNode,
        IntraNodeFabric fabric = IntraNodeFabric.NvSwitch, double fabricOversubscription = 1.0, IReadOnlyList<LinkSpec>? intraNodeByNode = null)
    {
        if (intraNodeByNode is not null && intraNodeByNode.Count != nodes)
            throw new ArgumentException($"intraNodeByNode lists {intraNodeByNode.Count} links for {nodes} nodes", nameof(intraNodeByNode));
        ArgumentNullException.ThrowIfNull(gpu);
        ArgumentNullException.ThrowIfNull(intraNode);
        ArgumentNullException.ThrowIfNull(interNode);
        if (nodes < 1) throw new ArgumentOutOfRangeException(nameof(nodes), "nodes must be >= 1");
        if (gpusPerNode < 1) throw new ArgumentOutOfRangeException(nameof(gpusPerNode), "gpus per node must be >= 1");
        if (!(fabricOversubscription >= 1.0) || double.IsInfinity(fabricOversubscription))
            throw new ArgumentOutOfRangeException(nameof(fabricOversubscription), "oversubscription must be a finite number >= 1.0");
        if (!(intraNode.BandwidthGBps > 0) || !(interNode.BandwidthGBps > 0))
            throw new ArgumentOutOfRangeException(nameof(intraNode), "link bandwidth must be > 0");
        if (intraNode.LatencyUs < 0 || interNode.LatencyUs < 0)
            throw new ArgumentOutOfRangeException(nameof(intraNode), "link latency must be >= 0");

        Gpu = gpu;
        Nodes = nodes;
        GpusPerNode = gpusPerNode;
        IntraNode = intraNode;
        InterNode = interNode;
        Fabric = fabric;
        FabricOversubscription = fabricOversubscription;
        int n = GpuCount;
        _up = new Link[n];
        _down = new Link[n];
        _nicTx = new Link[n];
        _nicRx = new Link[n];
        _nodeUp = new Link[nodes];
        _nodeDown = new Link[nodes];

        string sw = fabric == IntraNodeFabric.PcieTree ? "pcie" : "nvswitch";
        _intraByNode = new LinkSpec[nodes];
        for (int node = 0; node < nodes; node++)
        {
            var nodeIntra = intraNodeByNode?[node] ?? intraNode;
            _intraByNode[node] = nodeIntra;
            if (fabric == IntraNodeFabric.PairwiseNvLink)
            {
                _pairByNode ??= new Link[nodes][];
                var row = new Link[gpusPerNode * gpusPerNode];
                double perPair = gpusPerNode > 1 ? nodeIntra.BandwidthGBps / (gpusPerNode - 1) : nodeIntra.BandwidthGBps;
                for (int a = 0; a < gpusPerNode; a++)
                    for (int b = 0; b < gpusPerNode; b++)
                        if (a != b)
                            row[a * gpusPerNode + b] = Add($"n{node}.gpu{a}->gpu{b}", $"n{node}.gpu{Math.Min(a, b)}-gpu{Math.Max(a, b)}", LinkTier.IntraNode, nodeIntra,
                                $"n{node}.gpu{a}", $"n{node}.gpu{b}", perPair);
                _pairByNode[node] = row;
            }
            else
            {
                for (int l = 0; l < gpusPerNode; l++)
                {
                    int g = node * gpusPerNode + l;
                    _up[g] = Add($"n{node}.gpu{l}->{sw}", $"n{node}.gpu{l}.{sw}", LinkTier.IntraNode, nodeIntra, $"n{node}.gpu{l}", $"n{node}.{sw}", nodeIntra.BandwidthGBps);
                    _down[g] = Add($"n{node}.{sw}->gpu{l}", $"n{node}.gpu{l}.{sw}", LinkTier.IntraNode, nodeIntra, $"n{node}.{sw}", $"n{node}.gpu{l}", nodeIntra.BandwidthGBps);
                }
            }
        }
        if (nodes > 1)
        {
            for (int g = 0; g < n; g++)
            {
                int node = g / gpusPerNode, l = g % gpusPerNode;
                _nicTx[g] = Add($"n{node}.gpu{l}.nic.tx", $"n{node}.gpu{l}.nic", LinkTier.Nic, interNode, $"n{node}.gpu{l}", $"n{node}.leaf", interNode.BandwidthGBps);
                _nicRx[g] = Add($"n{node}.gpu{l}.nic.rx", $"n{node}.gpu{l}.nic", LinkTier.Nic, interNode, $"n{node}.leaf", $"n{node}.gpu{l}", interNode.BandwidthGBps);
            }
            double uplink = interNode.BandwidthGBps * gpusPerNode / fabricOversubscription;
            for (int node = 0; node < nodes; node++)
            {
                _nodeUp[node] = Add($"n{node}->spine", $"n{node}.spine", LinkTier.Spine, interNode, $"n{node}.leaf", "spine", uplink);
                _nodeDown[node] = Add($"spine->n{node}", $"n{node}.spine", LinkTier.Spine, interNode, "spine", $"n{node}.leaf", uplink);
            }
        }
    }

    /// <summary>A topology from preset names with the GPU's default links and the fabric those links imply.</summary>
    public static ClusterTopology FromPresets(string gpuName, int nodes, int gpusPerNode,
        string? intraNode = null, string? interNode = null, double fabricOversubscription = 1.0)
    {
        var gpu = GpuPresets.Get(gpuName);
        var intra = LinkPresets.Get(intraNode ?? gpu.DefaultIntraNodeLink);
        var inter = LinkPresets.Get(interNode ?? gpu.DefaultInterNodeLink);
        return new ClusterTopology(gpu, nodes, gpusPerNode, intra, inter, DefaultFabricFor(intra), fabricOversubscription);
    }

    /// <summary>NVLink (and ideal) links imply an NVSwitch node; PCIe links a PCIe tree.</summary>
    public static IntraNodeFabric DefaultFabricFor(LinkSpec intraNode) =>
        intraNode.Kind == LinkKind.Pcie ? IntraNodeFabric.PcieTree : IntraNodeFabric.NvSwitch;

    public GpuSpec Gpu { get; }
    public int Nodes { get; }
    public int GpusPerNode { get; }
    public LinkSpec IntraNode { get; }
    public LinkSpec InterNode { get; }
    public IntraNodeFabric Fabric { get; }
    public double FabricOversubscription { get; }

    /// <summary>The intra-node link of <paramref name="node"/> (the same for every node unless built with per-node links).</summary>
    public LinkSpec IntraNodeOf(int node) => _intraByNode[node];

    /// <summary>Total GPUs (nodes x gpusPerNode).</summary>
    public int GpuCount => Nodes * GpusPerNode;

    /// <summary>Every directed link, indexed by <see cref="Link.Id"/>.</summary>
    public IReadOnlyList<Link> Links => _links;

    /// <summary>Physical link names (<see cref="Link.Port"/>), in link id order: what a <c>link_degraded</c> fault may name.</summary>
    public IReadOnlyList<string> Ports => _portNames;

    /// <summary>
    /// Bumped whenever a link's <see cref="Link.BandwidthFactor"/> changes, so timers that precompute from link
    /// bandwidths (the analytic collectives, the caching timer) know to recompute.
    /// </summary>
    public long ConditionsVersion { get; private set; }

    /// <summary>
    /// The physical link a user's name means: a <see cref="Ports"/> name (<c>n0.gpu3.nic</c>), a directed link name as
    /// links.csv writes it in flow mode (<c>n0.gpu3.nic.tx</c>), or <c>node&lt;N&gt;.nic&lt;M&gt;</c> for GPU M's NIC on
    /// node N. Null when nothing matches.
    /// </summary>
    public string? ResolvePort(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_ports.ContainsKey(name)) return name;
        foreach (var l in _links)
            if (string.Equals(l.Name, name, StringComparison.Ordinal)) return l.Port;
        var m = System.Text.RegularExpressions.Regex.Match(name, @"^node(\d+)\.nic(\d+)$");
        if (m.Success)
        {
            string port = $"n{m.Groups[1].Value}.gpu{m.Groups[2].Value}.nic";
            if (_ports.ContainsKey(port)) return port;
        }
        return null;
    }

    /// <summary>Sets both directions of physical link <paramref name="port"/> to deliver <paramref name="factor"/> of their bandwidth.</summary>
    public void SetPortFactor(string port, double factor)
    {
        if (!_ports.TryGetValue(port, out var links)) throw new ArgumentException($"no link named '{port}'", nameof(port));
        if (!(factor > 0) || double.IsInfinity(factor)) throw new ArgumentOutOfRangeException(nameof(factor), factor, "a bandwidth factor must be a finite number > 0");
        foreach (var l in links) l.BandwidthFactor = factor;
        ConditionsVersion++;
    }

    /// <summary>The node a global GPU id belongs to.</summary>
    public int NodeOf(int gpu)
    {
        CheckGpu(gpu);
        return gpu / GpusPerNode;
    }

    /// <summary>The GPU's index inside its node.</summary>
    public int LocalIndexOf(int gpu)
    {
        CheckGpu(gpu);
        return gpu % GpusPerNode;
    }

    /// <summary>
    /// The directed links a message from <paramref name="srcGpu"/> to <paramref name="dstGpu"/> crosses, in order.
    /// Same node: up + down through the switch (or the one direct pairwise link). Other node: source NIC, source node
    /// uplink, destination node downlink, destination NIC (GPUDirect RDMA: no hop through the intra-node fabric).
    /// Same GPU: empty.
    /// </summary>
    public IReadOnlyList<Link> Route(int srcGpu, int dstGpu)
    {
        CheckGpu(srcGpu);
        CheckGpu(dstGpu);
        if (srcGpu == dstGpu) return Array.Empty<Link>();
        int sn = srcGpu / GpusPerNode, dn = dstGpu / GpusPerNode;
        if (sn == dn)
        {
            if (Fabric == IntraNodeFabric.PairwiseNvLink)
                return new[] { _pairByNode![sn][(srcGpu % GpusPerNode) * GpusPerNode + dstGpu % GpusPerNode] };
            return new[] { _up[srcGpu], _down[dstGpu] };
        }
        return new[] { _nicTx[srcGpu], _nodeUp[sn], _nodeDown[dn], _nicRx[dstGpu] };
    }

    /// <summary>True when the two GPUs sit in different nodes.</summary>
    public bool CrossesNodes(int srcGpu, int dstGpu) => NodeOf(srcGpu) != NodeOf(dstGpu);

    /// <summary>Per-message latency (us) of a message between two GPUs: the latency of the tier it crosses.</summary>
    public double RouteLatencyUs(int srcGpu, int dstGpu)
    {
        if (srcGpu == dstGpu) return 0;
        return CrossesNodes(srcGpu, dstGpu) ? InterNode.LatencyUs : _intraByNode[srcGpu / GpusPerNode].LatencyUs;
    }

    private Link Add(string name, string port, LinkTier tier, LinkSpec spec, string from, string to, double bandwidthGBps)
    {
        var link = new Link(_links.Count, name, port, tier, spec, from, to, bandwidthGBps);
        _links.Add(link);
        if (!_ports.TryGetValue(port, out var list))
        {
            _ports[port] = list = new List<Link>(2);
            _portNames.Add(port);
        }
        list.Add(link);
        return link;
    }

    private void CheckGpu(int gpu)
    {
        if ((uint)gpu >= (uint)GpuCount)
            throw new ArgumentOutOfRangeException(nameof(gpu), $"GPU id {gpu} is outside 0..{GpuCount - 1}");
    }
}
