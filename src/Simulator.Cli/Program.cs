using System.CommandLine;
using Simulator.Cli;

// The `sim` command: parses arguments and calls one library function per verb (see CliVerbs).
// Exit codes: 0 success; 2 bad input (one `error: ...` line per problem on stderr); 3 plan does not fit.
return CliApp.Execute(args);

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
                var root = BuildRoot();
                var parse = root.Parse(args);
                if (parse.Errors.Count > 0)
                {
                    foreach (var e in parse.Errors) Console.Error.WriteLine("error: " + e.Message);
                    Console.Error.WriteLine("(see `sim --help`)");
                    return CliVerbs.ExitBadInput;
                }
                return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
            }
            catch (Exception ex)
            {
                return CliVerbs.ReportFailure(ex);
            }
        }

        private static RootCommand BuildRoot()
        {
            var root = new RootCommand("sim: discrete-event simulator of sharded LLM inference clusters");

            // run
            var runScenario = new Argument<string>("scenario") { Description = "scenario YAML file" };
            var runOut = new Option<string?>("--out") { Description = "run directory (default results/<name>/)" };
            var runSeed = new Option<int?>("--seed") { Description = "override the scenario's seed" };
            var runSet = SetOption();
            var runNoReport = new Option<bool>("--no-report") { Description = "skip charts and report.html" };
            var run = new Command("run", "simulate one scenario and write a run directory") { runScenario, runOut, runSeed, runSet, runNoReport };
            run.SetAction(p => CliVerbs.Run(p.GetValue(runScenario)!, p.GetValue(runOut), p.GetValue(runSeed),
                p.GetValue(runSet) ?? Array.Empty<string>(), !p.GetValue(runNoReport)));
            root.Subcommands.Add(run);

            // sweep
            var swScenario = new Argument<string>("scenario") { Description = "scenario YAML file with a sweep: block" };
            var swOut = new Option<string?>("--out") { Description = "sweep directory (default results/<name>-sweep/)" };
            var swJobs = new Option<int?>("--jobs") { Description = "points run in parallel (default: all cores)" };
            var swSet = SetOption();
            var swNoReport = new Option<bool>("--no-report") { Description = "skip charts and report.html" };
            var swShard = ShardOption();
            var sweep = new Command("sweep", "run every point of the scenario's sweep: block") { swScenario, swOut, swJobs, swSet, swNoReport, swShard };
            sweep.SetAction(p => CliVerbs.Sweep(p.GetValue(swScenario)!, p.GetValue(swOut), p.GetValue(swJobs),
                p.GetValue(swSet) ?? Array.Empty<string>(), !p.GetValue(swNoReport), p.GetValue(swShard)));
            root.Subcommands.Add(sweep);
            PlanCommands.Add(root);

            // memory
            var memScenario = new Argument<string>("scenario") { Description = "scenario YAML file" };
            var memSet = SetOption();
            var memJson = new Option<bool>("--json") { Description = "print one JSON object" };
            var memory = new Command("memory", "per-GPU memory plan and KV capacity; no simulation (exit 3 if it does not fit)") { memScenario, memSet, memJson };
            memory.SetAction(p => CliVerbs.Memory(p.GetValue(memScenario)!, p.GetValue(memSet) ?? Array.Empty<string>(), p.GetValue(memJson)));
            root.Subcommands.Add(memory);

            // step
            var model = new Option<string>("--model") { Description = "model preset or path to a Hugging Face config.json", Required = true };
            var gpu = new Option<string>("--gpu") { Description = "GPU preset", Required = true };
            var tp = new Option<int>("--tp") { Description = "tensor-parallel size", DefaultValueFactory = _ => 1 };
            var pp = new Option<int>("--pp") { Description = "pipeline-parallel size", DefaultValueFactory = _ => 1 };
            var ep = new Option<int>("--ep") { Description = "expert-parallel size", DefaultValueFactory = _ => 1 };
            var phase = new Option<string>("--phase") { Description = "prefill | decode", Required = true };
            var batch = new Option<int>("--batch") { Description = "sequences in the batch", DefaultValueFactory = _ => 1 };
            var prompt = new Option<int>("--prompt") { Description = "prompt tokens per sequence", Required = true };
            var context = new Option<int?>("--context") { Description = "decode: tokens already in each sequence's KV cache (default: prompt)" };
            var weights = new Option<string>("--precision") { Description = "weights precision: bf16 | fp8 | int8 | int4", DefaultValueFactory = _ => "bf16" };
            var engine = new Option<string>("--engine") { Description = "engine overheads: vllm (CUDA graphs, default) | splitwise (fitted, no CUDA graphs) | none (kernels only)", DefaultValueFactory = _ => "vllm" };
            var calibration = new Option<string>("--calibration") { Description = "kernel calibration profile: auto (by GPU) | a100-vidur | h100 | h100-measured | h100-vidur", DefaultValueFactory = _ => "auto" };
            var stepJson = new Option<bool>("--json") { Description = "print one JSON object" };
            var step = new Command("step", "predicted time of one iteration of one pipeline stage, with its breakdown")
                { model, gpu, tp, pp, ep, phase, batch, prompt, context, weights, engine, calibration, stepJson };
            step.SetAction(p => CliVerbs.Step(p.GetValue(model)!, p.GetValue(gpu)!, p.GetValue(tp), p.GetValue(pp), p.GetValue(ep),
                p.GetValue(phase)!, p.GetValue(batch), p.GetValue(prompt), p.GetValue(context), p.GetValue(weights)!, p.GetValue(engine)!, p.GetValue(calibration)!, p.GetValue(stepJson)));
            root.Subcommands.Add(step);

            // collective
            var cGpu = new Option<string>("--gpu") { Description = "GPU preset (its default intra/inter-node links)", Required = true };
            var op = new Option<string>("--op") { Description = "all_reduce | all_gather | reduce_scatter | all_to_all | send_recv | broadcast", Required = true };
            var ranks = new Option<int>("--ranks") { Description = "number of GPUs", Required = true };
            var bytes = new Option<string>("--bytes") { Description = "message size in bytes (suffixes K, M, G, KiB, MiB, GiB allowed)", Required = true };
            var nodes = new Option<int>("--nodes") { Description = "nodes the ranks span", DefaultValueFactory = _ => 1 };
            var algorithm = new Option<string>("--algorithm") { Description = "auto | ring | tree | hierarchical | direct", DefaultValueFactory = _ => "auto" };
            var cJson = new Option<bool>("--json") { Description = "print one JSON object" };
            var collective = new Command("collective", "predicted collective time, algbw and busbw (nccl-tests definitions)")
                { cGpu, op, ranks, bytes, nodes, algorithm, cJson };
            collective.SetAction(p => CliVerbs.Collective(p.GetValue(cGpu)!, p.GetValue(op)!, p.GetValue(ranks), p.GetValue(bytes)!,
                p.GetValue(nodes), p.GetValue(algorithm)!, p.GetValue(cJson)));
            root.Subcommands.Add(collective);

            // report
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

            // presets
            var presets = new Command("presets", "list the GPU, link and model presets");
            presets.SetAction(_ => CliVerbs.Presets());
            root.Subcommands.Add(presets);

            return root;
        }

        /// <summary>`--shard I/N`: run only the points k with k mod N == I (see ShardSpec).</summary>
        internal static Option<string?> ShardOption() => new("--shard")
        {
            Description = "run only shard I of N (points k with k mod N == I); combine shards with `sim merge`",
        };

        internal static Option<string[]> SetOption() => new("--set")
        {
            Description = "override a scenario key: --set parallelism.microbatches=4 (repeatable)",
            Arity = ArgumentArity.ZeroOrMore,
            AllowMultipleArgumentsPerToken = false,
        };
    }
}
