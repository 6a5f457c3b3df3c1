using System.Diagnostics;
using System.Globalization;

namespace Simulator.Benchmarks.Kernel;

/// <summary>
/// The quick throughput check, in one process: the M/M/c model as processes, the same load on the fast
/// path, and a bare PriorityQueue loop of the same size as the physical reference. Prints
/// <c>process_events_per_s=</c>, <c>fastpath_events_per_s=</c>, <c>reference_events_per_s=</c> and, last,
/// <c>fastpath_vs_reference=</c>. Options: <c>--events N</c> (default 10,000,000), <c>--customers N</c>,
/// <c>--wall</c> (rates per wall-clock second instead of per CPU second).
/// </summary>
// Implementation note: by default the rates divide by the CPU time this process used (all its threads,
// GC included), because on a shared machine the wall clock also counts time spent waiting for a core.
// On an idle machine both agree within a few percent; both are printed.
public static class QuickBenchmark
{
    public static int Run(string[] args, TextWriter output)
    {
        long events = 10_000_000;
        var p = MmcParameters.Default;
        bool wall = false;
        for (int i = 0; i < args.Length; i += 2)
        {
            if (args[i] == "--wall")
            {
                wall = true;
                i--;
                continue;
            }
            if (i + 1 >= args.Length)
            {
                Console.Error.WriteLine($"error: option {args[i]} needs a value");
                return 2;
            }
            switch (args[i])
            {
                case "--events": events = long.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--customers": p = p with { Customers = int.Parse(args[i + 1], CultureInfo.InvariantCulture) }; break;
                default:
                    Console.Error.WriteLine($"error: unknown option {args[i]}; allowed: --events N, --customers N, --wall");
                    return 2;
            }
        }
        long warmup = Math.Max(events / 10, 100_000);
        var inv = CultureInfo.InvariantCulture;
        output.WriteLine(string.Create(inv, $"# M/M/c closed model: customers={p.Customers} servers={p.Servers} think_mean_ms={p.ThinkMeanNs / 1e6} service_mean_ms={p.ServiceMeanNs / 1e6} events={events}"));

        double processRate = Measure(() =>
        {
            var model = new ProcessMmc(p);
            model.RunEvents(warmup);
            return (model.Simulation.ProcessedEvents, () => model.RunEvents(events), () => model.Simulation.ProcessedEvents);
        }, output, "process", wall);

        double fastRate = Measure(() =>
        {
            var model = new FastPathMmc(p);
            model.RunEvents(warmup);
            return (model.Simulation.ProcessedEvents, () => model.RunEvents(events), () => model.Simulation.ProcessedEvents);
        }, output, "fastpath", wall);

        double referenceRate = Measure(() =>
        {
            var loop = new ReferenceQueueLoop(p.Customers, p.ThinkMeanNs, p.Seed);
            loop.RunEvents(warmup);
            long done = 0;
            return (0L, () => { loop.RunEvents(events); done = events; }, () => done);
        }, output, "reference", wall);

        output.WriteLine(string.Create(inv, $"process_events_per_s={processRate:F0}"));
        output.WriteLine(string.Create(inv, $"fastpath_events_per_s={fastRate:F0}"));
        output.WriteLine(string.Create(inv, $"reference_events_per_s={referenceRate:F0}"));
        output.WriteLine(string.Create(inv, $"process_vs_reference={processRate / referenceRate:F3}"));
        output.WriteLine(string.Create(inv, $"fastpath_vs_reference={fastRate / referenceRate:F3}"));
        return 0;
    }

    private static double Measure(Func<(long Before, Action Run, Func<long> After)> setup, TextWriter output, string name, bool wall)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var (before, run, after) = setup();
        int gen0 = GC.CollectionCount(0);
        int gen1 = GC.CollectionCount(1);
        var self = Process.GetCurrentProcess();
        var cpuBefore = self.TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        run();
        watch.Stop();
        self.Refresh();
        double cpuS = (self.TotalProcessorTime - cpuBefore).TotalSeconds;
        double wallS = watch.Elapsed.TotalSeconds;
        long processed = after() - before;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"# {name}: {processed} events, wall {wallS:F3} s ({processed / wallS:F0}/s), cpu {cpuS:F3} s ({processed / cpuS:F0}/s), gc gen0 {GC.CollectionCount(0) - gen0} gen1 {GC.CollectionCount(1) - gen1}"));
        return processed / (wall ? wallS : cpuS);
    }
}
