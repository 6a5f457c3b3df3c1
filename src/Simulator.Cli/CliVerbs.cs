using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Simulator.Hardware.Collectives;
using Simulator.Hardware.Specs;
using Simulator.Inference.Cost;
using Simulator.Inference.Metrics;
using Simulator.Inference.Models;
using Simulator.Kernel.Monitoring;
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
    public const int ExitInterrupted = 130;
    public const int ExitTerminated = 143;

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
        PhaseTrace.Mark("command line parsed");
        var scenario = RunBuilder.Load(scenarioPath, sets, seed);
        PhaseTrace.Mark("scenario loaded");
        var dir = outDir ?? ScenarioRunner.DefaultRunDirectory(scenario);
        Console.WriteLine($"sim: running {scenario.Name} ({Describe(scenario)})");
        // Beside the simulation, on the core its event loop leaves idle; not in the native build (nothing to JIT-compile).
        if (report && RuntimeFeature.IsDynamicCodeCompiled) ReportBuilder.WarmUp();
        // The report is written into the finished run's unpublished folder, so an interrupt leaves the run whole or absent.
        var staged = report ? new StagedReport() : null;
        var result = ScenarioRunner.Run(scenario, dir, report ? ReportBuilder.TableCapture : null,
            staged is null ? null : run => staged.Build(run.Directory, run.FinalDirectory, run.Tables));
        foreach (var line in ConsoleSummary.Lines(result.Summary, result.Directory, result.Perf)) Console.WriteLine(line);
        Console.WriteLine();
        if (result.Pools is { } pools)
        {
            foreach (var p in pools.Pools)
            {
                Console.WriteLine($"memory per GPU (GB), pool {p.Spec.Name} ({p.Spec.Role}, {p.Built.Gpu.Name}):");
                foreach (var line in p.Built.Memory.Describe().Split('\n')) Console.WriteLine("  " + line);
            }
        }
        else
        {
            Console.WriteLine("memory per GPU (GB):");
            foreach (var line in result.Built.Memory.Describe().Split('\n')) Console.WriteLine("  " + line);
        }
        PhaseTrace.Mark("console summary");
        if (staged is not null)
        {
            staged.ThrowIfFailed();
            var r = staged.Result!;
            Console.WriteLine($"report: {Relative(r.HtmlPath)} ({r.Charts.Count} charts as PNG and SVG in {Relative(Path.Combine(result.Directory, "charts"))})");
        }
        return ExitOk;
    }

    public static int Sweep(string scenarioPath, string? outDir, int? jobs, IReadOnlyList<string> sets, bool report, string? shardText = null)
    {
        var shard = shardText is null ? (ShardSpec?)null : ShardSpec.Parse(shardText);
        var all = new ScenarioLoader(RunBuilder.Catalog).LoadSweep(scenarioPath, sets);
        if (all.Count == 0 || all[0].Labels.Count == 0)
            throw new ScenarioException([new ScenarioError(scenarioPath, 1, "sweep", "missing; sim sweep needs a sweep: block such as sweep: {parallelism.microbatches: [1, 2, 4]} (or use sim run)")]);
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
        // A shard's shard.json goes into the folder before it is published, so a shard directory is whole or absent.
        // Its report likewise (not a shard's: `sim merge` reports the shards together), naming the folder it is published at.
        var staged = report && shard is null ? new StagedReport() : null;
        Action<string>? manifest = shard is { } owned ? temp => ShardedSweep.Manifest(all, scenarioPath, owned).Write(temp)
            : staged is null ? null : temp => staged.Build(temp, OutputTarget.Full(dir));
        if (!Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive)
        {
            SweepResult? r = null;
            AnsiConsole.Progress().Start(ctx =>
            {
                var task = ctx.AddTask("points", maxValue: points.Count);
                r = ScenarioRunner.Sweep(points, dir, parallel, _ => task.Increment(1), manifest);
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
            }, manifest);
        }
        Console.WriteLine($"sweep.csv: {Relative(result.SweepCsv)}");
        foreach (var p in result.Points.Where(p => p.Error != null))
            Console.WriteLine($"  point {p.Point.Slug} failed: {p.Error}");
        if (shard is { } finished)
        {
            Console.WriteLine($"shard {finished}: {points.Count} of {all.Count} points; combine the shards with `sim merge DIRS... --out DIR`");
            return ExitOk;
        }
        if (staged is not null)
        {
            staged.ThrowIfFailed();
            var r = staged.Result!;
            Console.WriteLine($"report: {Relative(r.HtmlPath)}");
            if (r.Verdict is { } v) Console.WriteLine(v);
        }
        return ExitOk;
    }

    public static int Memory(string scenarioPath, IReadOnlyList<string> sets, bool json)
    {
        var scenario = RunBuilder.Load(scenarioPath, sets);
        if (scenario.Pools.Count > 0) return PoolMemory(scenarioPath, scenario, json);
        var built = RunBuilder.Build(scenario, requireFit: false);
        var plan = built.Memory;
        if (json)
        {
            Console.WriteLine(JsonObject(w =>
            {
                w.WriteString("scenario", scenario.Name);
                w.WriteBoolean("fits", plan.Fits);
                w.WriteNumber("kv_capacity_tokens", plan.KvCapacityTokens);
                w.WriteNumber("kv_blocks", plan.KvBlocks);
                w.WriteNumber("block_size", plan.BlockSize);
                WriteStages(w, plan);
            }));
        }
        else
        {
            Console.WriteLine($"{scenario.Name}: {built.Model.Name} ({Precision.Name(built.Precision.Weights)} weights, {Precision.Name(built.Precision.KvCache)} KV) on {built.Gpu.Name}, " +
                $"{built.Plan.Describe()}; " +
                $"memory accounting {built.MemoryAccounting.Name} ({MemoryRuleText(built.MemoryAccounting.Rule)})");
            if (built.Plan.IsDataParallelAttention) Console.WriteLine("  " + DataParallelWeightsLine(built));
            foreach (var line in plan.Describe().Split('\n')) Console.WriteLine("  " + line);
            Console.WriteLine(plan.Fits
                ? $"fits: KV capacity {plan.KvCapacityTokens.ToString("N0", Inv)} tokens = {plan.KvBlocks.ToString("N0", Inv)} blocks of {plan.BlockSize} per replica"
                : "does not fit: weights and buffers leave no room for the KV cache");
        }
        if (!plan.Fits)
        {
            var at = scenario.Locations.Find("parallelism");
            Console.Error.WriteLine(new PlanDoesNotFitException(at.File, at.Line, plan).Message.Replace('\n', ';'));
            return ExitDoesNotFit;
        }
        return ExitOk;
    }

    private static string DataParallelWeightsLine(BuiltScenario built)
    {
        var (attention, experts, other) = Simulator.Inference.Memory.MemoryPlanner.WeightParts(built.Model, built.Precision, built.Plan,
            built.MemoryAccounting.ReplicatedEmbedding);
        var p = built.Plan;
        return string.Create(CultureInfo.InvariantCulture,
            $"weights per GPU: attention {attention / 1e9:0.00} GB (all layers / TP {p.Tp}), routed experts {experts / 1e9:0.00} GB " +
            $"({built.Model.Experts / p.Ep} of {built.Model.Experts} per layer, / EP {p.Ep}), other {other / 1e9:0.00} GB (embeddings, dense and shared MLPs, norms)");
    }

    /// <summary>
    /// One JSON object written by <paramref name="body"/>, as text (the writer's defaults: compact, default encoder).
    /// </summary>
    // Implementation note: written by hand with Utf8JsonWriter rather than JsonSerializer over anonymous types, which
    // needs reflection (off in the native AOT build of sim); JsonSerializer used this same writer with these same
    // defaults, so the text is unchanged byte for byte (NativeBuildSamenessTest compares `sim memory --json`).
    private static string JsonObject(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The <c>stages</c> array of <c>sim memory --json</c>: every bucket of each stage in GB, rounded to 3 decimals.</summary>
    private static void WriteStages(Utf8JsonWriter w, Simulator.Inference.Memory.MemoryPlan plan)
    {
        w.WriteStartArray("stages");
        foreach (var s in plan.Stages)
        {
            w.WriteStartObject();
            w.WriteNumber("stage", s.Stage);
            w.WriteNumber("layers", s.Layers);
            w.WriteNumber("capacity_gb", Round(s.CapacityGB));
            w.WriteNumber("weights_gb", Round(s.WeightsGB));
            w.WriteNumber("activation_gb", Round(s.ActivationGB));
            w.WriteNumber("non_torch_gb", Round(s.NonTorchGB));
            w.WriteNumber("cuda_graph_gb", Round(s.CudaGraphGB));
            w.WriteNumber("runtime_gb", Round(s.RuntimeGB));
            w.WriteNumber("reserve_gb", Round(s.ReserveGB));
            w.WriteNumber("kv_gb", Round(s.KvGB));
            w.WriteNumber("kv_capacity_tokens", s.KvCapacityTokens);
            w.WriteString("accounting", s.Accounting);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    /// <summary><c>sim memory</c> of a scenario with pools: each pool's plan (its GPU, TP/PP, KV capacity); exit 3 when one does not fit.</summary>
    private static int PoolMemory(string scenarioPath, Scenario scenario, bool json)
    {
        var pools = PoolBuilder.Build(scenario, requireFit: false).Pools;
        if (json)
        {
            Console.WriteLine(JsonObject(w =>
            {
                w.WriteString("scenario", scenario.Name);
                w.WriteBoolean("fits", pools.All(p => p.Built.Memory.Fits));
                w.WriteStartArray("pools");
                foreach (var p in pools)
                {
                    w.WriteStartObject();
                    w.WriteString("pool", p.Spec.Name);
                    w.WriteString("role", p.Spec.Role);
                    w.WriteString("gpu", p.Built.Gpu.Name);
                    w.WriteBoolean("fits", p.Built.Memory.Fits);
                    w.WriteNumber("kv_capacity_tokens", p.Built.Memory.KvCapacityTokens);
                    w.WriteNumber("kv_blocks", p.Built.Memory.KvBlocks);
                    WriteStages(w, p.Built.Memory);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }));
        }
        else
        {
            foreach (var p in pools)
            {
                var b = p.Built;
                Console.WriteLine($"pool {p.Spec.Name} ({p.Spec.Role}): {b.Model.Name} on {b.Gpu.Name}, TP={b.Plan.Tp} PP={b.Plan.Pp} EP={b.Plan.Ep} CP={b.Plan.Cp} x {b.Plan.Replicas} replicas");
                foreach (var line in b.Memory.Describe().Split('\n')) Console.WriteLine("  " + line);
                Console.WriteLine(b.Memory.Fits
                    ? $"  fits: KV capacity {b.Memory.KvCapacityTokens.ToString("N0", Inv)} tokens per replica"
                    : "  does not fit: weights and buffers leave no room for the KV cache");
            }
        }
        var tight = pools.FirstOrDefault(p => !p.Built.Memory.Fits);
        if (tight is null) return ExitOk;
        Console.Error.WriteLine($"error: {scenarioPath}: pools.{tight.Spec.Name}.parallelism: the plan does not fit in GPU memory; {tight.Built.Memory.Describe().Replace('\n', ';')}");
        return ExitDoesNotFit;
    }

    public static int Step(string model, string gpu, int tp, int pp, int ep, string phase, int batch, int prompt, int? context, string weights, string engine, string calibration, bool json,
        int cp = 1, string hostCpu = "auto", string engineVersion = "auto")
    {
        var m = Flag("--model", () => File.Exists(model) ? HfConfigImporter.Load(model) : ModelPresets.Get(model));
        var g = Flag("--gpu", () => GpuPresets.Get(gpu));
        var precision = Flag("--precision", () => Precision.Parse(weights, weights is "int8" or "int4" ? "bf16" : weights));
        var stepPhase = Flag("--phase", () => StepProbe.ParsePhase(phase));
        var host = Flag("--host-cpu", () => HostCpu.Named(hostCpu, g));
        var profile = Flag("--calibration", () => CalibrationProfile.Named(calibration, g));
        // The engine first: a misspelt --engine is that flag's error, not --engine-version's.
        Flag("--engine", () => profile.WithEngine(engine, host));
        profile = profile.WithEngine(engine, host, Flag("--engine-version", () => EngineHostProfile.Check(engine, engineVersion)));
        // Implementation note: with CP the replica sits on real 8-GPU nodes (a CP group larger than a node crosses the
        // NIC); without it the probe keeps its single-node topology (PP hand-offs over NVLink), as before.
        var topology = cp > 1
            ? Simulator.Hardware.Topology.ClusterTopology.FromPresets(g.Name, Math.Max(1, (tp * pp * cp + 7) / 8), Math.Min(8, tp * pp * cp))
            : Simulator.Hardware.Topology.ClusterTopology.FromPresets(g.Name, 1, Math.Max(8, tp * pp));
        var result = Flag(PlanFlag, () => StepProbe.Run(m, g, tp, pp, ep, stepPhase, batch, prompt, context,
            new NcclCollectiveTimer(topology), profile: profile, precision: precision,
            gpusPerNode: cp > 1 ? Math.Min(8, tp * pp * cp) : 8, cp: cp));
        if (json)
        {
            var sb = new StringBuilder();
            sb.Append("{\"time_ms\":").Append(Num(result.TimeMs)).Append(",\"breakdown\":{");
            bool first = true;
            foreach (var kv in result.BreakdownMs)
            {
                if (!first) sb.Append(',');
                first = false;
                sb.Append(JsonText.Quote(kv.Key)).Append(':').Append(Num(kv.Value));
            }
            sb.Append("}}");
            Console.WriteLine(sb.ToString());
        }
        else
        {
            Console.WriteLine($"{m.Name} on {g.Name}, TP={tp} PP={pp} EP={ep}{(cp > 1 ? $" CP={cp}" : "")}, {phase} batch={batch} prompt={prompt}" +
                (context is { } c ? $" context={c}" : "") + $": {result.TimeMs.ToString("0.000", Inv)} ms (stage {result.Stage})");
            foreach (var kv in result.BreakdownMs.Where(kv => kv.Value > 0))
                Console.WriteLine($"  {kv.Key,-22} {kv.Value.ToString("0.000", Inv),10} ms");
        }
        return ExitOk;
    }

    public static int Collective(string gpu, string op, int ranks, string bytesText, int nodes, string algorithm, bool json, string protocol = "auto")
    {
        long bytes = Flag("--bytes", () => ParseBytes(bytesText));
        Flag("--gpu", () => GpuPresets.Get(gpu));
        Flag("--op", () => Names.ParseOp(op));
        Flag("--algorithm", () => Names.ParseAlgorithm(algorithm));
        Flag("--proto", () => Names.ParseProtocol(protocol));
        var r = Flag(e => e is ArgumentException { ParamName: "protocol" } ? "--proto" : e is ArgumentException { ParamName: "algorithm" } ? "--algorithm" : "--ranks",
            () => CollectiveProbe.Run(gpu, op, ranks, bytes, nodes, algorithm, protocol));
        if (json)
        {
            Console.WriteLine("{\"time_us\":" + Num(r.TimeUs) + ",\"algbw_gbps\":" + Num(r.AlgBwGBps) + ",\"busbw_gbps\":" + Num(r.BusBwGBps) +
                ",\"algorithm\":\"" + r.Algorithm + "\",\"protocol\":\"" + r.Protocol + "\"}");
        }
        else
        {
            Console.WriteLine($"{op} of {bytes.ToString("N0", Inv)} bytes over {ranks} x {gpu} on {nodes} node(s): " +
                $"{r.TimeUs.ToString("0.00", Inv)} us, algbw {r.AlgBwGBps.ToString("0.00", Inv)} GB/s, busbw {r.BusBwGBps.ToString("0.00", Inv)} GB/s ({r.Algorithm}/{r.Protocol})");
        }
        return ExitOk;
    }

    public static int Report(IReadOnlyList<string> inputs, string outDir, ReportOptions? options = null)
    {
        // A report adds files to its folder (a run directory, typically), so any folder may take one; only a file,
        // a kernel file system or an unwritable place is refused, before anything is drawn.
        OutputTarget.Check(outDir, _ => true, "report", "");
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

    /// <summary>
    /// `sim validate`: replays the shipped measurement sets (data/calibration, found from the working directory or the
    /// executable's) and writes validation.csv, validation.md, validation_points.csv, charts/ and report.html into
    /// <paramref name="outDir"/> (default results/validate).
    /// </summary>
    public static int Validate(string? outDir, string? dataDir)
    {
        var data = dataDir ?? Path.GetDirectoryName(Path.GetDirectoryName(LocateQuickstart(Path.Combine("data", "README.md"))) ?? ".") ?? ".";
        data = dataDir ?? Path.Combine(data, "data");
        var dir = outDir ?? Path.Combine("results", "validate");
        // Implementation note: like a run, the tables and the charts are written into a hidden sibling that is moved
        // into place last, replacing only an earlier validate directory (its .sim-validate marker).
        using var output = StagedOutput.Begin(dir, OutputKind.Validate);
        var sets = Validation.Run(data);
        var (csv, md) = Validation.Write(sets, output.TempDirectory);
        var report = Simulator.Reports.ValidationCharts.Write(output.TempDirectory);
        output.Publish();
        var final = output.Target;
        foreach (var line in File.ReadAllLines(output.Final(md))) Console.WriteLine(line);
        Console.WriteLine($"validation.csv: {Relative(output.Final(csv))}");
        Console.WriteLine($"validation.md: {Relative(output.Final(md))}");
        Console.WriteLine($"validation_points.csv: {Relative(Path.Combine(final, "validation_points.csv"))}");
        Console.WriteLine($"report.html: {Relative(output.Final(report.HtmlPath))} ({report.Charts.Count} charts)");
        return ExitOk;
    }

    /// <summary>Prints a failure as `error:` lines (never a stack trace) and returns its exit code.</summary>
    public static int ReportFailure(Exception ex)
    {
        // An interrupt is being handled on another thread: it prints the one line and sets the exit code.
        if (PartialOutputs.Interrupted) return ExitInterrupted;
        switch (ex)
        {
            case CliInputException:
                Console.Error.WriteLine(Prefixed(ex.Message));
                return ExitBadInput;
            case OutputTargetException ot:
                Console.Error.WriteLine("error: --out: " + Prefixed(ot.Message)["error: ".Length..]);
                return ExitBadInput;
            case ScenarioException se:
                foreach (var e in se.Errors) Console.Error.WriteLine(e.ToString());
                return ExitBadInput;
            case PlanDoesNotFitException nf:
                Console.Error.WriteLine(nf.Message);
                return ExitDoesNotFit;
            case ValidationDataException vd:
                Console.Error.WriteLine(vd.Message);
                return ExitBadInput;
            case ReportInputException ri:
                Console.Error.WriteLine(Prefixed(ri.Message));
                return ExitBadInput;
            case AggregateException ae when ae.InnerExceptions.Count > 0:
                return ReportFailure(ae.InnerExceptions[0]);
            default:
                if (ScenarioRunner.IsInputError(ex) || ex is KeyNotFoundException or FormatException or UnauthorizedAccessException)
                {
                    Console.Error.WriteLine(Prefixed(ex.Message));
                    return ExitBadInput;
                }
                Console.Error.WriteLine("error: internal: " + ex.Message.Replace('\n', ' ').Replace("\r", "") + " (a bug in sim, not in your input; please report it with the command that caused it)");
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
                if (double.TryParse(t[..^suffix.Length], NumberStyles.Float, Inv, out var v) && v >= 0 && v * mult <= CollectiveProbe.MaxBytes)
                    return (long)Math.Round(v * mult);
                break;
            }
        }
        if (long.TryParse(t, NumberStyles.Integer, Inv, out var b) && b >= 0 && b <= CollectiveProbe.MaxBytes) return b;
        throw new ArgumentException($"'{text}' is not a size; expected bytes from 0 to 1 TiB such as 1048576, 16K, 1M, 1GiB");
    }

    /// <summary>The flag a probe's plan problem is about (TP, PP or EP not dividing the model), from its wording.</summary>
    private static string PlanFlag(Exception ex)
    {
        string p = ex.Message.ToLowerInvariant();
        if (p.Contains("batch")) return "--batch";
        if (p.Contains("prompt")) return "--prompt";
        if (p.Contains("context")) return "--context";
        if (p.Contains("pipeline") || p.StartsWith("pp", StringComparison.Ordinal)) return "--pp";
        if (p.Contains("expert") || p.StartsWith("ep", StringComparison.Ordinal)) return "--ep";
        return "--tp";
    }

    /// <summary>Runs a parse or lookup for <paramref name="flag"/>; its failure becomes that flag's one-line error.</summary>
    private static T Flag<T>(string flag, Func<T> resolve) => Flag(_ => flag, resolve);

    private static T Flag<T>(Func<Exception, string> flagOf, Func<T> resolve)
    {
        try { return resolve(); }
        catch (Exception ex) when (ex is ArgumentException or KeyNotFoundException or FormatException or ModelConfigException
            or Simulator.Inference.Parallelism.PlanException)
        {
            string message = Prefixed(ex.Message)["error: ".Length..];
            throw new CliInputException(flagOf(ex), message);
        }
    }

    private static string Describe(Scenario s) => s.Pools.Count > 0
        ? $"{(s.Model.Preset ?? "custom model")} on pools " + string.Join(", ", s.Pools.Select(p =>
            $"{p.Name}: {p.Role} {p.Parallelism.Replicas} x (TP={p.Parallelism.TensorParallelSize}, PP={p.Parallelism.PipelineParallelSize}) {p.Gpu.Preset ?? "custom GPU"}"))
        : $"{(s.Model.Preset ?? "custom model")} on {s.Parallelism.Replicas} x (TP={s.Parallelism.TensorParallelSize}, PP={s.Parallelism.PipelineParallelSize}" +
        (s.Parallelism.DataParallelSize > 1 ? $", DP={s.Parallelism.DataParallelSize}, EP={s.Parallelism.TensorParallelSize * s.Parallelism.DataParallelSize}"
            : s.Parallelism.ExpertParallelSize > 1 ? $", EP={s.Parallelism.ExpertParallelSize}" : "") + $") {s.Cluster.Gpu.Preset ?? "custom GPU"}";

    private static double Round(double v) => Math.Round(v, 3);

    private static string Num(double v) => double.IsFinite(v) ? v.ToString("0.######", Inv) : "null";

    private static string Relative(string path)
    {
        var rel = Path.GetRelativePath(Directory.GetCurrentDirectory(), path);
        return rel.StartsWith("..", StringComparison.Ordinal) ? path : rel;
    }

    private static string MemoryRuleText(Simulator.Inference.Memory.MemoryBudgetRule rule) => rule switch
    {
        Simulator.Inference.Memory.MemoryBudgetRule.Vllm => "KV = gpu_memory_utilization x CUDA total - weights - profile-run peak - non-torch - CUDA graphs",
        Simulator.Inference.Memory.MemoryBudgetRule.TrtLlm => "KV = free_gpu_memory_fraction (gpu_memory_utilization) x (CUDA total - runtime - weights - activations)",
        _ => "KV = gpu_memory_utilization x datasheet GB - weights - activations",
    };
}
