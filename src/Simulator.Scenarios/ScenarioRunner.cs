using System.Diagnostics;
using System.Globalization;
using Simulator.Inference.Cost;
using Simulator.Inference.Metrics;
using Simulator.Inference.Serving;
using Simulator.Kernel;
using Simulator.Kernel.Monitoring;
using MetricsSlo = Simulator.Inference.Metrics.SloSpec;

namespace Simulator.Scenarios;

/// <summary>What one run produced: its directory, the headline figures and the wall-clock figures (perf.json).</summary>
/// <remarks>With pools, <see cref="Built"/> is the first pool's and <see cref="Pools"/> holds them all.</remarks>
public sealed record RunResult(string Directory, RunSummary Summary, SimulationStats Perf, BuiltScenario Built, BuiltPools? Pools = null)
{
    /// <summary>The table columns the run was asked to keep in memory (<see cref="ScenarioRunner.Run"/>'s capture), by table name; empty without one.</summary>
    public IReadOnlyDictionary<string, CapturedTable> Tables { get; init; } = new Dictionary<string, CapturedTable>();
}

/// <summary>One sweep point's outcome: its run directory and summary, or the reason it failed.</summary>
public sealed record SweepPointOutcome(SweepPoint Point, string Directory, RunSummary? Summary, string? Error);

/// <summary>What a sweep produced.</summary>
public sealed record SweepResult(string Directory, string SweepCsv, IReadOnlyList<string> SweptKeys, IReadOnlyList<SweepPointOutcome> Points);

/// <summary>Runs scenarios end to end: build, simulate, stream the outputs, commit the run directory.</summary>
public static class ScenarioRunner
{
    /// <summary>Default run directory for a scenario: results/&lt;name&gt;/ under the working directory.</summary>
    public static string DefaultRunDirectory(Scenario scenario) => Path.Combine("results", scenario.Name);

    /// <summary>
    /// Simulates one scenario and writes its run directory (files appear only when the run succeeded; a failed
    /// run leaves nothing behind). Throws <see cref="ScenarioException"/>, <see cref="PlanDoesNotFitException"/> or
    /// a workload format error for bad input. <paramref name="capture"/> names table columns to keep in memory as they are
    /// written (<see cref="RunResult.Tables"/>), for a report built in the same process. <paramref name="beforePublish"/> may
    /// add files (the report) to the finished, unpublished folder (<see cref="RunDirectoryWriter.Commit"/>); it then gets
    /// the captured tables, and <see cref="RunResult.Tables"/> is empty.
    /// </summary>
    public static RunResult Run(Scenario scenario, string outDir, TableCapture? capture = null, Action<StagedRun>? beforePublish = null)
    {
        OutputTarget.CheckRunTarget(outDir);
        RunCost.Check(scenario);
        return scenario.Pools.Count > 0 ? PoolRunner.Run(scenario, outDir, capture, beforePublish) : RunReplicas(scenario, outDir, capture, beforePublish);
    }

    private static RunResult RunReplicas(Scenario scenario, string outDir, TableCapture? capture, Action<StagedRun>? beforePublish)
    {
        var built = RunBuilder.Build(scenario);
        PhaseTrace.Mark("built");
        var plan = built.Plan;
        var slo = new MetricsSlo(scenario.Slo.TtftMs, scenario.Slo.TpotMs, scenario.Slo.Percentile);
        var meta = new RunMetadata(scenario.Name, scenario.Seed, slo, plan.Pp, plan.Microbatches, UsdPerHour: RunCost.UsdPerHour(scenario, [built]));
        var source = scenario.Workload.CreateSource(scenario.Seed);

        using var writer = new RunDirectoryWriter(outDir, meta, new RunWriterOptions(scenario.Output.TimelineMaxEvents,
            scenario.Output.Format == "parquet" ? TableFormat.Parquet : TableFormat.Csv, LayoutOf(built), Engines: DataParallelOutputs.Engines([plan]), Iterations: scenario.Output.IterationRows,
            WriterThread: UsesWriterThread(scenario), Capture: capture));
        writer.WriteText("scenario.yaml", ScenarioWriter.ToYaml(scenario, Path.GetFullPath(outDir)));
        PhaseTrace.Mark("writer opened");

        var sim = new Simulation(scenario.Seed);
        var accounting = new CommAccounting(writer, built);
        var network = scenario.Network.Model == "flow" ? new FlowStageExecutor(sim, built) : null;
        var scheduler = built.SchedulerConfig();
        var replicas = built.ReplicaSetups(scheduler);
        var faults = FaultPlanning.Settings(built, network is null ? built.Topology.SetPortFactor : network.SetPortFactor);
        var serving = new ServingSimulation(sim, source, replicas, ServingOptionsOf(scenario, built) with { Faults = faults, Threads = scenario.Run.Threads }, accounting, network);
        PhaseTrace.Mark("serving set up");
        var (result, perf) = Simulate(serving);
        PhaseTrace.Mark("event loop");
        var gpus = GpuRows(built, result.Replicas);
        var links = network?.LinkRows() ?? accounting.LinkRows();
        var summary = writer.Commit(new RunEndInputs(perf, Pipelines(result), gpus, links, PrefixCacheTotals(result),
            faults is null ? null : Availability(result), DataParallelOutputs.Summary(serving.DataParallelEngines, plan), serving.FrontEndTotals), beforePublish);
        PhaseTrace.Mark("outputs committed");
        return new RunResult(writer.OutputDirectory, summary, perf, built) { Tables = writer.TakeCapturedTables() };
    }

    /// <summary>The serving options of a run; the front end's costs come from <paramref name="built"/>'s engine profile.</summary>
    internal static ServingOptions ServingOptionsOf(Scenario scenario, BuiltScenario built)
    {
        return new(scenario.Router, Simulator.Kernel.RandomStreams.DeriveSeed(scenario.Seed, "router"),
            SimDuration.FromSeconds(scenario.Output.TimeseriesIntervalS).Nanoseconds,
            PrefixRouter: new PrefixRouterOptions(scenario.RouterOptions.CacheThreshold, scenario.RouterOptions.BalanceAbsThreshold,
                scenario.RouterOptions.BalanceRelThreshold),
            FrontEnd: scenario.FrontEnd.Apply(built.Profile.FrontEnd));
    }

    /// <summary>Runs the serving simulation and times it (the wall clock goes to perf.json only).</summary>
    internal static (ServingResult Result, SimulationStats Perf) Simulate(ServingSimulation serving)
    {
        var wall = Stopwatch.StartNew();
        var result = serving.Run();
        wall.Stop();
        return (result, new SimulationStats(result.Events, result.EndNs, wall.Elapsed.TotalSeconds, result.Threads, result.SerialReason, result.Windows, result.NoLookaheadReason, result.WorkerShare));
    }

    internal static List<ReplicaPipelineStats> Pipelines(ServingResult result) =>
        result.Replicas.Select(r => new ReplicaPipelineStats(r.Replica, r.PipelineActiveNs, r.StageTotals.Select(s => s.BusyNs).ToList())).ToList();

    /// <summary>
    /// Runs every point of a sweep (in parallel, up to <paramref name="jobs"/> at once; results do not depend on
    /// it) and writes sweep.csv and points/&lt;index&gt;-&lt;label&gt;/. A point that fails is a row with its reason.
    /// <paramref name="beforePublish"/> may add files (a shard's shard.json) to the unpublished folder it is given.
    /// </summary>
    public static SweepResult Sweep(IReadOnlyList<SweepPoint> points, string outDir, int jobs, Action<SweepPointOutcome>? onPoint = null,
        Action<string>? beforePublish = null)
    {
        if (points.Count == 0) throw new ArgumentException("the scenario has no sweep points", nameof(points));
        // Implementation note: like a run, a sweep is written into a hidden sibling and moved into place at the end,
        // replacing only an earlier sweep directory (its marker); an interrupted or failed sweep leaves nothing.
        using var output = StagedOutput.Begin(outDir, OutputKind.Sweep);
        var root = output.Target;
        var temp = output.TempDirectory;
        Directory.CreateDirectory(Path.Combine(temp, "points"));
        var outcomes = new SweepPointOutcome[points.Count];
        Parallel.For(0, points.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, jobs) }, i =>
        {
            var point = points[i];
            var dir = Path.Combine(root, "points", point.Slug);
            SweepPointOutcome outcome;
            try
            {
                var run = Run(OneThreadUnlessNamed(point.Scenario), Path.Combine(temp, "points", point.Slug));
                outcome = new SweepPointOutcome(point, dir, run.Summary, null);
            }
            catch (Exception ex) when (IsInputError(ex) && !PartialOutputs.Interrupted)
            {
                outcome = new SweepPointOutcome(point, dir, null, OneLine(ex));
            }
            outcomes[i] = outcome;
            onPoint?.Invoke(outcome);
        });
        var keys = points[0].Labels.Select(l => l.Key).ToList();
        var rows = outcomes.Select(o => new SweepPointResult(o.Point.Labels.Select(l => l.Value).ToList(), o.Summary, o.Error)).ToList();
        SweepTable.Write(Path.Combine(temp, "sweep.csv"), keys, rows);
        beforePublish?.Invoke(temp);
        output.Publish();
        return new SweepResult(root, Path.Combine(root, "sweep.csv"), keys, outcomes);
    }

    /// <summary>
    /// A point of a sweep or plan, which already runs beside others on the cores: one thread for its replicas unless its
    /// scenario names a number (<c>run.threads: N</c>).
    /// </summary>
    public static Scenario OneThreadUnlessNamed(Scenario scenario) =>
        scenario.Run.Threads == 0 ? scenario with { Run = scenario.Run with { Threads = 1 } } : scenario;

    /// <summary>
    /// Whether a run formats and writes its rows on a writer thread of its own (<see cref="RunWriterOptions.WriterThread"/>):
    /// with <c>run.threads</c> N >= 2 on a machine of more than one logical processor; not with <c>auto</c> or 1 (a sweep
    /// or plan point that names no number counts as 1: those points already share the cores). The files are the same
    /// either way.
    /// </summary>
    // Implementation note: auto leaves it off because it was measured to cost about 3 s more CPU on fleet-1m for the
    // same wall time on the 2-core machine (README "The writer thread"), and nowhere to pay.
    public static bool UsesWriterThread(Scenario scenario) => Environment.ProcessorCount > 1 && scenario.Run.Threads >= 2;

    /// <summary>True for the failures that are the user's input (exit code 2 or 3), not a bug.</summary>
    public static bool IsInputError(Exception ex) => ex is ScenarioException or PlanDoesNotFitException or OutputTargetException
        or Simulator.Inference.Workload.WorkloadFormatException or Simulator.Inference.Parallelism.PlanException
        or Simulator.Inference.Models.ModelConfigException or ArgumentException or IOException;

    private static string OneLine(Exception ex)
    {
        var text = ex is ScenarioException se ? string.Join(" | ", se.Errors.Select(e => e.ToString())) : ex.Message;
        return text.Replace('\n', ' ').Replace('\r', ' ');
    }

    /// <summary>
    /// gpus.csv rows of one (pool's) scenario. With pools, <paramref name="firstGpu"/> and <paramref name="firstReplica"/>
    /// shift its GPU and replica numbers to the run's, <paramref name="physicalGpusPerNode"/> gives the node, and each row
    /// carries the pool's name and GPU type.
    /// </summary>
    internal static List<GpuActivity> GpuRows(BuiltScenario built, IReadOnlyList<ReplicaStats> replicas,
        int firstGpu = 0, int firstReplica = 0, int? physicalGpusPerNode = null, string? pool = null)
    {
        var rows = new List<GpuActivity>();
        var byGpu = built.Placement.Rows.ToDictionary(r => r.Gpu);
        var expertLoads = ExpertLoads(built);
        int perNode = physicalGpusPerNode ?? built.Scenario.Cluster.GpusPerNode;
        string? type = pool is null ? null : built.Gpu.Name;
        for (int local = 0; local < built.Topology.GpuCount; local++)
        {
            int gpu = firstGpu + local;
            if (!byGpu.TryGetValue(local, out var p))
            {
                rows.Add(new GpuActivity(gpu, gpu / perNode, -1, -1, -1, 0, 0, 0, 0, built.Gpu.MemoryGB, 0, 0, 0, null, pool, type));
                continue;
            }
            var mem = built.Memory.Stages[p.Stage];
            var stats = replicas[firstReplica + p.Replica].StageTotals[p.Stage];
            double? load = expertLoads is null ? null : expertLoads[built.Plan.EpRankOf(p.Replica, p.TpRank) % expertLoads.Length];
            rows.Add(new GpuActivity(gpu, physicalGpusPerNode is null ? p.Node : gpu / perNode, firstReplica + p.Replica, p.Stage, p.TpRank,
                mem.WeightsGB, mem.KvGB, mem.ActivationGB, mem.HeldBackGB, mem.FreeGB, stats.BusyNs, stats.ComputeNs + stats.OverheadNs, stats.CommNs,
                load, pool, type));
        }
        return rows;
    }

    /// <summary>The run's prefix-cache figures summed over replicas.</summary>
    internal static PrefixCacheSummary PrefixCacheTotals(ServingResult result)
    {
        var stats = result.Replicas.Select(r => r.PrefixCache ?? PrefixCacheStats.Disabled).ToList();
        return PrefixCacheSummary.From(stats.Any(s => s.Enabled), stats.Sum(s => s.PromptTokens), stats.Sum(s => s.HbmHitTokens),
            stats.Sum(s => s.CpuHitTokens), stats.Sum(s => s.EvictedBlocks));
    }

    /// <summary>Relative routed load of each EP rank (1 = fair share) for MoE models, else null.</summary>
    private static double[]? ExpertLoads(BuiltScenario built)
    {
        var m = built.Model;
        if (!m.IsMoe) return null;
        int ranks = Math.Max(1, built.Plan.Ep);
        var routing = new ExpertRouting(m.Experts, m.TopK, ranks, built.Scenario.Moe.RoutingSkew);
        return routing.RankLoads();
    }

    /// <summary>Applied faults and the fraction of replica-seconds live over the run.</summary>
    internal static FaultSummary Availability(ServingResult result)
    {
        var live = result.LiveNs ?? [];
        double span = (double)result.EndNs * live.Count;
        return new FaultSummary(span > 0 ? live.Sum(x => (double)x) / span : 1.0, result.Faults ?? []);
    }

    /// <summary>The timeline's names: the replica layout ("TP4 x PP2, H100-SXM-80GB") and the GPUs of every stage.</summary>
    private static TimelineLayout LayoutOf(BuiltScenario built)
    {
        var p = built.Plan;
        var shape = (p.IsDataParallelAttention ? $"DP{p.Dp} x TP{p.Tp} (EP{p.Ep})" : $"TP{p.Tp} x PP{p.Pp}" + (p.Ep > 1 ? $" x EP{p.Ep}" : "") + (p.Cp > 1 ? $" x CP{p.Cp}" : ""))
            + ", " + built.Gpu.Name;
        var stages = Enumerable.Range(0, p.Replicas).Select(r => (IReadOnlyList<string>)Enumerable.Range(0, p.Pp)
            .Select(s => TimelineLayout.GpuLabel(built.Placement.Rows.Where(x => x.Replica == r && x.Stage == s).Select(x => x.Gpu)))
            .ToArray()).ToArray();
        return new TimelineLayout(shape, stages);
    }

    internal static string Gb(double v) => v.ToString("0.00", CultureInfo.InvariantCulture);
}
