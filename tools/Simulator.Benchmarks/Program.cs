using BenchmarkDotNet.Running;
using Simulator.Benchmarks.Kernel;

namespace Simulator.Benchmarks;

/// <summary>
/// Entry point: <c>quick</c> runs the one-process kernel throughput check (<see cref="QuickBenchmark"/>);
/// <c>scale [SCENARIO]</c> runs a whole scenario end to end (<see cref="Scale.ScaleBenchmark"/>);
/// <c>bench</c> runs the fleet-scale cases with medians (<see cref="Scale.FleetBenchmark"/>);
/// any other arguments go to BenchmarkDotNet's switcher (e.g. <c>--filter *Queue*</c>).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && string.Equals(args[0], "quick", StringComparison.OrdinalIgnoreCase))
        {
            return QuickBenchmark.Run(args.Skip(1).ToArray(), Console.Out);
        }
        if (args.Length > 0 && string.Equals(args[0], "scale", StringComparison.OrdinalIgnoreCase))
        {
            return Scale.ScaleBenchmark.Run(args.Skip(1).ToArray(), Console.Out);
        }
        if (args.Length > 0 && string.Equals(args[0], "bench", StringComparison.OrdinalIgnoreCase))
        {
            return Scale.FleetBenchmark.Run(args.Skip(1).ToArray(), Console.Out);
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
