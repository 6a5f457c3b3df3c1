using System.Text;

namespace Simulator.Inference.Workload;

/// <summary>
/// Independent, reproducible random streams for workload generators: the stream for (seed, name) is a
/// <see cref="System.Random"/> seeded with SplitMix64(seed xor FNV-1a-64(UTF-8 name)), so adding a stream never
/// changes another one's draws and nothing depends on the kernel's own stream bookkeeping.
/// </summary>
public static class WorkloadRandom
{
    /// <summary>A fresh <see cref="System.Random"/> for the named stream (MathNet distributions accept it).</summary>
    public static Random Create(int seed, string name) => new(DeriveSeed(seed, name));

    /// <summary>The 31-bit non-negative seed of the stream <paramref name="name"/> under <paramref name="seed"/>.</summary>
    public static int DeriveSeed(int seed, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        const ulong fnvOffset = 14695981039346656037UL;
        const ulong fnvPrime = 1099511628211UL;
        ulong hash = fnvOffset;
        foreach (byte b in Encoding.UTF8.GetBytes(name))
        {
            hash ^= b;
            hash *= fnvPrime;
        }
        ulong mixed = Mix(Mix((ulong)(long)seed) ^ hash);
        return (int)(mixed >> 33); // top 31 bits: non-negative, as System.Random(int) expects
    }

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
