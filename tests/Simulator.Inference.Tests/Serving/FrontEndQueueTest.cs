// FsCheck supplies the arguments of [FsProperty] methods; NUnit's analyzer cannot see that.
#pragma warning disable NUnit1027
using NUnit.Framework;
using Simulator.Inference.Metrics;
using Simulator.Inference.Serving;
using static Simulator.Inference.Tests.Serving.ServingTestKit;
using FsProperty = FsCheck.NUnit.PropertyAttribute;

namespace Simulator.Inference.Tests.Serving;

[TestFixture]
public sealed class FrontEndQueueTest
{
    private static readonly SchedulerConfig Config = new(Policy: "vllm", MaxNumSeqs: 64, MaxNumBatchedTokens: 8192,
        EnableChunkedPrefill: true, BlockSize: 16, KvCapacityBlocks: 20_000);

    private static readonly FrontEndDelays Fe = new(PerRequestNs: 1 * Ms, PerInputTokenNs: 1_500, PerOutputTokenNs: 30_000);

    /// <summary>An engine far faster than the front end: 0.2 ms per step + 1 us per token.</summary>
    private static ReplicaSetup Fast() => Setup(Config, fixedNs: 200_000, nsPerToken: 1_000);

    private static FrontEndDelays Queue(int servers = 1) => Fe with { Model = FrontEndModel.Queue, ApiServerCount = servers };

    /// <summary>Admits a job and returns (end, wait) once a server took it (the job must start by <paramref name="nowNs"/>'s advance).</summary>
    private static (long DoneNs, long WaitNs) AdmitNow(FrontEndServers s, long nowNs, long workNs)
    {
        (long, long)? got = null;
        s.Admit(nowNs, workNs, (start, done) => got = (done, start - nowNs));
        while (got is null) s.Advance(s.NextStartNs!.Value);   // no streaming in between: the next free server takes it
        return got.Value;
    }

    [Test]
    public void Server_BelowSaturation_EachJobTakesOnlyItsOwnWork()
    {
        var s = new FrontEndServers(1);
        for (int i = 0; i < 100; i++)
        {
            long now = i * 10 * Ms;   // 2 ms of work every 10 ms: utilization 0.2
            var (done, wait) = AdmitNow(s, now, 2 * Ms);
            Assert.That(wait, Is.Zero);
            Assert.That(done - now, Is.EqualTo(2 * Ms));
        }
        Assert.That(s.BusyNs, Is.EqualTo(200 * Ms));
    }

    [Test]
    public void Server_AboveSaturation_WaitGrowsWithoutBound()
    {
        var s = new FrontEndServers(1);
        var waits = new List<long>();
        for (int i = 0; i < 1000; i++)
        {
            long now = i * 1 * Ms;   // 2 ms of work every 1 ms: utilization 2
            s.Advance(now);
            s.Admit(now, 2 * Ms, (start, _) => waits.Add(start - now));
        }
        while (s.NextStartNs is long at) s.Advance(at);
        Assert.That(waits, Has.Count.EqualTo(1000));
        for (int i = 0; i < 1000; i++) Assert.That(waits[i], Is.EqualTo(i * 1 * Ms), "each job waits 1 ms more than the one before");
    }

    [Test]
    public void NServers_TakeNSimultaneousJobsAtOnce_AndTheNextWaits()
    {
        var s = new FrontEndServers(3);
        var started = new List<(long Start, long Done)>();
        for (int i = 0; i < 4; i++) s.Admit(0, 5 * Ms, (a, b) => started.Add((a, b)));
        Assert.That(started, Is.EqualTo(new[] { (0L, 5 * Ms), (0L, 5 * Ms), (0L, 5 * Ms) }));
        Assert.That(s.Waiting, Is.EqualTo(1));
        Assert.That(s.NextStartNs, Is.EqualTo(5 * Ms));
        s.Advance(5 * Ms);
        Assert.That(started[^1], Is.EqualTo((5 * Ms, 10 * Ms)));
    }

    [Test]
    public void NServers_SplitAPassOfTokens_AndDeliverItWhenTheLastShareIsDone()
    {
        Assert.That(new FrontEndServers(1).Emit(0, 10, 30_000), Is.EqualTo(300_000));
        Assert.That(new FrontEndServers(4).Emit(0, 10, 30_000), Is.EqualTo(90_000), "3 + 3 + 2 + 2 tokens");
        Assert.That(new FrontEndServers(4).Emit(0, 1, 30_000), Is.EqualTo(30_000), "one token is one server's work");
        var busy = new FrontEndServers(2);
        busy.Admit(0, 1 * Ms, (_, _) => { });                // server 0 busy until 1 ms
        Assert.That(busy.Emit(0, 3, 30_000), Is.EqualTo(1 * Ms + 30_000), "the idle server takes the extra token");
    }

    [Test]
    public void Streaming_GoesAheadOfWaitingRequests_ButDoesNotInterruptOneInService()
    {
        var s = new FrontEndServers(1);
        var starts = new List<long>();
        s.Admit(0, 2 * Ms, (a, _) => starts.Add(a));          // in service 0-2 ms
        s.Admit(0, 2 * Ms, (a, _) => starts.Add(a));          // waits
        Assert.That(s.Emit(1 * Ms, 10, 100_000), Is.EqualTo(3 * Ms), "after the request in service, before the waiting one");
        Assert.That(s.NextStartNs, Is.EqualTo(3 * Ms));
        s.Advance(3 * Ms);
        Assert.That(starts, Is.EqualTo(new[] { 0L, 3 * Ms }));
    }

    [Test]
    public void LightLoad_QueueGivesTheDelayModelsTimings()
    {
        // One request at a time: every job finds the server idle and every pass emits one token.
        var requests = Uniform(5, input: 200, output: 8, gapNs: 1000 * Ms);
        var delay = Run(requests, Setup(Config), new ServingOptions(SampleIntervalNs: 0, FrontEnd: Fe)).Recorder;
        var (queue, _, serving) = Run(requests, Setup(Config), new ServingOptions(SampleIntervalNs: 0, FrontEnd: Queue()));
        Assert.That(queue.Requests.OrderBy(r => r.RequestId), Is.EqualTo(delay.Requests.OrderBy(r => r.RequestId)));
        Assert.That(queue.TokenGaps, Is.EqualTo(delay.TokenGaps));
        var totals = serving.FrontEndTotals!;
        Assert.That(totals.InputWaitMaxMs, Is.Zero);
        Assert.That(totals.Utilization, Is.GreaterThan(0).And.LessThan(0.01));
    }

    [Test]
    public void HeavyLoad_TtftGrowsThroughTheRun_WhereTheDelayModelStaysFlat()
    {
        // 400 requests at 1,000 req/s; each needs 1.3 ms of input work: the server is saturated (utilization > 1).
        var requests = Uniform(400, input: 200, output: 4, gapNs: 1 * Ms);
        var delay = Ttfts(Run(requests, Fast(), new ServingOptions(SampleIntervalNs: 0, FrontEnd: Fe)).Recorder);
        var (rec, _, serving) = Run(requests, Fast(), new ServingOptions(SampleIntervalNs: 0, FrontEnd: Queue()));
        var queue = Ttfts(rec);
        Assert.That(queue[^1] - queue[0], Is.GreaterThan(100.0), "the last request waits behind ~400 x 0.4 ms of backlog");
        Assert.That(queue.Skip(300).Average(), Is.GreaterThan(queue.Take(100).Average() + 50));
        Assert.That(delay.Skip(300).Average(), Is.LessThan(delay.Take(100).Average() + 5));
        Assert.That(serving.FrontEndTotals!.Utilization, Is.GreaterThan(0.9));
    }

    [Test]
    public void Server_BusyBy_CountsOnlyTheWorkDoneByThen()
    {
        var s = new FrontEndServers(2);
        s.Emit(0, 4, 5 * Ms);   // 10 ms on each server
        s.Emit(1 * Ms, 2, 5 * Ms);   // 5 ms more each, queued behind: both busy until 15 ms
        Assert.That(s.BusyNs, Is.EqualTo(30 * Ms));
        Assert.That(s.BusyNsBy(12 * Ms), Is.EqualTo(24 * Ms));
        Assert.That(s.BusyNsBy(20 * Ms), Is.EqualTo(30 * Ms));
    }

    [Test]
    public void TokenSaturatedFrontEnd_UtilizationIsAtMostOne()
    {
        // 48 streams x 100 us per token on one server against 0.25 ms steps: the streaming backlog outlives the run.
        var requests = Uniform(48, input: 64, output: 40, gapNs: 0);
        var streaming = new FrontEndDelays(PerRequestNs: 0, PerInputTokenNs: 0, PerOutputTokenNs: 100_000) { Model = FrontEndModel.Queue };
        var (_, _, serving) = Run(requests, Fast(), new ServingOptions(SampleIntervalNs: 0, FrontEnd: streaming));
        Assert.That(serving.FrontEndTotals!.Utilization, Is.GreaterThan(0.5).And.LessThanOrEqualTo(1.0), "busy from the first tokens on");
    }

    [Test]
    public void RetriedRequest_KeepsTheFirstTokenDeliveryOfTheReplicaThatEmittedIt()
    {
        // 8 long requests per replica (round robin); GPU 1 fails during decode and replica 1's requests retry on replica 0.
        // Each replica's first pass emits 8 first tokens: 8 x 30 us of streaming on its own server before they arrive.
        var requests = Uniform(16, input: 10, output: 200, gapNs: 0);
        var streaming = new FrontEndDelays(PerRequestNs: 0, PerInputTokenNs: 0, PerOutputTokenNs: 30_000) { Model = FrontEndModel.Queue };
        var slots = Enumerable.Range(0, 2).Select(g => new GpuSlot(0, g, 0)).ToArray();
        var down = new FaultSettings([new FaultEvent(30 * Ms, FaultKind.GpuDown, 1, null, null)], slots);
        var faulted = Run(requests, [Setup(Config), Setup(Config)], new ServingOptions("round_robin", SampleIntervalNs: 0, FrontEnd: streaming, Faults: down)).Recorder;
        var clean = Run(requests, [Setup(Config), Setup(Config)], new ServingOptions("round_robin", SampleIntervalNs: 0, FrontEnd: streaming)).Recorder;

        var retried = faulted.Requests.Where(r => r.Retries > 0).ToList();
        Assert.That(retried, Has.Count.EqualTo(8));
        Assert.That(retried.All(r => r.Replica == 0), Is.True);
        var baseline = clean.Requests.ToDictionary(r => r.RequestId);
        foreach (var r in faulted.Requests)
        {
            var b = baseline[r.RequestId];
            Assert.That(b.FirstTokenNs - r.ArrivalNs, Is.GreaterThan(200_000), "the first pass's 8 tokens queue on the server");
            Assert.That(r.FirstTokenNs, Is.EqualTo(b.FirstTokenNs), $"request {r.RequestId}: its first token streamed before the fault");
        }
    }

    [Test]
    public void QueueOfZeroCosts_StillReportsItsServers_AndChangesNoTiming()
    {
        var requests = Uniform(20, input: 100, output: 8, gapNs: 1 * Ms);
        var free = FrontEndDelays.None with { Model = FrontEndModel.Queue };
        var (rec, _, serving) = Run(requests, Fast(), new ServingOptions(SampleIntervalNs: 0, FrontEnd: free));
        var bare = Run(requests, Fast(), new ServingOptions(SampleIntervalNs: 0)).Recorder;
        Assert.That(serving.FrontEndTotals, Is.EqualTo(new FrontEndSummary("queue", 1, 0, 0, 0, 0)));
        Assert.That(rec.Requests.OrderBy(r => r.RequestId).Select(r => (r.FirstTokenNs, r.CompletionNs, r.FrontEndNs)),
            Is.EqualTo(bare.Requests.OrderBy(r => r.RequestId).Select(r => (r.FirstTokenNs, r.CompletionNs, r.FrontEndNs))));
    }

    [Test]
    public void MoreApiServers_ShortenTheBacklog()
    {
        var requests = Uniform(400, input: 200, output: 4, gapNs: 1 * Ms);
        double Last(int servers) => Ttfts(Run(requests, Fast(), new ServingOptions(SampleIntervalNs: 0, FrontEnd: Queue(servers))).Recorder)[^1];
        double one = Last(1), two = Last(2), four = Last(4);
        Assert.That(two, Is.LessThan(one / 2));
        Assert.That(four, Is.LessThanOrEqualTo(two));
    }

    [TestCase(40)]
    [TestCase(600)]   // hundreds of passes: each replica's ring of recent passes grows past its first 64 while in use
    public void ClientGaps_AddUpToEachRequestsDeliveredDecodeTime(int output)
    {
        // Saturated by tokens: 48 concurrent streams x 30 us per token = 1.44 ms of streaming per 0.25 ms step.
        var requests = Uniform(48, input: 64, output: output, gapNs: 0);
        var setup = Fast();
        // Output work only: a backlog of input jobs ahead of the first tokens would shrink the early gaps instead.
        var streaming = new FrontEndDelays(PerRequestNs: 0, PerInputTokenNs: 0, PerOutputTokenNs: 30_000);
        var (rec, _, _) = Run(requests, setup, new ServingOptions(SampleIntervalNs: 0, FrontEnd: streaming with { Model = FrontEndModel.Queue }));
        var bare = Run(requests, setup, new ServingOptions(SampleIntervalNs: 0, FrontEnd: streaming)).Recorder;
        long clientDecodeNs = rec.Requests.Sum(r => r.CompletionNs!.Value - r.FirstTokenNs!.Value);
        long gapsNs = rec.TokenGaps.Sum(g => g.GapNs * g.Count);
        Assert.That(gapsNs, Is.EqualTo(clientDecodeNs));
        Assert.That(rec.TokenGaps.Sum(g => g.Count), Is.EqualTo(bare.TokenGaps.Sum(g => g.Count)));
        Assert.That(gapsNs, Is.GreaterThan(bare.TokenGaps.Sum(g => g.GapNs * g.Count)), "the backlog stretches the gaps a client sees");
        Assert.That(rec.Requests.Select(r => r.FrontEndNs), Has.All.GreaterThan(0L));
    }

    [Test]
    public void SameInput_SameRecords()
    {
        var requests = Random(7, 200, maxInput: 800, maxOutput: 60, meanGapNs: 1 * Ms);
        var a = Run(requests, [Setup(Config), Setup(Config)], new ServingOptions(Router: "least_outstanding", SampleIntervalNs: 0, FrontEnd: Queue(2))).Recorder;
        var b = Run(requests, [Setup(Config), Setup(Config)], new ServingOptions(Router: "least_outstanding", SampleIntervalNs: 0, FrontEnd: Queue(2))).Recorder;
        Assert.That(b.Requests, Is.EqualTo(a.Requests));
        Assert.That(b.TokenGaps, Is.EqualTo(a.TokenGaps));
    }

    [Test]
    public void QueueModel_RunsOnOneThread_AndSaysWhy()
    {
        var requests = Uniform(4, input: 100, output: 4, gapNs: 1 * Ms);
        var result = Run(requests, [Setup(Config), Setup(Config)], new ServingOptions(SampleIntervalNs: 0, FrontEnd: Queue(), Threads: 2)).Result;
        Assert.That(result.Threads, Is.EqualTo(1));
        Assert.That(result.SerialReason, Does.Contain("frontend.model queue"));
    }

    [FsProperty(MaxTest = 20)]
    public void RandomLoads_EveryRequestPaysAtLeastItsOwnWork_AndClientGapsAddUp(int seed)
    {
        var rng = new System.Random(seed);
        int servers = 1 + rng.Next(4), replicas = 1 + rng.Next(2);
        var requests = Random(seed, 60 + rng.Next(60), maxInput: 600, maxOutput: 40, meanGapNs: (long)(rng.NextDouble() * 2 * Ms));
        var setups = Enumerable.Range(0, replicas).Select(_ => Fast()).ToList();
        var (rec, result, _) = Run(requests, setups, new ServingOptions(Router: "least_outstanding", SampleIntervalNs: 0, FrontEnd: Queue(servers)));
        var delay = Run(requests, setups, new ServingOptions(Router: "least_outstanding", SampleIntervalNs: 0, FrontEnd: Fe)).Recorder;
        Assert.That(result.Completed, Is.EqualTo(requests.Count));
        foreach (var r in rec.Requests)
        {
            long own = Fe.InputNs(r.InputTokens) + Fe.PerOutputTokenNs;
            Assert.That(r.FirstTokenNs - r.ArrivalNs, Is.GreaterThanOrEqualTo(own), $"request {r.RequestId}");
            Assert.That(r.FrontEndNs, Is.GreaterThanOrEqualTo(own));
            Assert.That(r.CompletionNs!.Value, Is.GreaterThanOrEqualTo(r.FirstTokenNs!.Value));
        }
        Assert.That(rec.TokenGaps.Sum(g => g.GapNs * g.Count), Is.EqualTo(rec.Requests.Sum(r => r.CompletionNs!.Value - r.FirstTokenNs!.Value)));
        Assert.That(rec.TokenGaps.Sum(g => (long)g.Count), Is.EqualTo(delay.TokenGaps.Sum(g => (long)g.Count)));
    }

    private static double[] Ttfts(ListRecorder rec) =>
        rec.Requests.OrderBy(r => r.RequestId).Select(r => (r.FirstTokenNs!.Value - r.ArrivalNs) / 1e6).ToArray();
}
