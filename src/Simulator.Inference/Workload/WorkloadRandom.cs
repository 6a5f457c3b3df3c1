using Simulator.Kernel;

namespace Simulator.Inference.Workload;

/// <summary>
/// Independent, reproducible random streams for workload generators: the stream for (seed, name) is the kernel's
/// <see cref="StreamRandom"/> seeded by <see cref="RandomStreams.DeriveSeed"/>, so adding a stream never changes
/// another one's draws. Generators take a seed rather than a simulation, so a workload can be read without one.
/// </summary>
public static class WorkloadRandom
{
    /// <summary>The stream named <paramref name="name"/> under <paramref name="seed"/> (the kernel's derivation and generator).</summary>
    public static Random Create(int seed, string name) => new StreamRandom(RandomStreams.DeriveSeed(seed, name));

    /// <summary>The stream's seed folded to a non-negative int (for display and tests).</summary>
    public static int DeriveSeed(int seed, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return (int)(RandomStreams.DeriveSeed(seed, name) >> 33);
    }
}
