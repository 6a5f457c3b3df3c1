using System.Text;

namespace Simulator.Kernel;

/// <summary>
/// Named, independent random streams derived from one root seed. Each stream's seed is a stable hash of
/// (root seed, name), so adding a new consumer of randomness never changes the draws of existing ones.
/// </summary>
public sealed class RandomStreams
{
    // Ordinal comparer: the dictionary is only looked up, never iterated into results.
    private readonly Dictionary<string, StreamRandom> _streams = new(StringComparer.Ordinal);

    public RandomStreams(long rootSeed)
    {
        RootSeed = rootSeed;
    }

    /// <summary>The seed every stream derives from.</summary>
    public long RootSeed { get; }

    /// <summary>
    /// The stream called <paramref name="name"/> (created on first use, then shared): a <see cref="System.Random"/>
    /// that MathNet.Numerics distributions accept, e.g. <c>Exponential.Sample(streams.Get("arrivals"), rate)</c>.
    /// </summary>
    public StreamRandom Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!_streams.TryGetValue(name, out var stream))
        {
            stream = new StreamRandom(DeriveSeed(RootSeed, name));
            _streams.Add(name, stream);
        }
        return stream;
    }

    /// <summary>A fresh stream (not cached) positioned at the start of the named sequence.</summary>
    public StreamRandom Create(string name) => new(DeriveSeed(RootSeed, name));

    /// <summary>The 64-bit seed of the stream <paramref name="name"/>: SplitMix64(SplitMix64(root seed) xor FNV-1a-64(UTF-8 name)).</summary>
    public static ulong DeriveSeed(long rootSeed, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return SplitMix64.Mix(SplitMix64.Mix((ulong)rootSeed) ^ Fnv1a64(name));
    }

    /// <summary>The 64-bit FNV-1a hash of the UTF-8 bytes of <paramref name="text"/> (stable across runs and platforms).</summary>
    public static ulong Fnv1a64(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        const ulong fnvOffset = 14695981039346656037UL;
        const ulong fnvPrime = 1099511628211UL;
        ulong hash = fnvOffset;
        foreach (byte b in Encoding.UTF8.GetBytes(text))
        {
            hash ^= b;
            hash *= fnvPrime;
        }
        return hash;
    }
}

/// <summary>The SplitMix64 generator's output function and stepping (Steele, Lea and Flood 2014).</summary>
internal static class SplitMix64
{
    public const ulong Gamma = 0x9E3779B97F4A7C15UL;

    /// <summary>The SplitMix64 finalizer: a bijective, well-mixing hash of a 64-bit value.</summary>
    public static ulong Mix(ulong z)
    {
        z += Gamma;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Advances <paramref name="state"/> and returns the next output.</summary>
    public static ulong Next(ref ulong state)
    {
        state += Gamma;
        ulong z = state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
