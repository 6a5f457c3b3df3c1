using NUnit.Framework;
using Simulator.Inference.Metrics;
using static Simulator.Inference.Tests.Metrics.MetricsTestData;

namespace Simulator.Inference.Tests.Metrics;

public sealed class ConsoleSummaryTest
{
    private static RunSummary Summary()
    {
        var acc = new RunMetricsAccumulator(Meta().Slo);
        foreach (var r in SmallRun()) acc.Add(r, RequestLatencies.From(r));
        acc.AddTokenGaps(100 * Ms, 10);
        acc.AddTokenGaps(20 * Ms, 20);
        return acc.Summarize(Meta(), End());
    }

    [Test]
    public void Lines_ShowLatencyTableThroughputSloBubbleMemoryAndOutputs()
    {
        var lines = ConsoleSummary.Lines(Summary(), "results/unit-test", new SimulationStats(1234, 10 * S, 0.5));
        Assert.Multiple(() =>
        {
            Assert.That(lines[0], Is.EqualTo("Run unit-test (seed 7): 7 requests: 4 completed, 1 rejected, 1 failed, 1 unfinished"));
            Assert.That(lines, Has.Some.EqualTo("TTFT               325.000     200.000     710.000     782.000     800.000         4"));
            Assert.That(lines, Has.Some.EqualTo("ITL                 46.667      20.000     100.000     100.000     100.000        30"));
            Assert.That(lines, Has.Some.StartWith("Throughput: 3.333 req/s, 333.3 input tok/s, 28.3 output tok/s"));
            Assert.That(lines, Has.Some.EqualTo("SLO (TTFT <= 500.0 ms, TPOT <= 50.0 ms): attainment 33.33 %, goodput 1.667 req/s; p95 TTFT 710.0 ms, p95 TPOT 96.0 ms: NOT met"));
            Assert.That(lines, Has.Some.EqualTo("Pipeline: 2 stage(s) x 2 microbatch(es), bubble fraction 0.3750"));
            Assert.That(lines, Has.Some.StartWith("Memory per GPU (tightest: GPU 0 of 2): weights 20.00 GB"));
            Assert.That(lines, Has.Some.EqualTo("Simulation: 1234 events, 10.000 s simulated in 0.50 s wall (2468 events/s)"));
            Assert.That(lines[^1], Is.EqualTo("Outputs: results/unit-test"));
        });
    }

    [Test]
    public void Lines_NoTpotValues_ShowDashes()
    {
        var acc = new RunMetricsAccumulator(SloSpec.None);
        var r = Completed(0, 0, 10 * Ms, 10 * Ms, 1);
        acc.Add(r, RequestLatencies.From(r));
        var lines = ConsoleSummary.Lines(acc.Summarize(Meta(SloSpec.None), RunEndInputs.Minimal(new SimulationStats(1, 1, 0))));
        Assert.That(lines, Has.Some.StartWith("TPOT                     -           -"));
        Assert.That(lines, Has.Some.EqualTo("ITL                      -           -           -           -           -         0"));
        Assert.That(lines, Has.None.StartWith("Outputs:"));
    }
}
