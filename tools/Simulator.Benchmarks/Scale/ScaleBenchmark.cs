using System.Diagnostics;
using System.Globalization;
using Simulator.Scenarios;

namespace Simulator.Benchmarks.Scale;

/// <summary>
/// Whole-run scale benchmark: simulates a scenario end to end (trace reading, scheduling, cost model, streamed
/// outputs) and prints wall time, events/s, peak memory and the bytes the run directory holds. Default: scenarios/azure-conv-llama70b.yaml, the full
/// Azure 2023 conversation trace (19,366 requests) on Llama-3.1-70B, TP=4 x 2 replicas of H100.
/// Usage: <c>dotnet run -c Release --project tools/Simulator.Benchmarks -- scale [SCENARIO] [--set key=value]... [--keep]
/// [--sim PATH [--report]]</c>; with <c>--sim</c> the run is <c>PATH run SCENARIO</c> in a child process (<see cref="SimBinary"/>).
/// </summary>
public static class ScaleBenchmark
{
    public static int Run(string[] args, TextWriter output)
    {
        var sets = new List<string>();
        string? scenarioPath = null;
        string? sim = null;
        bool keep = false, report = false;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--set" && i + 1 < args.Length) sets.Add(args[++i]);
            else if (args[i] == "--sim" && i + 1 < args.Length) sim = args[++i];
            else if (args[i] == "--keep") keep = true;
            else if (args[i] == "--report") report = true;
            else scenarioPath ??= args[i];
        }
        scenarioPath ??= Locate(Path.Combine("scenarios", "azure-conv-llama70b.yaml"));
        var outDir = Path.Combine(Path.GetTempPath(), "sim-scale-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        if (sim is not null) return SimBinary.Run(sim, scenarioPath, sets, report, outDir, keep, output);
        if (report)
        {
            Console.Error.WriteLine("error: --report: only with --sim PATH (the in-process run writes no report)");
            return 2;
        }
        var total = Stopwatch.StartNew();
        var scenario = RunBuilder.Load(scenarioPath, sets);
        var result = ScenarioRunner.Run(scenario, outDir);
        total.Stop();
        using var self = Process.GetCurrentProcess();
        self.Refresh();
        var inv = CultureInfo.InvariantCulture;
        var s = result.Summary;
        output.WriteLine($"scenario={scenario.Name}");
        output.WriteLine($"requests={s.Requests.Total.ToString(inv)} completed={s.Requests.Completed.ToString(inv)}");
        output.WriteLine($"simulated_s={(result.Perf.SimulatedNs / 1e9).ToString("0.0", inv)}");
        output.WriteLine($"events={result.Perf.Events.ToString(inv)}");
        output.WriteLine($"threads={result.Perf.Threads.ToString(inv)}" + (result.Perf.SerialReason is { } why ? $" (one thread: {why})" : ""));
        output.WriteLine($"event_loop_wall_s={result.Perf.WallSeconds.ToString("0.000", inv)}");
        output.WriteLine($"events_per_s={(result.Perf.Events / Math.Max(1e-9, result.Perf.WallSeconds)).ToString("0", inv)}");
        output.WriteLine($"total_wall_s={total.Elapsed.TotalSeconds.ToString("0.000", inv)}");
        output.WriteLine($"cpu_s={self.TotalProcessorTime.TotalSeconds.ToString("0.000", inv)}");
        output.WriteLine($"peak_working_set_mb={(self.PeakWorkingSet64 / 1048576.0).ToString("0", inv)}");
        // What the garbage collector did over the whole process (load, simulate, write): the heap grows with the
        // replica count, so a gen2 collection costs more at fleet scale.
        output.WriteLine($"gc_collections={GC.CollectionCount(0).ToString(inv)}/{GC.CollectionCount(1).ToString(inv)}/{GC.CollectionCount(2).ToString(inv)} (gen0/gen1/gen2)");
        output.WriteLine($"gc_pause_s={GC.GetTotalPauseDuration().TotalSeconds.ToString("0.000", inv)}");
        output.WriteLine($"allocated_mb={(GC.GetTotalAllocatedBytes(precise: true) / 1048576.0).ToString("0.0", inv)}");
        long bytes = new DirectoryInfo(result.Directory).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
        output.WriteLine($"bytes_written={bytes.ToString(inv)}");
        output.WriteLine($"output_dir={(keep ? result.Directory : "(deleted; --keep to keep it)")}");
        if (!keep) Directory.Delete(result.Directory, recursive: true);
        return 0;
    }

    /// <summary>The path of <paramref name="relative"/> in the working directory or the first folder above it (or above the binary) that has it.</summary>
    internal static string Locate(string relative)
    {
        var dir = new DirectoryInfo(Directory.GetCurrentDirectory());
        while (dir != null)
        {
            var candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(candidate)) return candidate;
            dir = dir.Parent;
        }
        dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null)
        {
            var candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(candidate)) return candidate;
            dir = dir.Parent;
        }
        return relative;
    }
}
