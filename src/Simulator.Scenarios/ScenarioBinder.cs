using System.Text.RegularExpressions;
using Simulator.Inference.Workload;
using YamlDotNet.RepresentationModel;

namespace Simulator.Scenarios;

/// <summary>
/// Turns a YAML node tree into a <see cref="Scenario"/>, collecting every problem as a located
/// <see cref="ScenarioError"/>. Node origins (file or --set, line) come from the loader.
/// </summary>
internal sealed partial class ScenarioBinder
{
    private readonly IReadOnlyDictionary<YamlNode, (string File, int Line)> _origins;
    private readonly IPresetCatalog _catalog;
    private readonly Dictionary<string, (string File, int Line)> _locations = new(StringComparer.Ordinal);

    public ScenarioBinder(IReadOnlyDictionary<YamlNode, (string File, int Line)> origins, string file, string baseDirectory, IPresetCatalog catalog)
    {
        _origins = origins;
        File = file;
        BaseDirectory = baseDirectory;
        _catalog = catalog;
    }

    public string File { get; }
    public string BaseDirectory { get; }
    public List<ScenarioError> Errors { get; } = [];

    public (string File, int Line) Where(YamlNode? node) =>
        node != null && _origins.TryGetValue(node, out var at) ? at : (File, 1);

    public void Error(YamlNode? node, string keyPath, string message)
    {
        var (file, line) = Where(node);
        Errors.Add(new ScenarioError(file, line, keyPath, message));
    }

    /// <summary>An error about a key that is missing or about a whole section: located at the nearest written parent key.</summary>
    public void ErrorAtOwner(YamlNode? owner, string keyPath, string message)
    {
        string path = keyPath;
        while (true)
        {
            if (_locations.TryGetValue(path, out var at))
            {
                Errors.Add(new ScenarioError(at.File, at.Line, keyPath, message));
                return;
            }
            int dot = path.LastIndexOf('.');
            if (dot < 0) break;
            path = path[..dot];
        }
        Error(owner, keyPath, message);
    }

    public void Record(string keyPath, YamlNode keyNode) => _locations[keyPath] = Where(keyNode);

    /// <summary>Records the lines of an inline spec's keys, so checks after loading can blame <c>model.hidden_size</c> itself.</summary>
    private void RecordChildren(string path, YamlMappingNode map)
    {
        foreach (var (k, _) in map.Children)
            if (k is YamlScalarNode ks && ks.Value is { Length: > 0 } name) Record(path + "." + name, k);
    }

    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode s && s.Style is not (YamlDotNet.Core.ScalarStyle.SingleQuoted or YamlDotNet.Core.ScalarStyle.DoubleQuoted)
        && (string.IsNullOrEmpty(s.Value) || s.Value is "~" or "null" or "Null" or "NULL");

    public static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        YamlScalarNode s when IsNull(s) => "null",
        YamlScalarNode s => $"'{s.Value}'",
        _ => "an unsupported node",
    };

    [GeneratedRegex("^[A-Za-z0-9._-]+$")]
    private static partial Regex NamePattern();

    /// <summary>Binds the root mapping; returns null when any error was found. Sweep axes are parsed by the loader.</summary>
    public Scenario? Bind(YamlMappingNode root, string defaultName, SweepSpec sweep)
    {
        var m = new MapReader(this, root, "", root);
        string name = m.String("name", defaultName);
        if (!NamePattern().IsMatch(name)) Error(m.Node("name"), "name", $"'{name}' is not a valid name; expected letters, digits, '.', '_' or '-' (it names the run's folder)");
        int seed = m.IntOrNull("seed", 0) ?? 1;
        var cluster = BindCluster(m.Node("cluster"), root);
        var network = new MapReader(this, m.Node("network"), "network", root);
        var networkSpec = new NetworkSpec { Model = network.Enum("model", "analytic", ScenarioEnums.NetworkModels) };
        network.Finish();
        var modelNode = m.Node("model");
        ModelRef? model = null;
        if (modelNode is null || IsNull(modelNode)) Error(modelNode ?? root, "model", "missing; expected a model preset name, {hf_config: path/to/config.json} or an inline spec map");
        else model = BindModel(modelNode);
        var precision = BindPrecision(m.Node("precision"), root);
        var parallelism = BindParallelism(m.Node("parallelism"), root);
        string? engineOrNull = m.EnumOrNull("engine", "vllm", Simulator.Inference.Cost.CalibrationProfile.EngineNames);
        string engine = engineOrNull ?? "vllm";
        string engineVersion = m.String("engine_version", "auto", expected: Simulator.Inference.Cost.EngineHostProfile.ReleaseForms);
        // The version is checked against a valid engine only: a misspelt engine is its own error, not this key's.
        if (engineOrNull is not null)
        {
            try { engineVersion = Simulator.Inference.Cost.EngineHostProfile.Check(engine, engineVersion); }
            catch (ArgumentException ex) { Error(m.Node("engine_version") ?? root, "engine_version", ex.Message); }
        }
        // The engine picks the scheduler a scenario gets by default, as it picks the memory rule: TensorRT-LLM's own
        // (GUARANTEED_NO_EVICT, chunked context off) under engine: trtllm; keys the scenario sets still win.
        var scheduler = BindScheduler(m.Node("scheduler"), root,
            defaults: engine == "trtllm" ? new SchedulerSpec { Policy = "trtllm", EnableChunkedPrefill = false } : null);
        string router = m.Enum("router", "round_robin", ScenarioEnums.Routers);
        var routerReader = new MapReader(this, m.Node("router_options"), "router_options", root);
        var routerDefaults = new RouterOptionsSpec();
        var routerOptions = new RouterOptionsSpec
        {
            CacheThreshold = routerReader.Double("cache_threshold", routerDefaults.CacheThreshold, 0, max: 1),
            BalanceAbsThreshold = routerReader.Int("balance_abs_threshold", routerDefaults.BalanceAbsThreshold, 0),
            BalanceRelThreshold = routerReader.Double("balance_rel_threshold", routerDefaults.BalanceRelThreshold, 1),
        };
        routerReader.Finish();
        string calibration = m.Enum("calibration", "auto", Simulator.Inference.Cost.CalibrationProfile.Names);
        string memoryAccounting = m.Enum("memory_accounting", "auto", Simulator.Inference.Memory.MemoryAccounting.Names);
        string hostCpu = m.Enum("host_cpu", "auto", Simulator.Inference.Cost.HostCpu.Names);
        var frontEndReader = new MapReader(this, m.Node("frontend"), "frontend", root);
        string frontEndModel = frontEndReader.Enum("model", "delay", FrontEndSpec.Models);
        if (frontEndModel != "queue") frontEndReader.NotApplicable("api_server_count", "applies only to frontend.model: queue (the delay model has no servers); set model: queue or remove it");
        var frontEnd = new FrontEndSpec
        {
            Model = frontEndModel,
            ApiServerCount = frontEndModel == "queue" ? frontEndReader.Int("api_server_count", 1, 1, FrontEndSpec.MaxApiServerCount) : 1,
            PerRequestUs = frontEndReader.DoubleOrNull("per_request_us", 0, max: FrontEndSpec.MaxCostUs),
            PerInputTokenUs = frontEndReader.DoubleOrNull("per_input_token_us", 0, max: FrontEndSpec.MaxCostUs),
            PerOutputTokenUs = frontEndReader.DoubleOrNull("per_output_token_us", 0, max: FrontEndSpec.MaxCostUs),
        };
        frontEndReader.Finish();
        var workloadNode = m.Node("workload");
        WorkloadSpec? workload = null;
        if (workloadNode is null || IsNull(workloadNode)) Error(workloadNode ?? root, "workload", "missing; expected trace: {path: ...} or arrivals, input_tokens, output_tokens with requests or duration_s");
        else workload = BindWorkload(workloadNode);
        var slo = BindSlo(m.Node("slo"), root);
        var moeReader = new MapReader(this, m.Node("moe"), "moe", root);
        var moe = new MoeSpec
        {
            RoutingSkew = moeReader.Double("routing_skew", 0.0, 0.0),
            AllToAll = moeReader.Enum("all_to_all", "nccl", ["nccl", "deepep_low_latency"]),
        };
        moeReader.Finish();
        m.Node("sweep"); // parsed by the loader
        var pools = BindPools(m.Node("pools"), root, cluster, parallelism, scheduler, precision);
        var faults = BindFaults(m, root, pools.Count == 0 ? cluster : PoolCluster(cluster, pools));
        var kvReader = new MapReader(this, m.Node("kv_transfer"), "kv_transfer", root);
        var kvTransfer = new KvTransferSpec { Mode = kvReader.Enum("mode", "after_prefill", KvTransferSpec.Modes) };
        if (kvTransfer.Mode == "layerwise" && networkSpec.Model == "flow")
            Error(kvReader.Node("mode"), "kv_transfer.mode", "layerwise overlap is modelled with network.model: analytic only; expected after_prefill under network.model: flow");
        kvReader.Finish();
        string decodeRouter = m.Enum("decode_router", "least_outstanding", ScenarioEnums.Routers);
        var cost = BindCost(m.Node("cost"), root);
        var planSpec = BindPlanSpec(m.Node("plan"), root);
        var output = new MapReader(this, m.Node("output"), "output", root);
        var outputSpec = new OutputSpec
        {
            TimeseriesIntervalS = output.Double("timeseries_interval_s", 1.0, 0, minExclusive: true),
            TimelineMaxEvents = output.Int("timeline_max_events", 20_000, 0),
            Format = output.Enum("format", "csv", ScenarioEnums.OutputFormats),
            Iterations = output.Enum("iterations", "auto", ScenarioEnums.IterationOutputs),
            IterationsMaxRows = output.Int("iterations_max_rows", (int)Simulator.Inference.Metrics.IterationOutput.DefaultMaxRows, 2),
        };
        output.Finish();
        var run = new MapReader(this, m.Node("run"), "run", root);
        var runSpec = new RunSpec { Threads = run.AutoOrInt("threads", 0, 1) };
        run.Finish();
        m.Finish();
        if (Errors.Count > 0 || model is null || workload is null) return null;
        return new Scenario
        {
            Name = name, Seed = seed, Cluster = cluster, Network = networkSpec, Model = model, Precision = precision,
            Parallelism = parallelism, Scheduler = scheduler, Router = router, RouterOptions = routerOptions, Engine = engine, EngineVersion = engineVersion, Calibration = calibration, MemoryAccounting = memoryAccounting, HostCpu = hostCpu, FrontEnd = frontEnd, Workload = workload, Slo = slo, Moe = moe, Sweep = sweep,
            Output = outputSpec, Run = runSpec, Faults = faults, Pools = pools, KvTransfer = kvTransfer, DecodeRouter = decodeRouter,
            Cost = cost, Plan = planSpec,
            Locations = new ScenarioLocations(File, _locations),
        };
    }

    private ClusterSpec BindCluster(YamlNode? node, YamlNode owner)
    {
        var m = new MapReader(this, node, "cluster", owner);
        var d = new ClusterSpec();
        var spec = new ClusterSpec
        {
            Gpu = PresetOrInline(m, "gpu", d.Gpu, _catalog.Gpus, "GPU"),
            Nodes = m.Int("nodes", d.Nodes, 1),
            GpusPerNode = m.Int("gpus_per_node", d.GpusPerNode, 1),
            IntraNode = PresetOrInline(m, "intra_node", d.IntraNode, _catalog.Links, "link"),
            InterNode = PresetOrInline(m, "inter_node", d.InterNode, _catalog.Links, "link"),
            Fabric = m.Enum("fabric", d.Fabric, ScenarioEnums.Fabrics),
            Oversubscription = m.Double("oversubscription", d.Oversubscription, 1.0),
        };
        m.Finish();
        return spec;
    }

    private PresetOrSpec PresetOrInline(MapReader m, string key, PresetOrSpec fallback, IReadOnlyCollection<string> presets, string kind)
    {
        var node = m.Node(key);
        if (node is null) return fallback;
        string path = m.KeyPath(key);
        switch (node)
        {
            case YamlScalarNode s when !IsNull(s):
                return PresetOrSpec.Of(CheckPreset(s, path, presets, kind));
            case YamlMappingNode map:
                RecordChildren(path, map);
                return new PresetOrSpec(null, (SpecMap)ToSpec(map));
            default:
                Error(node, path, $"expected a {kind} preset name or an inline spec map, got {Describe(node)}");
                return fallback;
        }
    }

    private string CheckPreset(YamlScalarNode s, string path, IReadOnlyCollection<string> presets, string kind)
    {
        string name = s.Value ?? "";
        if (presets.Count == 0) return name;
        var match = presets.FirstOrDefault(p => string.Equals(p, name, StringComparison.OrdinalIgnoreCase));
        if (match != null) return match;
        string hint = Suggest.Closest(name, presets) is string c ? $" (did you mean '{c}'?)" : "";
        Error(s, path, $"unknown {kind} preset '{name}'{hint}; expected one of {string.Join(", ", presets)}, or an inline spec map");
        return name;
    }

    private ModelRef? BindModel(YamlNode node)
    {
        switch (node)
        {
            case YamlScalarNode s:
                return ModelRef.Of(CheckPreset(s, "model", _catalog.Models, "model"));
            case YamlMappingNode map when map.Children.Keys.OfType<YamlScalarNode>().Any(k => k.Value == "hf_config"):
                var m = new MapReader(this, map, "model", map);
                string? path = m.FilePath("hf_config", required: true, "a Hugging Face config.json");
                m.Finish();
                if (map.Children.Count > 1) return null; // Finish reported the extra keys
                return path is null ? null : new ModelRef(null, path, null);
            case YamlMappingNode map:
                RecordChildren("model", map);
                return new ModelRef(null, null, (SpecMap)ToSpec(map));
            default:
                Error(node, "model", $"expected a model preset name, {{hf_config: path}} or an inline spec map, got {Describe(node)}");
                return null;
        }
    }

    private PrecisionSpec BindPrecision(YamlNode? node, YamlNode owner, string path = "precision", PrecisionSpec? defaults = null)
    {
        var m = new MapReader(this, node, path, owner);
        string weights = m.Enum("weights", defaults?.Weights ?? "bf16", ScenarioEnums.Dtypes);
        string kv = m.Enum("kv_cache", defaults is not null && !m.Has("weights") ? defaults.KvCache : "auto", ScenarioEnums.KvDtypes);
        m.Finish();
        if (kv == "auto") kv = weights is "int8" or "int4" ? "bf16" : weights;
        return new PrecisionSpec { Weights = weights, KvCache = kv };
    }

    /// <summary>
    /// The <c>pools:</c> block: name -> pool, each key defaulting to the top-level value. Checks what a pool layout
    /// needs before anything is built: roles, a prefill side for every decode side (and the reverse), pools that tile
    /// the cluster's nodes, and the limits of the disaggregated path (PP = CP = 1 in prefill and decode pools).
    /// </summary>
    private IReadOnlyList<PoolSpec> BindPools(YamlNode? node, YamlNode owner, ClusterSpec cluster, ParallelismSpec parallelism,
        SchedulerSpec scheduler, PrecisionSpec precision)
    {
        if (node is null || IsNull(node)) return [];
        if (node is not YamlMappingNode map)
        {
            Error(node, "pools", $"expected a mapping of pool name -> {{role, gpu, nodes, gpus_per_node, intra_node, parallelism, scheduler, precision}}, got {Describe(node)}");
            return [];
        }
        var pools = new List<PoolSpec>();
        var keyNodes = new List<YamlNode>();
        int errorsBefore = Errors.Count;
        foreach (var (k, v) in map.Children)
        {
            string name = (k as YamlScalarNode)?.Value ?? "";
            string path = "pools." + name;
            Record(path, k);
            if (!NamePattern().IsMatch(name)) { Error(k, path, $"'{name}' is not a valid pool name; expected letters, digits, '.', '_' or '-'"); continue; }
            var m = new MapReader(this, v, path, k);
            string role = m.Enum("role", PoolRoles.Mixed, PoolRoles.All);
            var pool = new PoolSpec
            {
                Name = name,
                Role = role,
                Gpu = PresetOrInline(m, "gpu", cluster.Gpu, _catalog.Gpus, "GPU"),
                Nodes = m.Int("nodes", cluster.Nodes, 1),
                GpusPerNode = m.Int("gpus_per_node", cluster.GpusPerNode, 1),
                IntraNode = PresetOrInline(m, "intra_node", cluster.IntraNode, _catalog.Links, "link"),
                Parallelism = BindParallelism(m.Node("parallelism"), k, path + ".parallelism", parallelism),
                Scheduler = BindScheduler(m.Node("scheduler"), k, path + ".scheduler", scheduler),
                Precision = BindPrecision(m.Node("precision"), k, path + ".precision", precision),
            };
            m.Finish();
            if (role != PoolRoles.Mixed)
            {
                if (pool.Parallelism.PipelineParallelSize > 1)
                    ErrorAtOwner(k, path + ".parallelism.pipeline_parallel_size", $"{pool.Parallelism.PipelineParallelSize} in a {role} pool; expected 1 (KV transfer between pools is modelled for one pipeline stage per replica)");
                if (pool.Scheduler.Policy == "static")
                    ErrorAtOwner(k, path + ".scheduler.policy", $"static in a {role} pool; expected vllm, sarathi or orca (a static batch cannot hand requests off or take them in)");
                if (pool.Parallelism.ContextParallelSize > 1)
                    ErrorAtOwner(k, path + ".parallelism.context_parallel_size", $"{pool.Parallelism.ContextParallelSize} in a {role} pool; expected 1 (KV transfer between pools is modelled without context parallelism)");
            }
            pools.Add(pool);
            keyNodes.Add(k);
        }
        // A pool whose role was not understood would make the side check report a second, misleading problem.
        if (pools.Count == 0 || Errors.Count > errorsBefore) return pools;
        var decode = pools.Where(p => p.Role == PoolRoles.Decode).Select(p => p.Name).ToList();
        var prefill = pools.Where(p => p.Role == PoolRoles.Prefill).Select(p => p.Name).ToList();
        if (decode.Count > 0 && prefill.Count == 0)
            Error(node, "pools", $"decode pool(s) {string.Join(", ", decode)} but no prefill side; expected at least one pool with role: prefill");
        if (prefill.Count > 0 && decode.Count == 0)
            Error(node, "pools", $"prefill pool(s) {string.Join(", ", prefill)} but no decode side; expected at least one pool with role: decode");
        // Pools tile the cluster's nodes of cluster.gpus_per_node GPUs in the order written; a pool's own nodes
        // (gpus_per_node GPUs each) must lie inside one physical node.
        int physical = cluster.GpusPerNode, offset = 0;
        for (int i = 0; i < pools.Count; i++)
        {
            var p = pools[i];
            string path = "pools." + p.Name + ".gpus_per_node";
            if (physical % p.GpusPerNode != 0)
                ErrorAtOwner(keyNodes[i], path, $"{p.GpusPerNode} does not divide cluster.gpus_per_node = {physical}; expected a divisor (pools share the cluster's nodes)");
            else if (offset % p.GpusPerNode != 0)
                ErrorAtOwner(keyNodes[i], path, $"pool {p.Name} would start at GPU {offset % physical} of a node and straddle two nodes; expected pools that fill whole nodes, or smaller pools listed first");
            offset += p.Gpus;
        }
        return pools;
    }

    private ParallelismSpec BindParallelism(YamlNode? node, YamlNode owner, string path = "parallelism", ParallelismSpec? defaults = null)
    {
        var m = new MapReader(this, node, path, owner);
        var d = defaults ?? new ParallelismSpec();
        var spec = new ParallelismSpec
        {
            TensorParallelSize = m.Int("tensor_parallel_size", d.TensorParallelSize, 1),
            PipelineParallelSize = m.Int("pipeline_parallel_size", d.PipelineParallelSize, 1),
            ExpertParallelSize = m.Int("expert_parallel_size", d.ExpertParallelSize, 1),
            ContextParallelSize = m.Int("context_parallel_size", d.ContextParallelSize, 1),
            Replicas = m.Int("replicas", d.Replicas, 1),
            Microbatches = m.Int("microbatches", d.Microbatches, 1),
            DataParallelSize = m.Int("data_parallel_size", d.DataParallelSize, 1),
            EnableExpertParallel = m.Bool("enable_expert_parallel", d.EnableExpertParallel),
        };
        // Implementation note: the key is read even when it is not bound, so that a misspelt one is answered with
        // layers_per_stage among the allowed keys (and as the "did you mean").
        m.Node("layers_per_stage");
        spec = spec with { LayersPerStage = m.Has("layers_per_stage") || spec.PipelineParallelSize != d.PipelineParallelSize ? BindLayersPerStage(m, spec.PipelineParallelSize) : d.LayersPerStage };
        m.Finish();
        return spec;
    }

    /// <summary>parallelism.layers_per_stage: one layer count >= 1 per pipeline stage (the sum is checked against the model when the run is built).</summary>
    private IReadOnlyList<int>? BindLayersPerStage(MapReader m, int pp)
    {
        var node = m.Node("layers_per_stage");
        if (node is null || IsNull(node)) return null;
        string path = m.KeyPath("layers_per_stage");
        string expected = $"a list of {pp} layer counts (one per pipeline stage, each >= 1, summing to the model's layers)";
        if (node is not YamlSequenceNode seq)
        {
            Error(node, path, $"expected {expected}, got {Describe(node)}");
            return null;
        }
        var counts = new List<int>();
        foreach (var item in seq.Children)
        {
            if (item is YamlScalarNode s && int.TryParse(s.Value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n) && n >= 1)
                counts.Add(n);
            else
            {
                Error(item, path, $"{Describe(item)} is not a layer count; expected {expected}");
                return null;
            }
        }
        if (counts.Count != pp)
        {
            Error(node, path, $"lists {counts.Count} stages but pipeline_parallel_size is {pp}; expected {expected}");
            return null;
        }
        return counts;
    }

    private SchedulerSpec BindScheduler(YamlNode? node, YamlNode owner, string path = "scheduler", SchedulerSpec? defaults = null)
    {
        var m = new MapReader(this, node, path, owner);
        var d = defaults ?? new SchedulerSpec();
        string policy = m.Enum("policy", d.Policy, ScenarioEnums.SchedulerPolicies);
        int maxSeqs = m.Int("max_num_seqs", d.MaxNumSeqs, 1);
        int maxTokens = m.Int("max_num_batched_tokens", d.MaxNumBatchedTokens, 1);
        var spec = new SchedulerSpec
        {
            Policy = policy,
            MaxNumSeqs = maxSeqs,
            MaxNumBatchedTokens = maxTokens,
            EnableChunkedPrefill = m.Bool("enable_chunked_prefill", d.EnableChunkedPrefill),
            BlockSize = m.Int("block_size", d.BlockSize, 1),
            GpuMemoryUtilization = m.DoubleOrNull("gpu_memory_utilization", 0, minExclusive: true, max: 1.0, nullable: false) ?? d.GpuMemoryUtilization,
            Preemption = m.Enum("preemption", d.Preemption, ScenarioEnums.Preemptions),
            ChunkSize = m.IntOrNull("chunk_size", 1, nullable: true) ?? (m.Has("policy") || defaults is null ? (policy == "sarathi" ? 512 : null) : d.ChunkSize),
            EnablePrefixCaching = m.Bool("enable_prefix_caching", d.EnablePrefixCaching),
            KvOffloadingSizeGB = m.DoubleOrNull("kv_offloading_size_gb", 0, minExclusive: true),
        };
        if (spec.KvOffloadingSizeGB != null && !spec.EnablePrefixCaching)
            Error(m.Node("kv_offloading_size_gb"), "scheduler.kv_offloading_size_gb",
                "a CPU KV tier holds blocks evicted from the prefix cache; it needs enable_prefix_caching: true");
        if (maxTokens < maxSeqs && m.Has("max_num_batched_tokens"))
            Error(m.Node("max_num_batched_tokens"), m.KeyPath("max_num_batched_tokens"),
                $"{maxTokens} is smaller than max_num_seqs {maxSeqs}; expected max_num_batched_tokens >= max_num_seqs (as vLLM requires)");
        m.Finish();
        return spec;
    }

    private static readonly string[] SyntheticKeys = ["arrivals", "input_tokens", "output_tokens", "requests", "duration_s", "prefix", "sessions"];

    private WorkloadSpec? BindWorkload(YamlNode node)
    {
        var m = new MapReader(this, node, "workload", node);
        var traceNode = m.Node("trace");
        bool synthetic = SyntheticKeys.Any(m.Has);
        WorkloadSpec? spec = null;
        if (traceNode != null)
        {
            if (synthetic)
            {
                // One mistake, one error: the trace key is the odd one out, its synthetic siblings are not judged.
                var written = SyntheticKeys.Where(m.Has).ToList();
                Error(m.KeyNode("trace"), "workload.trace", $"cannot be combined with {string.Join(", ", written)}; a workload is a trace or a synthetic generator (bound a trace with trace.limit or trace.end_s)");
                m.AcceptRest();
            }
            else
            {
                var trace = BindTrace(traceNode);
                if (trace != null) spec = new WorkloadSpec { Trace = trace };
            }
        }
        else if (synthetic)
        {
            var arrivals = BindArrivals(m.Node("arrivals"), node);
            var input = BindLength(m.Node("input_tokens"), "workload.input_tokens", node);
            var output = BindLength(m.Node("output_tokens"), "workload.output_tokens", node);
            long? requests = m.LongOrNull("requests", 1);
            double? durationS = m.DoubleOrNull("duration_s", 0, minExclusive: true);
            if (!m.Has("requests") && !m.Has("duration_s"))
                ErrorAtOwner(node, "workload", "a synthetic workload needs a bound; expected requests: N and/or duration_s: S");
            var prefix = new MapReader(this, m.Node("prefix"), "workload.prefix", node);
            int shared = prefix.Int("shared_tokens", 0, 0);
            prefix.Finish();
            var sessions = BindSessions(m.Node("sessions"), node);
            if (arrivals != null && input != null && output != null)
                spec = new WorkloadSpec { Synthetic = new SyntheticSpec { Arrivals = arrivals, InputTokens = input, OutputTokens = output, Requests = requests, DurationS = durationS, SharedPrefixTokens = shared, Sessions = sessions } };
        }
        else
        {
            ErrorAtOwner(node, "workload", "expected trace: {path: ...} or arrivals, input_tokens, output_tokens with requests or duration_s");
        }
        m.Finish();
        return spec;
    }

    private SessionSpec? BindSessions(YamlNode? node, YamlNode owner)
    {
        if (node is null || IsNull(node)) return null;
        var m = new MapReader(this, node, "workload.sessions", owner);
        int? turns = m.IntOrNull("turns", 1, required: true);
        double think = m.Double("think_time_s", 0, 0);
        m.Finish();
        return turns is int k ? new SessionSpec(k, think) : null;
    }

    private TraceSpec? BindTrace(YamlNode node)
    {
        var m = new MapReader(this, node, "workload.trace", node);
        string? path = m.FilePath("path", required: true, "a request trace");
        string? formatName = m.EnumOrNull("format", "auto", ScenarioEnums.TraceFormats);
        var format = ParseFormat(formatName ?? "auto");
        if (path != null && formatName != null) format = CheckTrace(m.Node("path"), "workload.trace.path", path, format);
        double timeScale = m.Double("time_scale", 1.0, 0, minExclusive: true);
        long? limit = m.LongOrNull("limit", 0);
        double startS = m.Double("start_s", 0, 0);
        double? endS = m.DoubleOrNull("end_s", 0, minExclusive: true);
        if (endS is double e && e <= startS)
            Error(m.Node("end_s"), "workload.trace.end_s", $"{MapReader.Num(e)} is not after start_s {MapReader.Num(startS)}; expected end_s > start_s");
        string zero = m.Enum("zero_output", "skip", ScenarioEnums.ZeroOutputPolicies);
        m.Finish();
        if (path is null) return null;
        return new TraceSpec
        {
            Path = path, Format = format, TimeScale = timeScale, Limit = limit, StartS = startS, EndS = endS,
            ZeroOutput = zero switch { "one" => ZeroOutputPolicy.One, "error" => ZeroOutputPolicy.Error, _ => ZeroOutputPolicy.Skip },
        };
    }

    /// <summary>Resolves an <c>auto</c> format from the header and checks the trace holds a request; reports a problem at the path's line.</summary>
    private TraceFormat CheckTrace(YamlNode? pathNode, string keyPath, string path, TraceFormat format)
    {
        try
        {
            if (format == TraceFormat.Auto) format = TraceWorkloadSource.DetectFormat(path);
            TraceWorkloadSource.EnsureHasRows(path, format);
        }
        catch (WorkloadFormatException ex) { Error(pathNode, keyPath, ex.Problem); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Error(pathNode, keyPath, $"cannot read {path} ({ex.Message}); expected a readable trace");
        }
        return format;
    }

    internal static TraceFormat ParseFormat(string name) => name switch
    {
        "azure" => TraceFormat.Azure,
        "vidur" => TraceFormat.Vidur,
        "mooncake" => TraceFormat.Mooncake,
        "burstgpt" => TraceFormat.BurstGpt,
        _ => TraceFormat.Auto,
    };

    private ArrivalSpec? BindArrivals(YamlNode? node, YamlNode owner)
    {
        if (node is null) { ErrorAtOwner(owner, "workload.arrivals", "missing; expected {process: poisson | gamma | constant | burst, rate_per_s: R}"); return null; }
        var m = new MapReader(this, node, "workload.arrivals", node);
        string? processOrNull = m.EnumOrNull("process", "poisson", ScenarioEnums.ArrivalProcesses);
        if (processOrNull is null) { m.AcceptRest(); m.Finish(); return null; }
        string process = processOrNull;
        double? rate = m.DoubleOrNull("rate_per_s", 0, minExclusive: true, required: true, nullable: false);
        double cv = 1.0;
        int burst = 1;
        if (process == "gamma") cv = m.Double("cv", 1.0, 0, minExclusive: true);
        else m.NotApplicable("cv", "applies only to process: gamma");
        if (process == "burst") burst = m.IntOrNull("burst_size", 1, required: true) ?? 1;
        else m.NotApplicable("burst_size", "applies only to process: burst");
        m.Finish();
        if (rate is null) return null;
        var p = process switch { "gamma" => ArrivalProcess.Gamma, "constant" => ArrivalProcess.Constant, "burst" => ArrivalProcess.Burst, _ => ArrivalProcess.Poisson };
        return new ArrivalSpec(p, rate.Value, cv, burst);
    }

    private LengthSpec? BindLength(YamlNode? node, string path, YamlNode owner)
    {
        if (node is null) { ErrorAtOwner(owner, path, "missing; expected a token count or {dist: fixed | uniform | normal | lognormal | empirical, ...}"); return null; }
        if (node is YamlScalarNode s && !IsNull(s))
        {
            if (int.TryParse(s.Value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n) && n >= 1) return LengthSpec.Fixed(n);
            Error(node, path, $"expected a token count >= 1 or {{dist: ...}}, got '{s.Value}'");
            return null;
        }
        var m = new MapReader(this, node, path, node);
        string? distOrNull = m.EnumOrNull("dist", "fixed", ScenarioEnums.LengthDistributions);
        if (distOrNull is null) { m.AcceptRest(); m.Finish(); return null; }
        string dist = distOrNull;
        const string only = "applies only to dist: ";
        LengthSpec? spec = null;
        switch (dist)
        {
            case "fixed":
                int? value = m.IntOrNull("value", 1, required: true);
                if (value != null) spec = LengthSpec.Fixed(value.Value);
                break;
            case "uniform":
                int? min = m.IntOrNull("min", 1, required: true);
                int? max = m.IntOrNull("max", 1, required: true);
                if (min != null && max != null && max < min) Error(m.Node("max"), path + ".max", $"{max} is below min {min}; expected max >= min");
                else if (min != null && max != null) spec = new LengthSpec(LengthDistribution.Uniform, Min: min.Value, Max: max.Value);
                break;
            case "normal" or "lognormal":
                double? mean = m.DoubleOrNull("mean", 0, minExclusive: true, required: true, nullable: false);
                double? sigma = m.DoubleOrNull("sigma", 0, required: true, nullable: false);
                int? cap = m.IntOrNull("max", 1, nullable: true);
                if (mean != null && sigma != null)
                    spec = new LengthSpec(dist == "normal" ? LengthDistribution.Normal : LengthDistribution.LogNormal, Mean: mean.Value, Sigma: sigma.Value, Max: cap ?? int.MaxValue);
                break;
            case "empirical":
                string? trace = m.FilePath("path", required: true, "a request trace to sample lengths from");
                var format = ParseFormat(m.Enum("format", "auto", ScenarioEnums.TraceFormats));
                if (trace != null) format = CheckTrace(m.Node("path"), path + ".path", trace, format);
                if (trace != null) spec = new LengthSpec(LengthDistribution.Empirical, TracePath: trace, TraceFormat: format);
                break;
        }
        if (dist != "fixed") m.NotApplicable("value", only + "fixed");
        if (dist is not ("uniform")) m.NotApplicable("min", only + "uniform");
        if (dist is not ("uniform" or "normal" or "lognormal")) m.NotApplicable("max", only + "uniform, normal or lognormal");
        if (dist is not ("normal" or "lognormal")) { m.NotApplicable("mean", only + "normal or lognormal"); m.NotApplicable("sigma", only + "normal or lognormal"); }
        if (dist != "empirical") { m.NotApplicable("path", only + "empirical"); m.NotApplicable("format", only + "empirical"); }
        m.Finish();
        return spec;
    }

    private SloSpec BindSlo(YamlNode? node, YamlNode owner)
    {
        var m = new MapReader(this, node, "slo", owner);
        var spec = new SloSpec
        {
            TtftMs = m.DoubleOrNull("ttft_ms", 0, minExclusive: true),
            TpotMs = m.DoubleOrNull("tpot_ms", 0, minExclusive: true),
            Percentile = m.Double("percentile", 95, 0, minExclusive: true, max: 100),
        };
        m.Finish();
        return spec;
    }

    /// <summary>Converts a node to a <see cref="SpecValue"/> (kept as written).</summary>
    public static SpecValue ToSpec(YamlNode node) => node switch
    {
        YamlScalarNode s => new SpecScalar(s.Value ?? "", s.Style is YamlDotNet.Core.ScalarStyle.SingleQuoted or YamlDotNet.Core.ScalarStyle.DoubleQuoted),
        YamlSequenceNode seq => new SpecList(seq.Children.Select(ToSpec).ToList()),
        YamlMappingNode map => new SpecMap(map.Children.Select(kv => new KeyValuePair<string, SpecValue>((kv.Key as YamlScalarNode)?.Value ?? kv.Key.ToString(), ToSpec(kv.Value))).ToList()),
        _ => new SpecScalar(""),
    };
}
