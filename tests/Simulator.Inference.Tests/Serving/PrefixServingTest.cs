// FsCheck supplies the arguments of [FsProperty] methods; NUnit's analyzer cannot see that.
#pragma warning disable NUnit1027
using NUnit.Framework;
using FsProperty = FsCheck.NUnit.PropertyAttribute;
using Simulator.Inference.Metrics;
using Simulator.Inference.Serving;
using Simulator.Kernel;
using static Simulator.Inference.Tests.Serving.ServingTestKit;
using Request = Simulator.Inference.Workload.Request;

namespace Simulator.Inference.Tests.Serving;

/// <summary>Prefix caching inside the serving simulation: hits skip prefill, preemption, routers, invariants.</summary>
public sealed class PrefixServingTest
{
    /// <summary>Requests whose prompts are drawn from a few shared prefixes (ids of 8 tokens), arriving every <paramref name="gapNs"/>.</summary>
    private static List<Request> SharedPrefixRequests(int seed, int count, long gapNs, int maxIds = 12, int output = 8)
    {
        var rng = new Random(seed);
        var list = new List<Request>();
        for (int i = 0; i < count; i++)
        {
            int family = rng.Next(3);
            int n = rng.Next(2, maxIds + 1);
            var ids = Enumerable.Range(0, n).Select(k => k < n / 2 + 1 ? family * 1000L + k : 1_000_000L * (i + 1) + k).ToArray();
            list.Add(new Request(i, i * gapNs, n * 8 - rng.Next(0, 8), rng.Next(1, output + 1), ids, 8));
        }
        return list;
    }

    private static SchedulerConfig Config(bool caching, int capacity = 400, long cpuBlocks = 0, PreemptionMode preemption = PreemptionMode.Recompute, string policy = "vllm") =>
        new(Policy: policy, MaxNumSeqs: 8, MaxNumBatchedTokens: 64, BlockSize: 4, KvCapacityBlocks: capacity, Preemption: preemption,
            KvBytesPerTokenPerGpu: 100_000, HostLinkGBps: 25, EnablePrefixCaching: caching, CpuOffloadBlocks: cpuBlocks);

    [Test]
    public void SecondRequestWithTheSamePrompt_SkipsItsCachedPrefix_ButComputesTheLastToken()
    {
        var ids = new long[] { 1, 2, 3, 4 };
        var requests = new List<Request> { new(0, 0, 32, 2, ids, 8), new(1, 50 * Ms, 32, 2, ids, 8) };
        var (rec, result, _) = Run(requests, Setup(Config(caching: true)));
        var second = rec.Requests.Single(r => r.RequestId == 1);
        Assert.That(rec.Requests.Single(r => r.RequestId == 0).CachedTokens, Is.Zero);
        Assert.That(second.CachedTokens, Is.EqualTo(28), "7 of 8 blocks: the last token's block is recomputed");
        Assert.That(result.Replicas[0].PrefillTokens, Is.EqualTo(32 + 4));
        Assert.That(result.Replicas[0].PrefixCache, Is.EqualTo(new PrefixCacheStats(true, 64, 28, 0, 0)));
        var (off, _, _) = Run(requests, Setup(Config(caching: false)));
        Assert.That(off.Requests.All(r => r.CachedTokens == 0 && r.CpuCachedTokens == 0), Is.True);
        Assert.That(second.FirstTokenNs!.Value - second.ArrivalNs, Is.LessThan(off.Requests.Single(r => r.RequestId == 1).FirstTokenNs!.Value - 50 * Ms));
    }

    [Test]
    public void CachingOn_WorkloadWithoutIds_GivesExactlyTheNumbersOfCachingOff()
    {
        var requests = ServingTestKit.Random(3, 200, maxInput: 300, maxOutput: 40, meanGapNs: Ms);
        var (on, onResult, _) = Run(requests, [Setup(Config(true, capacity: 120)), Setup(Config(true, capacity: 120))], new ServingOptions("least_kv", SampleIntervalNs: 0));
        var (off, offResult, _) = Run(requests, [Setup(Config(false, capacity: 120)), Setup(Config(false, capacity: 120))], new ServingOptions("least_kv", SampleIntervalNs: 0));
        Assert.That(on.Requests, Is.EqualTo(off.Requests));
        Assert.That(on.Iterations.Select(i => (i.StartNs, i.EndNs, i.KvBlocksUsed)), Is.EqualTo(off.Iterations.Select(i => (i.StartNs, i.EndNs, i.KvBlocksUsed))));
        Assert.That(onResult.Events, Is.EqualTo(offResult.Events));
    }

    [Test]
    public void CpuTierHit_IsChargedAsAHostTransferInTheBatch()
    {
        // GPU room for one prompt only: the first prompt's blocks are evicted to the CPU tier by the second, then reloaded by the third.
        var a = new long[] { 1, 2, 3, 4 };
        var b = new long[] { 9, 8, 7, 6 };
        var requests = new List<Request> { new(0, 0, 32, 1, a, 8), new(1, 20 * Ms, 32, 1, b, 8), new(2, 40 * Ms, 32, 1, a, 8) };
        var (rec, result, _) = Run(requests, Setup(Config(true, capacity: 9, cpuBlocks: 100)));
        var third = rec.Requests.Single(r => r.RequestId == 2);
        Assert.That(third.CpuCachedTokens, Is.EqualTo(28));
        Assert.That(third.CachedTokens, Is.Zero);
        Assert.That(result.Replicas[0].PrefixCache!.EvictedBlocks, Is.GreaterThan(0));
        // 28 tokens x 100,000 B / 25 GB/s = 112 us in the third request's batch.
        var batch = rec.Iterations.Last();
        Assert.That(batch.Cost.OverheadNs, Is.EqualTo(1 * Ms + 112_000));
    }

    /// <summary>Random shared-prefix workloads on small caches, every policy and preemption mode, with and without a CPU tier.</summary>
    [FsProperty(MaxTest = 60)]
    public void RandomPrefixWorkloads_KvWithinCapacity_InvariantsHold_Deterministic(int seed, byte layout)
    {
        string[] policies = ["vllm", "sarathi", "orca", "static"];
        var config = Config(true, capacity: 30 + Math.Abs(seed % 50), cpuBlocks: layout % 2 == 0 ? 0 : 16,
            preemption: (layout / 2) % 2 == 0 ? PreemptionMode.Recompute : PreemptionMode.Swap, policy: policies[(layout / 4) % 4]);
        var requests = SharedPrefixRequests(seed, 50, gapNs: Ms / 2);
        var setup = Setup(config, stages: 1 + layout % 2, fixedNs: Ms / 2, nsPerToken: 5000, microbatches: 1 + (layout / 16) % 2);

        var sim = new Simulation(1);
        var recorder = new CheckingRecorder();
        var serving = new ServingSimulation(sim, new ListWorkload(requests), [setup, setup], new ServingOptions("prefix_aware", SampleIntervalNs: 0), recorder);
        recorder.Serving = serving;
        var result = serving.Run();

        Assert.That(recorder.Violations, Is.Empty);
        Assert.That(recorder.Requests.Select(r => r.RequestId).Order(), Is.EqualTo(requests.Select(r => r.Id)));
        Assert.That(recorder.Requests.Where(r => r.Status == RequestStatus.Completed).All(r => r.GeneratedTokens == r.OutputTokens), Is.True);
        Assert.That(recorder.Requests.All(r => r.CachedTokens + r.CpuCachedTokens < Math.Max(1, r.InputTokens)), Is.True, "the last prompt token is always computed");
        foreach (var replica in serving.Replicas)
        {
            Assert.That(replica.Kv.UsedBlocks, Is.Zero, "every block is released at the end");
            Assert.That(replica.Kv.CheckInvariants(), Is.Null);
        }

        var (again, againResult, _) = Run(requests, [setup, setup], new ServingOptions("prefix_aware", SampleIntervalNs: 0));
        Assert.That(again.Requests, Is.EqualTo(recorder.Requests));
        Assert.That(againResult.Events, Is.EqualTo(result.Events));
    }

    /// <summary>Checks the KV caches of every replica after every batch.</summary>
    private sealed class CheckingRecorder : IRunRecorder
    {
        public ServingSimulation? Serving;
        public List<RequestRecord> Requests { get; } = new();
        public List<string> Violations { get; } = new();

        public void OnIteration(in IterationRecord record)
        {
            foreach (var r in Serving!.Replicas)
            {
                if (r.Kv.CheckInvariants() is { } broken) Violations.Add($"replica {r.Index}: {broken}");
                if (r.Kv.UsedBlocks + r.Kv.CachedFreeBlocks > r.Kv.CapacityBlocks) Violations.Add($"replica {r.Index}: over capacity");
            }
        }

        public void OnRequestFinished(RequestRecord record) => Requests.Add(record);
        public void OnSample(in ReplicaSample sample) { }
        public void OnTokenGaps(long gapNs, int count) { }
    }

    private sealed record Load(int Outstanding, int CachedTokens) : IReplicaLoad
    {
        public double KvUtilization => 0;
        public int CachedPrefixTokens(Request request) => CachedTokens;
    }

    private static readonly Request Prompt = new(0, 0, 1000, 1, [1], 1000);

    [Test]
    public void PrefixAware_PrefersTheLongestCachedPrefix_FallsBackToLeastLoad()
    {
        var router = new PrefixAwareRouter();
        Assert.That(router.Route(Prompt, [new Load(3, 0), new Load(9, 800), new Load(1, 400)]), Is.EqualTo(1));
        Assert.That(router.Route(Prompt, [new Load(3, 0), new Load(9, 500), new Load(1, 500)]), Is.EqualTo(2), "tie: fewer outstanding");
        Assert.That(router.Route(Prompt, [new Load(3, 0), new Load(9, 200), new Load(1, 0)]), Is.EqualTo(2), "below the 30% cache threshold: least load");
        Assert.That(router.Route(Prompt, [new Load(5, 0), new Load(100, 900), new Load(10, 0)]), Is.EqualTo(0), "imbalance > 64 and > 1.5x: least load");
        Assert.That(new PrefixAwareRouter(new PrefixRouterOptions(BalanceAbsThreshold: 1000)).Route(Prompt, [new Load(5, 0), new Load(100, 900)]), Is.EqualTo(1));
    }

    [Test]
    public void SessionAffinity_KeepsASessionOnItsFirstReplica()
    {
        var router = new SessionAffinityRouter();
        var loads = new IReplicaLoad[] { new Load(4, 0), new Load(1, 0), new Load(2, 0) };
        var turn = new Request(0, 0, 10, 1, Session: "7");
        Assert.That(router.Route(turn, loads), Is.EqualTo(1));
        var busier = new IReplicaLoad[] { new Load(0, 0), new Load(50, 0), new Load(2, 0) };
        Assert.That(router.Route(turn with { Id = 1 }, busier), Is.EqualTo(1));
        Assert.That(router.Route(new Request(2, 0, 10, 1, Session: "8"), busier), Is.EqualTo(0));
        Assert.That(router.Route(new Request(3, 0, 10, 1), busier), Is.EqualTo(0), "no session: least outstanding");
        Assert.That(RouterRegistry.Names, Does.Contain("prefix_aware").And.Contain("session_affinity"));
    }
}
