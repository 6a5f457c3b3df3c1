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
/// <param name="Knobs">Also search the scheduler knob grid per layout (`--knobs`; or the scenario's <c>plan.knobs</c>).</param>
/// <param name="Disaggregation">Also enumerate prefill/decode (xPyD) splits (`--pd`; or the scenario's <c>plan.disaggregation</c>).</param>
public sealed record PlanOptions(int Gpus, IReadOnlyList<string> GpuTypes, int MaxRequests = 400, double RateTolerance = 0.05, int MaxSimulationsPerLayout = 8,
    bool Knobs = false, bool Disaggregation = false);

/// <summary>
/// What the plan found for one layout: whether it fits, the highest load factor meeting the SLO (1 = the scenario's
/// own rate), that run's summary, and the reason when it was rejected.
/// </summary>
public sealed record LayoutOutcome(Layout Layout, bool Fits, double? MaxLoadFactor, double? MaxRatePerS, RunSummary? Summary,
    int Simulations, string Reason, string VllmCommand, string SglangCommand)
{
    /// <summary>The scheduler knobs in effect (the layout's grid point, else the scenario's values).</summary>
    public required SchedulerKnobs Knobs { get; init; }

    /// <summary>USD per GPU-hour of the layout's GPU type (<c>cost.gpu_hour_usd</c>); null when the scenario has no cost.</summary>
    public double? UsdPerGpuHour { get; init; }

    /// <summary>What the layout's GPUs cost per hour: GPUs x USD per GPU-hour.</summary>
    public double? UsdPerHour => UsdPerGpuHour * Layout.Gpus;

    /// <summary>Output tokens/s within the SLO of the whole layout: goodput per GPU x GPUs.</summary>
    public double GoodputTokensPerS => GoodputTokensPerSPerGpu * Layout.Gpus;

    /// <summary>Goodput per dollar: output tokens/s within the SLO per USD/hour of the layout's GPUs.</summary>
    public double? GoodputTokensPerSPerUsdPerHour => UsdPerHour is { } usd && Feasible ? GoodputTokensPerS / usd : null;

    /// <summary>USD per million output tokens within the SLO at the highest passing load: USD/hour / (goodput tokens/s x 3600) x 10^6.</summary>
    public double? UsdPerMillionOutputTokens => UsdPerHour is { } usd && Feasible && GoodputTokensPerS > 0 ? usd / (GoodputTokensPerS * 3600) * 1e6 : null;

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
        "layout", "gpu", "tensor_parallel_size", "pipeline_parallel_size", "expert_parallel_size", "replicas", "data_parallel_size",
        "prefill_tp", "prefill_replicas", "decode_tp", "decode_replicas", "max_num_seqs", "max_num_batched_tokens", "microbatches", "gpus", "fits",
        "max_load_factor", "max_rate_per_s", "goodput_tokens_per_s_per_gpu", "tokens_per_s_per_user", "output_tokens_per_s",
        "ttft_p95_ms", "tpot_p95_ms", "itl_p95_ms", "slo_attainment", "usd_per_hour", "goodput_tokens_per_s_per_usd_per_hour",
        "usd_per_million_output_tokens", "simulations", "reason", "vllm_command", "sglang_command",
    ];

    // Implementation note: factors are searched between 1/64 and 64 times the scenario's own load; a layout that
    // misses the SLO at 1/64 of it is rejected with that reason rather than searched further.
    private const double MinFactor = 1.0 / 64, MaxFactor = 64;

    /// <summary>
    /// Every valid layout of the scenario within the budget, in a fixed order (GPU type, TP, PP, EP):
    /// TP divides the attention heads and is at most gpus_per_node, PP divides the layers, EP (MoE only) is 1 or TP,
    /// replicas = floor(GPUs / (TP x PP)); for MoE models then the DP-attention layouts (<see cref="DpAttentionShapes"/>),
    /// then the P/D splits when asked for. Each is checked by the run builder's own plan validation when evaluated.
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
            if (baseScenario.Cost.GpuHourUsd.Count > 0 && baseScenario.Cost.UsdPerGpuHour(built.Gpu.Name) is null)
                throw new ArgumentException($"--gpu {gpu}: no price in cost.gpu_hour_usd (priced: {string.Join(", ", baseScenario.Cost.GpuHourUsd.Select(p => p.Key))}); " +
                    "expected a price for every GPU type planned, or no cost: block");
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
                        var layout = new Layout(layouts.Count, built.Gpu.Name, tp, pp, ep, options.Gpus / (tp * pp));
                        layouts.Add(layout);
                        if (options.Knobs || baseScenario.Plan.Knobs)
                            foreach (var knobs in KnobGrid(baseScenario, pp))
                                layouts.Add(layout with { Index = layouts.Count, Knobs = knobs });
                    }
                }
            }
            if (model.IsMoe)
                foreach (var (tp, dp) in DpAttentionShapes(model.Heads, model.Experts, perNode, options.Gpus))
                {
                    var layout = new Layout(layouts.Count, built.Gpu.Name, tp, 1, tp * dp, options.Gpus / (tp * dp)) { Dp = dp };
                    layouts.Add(layout);
                    if (options.Knobs || baseScenario.Plan.Knobs)
                        foreach (var knobs in KnobGrid(baseScenario, 1))
                            layouts.Add(layout with { Index = layouts.Count, Knobs = knobs });
                }
            if (options.Disaggregation || baseScenario.Plan.Disaggregation)
            {
                var tps = Enumerable.Range(1, Math.Min(perNode, options.Gpus)).Where(tp => model.Heads % tp == 0 && (tp & (tp - 1)) == 0).ToList();
                foreach (var split in PdSplits(tps, options.Gpus, perNode))
                    layouts.Add(new Layout(layouts.Count, built.Gpu.Name, 0, 0, 0, 0) { Pd = split });
            }
        }
        return layouts;
    }

    /// <summary>
    /// The DP-attention engine shapes (TP, DP) of an MoE model within <paramref name="gpus"/>: TP a power of two of at most
    /// <paramref name="gpusPerNode"/> dividing the heads, DP >= 2, TP x DP within the budget and EP = TP x DP dividing the
    /// experts (vLLM's --enable-expert-parallel spreads whole experts over every GPU of the engine). Ordered by TP, then DP.
    /// </summary>
    public static IReadOnlyList<(int Tp, int Dp)> DpAttentionShapes(int heads, int experts, int gpusPerNode, int gpus)
    {
        var shapes = new List<(int, int)>();
        for (int tp = 1; tp <= Math.Min(gpusPerNode, gpus); tp *= 2)
        {
            if (heads % tp != 0) continue;
            for (int dp = 2; tp * dp <= gpus; dp++)
                if (experts % (tp * dp) == 0) shapes.Add((tp, dp));
        }
        return shapes;
    }

    /// <summary>
    /// The prefill/decode splits within <paramref name="gpus"/>: for every prefill TP and decode TP (each from
    /// <paramref name="tps"/>) and every ratio x:y of prefill to decode replicas with x, y in 1..3 and no common factor,
    /// the largest multiple k x (x:y) that fits the budget, kept when both pools tile the nodes of
    /// <paramref name="gpusPerNode"/> GPUs (a pool is a divisor of a node or whole nodes, and the decode pool starts on
    /// a multiple of its own node share). Ordered by prefill TP, decode TP, x, y.
    /// </summary>
    public static IReadOnlyList<PdSplit> PdSplits(IReadOnlyList<int> tps, int gpus, int gpusPerNode)
    {
        bool Tiles(int g) => g <= gpusPerNode ? gpusPerNode % g == 0 : g % gpusPerNode == 0;
        var splits = new List<PdSplit>();
        foreach (var tpP in tps)
            foreach (var tpD in tps)
                for (int x = 1; x <= 3; x++)
                    for (int y = 1; y <= 3; y++)
                    {
                        if (Gcd(x, y) != 1) continue;
                        int k = gpus / (x * tpP + y * tpD);
                        if (k < 1) continue;
                        var split = new PdSplit(tpP, k * x, tpD, k * y);
                        if (!Tiles(split.PrefillGpus) || !Tiles(split.DecodeGpus)) continue;
                        if (split.PrefillGpus % Math.Min(split.DecodeGpus, gpusPerNode) != 0) continue;
                        splits.Add(split);
                    }
        return splits;
    }

    private static int Gcd(int a, int b) => b == 0 ? a : Gcd(b, a % b);

    /// <summary>
    /// The knob grid around the scenario's own scheduler values, one knob at a time (the base point itself is the layout
    /// without knobs): max_num_seqs x 1/2 and x 2, max_num_batched_tokens x 1/2 and x 2 (kept >= max_num_seqs, as vLLM
    /// requires), and for PP > 1 two microbatch counts out of PP, 2 x PP, 1 that differ from the scenario's.
    /// </summary>
    public static IReadOnlyList<SchedulerKnobs> KnobGrid(Scenario scenario, int pp)
    {
        int seqs = scenario.Scheduler.MaxNumSeqs, tokens = scenario.Scheduler.MaxNumBatchedTokens, mb = scenario.Parallelism.Microbatches;
        var grid = new List<SchedulerKnobs>();
        foreach (var s in new[] { seqs / 2, seqs * 2 }.Where(v => v >= 1 && v != seqs && v <= tokens).Distinct()) grid.Add(new(s, tokens, mb));
        foreach (var t in new[] { tokens / 2, tokens * 2 }.Where(v => v >= seqs && v != tokens).Distinct()) grid.Add(new(seqs, t, mb));
        if (pp > 1)
            foreach (var m in new[] { pp, 2 * pp, 1 }.Where(v => v != mb).Distinct().Take(2)) grid.Add(new(seqs, tokens, m));
        return grid;
    }

    /// <summary>Plans one layout: memory check, then the load search; probe runs go beside <paramref name="runDir"/>, the best run to <paramref name="runDir"/>.</summary>
    public static LayoutOutcome Evaluate(string scenarioPath, IReadOnlyList<string> sets, Layout layout, PlanOptions options, string runDir)
    {
        var baseScenario = RunBuilder.Load(scenarioPath, sets);
        var layoutSets = sets.Concat(layout.Sets(baseScenario.Cluster.GpusPerNode)).Concat(CapSets(baseScenario, options.MaxRequests)).ToList();
        var scenario = RunBuilder.Load(scenarioPath, layoutSets);
        var built = RunBuilder.Build(scenario, requireFit: false);
        var vllm = DeployCommands.Vllm(scenario, built.Model.Name, layout);
        var sglang = DeployCommands.Sglang(scenario, built.Model.Name, layout);
        var knobs = new SchedulerKnobs(scenario.Scheduler.MaxNumSeqs, scenario.Scheduler.MaxNumBatchedTokens, scenario.Parallelism.Microbatches);
        double? price = scenario.Cost.UsdPerGpuHour(layout.Gpu);
        LayoutOutcome Outcome(bool fits, double? factor, double? rate, RunSummary? summary, int simulations, string reason) =>
            new(layout, fits, factor, rate, summary, simulations, reason, vllm, sglang) { Knobs = knobs, UsdPerGpuHour = price };
        if (layout.Pd is not null)
        {
            var pools = PoolBuilder.Build(scenario, requireFit: false);
            if (pools.Pools.FirstOrDefault(p => !p.Built.Memory.Fits) is { } full)
                return Outcome(false, null, null, null, 0, DoesNotFit(full.Built).Replace("does not fit:", $"{full.Spec.Name} pool does not fit:"));
        }
        else if (!built.Memory.Fits) return Outcome(false, null, null, null, 0, DoesNotFit(built));

        double baseRate = BaseRate(scenario);
        int sims = 0;
        var probes = Path.Combine(runDir + ".probes");
        RunSummary? best = null;
        string? bestDir = null;
        double lo = 0, hi = 0;
        RunSummary Probe(double f)
        {
            var dir = Path.Combine(probes, (sims++).ToString("D2", CultureInfo.InvariantCulture));
            var s = ScenarioRunner.Run(ScenarioRunner.OneThreadUnlessNamed(RunBuilder.Load(scenarioPath, layoutSets.Concat(LoadSets(scenario, f)).ToList())), dir).Summary;
            if (s.Slo.PercentileMet && s.Requests.Completed > 0) { best = s; bestDir = dir; lo = f; }
            else hi = f;
            return s;
        }

        try
        {
            RunSummary first;
            // A decode pool whose KV cache cannot hold the workload's longest request is found by the pool runner.
            try { first = Probe(1); }
            catch (PlanDoesNotFitException nf) when (layout.Pd is not null)
            {
                return Outcome(false, null, null, null, sims, "decode pool does not fit: " + nf.Message.Replace("\r", "").Replace('\n', ';'));
            }
            if (best is not null)
                for (double f = 2; f <= MaxFactor && hi == 0 && sims < options.MaxSimulationsPerLayout; f *= 2) Probe(f);
            else
                for (double f = 0.5; f >= MinFactor && best is null && sims < options.MaxSimulationsPerLayout; f /= 2) Probe(f);
            if (best is null)
                return Outcome(true, null, null, null, sims, $"misses the SLO even at {Load(scenario, hi)} ({Slo(first)})");
            while (hi > 0 && hi / lo > 1 + options.RateTolerance && sims < options.MaxSimulationsPerLayout) Probe(Math.Sqrt(lo * hi));
            if (Directory.Exists(runDir)) Directory.Delete(runDir, recursive: true);
            Directory.Move(bestDir!, runDir);
            string reason = hi == 0 ? $"ok: SLO met up to {Load(scenario, lo)} (no failing load found in the search)"
                : $"ok: SLO met up to {Load(scenario, lo)}, missed at {Load(scenario, hi)}";
            // A trace's offered rate is its own; the completed requests/s of the passing run stands for it.
            double rate = scenario.Workload.Synthetic is not null ? lo * baseRate : best!.Throughput.RequestsPerS;
            return Outcome(true, lo, rate, best, sims, reason);
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
    /// The directory is written beside <paramref name="outDir"/> and moved into place at the end (<see cref="StagedOutput"/>);
    /// <paramref name="beforePublish"/> may add files (the report) to the unpublished folder it is given.
    /// </summary>
    public static PlanResult Run(string scenarioPath, IReadOnlyList<string> sets, PlanOptions options, string outDir, int jobs,
        ShardSpec? shard = null, Action<LayoutOutcome>? onLayout = null, Action<string>? beforePublish = null)
    {
        var layouts = Enumerate(scenarioPath, sets, options);
        if (layouts.Count == 0) throw new ArgumentException($"--gpus {options.Gpus}: no layout of the model uses at most {options.Gpus} GPUs");
        var owned = layouts.Where(l => shard is not { } sh || sh.Owns(l.Index)).ToList();
        using var output = StagedOutput.Begin(outDir, OutputKind.Plan);
        var temp = output.TempDirectory;
        var points = Path.Combine(temp, "points");
        Directory.CreateDirectory(points);
        var outcomes = new LayoutOutcome[owned.Count];
        Parallel.For(0, owned.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, jobs) }, i =>
        {
            outcomes[i] = Evaluate(scenarioPath, sets, owned[i], options, Path.Combine(points, owned[i].Slug));
            onLayout?.Invoke(outcomes[i]);
        });
        if (shard is null && outcomes.All(o => !o.Fits))
        {
            // The closest layout is the one with the most GPUs per model copy: the least weight per GPU.
            var closest = owned.OrderByDescending(l => l.Tp * l.Pp * l.Dp).ThenBy(l => l.Index).First();
            var baseScenario = RunBuilder.Load(scenarioPath, sets);
            var scenario = RunBuilder.Load(scenarioPath, sets.Concat(closest.Sets(baseScenario.Cluster.GpusPerNode)).ToList());
            var built = RunBuilder.Build(scenario, requireFit: false);
            var at = scenario.Locations.ErrorAt("parallelism", "");
            throw new PlanDoesNotFitException(at.File, at.Line, built.Memory);
        }
        WriteTable(Path.Combine(temp, "plan.csv"), outcomes);
        if (shard is { } s)
        {
            var baseDir = Path.GetDirectoryName(Path.GetFullPath(scenarioPath));
            var texts = new[] { ScenarioWriter.ToYaml(RunBuilder.Load(scenarioPath, sets), baseDir), options with { GpuTypes = [] } + string.Join(",", options.GpuTypes) }
                .Concat(layouts.Select(l => l.Slug));
            new ShardManifest(Kind, RunBuilder.Load(scenarioPath, sets).Name, ShardManifest.FingerprintOf(texts), layouts.Count, s.Index, s.Count,
                owned.Select(l => l.Index).ToList(), "plan.csv").Write(temp);
        }
        beforePublish?.Invoke(temp);
        output.Publish();
        return new PlanResult(output.Target, Path.Combine(output.Target, "plan.csv"), layouts.Count, outcomes);
    }

    /// <summary>
    /// Ranks feasible outcomes by goodput per dollar when every one has a price (<c>cost.gpu_hour_usd</c>), else by
    /// goodput per GPU; then tokens/s/user, then layout order.
    /// </summary>
    public static IReadOnlyList<LayoutOutcome> Rank(IEnumerable<LayoutOutcome> outcomes)
    {
        var feasible = outcomes.Where(o => o.Feasible).ToList();
        bool byCost = RanksByCost(feasible);
        return feasible.OrderByDescending(o => byCost ? o.GoodputTokensPerSPerUsdPerHour!.Value : o.GoodputTokensPerSPerGpu)
            .ThenByDescending(o => o.TokensPerSPerUser).ThenBy(o => o.Layout.Index).ToList();
    }

    /// <summary>True when the outcomes rank by goodput per dollar: there is one and every one has a price.</summary>
    public static bool RanksByCost(IReadOnlyCollection<LayoutOutcome> outcomes) => outcomes.Count > 0 && outcomes.All(o => o.UsdPerGpuHour is not null);

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
            foreach (var v in l.Pd is null ? new[] { l.Tp, l.Pp, l.Ep, l.Replicas } : [0, 0, 0, 0]) w.WriteField(l.Pd is null ? MetricFormat.Integer(v) : "");
            w.WriteField(l.Pd is null ? MetricFormat.Integer(l.Dp) : "");
            foreach (var v in l.Pd is { } pd ? new[] { pd.PrefillTp, pd.PrefillReplicas, pd.DecodeTp, pd.DecodeReplicas } : [0, 0, 0, 0]) w.WriteField(l.Pd is null ? "" : MetricFormat.Integer(v));
            foreach (var v in new[] { o.Knobs.MaxNumSeqs, o.Knobs.MaxNumBatchedTokens, o.Knobs.Microbatches, l.Gpus }) w.WriteField(MetricFormat.Integer(v));
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
            w.WriteField(o.UsdPerHour is { } usd ? MetricFormat.Fixed(usd, 2) : "");
            w.WriteField(o.GoodputTokensPerSPerUsdPerHour is { } perUsd ? MetricFormat.Fixed(perUsd, 3) : "");
            w.WriteField(o.UsdPerMillionOutputTokens is { } perM ? MetricFormat.Fixed(perM, 3) : "");
            w.WriteField(MetricFormat.Integer(o.Simulations));
            w.WriteField(o.Reason.Replace('\n', ' ').Replace('\r', ' '));
            w.WriteField(o.VllmCommand);
            w.WriteField(o.SglangCommand);
            w.EndRecord();
        }
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
