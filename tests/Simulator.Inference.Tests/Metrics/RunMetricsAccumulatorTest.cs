using NUnit.Framework;
using Simulator.Inference.Metrics;
using static Simulator.Inference.Tests.Metrics.MetricsTestData;

namespace Simulator.Inference.Tests.Metrics;

public sealed class RunMetricsAccumulatorTest
{
    private static RunSummary SummarizeSmallRun()
    {
        var acc = new RunMetricsAccumulator(Meta().Slo);
        foreach (var r in SmallRun()) acc.Add(r, RequestLatencies.From(r));
        return acc.Summarize(Meta(), End());
    }

    [Test]
    public void Summarize_SmallRun_CountsEveryStatus()
    {
        var s = SummarizeSmallRun();
        Assert.That(s.Requests, Is.EqualTo(new RequestCounts(7, 4, 1, 1, 1)));
    }

    [Test]
    public void Summarize_SmallRun_TtftStatsOverCompletedRequests()
    {
        // TTFTs 200, 200, 800, 100 ms -> sorted 100, 200, 200, 800.
        var t = SummarizeSmallRun().TtftMs;
        Assert.That(t, Is.EqualTo(new LatencyStats(4, 325, 200, 620, 710, 782, 800)));
    }

    [Test]
    public void Summarize_SmallRun_TpotExcludesOneTokenOutputs()
    {
        // Only requests 0 (TPOT 100) and 1 (TPOT 400 / 20 = 20) have a TPOT.
        var t = SummarizeSmallRun().TpotMs;
        Assert.That(t, Is.EqualTo(new LatencyStats(2, 60, 60, 92, 96, 99.2, 100)));
    }

    [Test]
    public void Summarize_SmallRun_E2eAndQueueStats()
    {
        var s = SummarizeSmallRun();
        Assert.That(s.E2eMs.Mean, Is.EqualTo(675));
        Assert.That(s.E2eMs.P50, Is.EqualTo(700));
        Assert.That(s.QueueMs.Mean, Is.EqualTo(12.5));
        Assert.That(s.QueueMs.Max, Is.EqualTo(50));
    }

    [Test]
    public void Summarize_SmallRun_ThroughputOverFirstArrivalToLastCompletion()
    {
        // Window 0 .. 1.2 s; 4 completed, 400 input tokens, 34 output tokens.
        var th = SummarizeSmallRun().Throughput;
        Assert.That(th, Is.EqualTo(new ThroughputSummary(3.3333, 333.3333, 28.3333, 1.2, 400, 34)));
    }

    [Test]
    public void Summarize_SmallRun_AttainmentCountsRejectedAndFailedButNotUnfinished()
    {
        // Met: requests 1 and 3. Ended: 4 completed + 1 rejected + 1 failed.
        var slo = SummarizeSmallRun().Slo;
        Assert.Multiple(() =>
        {
            Assert.That(slo.Met, Is.EqualTo(2));
            Assert.That(slo.Attainment, Is.EqualTo(0.3333));
            Assert.That(slo.GoodputRequestsPerS, Is.EqualTo(1.6667)); // 2 / 1.2 s
            Assert.That(slo.TtftAtPercentileMs, Is.EqualTo(710));
            Assert.That(slo.TpotAtPercentileMs, Is.EqualTo(96));
            Assert.That(slo.PercentileMet, Is.False);               // p95 TTFT 710 > 500
        });
    }

    [Test]
    public void Summarize_LooseSlo_PercentileMet()
    {
        var slo = new SloSpec(1000, 200, 99);
        var acc = new RunMetricsAccumulator(slo);
        foreach (var r in SmallRun()) acc.Add(r, RequestLatencies.From(r));
        var s = acc.Summarize(Meta(slo), End()).Slo;
        Assert.That(s.PercentileMet, Is.True);
        Assert.That(s.Met, Is.EqualTo(4));
    }

    [Test]
    public void Summarize_NoCompletedRequests_RatesAreZeroAndStatsEmpty()
    {
        var acc = new RunMetricsAccumulator(SloSpec.None);
        var r = Ended(0, 0, RequestStatus.Rejected);
        acc.Add(r, RequestLatencies.From(r));
        var s = acc.Summarize(Meta(), RunEndInputs.Minimal(new SimulationStats(1, 1, 0)));
        Assert.Multiple(() =>
        {
            Assert.That(s.Throughput.RequestsPerS, Is.EqualTo(0));
            Assert.That(s.TtftMs.Count, Is.EqualTo(0));
            Assert.That(s.Slo.Attainment, Is.EqualTo(0));
            Assert.That(s.Slo.PercentileMet, Is.False);
            Assert.That(s.Memory, Is.Null);
            Assert.That(s.Experts, Is.Null);
        });
    }

    [Test]
    public void Summarize_SmallRun_PipelineMemoryAndExperts()
    {
        var s = SummarizeSmallRun();
        Assert.Multiple(() =>
        {
            // 2 stages x 8 s available, 6 + 4 s busy -> 6 / 16 idle.
            Assert.That(s.Pipeline, Is.EqualTo(new PipelineSummary(2, 2, 0.375)));
            Assert.That(s.Memory, Is.EqualTo(new MemorySummary(2, 0, 20, 50, 2, 8, 0.5)));
            Assert.That(s.Experts, Is.EqualTo(new ExpertSummary(1.5)));  // max 1.5 / mean 1.0
            Assert.That(s.Simulation, Is.EqualTo(new SimulationSummary(1234, 10)));
        });
    }

    [Test]
    public void BubbleFraction_TwoReplicas_SumsNumeratorsAndDenominators()
    {
        // Replica 0: 4 stages x 10 s, busy 10 s each -> idle 0. Replica 1: 2 stages x 5 s, busy 1 s each -> idle 8.
        var f = RunMetricsAccumulator.BubbleFraction(
        [
            new ReplicaPipelineStats(0, 10 * S, [10 * S, 10 * S, 10 * S, 10 * S]),
            new ReplicaPipelineStats(1, 5 * S, [1 * S, 1 * S]),
        ]);
        Assert.That(f, Is.EqualTo(8.0 / 50).Within(1e-12));
    }

    [Test]
    public void BubbleFraction_FillAndDrain_MatchesTextbookFormula()
    {
        // One static batch in M microbatches of time t through P stages: busy period (M + P - 1) t,
        // each stage busy M t -> bubble (P - 1) / (M + P - 1).
        const int p = 4, m = 8;
        const long t = 3 * Ms;
        var stats = new ReplicaPipelineStats(0, (m + p - 1) * t, Enumerable.Repeat(m * t, p).ToArray());
        Assert.That(RunMetricsAccumulator.BubbleFraction([stats]), Is.EqualTo((p - 1.0) / (m + p - 1)).Within(1e-12));
    }

    [Test]
    public void BubbleFraction_NothingActive_IsZero() =>
        Assert.That(RunMetricsAccumulator.BubbleFraction([new ReplicaPipelineStats(0, 0, [0, 0])]), Is.EqualTo(0));
}
