using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Simulator.Benchmarks.Scale;

/// <summary>
/// <c>scale --sim PATH</c>: times a given <c>sim</c> binary (the native one of <c>tools/publish-native</c>, or the JIT
/// build's <c>src/Simulator.Cli/bin/Release/net10.0/sim</c>) on <c>PATH run SCENARIO --out DIR [--no-report]</c> in a
/// child process, and prints the figures of <see cref="ScaleBenchmark"/> that a process can be measured for from
/// outside: wall time from start to exit, CPU time and peak RSS of the child (getrusage), events and event-loop wall
/// time from its perf.json, bytes written. The garbage collector's figures are not known from outside and are left out.
/// </summary>
public static class SimBinary
{
    public static int Run(string sim, string scenarioPath, IReadOnlyList<string> sets, bool report, string outDir, bool keep, TextWriter output)
    {
        if (!File.Exists(sim))
        {
            Console.Error.WriteLine($"error: --sim {sim}: no such file; give a sim binary (tools/publish-native prints where it wrote one)");
            return 2;
        }
        var start = new ProcessStartInfo(Path.GetFullPath(sim)) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "run", scenarioPath, "--out", outDir }) start.ArgumentList.Add(a);
        if (!report) start.ArgumentList.Add("--no-report");
        foreach (var s in sets)
        {
            start.ArgumentList.Add("--set");
            start.ArgumentList.Add(s);
        }
        var before = ChildUsage();
        var watch = Stopwatch.StartNew();
        using (var child = Process.Start(start)!)
        {
            var stderr = child.StandardError.ReadToEndAsync();
            child.StandardOutput.ReadToEnd();
            child.WaitForExit();
            watch.Stop();
            if (child.ExitCode != 0)
            {
                Console.Error.WriteLine($"error: {sim} exited {child.ExitCode}: {stderr.Result.Trim()}");
                return 1;
            }
        }
        var after = ChildUsage();
        var inv = CultureInfo.InvariantCulture;
        using var perf = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "perf.json")));
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json")));
        var p = perf.RootElement;
        var requests = summary.RootElement.GetProperty("requests");
        long events = p.GetProperty("events").GetInt64();
        double loopWall = p.GetProperty("wall_s").GetDouble();
        output.WriteLine($"scenario={summary.RootElement.GetProperty("scenario").GetString()}");
        output.WriteLine($"binary={Path.GetFullPath(sim)}{(report ? " (with the report)" : " (--no-report)")}");
        output.WriteLine($"requests={requests.GetProperty("total").GetInt64().ToString(inv)} completed={requests.GetProperty("completed").GetInt64().ToString(inv)}");
        output.WriteLine($"simulated_s={p.GetProperty("simulated_s").GetDouble().ToString("0.0", inv)}");
        output.WriteLine($"events={events.ToString(inv)}");
        output.WriteLine($"threads={p.GetProperty("threads").GetInt32().ToString(inv)}");
        output.WriteLine($"event_loop_wall_s={loopWall.ToString("0.000", inv)}");
        output.WriteLine($"events_per_s={(events / Math.Max(1e-9, loopWall)).ToString("0", inv)}");
        output.WriteLine($"total_wall_s={watch.Elapsed.TotalSeconds.ToString("0.000", inv)}");
        output.WriteLine($"cpu_s={(after.CpuSeconds - before.CpuSeconds).ToString("0.000", inv)}");
        // ru_maxrss of RUSAGE_CHILDREN is the largest child's: this process starts one child, so it is that child's.
        output.WriteLine($"peak_working_set_mb={(after.MaxRssKb / 1024.0).ToString("0", inv)}");
        long bytes = new DirectoryInfo(outDir).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
        output.WriteLine($"bytes_written={bytes.ToString(inv)}");
        output.WriteLine($"output_dir={(keep ? outDir : "(deleted; --keep to keep it)")}");
        if (!keep) Directory.Delete(outDir, recursive: true);
        return 0;
    }

    /// <summary>User + system CPU seconds and the peak RSS (KB) of this process's waited-for children (Linux getrusage).</summary>
    private static (double CpuSeconds, long MaxRssKb) ChildUsage()
    {
        if (!OperatingSystem.IsLinux()) return (double.NaN, 0);
        if (getrusage(RusageChildren, out var u) != 0) return (double.NaN, 0);
        return (u.UserSec + u.UserUsec / 1e6 + u.SysSec + u.SysUsec / 1e6, u.MaxRss);
    }

    private const int RusageChildren = -1;

    /// <summary>struct rusage of Linux x86-64 / arm64: two timevals, then fourteen longs (ru_maxrss first, in KB).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Rusage
    {
        public long UserSec, UserUsec, SysSec, SysUsec;
        public long MaxRss, IxRss, IdRss, IsRss, MinFlt, MajFlt, NSwap, InBlock, OuBlock, MsgSnd, MsgRcv, NSignals, NvCsw, NivCsw;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int getrusage(int who, out Rusage usage);
}
