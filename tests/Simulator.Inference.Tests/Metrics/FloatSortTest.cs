#pragma warning disable NUnit1027 // FsCheck generates the arguments of [FsCheckProperty] methods
using FsCheckProperty = FsCheck.NUnit.PropertyAttribute;
using NUnit.Framework;
using Simulator.Inference.Metrics;

namespace Simulator.Inference.Tests.Metrics;

public sealed class FloatSortTest
{
    [FsCheckProperty(MaxTest = 60)]
    public bool AnyLatencies_SortToTheSameBitsAsTheComparisonSort(int seed, byte kind)
    {
        var rng = new Random(seed);
        int n = rng.Next(0, 3) == 0 ? rng.Next(0, 50) : rng.Next(FloatSort.RadixMinLength, 20_000);
        var values = new float[n];
        for (int i = 0; i < n; i++)
        {
            values[i] = (kind % 4) switch
            {
                0 => (float)(rng.NextDouble() * 1e4),                               // latencies in ms
                1 => rng.Next(0, 20) * 0.25f,                                       // many ties
                2 => BitConverter.UInt32BitsToSingle((uint)rng.Next(0, 0x7F80_0001)), // every non-negative bit pattern up to +inf
                _ => (float)(rng.NextDouble() * 100),
            };
        }
        if (kind % 4 == 3 && n > 0)
        {
            // Values the radix sort declines: the comparison sort takes the whole span.
            values[rng.Next(n)] = (kind / 4 % 3) switch { 0 => -1.5f, 1 => float.NaN, _ => -0.0f };
        }
        var expected = (float[])values.Clone();
        expected.AsSpan().Sort();
        uint[]? scratch = kind % 2 == 0 ? null : new uint[rng.Next(0, 2 * n + 1)]; // too small, or larger than needed
        FloatSort.Sort(values, ref scratch);
        return values.Select(BitConverter.SingleToUInt32Bits).SequenceEqual(expected.Select(BitConverter.SingleToUInt32Bits));
    }

    [Test]
    public void MillionLatencies_SortAscending()
    {
        var rng = new Random(7);
        var values = Enumerable.Range(0, 1_000_000).Select(_ => (float)(rng.NextDouble() * 500)).ToArray();
        FloatSort.Sort(values);
        for (int i = 1; i < values.Length; i++) Assert.That(values[i], Is.GreaterThanOrEqualTo(values[i - 1]));
    }
}
