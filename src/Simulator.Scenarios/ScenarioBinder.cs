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
        var scheduler = BindScheduler(m.Node("scheduler"), root);
        string router = m.Enum("router", "round_robin", ScenarioEnums.Routers);
        string engine = m.Enum("engine", "vllm", Simulator.Inference.Cost.CalibrationProfile.EngineNames);
        string calibration = m.Enum("calibration", "auto", Simulator.Inference.Cost.CalibrationProfile.Names);
        string memoryAccounting = m.Enum("memory_accounting", "auto", Simulator.Inference.Memory.MemoryAccounting.Names);
        string hostCpu = m.Enum("host_cpu", "auto", Simulator.Inference.Cost.HostCpu.Names);
        var workloadNode = m.Node("workload");
        WorkloadSpec? workload = null;
        if (workloadNode is null || IsNull(workloadNode)) Error(workloadNode ?? root, "workload", "missing; expected trace: {path: ...} or arrivals, input_tokens, output_tokens with requests or duration_s");
        else workload = BindWorkload(workloadNode);
        var slo = BindSlo(m.Node("slo"), root);
        var moeReader = new MapReader(this, m.Node("moe"), "moe", root);
        var moe = new MoeSpec { RoutingSkew = moeReader.Double("routing_skew", 0.0, 0.0) };
        moeReader.Finish();
        m.Node("sweep"); // parsed by the loader
        var output = new MapReader(this, m.Node("output"), "output", root);
        var outputSpec = new OutputSpec
        {
            TimeseriesIntervalS = output.Double("timeseries_interval_s", 1.0, 0, minExclusive: true),
            TimelineMaxEvents = output.Int("timeline_max_events", 20_000, 0),
            Format = output.Enum("format", "csv", ScenarioEnums.OutputFormats),
        };
        output.Finish();
        m.Finish();
        if (Errors.Count > 0 || model is null || workload is null) return null;
        return new Scenario
        {
            Name = name, Seed = seed, Cluster = cluster, Network = networkSpec, Model = model, Precision = precision,
            Parallelism = parallelism, Scheduler = scheduler, Router = router, Engine = engine, Calibration = calibration, MemoryAccounting = memoryAccounting, HostCpu = hostCpu, Workload = workload, Slo = slo, Moe = moe, Sweep = sweep,
            Output = outputSpec, Locations = new ScenarioLocations(File, _locations),
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
                return new ModelRef(null, null, (SpecMap)ToSpec(map));
            default:
                Error(node, "model", $"expected a model preset name, {{hf_config: path}} or an inline spec map, got {Describe(node)}");
                return null;
        }
    }

    private PrecisionSpec BindPrecision(YamlNode? node, YamlNode owner)
    {
        var m = new MapReader(this, node, "precision", owner);
        string weights = m.Enum("weights", "bf16", ScenarioEnums.Dtypes);
        string kv = m.Enum("kv_cache", "auto", ScenarioEnums.KvDtypes);
        m.Finish();
        if (kv == "auto") kv = weights is "int8" or "int4" ? "bf16" : weights;
        return new PrecisionSpec { Weights = weights, KvCache = kv };
    }

    private ParallelismSpec BindParallelism(YamlNode? node, YamlNode owner)
    {
        var m = new MapReader(this, node, "parallelism", owner);
        var spec = new ParallelismSpec
        {
            TensorParallelSize = m.Int("tensor_parallel_size", 1, 1),
            PipelineParallelSize = m.Int("pipeline_parallel_size", 1, 1),
            ExpertParallelSize = m.Int("expert_parallel_size", 1, 1),
            ContextParallelSize = m.Int("context_parallel_size", 1, 1),
            Replicas = m.Int("replicas", 1, 1),
            Microbatches = m.Int("microbatches", 1, 1),
        };
        m.Finish();
        return spec;
    }

    private SchedulerSpec BindScheduler(YamlNode? node, YamlNode owner)
    {
        var m = new MapReader(this, node, "scheduler", owner);
        var d = new SchedulerSpec();
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
            ChunkSize = m.IntOrNull("chunk_size", 1, nullable: true) ?? (policy == "sarathi" ? 512 : null),
        };
        if (maxTokens < maxSeqs && m.Has("max_num_batched_tokens"))
            Error(m.Node("max_num_batched_tokens"), "scheduler.max_num_batched_tokens",
                $"{maxTokens} is smaller than max_num_seqs {maxSeqs}; expected max_num_batched_tokens >= max_num_seqs (as vLLM requires)");
        m.Finish();
        return spec;
    }

    private static readonly string[] SyntheticKeys = ["arrivals", "input_tokens", "output_tokens", "requests", "duration_s"];

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
                foreach (var k in SyntheticKeys)
                    m.NotApplicable(k, "cannot be combined with trace; a workload is a trace or a synthetic generator (bound a trace with trace.limit or trace.end_s)");
            }
            var trace = BindTrace(traceNode);
            if (trace != null) spec = new WorkloadSpec { Trace = trace };
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
            if (arrivals != null && input != null && output != null)
                spec = new WorkloadSpec { Synthetic = new SyntheticSpec { Arrivals = arrivals, InputTokens = input, OutputTokens = output, Requests = requests, DurationS = durationS } };
        }
        else
        {
            ErrorAtOwner(node, "workload", "expected trace: {path: ...} or arrivals, input_tokens, output_tokens with requests or duration_s");
        }
        m.Finish();
        return spec;
    }

    private TraceSpec? BindTrace(YamlNode node)
    {
        var m = new MapReader(this, node, "workload.trace", node);
        string? path = m.FilePath("path", required: true, "a request trace");
        string formatName = m.Enum("format", "auto", ScenarioEnums.TraceFormats);
        var format = ParseFormat(formatName);
        if (path != null && format == TraceFormat.Auto)
        {
            try { format = TraceWorkloadSource.DetectFormat(path); }
            catch (WorkloadFormatException ex) { Error(m.Node("path"), "workload.trace.path", ex.Problem); }
            catch (IOException ex) { Error(m.Node("path"), "workload.trace.path", $"cannot read the file ({ex.Message}); expected a readable trace"); }
        }
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
        string process = m.Enum("process", "poisson", ScenarioEnums.ArrivalProcesses);
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
        string dist = m.Enum("dist", "fixed", ScenarioEnums.LengthDistributions);
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
                if (trace != null && format == TraceFormat.Auto)
                {
                    try { format = TraceWorkloadSource.DetectFormat(trace); }
                    catch (WorkloadFormatException ex) { Error(m.Node("path"), path + ".path", ex.Problem); }
                }
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
