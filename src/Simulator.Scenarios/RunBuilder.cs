using System.Globalization;
using System.Text;
using System.Text.Json;
using Simulator.Hardware.Collectives;
using Simulator.Hardware.Specs;
using Simulator.Hardware.Topology;
using Simulator.Inference.Cost;
using Simulator.Inference.Memory;
using Simulator.Inference.Models;
using Simulator.Inference.Parallelism;
using Simulator.Inference.Serving;

namespace Simulator.Scenarios;

/// <summary>
/// A scenario resolved into the objects a run needs: hardware specs and topology, the model, the parallel plan
/// and its placement, the memory plan, one cost model per replica and the scheduler settings. Building it
/// checks everything that can be checked before a run; problems are reported at the scenario key's line.
/// </summary>
public sealed class BuiltScenario
{
    internal BuiltScenario(Scenario scenario, GpuSpec gpu, LinkSpec intra, LinkSpec inter, ClusterTopology topology,
        ModelSpec model, Precision precision, ParallelPlan plan, PlacementTable placement, MemoryPlan memory,
        ICollectiveTimer timer, CalibrationProfile profile, LinkSpec hostLink)
    {
        Scenario = scenario; Gpu = gpu; IntraNodeLink = intra; InterNodeLink = inter; Topology = topology;
        Model = model; Precision = precision; Plan = plan; Placement = placement; Memory = memory;
        Timer = timer; Profile = profile; HostLink = hostLink;
    }

    public Scenario Scenario { get; }
    public GpuSpec Gpu { get; }
    public LinkSpec IntraNodeLink { get; }
    public LinkSpec InterNodeLink { get; }
    public LinkSpec HostLink { get; }
    public ClusterTopology Topology { get; }
    public ModelSpec Model { get; }
    public Precision Precision { get; }
    public ParallelPlan Plan { get; }
    public PlacementTable Placement { get; }
    public MemoryPlan Memory { get; }

    /// <summary>How the memory plan budgeted KV room (from <c>memory_accounting</c>, or the engine).</summary>
    public MemoryAccounting MemoryAccounting { get; init; } = MemoryAccounting.Reserve;
    public ICollectiveTimer Timer { get; }
    public CalibrationProfile Profile { get; }

    /// <summary>The cost model of one replica (replicas differ only in which GPUs they occupy).</summary>
    public RooflineStageCostModel CostModel(int replica) => new(Model, Precision, Plan, Placement, Gpu, Profile, Timer, replica,
        new CostModelOptions
        {
            ExpertZipfExponent = Scenario.Moe.RoutingSkew,
            AllToAll = Scenario.Moe.AllToAll == "deepep_low_latency" ? MoeAllToAll.DeepEpLowLatency : MoeAllToAll.Nccl,
            Conditions = Topology,
        });

    /// <summary>
    /// The replica setups of the plan: one per replica, or under DP attention one per DP rank, each with its place in
    /// its engine (whose rank 0 prices the engine's MoE layers).
    /// </summary>
    public List<ReplicaSetup> ReplicaSetups(SchedulerConfig scheduler, ReplicaRole role = ReplicaRole.Mixed, long kvBytesPerToken = 0, int layers = 1)
    {
        var setups = new List<ReplicaSetup>(Plan.Replicas);
        RooflineStageCostModel? engine = null;
        for (int r = 0; r < Plan.Replicas; r++)
        {
            var cost = CostModel(r);
            DataParallelRank? dp = null;
            if (Plan.IsDataParallelAttention)
            {
                if (Plan.DpRankOf(r) == 0) engine = cost;
                dp = new DataParallelRank(Plan.DpRankOf(r), Plan.Dp, engine!);
            }
            setups.Add(new ReplicaSetup(cost, scheduler, Plan.Microbatches, role, kvBytesPerToken, layers, dp));
        }
        return setups;
    }

    /// <summary>The scheduler settings of every replica, with the KV capacity of the memory plan.</summary>
    public SchedulerConfig SchedulerConfig()
    {
        var s = Scenario.Scheduler;
        long kvBytesPerTokenPerGpu = (long)Math.Ceiling(MemoryPlanner.KvBytesPerTokenPerGpu(Model, Precision, Plan, Plan.StageLayerCounts(Model.Layers).Max()));
        return new SchedulerConfig(
            Policy: s.Policy,
            MaxNumSeqs: s.MaxNumSeqs,
            MaxNumBatchedTokens: s.MaxNumBatchedTokens,
            EnableChunkedPrefill: s.EnableChunkedPrefill,
            BlockSize: s.BlockSize,
            KvCapacityBlocks: (int)Math.Min(int.MaxValue, Memory.KvBlocks),
            Preemption: s.Preemption == "swap" ? PreemptionMode.Swap : PreemptionMode.Recompute,
            ChunkSize: s.ChunkSize ?? 512,
            KvBytesPerTokenPerGpu: kvBytesPerTokenPerGpu,
            HostLinkGBps: HostLink.BandwidthGBps,
            EnablePrefixCaching: s.EnablePrefixCaching,
            CpuOffloadBlocks: CpuOffloadBlocks(s.KvOffloadingSizeGB, s.BlockSize, kvBytesPerTokenPerGpu));
    }

    /// <summary>
    /// Blocks of a CPU KV tier of <paramref name="sizeGB"/> GB per replica: the size over a block's bytes on every GPU of
    /// the replica (as vLLM's --kv-offloading-size, the total over ranks; each GPU offloads its own shard).
    /// </summary>
    private long CpuOffloadBlocks(double? sizeGB, int blockSize, long kvBytesPerTokenPerGpu)
    {
        if (sizeGB is not double gb || kvBytesPerTokenPerGpu <= 0) return 0;
        double blockBytes = (double)blockSize * kvBytesPerTokenPerGpu * Plan.Tp * Plan.Pp * Plan.Cp;
        return (long)Math.Min(long.MaxValue / 2, Math.Floor(gb * 1e9 / blockBytes));
    }
}

/// <summary>A plan whose weights and buffers do not fit the GPUs: exit code 3, every bucket listed.</summary>
public sealed class PlanDoesNotFitException : Exception
{
    public PlanDoesNotFitException(string file, int line, MemoryPlan plan, string key = "parallelism", string? problem = null)
        : base($"error: {file}:{line}: {key}: {problem ?? "the plan does not fit in GPU memory"}; {plan.Describe()}")
    {
        Plan = plan;
    }

    public MemoryPlan Plan { get; }
}

/// <summary>Resolves scenarios: presets, inline specs, Hugging Face configs, plans and memory.</summary>
public static class RunBuilder
{
    /// <summary>Every preset name the scenario validator accepts.</summary>
    public static IPresetCatalog Catalog { get; } = new PresetCatalog(GpuPresets.Names, LinkPresets.Names, ModelPresets.Names);

    /// <summary>Loads a scenario file with overrides (and an optional seed override), validated against the presets.</summary>
    public static Scenario Load(string path, IReadOnlyList<string>? sets = null, int? seed = null)
    {
        var scenario = new ScenarioLoader(Catalog).Load(path, sets);
        return seed is { } s ? scenario with { Seed = s } : scenario;
    }

    /// <summary>Resolves a loaded scenario; throws <see cref="ScenarioException"/> (located errors) or <see cref="PlanDoesNotFitException"/>.</summary>
    public static BuiltScenario Build(Scenario scenario, bool requireFit = true)
    {
        var errors = new List<ScenarioError>();
        var loc = scenario.Locations;

        var gpu = Resolve(scenario.Cluster.Gpu, "cluster.gpu", GpuPresets.TryGet, InlineGpu, loc, errors);
        var intra = Resolve(scenario.Cluster.IntraNode, "cluster.intra_node", LinkPresets.TryGet, m => InlineLink(m, LinkKind.NvLink), loc, errors);
        var inter = Resolve(scenario.Cluster.InterNode, "cluster.inter_node", LinkPresets.TryGet, m => InlineLink(m, LinkKind.InfiniBand), loc, errors);
        var model = ResolveModel(scenario.Model, loc, errors);
        Precision? precision = null;
        try { precision = Precision.Parse(scenario.Precision.Weights, scenario.Precision.KvCache == "auto" ? scenario.Precision.Weights : scenario.Precision.KvCache); }
        catch (ArgumentException ex) { errors.Add(loc.ErrorAt("precision", ex.Message)); }
        if (errors.Count > 0) throw new ScenarioException(errors);

        var plan = PlanOf(scenario.Parallelism, model!, loc, errors);
        if (errors.Count > 0) throw new ScenarioException(errors);
        foreach (var problem in plan.Validate(model!, scenario.Cluster.TotalGpus))
            errors.Add(loc.ErrorAt(KeyOfPlanProblem(problem), problem));
        if (errors.Count > 0) throw new ScenarioException(errors);

        var topology = new ClusterTopology(gpu!, scenario.Cluster.Nodes, scenario.Cluster.GpusPerNode, intra!, inter!,
            ClusterTopology.DefaultFabricFor(intra!),
            scenario.Cluster.Fabric == "fat_tree" ? scenario.Cluster.Oversubscription : 1.0);
        FaultPlanning.CheckLinks(scenario, topology, errors);
        if (errors.Count > 0) throw new ScenarioException(errors);
        var placement = PlacementTable.Build(plan, new ClusterShape(scenario.Cluster.Nodes, scenario.Cluster.GpusPerNode));
        var s = scenario.Scheduler;
        var accounting = MemoryAccounting.Named(scenario.MemoryAccounting, scenario.Engine);
        var memory = MemoryPlanner.Plan(model!, precision!, plan, gpu!,
            new MemorySettings(s.MaxNumBatchedTokens, s.MaxNumSeqs, s.GpuMemoryUtilization, s.BlockSize, accounting));
        if (requireFit && !memory.Fits)
        {
            var at = loc.ErrorAt("parallelism", "");
            throw new PlanDoesNotFitException(at.File, at.Line, memory);
        }
        var timer = new CachingCollectiveTimer(new NcclCollectiveTimer(topology), topology);
        var hostLink = LinkPresets.Get(gpu!.Name.Contains("A100", StringComparison.OrdinalIgnoreCase) || gpu.Name.Contains("L40S", StringComparison.OrdinalIgnoreCase) ? "pcie4" : "pcie5");
        return new BuiltScenario(scenario, gpu, intra!, inter!, topology, model!, precision!, plan, placement, memory, timer,
            CalibrationProfile.Named(scenario.Calibration, gpu).WithEngine(scenario.Engine, HostCpu.Named(scenario.HostCpu, gpu), scenario.EngineVersion), hostLink)
        { MemoryAccounting = accounting };
    }

    /// <summary>
    /// The parallel plan of a <c>parallelism:</c> block. With <c>enable_expert_parallel</c> the expert group is the whole
    /// engine (EP = TP x DP, as vLLM) and <c>replicas</c> counts engines of DP ranks; the plan's replicas are the ranks.
    /// </summary>
    internal static ParallelPlan PlanOf(ParallelismSpec p, ModelSpec model, ScenarioLocations loc, List<ScenarioError> errors)
    {
        int ep = p.ExpertParallelSize, dp = p.DataParallelSize;
        if (p.EnableExpertParallel)
        {
            if (!model.IsMoe)
                errors.Add(loc.ErrorAt("parallelism.enable_expert_parallel", $"true but {model.Name} is dense (no experts); allowed: false, or a mixture-of-experts model"));
            else if (ep != 1 && ep != p.TensorParallelSize * dp)
                errors.Add(loc.ErrorAt("parallelism.expert_parallel_size", $"{ep} conflicts with enable_expert_parallel (EP = TP x DP = {p.TensorParallelSize * dp}); allowed: leave it at 1 or set {p.TensorParallelSize * dp}"));
            ep = model.IsMoe ? p.TensorParallelSize * Math.Max(1, dp) : 1;
        }
        return new ParallelPlan(p.TensorParallelSize, p.PipelineParallelSize, ep, p.ContextParallelSize, p.Replicas * Math.Max(1, dp),
            p.Microbatches, p.LayersPerStage, dp);
    }

    private static string KeyOfPlanProblem(string problem)
    {
        string p = problem.ToLowerInvariant();
        if (p.StartsWith("data_parallel_size", StringComparison.Ordinal)) return "parallelism.data_parallel_size";
        if (p.Contains("layers per stage")) return "parallelism.layers_per_stage";
        if (p.Contains("pipeline") || p.StartsWith("pp", StringComparison.Ordinal)) return "parallelism.pipeline_parallel_size";
        if (p.Contains("expert") || p.StartsWith("ep", StringComparison.Ordinal)) return "parallelism.expert_parallel_size";
        if (p.Contains("context") || p.StartsWith("cp", StringComparison.Ordinal)) return "parallelism.context_parallel_size";
        if (p.Contains("gpus") || p.Contains("cluster")) return "parallelism.replicas";
        if (p.Contains("microbatch")) return "parallelism.microbatches";
        return "parallelism.tensor_parallel_size";
    }

    private delegate bool TryGet<T>(string name, out T value);

    private static T? Resolve<T>(PresetOrSpec spec, string key, TryGet<T> tryGet, Func<SpecMap, T> inline, ScenarioLocations loc, List<ScenarioError> errors)
        where T : class
    {
        try
        {
            if (spec.Preset is { } name)
            {
                if (tryGet(name, out var value)) return value;
                errors.Add(loc.ErrorAt(key, $"unknown preset '{name}'"));
                return null;
            }
            if (spec.Inline is { } map) return inline(map);
        }
        catch (InlineSpecException ex)
        {
            errors.Add(loc.ErrorAt(key + "." + ex.Key, ex.Message));
            return null;
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or KeyNotFoundException)
        {
            errors.Add(loc.ErrorAt(key, ex.Message));
            return null;
        }
        errors.Add(loc.ErrorAt(key, "a preset name or an inline spec is required"));
        return null;
    }

    private static ModelSpec? ResolveModel(ModelRef model, ScenarioLocations loc, List<ScenarioError> errors)
    {
        try
        {
            if (model.Preset is { } name)
            {
                if (ModelPresets.TryGet(name, out var spec)) return spec;
                errors.Add(loc.ErrorAt("model", $"unknown model preset '{name}'; allowed: {string.Join(", ", ModelPresets.Names)}"));
                return null;
            }
            if (model.HfConfigPath is { } path) return HfConfigImporter.Load(path);
            if (model.Inline is { } map)
            {
                string inlineName = Text(map, "name") ?? "inline-model";
                return HfConfigImporter.Parse(ToJson(map), "model (inline)", inlineName);
            }
        }
        catch (ModelConfigException ex) when (ex.Key is { } key && model.Inline is not null)
        {
            errors.Add(loc.ErrorAt("model." + key, ex.Problem));
            return null;
        }
        catch (Exception ex) when (ex is ModelConfigException or IOException or JsonException or ArgumentException)
        {
            errors.Add(loc.ErrorAt(model.HfConfigPath is null ? "model" : "model.hf_config", ex.Message));
            return null;
        }
        errors.Add(loc.ErrorAt("model", "a preset name, {hf_config: path} or an inline config is required"));
        return null;
    }

    /// <summary>An inline GPU: name, memory_gb, hbm_tbps, bf16_tflops, fp8_tflops, int8_tops, fp32_tflops, sm_count, intra_node, inter_node.</summary>
    private static GpuSpec InlineGpu(SpecMap map) => new(
        Name: Text(map, "name") ?? "custom-gpu",
        MemoryGB: Positive(map, "memory_gb") ?? throw new InlineSpecException("memory_gb", "missing; an inline gpu needs memory_gb (GB of HBM)"),
        HbmTBps: Positive(map, "hbm_tbps") ?? throw new InlineSpecException("hbm_tbps", "missing; an inline gpu needs hbm_tbps (TB/s)"),
        Bf16Tflops: Positive(map, "bf16_tflops") ?? throw new InlineSpecException("bf16_tflops", "missing; an inline gpu needs bf16_tflops (dense TFLOP/s)"),
        Fp8Tflops: NonNegative(map, "fp8_tflops") ?? 0,
        Int8Tops: NonNegative(map, "int8_tops") ?? 0,
        Fp32Tflops: NonNegative(map, "fp32_tflops") ?? 0,
        DefaultIntraNodeLink: Text(map, "intra_node") ?? "nvlink4",
        DefaultInterNodeLink: Text(map, "inter_node") ?? "ib-ndr400",
        SmCount: (int)Math.Round(Positive(map, "sm_count") ?? 132),
        Source: "inline spec in the scenario");

    /// <summary>A problem with one key of an inline GPU or link spec (reported at that key's line).</summary>
    private sealed class InlineSpecException(string key, string message) : ArgumentException(message)
    {
        public string Key { get; } = key;
    }

    private static double? Positive(SpecMap map, string key) => Number(map, key) is { } v && !(v > 0)
        ? throw new InlineSpecException(key, $"{v.ToString("R", CultureInfo.InvariantCulture)} is out of range; expected a number > 0")
        : Number(map, key);

    private static double? NonNegative(SpecMap map, string key) => Number(map, key) is { } v && v < 0
        ? throw new InlineSpecException(key, $"{v.ToString("R", CultureInfo.InvariantCulture)} is out of range; expected a number >= 0")
        : Number(map, key);

    /// <summary>An inline link: name, kind (nvlink | pcie | infiniband | ethernet | ideal), bandwidth_gbps (per direction), latency_us.</summary>
    private static LinkSpec InlineLink(SpecMap map, LinkKind defaultKind)
    {
        var kindText = Text(map, "kind");
        var kind = kindText is null ? defaultKind : kindText.ToLowerInvariant() switch
        {
            "nvlink" => LinkKind.NvLink,
            "pcie" => LinkKind.Pcie,
            "infiniband" or "ib" => LinkKind.InfiniBand,
            "ethernet" or "roce" => LinkKind.Ethernet,
            "ideal" => LinkKind.Ideal,
            _ => throw new InlineSpecException("kind", $"'{kindText}' is not allowed; expected one of nvlink | pcie | infiniband | ethernet | ideal"),
        };
        return new LinkSpec(Text(map, "name") ?? "custom-link", kind,
            Positive(map, "bandwidth_gbps") ?? throw new InlineSpecException("bandwidth_gbps", "missing; an inline link needs bandwidth_gbps (GB/s per direction)"),
            NonNegative(map, "latency_us") ?? throw new InlineSpecException("latency_us", "missing; an inline link needs latency_us"),
            "inline spec in the scenario");
    }

    private static string? Text(SpecMap map, string key) => map[key] switch
    {
        null => null,
        SpecScalar s => s.Text,
        _ => throw new ArgumentException($"{key} must be a single value"),
    };

    private static double? Number(SpecMap map, string key)
    {
        if (map[key] is null) return null;
        var v = map.GetDouble(key) ?? throw new InlineSpecException(key, $"expected a number, got {map[key]!.ToFlowText()}");
        return double.IsFinite(v) ? v : throw new InlineSpecException(key, $"expected a finite number, got {map[key]!.ToFlowText()}");
    }

    private static string ToJson(SpecMap map)
    {
        var sb = new StringBuilder();
        Write(map, sb);
        return sb.ToString();

        static void Write(SpecValue v, StringBuilder sb)
        {
            switch (v)
            {
                case SpecMap m:
                    sb.Append('{');
                    for (int i = 0; i < m.Entries.Count; i++)
                    {
                        if (i > 0) sb.Append(',');
                        sb.Append(JsonText.Quote(m.Entries[i].Key)).Append(':');
                        Write(m.Entries[i].Value, sb);
                    }
                    sb.Append('}');
                    break;
                case SpecList l:
                    sb.Append('[');
                    for (int i = 0; i < l.Items.Count; i++) { if (i > 0) sb.Append(','); Write(l.Items[i], sb); }
                    sb.Append(']');
                    break;
                case SpecScalar s:
                    if (!s.Quoted && (double.TryParse(s.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out _) || s.Text is "true" or "false" or "null"))
                        sb.Append(s.Text);
                    else sb.Append(JsonText.Quote(s.Text));
                    break;
            }
        }
    }
}
