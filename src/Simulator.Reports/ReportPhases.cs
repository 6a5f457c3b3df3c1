using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Simulator.Reports;

/// <summary>
/// Wall, process CPU and thread CPU time of the report's phases, printed to stderr when the environment variable
/// <c>SIM_REPORT_PHASES</c> is set (to anything); silent otherwise. For measuring where a report's time goes.
/// </summary>
internal static class ReportPhases
{
    private static readonly bool Enabled = Environment.GetEnvironmentVariable("SIM_REPORT_PHASES") is { Length: > 0 };
    private static readonly Stopwatch Clock = Stopwatch.StartNew();

    /// <summary>Whether phases are printed.</summary>
    public static bool On => Enabled;

    /// <summary>Prints "report phase NAME: wall W ms, process CPU C ms, thread T: CPU ms" (wall since the first call).</summary>
    public static void Mark(string name)
    {
        if (!Enabled) return;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds;
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"report phase {name}: wall {Clock.Elapsed.TotalMilliseconds:0} ms, process CPU {cpu:0} ms, thread {Environment.CurrentManagedThreadId}: {ThreadCpuMs():0.0} ms"));
    }

    /// <summary>CPU time of the calling thread (ms; 0 where the platform does not say).</summary>
    public static double ThreadCpuMs()
    {
        if (!OperatingSystem.IsLinux()) return 0;
        return ClockGetTime(3, out var ts) == 0 ? ts.Sec * 1e3 + ts.Nsec / 1e6 : 0; // CLOCK_THREAD_CPUTIME_ID
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Sec;
        public long Nsec;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec ts);
}
