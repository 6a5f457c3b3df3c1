using NUnit.Framework;
using Simulator.Inference.Metrics;

namespace Simulator.Inference.Tests.Metrics;

public sealed class MetricFormatTest
{
    [TestCase(0L, "0.000000")]
    [TestCase(1_234_567_890L, "1.234568")]          // 1 234 567.890 us -> rounds up
    [TestCase(1_234_567_499L, "1.234567")]
    [TestCase(1_500L, "0.000002")]                   // 1.5 us: half away from zero
    [TestCase(86_400_000_000_000L, "86400.000000")]
    [TestCase(-2_500L, "-0.000003")]
    [TestCase(-400L, "0.000000")]                    // rounds to zero: no "-0"
    public void Seconds_FormatsToTheMicrosecondExactly(long ns, string expected) =>
        Assert.That(MetricFormat.Seconds(ns), Is.EqualTo(expected));

    [TestCase(0L, "0.000")]
    [TestCase(12_345_678L, "12.346")]
    [TestCase(999_999_999_999L, "1000000.000")]
    [TestCase(long.MaxValue, "9223372036854.776")]
    [TestCase(long.MinValue, "-9223372036854.776")]
    public void Milliseconds_FormatsToTheMicrosecondExactly(long ns, string expected) =>
        Assert.That(MetricFormat.Milliseconds(ns), Is.EqualTo(expected));

    [TestCase(12_000_250_000L, 6, "12.00025")]
    [TestCase(4_000_000_000L, 6, "4")]
    [TestCase(0L, 3, "0")]
    [TestCase(153_407_000L, 3, "153.407")]
    [TestCase(1_500L, 3, "0.002")]                   // rounded to the microsecond first, then trimmed
    [TestCase(-400L, 6, "0")]
    [TestCase(10_000_000_000L, 6, "10")]             // zeros of the integer part stay
    public void NsTrimmed_DropsTrailingZerosOfTheFractionOnly(long ns, int decimals, string expected)
    {
        Span<char> buffer = stackalloc char[MetricFormat.MaxNsChars];
        Assert.That(new string(buffer[..MetricFormat.FormatNsTrimmed(buffer, ns, decimals)]), Is.EqualTo(expected));
    }

    [Test]
    public void NsTrimmed_WritesFormatNsWithoutTrailingZeros([Values(3, 6)] int decimals)
    {
        var values = new List<long> { 0, 1, -1, 499, 500, -500, -501, 1_500, 999_999_999_999L, long.MaxValue, long.MinValue, -400, 10_000_000_000L };
        var random = new Random(7);
        for (int i = 0; i < 20_000; i++) values.Add(random.NextInt64(-2_000_000_000_000L, 2_000_000_000_000L) / (i % 7 == 0 ? 1000 : 1));
        Span<char> trimmed = stackalloc char[MetricFormat.MaxNsChars];
        Span<char> full = stackalloc char[MetricFormat.MaxNsChars];
        foreach (var ns in values)
            Assert.That(new string(trimmed[..MetricFormat.FormatNsTrimmed(trimmed, ns, decimals)]),
                Is.EqualTo(new string(full[..MetricFormat.TrimFraction(full[..MetricFormat.FormatNs(full, ns, decimals)])])), $"{ns} ns");
    }

    [Test]
    public void Unsigned_IsTheInvariantIntegerText()
    {
        var values = new List<ulong> { 0, 1, 9, 10, 99, 100, 999, 1_000, 9_999, 10_000, 99_999, 100_000, 1_000_000, ulong.MaxValue, long.MaxValue, ulong.MaxValue - 1 };
        for (ulong p = 1; p < ulong.MaxValue / 10; p *= 10) values.AddRange([p - 1, p, p + 1]);
        var random = new Random(3);
        for (int i = 0; i < 20_000; i++) values.Add((ulong)random.NextInt64() >> random.Next(0, 63));
        Span<byte> utf8 = stackalloc byte[20];
        Span<char> utf16 = stackalloc char[20];
        foreach (var v in values)
        {
            var expected = v.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Assert.That(System.Text.Encoding.UTF8.GetString(utf8[..MetricFormat.FormatUnsigned(utf8, v)]), Is.EqualTo(expected));
            Assert.That(new string(utf16[..MetricFormat.FormatUnsigned(utf16, v)]), Is.EqualTo(expected));
        }
    }

    [Test]
    public void FixedTrimmedUtf8_IsTheTextOfDotNetsFixedFormat([Range(0, 7)] int decimals)
    {
        // Exact ties at the last decimal (k / 2^j), values around the powers of ten and 2^63, subnormals, negative values,
        // and random doubles of every magnitude the tables hold.
        var values = new List<double> { 0, -0.0, double.Epsilon, 1e-300, 0.5, 1.5, 2.5, 0.125, 0.0625, 0.3125, 0.03125, 1.0005, 0.00005,
            9.9999995, 999999.9999995, 9.223372036854775e18, 9.223372036854776e18, 1.8e19, -1.5, -0.0001, double.NaN, double.PositiveInfinity };
        var random = new Random(decimals + 17);
        for (int i = 0; i < 5_000; i++)
        {
            values.Add(random.Next(0, 1 << 20) / (double)(1L << random.Next(0, 24)));  // dyadic: ties where they occur
            values.Add(random.NextDouble() * Math.Pow(10, random.Next(-8, 16)));
            values.Add(Math.Round(random.NextDouble() * 1000, random.Next(0, 7)));      // decimal-looking values, as rates and ratios are
            values.Add(BitConverter.Int64BitsToDouble(random.NextInt64(0, 0x43E0_0000_0000_0000)));  // any non-negative bits below 2^63
        }
        Span<byte> utf8 = stackalloc byte[MetricFormat.MaxFixedChars];
        foreach (var v in values)
            Assert.That(System.Text.Encoding.UTF8.GetString(utf8[..MetricFormat.FormatFixedTrimmed(utf8, v, decimals)]),
                Is.EqualTo(MetricFormat.FixedTrimmed(v, decimals)), $"{v:R} with {decimals} decimals");
    }

    [TestCase(2334.0, 3, "2334")]
    [TestCase(0.25, 4, "0.25")]
    [TestCase(0.00004, 4, "0")]
    [TestCase(1520.0004, 3, "1520")]
    [TestCase(100.5, 3, "100.5")]
    [TestCase(double.NaN, 3, "NaN")]
    public void FixedTrimmed_IsTheFixedTextWithoutTrailingZeros(double value, int decimals, string expected) =>
        Assert.That(MetricFormat.FixedTrimmed(value, decimals), Is.EqualTo(expected));

    [Test]
    public void FixedTrimmed_LargestDoubles_Fit() =>
        Assert.That(MetricFormat.FixedTrimmed(-double.MaxValue, 15), Is.EqualTo(MetricFormat.Fixed(-double.MaxValue, 0)));

    [Test]
    public void FixedTrimmed_DenotesTheSameValueAsTheFixedText([Values(0.0, 1.0, 0.1, 12.5, 1234.5678, 1e-9, 987654.321)] double value,
        [Values(3, 4, 6)] int decimals) =>
        Assert.That(double.Parse(MetricFormat.FixedTrimmed(value, decimals), System.Globalization.CultureInfo.InvariantCulture),
            Is.EqualTo(double.Parse(MetricFormat.Fixed(value, decimals), System.Globalization.CultureInfo.InvariantCulture)));

    [Test]
    public void Status_UsesTheDocumentedSpellings() =>
        Assert.That(Enum.GetValues<RequestStatus>().Select(MetricFormat.Status),
            Is.EqualTo(new[] { "completed", "rejected", "failed", "unfinished" }));

    [Test]
    public void Round_NegativeZero_IsZero() => Assert.That(double.IsNegative(MetricFormat.Round(-0.00001)), Is.False);
}
