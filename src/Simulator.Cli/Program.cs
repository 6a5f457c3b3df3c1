using System.CommandLine;
using Simulator.Cli;
using Simulator.Hardware.Collectives;
using Simulator.Inference.Cost;

// The `sim` command: parses arguments and calls one library function per verb (see CliVerbs).
// Exit codes: 0 success; 2 bad input (one `error: ...` line per problem on stderr); 3 plan does not fit;
// 130 / 143 interrupted by SIGINT / SIGTERM (the unfinished output folders are removed first).
Simulator.Kernel.Monitoring.PhaseTrace.Mark("main");
using (CliErrors.HandleInterrupts())
{
    int code = CliApp.Execute(args);
    Simulator.Kernel.Monitoring.PhaseTrace.Mark("verb done");
    // An interrupt that arrived while the verb was finishing owns the exit: it prints the one line and exits.
    if (Simulator.Inference.Metrics.PartialOutputs.Interrupted) Thread.Sleep(Timeout.Infinite);
    return code;
}

namespace Simulator.Cli
{
    /// <summary>Builds the command tree and maps every failure to a one-line error and an exit code.</summary>
    public static class CliApp
    {
        /// <summary>Default scenario when `sim` runs without arguments.</summary>
        public const string QuickstartScenario = "scenarios/quickstart.yaml";

        public static int Execute(string[] args)
        {
            try
            {
                if (args.Length == 0) args = new[] { "run", CliVerbs.LocateQuickstart(QuickstartScenario) };
                var root = BuildRoot(args[0]);
                var parse = root.Parse(args);
                if (parse.Errors.Count > 0)
                {
                    // One mistake, one line: System.CommandLine may report a mistake several ways; the first says it.
                    Console.Error.WriteLine(CliErrors.Translate(CliErrors.MostTelling(parse.Errors), parse));
                    return CliVerbs.ExitBadInput;
                }
                return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
            }
            catch (Exception ex)
            {
                return CliVerbs.ReportFailure(ex);
            }
        }

        /// <summary>--threads N is run.threads: N (after the scenario's and the --set values).</summary>
        private static IReadOnlyList<string> WithThreads(IReadOnlyList<string> sets, int? threads) =>
            threads is int n ? [.. sets, "run.threads=" + n.ToString(System.Globalization.CultureInfo.InvariantCulture)] : sets;

        /// <summary>The verbs, as the command tree names them.</summary>
        public static readonly IReadOnlyList<string> Verbs = ["run", "sweep", "plan", "merge", "memory", "step", "validate", "collective", "report", "presets"];

        // Implementation note: when the first argument names a verb, the tree holds only that verb: parsing, help
        // (`sim run --help`) and errors inside a verb read only its own command, and the other verbs' options (and their
        // generic option types, which the JIT compiles) are never built. Anything else (`sim --help`, a misspelt verb)
        // gets the whole tree, so its help and suggestions list every verb.
        private static RootCommand BuildRoot(string first)
        {
            var root = new RootCommand("sim: discrete-event simulator of sharded LLM inference clusters");
            bool only = Verbs.Contains(first);
            bool Wants(string verb) => !only || first == verb;

            if (Wants("run")) AddRun(root);
            if (Wants("sweep")) AddSweep(root);
            PlanCommands.Add(root, Wants);
            if (Wants("memory")) AddMemory(root);
            if (Wants("step")) AddStep(root);
            if (Wants("validate")) AddValidate(root);
            if (Wants("collective")) AddCollective(root);
            if (Wants("report")) AddReport(root);
            if (Wants("presets"))
            {
                var presets = new Command("presets", "list the GPU, link and model presets");
                presets.SetAction(_ => CliVerbs.Presets());
                root.Subcommands.Add(presets);
            }
            return root;
        }

        private static void AddRun(RootCommand root)
        {
            var runScenario = new Argument<string>("scenario") { Description = "scenario YAML file" };
            var runOut = new Option<string?>("--out") { Description = "run directory (default results/<name>/)" };
            var runSeed = CliOptions.NullableInt("--seed", "override the scenario's seed", 0, int.MaxValue);
            var runSet = SetOption();
            var runNoReport = new Option<bool>("--no-report") { Description = "skip charts and report.html" };
            var runThreads = CliOptions.NullableInt("--threads", "threads that simulate the replicas (default: run.threads, auto); outputs do not depend on it", 1, 1024);
            var run = new Command("run", "simulate one scenario and write a run directory") { runScenario, runOut, runSeed, runSet, runNoReport, runThreads };
            run.SetAction(p => CliVerbs.Run(p.GetValue(runScenario)!, p.GetValue(runOut), p.GetValue(runSeed),
                WithThreads(p.GetValue(runSet) ?? Array.Empty<string>(), p.GetValue(runThreads)), !p.GetValue(runNoReport)));
            root.Subcommands.Add(run);
        }

        private static void AddSweep(RootCommand root)
        {
            var swScenario = new Argument<string>("scenario") { Description = "scenario YAML file with a sweep: block" };
            var swOut = new Option<string?>("--out") { Description = "sweep directory (default results/<name>-sweep/)" };
            var swJobs = CliOptions.NullableInt("--jobs", "points run in parallel (default: all cores)", 1, 1024);
            var swSet = SetOption();
            var swNoReport = new Option<bool>("--no-report") { Description = "skip charts and report.html" };
            var swShard = ShardOption();
            var sweep = new Command("sweep", "run every point of the scenario's sweep: block") { swScenario, swOut, swJobs, swSet, swNoReport, swShard };
            sweep.SetAction(p => CliVerbs.Sweep(p.GetValue(swScenario)!, p.GetValue(swOut), p.GetValue(swJobs),
                p.GetValue(swSet) ?? Array.Empty<string>(), !p.GetValue(swNoReport), p.GetValue(swShard)));
            root.Subcommands.Add(sweep);
        }

        private static void AddMemory(RootCommand root)
        {
            var memScenario = new Argument<string>("scenario") { Description = "scenario YAML file" };
            var memSet = SetOption();
            var memJson = new Option<bool>("--json") { Description = "print one JSON object" };
            var memory = new Command("memory", "per-GPU memory plan and KV capacity; no simulation (exit 3 if it does not fit)") { memScenario, memSet, memJson };
            memory.SetAction(p => CliVerbs.Memory(p.GetValue(memScenario)!, p.GetValue(memSet) ?? Array.Empty<string>(), p.GetValue(memJson)));
            root.Subcommands.Add(memory);
        }

        private static void AddStep(RootCommand root)
        {
            var model = new Option<string>("--model") { Description = "model preset or path to a Hugging Face config.json", Required = true };
            var gpu = new Option<string>("--gpu") { Description = "GPU preset", Required = true };
            var tp = CliOptions.Int("--tp", "tensor-parallel size", 1, CliOptions.MaxParallelSize, 1);
            var pp = CliOptions.Int("--pp", "pipeline-parallel size", 1, CliOptions.MaxParallelSize, 1);
            var ep = CliOptions.Int("--ep", "expert-parallel size", 1, CliOptions.MaxParallelSize, 1);
            var hostCpu = new Option<string>("--host-cpu") { Description = "host CPU for the engine's host-side terms: auto (by GPU) | epyc-7742 | xeon-8480c | xeon-8570", DefaultValueFactory = _ => "auto" };
            var engineVersion = new Option<string>("--engine-version") { Description = "vLLM release for --engine vllm: auto (host terms serial with the GPU step) | e.g. 0.11.0 (serial) | 0.14 or later (host terms hidden behind the GPU step: asynchronous scheduling, opt-in)", DefaultValueFactory = _ => "auto" };
            var cp = CliOptions.Int("--cp", "context-parallel size (ring attention over CP x TP GPUs on 8-GPU nodes)", 1, CliOptions.MaxParallelSize, 1);
            var phase = new Option<string>("--phase") { Description = "prefill | decode", Required = true };
            var batch = CliOptions.Int("--batch", "sequences in the batch", 1, StepProbe.MaxBatch, 1);
            var prompt = CliOptions.Int("--prompt", "prompt tokens per sequence", 1, StepProbe.MaxTokens, null, required: true);
            var context = CliOptions.NullableInt("--context", "decode: tokens already in each sequence's KV cache (default: prompt)", 0, StepProbe.MaxTokens);
            var weights = new Option<string>("--precision") { Description = "weights precision: bf16 | fp8 | int8 | int4", DefaultValueFactory = _ => "bf16" };
            var engine = new Option<string>("--engine") { Description = "engine overheads: vllm (CUDA graphs, default) | trtllm (TensorRT-LLM: the host terms of vllm) | splitwise (fitted, no CUDA graphs) | none (kernels only)", DefaultValueFactory = _ => "vllm" };
            var calibration = new Option<string>("--calibration") { Description = "kernel calibration profile: auto (by GPU) | a100-vidur | h100 | h100-measured | h100-vidur", DefaultValueFactory = _ => "auto" };
            var stepJson = new Option<bool>("--json") { Description = "print one JSON object" };
            var step = new Command("step", "predicted time of one iteration of one pipeline stage, with its breakdown")
                { model, gpu, tp, pp, ep, cp, phase, batch, prompt, context, weights, engine, engineVersion, calibration, hostCpu, stepJson };
            step.SetAction(p => CliVerbs.Step(p.GetValue(model)!, p.GetValue(gpu)!, p.GetValue(tp), p.GetValue(pp), p.GetValue(ep),
                p.GetValue(phase)!, p.GetValue(batch), p.GetValue(prompt), p.GetValue(context), p.GetValue(weights)!, p.GetValue(engine)!, p.GetValue(calibration)!, p.GetValue(stepJson), p.GetValue(cp), p.GetValue(hostCpu)!, p.GetValue(engineVersion)!));
            root.Subcommands.Add(step);
        }

        private static void AddValidate(RootCommand root)
        {
            var valOut = new Option<string?>("--out") { Description = "output directory (default results/validate)" };
            var valData = new Option<string?>("--data") { Description = "the data/ folder to replay (default: the repository's)" };
            var validate = new Command("validate", "replay every shipped measurement set through the model; validation.csv, validation_points.csv, report.html") { valOut, valData };
            validate.SetAction(p => CliVerbs.Validate(p.GetValue(valOut), p.GetValue(valData)));
            root.Subcommands.Add(validate);
        }

        private static void AddCollective(RootCommand root)
        {
            var cGpu = new Option<string>("--gpu") { Description = "GPU preset (its default intra/inter-node links)", Required = true };
            var op = new Option<string>("--op") { Description = "all_reduce | all_gather | reduce_scatter | all_to_all | send_recv | broadcast", Required = true };
            var ranks = CliOptions.Int("--ranks", "number of GPUs", 1, CollectiveProbe.MaxRanks, null, required: true);
            var bytes = new Option<string>("--bytes") { Description = "message size in bytes (suffixes K, M, G, KiB, MiB, GiB allowed)", Required = true };
            var nodes = CliOptions.Int("--nodes", "nodes the ranks span", 1, CollectiveProbe.MaxRanks, 1);
            var algorithm = new Option<string>("--algorithm", "--algo") { Description = "auto | ring | tree | hierarchical | direct | nvls", DefaultValueFactory = _ => "auto" };
            var protocol = new Option<string>("--proto") { Description = "NCCL protocol inside one node: auto (the tuner's pick) | ll | ll128 | simple", DefaultValueFactory = _ => "auto" };
            var cJson = new Option<bool>("--json") { Description = "print one JSON object" };

            var collective = new Command("collective", "predicted collective time, algbw and busbw (nccl-tests definitions)")
                { cGpu, op, ranks, bytes, nodes, algorithm, protocol, cJson };
            collective.SetAction(p => CliVerbs.Collective(p.GetValue(cGpu)!, p.GetValue(op)!, p.GetValue(ranks), p.GetValue(bytes)!,
                p.GetValue(nodes), p.GetValue(algorithm)!, p.GetValue(cJson), p.GetValue(protocol)!));
            root.Subcommands.Add(collective);
        }

        private static void AddReport(RootCommand root)
        {
            var inputs = new Argument<string[]>("dirs") { Description = "run or sweep directories", Arity = ArgumentArity.OneOrMore };
            var rOut = new Option<string>("--out") { Description = "report directory", Required = true };
            var rTitle = new Option<string?>("--title") { Description = "report heading (default: the scenario name)" };
            var rTimeline = new Option<double?>("--timeline-s") { Description = "longest stretch of the stage timeline, seconds (default 2)" };
            var rSloTtft = new Option<double?>("--slo-ttft-ms") { Description = "TTFT bound of the SLO, ms (default: the runs' slo block)" };
            var rSloTpot = new Option<double?>("--slo-tpot-ms") { Description = "TPOT bound of the SLO, ms (default: the runs' slo block)" };
            var rSloPct = new Option<double?>("--slo-percentile") { Description = "SLO percentile, e.g. 95 (default: the runs' slo block)" };
            var report = new Command("report", "charts (PNG + SVG) and a design-review report from run or sweep directories")
                { inputs, rOut, rTitle, rTimeline, rSloTtft, rSloTpot, rSloPct };
            report.SetAction(p => CliVerbs.Report(p.GetValue(inputs)!, p.GetValue(rOut)!, CliVerbs.ReportOptionsFrom(
                p.GetValue(rTitle), p.GetValue(rTimeline), p.GetValue(rSloTtft), p.GetValue(rSloTpot), p.GetValue(rSloPct))));
            root.Subcommands.Add(report);
        }

        /// <summary>`--shard I/N`: run only the points k with k mod N == I (see ShardSpec).</summary>
        internal static Option<string?> ShardOption() => new("--shard")
        {
            Description = "run only shard I of N (points k with k mod N == I); combine shards with `sim merge`",
        };

        // Implementation note: each --set takes exactly one value, so a trailing `--set` with nothing after it
        // is an error rather than silently ignored.
        internal static Option<string[]> SetOption() => new("--set")
        {
            Description = "override a scenario key: --set parallelism.microbatches=4 (repeatable)",
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = false,
        };
    }
}
