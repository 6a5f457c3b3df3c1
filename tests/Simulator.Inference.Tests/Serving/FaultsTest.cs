// FsCheck supplies the arguments of [FsProperty] methods; NUnit's analyzer cannot see that.
#pragma warning disable NUnit1027
using NUnit.Framework;
using FsProperty = FsCheck.NUnit.PropertyAttribute;
using Simulator.Inference.Metrics;
using Simulator.Inference.Serving;
using static Simulator.Inference.Tests.Serving.ServingTestKit;
using Request = Simulator.Inference.Workload.Request;

namespace Simulator.Inference.Tests.Serving;

public sealed class FaultsTest
{
    /// <summary><paramref name="replicas"/> replicas of <paramref name="gpusPerReplica"/> GPUs each (one stage), GPU g on node g / 4.</summary>
    private static GpuSlot[] Slots(int replicas, int gpusPerReplica = 1) =>
        Enumerable.Range(0, replicas * gpusPerReplica).Select(g => new GpuSlot(g / 4, g / gpusPerReplica, 0)).ToArray();

    private static ServingOptions WithFaults(FaultSettings faults, string router = "round_robin", long sampleNs = 0) =>
        new(router, SampleIntervalNs: sampleNs, Faults: faults);

    private static FaultEvent GpuDown(double atMs, int gpu, double? durationMs = null) =>
        new((long)(atMs * Ms), FaultKind.GpuDown, gpu, null, durationMs is double d ? (long)(d * Ms) : null);

    private static readonly SchedulerConfig Config = new("vllm", MaxNumSeqs: 8);

    [Test]
    public void GpuDown_OnOneOfTwoReplicas_RetriesItsRequestsOnTheOther_AndEveryRequestHasOneRow()
    {
        var requests = Uniform(60, input: 50, output: 40, gapNs: 2 * Ms);
        var faults = new FaultSettings([GpuDown(40, gpu: 1)], Slots(2));
        var (rec, result, serving) = Run(requests, [Setup(Config), Setup(Config)], WithFaults(faults));

        Assert.That(rec.Requests.Select(r => r.RequestId).Order(), Is.EqualTo(requests.Select(r => r.Id)));
        Assert.That(rec.Requests.All(r => r.Status == RequestStatus.Completed), Is.True);
        var retried = rec.Requests.Where(r => r.Retries > 0).ToList();
        Assert.That(retried, Is.Not.Empty);
        Assert.That(retried.All(r => r.Retries == 1 && r.Replica == 0), Is.True);
        Assert.That(rec.Requests.Where(r => r.ArrivalNs >= 40 * Ms).All(r => r.Replica == 0), Is.True, "routers never pick a down replica");
        Assert.That(serving.Replicas[1].State, Is.EqualTo(ReplicaState.Down));
        Assert.That(result.Faults, Has.Count.EqualTo(1));
        Assert.That(result.Faults![0], Is.EqualTo(new FaultRecord(40 * Ms, "gpu_down", "gpu1", null)));
        Assert.That(result.LiveNs![1], Is.EqualTo(40 * Ms));
    }

    [Test]
    public void RetriedRequest_KeepsItsFirstToken_AndRecomputesPromptPlusGeneratedTokens()
    {
        // One long request on replica 1 (round robin sends request 1 there) decodes for a while, then its GPU fails.
        var requests = new List<Request> { new(0, 0, 10, 5), new(1, 0, 100, 200) };
        var faults = new FaultSettings([GpuDown(30, gpu: 1)], Slots(2));
        var (rec, _, _) = Run(requests, [Setup(Config), Setup(Config)], WithFaults(faults));

        var (noFault, _, _) = Run(requests, [Setup(Config), Setup(Config)], new ServingOptions("round_robin", SampleIntervalNs: 0));
        var retried = rec.Requests.Single(r => r.RequestId == 1);
        var baseline = noFault.Requests.Single(r => r.RequestId == 1);
        Assert.That(retried.Status, Is.EqualTo(RequestStatus.Completed));
        Assert.That(retried.Retries, Is.EqualTo(1));
        Assert.That(retried.Replica, Is.EqualTo(0));
        Assert.That(retried.GeneratedTokens, Is.EqualTo(200));
        Assert.That(retried.FirstTokenNs, Is.EqualTo(baseline.FirstTokenNs), "TTFT stays the first token ever streamed");
        Assert.That(retried.CompletionNs, Is.GreaterThan(baseline.CompletionNs!.Value));
        // The retry's first pass is a prefill of the prompt plus the tokens already generated.
        var firstOnZero = rec.Iterations.Where(i => i.Replica == 0 && i.StartNs >= 30 * Ms).First(i => i.PrefillTokens > 0);
        Assert.That(firstOnZero.PrefillTokens, Is.GreaterThan(100));
    }

    [Test]
    public void PermanentDown_OfTheOnlyReplica_FailsTheRest_WithNoLiveReplica()
    {
        var requests = Uniform(40, input: 20, output: 30, gapNs: 3 * Ms);
        var faults = new FaultSettings([new FaultEvent(50 * Ms, FaultKind.NodeDown, 0, null, null)], Slots(1));
        var (rec, result, _) = Run(requests, [Setup(Config)], WithFaults(faults));

        Assert.That(rec.Requests, Has.Count.EqualTo(40));
        Assert.That(result.Failed, Is.GreaterThan(0));
        Assert.That(result.Completed + result.Failed, Is.EqualTo(40));
        Assert.That(rec.Requests.Where(r => r.Status == RequestStatus.Failed).All(r => r.Reason == RequestReasons.NoLiveReplica), Is.True);
        Assert.That(rec.Requests.Where(r => r.ArrivalNs > 50 * Ms).All(r => r.Status == RequestStatus.Failed && r.Replica == -1), Is.True);
    }

    [Test]
    public void RetriesPastMaxRetries_FailWithRetriesExhausted()
    {
        var requests = Uniform(20, input: 20, output: 200, gapNs: Ms);
        var faults = new FaultSettings([GpuDown(30, gpu: 1)], Slots(2), MaxRetries: 0);
        var (rec, _, _) = Run(requests, [Setup(Config), Setup(Config)], WithFaults(faults));

        var failed = rec.Requests.Where(r => r.Status == RequestStatus.Failed).ToList();
        Assert.That(failed, Is.Not.Empty);
        Assert.That(failed.All(r => r.Reason == RequestReasons.RetriesExhausted && r.Replica == 1 && r.Retries == 0), Is.True);
        Assert.That(rec.Requests.Where(r => r.Status != RequestStatus.Failed).All(r => r.Status == RequestStatus.Completed && r.Reason is null), Is.True);
    }

    [Test]
    public void RecoveringReplica_ReloadsWeights_BeforeTakingWork()
    {
        // GPU 1 down from 20 ms to 50 ms, then 30 ms of weight loading: replica 1 takes work again from 80 ms.
        var requests = Uniform(100, input: 10, output: 5, gapNs: Ms);
        var faults = new FaultSettings([GpuDown(20, gpu: 1, durationMs: 30)], Slots(2), WeightLoadNs: 30 * Ms);
        var (rec, result, serving) = Run(requests, [Setup(Config), Setup(Config)], WithFaults(faults, sampleNs: 5 * Ms));

        var onOne = rec.Requests.Where(r => r.Replica == 1 && r.Retries == 0).Select(r => r.ArrivalNs).ToList();
        Assert.That(onOne.Any(t => t >= 20 * Ms && t < 80 * Ms), Is.False, "nothing routed to replica 1 while down or loading");
        Assert.That(onOne.Any(t => t >= 80 * Ms), Is.True);
        Assert.That(serving.Replicas[1].IsLive, Is.True);
        Assert.That(result.LiveNs![1], Is.EqualTo(result.EndNs - 60 * Ms));
        var liveOne = rec.Samples.Where(s => s.Replica == 1).ToDictionary(s => s.TimeNs, s => s.Live);
        Assert.That(liveOne[15 * Ms], Is.True);
        Assert.That(liveOne[25 * Ms], Is.False);
        Assert.That(liveOne[75 * Ms], Is.False);
        Assert.That(liveOne[85 * Ms], Is.True);
    }

    [Test]
    public void Straggler_SlowsItsStagesCompute_ByTheSlowestMember_AndNoOtherReplica()
    {
        // Two replicas of 2 GPUs: GPU 1 (replica 0) runs 2x slow and GPU 0 1.5x: replica 0 computes 2x; replica 1 unchanged.
        var requests = Uniform(40, input: 30, output: 20, gapNs: Ms);
        FaultEvent Slow(int gpu, double factor) => new(0, FaultKind.Straggler, gpu, null, null, factor);
        var faults = new FaultSettings([Slow(1, 2.0), Slow(0, 1.5)], Slots(2, gpusPerReplica: 2));
        var (slow, _, _) = Run(requests, [Setup(Config), Setup(Config)], WithFaults(faults));
        var (healthy, _, _) = Run(requests, [Setup(Config), Setup(Config)], new ServingOptions("round_robin", SampleIntervalNs: 0));

        double Compute(ListRecorder r, int replica, int iteration) => r.Iterations.Where(i => i.Replica == replica).ElementAt(iteration).Cost.ComputeNs;
        Assert.That(Compute(slow, 0, 0), Is.EqualTo(2 * Compute(healthy, 0, 0)));
        Assert.That(Compute(slow, 1, 0), Is.EqualTo(Compute(healthy, 1, 0)));
        Assert.That(slow.Iterations.Where(i => i.Replica == 1).Select(i => i.Cost.ComputeNs),
            Is.EqualTo(healthy.Iterations.Where(i => i.Replica == 1).Select(i => i.Cost.ComputeNs)));
    }

    [Test]
    public void LinkDegraded_CallsTheNetworkWithTheWorstActiveFactor_ThenRestoresIt()
    {
        var calls = new List<(long, string, double)>();
        var sim = new Simulator.Kernel.Simulation(1);
        var faults = new FaultSettings(
            [new FaultEvent(10 * Ms, FaultKind.LinkDegraded, 0, "n0.gpu0.nic", 20 * Ms, 0.5),
             new FaultEvent(15 * Ms, FaultKind.LinkDegraded, 0, "n0.gpu0.nic", 5 * Ms, 0.25)],
            Slots(1), SetLinkFactor: (port, f) => calls.Add((sim.NowNs, port, f)));
        var serving = new ServingSimulation(sim, new ListWorkload(Uniform(30, 10, 10, gapNs: 2 * Ms)), [Setup(Config)],
            WithFaults(faults), new ListRecorder());
        serving.Run();
        Assert.That(calls, Is.EqualTo(new[]
        {
            (10 * Ms, "n0.gpu0.nic", 0.5), (15 * Ms, "n0.gpu0.nic", 0.25), (20 * Ms, "n0.gpu0.nic", 0.5), (30 * Ms, "n0.gpu0.nic", 1.0),
        }));
    }

    [Test]
    public void RandomFailures_AreSeeded_SameSeedSameRecords()
    {
        var requests = ServingTestKit.Random(7, 200, maxInput: 60, maxOutput: 40, meanGapNs: 2 * Ms);
        // MTBF of 0.0001 h = 0.36 s per GPU, repaired after 50 ms: several failures within the run.
        FaultSettings Settings(ulong seed) => new([], Slots(3), GpuMtbfHours: 1e-4, RepairNs: 50 * Ms, RandomSeed: seed, MaxRetries: 3);
        var a = Run(requests, [Setup(Config), Setup(Config), Setup(Config)], WithFaults(Settings(5), "least_outstanding"));
        var b = Run(requests, [Setup(Config), Setup(Config), Setup(Config)], WithFaults(Settings(5), "least_outstanding"));
        var c = Run(requests, [Setup(Config), Setup(Config), Setup(Config)], WithFaults(Settings(6), "least_outstanding"));
        Assert.That(a.Result.Faults, Is.Not.Empty);
        Assert.That(b.Result.Faults, Is.EqualTo(a.Result.Faults));
        Assert.That(b.Recorder.Requests, Is.EqualTo(a.Recorder.Requests));
        Assert.That(c.Result.Faults, Is.Not.EqualTo(a.Result.Faults));
    }

    [Test]
    public void Rejected_TooLongForKv_AndUnfinishedAtTheEnd_CarryAReason()
    {
        var config = new SchedulerConfig("vllm", BlockSize: 4, KvCapacityBlocks: 10);
        var requests = new List<Request> { new(0, 0, 100, 10), new(1, 0, 10, 10), new(2, 0, 10, 500) };
        var (rec, _, _) = Run(requests, Setup(config), new ServingOptions(SampleIntervalNs: 0, EndNs: 3 * Ms));
        Assert.That(rec.Requests.Single(r => r.RequestId == 0), Has.Property("Status").EqualTo(RequestStatus.Rejected)
            .And.Property("Reason").EqualTo(RequestReasons.TooLongForKv));
        Assert.That(rec.Requests.Single(r => r.RequestId == 2).Reason, Is.EqualTo(RequestReasons.TooLongForKv));
        Assert.That(rec.Requests.Single(r => r.RequestId == 1), Has.Property("Status").EqualTo(RequestStatus.Unfinished)
            .And.Property("Reason").EqualTo(RequestReasons.RunEnded));
    }

    [FsProperty(MaxTest = 40)]
    public void AnyFaults_EveryRequestEndsWithExactlyOneRowAndOneStatus(int seed, byte layout, byte faultCount)
    {
        var rng = new System.Random(seed);
        int replicas = 1 + layout % 3;
        var requests = ServingTestKit.Random(seed, 50, maxInput: 80, maxOutput: 40, meanGapNs: Ms);
        var faults = new List<FaultEvent>();
        for (int i = 0; i < faultCount % 6; i++)
        {
            long at = rng.Next(0, 120) * Ms;
            long? duration = rng.Next(3) == 0 ? null : rng.Next(1, 60) * Ms;
            faults.Add(rng.Next(3) switch
            {
                0 => new FaultEvent(at, FaultKind.GpuDown, rng.Next(replicas * 2), null, duration),
                1 => new FaultEvent(at, FaultKind.NodeDown, 0, null, duration),
                _ => new FaultEvent(at, FaultKind.Straggler, rng.Next(replicas * 2), null, duration, 1 + rng.NextDouble() * 3),
            });
        }
        var config = new SchedulerConfig("vllm", MaxNumSeqs: 2 + layout % 5, BlockSize: 4, KvCapacityBlocks: 30 + seed % 40 * (seed < 0 ? -1 : 1),
            Preemption: layout % 2 == 0 ? PreemptionMode.Recompute : PreemptionMode.Swap, KvBytesPerTokenPerGpu: 1000, HostLinkGBps: 25);
        var setups = Enumerable.Range(0, replicas).Select(_ => Setup(config, stages: 1 + layout / 3 % 2, microbatches: 1 + layout / 6 % 2)).ToList();
        var settings = new FaultSettings(faults, Slots(replicas, gpusPerReplica: 2), MaxRetries: layout % 3, WeightLoadNs: rng.Next(0, 20) * Ms);
        var (rec, result, _) = Run(requests, setups, WithFaults(settings, "least_outstanding"));

        Assert.That(rec.Requests.Select(r => r.RequestId).Order(), Is.EqualTo(requests.Select(r => r.Id)));
        Assert.That(result.Completed + result.Rejected + result.Failed + result.Unfinished, Is.EqualTo(requests.Count));
        Assert.That(result.Unfinished, Is.Zero);
        foreach (var r in rec.Requests)
        {
            Assert.That(r.Reason is null, Is.EqualTo(r.Status == RequestStatus.Completed), $"request {r.RequestId}: {r.Status} {r.Reason}");
            if (r.Status == RequestStatus.Completed) Assert.That(r.GeneratedTokens, Is.EqualTo(r.OutputTokens));
            Assert.That(r.Retries, Is.InRange(0, settings.MaxRetries));
        }
    }
    private sealed class ScanningLeastOutstanding : IRouter
    {
        public string Name => "least_outstanding_scan";
        public int Route(Request request, IReadOnlyList<IReplicaLoad> replicas) => LeastOutstandingRouter.Scan(replicas);
    }

    [Test]
    public void LeastOutstanding_WithItsLoadIndex_RoutesAsTheScan_ThroughFailuresAndRecoveries()
    {
        // GPUs fail and come back (the live list is rebuilt and re-indexed); loads change at every arrival and finish.
        RouterRegistry.Register("least_outstanding_scan", _ => new ScanningLeastOutstanding());
        var requests = Random(seed: 7, count: 300, maxInput: 200, maxOutput: 60, meanGapNs: Ms / 2);
        var events = new[] { GpuDown(20, gpu: 1, durationMs: 30), GpuDown(45, gpu: 3, durationMs: 40), GpuDown(90, gpu: 0, durationMs: 20) };
        var setups = Enumerable.Range(0, 5).Select(_ => Setup(Config)).ToArray();
        var (indexed, _, _) = Run(requests, setups, WithFaults(new FaultSettings(events, Slots(5), WeightLoadNs: 5 * Ms), "least_outstanding"));
        var (scanned, _, _) = Run(requests, setups, WithFaults(new FaultSettings(events, Slots(5), WeightLoadNs: 5 * Ms), "least_outstanding_scan"));
        Assert.That(indexed.Requests.Select(r => r.Retries).Sum(), Is.GreaterThan(0), "the failures hit requests");
        Assert.That(indexed.Requests, Is.EqualTo(scanned.Requests));
    }
}
