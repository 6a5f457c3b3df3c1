using NUnit.Framework;
using Simulator.Inference.Metrics;
using Simulator.Inference.Serving;
using static Simulator.Inference.Tests.Serving.ServingTestKit;

namespace Simulator.Inference.Tests.Serving;

[TestFixture]
public sealed class FrontEndDelaysTest
{
    private static readonly SchedulerConfig Config = new(Policy: "vllm", MaxNumSeqs: 16, MaxNumBatchedTokens: 4096,
        EnableChunkedPrefill: true, BlockSize: 16, KvCapacityBlocks: 10_000);

    [Test]
    public void FrontEnd_AddsInputAndOutputCostsToTtftAndE2e_ButNotToTheGapsBetweenTokens()
    {
        var requests = Uniform(5, input: 200, output: 8, gapNs: 1000 * Ms);   // far apart: no queueing
        var bare = Run(requests, Setup(Config)).Recorder.Requests.OrderBy(r => r.RequestId).ToList();
        var fe = new FrontEndDelays(PerRequestNs: 1 * Ms, PerInputTokenNs: 1_500, PerOutputTokenNs: 30_000);
        var withFe = Run(requests, Setup(Config), new ServingOptions(SampleIntervalNs: 0, FrontEnd: fe)).Recorder.Requests
            .OrderBy(r => r.RequestId).ToList();

        long input = 1 * Ms + 200 * 1_500;
        for (int i = 0; i < requests.Count; i++)
        {
            var a = RequestLatencies.From(bare[i]);
            var b = RequestLatencies.From(withFe[i]);
            Assert.That(b.TtftMs, Is.EqualTo(a.TtftMs + (input + 30_000) / 1e6).Within(1e-6));
            Assert.That(b.E2eMs, Is.EqualTo(a.E2eMs + (input + 30_000) / 1e6).Within(1e-6));
            Assert.That(b.TpotMs, Is.EqualTo(a.TpotMs).Within(1e-9));
            Assert.That(withFe[i].FrontEndNs, Is.EqualTo(input + 30_000));
            Assert.That(bare[i].FrontEndNs, Is.Zero);
        }
    }

    [Test]
    public void RequestStillInTheFrontEndWhenTheRunStops_IsRecordedUnfinished()
    {
        var requests = Uniform(3, input: 100, output: 4, gapNs: 0);
        var fe = new FrontEndDelays(PerRequestNs: 50 * Ms, PerInputTokenNs: 0, PerOutputTokenNs: 0);
        var (rec, result, _) = Run(requests, Setup(Config), new ServingOptions(SampleIntervalNs: 0, EndNs: 10 * Ms, FrontEnd: fe));
        Assert.That(rec.Requests, Has.Count.EqualTo(3));
        Assert.That(rec.Requests.Select(r => r.Status), Has.All.EqualTo(RequestStatus.Unfinished));
        Assert.That(result.Completed, Is.Zero);
    }

    [Test]
    public void BurstWhileInTheFrontEnd_IsSpreadOverTheReplicas_ByLeastOutstanding()
    {
        // Eight requests at the same instant, each 10 ms in the front end: the router must count the ones still there.
        var requests = Uniform(8, input: 100, output: 4, gapNs: 0);
        var fe = new FrontEndDelays(PerRequestNs: 10 * Ms, PerInputTokenNs: 0, PerOutputTokenNs: 0);
        var rec = Run(requests, [Setup(Config), Setup(Config), Setup(Config), Setup(Config)],
            new ServingOptions(Router: "least_outstanding", SampleIntervalNs: 0, FrontEnd: fe)).Recorder;
        var perReplica = rec.Requests.GroupBy(r => r.Replica).ToDictionary(g => g.Key, g => g.Count());
        Assert.That(perReplica.Keys, Is.EquivalentTo(new[] { 0, 1, 2, 3 }));
        Assert.That(perReplica.Values, Has.All.EqualTo(2), "two each, as without a front end");
    }
}
