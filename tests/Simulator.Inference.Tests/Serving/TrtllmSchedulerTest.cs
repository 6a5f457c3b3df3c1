using NUnit.Framework;
using Simulator.Inference.Metrics;
using Simulator.Inference.Serving;
using static Simulator.Inference.Tests.Serving.ServingTestKit;
using Request = Simulator.Inference.Workload.Request;

namespace Simulator.Inference.Tests.Serving;

public sealed class TrtllmSchedulerTest
{
    // 10 requests of 40 + 60 tokens (25 blocks of 4 each) in a KV cache of 100 blocks: room for the whole of 4.
    private static readonly SchedulerConfig Small = new("trtllm", MaxNumSeqs: 64, MaxNumBatchedTokens: 1000, EnableChunkedPrefill: false,
        BlockSize: 4, KvCapacityBlocks: 100);

    [Test]
    public void GuaranteedNoEvict_StartsOnlyWhatCanFinish_AndNeverPreempts()
    {
        var (rec, result, _) = Run(Uniform(10, input: 40, output: 60), Setup(Small));

        Assert.That(rec.Requests.All(r => r.Status == RequestStatus.Completed), Is.True);
        Assert.That(result.Replicas.Sum(s => s.Preemptions), Is.EqualTo(0));
        Assert.That(rec.Iterations.Max(r => r.BatchSize), Is.EqualTo(4), "the KV cache holds 4 whole requests");
        // The fifth starts only when one of the first four has finished.
        var byId = rec.Requests.ToDictionary(r => r.RequestId);
        long firstDone = Enumerable.Range(0, 4).Min(id => byId[id].CompletionNs!.Value);
        Assert.That(byId[4].ScheduledNs, Is.GreaterThanOrEqualTo(firstDone));

        // vLLM's scheduler on the same cache admits on the prompt alone, runs more at once and then has to preempt.
        var (vllm, vllmResult, _) = Run(Uniform(10, input: 40, output: 60), Setup(Small with { Policy = "vllm" }));
        Assert.That(vllm.Iterations.Max(r => r.BatchSize), Is.GreaterThan(4));
        Assert.That(vllmResult.Replicas.Sum(s => s.Preemptions), Is.GreaterThan(0));
    }

    [Test]
    public void WithoutChunkedContext_AContextRunsWholeOrWaits_AndOneOverMaxNumTokensIsRejected()
    {
        var config = Small with { MaxNumBatchedTokens = 100, KvCapacityBlocks = 1000 };
        // Two 60-token contexts at t = 0: together over the 100-token budget, so the second waits one iteration.
        var requests = new List<Request> { new(0, 0, 60, 3), new(1, 0, 60, 3), new(2, 0, 150, 3) };
        var (rec, _, _) = Run(requests, Setup(config, fixedNs: Ms, nsPerToken: 0));

        Assert.That(rec.Iterations.Select(r => r.PrefillTokens).Take(2), Is.EqualTo(new[] { 60, 60 }));
        Assert.That(rec.Iterations[1].DecodeTokens, Is.EqualTo(1), "the first request's generation rides with the second context");
        Assert.That(rec.Requests.Single(r => r.RequestId == 2).Status, Is.EqualTo(RequestStatus.Rejected));

        // With chunked context on, the second context takes the 40 tokens left, and the long one is served.
        var (chunked, _, _) = Run(requests, Setup(config with { EnableChunkedPrefill = true }, fixedNs: Ms, nsPerToken: 0));
        Assert.That(chunked.Iterations[0].PrefillTokens, Is.EqualTo(100));
        Assert.That(chunked.Requests.All(r => r.Status == RequestStatus.Completed), Is.True);
    }
}
