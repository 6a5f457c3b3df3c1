using YamlDotNet.RepresentationModel;

namespace Simulator.Scenarios;

internal sealed partial class ScenarioBinder
{
    /// <summary>The allowed fault kinds, as the scenario spells them.</summary>
    public static readonly IReadOnlyList<string> FaultKinds = ["gpu_down", "node_down", "straggler", "link_degraded"];

    /// <summary>
    /// Binds <c>faults</c>, <c>random_faults</c>, <c>retry</c> and <c>recovery</c>. GPU and node indices are checked
    /// against the cluster here; link names need the topology and are checked when the scenario is built.
    /// </summary>
    private FaultsSpec BindFaults(MapReader root, YamlNode owner, ClusterSpec cluster)
    {
        var scripted = new List<FaultSpec>();
        var list = root.Node("faults");
        if (list is YamlSequenceNode seq)
        {
            for (int i = 0; i < seq.Children.Count; i++)
                if (BindFault(seq.Children[i], $"faults[{i}]", cluster) is { } f) scripted.Add(f);
        }
        else if (list is not null && !IsNull(list))
        {
            Error(list, "faults", $"expected a list of {{at_s, kind, gpu | node | link, duration_s, slowdown, bandwidth_factor}}, got {Describe(list)}");
        }

        var random = new MapReader(this, root.Node("random_faults"), "random_faults", owner);
        double? mtbf = random.DoubleOrNull("gpu_mtbf_hours", 0, minExclusive: true, required: random.Owner != owner, nullable: false);
        double repair = random.Double("repair_s", FaultsSpec.DefaultRepairS, 0, minExclusive: true);
        random.Finish();

        var retry = new MapReader(this, root.Node("retry"), "retry", owner);
        int maxRetries = retry.Int("max_retries", Simulator.Inference.Serving.FaultSettings.DefaultMaxRetries, 0, 1000);
        retry.Finish();

        var recovery = new MapReader(this, root.Node("recovery"), "recovery", owner);
        double loadGBps = recovery.Double("weight_load_gbps", FaultsSpec.DefaultWeightLoadGBps, 0, minExclusive: true);
        recovery.Finish();

        return new FaultsSpec { Scripted = scripted, GpuMtbfHours = mtbf, RepairS = repair, MaxRetries = maxRetries, WeightLoadGBps = loadGBps };
    }

    /// <summary>
    /// The whole cluster of a scenario with pools, as fault targets name it: the pools' GPUs side by side (pool by pool,
    /// as <see cref="PoolBuilder"/> numbers them), cut into nodes of the top-level <c>cluster.gpus_per_node</c>.
    /// </summary>
    private static ClusterSpec PoolCluster(ClusterSpec cluster, IReadOnlyList<PoolSpec> pools)
    {
        int gpus = pools.Sum(p => p.Gpus);
        return cluster with { Nodes = Math.Max(1, (gpus + cluster.GpusPerNode - 1) / cluster.GpusPerNode) };
    }

    private FaultSpec? BindFault(YamlNode node, string path, ClusterSpec cluster)
    {
        if (node is not YamlMappingNode)
        {
            Error(node, path, $"expected a mapping {{at_s, kind, gpu | node | link, ...}}, got {Describe(node)}");
            return null;
        }
        int errors = Errors.Count;
        var m = new MapReader(this, node, path, node);
        double? at = m.DoubleOrNull("at_s", 0, required: true, nullable: false);
        bool hasKind = m.Has("kind");
        string kind = m.Enum("kind", "", FaultKinds);
        if (!hasKind) m.Missing("kind", "one of " + string.Join(" | ", FaultKinds));
        double? duration = m.DoubleOrNull("duration_s", 0, minExclusive: true);
        int? gpu = null, node_ = null;
        string? link = null;
        double slowdown = 1.0, factor = 1.0;
        string only = "applies only to kind: ";
        switch (kind)
        {
            case "gpu_down" or "straggler":
                gpu = m.IntOrNull("gpu", 0, cluster.TotalGpus - 1, required: true);
                break;
            case "node_down":
                node_ = m.IntOrNull("node", 0, cluster.Nodes - 1, required: true);
                break;
            case "link_degraded":
                link = m.String("link", "", required: true, expected: "a link name (e.g. n0.gpu3.nic; see links.csv in flow mode)");
                if (m.Has("link") && link.Length == 0) Error(m.Node("link"), path + ".link", "expected a link name, got ''");
                break;
        }
        if (kind.Length == 0)
            foreach (var k in new[] { "gpu", "node", "link", "slowdown", "bandwidth_factor" }) m.Node(k); // one error for a bad kind, not one per key
        if (kind == "straggler") slowdown = m.DoubleOrNull("slowdown", 1.0, required: true, nullable: false) ?? 1.0;
        if (kind == "link_degraded") factor = m.DoubleOrNull("bandwidth_factor", 0, minExclusive: true, max: 1.0, required: true, nullable: false) ?? 1.0;
        if (kind is not ("gpu_down" or "straggler")) m.NotApplicable("gpu", only + "gpu_down or straggler");
        if (kind != "node_down") m.NotApplicable("node", only + "node_down");
        if (kind != "link_degraded") { m.NotApplicable("link", only + "link_degraded"); m.NotApplicable("bandwidth_factor", only + "link_degraded"); }
        if (kind != "straggler") m.NotApplicable("slowdown", only + "straggler");
        m.Finish();
        if (Errors.Count > errors || at is null || kind.Length == 0) return null;
        return new FaultSpec
        {
            AtS = at.Value, Kind = kind, Gpu = gpu, Node = node_, Link = link, DurationS = duration,
            Slowdown = slowdown, BandwidthFactor = factor,
        };
    }
}
