using NUnit.Framework;
using Simulator.Inference.Cost;
using Simulator.Inference.Metrics;
using Simulator.Inference.Serving;
using static Simulator.Inference.Tests.Serving.ServingTestKit;

namespace Simulator.Inference.Tests.Serving;

public sealed class PipelineTest
{
    /// <summary>Busy stage-time / (stages x span), measured from the iteration records.</summary>
    private static double TimelineUtilization(IReadOnlyList<IterationRecord> its, int stages)
    {
        long busy = its.Sum(r => r.EndNs - r.StartNs);
        long span = its.Max(r => r.EndNs) - its.Min(r => r.StartNs);
        return (double)busy / ((double)stages * span);
    }

    [TestCase(1, 0.25)]
    [TestCase(4, 4.0 / 7)]
    [TestCase(16, 16.0 / 19)]
    public void StaticBatch_SplitIntoMicrobatches_FillAndDrainUtilizationIsMOverMPlusPMinusOne(int microbatches, double expected)
    {
        const int stages = 4;
        // One static batch of 16 single-token requests (one pass each); zero-latency links.
        var config = new SchedulerConfig("static", MaxNumSeqs: 16);
        var (rec, result, _) = Run(Uniform(16, input: 64, output: 1), Setup(config, stages, fixedNs: 0, nsPerToken: 1000, microbatches: microbatches));

        Assert.That(rec.Requests.All(r => r.Status == RequestStatus.Completed), Is.True);
        Assert.That(rec.Iterations.Select(r => r.Microbatch).Distinct().Count(), Is.EqualTo(microbatches));
        double measured = TimelineUtilization(rec.Iterations, stages);
        TestContext.Out.WriteLine($"M={microbatches} P={stages}: utilization {measured:P2} (M/(M+P-1) = {expected:P2})");
        Assert.That(measured, Is.EqualTo(expected).Within(0.01));
        Assert.That(result.Replicas[0].Utilization, Is.EqualTo(expected).Within(0.01));
        Assert.That(result.Replicas[0].BubbleFraction, Is.EqualTo(1 - expected).Within(0.01));
    }

    [Test]
    public void SteadyDecoding_FewerMicrobatchesThanStages_KeepsStagesBusyMOverP()
    {
        // 2 groups cycling through 4 stages: each stage is busy about 2/4 of the time once decoding dominates.
        var config = new SchedulerConfig("static", MaxNumSeqs: 8);
        var (rec, _, _) = Run(Uniform(8, input: 4, output: 400), Setup(config, stages: 4, fixedNs: 1 * Ms, nsPerToken: 0, microbatches: 2));
        Assert.That(TimelineUtilization(rec.Iterations, 4), Is.EqualTo(0.5).Within(0.01));
    }

    [Test]
    public void StageTimes_FollowCostModel_AndSendsDelayTheNextStage()
    {
        // One request, prompt 100, one output token, 3 stages of 1 ms + 100 x 1 us, sends of 0.5 ms.
        var setup = new ReplicaSetup(new LinearCostModel(3, fixedNs: 1 * Ms, nsPerToken: 1000, ppNs: Ms / 2), new SchedulerConfig(), 1);
        var (rec, result, _) = Run(Uniform(1, 100, 1), setup);

        Assert.That(rec.Iterations.Select(r => (r.Stage, r.StartNs, r.EndNs)), Is.EqualTo(new[]
        {
            (0, 0L, 1_100_000L), (1, 1_600_000L, 2_700_000L), (2, 3_200_000L, 4_300_000L),
        }));
        Assert.That(rec.Requests.Single().FirstTokenNs, Is.EqualTo(4_300_000L));
        var stats = result.Replicas[0];
        Assert.That(stats.StageTotals.Select(s => s.BusyNs), Is.EqualTo(new[] { 1_100_000L, 1_100_000L, 1_100_000L }));
        Assert.That(stats.StageTotals.Select(s => s.PpSendNs), Is.EqualTo(new[] { Ms / 2, Ms / 2, 0L }));
        Assert.That(stats.StageTotals[0].ComputeNs + stats.StageTotals[0].OverheadNs, Is.EqualTo(1_100_000L));
        Assert.That(stats.PipelineActiveNs, Is.EqualTo(4_300_000L));
    }

    /// <summary>A model of <c>layers</c> identical layers split evenly over the stages.</summary>
    private sealed class LayeredCostModel(int layers, int stages, long nsPerLayerToken, long fixedNsPerStage, long ppNs) : IStageCostModel
    {
        public int Stages => stages;

        public StageCost Estimate(int stage, IReadOnlyList<SequenceWork> batch)
        {
            long tokens = batch.Sum(w => (long)w.NewTokens);
            long compute = nsPerLayerToken * tokens * (layers / stages);
            return new StageCost(compute, 0, 0, 0, stage < stages - 1 ? ppNs : 0, fixedNsPerStage, new Dictionary<string, double>(), []);
        }
    }

    [Test]
    public void PipelineParallel_SamePerLayerCosts_AddsFirstTokenLatency()
    {
        const long perLayerTokenNs = 1000, fixedNs = 200_000, ppNs = 300_000;
        long Ttft(int stages)
        {
            var setup = new ReplicaSetup(new LayeredCostModel(8, stages, perLayerTokenNs, fixedNs, ppNs), new SchedulerConfig(), 1);
            var (rec, _, _) = Run(Uniform(1, 100, 4), setup);
            var r = rec.Requests.Single();
            return r.FirstTokenNs!.Value - r.ArrivalNs;
        }
        long compute = 8 * 100 * perLayerTokenNs;
        Assert.That(Ttft(1), Is.EqualTo(compute + fixedNs));
        Assert.That(Ttft(4), Is.EqualTo(compute + 4 * fixedNs + 3 * ppNs));
        Assert.That(Ttft(4), Is.GreaterThan(Ttft(1)));
    }

    [Test]
    public void Stage_RunsOneBatchAtATime_FifoAmongMicrobatches()
    {
        var config = new SchedulerConfig("vllm", MaxNumSeqs: 64);
        var (rec, _, _) = Run(Random(3, 60, 200, 40, meanGapNs: Ms), Setup(config, stages: 3, fixedNs: Ms, nsPerToken: 2000, microbatches: 3, ppNs: Ms / 4));
        foreach (var stage in rec.Iterations.GroupBy(r => r.Stage))
        {
            var ordered = stage.ToList(); // records of one stage are emitted in the order the stage ran them
            for (int i = 1; i < ordered.Count; i++)
                Assert.That(ordered[i].StartNs, Is.GreaterThanOrEqualTo(ordered[i - 1].EndNs), $"stage {stage.Key} overlaps");
        }
        // A group's next batch enters stage 0 only after its previous batch left the last stage.
        foreach (var group in rec.Iterations.GroupBy(r => r.Microbatch))
        {
            var passes = group.GroupBy(r => r.Iteration).Select(p => (Start: p.Single(r => r.Stage == 0).StartNs, End: p.Single(r => r.Stage == 2).EndNs)).ToList();
            for (int i = 1; i < passes.Count; i++)
                Assert.That(passes[i].Start, Is.GreaterThanOrEqualTo(passes[i - 1].End));
        }
    }
}
