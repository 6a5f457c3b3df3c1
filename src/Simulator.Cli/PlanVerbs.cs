using System.CommandLine;
using System.Globalization;
using Simulator.Reports;
using Simulator.Scenarios.Planning;

namespace Simulator.Cli;

/// <summary>The `plan` and `merge` verbs: the layout search under an SLO, and combining `--shard I/N` outputs.</summary>
public static class PlanCommands
{
    /// <summary>Adds `plan` and `merge` to the command tree (those of them that <paramref name="wants"/> names).</summary>
    public static void Add(RootCommand root, Func<string, bool> wants)
    {
        if (wants("plan")) AddPlan(root);
        if (wants("merge")) AddMerge(root);
    }

    private static void AddPlan(RootCommand root)
    {
        var pScenario = new Argument<string>("scenario") { Description = "scenario YAML file (model, workload, slo)" };
        var pGpus = new Option<int>("--gpus") { Description = "GPUs available (of each --gpu type)", Required = true };
        var pGpu = new Option<string[]>("--gpu") { Description = "GPU preset to plan on (repeatable; default: the scenario's cluster.gpu)", Arity = ArgumentArity.ZeroOrMore };
        var pOut = new Option<string?>("--out") { Description = "plan directory (default results/<name>-plan/)" };
        var pJobs = new Option<int?>("--jobs") { Description = "layouts searched in parallel (default: all cores)" };
        var pTop = new Option<int>("--top") { Description = "layouts printed (and in the report's top table) with their deploy commands", DefaultValueFactory = _ => 3 };
        var pMax = new Option<int>("--max-requests") { Description = "most requests per probe simulation", DefaultValueFactory = _ => 400 };
        var pKnobs = new Option<bool>("--knobs") { Description = "also search max_num_seqs, max_num_batched_tokens and (PP > 1) microbatches around the scenario's values (or plan: {knobs: true})" };
        var pPd = new Option<bool>("--pd") { Description = "also enumerate prefill/decode (xPyD) splits with their own TP per side (or plan: {disaggregation: true})" };
        var pSet = CliApp.SetOption();
        var pShard = CliApp.ShardOption();
        var plan = new Command("plan", "search TP/PP/EP/replica layouts within --gpus for the highest load meeting the SLO; write plan.csv")
            { pScenario, pGpus, pGpu, pOut, pJobs, pTop, pMax, pKnobs, pPd, pSet, pShard };
        plan.SetAction(p => Plan(p.GetValue(pScenario)!, p.GetValue(pGpus), p.GetValue(pGpu) ?? [], p.GetValue(pOut), p.GetValue(pJobs),
            p.GetValue(pTop), p.GetValue(pMax), p.GetValue(pSet) ?? [], p.GetValue(pShard), p.GetValue(pKnobs), p.GetValue(pPd)));
        root.Subcommands.Add(plan);
    }

    private static void AddMerge(RootCommand root)
    {
        var dirs = new Argument<string[]>("dirs") { Description = "shard directories written with --shard I/N", Arity = ArgumentArity.OneOrMore };
        var mOut = new Option<string>("--out") { Description = "merged directory", Required = true };
        var mNoReport = new Option<bool>("--no-report") { Description = "skip charts and report.html" };
        var merge = new Command("merge", "combine shard directories (sim sweep|plan --shard I/N) into one sweep.csv / plan.csv and report") { dirs, mOut, mNoReport };
        merge.SetAction(p => Merge(p.GetValue(dirs)!, p.GetValue(mOut)!, !p.GetValue(mNoReport)));
        root.Subcommands.Add(merge);
    }

    /// <summary>`sim plan SCENARIO --gpus N ...`.</summary>
    public static int Plan(string scenarioPath, int gpus, IReadOnlyList<string> gpuTypes, string? outDir, int? jobs, int top, int maxRequests,
        IReadOnlyList<string> sets, string? shardText, bool knobs = false, bool pd = false)
    {
        if (gpus < 1) throw new ArgumentException($"--gpus {gpus}: must be at least 1");
        if (top < 1) throw new ArgumentException($"--top {top}: must be at least 1");
        if (maxRequests < 1) throw new ArgumentException($"--max-requests {maxRequests}: must be at least 1");
        int parallel = jobs ?? Environment.ProcessorCount;
        if (parallel < 1) throw new ArgumentException($"--jobs {parallel}: must be at least 1");
        var shard = shardText is null ? (ShardSpec?)null : ShardSpec.Parse(shardText);
        var scenario = Simulator.Scenarios.RunBuilder.Load(scenarioPath, sets);
        var dir = outDir ?? Path.Combine("results", scenario.Name + "-plan" + (shard is { } s0 ? $"-shard{s0.Index}of{s0.Count}" : ""));
        // Refused before the banner; Planner.Run checks again when it starts the directory.
        Simulator.Inference.Metrics.OutputTarget.Check(Simulator.Inference.Metrics.OutputTarget.Full(dir), Simulator.Inference.Metrics.OutputKind.Plan);
        var options = new PlanOptions(gpus, gpuTypes, maxRequests, Knobs: knobs, Disaggregation: pd);
        Console.WriteLine($"sim: planning {scenario.Name} on {gpus} GPUs{(shard is { } s1 ? $" (shard {s1})" : "")}: SLO met at p{scenario.Slo.Percentile.ToString(CultureInfo.InvariantCulture)}, " +
            $"load found to within {options.RateTolerance:P0}, at most {options.MaxSimulationsPerLayout} simulations of {maxRequests} requests per layout");
        var gate = new object();
        PlanResult result;
        PlanReportResult? report = null;
        try
        {
            // The report is written into the plan directory before it is published, so a plan is whole or absent.
            result = Planner.Run(scenarioPath, sets, options, dir, parallel, shard, o =>
            {
                lock (gate) Console.WriteLine($"  {o.Layout.Slug}: {o.Reason}");
            }, shard is null ? temp => report = PlanReport.Build(temp, temp, Math.Max(top, PlanReport.DefaultTop)) : null);
        }
        catch (Simulator.Scenarios.PlanDoesNotFitException nf)
        {
            // One line: the closest layout's memory buckets, stage by stage, separated by ';'.
            Console.Error.WriteLine(nf.Message.Replace("\r", "").Replace('\n', ';') + " (closest layout; none of the layouts fits)");
            return CliVerbs.ExitDoesNotFit;
        }
        Console.WriteLine($"plan.csv: {result.PlanCsv} ({result.Outcomes.Count} of {result.TotalLayouts} layouts)");
        if (shard is not null) return CliVerbs.ExitOk;
        PrintReport(result.Directory, report!);
        var ranked = Planner.Rank(result.Outcomes);
        if (ranked.Count == 0) Console.WriteLine("no layout meets the SLO at any load searched; see the reasons above");
        else Console.WriteLine(Planner.RanksByCost(ranked) ? "ranked by goodput per dollar (cost.gpu_hour_usd):" : "ranked by goodput per GPU:");
        var inv = CultureInfo.InvariantCulture;
        foreach (var (o, i) in ranked.Take(top).Select((o, i) => (o, i)))
        {
            var s = o.Summary!;
            string cost = o.UsdPerHour is { } usd
                ? $"; ${usd.ToString("0.00", inv)}/h, ${o.UsdPerMillionOutputTokens!.Value.ToString("0.000", inv)} per million output tokens, " +
                  $"{o.GoodputTokensPerSPerUsdPerHour!.Value.ToString("0.0", inv)} tok/s per $/h"
                : "";
            Console.WriteLine($"#{i + 1} {o.Layout.Slug[5..]} ({o.Layout.Shape}): {o.GoodputTokensPerSPerGpu.ToString("0.0", inv)} output tok/s/GPU within SLO, " +
                $"{o.TokensPerSPerUser.ToString("0.0", inv)} tok/s/user at {o.MaxRatePerS!.Value.ToString("0.###", inv)} req/s; " +
                $"TTFT p95 {s.TtftMs.P95.ToString("0.0", inv)} ms, TPOT p95 {s.TpotMs.P95.ToString("0.0", inv)} ms{cost}");
            Console.WriteLine("   " + o.VllmCommand);
            Console.WriteLine("   " + o.SglangCommand);
        }
        return CliVerbs.ExitOk;
    }

    /// <summary>Says where the plan report <paramref name="r"/> (Pareto and goodput charts, report.html, report.md), written in <paramref name="dir"/>, is.</summary>
    private static void PrintReport(string dir, PlanReportResult r)
    {
        var pareto = r.Report.Charts.FirstOrDefault(c => c.Name == "pareto");
        var front = PlanCharts.Points(RunTable.TryReadFile(Path.Combine(dir, "plan.csv"))!);
        Console.WriteLine(pareto is null ? "pareto: no feasible layout to draw"
            : $"pareto: {Path.Combine(dir, "charts", pareto.PngFile)} ({front.Count(p => p.OnFront)} of {front.Count} feasible layouts on the front)");
        Console.WriteLine($"report: {Path.Combine(dir, Path.GetFileName(r.Report.HtmlPath))}");
    }

    /// <summary>`sim merge DIRS... --out DIR`.</summary>
    public static int Merge(IReadOnlyList<string> dirs, string outDir, bool report)
    {
        // Implementation note: a merged plan's or sweep's report is written into the directory before it is published, so
        // the output is whole or absent; a sweep's report names the folder it is published at (StagedReport).
        PlanReportResult? plan = null;
        StagedReport? sweep = null;
        var r = ShardMerge.Merge(dirs, outDir, report ? temp =>
        {
            var kind = ShardManifest.Read(dirs[0]).Kind;
            if (kind == Planner.Kind) plan = PlanReport.Build(temp, temp, PlanReport.DefaultTop);
            else if (kind == ShardedSweep.Kind) (sweep = new StagedReport()).Build(temp, Simulator.Inference.Metrics.OutputTarget.Full(outDir));
        } : null);
        Console.WriteLine($"sim: merged {dirs.Count} shards of {r.Manifest.Kind} {r.Manifest.Scenario} ({r.Manifest.TotalPoints} points)");
        Console.WriteLine($"{Path.GetFileName(r.TablePath)}: {r.TablePath}");
        if (plan is not null) PrintReport(r.Directory, plan);
        else if (sweep is not null)
        {
            sweep.ThrowIfFailed();
            var built = sweep.Result!;
            Console.WriteLine($"report: {built.HtmlPath}");
            if (built.Verdict is { } v) Console.WriteLine(v);
        }
        return CliVerbs.ExitOk;
    }
}
