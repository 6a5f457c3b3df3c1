using System.Globalization;

namespace Simulator.Kernel.Monitoring;

/// <summary>
/// A start-up diagnostic: with the environment variable <c>SIM_TRACE_PHASES=1</c>, each <see cref="Mark"/> prints one
/// line to stderr for the phase that ends there: wall time since the process started and since the previous mark, the
/// process's CPU time (user + system) likewise, and what the JIT has compiled so far (methods and ms, every tier and
/// thread). Methods the JIT compiles are code the ReadyToRun images did not cover, or hot code recompiled at tier 1.
/// Off (the default) a mark is one static read; nothing it prints reaches an output file.
/// </summary>
public static class PhaseTrace
{
    /// <summary>The environment variable that switches the trace on (value <c>1</c>).</summary>
    public const string Variable = "SIM_TRACE_PHASES";

    /// <summary>Whether <c>SIM_TRACE_PHASES=1</c> is set (read once, at the first mark).</summary>
    public static readonly bool Enabled = Environment.GetEnvironmentVariable(Variable) == "1";

    private static readonly object Gate = new();
    private static DateTime? _processStart;
    private static double _lastWallMs;
    private static double _lastCpuMs;

    /// <summary>Prints the line of the phase that ends here (<paramref name="phase"/>) to stderr, when enabled.</summary>
    public static void Mark(string phase)
    {
        if (Enabled) Write(Console.Error, phase);
    }

    /// <summary>Writes the line of the phase that ends here to <paramref name="to"/>, enabled or not.</summary>
    public static void Write(TextWriter to, string phase)
    {
        ArgumentNullException.ThrowIfNull(to);
        lock (Gate)
        {
            if (_processStart is null)
            {
                using var self = System.Diagnostics.Process.GetCurrentProcess();
                _processStart = self.StartTime;
            }
            double wallMs = (DateTime.Now - _processStart.Value).TotalMilliseconds;
            double cpuMs = Environment.CpuUsage.TotalTime.TotalMilliseconds;
            to.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"phase {phase,-20} wall {wallMs,7:0.0} ms (+{wallMs - _lastWallMs,6:0.0})  cpu {cpuMs,7:0.0} ms (+{cpuMs - _lastCpuMs,6:0.0})  " +
                $"jit {System.Runtime.JitInfo.GetCompiledMethodCount(),5} methods {System.Runtime.JitInfo.GetCompilationTime().TotalMilliseconds,6:0.0} ms"));
            _lastWallMs = wallMs;
            _lastCpuMs = cpuMs;
        }
    }
}
