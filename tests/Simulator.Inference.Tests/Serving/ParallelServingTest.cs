using NUnit.Framework;
using Simulator.Inference.Metrics;
using Simulator.Inference.Serving;
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
