using Simulator.Hardware.Specs;
using Simulator.Hardware.Topology;
using Simulator.Inference.Memory;
using Simulator.Inference.Serving;

namespace Simulator.Scenarios;

/// <summary>
/// One pool resolved: its own <see cref="BuiltScenario"/> (GPU, links, plan, placement, memory plan, cost models, all
/// pool-local: GPU 0 is the pool's first GPU) and where it sits in the run: its first global GPU and first replica index.
/// </summary>
public sealed class BuiltPool
{
    internal BuiltPool(PoolSpec spec, BuiltScenario built, int firstGpu, int firstReplica)
    {
        Spec = spec; Built = built; FirstGpu = firstGpu; FirstReplica = firstReplica;
    }

    public PoolSpec Spec { get; }
    public BuiltScenario Built { get; }

    /// <summary>Global id (in <see cref="BuiltPools.Topology"/>) of the pool's GPU 0.</summary>
    public int FirstGpu { get; }

    /// <summary>Run-wide index of the pool's replica 0 (replicas are numbered pool by pool, in the order written).</summary>
    public int FirstReplica { get; }

    public int Replicas => Built.Plan.Replicas;

    public ReplicaRole Role => Spec.Role switch
    {
        PoolRoles.Prefill => ReplicaRole.Prefill,
        PoolRoles.Decode => ReplicaRole.Decode,
        _ => ReplicaRole.Mixed,
    };

    /// <summary>
    /// KV bytes of one token over the whole model: layers x 2 x KV heads x head dim x KV bytes (MLA: layers x latent
    /// elements x bytes), i.e. the per-GPU figure of a TP = PP = CP = 1 plan. What a hand-off moves per prompt token.
    /// </summary>
    public long KvBytesPerToken => (long)Math.Round(MemoryPlanner.KvBytesPerTokenPerGpu(Built.Model, Built.Precision,
        new Simulator.Inference.Parallelism.ParallelPlan(), Built.Model.Layers));

    /// <summary>Global GPU id of the pool's (replica, stage 0, TP rank) GPU; <paramref name="replica"/> is pool-local.</summary>
    public int GlobalGpu(int replica, int tpRank) => FirstGpu + Built.Placement.GpuOf(replica, 0, tpRank);
}

/// <summary>
/// A scenario with <c>pools:</c> resolved: each pool built as a scenario of its own (so a pool keeps exactly the
/// numbers a single-pool scenario of the same shape gives), and one cluster topology with every pool's nodes side by
/// side (node i has the intra-node link of the pool that owns it), joined by <c>cluster.inter_node</c>.
/// </summary>
public sealed class BuiltPools
{
    internal BuiltPools(Scenario scenario, IReadOnlyList<BuiltPool> pools, ClusterTopology topology, LinkSpec inter)
    {
        Scenario = scenario; Pools = pools; Topology = topology; InterNodeLink = inter;
        var owner = new List<int>();
        for (int i = 0; i < pools.Count; i++) for (int r = 0; r < pools[i].Replicas; r++) owner.Add(i);
        _poolOfReplica = owner.ToArray();
    }

    private readonly int[] _poolOfReplica;

    public Scenario Scenario { get; }
    public IReadOnlyList<BuiltPool> Pools { get; }
    public ClusterTopology Topology { get; }
    public LinkSpec InterNodeLink { get; }

    /// <summary>Replicas of every pool.</summary>
    public int Replicas => _poolOfReplica.Length;

    /// <summary>The pool of run-wide replica <paramref name="replica"/>.</summary>
    public BuiltPool PoolOf(int replica) => Pools[_poolOfReplica[replica]];

    /// <summary>Index in <see cref="Pools"/> of the pool of run-wide replica <paramref name="replica"/>.</summary>
    public int PoolIndexOf(int replica) => _poolOfReplica[replica];

    /// <summary>True when some pool has the prefill role (and therefore some other the decode role).</summary>
    public bool Disaggregated => Pools.Any(p => p.Role == ReplicaRole.Prefill);
}

/// <summary>Builds <see cref="BuiltPools"/>: pool by pool through <see cref="RunBuilder.Build"/>, errors located at the pool's keys.</summary>
public static class PoolBuilder
{
    private static readonly string[] PoolSections = ["parallelism", "scheduler", "precision"];
    private static readonly (string Pool, string Cluster)[] ClusterKeys =
        [("gpu", "cluster.gpu"), ("nodes", "cluster.nodes"), ("gpus_per_node", "cluster.gpus_per_node"), ("intra_node", "cluster.intra_node")];

    /// <summary>Resolves every pool; throws <see cref="ScenarioException"/> (located errors) or <see cref="PlanDoesNotFitException"/>.</summary>
    /// <param name="scenario">A scenario with pools.</param>
    /// <param name="requireFit">False: build pools whose plan does not fit too (<c>sim memory</c> lists their buckets).</param>
    public static BuiltPools Build(Scenario scenario, bool requireFit = true)
    {
        if (scenario.Pools.Count == 0) throw new ArgumentException("the scenario has no pools", nameof(scenario));
        var loc = scenario.Locations;
        var errors = new List<ScenarioError>();
        var built = new List<BuiltPool>();
        int gpu = 0, replica = 0;
        foreach (var pool in scenario.Pools)
        {
            var one = scenario with
            {
                Cluster = scenario.Cluster with { Gpu = pool.Gpu, Nodes = pool.Nodes, GpusPerNode = pool.GpusPerNode, IntraNode = pool.IntraNode },
                Parallelism = pool.Parallelism, Scheduler = pool.Scheduler, Precision = pool.Precision,
                // Faults name the whole cluster's GPUs and links: checked and planned on the joined topology below.
                Pools = [], Faults = FaultsSpec.None, Locations = PoolLocations(loc, pool.Name),
            };
            try
            {
                var b = RunBuilder.Build(one, requireFit);
                built.Add(new BuiltPool(pool, b, gpu, replica));
                replica += b.Plan.Replicas;
            }
            catch (ScenarioException ex)
            {
                errors.AddRange(ex.Errors.Select(e => e with { KeyPath = PoolKey(pool.Name, e.KeyPath) }));
            }
            catch (PlanDoesNotFitException ex)
            {
                var at = loc.Find($"pools.{pool.Name}.parallelism");
                throw new PlanDoesNotFitException(at.File, at.Line, ex.Plan, $"pools.{pool.Name}.parallelism",
                    $"pool {pool.Name}'s plan does not fit in {PresetName(pool.Gpu)} memory");
            }
            gpu += pool.Gpus;
        }
        if (errors.Count > 0) throw new ScenarioException(errors);

        var inter = built[0].Built.InterNodeLink;
        int perNode = scenario.Cluster.GpusPerNode;
        int nodes = (gpu + perNode - 1) / perNode;
        var intraByNode = new LinkSpec[nodes];
        foreach (var p in built)
            for (int n = p.FirstGpu / perNode; n <= (p.FirstGpu + p.Spec.Gpus - 1) / perNode; n++)
                intraByNode[n] ??= p.Built.IntraNodeLink;
        var first = built[0].Built;
        var topology = new ClusterTopology(first.Gpu, nodes, perNode, first.IntraNodeLink, inter,
            ClusterTopology.DefaultFabricFor(first.IntraNodeLink),
            scenario.Cluster.Fabric == "fat_tree" ? scenario.Cluster.Oversubscription : 1.0, intraByNode);
        FaultPlanning.CheckLinks(scenario, topology, errors);
        if (errors.Count > 0) throw new ScenarioException(errors);
        return new BuiltPools(scenario, built, topology, inter);
    }

    /// <summary>
    /// Fails with exit code 3 when a decode pool's KV cache (above the admission watermark) cannot hold the workload's
    /// longest request (prompt + output): that request could never be decoded anywhere in the pool.
    /// </summary>
    public static void CheckDecodeCapacity(BuiltPools pools, long longestRequestTokens)
    {
        foreach (var p in pools.Pools.Where(p => p.Role == ReplicaRole.Decode))
        {
            var config = p.Built.SchedulerConfig();
            long usable = config.KvCapacityBlocks - (long)Math.Floor(config.WatermarkFraction * config.KvCapacityBlocks);
            long needed = (longestRequestTokens + config.BlockSize - 1) / config.BlockSize;
            if (needed <= usable) continue;
            var at = pools.Scenario.Locations.Find($"pools.{p.Spec.Name}.parallelism");
            throw new PlanDoesNotFitException(at.File, at.Line, p.Built.Memory, $"pools.{p.Spec.Name}.parallelism",
                $"decode pool {p.Spec.Name}'s KV cache holds {usable * config.BlockSize} tokens but the workload's longest request needs {longestRequestTokens} (prompt + output); expected a larger decode plan (more TP, more memory per GPU) or shorter requests");
        }
    }

    private static string PresetName(PresetOrSpec spec) => spec.Preset ?? "the inline GPU's";

    /// <summary>A key of the pool's own build, named as the user wrote it (<c>parallelism.x</c> -> <c>pools.P.parallelism.x</c>).</summary>
    private static string PoolKey(string pool, string key)
    {
        foreach (var (poolKey, clusterKey) in ClusterKeys)
            if (key == clusterKey) return $"pools.{pool}.{poolKey}";
        foreach (var section in PoolSections)
            if (key == section || key.StartsWith(section + ".", StringComparison.Ordinal)) return $"pools.{pool}.{key}";
        return key;
    }

    /// <summary>The scenario's locations as one pool's build sees them: its sections at the pool's lines.</summary>
    private static ScenarioLocations PoolLocations(ScenarioLocations loc, string pool)
    {
        string prefix = $"pools.{pool}.";
        var poolLine = loc.Find($"pools.{pool}");
        var entries = new Dictionary<string, (string File, int Line)>(StringComparer.Ordinal);
        foreach (var (k, v) in loc.Entries) entries[k] = v;
        foreach (var section in PoolSections) entries[section] = poolLine;
        foreach (var (_, clusterKey) in ClusterKeys) entries[clusterKey] = poolLine;
        foreach (var (k, v) in loc.Entries)
        {
            if (!k.StartsWith(prefix, StringComparison.Ordinal)) continue;
            string rest = k[prefix.Length..];
            var cluster = ClusterKeys.FirstOrDefault(c => c.Pool == rest).Cluster;
            entries[cluster ?? rest] = v;
        }
        return new ScenarioLocations(loc.File, entries);
    }
}
