using System.Globalization;
using System.Text;
using System.Text.Json;
using Simulator.Hardware.Collectives;
using Simulator.Hardware.Specs;
using Simulator.Inference.Cost;
using Simulator.Inference.Metrics;
using Simulator.Inference.Models;
using Simulator.Reports;
using Simulator.Scenarios;
using Simulator.Scenarios.Planning;
using Spectre.Console;

namespace Simulator.Cli;

/// <summary>One method per verb: parse-level checks, one library call, printing. No simulation logic here.</summary>
public static class CliVerbs
{
    public const int ExitOk = 0;
    public const int ExitFailure = 1;
    public const int ExitBadInput = 2;
    public const int ExitDoesNotFit = 3;

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Finds scenarios/quickstart.yaml from the working directory or, failing that, above the executable.</summary>
    public static string LocateQuickstart(string relative)
    {
        if (File.Exists(relative)) return relative;
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null)
        {
            var candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(candidate)) return candidate;
            dir = dir.Parent;
        }
        return relative; // the loader reports the missing file
    }

    public static int Run(string scenarioPath, string? outDir, int? seed, IReadOnlyList<string> sets, bool report)
    {
        var scenario = RunBuilder.Load(scenarioPath, sets, seed);
        var dir = outDir ?? ScenarioRunner.DefaultRunDirectory(scenario);
        Console.WriteLine($"sim: running {scenario.Name} ({Describe(scenario)})");
        var result = ScenarioRunner.Run(scenario, dir);
        foreach (var line in ConsoleSummary.Lines(result.Summary, result.Directory, result.Perf)) Console.WriteLine(line);
        Console.WriteLine();
        Console.WriteLine("memory per GPU (GB):");
        foreach (var line in result.Built.Memory.Describe().Split('\n')) Console.WriteLine("  " + line);
        if (report)
        {
            var r = ReportBuilder.Build(new[] { result.Directory }, result.Directory);
            Console.WriteLine($"report: {Relative(r.HtmlPath)} ({r.Charts.Count} charts as PNG and SVG in {Relative(Path.Combine(result.Directory, "charts"))})");
        }
        return ExitOk;
    }

    public static int Sweep(string scenarioPath, string? outDir, int? jobs, IReadOnlyList<string> sets, bool report, string? shardText = null)
    {
        var shard = shardText is null ? (ShardSpec?)null : ShardSpec.Parse(shardText);
        var all = new ScenarioLoader(RunBuilder.Catalog).LoadSweep(scenarioPath, sets);
        if (all.Count == 0) throw new ArgumentException($"{scenarioPath}: the scenario has no sweep: block; add e.g. sweep: {{parallelism.microbatches: [1, 2, 4]}}");
        var points = shard is { } sh ? all.Where(p => sh.Owns(p.Index)).ToList() : all;
        var dir = outDir ?? Path.Combine("results", all[0].Scenario.Name + "-sweep" + (shard is { } s0 ? $"-shard{s0.Index}of{s0.Count}" : ""));
        if (points.Count == 0)
        {
            ShardedSweep.WriteEmpty(all, scenarioPath, shard!.Value, dir);
            Console.WriteLine($"sim: shard {shard} of {all.Count} points holds none; wrote an empty shard in {Relative(dir)}");
            return ExitOk;
        }
        int parallel = jobs ?? Environment.ProcessorCount;
        if (parallel < 1) throw new ArgumentException($"--jobs {parallel}: must be at least 1");
        Console.WriteLine($"sim: sweeping {points.Count} points of {points[0].Scenario.Name} with {parallel} jobs");
        SweepResult result;
        if (!Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive)
        {
            SweepResult? r = null;
            AnsiConsole.Progress().Start(ctx =>
            {
                var task = ctx.AddTask("points", maxValue: points.Count);
                r = ScenarioRunner.Sweep(points, dir, parallel, _ => task.Increment(1));
            });
            result = r!;
        }
        else
        {
            int done = 0;
            var gate = new object();
            result = ScenarioRunner.Sweep(points, dir, parallel, o =>
            {
                lock (gate)
                {
                    done++;
                    var state = o.Error is null ? "ok" : "failed: " + o.Error;
                    Console.WriteLine($"[{done}/{points.Count}] {o.Point.Slug}: {state}");
                }
            });
        }
        Console.WriteLine($"sweep.csv: {Relative(result.SweepCsv)}");
        foreach (var p in result.Points.Where(p => p.Error != null))
            Console.WriteLine($"  point {p.Point.Slug} failed: {p.Error}");
        if (shard is { } finished)
        {
            ShardedSweep.Manifest(all, scenarioPath, finished).Write(result.Directory);
            Console.WriteLine($"shard {finished}: {points.Count} of {all.Count} points; combine the shards with `sim merge DIRS... --out DIR`");
            return ExitOk;
        }
        if (report)
        {
            var r = ReportBuilder.Build(new[] { result.Directory }, result.Directory);
            Console.WriteLine($"report: {Relative(r.HtmlPath)}");
            if (r.Verdict is { } v) Console.WriteLine(v);
        }
        return ExitOk;
    }

    public static int Memory(string scenarioPath, IReadOnlyList<string> sets, bool json)
    {
        var scenario = RunBuilder.Load(scenarioPath, sets);
        var built = RunBuilder.Build(scenario, requireFit: false);
        var plan = built.Memory;
        if (json)
        {
            var o = new
            {
                scenario = scenario.Name,
                fits = plan.Fits,
                kv_capacity_tokens = plan.KvCapacityTokens,
                kv_blocks = plan.KvBlocks,
                block_size = plan.BlockSize,
                stages = plan.Stages.Select(s => new
                {
                    stage = s.Stage, layers = s.Layers, capacity_gb = Round(s.CapacityGB), weights_gb = Round(s.WeightsGB),
                    activation_gb = Round(s.ActivationGB), reserve_gb = Round(s.ReserveGB), kv_gb = Round(s.KvGB),
                    kv_capacity_tokens = s.KvCapacityTokens,
                }),
            };
            Console.WriteLine(JsonSerializer.Serialize(o));
        }
        else
        {
            Console.WriteLine($"{scenario.Name}: {built.Model.Name} ({Precision.Name(built.Precision.Weights)} weights, {Precision.Name(built.Precision.KvCache)} KV) on {built.Gpu.Name}, " +
                $"TP={built.Plan.Tp} PP={built.Plan.Pp} EP={built.Plan.Ep} CP={built.Plan.Cp} x {built.Plan.Replicas} replicas");
            foreach (var line in plan.Describe().Split('\n')) Console.WriteLine("  " + line);
            Console.WriteLine(plan.Fits
                ? $"fits: KV capacity {plan.KvCapacityTokens.ToString("N0", Inv)} tokens = {plan.KvBlocks.ToString("N0", Inv)} blocks of {plan.BlockSize} per replica"
                : "does not fit: weights and buffers leave no room for the KV cache");
        }
        if (!plan.Fits)
        {
            Console.Error.WriteLine($"error: {scenarioPath}: parallelism: the plan does not fit in GPU memory; {plan.Describe().Replace('\n', ';')}");
            return ExitDoesNotFit;
        }
        return ExitOk;
    }

    public static int Step(string model, string gpu, int tp, int pp, int ep, string phase, int batch, int prompt, int? context, string weights, string engine, string calibration, bool json)
    {
        var m = File.Exists(model) ? HfConfigImporter.Load(model) : ModelPresets.Get(model);
        var g = GpuPresets.Get(gpu);
        var precision = Precision.Parse(weights, weights is "int8" or "int4" ? "bf16" : weights);
        var topology = Simulator.Hardware.Topology.ClusterTopology.FromPresets(g.Name, 1, Math.Max(8, tp * pp));
        var result = StepProbe.Run(m, g, tp, pp, ep, StepProbe.ParsePhase(phase), batch, prompt, context,
            new AnalyticCollectives(topology), profile: CalibrationProfile.Named(calibration, g).WithEngine(engine), precision: precision);
        if (json)
        {
            var sb = new StringBuilder();
            sb.Append("{\"time_ms\":").Append(Num(result.TimeMs)).Append(",\"breakdown\":{");
            bool first = true;
            foreach (var kv in result.BreakdownMs)
            {
                if (!first) sb.Append(',');
                first = false;
                sb.Append(JsonSerializer.Serialize(kv.Key)).Append(':').Append(Num(kv.Value));
            }
            sb.Append("}}");
            Console.WriteLine(sb.ToString());
        }
        else
        {
            Console.WriteLine($"{m.Name} on {g.Name}, TP={tp} PP={pp} EP={ep}, {phase} batch={batch} prompt={prompt}" +
                (context is { } c ? $" context={c}" : "") + $": {result.TimeMs.ToString("0.000", Inv)} ms (stage {result.Stage})");
            foreach (var kv in result.BreakdownMs.Where(kv => kv.Value > 0))
                Console.WriteLine($"  {kv.Key,-22} {kv.Value.ToString("0.000", Inv),10} ms");
        }
        return ExitOk;
    }

    public static int Collective(string gpu, string op, int ranks, string bytesText, int nodes, string algorithm, bool json)
    {
        long bytes = ParseBytes(bytesText);
        var r = CollectiveProbe.Run(gpu, op, ranks, bytes, nodes, algorithm);
        if (json)
        {
            Console.WriteLine("{\"time_us\":" + Num(r.TimeUs) + ",\"algbw_gbps\":" + Num(r.AlgBwGBps) + ",\"busbw_gbps\":" + Num(r.BusBwGBps) + "}");
        }
        else
        {
            Console.WriteLine($"{op} of {bytes.ToString("N0", Inv)} bytes over {ranks} x {gpu} on {nodes} node(s): " +
                $"{r.TimeUs.ToString("0.00", Inv)} us, algbw {r.AlgBwGBps.ToString("0.00", Inv)} GB/s, busbw {r.BusBwGBps.ToString("0.00", Inv)} GB/s ({r.Algorithm})");
        }
        return ExitOk;
    }

    public static int Report(IReadOnlyList<string> inputs, string outDir, ReportOptions? options = null)
    {
        var r = ReportBuilder.Build(inputs, outDir, options);
        Console.WriteLine($"report: {Relative(r.HtmlPath)} and {Relative(r.MarkdownPath)} ({r.Charts.Count} charts as PNG and SVG)");
        foreach (var n in r.Notes) Console.WriteLine("note: " + n);
        if (r.Verdict is { } v) Console.WriteLine(v);
        return ExitOk;
    }

    /// <summary>Report options from `sim report` flags; a flag that is not a positive number is bad input.</summary>
    public static ReportOptions ReportOptionsFrom(string? title, double? timelineS, double? sloTtftMs, double? sloTpotMs, double? sloPercentile)
    {
        double? Positive(string flag, double? v) =>
            v is { } x && !(x > 0 && double.IsFinite(x)) ? throw new ArgumentException($"{flag} {x.ToString(Inv)}: must be a positive number") : v;
        return new ReportOptions
        {
            Title = title,
            TimelineWindowS = Positive("--timeline-s", timelineS) ?? new ReportOptions().TimelineWindowS,
            SloTtftMs = Positive("--slo-ttft-ms", sloTtftMs),
            SloTpotMs = Positive("--slo-tpot-ms", sloTpotMs),
            SloPercentile = Positive("--slo-percentile", sloPercentile) is { } p && p > 100
                ? throw new ArgumentException($"--slo-percentile {p.ToString(Inv)}: must be in (0, 100]") : sloPercentile,
        };
    }

    public static int Presets()
    {
        Console.WriteLine("GPUs:   " + string.Join(", ", GpuPresets.Names));
        Console.WriteLine("links:  " + string.Join(", ", LinkPresets.Names));
        Console.WriteLine("models: " + string.Join(", ", ModelPresets.Names));
        Console.WriteLine("schedulers: " + string.Join(", ", Simulator.Inference.Serving.SchedulerRegistry.Names));
        Console.WriteLine("routers: " + string.Join(", ", Simulator.Inference.Serving.RouterRegistry.Names));
        return ExitOk;
    }

    /// <summary>Prints a failure as `error:` lines (never a stack trace) and returns its exit code.</summary>
    public static int ReportFailure(Exception ex)
    {
        switch (ex)
        {
            case ScenarioException se:
                foreach (var e in se.Errors) Console.Error.WriteLine(e.ToString());
                return ExitBadInput;
            case PlanDoesNotFitException nf:
                Console.Error.WriteLine(nf.Message);
                return ExitDoesNotFit;
            case ReportInputException ri:
                Console.Error.WriteLine(Prefixed(ri.Message));
                return ExitBadInput;
            case AggregateException ae when ae.InnerExceptions.Count > 0:
                return ReportFailure(ae.InnerExceptions[0]);
            default:
                if (ScenarioRunner.IsInputError(ex) || ex is KeyNotFoundException or FormatException)
                {
                    Console.Error.WriteLine(Prefixed(ex.Message));
                    return ExitBadInput;
                }
                Console.Error.WriteLine("error: internal: " + ex.GetType().Name + ": " + ex.Message.Replace('\n', ' '));
                return ExitFailure;
        }
    }

    private static string Prefixed(string message)
    {
        // ArgumentException appends " (Parameter 'name')": an implementation detail, not for users.
        var one = System.Text.RegularExpressions.Regex.Replace(message, @" \(Parameter '[^']*'\)", "");
        one = one.Replace("\r", "").Replace('\n', ' ').Trim();
        return one.StartsWith("error:", StringComparison.Ordinal) ? one : "error: " + one;
    }

    /// <summary>Bytes with optional suffix: 1024, 16K, 1M, 1G (powers of 1000), 16KiB, 1MiB, 1GiB (powers of 1024).</summary>
    public static long ParseBytes(string text)
    {
        var t = text.Trim();
        (string suffix, double mult)[] units =
        {
            ("KiB", 1024), ("MiB", 1024 * 1024), ("GiB", 1024.0 * 1024 * 1024),
            ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("K", 1e3), ("M", 1e6), ("G", 1e9), ("B", 1),
        };
        foreach (var (suffix, mult) in units)
        {
            if (t.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                if (double.TryParse(t[..^suffix.Length], NumberStyles.Float, Inv, out var v) && v >= 0) return (long)Math.Round(v * mult);
                break;
            }
        }
        if (long.TryParse(t, NumberStyles.Integer, Inv, out var b) && b >= 0) return b;
        throw new ArgumentException($"--bytes '{text}': expected a non-negative size such as 1048576, 16K, 1M, 1GiB");
    }

    private static string Describe(Scenario s) =>
        $"{(s.Model.Preset ?? "custom model")} on {s.Parallelism.Replicas} x (TP={s.Parallelism.TensorParallelSize}, PP={s.Parallelism.PipelineParallelSize}" +
        (s.Parallelism.ExpertParallelSize > 1 ? $", EP={s.Parallelism.ExpertParallelSize}" : "") + $") {s.Cluster.Gpu.Preset ?? "custom GPU"}";

    private static double Round(double v) => Math.Round(v, 3);

    private static string Num(double v) => double.IsFinite(v) ? v.ToString("0.######", Inv) : "null";

    private static string Relative(string path)
    {
        var rel = Path.GetRelativePath(Directory.GetCurrentDirectory(), path);
        return rel.StartsWith("..", StringComparison.Ordinal) ? path : rel;
    }
}
