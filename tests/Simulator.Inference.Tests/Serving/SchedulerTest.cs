using NUnit.Framework;
using Simulator.Inference.Metrics;
using Simulator.Inference.Serving;
using static Simulator.Inference.Tests.Serving.ServingTestKit;
using Request = Simulator.Inference.Workload.Request;

namespace Simulator.Inference.Tests.Serving;

public sealed class SchedulerTest
{
    [Test]
    public void Vllm_ChunkedPrefill_DecodesFirstThenChunkFillsTheTokenBudget()
    {
        // A decodes from t=1ms; B (200-token prompt) arrives at 5.5 ms with a 50-token budget.
        var config = new SchedulerConfig("vllm", MaxNumBatchedTokens: 50, EnableChunkedPrefill: true);
        var requests = new List<Request> { new(0, 0, 10, 30), new(1, 5_500_000, 200, 2) };
        var (rec, _, _) = Run(requests, Setup(config, fixedNs: Ms, nsPerToken: 0));

        var mixed = rec.Iterations.Where(r => r.BatchSize == 2 && r.PrefillTokens > 0).ToList();
        Assert.That(mixed.Select(r => (r.PrefillTokens, r.DecodeTokens)).Take(4), Is.EqualTo(Enumerable.Repeat((49, 1), 4)));
        Assert.That(mixed[4].PrefillTokens, Is.EqualTo(200 - 4 * 49));
        Assert.That(rec.Iterations.All(r => r.PrefillTokens + r.DecodeTokens <= 50), Is.True);
        Assert.That(rec.Requests.All(r => r.Status == RequestStatus.Completed), Is.True);
    }

    [Test]
    public void Vllm_WithoutChunking_RunsPromptsWholeAndRejectsPromptsOverTheBudget()
    {
        var config = new SchedulerConfig("vllm", MaxNumBatchedTokens: 100, EnableChunkedPrefill: false);
        var requests = new List<Request> { new(0, 0, 80, 3), new(1, 0, 150, 3) };
        var (rec, _, _) = Run(requests, Setup(config));

        Assert.That(rec.Requests.Single(r => r.RequestId == 1).Status, Is.EqualTo(RequestStatus.Rejected));
        Assert.That(rec.Requests.Single(r => r.RequestId == 0).Status, Is.EqualTo(RequestStatus.Completed));
        Assert.That(rec.Iterations.First().PrefillTokens, Is.EqualTo(80));
    }

    [Test]
    public void Sarathi_PrefillsAtMostChunkSizePerIteration()
    {
        var config = new SchedulerConfig("sarathi", MaxNumBatchedTokens: 4096, ChunkSize: 32);
        var (rec, _, _) = Run(Uniform(3, input: 100, output: 5), Setup(config));

        Assert.That(rec.Iterations.Max(r => r.PrefillTokens), Is.EqualTo(32));
        Assert.That(rec.Iterations.Sum(r => r.PrefillTokens), Is.EqualTo(300));
        // The first prompt takes 32 + 32 + 32 + 4 tokens; the second starts in the fourth iteration with the remaining 28.
        Assert.That(rec.Iterations.Take(4).Select(r => r.PrefillTokens), Is.EqualTo(new[] { 32, 32, 32, 32 }));
    }

    [Test]
    public void Orca_RunsWholePromptsIgnoringTheTokenBudget()
    {
        var config = new SchedulerConfig("orca", MaxNumBatchedTokens: 50);
        var (rec, _, _) = Run(Uniform(1, input: 200, output: 3), Setup(config));

        Assert.That(rec.Requests.Single().Status, Is.EqualTo(RequestStatus.Completed));
        Assert.That(rec.Iterations.First().PrefillTokens, Is.EqualTo(200));
        Assert.That(rec.Iterations.Count, Is.EqualTo(3));
    }

    [Test]
    public void Static_NextBatchStartsOnlyWhenEveryMemberFinished()
    {
        var config = new SchedulerConfig("static", MaxNumSeqs: 3);
        var requests = new List<Request> { new(0, 0, 10, 2), new(1, 0, 10, 5), new(2, 0, 10, 10), new(3, 0, 10, 2) };
        var (rec, _, _) = Run(requests, Setup(config, fixedNs: Ms, nsPerToken: 0));

        var byId = rec.Requests.ToDictionary(r => r.RequestId);
        long batchEnd = new[] { 0L, 1, 2 }.Max(id => byId[id].CompletionNs!.Value);
        Assert.That(byId[3].ScheduledNs, Is.EqualTo(batchEnd));
        Assert.That(rec.Iterations.Take(10).Select(r => r.BatchSize), Is.EqualTo(new[] { 3, 3, 2, 2, 2, 1, 1, 1, 1, 1 }));

        // Orca, by contrast, admits request 3 as soon as request 0 frees its slot.
        var (orca, _, _) = Run(requests, Setup(config with { Policy = "orca" }, fixedNs: Ms, nsPerToken: 0));
        Assert.That(orca.Requests.Single(r => r.RequestId == 3).ScheduledNs, Is.EqualTo(2 * Ms));
    }

    [Test]
    public void MaxNumSeqs_CapsEveryBatch()
    {
        foreach (var policy in SchedulerRegistry.Names)
        {
            var config = new SchedulerConfig(policy, MaxNumSeqs: 5, MaxNumBatchedTokens: 2048);
            var (rec, _, _) = Run(Uniform(20, input: 30, output: 8), Setup(config));
            Assert.That(rec.Iterations.Max(r => r.BatchSize), Is.EqualTo(5), policy);
            Assert.That(rec.Requests.Count(r => r.Status == RequestStatus.Completed), Is.EqualTo(20), policy);
        }
    }

    [TestCase(PreemptionMode.Recompute)]
    [TestCase(PreemptionMode.Swap)]
    public void KvPressure_PreemptsNewestAndEveryRequestStillCompletes(PreemptionMode mode)
    {
        // 40 blocks of 4 tokens; 8 requests of 20 + 60 tokens each need 20 blocks at the end: at most 2 fit whole.
        var config = new SchedulerConfig("vllm", BlockSize: 4, KvCapacityBlocks: 40, Preemption: mode,
            KvBytesPerTokenPerGpu: 1_000_000, HostLinkGBps: 10);
        var (rec, result, _) = Run(Uniform(8, input: 20, output: 60), Setup(config, fixedNs: Ms, nsPerToken: 0));

        Assert.That(result.Replicas[0].Preemptions, Is.GreaterThan(0));
        Assert.That(rec.Requests.Sum(r => r.Preemptions), Is.EqualTo(result.Replicas[0].Preemptions));
        Assert.That(rec.Requests.All(r => r.Status == RequestStatus.Completed && r.GeneratedTokens == 60), Is.True);
        Assert.That(rec.Iterations.Max(r => r.KvBlocksUsed), Is.LessThanOrEqualTo(40));
        Assert.That(result.Replicas[0].PeakKvBlocks, Is.LessThanOrEqualTo(40));
        if (mode == PreemptionMode.Recompute)
        {
            // Recomputed sequences prefill their prompt again plus what they had generated.
            Assert.That(result.Replicas[0].PrefillTokens, Is.GreaterThan(8 * 20));
            Assert.That(rec.Iterations.All(r => r.Cost.OverheadNs == Ms), Is.True);
        }
        else
        {
            // Swap never re-prefills; its transfers (tokens x 1 MB / 10 GB/s) show up as extra overhead.
            Assert.That(result.Replicas[0].PrefillTokens, Is.EqualTo(8 * 20));
            Assert.That(rec.Iterations.Any(r => r.Cost.OverheadNs > Ms), Is.True);
        }
    }

    [Test]
    public void Preemption_EvictsTheNewestRunningSequence()
    {
        // Two requests fill the cache; the later-admitted one is evicted when the older one must grow.
        var config = new SchedulerConfig("vllm", BlockSize: 4, KvCapacityBlocks: 12);
        var requests = new List<Request> { new(0, 0, 15, 30), new(1, 0, 15, 30) };
        var (rec, _, _) = Run(requests, Setup(config, fixedNs: Ms, nsPerToken: 0));

        var byId = rec.Requests.ToDictionary(r => r.RequestId);
        Assert.That(byId[0].Preemptions, Is.EqualTo(0));
        Assert.That(byId[1].Preemptions, Is.GreaterThan(0));
        Assert.That(byId[0].CompletionNs!.Value, Is.LessThan(byId[1].CompletionNs!.Value));
    }

    [Test]
    public void RequestLargerThanTheWholeCache_IsRejectedAtArrival()
    {
        var config = new SchedulerConfig("vllm", BlockSize: 16, KvCapacityBlocks: 10); // 160 tokens
        var requests = new List<Request> { new(0, 0, 100, 60), new(1, 0, 100, 61), new(2, 0, 150, 10) };
        var (rec, result, _) = Run(requests, Setup(config));

        Assert.That(rec.Requests.OrderBy(r => r.RequestId).Select(r => r.Status),
            Is.EqualTo(new[] { RequestStatus.Completed, RequestStatus.Rejected, RequestStatus.Completed }));
        Assert.That(result.Rejected, Is.EqualTo(1));
    }

    [Test]
    public void Registry_KnowsTheFivePolicies_AndValidationNamesUnknownOnes()
    {
        Assert.That(SchedulerRegistry.Names, Is.EqualTo(new[] { "orca", "sarathi", "static", "trtllm", "vllm" }));
        var errors = new SchedulerConfig("fifo").Validate();
        Assert.That(errors.Single(), Does.Contain("unknown scheduler 'fifo'").And.Contain("sarathi"));
        Assert.That(new SchedulerConfig(Preemption: PreemptionMode.Swap).Validate().Single(), Does.Contain("swap"));
    }
}
