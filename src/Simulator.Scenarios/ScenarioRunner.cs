using System.Diagnostics;
using System.Globalization;
using Simulator.Inference.Cost;
using Simulator.Inference.Metrics;
using Simulator.Inference.Serving;
using Simulator.Kernel;
using MetricsSlo = Simulator.Inference.Metrics.SloSpec;

namespace Simulator.Scenarios;

/// <summary>What one run produced: its directory, the headline figures and the wall-clock figures (perf.json).</summary>
public sealed record RunResult(string Directory, RunSummary Summary, SimulationStats Perf, BuiltScenario Built);

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
    /// a workload format error for bad input.
    /// </summary>
    public static RunResult Run(Scenario scenario, string outDir)
    {
        var built = RunBuilder.Build(scenario);
        var plan = built.Plan;
        var slo = new MetricsSlo(scenario.Slo.TtftMs, scenario.Slo.TpotMs, scenario.Slo.Percentile);
        var meta = new RunMetadata(scenario.Name, scenario.Seed, slo, plan.Pp, plan.Microbatches);
        var source = scenario.Workload.CreateSource(scenario.Seed);

        using var writer = new RunDirectoryWriter(outDir, meta, new RunWriterOptions(scenario.Output.TimelineMaxEvents,
            scenario.Output.Format == "parquet" ? TableFormat.Parquet : TableFormat.Csv, LayoutOf(built)));
        writer.WriteText("scenario.yaml", ScenarioWriter.ToYaml(scenario, Path.GetFullPath(outDir)));

        var sim = new Simulation(scenario.Seed);
        var costModels = Enumerable.Range(0, plan.Replicas).Select(built.CostModel).ToList();
        var accounting = new CommAccounting(writer, built);
        var network = scenario.Network.Model == "flow" ? new FlowStageExecutor(sim, built) : null;
        var scheduler = built.SchedulerConfig();
        var replicas = costModels.Select(c => new ReplicaSetup(c, scheduler, plan.Microbatches)).ToList();
        var fe = built.Profile.FrontEnd;
        var options = new ServingOptions(scenario.Router, Simulator.Kernel.RandomStreams.DeriveSeed(scenario.Seed, "router"),
            SimDuration.FromSeconds(scenario.Output.TimeseriesIntervalS).Nanoseconds,
            FrontEnd: new FrontEndDelays((long)Math.Round(fe.PerRequestUs * 1e3), fe.TokenizePerInputTokenUs * 1e3, (long)Math.Round(fe.OutputLagUs * 1e3)));
        var serving = new ServingSimulation(sim, source, replicas, options, accounting, network);

        var wall = Stopwatch.StartNew();
        var result = serving.Run();
        wall.Stop();

        var perf = new SimulationStats(result.Events, result.EndNs, wall.Elapsed.TotalSeconds);
        var pipelines = result.Replicas.Select(r => new ReplicaPipelineStats(r.Replica, r.PipelineActiveNs,
            r.StageTotals.Select(s => s.BusyNs).ToList())).ToList();
        var gpus = GpuRows(built, result, costModels);
        var links = network?.LinkRows() ?? accounting.LinkRows();
        var summary = writer.Commit(new RunEndInputs(perf, pipelines, gpus, links));
        return new RunResult(writer.OutputDirectory, summary, perf, built);
    }

    /// <summary>
    /// Runs every point of a sweep (in parallel, up to <paramref name="jobs"/> at once; results do not depend on
    /// it) and writes sweep.csv and points/&lt;index&gt;-&lt;label&gt;/. A point that fails is a row with its reason.
    /// </summary>
    public static SweepResult Sweep(IReadOnlyList<SweepPoint> points, string outDir, int jobs, Action<SweepPointOutcome>? onPoint = null)
    {
        if (points.Count == 0) throw new ArgumentException("the scenario has no sweep points", nameof(points));
        var root = Path.GetFullPath(outDir);
        // A sweep directory holds one sweep: clear what an earlier sweep left (its points would be mistaken for ours).
        if (Directory.Exists(Path.Combine(root, "points"))) Directory.Delete(Path.Combine(root, "points"), recursive: true);
        if (Directory.Exists(Path.Combine(root, "charts"))) Directory.Delete(Path.Combine(root, "charts"), recursive: true);
        foreach (var stale in new[] { "sweep.csv", "report.html", "report.md" })
            if (File.Exists(Path.Combine(root, stale))) File.Delete(Path.Combine(root, stale));
        Directory.CreateDirectory(Path.Combine(root, "points"));
        var outcomes = new SweepPointOutcome[points.Count];
        Parallel.For(0, points.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, jobs) }, i =>
        {
            var point = points[i];
            var dir = Path.Combine(root, "points", point.Slug);
            SweepPointOutcome outcome;
            try
            {
                var run = Run(point.Scenario, dir);
                outcome = new SweepPointOutcome(point, run.Directory, run.Summary, null);
            }
            catch (Exception ex) when (IsInputError(ex))
            {
                outcome = new SweepPointOutcome(point, dir, null, OneLine(ex));
            }
            outcomes[i] = outcome;
            onPoint?.Invoke(outcome);
        });
        var keys = points[0].Labels.Select(l => l.Key).ToList();
        var csv = Path.Combine(root, "sweep.csv");
        var rows = outcomes.Select(o => new SweepPointResult(o.Point.Labels.Select(l => l.Value).ToList(), o.Summary, o.Error)).ToList();
        var tmp = csv + ".partial";
        SweepTable.Write(tmp, keys, rows);
        File.Move(tmp, csv, overwrite: true);
        return new SweepResult(root, csv, keys, outcomes);
    }

    /// <summary>True for the failures that are the user's input (exit code 2 or 3), not a bug.</summary>
    public static bool IsInputError(Exception ex) => ex is ScenarioException or PlanDoesNotFitException
        or Simulator.Inference.Workload.WorkloadFormatException or Simulator.Inference.Parallelism.PlanException
        or Simulator.Inference.Models.ModelConfigException or ArgumentException or IOException;

    private static string OneLine(Exception ex)
    {
        var text = ex is ScenarioException se ? string.Join(" | ", se.Errors.Select(e => e.ToString())) : ex.Message;
        return text.Replace('\n', ' ').Replace('\r', ' ');
    }

    private static List<GpuActivity> GpuRows(BuiltScenario built, ServingResult result, IReadOnlyList<RooflineStageCostModel> costModels)
    {
        var rows = new List<GpuActivity>();
        var byGpu = built.Placement.Rows.ToDictionary(r => r.Gpu);
        var expertLoads = ExpertLoads(built);
        int perNode = built.Scenario.Cluster.GpusPerNode;
        for (int gpu = 0; gpu < built.Topology.GpuCount; gpu++)
        {
            if (!byGpu.TryGetValue(gpu, out var p))
            {
                rows.Add(new GpuActivity(gpu, gpu / perNode, -1, -1, -1, 0, 0, 0, 0, built.Gpu.MemoryGB, 0, 0, 0));
                continue;
            }
            var mem = built.Memory.Stages[p.Stage];
            var stats = result.Replicas[p.Replica].StageTotals[p.Stage];
            double? load = expertLoads is null ? null : expertLoads[p.TpRank % expertLoads.Length];
            rows.Add(new GpuActivity(gpu, p.Node, p.Replica, p.Stage, p.TpRank, mem.WeightsGB, mem.KvGB, mem.ActivationGB,
                mem.HeldBackGB, mem.FreeGB, stats.BusyNs, stats.ComputeNs + stats.OverheadNs, stats.CommNs, load));
        }
        return rows;
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

    /// <summary>The timeline's names: the replica layout ("TP4 x PP2, H100-SXM-80GB") and the GPUs of every stage.</summary>
    private static TimelineLayout LayoutOf(BuiltScenario built)
    {
        var p = built.Plan;
        var shape = $"TP{p.Tp} x PP{p.Pp}" + (p.Ep > 1 ? $" x EP{p.Ep}" : "") + (p.Cp > 1 ? $" x CP{p.Cp}" : "") + ", " + built.Gpu.Name;
        var stages = Enumerable.Range(0, p.Replicas).Select(r => (IReadOnlyList<string>)Enumerable.Range(0, p.Pp)
            .Select(s => TimelineLayout.GpuLabel(built.Placement.Rows.Where(x => x.Replica == r && x.Stage == s).Select(x => x.Gpu)))
            .ToArray()).ToArray();
        return new TimelineLayout(shape, stages);
    }

    internal static string Gb(double v) => v.ToString("0.00", CultureInfo.InvariantCulture);
}
