using System.Globalization;
using CsvHelper;
using Simulator.Inference.Metrics;

namespace Simulator.Scenarios.Planning;

/// <summary>What `sim plan` searches: the GPU budget, the GPU types, and the bounds on the per-layout search.</summary>
/// <param name="Gpus">GPUs available (of each type); a layout uses TP x PP x replicas of them.</param>
/// <param name="GpuTypes">GPU presets to plan on; empty = the scenario's cluster.gpu.</param>
/// <param name="MaxRequests">Most requests one probe simulation replays (caps workload.requests / trace.limit).</param>
/// <param name="RateTolerance">Bisection stops when the failing rate is within this fraction above the passing one.</param>
/// <param name="MaxSimulationsPerLayout">Most probe simulations per layout.</param>
public sealed record PlanOptions(int Gpus, IReadOnlyList<string> GpuTypes, int MaxRequests = 400, double RateTolerance = 0.05, int MaxSimulationsPerLayout = 8);

/// <summary>One candidate layout: GPU type, TP, PP, EP and replicas (data-parallel copies); Index orders plan.csv and shards.</summary>
public sealed record Layout(int Index, string Gpu, int Tp, int Pp, int Ep, int Replicas)
{
    /// <summary>GPUs the layout occupies.</summary>
    public int Gpus => Tp * Pp * Replicas;

    /// <summary>Folder-safe name: <c>0003-H100-SXM-80GB-tp2-pp1-ep1-r2</c>.</summary>
    public string Slug => Index.ToString("D4", CultureInfo.InvariantCulture) + "-" + Gpu + $"-tp{Tp}-pp{Pp}-ep{Ep}-r{Replicas}";

    /// <summary>The scenario overrides that make the scenario this layout.</summary>
    public IReadOnlyList<string> Sets(int gpusPerNode) =>
    [
        "cluster.gpu=" + Gpu,
        "cluster.nodes=" + Inv((Gpus + gpusPerNode - 1) / gpusPerNode),
        "parallelism.tensor_parallel_size=" + Inv(Tp),
        "parallelism.pipeline_parallel_size=" + Inv(Pp),
        "parallelism.expert_parallel_size=" + Inv(Ep),
        "parallelism.replicas=" + Inv(Replicas),
    ];

    private static string Inv(int v) => v.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// What the plan found for one layout: whether it fits, the highest load factor meeting the SLO (1 = the scenario's
/// own rate), that run's summary, and the reason when it was rejected.
/// </summary>
public sealed record LayoutOutcome(Layout Layout, bool Fits, double? MaxLoadFactor, double? MaxRatePerS, RunSummary? Summary,
    int Simulations, string Reason, string Deploy)
{
    /// <summary>Output tokens/s within the SLO per GPU at the highest passing load: output tokens/s x SLO attainment / GPUs.</summary>
    public double GoodputTokensPerSPerGpu => Summary is { } s ? s.Throughput.OutputTokensPerS * s.Slo.Attainment / Layout.Gpus : 0;

    /// <summary>Per-user decode speed: 1000 / median TPOT (tokens/s one stream sees).</summary>
    public double TokensPerSPerUser => Summary is { } s && s.TpotMs.Count > 0 && s.TpotMs.P50 > 0 ? 1000.0 / s.TpotMs.P50 : 0;

    /// <summary>True when the layout sustains some load within the SLO.</summary>
    public bool Feasible => Summary is not null;
}

/// <summary>What a plan (or one shard of it) produced: its directory, plan.csv, how many layouts the whole plan has, and this run's outcomes.</summary>
public sealed record PlanResult(string Directory, string PlanCsv, int TotalLayouts, IReadOnlyList<LayoutOutcome> Outcomes);

/// <summary>
/// `sim plan`: enumerates layouts within a GPU budget, drops those the memory plan rejects, and finds for each
/// survivor the highest arrival rate (Poisson rate_per_s, or trace time_scale) whose run meets the scenario's SLO
/// at its percentile, by doubling/halving from the scenario's own load and then bisection to a stated tolerance.
/// </summary>
public static class Planner
{
    /// <summary>Kind recorded in shard.json for plans.</summary>
    public const string Kind = "plan";

    /// <summary>Columns of plan.csv, in order.</summary>
    public static readonly IReadOnlyList<string> Columns =
    [
        "layout", "gpu", "tensor_parallel_size", "pipeline_parallel_size", "expert_parallel_size", "replicas", "gpus", "fits",
        "max_load_factor", "max_rate_per_s", "goodput_tokens_per_s_per_gpu", "tokens_per_s_per_user", "output_tokens_per_s",
        "ttft_p95_ms", "tpot_p95_ms", "itl_p95_ms", "slo_attainment", "simulations", "reason", "deploy",
    ];

    // Implementation note: factors are searched between 1/64 and 64 times the scenario's own load; a layout that
    // misses the SLO at 1/64 of it is rejected with that reason rather than searched further.
    private const double MinFactor = 1.0 / 64, MaxFactor = 64;

    /// <summary>
    /// Every valid layout of the scenario within the budget, in a fixed order (GPU type, TP, PP, EP):
    /// TP divides the attention heads and is at most gpus_per_node, PP divides the layers, EP (MoE only) is 1 or TP,
    /// replicas = floor(GPUs / (TP x PP)). Each is checked by the run builder's own plan validation.
    /// </summary>
    public static IReadOnlyList<Layout> Enumerate(string scenarioPath, IReadOnlyList<string> sets, PlanOptions options)
    {
        if (options.Gpus < 1) throw new ArgumentException($"--gpus {options.Gpus}: must be at least 1");
        var baseScenario = RunBuilder.Load(scenarioPath, sets);
        var types = options.GpuTypes.Count > 0 ? options.GpuTypes : [baseScenario.Cluster.Gpu.Preset ?? throw new ArgumentException("--gpu: the scenario's cluster.gpu is an inline spec; name a preset with --gpu")];
        var layouts = new List<Layout>();
        foreach (var gpu in types)
        {
            var built = RunBuilder.Build(RunBuilder.Load(scenarioPath, sets.Concat(["cluster.gpu=" + gpu]).ToList()), requireFit: false);
            var model = built.Model;
            int perNode = baseScenario.Cluster.GpusPerNode;
            for (int tp = 1; tp <= Math.Min(perNode, options.Gpus); tp++)
            {
                if (model.Heads % tp != 0 || (tp & (tp - 1)) != 0) continue;
                for (int pp = 1; tp * pp <= options.Gpus; pp++)
                {
                    if (model.Layers % pp != 0) continue;
                    foreach (var ep in model.IsMoe && tp > 1 ? new[] { 1, tp } : new[] { 1 })
                    {
                        if (model.IsMoe && model.Experts % ep != 0) continue;
                        layouts.Add(new Layout(layouts.Count, built.Gpu.Name, tp, pp, ep, options.Gpus / (tp * pp)));
                    }
                }
            }
        }
        return layouts;
    }

    /// <summary>Plans one layout: memory check, then the load search; probe runs go beside <paramref name="runDir"/>, the best run to <paramref name="runDir"/>.</summary>
    public static LayoutOutcome Evaluate(string scenarioPath, IReadOnlyList<string> sets, Layout layout, PlanOptions options, string runDir)
    {
        var baseScenario = RunBuilder.Load(scenarioPath, sets);
        var layoutSets = sets.Concat(layout.Sets(baseScenario.Cluster.GpusPerNode)).Concat(CapSets(baseScenario, options.MaxRequests)).ToList();
        var scenario = RunBuilder.Load(scenarioPath, layoutSets);
        var built = RunBuilder.Build(scenario, requireFit: false);
        var deploy = DeployCommand(scenario, built.Model.Name, layout);
        if (!built.Memory.Fits)
            return new LayoutOutcome(layout, false, null, null, null, 0, DoesNotFit(built), deploy);

        double baseRate = BaseRate(scenario);
        int sims = 0;
        var probes = Path.Combine(runDir + ".probes");
        RunSummary? best = null;
        string? bestDir = null;
        double lo = 0, hi = 0;
        RunSummary Probe(double f)
        {
            var dir = Path.Combine(probes, (sims++).ToString("D2", CultureInfo.InvariantCulture));
            var s = ScenarioRunner.Run(RunBuilder.Load(scenarioPath, layoutSets.Concat(LoadSets(scenario, f)).ToList()), dir).Summary;
            if (s.Slo.PercentileMet && s.Requests.Completed > 0) { best = s; bestDir = dir; lo = f; }
            else hi = f;
            return s;
        }

        try
        {
            var first = Probe(1);
            if (best is not null)
                for (double f = 2; f <= MaxFactor && hi == 0 && sims < options.MaxSimulationsPerLayout; f *= 2) Probe(f);
            else
                for (double f = 0.5; f >= MinFactor && best is null && sims < options.MaxSimulationsPerLayout; f /= 2) Probe(f);
            if (best is null)
                return new LayoutOutcome(layout, true, null, null, null, sims,
                    $"misses the SLO even at {Load(scenario, hi)} ({Slo(first)})", deploy);
            while (hi > 0 && hi / lo > 1 + options.RateTolerance && sims < options.MaxSimulationsPerLayout) Probe(Math.Sqrt(lo * hi));
            if (Directory.Exists(runDir)) Directory.Delete(runDir, recursive: true);
            Directory.Move(bestDir!, runDir);
            string reason = hi == 0 ? $"ok: SLO met up to {Load(scenario, lo)} (no failing load found in the search)"
                : $"ok: SLO met up to {Load(scenario, lo)}, missed at {Load(scenario, hi)}";
            // A trace's offered rate is its own; the completed requests/s of the passing run stands for it.
            double rate = scenario.Workload.Synthetic is not null ? lo * baseRate : best!.Throughput.RequestsPerS;
            return new LayoutOutcome(layout, true, lo, rate, best, sims, reason, deploy);
        }
        finally
        {
            if (Directory.Exists(probes)) Directory.Delete(probes, recursive: true);
        }
    }

    /// <summary>
    /// Runs the plan (or shard <paramref name="shard"/> of it, by layout index): evaluates every layout, <paramref name="jobs"/>
    /// at a time (results do not depend on it), writes plan.csv, points/&lt;layout&gt;/ (the best passing run of each
    /// layout) and, for a shard, shard.json. Throws <see cref="PlanDoesNotFitException"/> when no layout fits at all.
    /// </summary>
    public static PlanResult Run(string scenarioPath, IReadOnlyList<string> sets, PlanOptions options, string outDir, int jobs,
        ShardSpec? shard = null, Action<LayoutOutcome>? onLayout = null)
    {
        var layouts = Enumerate(scenarioPath, sets, options);
        if (layouts.Count == 0) throw new ArgumentException($"--gpus {options.Gpus}: no layout of the model uses at most {options.Gpus} GPUs");
        var owned = layouts.Where(l => shard is not { } sh || sh.Owns(l.Index)).ToList();
        var root = Path.GetFullPath(outDir);
        var points = Path.Combine(root, "points");
        if (Directory.Exists(points)) Directory.Delete(points, recursive: true);
        foreach (var stale in new[] { "plan.csv", ShardManifest.FileName })
            if (File.Exists(Path.Combine(root, stale))) File.Delete(Path.Combine(root, stale));
        Directory.CreateDirectory(points);
        var outcomes = new LayoutOutcome[owned.Count];
        Parallel.For(0, owned.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, jobs) }, i =>
        {
            outcomes[i] = Evaluate(scenarioPath, sets, owned[i], options, Path.Combine(points, owned[i].Slug));
            onLayout?.Invoke(outcomes[i]);
        });
        if (shard is null && outcomes.All(o => !o.Fits))
        {
            Directory.Delete(points, recursive: true);
            // The closest layout is the one with the most GPUs per model copy: the least weight per GPU.
            var closest = owned.OrderByDescending(l => l.Tp * l.Pp).ThenBy(l => l.Index).First();
            var baseScenario = RunBuilder.Load(scenarioPath, sets);
            var scenario = RunBuilder.Load(scenarioPath, sets.Concat(closest.Sets(baseScenario.Cluster.GpusPerNode)).ToList());
            var built = RunBuilder.Build(scenario, requireFit: false);
            var at = scenario.Locations.ErrorAt("parallelism", "");
            throw new PlanDoesNotFitException(at.File, at.Line, built.Memory);
        }
        var csv = Path.Combine(root, "plan.csv");
        WriteTable(csv + ".partial", outcomes);
        File.Move(csv + ".partial", csv, overwrite: true);
        if (shard is { } s)
        {
            var baseDir = Path.GetDirectoryName(Path.GetFullPath(scenarioPath));
            var texts = new[] { ScenarioWriter.ToYaml(RunBuilder.Load(scenarioPath, sets), baseDir), options with { GpuTypes = [] } + string.Join(",", options.GpuTypes) }
                .Concat(layouts.Select(l => l.Slug));
            new ShardManifest(Kind, RunBuilder.Load(scenarioPath, sets).Name, ShardManifest.FingerprintOf(texts), layouts.Count, s.Index, s.Count,
                owned.Select(l => l.Index).ToList(), "plan.csv").Write(root);
        }
        return new PlanResult(root, csv, layouts.Count, outcomes);
    }

    /// <summary>Ranks feasible outcomes by goodput per GPU (then tokens/s/user, then layout order).</summary>
    public static IReadOnlyList<LayoutOutcome> Rank(IEnumerable<LayoutOutcome> outcomes) =>
        outcomes.Where(o => o.Feasible).OrderByDescending(o => o.GoodputTokensPerSPerGpu)
            .ThenByDescending(o => o.TokensPerSPerUser).ThenBy(o => o.Layout.Index).ToList();

    /// <summary>Writes plan.csv: one row per layout, in layout order.</summary>
    public static void WriteTable(string path, IReadOnlyList<LayoutOutcome> outcomes)
    {
        using var f = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read);
        using var w = CsvWriter.Create(f, CsvWriterOptions.Default with { NewLine = "\n" }, leaveOpen: true);
        w.WriteHeader(Columns.ToArray());
        foreach (var o in outcomes)
        {
            var l = o.Layout;
            w.WriteField(l.Slug[5..]);
            w.WriteField(l.Gpu);
            foreach (var v in new[] { l.Tp, l.Pp, l.Ep, l.Replicas, l.Gpus }) w.WriteField(MetricFormat.Integer(v));
            w.WriteField(o.Fits ? "true" : "false");
            var s = o.Summary;
            w.WriteField(o.MaxLoadFactor is { } lf ? MetricFormat.Fixed(lf, 4) : "");
            w.WriteField(o.MaxRatePerS is { } r ? MetricFormat.Fixed(r, 3) : "");
            w.WriteField(s is null ? "" : MetricFormat.Fixed(o.GoodputTokensPerSPerGpu, 3));
            w.WriteField(s is null ? "" : MetricFormat.Fixed(o.TokensPerSPerUser, 3));
            w.WriteField(s is null ? "" : MetricFormat.Fixed(s.Throughput.OutputTokensPerS, 3));
            w.WriteField(s is null || s.TtftMs.Count == 0 ? "" : MetricFormat.Milliseconds(s.TtftMs.P95));
            w.WriteField(s is null || s.TpotMs.Count == 0 ? "" : MetricFormat.Milliseconds(s.TpotMs.P95));
            w.WriteField(s?.ItlMs is { Count: > 0 } itl ? MetricFormat.Milliseconds(itl.P95) : "");
            w.WriteField(s is null ? "" : MetricFormat.Fraction(s.Slo.Attainment));
            w.WriteField(MetricFormat.Integer(o.Simulations));
            w.WriteField(o.Reason.Replace('\n', ' ').Replace('\r', ' '));
            w.WriteField(o.Deploy);
            w.EndRecord();
        }
    }

    /// <summary>The `vllm serve` command line this layout means, with the scenario's scheduler limits.</summary>
    public static string DeployCommand(Scenario scenario, string modelName, Layout layout)
    {
        var s = scenario.Scheduler;
        var inv = CultureInfo.InvariantCulture;
        var parts = new List<string> { "vllm serve " + (scenario.Model.Preset ?? modelName) };
        parts.Add("--tensor-parallel-size " + layout.Tp.ToString(inv));
        if (layout.Pp > 1) parts.Add("--pipeline-parallel-size " + layout.Pp.ToString(inv));
        if (layout.Replicas > 1) parts.Add("--data-parallel-size " + layout.Replicas.ToString(inv));
        if (layout.Ep > 1) parts.Add("--enable-expert-parallel");
        parts.Add("--max-num-seqs " + s.MaxNumSeqs.ToString(inv));
        parts.Add("--max-num-batched-tokens " + s.MaxNumBatchedTokens.ToString(inv));
        parts.Add("--gpu-memory-utilization " + s.GpuMemoryUtilization.ToString("0.##", inv));
        parts.Add("--block-size " + s.BlockSize.ToString(inv));
        if (s.EnableChunkedPrefill) parts.Add("--enable-chunked-prefill");
        return string.Join(" ", parts);
    }

    /// <summary>"does not fit: weights X GB + activations Y GB + reserve Z GB >= W GB per GPU (stage S)" for the fullest stage.</summary>
    public static string DoesNotFit(BuiltScenario built)
    {
        var st = built.Memory.Stages.Where(x => !x.Fits).DefaultIfEmpty(built.Memory.Stages[0]).OrderByDescending(x => x.WeightsGB).First();
        return $"does not fit: weights {ScenarioRunner.Gb(st.WeightsGB)} GB + activations {ScenarioRunner.Gb(st.ActivationGB)} GB + reserve " +
            $"{ScenarioRunner.Gb(st.ReserveGB)} GB leave no KV room in {ScenarioRunner.Gb(st.CapacityGB)} GB per GPU (stage {st.Stage})";
    }

    private static string Slo(RunSummary s) =>
        $"TTFT p{MetricFormat.Fixed(s.Slo.Percentile, 0)} {(s.Slo.TtftAtPercentileMs is { } t ? MetricFormat.Milliseconds(t) : "-")} ms, " +
        $"TPOT {(s.Slo.TpotAtPercentileMs is { } p ? MetricFormat.Milliseconds(p) : "-")} ms";

    private static string Load(Scenario s, double factor) => s.Workload.Synthetic is { } syn
        ? MetricFormat.Fixed(syn.Arrivals.RatePerS * factor, 3) + " req/s"
        : "trace time_scale " + MetricFormat.Fixed(s.Workload.Trace!.TimeScale / factor, 4);

    private static double BaseRate(Scenario s) => s.Workload.Synthetic is { } syn ? syn.Arrivals.RatePerS : 1.0 / (s.Workload.Trace?.TimeScale ?? 1.0);

    private static IEnumerable<string> LoadSets(Scenario s, double factor) => s.Workload.Synthetic is { } syn
        ? ["workload.arrivals.rate_per_s=" + (syn.Arrivals.RatePerS * factor).ToString("R", CultureInfo.InvariantCulture)]
        : ["workload.trace.time_scale=" + (s.Workload.Trace!.TimeScale / factor).ToString("R", CultureInfo.InvariantCulture)];

    private static IEnumerable<string> CapSets(Scenario s, int maxRequests)
    {
        var cap = maxRequests.ToString(CultureInfo.InvariantCulture);
        if (s.Workload.Synthetic is { } syn) return syn.Requests is { } n && n <= maxRequests ? [] : ["workload.requests=" + cap];
        return s.Workload.Trace?.Limit is { } l && l <= maxRequests ? [] : ["workload.trace.limit=" + cap];
    }
}
