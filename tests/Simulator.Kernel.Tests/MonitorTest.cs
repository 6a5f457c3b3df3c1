using NUnit.Framework;
using Simulator.Kernel;

namespace Simulator.Kernel.Tests;

public sealed class MonitorTest
{
    [Test]
    public void SampleMonitor_MeanStdDevAndExtremes_MatchTheDefinitions()
    {
        var m = new SampleMonitor("x");
        foreach (var v in new[] { 2.0, 4, 4, 4, 5, 5, 7, 9 }) m.Add(v);
        Assert.That(m.Count, Is.EqualTo(8));
        Assert.That(m.Mean, Is.EqualTo(5.0).Within(1e-12));
        Assert.That(m.StdDev, Is.EqualTo(Math.Sqrt(32.0 / 7)).Within(1e-12));
        Assert.That((m.Min, m.Max, m.Sum), Is.EqualTo((2.0, 9.0, 40.0)));
    }

    [Test]
    public void SampleMonitor_Percentiles_InterpolateBetweenClosestRanks()
    {
        var m = new SampleMonitor();
        foreach (var v in Enumerable.Range(1, 100).Reverse()) m.Add(v);
        Assert.That(m.Percentile(0), Is.EqualTo(1));
        Assert.That(m.Percentile(50), Is.EqualTo(50.5).Within(1e-12));
        Assert.That(m.Percentile(90), Is.EqualTo(90.1).Within(1e-12));
        Assert.That(m.Percentile(100), Is.EqualTo(100));
        Assert.Throws<ArgumentOutOfRangeException>(() => m.Percentile(101));
    }

    [Test]
    public void SampleMonitor_Empty_GivesNaN_AndWithoutSamplesRefusesPercentiles()
    {
        var m = new SampleMonitor();
        Assert.That(double.IsNaN(m.Mean) && double.IsNaN(m.Percentile(50)), Is.True);
        var lean = new SampleMonitor(keepSamples: false);
        lean.Add(1);
        Assert.Throws<InvalidOperationException>(() => lean.Percentile(50));
    }

    [Test]
    public void TimeSeriesMonitor_Mean_IsTimeWeighted()
    {
        var sim = new Simulation();
        var m = new TimeSeriesMonitor(sim, "busy");
        sim.Schedule(SimDuration.FromNanoseconds(10), () => m.UpdateTo(4));   // 0 for 10 ns
        sim.Schedule(SimDuration.FromNanoseconds(30), () => m.UpdateTo(1));   // 4 for 20 ns
        sim.Run(new SimTime(40));                                             // 1 for 10 ns
        Assert.That(m.Mean, Is.EqualTo((0 * 10 + 4 * 20 + 1 * 10) / 40.0).Within(1e-12));
        Assert.That(m.IntegralSeconds, Is.EqualTo(90e-9).Within(1e-18));
        Assert.That((m.Min, m.Max, m.Current), Is.EqualTo((0.0, 4.0, 1.0)));
    }
}
