namespace Simulator.Inference.Metrics;

/// <summary>
/// Sorts the latency lists of a run for their percentiles: a radix sort on the bits when every value is a non-negative
/// number (latencies are), the comparison sort (<c>Span.Sort</c>) otherwise. The result is the same either way.
/// </summary>
// Implementation note: a non-negative float that is not NaN orders like its bits read as an unsigned integer, and two
// such floats are equal only when their bits are (there is no -0 among them), so sorting the bits gives exactly the
// span that the comparison sort gives. Three passes of 11 bits touch each value six times, where the comparison sort of a
// million latencies (fleet-1m sorts four lists of 10^6 at the end of the run) made some twenty passes of branchy compares.
public static class FloatSort
{
    /// <summary>Spans shorter than this are left to the comparison sort (the radix sort's counts cost more than it saves).</summary>
    public const int RadixMinLength = 2048;

    private const int Bits = 11;
    private const int Buckets = 1 << Bits;
    private const uint Mask = Buckets - 1;

    /// <summary>Sorts <paramref name="values"/> in ascending order, exactly as the comparison sort (<c>Span.Sort</c>) does.</summary>
    public static void Sort(Span<float> values)
    {
        uint[]? scratch = null;
        Sort(values, ref scratch);
    }

    /// <summary>
    /// <see cref="Sort(Span{float})"/> with a scratch buffer the caller keeps between sorts (grown when too small), so
    /// several large lists sorted one after another need one buffer, not one each.
    /// </summary>
    public static void Sort(Span<float> values, ref uint[]? scratch)
    {
        if (values.Length < RadixMinLength || !AllNonNegativeNumbers(values))
        {
            values.Sort();
            return;
        }
        var keys = System.Runtime.InteropServices.MemoryMarshal.Cast<float, uint>(values);
        if (scratch is null || scratch.Length < keys.Length) scratch = new uint[keys.Length];
        Span<uint> from = keys, to = scratch.AsSpan(0, keys.Length);
        var counts = new int[3 * Buckets];
        foreach (uint k in keys)
        {
            counts[k & Mask]++;
            counts[Buckets + ((k >> Bits) & Mask)]++;
            counts[2 * Buckets + (k >> (2 * Bits))]++;
        }
        for (int pass = 0; pass < 3; pass++)
        {
            var count = counts.AsSpan(pass * Buckets, Buckets);
            int shift = pass * Bits;
            int at = 0;
            for (int b = 0; b < Buckets; b++)
            {
                int c = count[b];
                count[b] = at;
                at += c;
            }
            foreach (uint k in from) to[count[(int)((k >> shift) & Mask)]++] = k;
            var swap = from;
            from = to;
            to = swap;
        }
        // Three passes end in the buffer: copy back.
        from.CopyTo(keys);
    }

    private static bool AllNonNegativeNumbers(ReadOnlySpan<float> values)
    {
        foreach (float v in values)
            if (!(v >= 0) || BitConverter.SingleToUInt32Bits(v) >> 31 != 0) return false; // NaN, negatives and -0 sort by compare
        return true;
    }
}
