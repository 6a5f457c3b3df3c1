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

    [Test]
    public void Status_UsesTheDocumentedSpellings() =>
        Assert.That(Enum.GetValues<RequestStatus>().Select(MetricFormat.Status),
            Is.EqualTo(new[] { "completed", "rejected", "failed", "unfinished" }));

    [Test]
    public void Round_NegativeZero_IsZero() => Assert.That(double.IsNegative(MetricFormat.Round(-0.00001)), Is.False);
}
