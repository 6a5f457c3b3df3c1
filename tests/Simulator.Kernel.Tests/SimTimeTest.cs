using NUnit.Framework;
using Simulator.Kernel;

namespace Simulator.Kernel.Tests;

public sealed class SimTimeTest
{
    [Test]
    public void FromUnits_ConvertToIntegerNanoseconds()
    {
        Assert.That(SimDuration.FromSeconds(1.5).Nanoseconds, Is.EqualTo(1_500_000_000L));
        Assert.That(SimDuration.FromMilliseconds(2.25).Nanoseconds, Is.EqualTo(2_250_000L));
        Assert.That(SimDuration.FromMicroseconds(3.5).Nanoseconds, Is.EqualTo(3_500L));
        Assert.That(SimTime.FromMicroseconds(7).Nanoseconds, Is.EqualTo(7_000L));
        Assert.That(SimTime.FromMilliseconds(1).Nanoseconds, Is.EqualTo(1_000_000L));
    }

    [Test]
    public void ToUnits_ReturnFractionalValues()
    {
        var d = SimDuration.FromNanoseconds(1_500);
        Assert.That(d.Microseconds, Is.EqualTo(1.5));
        Assert.That(d.Milliseconds, Is.EqualTo(0.0015));
        Assert.That(new SimTime(2_500_000_000).Seconds, Is.EqualTo(2.5));
    }

    [Test]
    public void FromSeconds_SubNanosecond_RoundsHalfAwayFromZero()
    {
        Assert.That(SimDuration.FromMicroseconds(0.0005).Nanoseconds, Is.EqualTo(1L));
        Assert.That(SimDuration.FromMicroseconds(0.0004).Nanoseconds, Is.EqualTo(0L));
    }

    [Test]
    public void Arithmetic_Overflow_Throws()
    {
        Assert.Throws<OverflowException>(() => _ = SimTime.MaxValue + SimDuration.FromNanoseconds(1));
        Assert.Throws<OverflowException>(() => _ = SimDuration.MaxValue * 2);
        Assert.Throws<OverflowException>(() => SimDuration.FromSeconds(1e12));
        Assert.Throws<OverflowException>(() => SimDuration.FromSeconds(double.NaN));
    }

    [Test]
    public void TimeMinusTime_IsDuration_AndTimePlusDurationRoundTrips()
    {
        var a = SimTime.FromMilliseconds(5);
        var b = SimTime.FromMilliseconds(2);
        var d = a - b;
        Assert.That(d, Is.EqualTo(SimDuration.FromMilliseconds(3)));
        Assert.That(b + d, Is.EqualTo(a));
        Assert.That(d / SimDuration.FromMilliseconds(1), Is.EqualTo(3.0));
        Assert.That(d / 3, Is.EqualTo(SimDuration.FromMilliseconds(1)));
    }

    [Test]
    public void ToString_UsesInvariantUnits()
    {
        Assert.That(SimTime.FromMilliseconds(1500).ToString(), Is.EqualTo("1.5s"));
        Assert.That(SimDuration.FromMicroseconds(1500).ToString(), Is.EqualTo("1.5ms"));
    }
}
