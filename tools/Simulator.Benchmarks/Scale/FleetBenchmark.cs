using System.Diagnostics;
using System.Globalization;
using Simulator.Benchmarks.Kernel;

namespace Simulator.Benchmarks.Scale;

/// <summary>
/// The fleet-scale benchmark (issue 15): every figure of the issue in one run. For each case it runs the scenario
/// end to end <c>--repeat N</c> times, each in a fresh child process (so peak RSS and JIT are those of one run), and
/// prints the median (and range) of wall time, CPU time of the process (what a quiet machine gives as wall time when
/// other work shares the cores), events, events/s of the event loop, peak RSS and bytes written; then
/// the kernel's own fast-path events/s (<see cref="QuickBenchmark"/>), measured in this process before every run and
/// after the last one (its median and range), and the serving/kernel ratio of the two medians.
/// Usage: <c>bench [--repeat N] [--cases azure-conv,fleet-1m,fleet-10m] [--kernel-events N] [--set key=value]...
/// [--sim PATH [--report]]</c>. By default each run is this tool's own in-process <c>scale</c> (the simulator as a
/// library, no report); with <c>--sim PATH</c> it is that <c>sim</c> binary's <c>run</c> (<see cref="SimBinary"/>), so
/// the native build and the JIT build can be compared, with <c>--report</c> including the report.
/// </summary>
// Implementation note: each repetition is a child process running `scale`, because a process's peak working set
// never goes down: measured in one process, the second case would report the first one's peak.
public static class FleetBenchmark
{
    /// <summary>A benchmark case: a shipped scenario plus overrides.</summary>
    public sealed record BenchCase(string Name, string Scenario, IReadOnlyList<string> Sets);

    /// <summary>The cases by name; <c>fleet-10m</c> is fleet-1m scaled by 8 (8,192 GPUs, 7,000 req/s, 10M requests).</summary>
    public static readonly IReadOnlyList<BenchCase> Cases =
    [
        new("azure-conv", "azure-conv-llama70b.yaml", []),
        new("fleet-1m", "fleet-1m.yaml", []),
        new("fleet-10m", "fleet-1m.yaml",
        [
            "name=fleet-10m", "cluster.nodes=1024", "parallelism.replicas=2048", "workload.arrivals.rate_per_s=7000",
            "workload.requests=10000000",
        ]),
    ];

    private static readonly string[] Figures = ["total_wall_s", "cpu_s", "events", "events_per_s", "peak_working_set_mb", "bytes_written", "gc_pause_s", "allocated_mb"];

    public static int Run(string[] args, TextWriter output)
    {
        int repeat = 5;
        long kernelEvents = 5_000_000;
        var names = new List<string> { "azure-conv", "fleet-1m" };
        var sets = new List<string>();
        var simArgs = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"option {args[i]} needs a value");
            switch (args[i])
            {
                case "--repeat": repeat = Math.Max(1, int.Parse(Value(), CultureInfo.InvariantCulture)); break;
                case "--cases": names = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList(); break;
                case "--kernel-events": kernelEvents = long.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--set": sets.Add(Value()); break;
                case "--sim": simArgs.AddRange(["--sim", Value()]); break;
                case "--report": simArgs.Add("--report"); break;
                default:
                    Console.Error.WriteLine($"error: unknown option {args[i]}; allowed: --repeat N, --cases {string.Join(',', Cases.Select(c => c.Name))}, --kernel-events N, --set key=value, --sim PATH, --report");
                    return 2;
            }
        }
        var unknown = names.Where(n => Cases.All(c => c.Name != n)).ToList();
        if (unknown.Count > 0)
        {
            Console.Error.WriteLine($"error: --cases: unknown case {unknown[0]}; allowed: {string.Join(", ", Cases.Select(c => c.Name))}");
            return 2;
        }
        if (simArgs.Contains("--report") && !simArgs.Contains("--sim"))
        {
            Console.Error.WriteLine("error: --report: only with --sim PATH (the in-process run writes no report)");
            return 2;
        }
        var inv = CultureInfo.InvariantCulture;
        output.WriteLine($"# fleet benchmark: {string.Join(", ", names)}; medians of {repeat} runs, each in its own process; cores={Environment.ProcessorCount}");
        int sim = simArgs.IndexOf("--sim");
        output.WriteLine(sim < 0 ? "# binary: this tool's in-process run (the simulator as a library, no report)"
            : $"# binary: {Path.GetFullPath(simArgs[sim + 1])} `run`{(simArgs.Contains("--report") ? " with the report" : " --no-report")}");
        var servingRates = new Dictionary<string, double>();
        // The kernel's own figure moves by a quarter within minutes on an idle machine, so it is measured before
        // every run and after the last one, interleaved with the runs, and the ratio is taken to its median.
        var kernelRates = new List<double>();
        void MeasureKernel(string when)
        {
            double rate = KernelFastPathRate(kernelEvents);
            kernelRates.Add(rate);
            output.WriteLine(string.Create(inv, $"# kernel sample {kernelRates.Count} ({when}): fastpath_events_per_s={rate:0}"));
        }
        foreach (var name in names)
        {
            var c = Cases.Single(x => x.Name == name);
            var runs = new List<Dictionary<string, string>>();
            for (int r = 0; r < repeat; r++)
            {
                MeasureKernel($"before {name} run {r + 1}");
                var figures = RunChild(c, sets, simArgs);
                if (figures is null) return 1;
                runs.Add(figures);
                output.WriteLine($"# {name} run {r + 1}: " + string.Join(" ", Figures.Select(f => $"{f}={figures.GetValueOrDefault(f, "?")}")));
            }
            var first = runs[0];
            output.WriteLine($"{name}.requests={first.GetValueOrDefault("requests", "?")}");
            output.WriteLine($"{name}.simulated_s={first.GetValueOrDefault("simulated_s", "?")}");
            output.WriteLine($"{name}.threads={first.GetValueOrDefault("threads", "?")}");
            if (first.TryGetValue("gc_collections", out var gc)) output.WriteLine($"{name}.gc_collections={gc} (gen0/gen1/gen2, first run)");
            // A run of another binary (--sim) has no garbage-collector figures: only those every run has are summarised.
            foreach (var f in Figures.Where(f => runs.All(x => x.ContainsKey(f))))
            {
                var values = runs.Select(x => double.Parse(x[f], inv)).Order().ToList();
                output.WriteLine(string.Create(inv, $"{name}.{f}={Median(values):0.###} (min {values[0]:0.###}, max {values[^1]:0.###})"));
                if (f == "events_per_s") servingRates[name] = Median(values);
            }
        }
        MeasureKernel("after the last run");
        var kernelSorted = kernelRates.Order().ToList();
        double kernelRate = Median(kernelSorted);
        output.WriteLine(string.Create(inv,
            $"kernel.fastpath_events_per_s={kernelRate:0} (min {kernelSorted[0]:0}, max {kernelSorted[^1]:0}; median of {kernelSorted.Count} samples interleaved with the runs)"));
        foreach (var (name, rate) in servingRates)
            output.WriteLine(string.Create(inv,
                $"{name}.events_per_s_vs_kernel={rate / kernelRate:0.000} (median over median; against the kernel's min {rate / kernelSorted[0]:0.000}, max {rate / kernelSorted[^1]:0.000})"));
        return 0;
    }

    /// <summary>The median of sorted values (mean of the middle two for an even count).</summary>
    public static double Median(IReadOnlyList<double> sorted) =>
        sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;

    private static Dictionary<string, string>? RunChild(BenchCase c, IReadOnlyList<string> extraSets, IReadOnlyList<string> simArgs)
    {
        var scenario = ScaleBenchmark.Locate(Path.Combine("scenarios", c.Scenario));
        var start = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        var exe = Environment.ProcessPath ?? "dotnet";
        start.FileName = exe;
        if (Path.GetFileNameWithoutExtension(exe) == "dotnet") start.ArgumentList.Add(typeof(FleetBenchmark).Assembly.Location);
        start.ArgumentList.Add("scale");
        start.ArgumentList.Add(scenario);
        foreach (var a in simArgs) start.ArgumentList.Add(a);
        foreach (var s in c.Sets.Concat(extraSets))
        {
            start.ArgumentList.Add("--set");
            start.ArgumentList.Add(s);
        }
        using var child = Process.Start(start)!;
        var stderr = child.StandardError.ReadToEndAsync();
        var stdout = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        if (child.ExitCode != 0)
        {
            Console.Error.WriteLine($"error: case {c.Name}: the run failed (exit {child.ExitCode}): {stderr.Result.Trim()}");
            return null;
        }
        return ParseFigures(stdout);
    }

    /// <summary>The <c>key=value</c> lines of a scale run's output.</summary>
    public static Dictionary<string, string> ParseFigures(string text)
    {
        var figures = new Dictionary<string, string>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = line.IndexOf('=');
            if (eq > 0 && !line.StartsWith('#')) figures[line[..eq]] = line[(eq + 1)..].Split(' ')[0];
        }
        return figures;
    }

    private static double KernelFastPathRate(long events)
    {
        var p = MmcParameters.Default;
        var model = new FastPathMmc(p);
        model.RunEvents(Math.Max(events / 10, 100_000));
        long before = model.Simulation.ProcessedEvents;
        var watch = Stopwatch.StartNew();
        model.RunEvents(events);
        watch.Stop();
        return (model.Simulation.ProcessedEvents - before) / watch.Elapsed.TotalSeconds;
    }
}
