using Simulator.Inference.Workload;

namespace Simulator.Scenarios;

/// <summary>
/// A fully resolved scenario: every key of the YAML schema with its default filled in (README.md, "Scenarios and workloads", lists
/// them). Built by <see cref="ScenarioLoader"/>, written back by <see cref="ScenarioWriter"/>. Equality compares the
/// scenario's content, not <see cref="Locations"/>.
/// </summary>
public sealed record Scenario
{
    /// <summary>The run's name (letters, digits, '.', '_', '-'); default: the file name without extension.</summary>
    public required string Name { get; init; }

    /// <summary>The root seed of every random stream.</summary>
    public int Seed { get; init; } = 1;

    public ClusterSpec Cluster { get; init; } = new();
    public NetworkSpec Network { get; init; } = new();
    public required ModelRef Model { get; init; }
    public PrecisionSpec Precision { get; init; } = new();
    public ParallelismSpec Parallelism { get; init; } = new();
    public SchedulerSpec Scheduler { get; init; } = new();

    /// <summary>The router's registered name (<see cref="ScenarioEnums.Routers"/>).</summary>
    public string Router { get; init; } = "round_robin";

    /// <summary>The cache-aware router's thresholds (used by <c>router: prefix_aware</c> only).</summary>
    public RouterOptionsSpec RouterOptions { get; init; } = new();

    /// <summary>Engine host-side overheads: vllm (CUDA graphs; estimate) | splitwise (fitted, no CUDA graphs) | none.</summary>
    public string Engine { get; init; } = "vllm";

    /// <summary>
    /// The vLLM release whose host structure <c>engine: vllm</c> models: <c>auto</c> (the default) and releases before 0.14
    /// keep the host work serial with the GPU step; an explicit release from 0.14 on opts into overlapping it
    /// (asynchronous scheduling, <see cref="Simulator.Inference.Cost.EngineHostProfile.VllmRelease"/>).
    /// </summary>
    public string EngineVersion { get; init; } = "auto";

    /// <summary>Kernel calibration profile: auto (by GPU) | a100-vidur | h100 | h100-measured | h100-vidur.</summary>
    public string Calibration { get; init; } = "auto";

    /// <summary>How KV room is budgeted: auto (by engine) | vllm | vllm-eager | trtllm | reserve (see MemoryAccounting).</summary>
    public string MemoryAccounting { get; init; } = "auto";

    /// <summary>The serving node's host CPU for the engine's host-side terms: auto (by GPU) | epyc-7742 | xeon-8480c | xeon-8570.</summary>
    public string HostCpu { get; init; } = "auto";

    /// <summary>How the engine profile's front-end terms are applied (<c>frontend:</c>): fixed delays or queued API servers.</summary>
    public FrontEndSpec FrontEnd { get; init; } = new();

    public required WorkloadSpec Workload { get; init; }
    public SloSpec Slo { get; init; } = new();

    /// <summary>Mixture-of-experts routing settings (ignored for dense models).</summary>
    public MoeSpec Moe { get; init; } = new();
    public SweepSpec Sweep { get; init; } = SweepSpec.None;
    public OutputSpec Output { get; init; } = new();

    /// <summary>How the run is executed (not what it simulates: no output depends on it but perf.json).</summary>
    public RunSpec Run { get; init; } = new();

    /// <summary>Scripted and random faults, the retry policy and weight reloading (keys faults, random_faults, retry, recovery).</summary>
    public FaultsSpec Faults { get; init; } = FaultsSpec.None;
    /// <summary>The <c>pools:</c> block in the order written; empty = one mixed pool made of the top-level cluster and plan.</summary>
    public IReadOnlyList<PoolSpec> Pools { get; init; } = [];

    /// <summary>How KV moves from prefill to decode pools (used only with prefill / decode pools).</summary>
    public KvTransferSpec KvTransfer { get; init; } = new();

    /// <summary>The router that picks a decode replica for a prefilled request (<see cref="ScenarioEnums.Routers"/>).</summary>
    public string DecodeRouter { get; init; } = "least_outstanding";

    /// <summary>GPU-hour prices (<c>cost:</c>): `sim plan` ranks by goodput per dollar and runs show their cost when set.</summary>
    public CostSpec Cost { get; init; } = CostSpec.None;

    /// <summary>What `sim plan` searches beyond TP / PP / EP / replicas (<c>plan:</c>).</summary>
    public PlanSpec Plan { get; init; } = new();

    /// <summary>Where each key was written: lets later stages (plans, presets) report errors at the right line.</summary>
    public ScenarioLocations Locations { get; init; } = ScenarioLocations.None;

    public bool Equals(Scenario? other) =>
        other is not null && Name == other.Name && Seed == other.Seed && Cluster == other.Cluster && Network == other.Network
        && Model == other.Model && Precision == other.Precision && Parallelism == other.Parallelism && Scheduler == other.Scheduler
        && Router == other.Router && RouterOptions == other.RouterOptions && Engine == other.Engine && EngineVersion == other.EngineVersion && Calibration == other.Calibration && MemoryAccounting == other.MemoryAccounting && HostCpu == other.HostCpu && FrontEnd == other.FrontEnd && Workload == other.Workload && Slo == other.Slo && Moe == other.Moe && Sweep == other.Sweep && Output == other.Output && Faults == other.Faults
        && Pools.SequenceEqual(other.Pools) && KvTransfer == other.KvTransfer && DecodeRouter == other.DecodeRouter
        && Cost == other.Cost && Plan == other.Plan;

    public override int GetHashCode() => HashCode.Combine(Name, Seed, Cluster, Model, Parallelism, Scheduler, Workload);
}

/// <summary>
/// <c>router_options:</c> the thresholds of the <c>prefix_aware</c> router, SGLang's names and defaults: the cache decides
/// when the best replica holds at least <see cref="CacheThreshold"/> of the prompt, unless max - min outstanding requests
/// exceeds <see cref="BalanceAbsThreshold"/> and max exceeds min x <see cref="BalanceRelThreshold"/> (then least load).
/// </summary>
public sealed record RouterOptionsSpec
{
    public double CacheThreshold { get; init; } = 0.3;
    public int BalanceAbsThreshold { get; init; } = 64;
    public double BalanceRelThreshold { get; init; } = 1.5;
}

/// <summary>A preset name or an inline spec map (for GPUs and links); exactly one is set.</summary>
public sealed record PresetOrSpec(string? Preset, SpecMap? Inline)
{
    public static PresetOrSpec Of(string preset) => new(preset, null);
}

/// <summary>The model: a preset name, a Hugging Face config.json (absolute path), or an inline spec map; exactly one is set.</summary>
public sealed record ModelRef(string? Preset, string? HfConfigPath, SpecMap? Inline)
{
    public static ModelRef Of(string preset) => new(preset, null, null);
}

/// <summary>The machines: GPU type, node count and the links inside and between nodes.</summary>
public sealed record ClusterSpec
{
    public PresetOrSpec Gpu { get; init; } = PresetOrSpec.Of("H100-SXM-80GB");
    public int Nodes { get; init; } = 1;
    public int GpusPerNode { get; init; } = 8;
    public PresetOrSpec IntraNode { get; init; } = PresetOrSpec.Of("nvlink4");

    /// <summary>The per-GPU NIC that joins nodes.</summary>
    public PresetOrSpec InterNode { get; init; } = PresetOrSpec.Of("ib-ndr400");

    /// <summary>How the NICs are switched: non_blocking (any to any at NIC rate) or fat_tree (leaf uplinks shared).</summary>
    public string Fabric { get; init; } = "non_blocking";

    /// <summary>Leaf downlink : uplink bandwidth ratio of a fat_tree (1 = non-blocking).</summary>
    public double Oversubscription { get; init; } = 1.0;

    /// <summary>All GPUs of the cluster.</summary>
    public int TotalGpus => Nodes * GpusPerNode;
}

/// <summary>Network timing: analytic (closed-form collectives) or flow (transfers sharing links).</summary>
public sealed record NetworkSpec
{
    public string Model { get; init; } = "analytic";
}

/// <summary>Number formats of weights and KV cache (bf16, fp16, fp8, int8, int4, fp32).</summary>
public sealed record PrecisionSpec
{
    public string Weights { get; init; } = "bf16";

    /// <summary>KV cache format; <c>auto</c> in YAML resolves to the weights' format (bf16 under int8/int4 weights).</summary>
    public string KvCache { get; init; } = "bf16";
}

/// <summary>vLLM's parallelism flags plus replicas (data-parallel copies) and microbatches per replica pipeline.</summary>
public sealed record ParallelismSpec
{
    public int TensorParallelSize { get; init; } = 1;
    public int PipelineParallelSize { get; init; } = 1;
    public int ExpertParallelSize { get; init; } = 1;
    public int ContextParallelSize { get; init; } = 1;
    public int Replicas { get; init; } = 1;
    public int Microbatches { get; init; } = 1;

    /// <summary>DP-attention ranks per engine (vLLM --data-parallel-size); with <see cref="EnableExpertParallel"/> EP = TP x DP; <see cref="Replicas"/> counts engines.</summary>
    public int DataParallelSize { get; init; } = 1;

    /// <summary>vLLM --enable-expert-parallel: the MoE layers' experts are spread over every GPU of the engine (EP = TP x DP).</summary>
    public bool EnableExpertParallel { get; init; }

    /// <summary>Layers of each pipeline stage (length = PP, each >= 1, sum = the model's layers); null = even split, remainder to early stages.</summary>
    public IReadOnlyList<int>? LayersPerStage { get; init; }

    public bool Equals(ParallelismSpec? other) =>
        other is not null && TensorParallelSize == other.TensorParallelSize && PipelineParallelSize == other.PipelineParallelSize
        && ExpertParallelSize == other.ExpertParallelSize && ContextParallelSize == other.ContextParallelSize
        && Replicas == other.Replicas && Microbatches == other.Microbatches
        && DataParallelSize == other.DataParallelSize && EnableExpertParallel == other.EnableExpertParallel
        && (LayersPerStage is null ? other.LayersPerStage is null : other.LayersPerStage is not null && LayersPerStage.SequenceEqual(other.LayersPerStage));

    public override int GetHashCode() => HashCode.Combine(TensorParallelSize, PipelineParallelSize, ExpertParallelSize, ContextParallelSize, Replicas, Microbatches);

    /// <summary>GPUs one replica (engine) occupies: TP x PP x CP x DP (experts are spread over these GPUs).</summary>
    public int GpusPerReplica => TensorParallelSize * PipelineParallelSize * ContextParallelSize * DataParallelSize;
}

/// <summary>The per-replica scheduler, with vLLM's names.</summary>
public sealed record SchedulerSpec
{
    public string Policy { get; init; } = "vllm";
    public int MaxNumSeqs { get; init; } = 256;
    public int MaxNumBatchedTokens { get; init; } = 8192;
    public bool EnableChunkedPrefill { get; init; } = true;
    public int BlockSize { get; init; } = 16;
    public double GpuMemoryUtilization { get; init; } = 0.90;
    public string Preemption { get; init; } = "recompute";

    /// <summary>Prefill chunk size in tokens (Sarathi); default 512 under sarathi, unset otherwise.</summary>
    public int? ChunkSize { get; init; }

    /// <summary>Automatic prefix caching (vLLM's flag; on by default, as in vLLM V1).</summary>
    public bool EnablePrefixCaching { get; init; } = true;

    /// <summary>CPU KV tier per replica in GB (10^9 bytes) for blocks evicted from GPU memory (vLLM's --kv-offloading-size); null = none.</summary>
    public double? KvOffloadingSizeGB { get; init; }
}

/// <summary>The requests: a trace replay or a synthetic generator (exactly one is set).</summary>
public sealed record WorkloadSpec
{
    public TraceSpec? Trace { get; init; }
    public SyntheticSpec? Synthetic { get; init; }

    /// <summary>The streamed request source this workload describes (synthetic streams derive from <paramref name="seed"/>).</summary>
    public IWorkloadSource CreateSource(int seed)
    {
        if (Trace is { } t)
        {
            var options = new TraceOptions { TimeScale = t.TimeScale, Limit = t.Limit, StartS = t.StartS, EndS = t.EndS, ZeroOutput = t.ZeroOutput };
            return new TraceWorkloadSource(t.Path, t.Format, options);
        }
        if (Synthetic is { } s) return new SyntheticWorkloadSource(s.ToWorkloadSpec(), seed);
        throw new InvalidOperationException("a workload needs a trace or a synthetic generator");
    }
}

/// <summary>A trace replay: <see cref="Path"/> is absolute; <see cref="TraceOptions"/> documents the options.</summary>
public sealed record TraceSpec
{
    public required string Path { get; init; }

    /// <summary>The format, resolved from the file when the YAML says <c>auto</c>.</summary>
    public TraceFormat Format { get; init; } = TraceFormat.Auto;
    public double TimeScale { get; init; } = 1.0;
    public long? Limit { get; init; }
    public double StartS { get; init; }
    public double? EndS { get; init; }
    public ZeroOutputPolicy ZeroOutput { get; init; } = ZeroOutputPolicy.Skip;
}

/// <summary>A synthetic generator: arrivals, input and output lengths, bounded by requests and/or duration_s.</summary>
public sealed record SyntheticSpec
{
    public required ArrivalSpec Arrivals { get; init; }
    public required LengthSpec InputTokens { get; init; }
    public required LengthSpec OutputTokens { get; init; }
    public long? Requests { get; init; }
    public double? DurationS { get; init; }

    /// <summary>Tokens of the system prompt every request starts with (<c>workload.prefix.shared_tokens</c>; 0 = none).</summary>
    public int SharedPrefixTokens { get; init; }

    /// <summary>Multi-turn sessions (<c>workload.sessions</c>); null = independent requests.</summary>
    public SessionSpec? Sessions { get; init; }

    /// <summary>The workload layer's spec.</summary>
    public SyntheticWorkloadSpec ToWorkloadSpec() => new(Arrivals, InputTokens, OutputTokens, Requests, DurationS, SharedPrefixTokens, Sessions);
}

/// <summary>Latency objectives: a request meets them when TTFT &lt;= ttft_ms and TPOT &lt;= tpot_ms (null = no bound).</summary>
/// <summary>
/// `moe:` block. <see cref="RoutingSkew"/> is the Zipf exponent of expert popularity: 0 routes tokens
/// uniformly; 1 makes the most popular expert receive about E/H_E times its fair share (H_E the harmonic number).
/// </summary>
public sealed record MoeSpec
{
    public double RoutingSkew { get; init; }

    /// <summary>Dispatch/combine kernels of DP-attention engines: nccl | deepep_low_latency (<see cref="Simulator.Inference.Cost.MoeAllToAll"/>).</summary>
    public string AllToAll { get; init; } = "nccl";
}

public sealed record SloSpec
{
    public double? TtftMs { get; init; }
    public double? TpotMs { get; init; }

    /// <summary>The percentile at which the objectives are reported (e.g. 95 = p95 TTFT against ttft_ms).</summary>
    public double Percentile { get; init; } = 95;
}

/// <summary>Execution options of a run (<c>run:</c>); they change how fast it runs, never what it writes but perf.json.</summary>
public sealed record RunSpec
{
    /// <summary>
    /// Threads that simulate the replicas (<c>run.threads</c>): 0 = auto (one, see
    /// <see cref="Simulator.Inference.Serving.ParallelEligibility.Resolve"/>), N = N. A sweep or plan point runs with one
    /// unless its scenario names a number.
    /// </summary>
    public int Threads { get; init; }
}

/// <summary>Output options.</summary>
public sealed record OutputSpec
{
    /// <summary>Sampling interval of timeseries.csv in seconds.</summary>
    public double TimeseriesIntervalS { get; init; } = 1.0;

    /// <summary>Most stage-activity events written to timeline.json (the first ones of the run); 0 = none.</summary>
    public long TimelineMaxEvents { get; init; } = 20_000;

    /// <summary>File format of requests, iterations and timeseries: <c>csv</c> or <c>parquet</c>.</summary>
    public string Format { get; init; } = "csv";

    /// <summary>Which iteration rows are written: <c>auto</c> (bounded: see <see cref="Simulator.Inference.Metrics.IterationSampler"/>), <c>all</c>, <c>none</c>.</summary>
    public string Iterations { get; init; } = "auto";

    /// <summary>With <c>auto</c>: runs with at most this many iteration rows write them all; longer runs write this many at most.</summary>
    public long IterationsMaxRows { get; init; } = Simulator.Inference.Metrics.IterationOutput.DefaultMaxRows;

    /// <summary>The writer's setting from <see cref="Iterations"/> and <see cref="IterationsMaxRows"/>.</summary>
    public Simulator.Inference.Metrics.IterationOutput IterationRows => new(Iterations, IterationsMaxRows);
}

/// <summary>
/// The sweep block: axes multiplied in a cartesian product, first axis varying slowest. A plain axis is one key and
/// its values; a zip axis advances several keys together (their lists have equal length).
/// </summary>
public sealed record SweepSpec(IReadOnlyList<SweepAxis> Axes)
{
    public static SweepSpec None { get; } = new(Array.Empty<SweepAxis>());

    /// <summary>Number of points (1 when there is no sweep).</summary>
    public long PointCount => Axes.Aggregate(1L, (n, a) => n * a.Length);

    public bool Equals(SweepSpec? other) => other is not null && Axes.SequenceEqual(other.Axes);

    public override int GetHashCode() => Axes.Count;
}

/// <summary>One sweep axis: <see cref="Keys"/> (one key, or several for zip) and per key its values (all lists of equal length).</summary>
public sealed record SweepAxis(IReadOnlyList<string> Keys, IReadOnlyList<IReadOnlyList<SpecValue>> Values, bool IsZip)
{
    /// <summary>Number of positions along this axis.</summary>
    public int Length => Values.Count == 0 ? 0 : Values[0].Count;

    public bool Equals(SweepAxis? other) =>
        other is not null && IsZip == other.IsZip && Keys.SequenceEqual(other.Keys)
        && Values.Count == other.Values.Count && Values.Zip(other.Values).All(p => p.First.SequenceEqual(p.Second));

    public override int GetHashCode() => HashCode.Combine(Keys.Count, IsZip);
}

/// <summary>One point of a sweep: a fully resolved scenario and the (key, value) labels that made it.</summary>
public sealed record SweepPoint(int Index, Scenario Scenario, IReadOnlyList<KeyValuePair<string, string>> Labels)
{
    /// <summary>A folder-safe name: 4-digit index, then each label's last key segment=value (<c>0003-microbatches=4</c>).</summary>
    public string Slug
    {
        get
        {
            var parts = Labels.Select(l => l.Key[(l.Key.LastIndexOf('.') + 1)..] + "=" + l.Value);
            string raw = string.Join("-", parts);
            var safe = new string(raw.Select(c => char.IsLetterOrDigit(c) || c is '.' or '_' or '-' or '=' ? c : '_').ToArray());
            if (safe.Length > 80) safe = safe[..80];
            return Index.ToString("D4", System.Globalization.CultureInfo.InvariantCulture) + (safe.Length > 0 ? "-" + safe : "");
        }
    }
}
