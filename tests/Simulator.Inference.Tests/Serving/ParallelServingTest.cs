using NUnit.Framework;
using Simulator.Inference.Metrics;
using Simulator.Inference.Serving;
using Request = Simulator.Inference.Workload.Request;
using static Simulator.Inference.Tests.Serving.ServingTestKit;

namespace Simulator.Inference.Tests.Serving;

/// <summary>
/// The serving loop with its replicas in groups on their own simulations (<see cref="ServingOptions.Threads"/>): the same
/// record streams for every thread count, with samples, an end time and a random router.
/// </summary>
[TestFixture]
public sealed class ParallelServingTest
{
    private static List<string> Fingerprint(ListRecorder rec) =>
        rec.Iterations.Select(r => $"{r.Replica},{r.Stage},{r.Iteration},{r.Microbatch},{r.StartNs},{r.EndNs},{r.BatchSize},{r.PrefillTokens},{r.DecodeTokens},{r.KvBlocksUsed}")
            .Concat(rec.Requests.Select(r => r.ToString()))
            .Concat(rec.Samples.Select(s => s.ToString()))
            .Concat(rec.TokenGaps.Select(g => $"{g.GapNs}x{g.Count}"))
            .ToList();

    [TestCase("power_of_two", null, false)]
    [TestCase("least_outstanding", 40L, false)]
    [TestCase("round_robin", 25L, false)]
    [TestCase("least_outstanding", null, true)]
    [TestCase("least_outstanding", 30L, true)]
    public void EveryThreadCount_GivesTheSameRecords(string router, long? endMs, bool frontEnd)
    {
        var requests = ServingTestKit.Random(7, 400, maxInput: 900, maxOutput: 60, meanGapNs: Ms / 8);
        var setup = Setup(new SchedulerConfig("vllm", MaxNumSeqs: 24, MaxNumBatchedTokens: 2048), 2, fixedNs: Ms, nsPerToken: 3000, microbatches: 2, ppNs: Ms / 5);
        var replicas = Enumerable.Repeat(setup, 6).ToList();
        var options = new ServingOptions(router, RouterSeed: 5, SampleIntervalNs: 2 * Ms, EndNs: endMs * Ms, Threads: 1,
            FrontEnd: frontEnd ? new FrontEndDelays(Ms / 3, 700, 20_000) : null);
        var (one, oneResult, _) = Run(requests, replicas, options);
        Assert.That(oneResult.Threads, Is.EqualTo(1));
        Assert.That(one.Iterations, Is.Not.Empty);
        if (endMs is long end)
        {
            Assert.That(oneResult.EndNs, Is.EqualTo(end * Ms));
            Assert.That(one.Requests.Any(r => r.Status == RequestStatus.Unfinished), Is.True, "the end time cut the run");
            if (frontEnd) Assert.That(one.Requests.Any(r => r.Status == RequestStatus.Unfinished && r.ScheduledNs is null && r.Replica >= 0), Is.True, "some still in the front end");
        }
        Assert.That(one.Requests.Select(r => r.RequestId).Order(), Is.EqualTo(requests.Select(r => r.Id)), "one record per request");
        foreach (int threads in new[] { 2, 3, 6 })
        {
            var (many, result, _) = Run(requests, replicas, options with { Threads = threads });
            Assert.That(result.Threads, Is.EqualTo(threads));
            Assert.That(result.Events, Is.EqualTo(oneResult.Events));
            Assert.That(result.EndNs, Is.EqualTo(oneResult.EndNs));
            Assert.That(result.LiveNs, Is.EqualTo(oneResult.LiveNs));
            Assert.That(result.Replicas.Select(r => r.PipelineActiveNs), Is.EqualTo(oneResult.Replicas.Select(r => r.PipelineActiveNs)));
            Assert.That(Fingerprint(many), Is.EqualTo(Fingerprint(one)), $"{threads} threads");
        }
    }

    [Test]
    public void WithoutThreads_TheRunUsesOneSimulation_AndGivesNoReason()
    {
        var requests = Uniform(20, input: 100, output: 10, gapNs: Ms);
        var (_, result, _) = Run(requests, [Setup(new SchedulerConfig("vllm")), Setup(new SchedulerConfig("vllm"))]);
        Assert.That(result.Threads, Is.EqualTo(1));
        Assert.That(result.SerialReason, Is.Null);
    }

    [Test]
    public void Resolve_AutoIsOneThread_NeverMoreThanReplicas()
    {
        Assert.That(ParallelEligibility.Resolve(0, 7), Is.EqualTo(1));
        Assert.That(ParallelEligibility.Resolve(0, 256), Is.EqualTo(1));
        Assert.That(ParallelEligibility.Resolve(5, 3), Is.EqualTo(3));
        Assert.That(ParallelEligibility.Resolve(2, 256), Is.EqualTo(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => ParallelEligibility.Resolve(-1, 4));
    }
}

/// <summary>
/// Lookahead windows (<see cref="ServingOptions.Lookahead"/>): the records are those of a loop that stops every group
/// at every arrival, for every thread count, where passes end at arrival instants, requests arrive in bursts, finish
/// at their prefill, are preempted or rejected, and samples are frequent; and the windows are far fewer than arrivals.
/// </summary>
[TestFixture]
public sealed class LookaheadServingTest
{
    private static List<string> Fingerprint(ListRecorder rec) =>
        rec.Iterations.Select(r => $"{r.Replica},{r.Stage},{r.Iteration},{r.StartNs},{r.EndNs},{r.BatchSize},{r.PrefillTokens},{r.DecodeTokens},{r.KvBlocksUsed}")
            .Concat(rec.Requests.Select(r => r.ToString()))
            .Concat(rec.Samples.Select(s => s.ToString()))
            .Concat(rec.TokenGaps.Select(g => $"{g.GapNs}x{g.Count}"))
            .ToList();

    /// <summary>Bursts of 1-5 requests at one instant, instants a whole number of 0.25 ms apart (pass ends land on them), outputs 1..maxOutput.</summary>
    private static List<Request> Bursts(int seed, int count, int maxInput, int maxOutput)
    {
        var rng = new System.Random(seed);
        var list = new List<Request>(count);
        long t = 0;
        while (list.Count < count)
        {
            int burst = rng.Next(1, 6);
            for (int b = 0; b < burst && list.Count < count; b++)
                list.Add(new Request(list.Count, t, rng.Next(1, maxInput + 1), rng.Next(1, maxOutput + 1)));
            t += rng.Next(0, 5) * Ms / 4;
        }
        return list;
    }

    private static void AssertSameAsBarrierPerArrival(IReadOnlyList<Request> requests, IReadOnlyList<ReplicaSetup> replicas, ServingOptions options)
    {
        var (expected, baseline, _) = Run(requests, replicas, options with { Threads = 1, Lookahead = false });
        Assert.That(baseline.NoLookaheadReason, Is.Null, "one thread: no reason reported");
        Assert.That(expected.Iterations, Is.Not.Empty);
        Assert.That(expected.Requests.Select(r => r.RequestId).Order(), Is.EqualTo(requests.Select(r => r.Id)), "one record per request");
        foreach (int threads in new[] { 1, 2, 3 })
        {
            // Lookahead = true: also on one thread, where the default (null) leaves it off (it would only cost).
            var (actual, result, _) = Run(requests, replicas, options with { Threads = threads, Lookahead = true });
            Assert.That(result.Threads, Is.EqualTo(threads));
            Assert.That(result.NoLookaheadReason, Is.Null, $"{threads} threads: looked ahead");
            Assert.That(result.Windows, Is.LessThan(baseline.Windows), $"{threads} threads: fewer barriers than one per instant");
            Assert.That(result.Events, Is.EqualTo(baseline.Events));
            Assert.That(result.EndNs, Is.EqualTo(baseline.EndNs));
            Assert.That(result.Replicas.Select(r => r.PipelineActiveNs), Is.EqualTo(baseline.Replicas.Select(r => r.PipelineActiveNs)));
            Assert.That(Fingerprint(actual), Is.EqualTo(Fingerprint(expected)), $"{threads} threads");
        }
    }

    [TestCase("least_outstanding")]
    [TestCase("power_of_two")]
    [TestCase("speed_weighted")]
    [TestCase("round_robin")]
    [TestCase("random")]
    public void Bursts_OnPassEndInstants_GiveTheSameRecords(string router)
    {
        // Every pass lasts 0.25 ms + 1 us per token: decode-only passes of one sequence end on the arrival grid.
        var setup = Setup(new SchedulerConfig("vllm", MaxNumSeqs: 16, MaxNumBatchedTokens: 512, ChunkSize: 128), fixedNs: Ms / 4 - 1000, nsPerToken: 1000);
        var options = new ServingOptions(router, RouterSeed: 3, SampleIntervalNs: 5 * Ms);
        // Four replicas under load: counts differ between replicas, so a count the views got wrong changes a pick.
        AssertSameAsBarrierPerArrival(Bursts(11, 600, maxInput: 700, maxOutput: 6), Enumerable.Repeat(setup, 4).ToList(), options);
    }

    [TestCase(PreemptionMode.Recompute)]
    [TestCase(PreemptionMode.Swap)]
    public void PreemptionUnderMemoryPressure_AndRejections_GiveTheSameRecords(PreemptionMode preemption)
    {
        // 40 blocks of 16 tokens: long outputs outgrow the cache (preemption), prompts over 640 tokens are rejected.
        var setup = Setup(new SchedulerConfig("vllm", MaxNumSeqs: 8, MaxNumBatchedTokens: 256, KvCapacityBlocks: 40, Preemption: preemption,
            ChunkSize: 64, KvBytesPerTokenPerGpu: 1000, HostLinkGBps: 10), fixedNs: Ms / 2, nsPerToken: 2000);
        var requests = ServingTestKit.Random(5, 500, maxInput: 700, maxOutput: 120, meanGapNs: Ms / 6);
        var options = new ServingOptions("least_outstanding", SampleIntervalNs: 3 * Ms);
        var (one, _, _) = Run(requests, Enumerable.Repeat(setup, 5).ToList(), options with { Threads = 1 });
        Assert.That(one.Requests.Any(r => r.Status == RequestStatus.Rejected), Is.True, "some rejected");
        Assert.That(one.Requests.Any(r => r.Preemptions > 0), Is.True, "some preempted");
        AssertSameAsBarrierPerArrival(requests, Enumerable.Repeat(setup, 5).ToList(), options);
    }

    [TestCase(null)]
    [TestCase(20L)]
    public void ManyReplicas_WithFrontEnd_AndAnEndTime_GiveTheSameRecords(long? endMs)
    {
        var setup = Setup(new SchedulerConfig("vllm", MaxNumSeqs: 32, MaxNumBatchedTokens: 1024), fixedNs: Ms, nsPerToken: 500);
        var options = new ServingOptions("least_outstanding", SampleIntervalNs: Ms, EndNs: endMs * Ms, FrontEnd: new FrontEndDelays(Ms / 3, 700, 20_000));
        AssertSameAsBarrierPerArrival(Bursts(2, 1500, maxInput: 400, maxOutput: 3), Enumerable.Repeat(setup, 64).ToList(), options);
    }

    [Test]
    public void PipelineStages_DoNotLookAhead_AndSayWhy()
    {
        var setup = Setup(new SchedulerConfig("vllm"), stages: 2, ppNs: Ms / 5);
        var (_, result, _) = Run(Uniform(20, input: 100, output: 4, gapNs: Ms), [setup, setup], new ServingOptions("least_outstanding", Threads: 2));
        Assert.That(result.NoLookaheadReason, Does.StartWith("pipeline stages"));
        Assert.That(result.Windows, Is.GreaterThanOrEqualTo(20), "a barrier per arrival");
    }

    [Test]
    public void KvReadingRouter_DoesNotLookAhead_AndSaysWhy()
    {
        var setup = Setup(new SchedulerConfig("vllm"));
        var (_, result, _) = Run(Uniform(20, input: 100, output: 4, gapNs: Ms), [setup, setup], new ServingOptions("least_kv", Threads: 2));
        Assert.That(result.NoLookaheadReason, Does.Contain("least_kv"));
    }
}
