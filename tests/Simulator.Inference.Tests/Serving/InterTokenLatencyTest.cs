// FsCheck supplies the arguments of [FsProperty] methods; NUnit's analyzer cannot see that.
#pragma warning disable NUnit1027
using NUnit.Framework;
using Simulator.Inference.Metrics;
using Simulator.Inference.Serving;
using FsProperty = FsCheck.NUnit.PropertyAttribute;
using static Simulator.Inference.Tests.Serving.ServingTestKit;

namespace Simulator.Inference.Tests.Serving;

/// <summary>The serving layer reports every gap between consecutive output tokens of a request (ITL), and nothing else.</summary>
public sealed class InterTokenLatencyTest
{
    [Test]
    public void OneRequest_FourTokens_ThreeGapsOfOneIterationEach()
    {
        // One stage, 1 ms + 10 us per token: prefill of 10 tokens 1.1 ms emits token 1; each decode (1 token) 1.01 ms.
        var (rec, _, _) = Run([new Simulator.Inference.Workload.Request(0, 0, 10, 4)], Setup(new SchedulerConfig()));
        Assert.That(rec.TokenGaps, Is.EqualTo(new[] { (1_010_000L, 1), (1_010_000L, 1), (1_010_000L, 1) }));
        var r = rec.Requests.Single();
        Assert.That(rec.TokenGaps.Sum(g => g.GapNs * g.Count), Is.EqualTo(r.CompletionNs - r.FirstTokenNs));
    }

    [Test]
    public void SequencesDecodingTogether_ReportOneRunOfEqualGaps()
    {
        var (rec, _, _) = Run(Uniform(8, input: 16, output: 3), Setup(new SchedulerConfig()));
        // All eight prefill in one batch, then decode together: two passes, each 8 gaps of the same length.
        Assert.That(rec.TokenGaps, Has.Count.EqualTo(2));
        Assert.That(rec.TokenGaps.All(g => g.Count == 8), Is.True);
    }

    [FsProperty(MaxTest = 40)]
    public void AnyWorkload_GapsSumToCompletionMinusFirstToken_AndNumberGeneratedMinusOne(int seed, byte layout)
    {
        var config = new SchedulerConfig(Policy: new[] { "vllm", "sarathi", "orca", "static" }[layout % 4], MaxNumSeqs: 2 + layout % 7,
            MaxNumBatchedTokens: 64 + 32 * (layout % 5), BlockSize: 4, KvCapacityBlocks: 40 + Math.Abs(seed % 60), ChunkSize: 16 + layout % 40);
        var requests = ServingTestKit.Random(seed, 40, maxInput: 120, maxOutput: 50, meanGapNs: 2 * Ms);
        var setup = Setup(config, stages: 1 + layout % 3, fixedNs: Ms / 2, nsPerToken: 5000, microbatches: 1 + (layout / 3) % 3, ppNs: Ms / 10);
        var (rec, _, _) = Run(requests, [setup, setup], new ServingOptions("least_outstanding", SampleIntervalNs: 0));

        var completed = rec.Requests.Where(r => r.Status == RequestStatus.Completed).ToList();
        Assert.That(rec.Requests.All(r => r.Status is RequestStatus.Completed or RequestStatus.Rejected), Is.True, "the run drains");
        var gaps = new GapHistogram();
        foreach (var (gap, count) in rec.TokenGaps) gaps.Add(gap, count);
        // mean ITL x gaps == sum over completed requests of (completion - first token), exactly, in ns.
        Assert.That(gaps.Count, Is.EqualTo(completed.Sum(r => (long)r.GeneratedTokens - 1)));
        Assert.That(gaps.SumNs, Is.EqualTo(completed.Sum(r => r.CompletionNs!.Value - r.FirstTokenNs!.Value)));
        if (gaps.Count > 0) Assert.That(gaps.MeanNs * gaps.Count, Is.EqualTo((double)gaps.SumNs).Within(1e-6).Percent);
    }
}
