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
