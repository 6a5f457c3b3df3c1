// FsCheck supplies the arguments of [FsProperty] methods; NUnit's analyzer cannot see that.
#pragma warning disable NUnit1027
using NUnit.Framework;
using FsProperty = FsCheck.NUnit.PropertyAttribute;
using Simulator.Inference.Metrics;
using Simulator.Inference.Serving;
using Simulator.Inference.Workload;
using Simulator.Kernel;
using static Simulator.Inference.Tests.Serving.ServingTestKit;
using Request = Simulator.Inference.Workload.Request;

namespace Simulator.Inference.Tests.Serving;

public sealed class ServingSimulationTest
{
    private static readonly string[] Policies = ["vllm", "sarathi", "orca", "static", "trtllm"];

    /// <summary>A random but valid cluster: policy, stages, microbatches, preemption mode and KV size from the inputs.</summary>
    private static (SchedulerConfig Config, int Stages, int Microbatches, List<Request> Requests) RandomCase(int seed, byte policy, byte layout)
    {
        var config = new SchedulerConfig(
            Policy: Policies[policy % Policies.Length],
            MaxNumSeqs: 2 + layout % 7,
            MaxNumBatchedTokens: 64 + 32 * (layout % 5),
            BlockSize: 4,
            KvCapacityBlocks: 20 + Math.Abs(seed % 60),
            Preemption: (layout / 9) % 2 == 0 ? PreemptionMode.Recompute : PreemptionMode.Swap,
            ChunkSize: 16 + layout % 40,
            KvBytesPerTokenPerGpu: 100_000,
            HostLinkGBps: 25);
        int stages = 1 + layout % 3;
        int microbatches = 1 + (layout / 3) % 3;
        var requests = ServingTestKit.Random(seed, 40, maxInput: 120, maxOutput: 50, meanGapNs: 2 * Ms);
        return (config, stages, microbatches, requests);
    }

    [FsProperty(MaxTest = 60)]
    public void AnyPolicyAndLayout_EveryRequestHasOneRecord_KvWithinCapacity_TimeMovesForward(int seed, byte policy, byte layout)
    {
        var (config, stages, microbatches, requests) = RandomCase(seed, policy, layout);
        var setup = Setup(config, stages, fixedNs: Ms / 2, nsPerToken: 5000, microbatches, ppNs: Ms / 10);
        var (rec, result, _) = Run(requests, [setup, setup], new ServingOptions("least_outstanding", SampleIntervalNs: 0));

        // Conservation: one record per request; completed ones generated exactly their output tokens.
        Assert.That(rec.Requests.Select(r => r.RequestId).Order(), Is.EqualTo(requests.Select(r => r.Id)));
        var blocks = new KvBlockManager(config.KvCapacityBlocks, config.BlockSize);
        foreach (var r in rec.Requests)
        {
            bool fits = blocks.BlocksFor(r.InputTokens + r.OutputTokens) <= config.KvCapacityBlocks;
            Assert.That(r.Status, Is.EqualTo(fits ? RequestStatus.Completed : RequestStatus.Rejected), $"request {r.RequestId}");
            if (r.Status != RequestStatus.Completed) continue;
            Assert.That(r.GeneratedTokens, Is.EqualTo(r.OutputTokens));
            Assert.That(r.FirstTokenNs, Is.GreaterThan(r.ArrivalNs));
            Assert.That(r.CompletionNs, Is.GreaterThanOrEqualTo(r.FirstTokenNs));
        }
        Assert.That(result.Completed + result.Rejected, Is.EqualTo(requests.Count));
        Assert.That(result.Replicas.Sum(s => s.OutputTokens), Is.EqualTo(rec.Requests.Sum(r => (long)r.GeneratedTokens)));

        // KV never over capacity; batches within the policy's limits.
        Assert.That(rec.Iterations.All(r => r.KvBlocksUsed <= config.KvCapacityBlocks), Is.True);
        Assert.That(result.Replicas.All(s => s.PeakKvBlocks <= config.KvCapacityBlocks), Is.True);
        Assert.That(rec.Iterations.All(r => r.BatchSize >= 1 && r.BatchSize <= config.MaxNumSeqs), Is.True);
        if (config.Policy is "vllm" or "sarathi" or "trtllm")
            Assert.That(rec.Iterations.All(r => r.PrefillTokens + r.DecodeTokens <= config.MaxNumBatchedTokens), Is.True);
        if (config.Policy == "sarathi")
            Assert.That(rec.Iterations.All(r => r.PrefillTokens <= config.ChunkSize), Is.True);

        // Time never goes backwards: records come out in end-time order; on a stage, one batch at a time.
        for (int i = 1; i < rec.Iterations.Count; i++)
            Assert.That(rec.Iterations[i].EndNs, Is.GreaterThanOrEqualTo(rec.Iterations[i - 1].EndNs));
        foreach (var stage in rec.Iterations.GroupBy(r => (r.Replica, r.Stage)))
        {
            var list = stage.ToList();
            for (int i = 0; i < list.Count; i++)
            {
                Assert.That(list[i].EndNs, Is.GreaterThanOrEqualTo(list[i].StartNs));
                if (i > 0) Assert.That(list[i].StartNs, Is.GreaterThanOrEqualTo(list[i - 1].EndNs));
            }
        }
    }

    private static List<string> Fingerprint(ListRecorder rec) =>
        rec.Iterations.Select(r => $"{r.Replica},{r.Stage},{r.Iteration},{r.Microbatch},{r.StartNs},{r.EndNs},{r.BatchSize},{r.PrefillTokens},{r.DecodeTokens},{r.Cost.StageBusyNs},{r.KvBlocksUsed}")
            .Concat(rec.Requests.Select(r => r.ToString()))
            .Concat(rec.Samples.Select(s => s.ToString()))
            .ToList();

    [Test]
    public void SameInputs_ProduceIdenticalRecordSequences()
    {
        var (config, _, _, requests) = RandomCase(17, 0, 10);
        var setup = Setup(config, 2, fixedNs: Ms, nsPerToken: 3000, microbatches: 2, ppNs: Ms / 5);
        var options = new ServingOptions("power_of_two", RouterSeed: 99, SampleIntervalNs: 10 * Ms);
        var a = Run(requests, [setup, setup, setup], options).Recorder;
        var b = Run(requests, [setup, setup, setup], options).Recorder;
        Assert.That(Fingerprint(b), Is.EqualTo(Fingerprint(a)));
        Assert.That(a.Iterations, Is.Not.Empty);

        var other = Run(requests, [setup, setup, setup], options with { RouterSeed = 100 }).Recorder;
        Assert.That(Fingerprint(other), Is.Not.EqualTo(Fingerprint(a)), "the routing seed matters");
    }

    [Test]
    public void MoreReplicas_RaiseThroughput()
    {
        var requests = Uniform(200, input: 200, output: 50, gapNs: Ms / 2);
        var setup = Setup(new SchedulerConfig("vllm", MaxNumSeqs: 16), fixedNs: 5 * Ms, nsPerToken: 20_000);
        double Throughput(int replicas)
        {
            var (rec, _, _) = Run(requests, Enumerable.Repeat(setup, replicas).ToList(), new ServingOptions("round_robin", SampleIntervalNs: 0));
            long makespan = rec.Requests.Max(r => r.CompletionNs!.Value) - requests[0].ArrivalNs;
            return rec.Requests.Sum(r => (double)r.GeneratedTokens) / (makespan / 1e9);
        }
        double one = Throughput(1), four = Throughput(4);
        Assert.That(four, Is.GreaterThan(2 * one));
    }

    [Test]
    public void EndTime_LeavesUnfinishedRequestsWithWhatTheyGot()
    {
        var requests = Uniform(50, input: 100, output: 200, gapNs: Ms);
        var setup = Setup(new SchedulerConfig("vllm"), fixedNs: Ms, nsPerToken: 1000);
        var (rec, result, _) = Run(requests, [setup], new ServingOptions(SampleIntervalNs: 0, EndNs: 30 * Ms));

        Assert.That(rec.Requests.Select(r => r.RequestId).Order(), Is.EqualTo(requests.Select(r => r.Id)));
        var unfinished = rec.Requests.Where(r => r.Status == RequestStatus.Unfinished).ToList();
        Assert.That(unfinished.Count, Is.EqualTo(50));
        Assert.That(result.Unfinished, Is.EqualTo(50));
        Assert.That(unfinished.Where(r => r.ArrivalNs < 30 * Ms).All(r => r.Replica == 0), Is.True);
        Assert.That(unfinished.Where(r => r.ArrivalNs >= 30 * Ms).All(r => r.Replica == -1 && r.GeneratedTokens == 0), Is.True);
        Assert.That(unfinished.Single(r => r.RequestId == 0).GeneratedTokens, Is.InRange(10, 199));
        Assert.That(result.EndNs, Is.EqualTo(30 * Ms));
    }

    [Test]
    public void Samples_EveryInterval_CountEveryOutputToken()
    {
        var requests = Uniform(30, input: 50, output: 20, gapNs: 3 * Ms);
        var setup = Setup(new SchedulerConfig("vllm"), fixedNs: Ms, nsPerToken: 1000);
        var (rec, result, _) = Run(requests, [setup, setup], new ServingOptions(SampleIntervalNs: 10 * Ms));

        Assert.That(rec.Samples.Select(s => s.TimeNs).Distinct().All(t => t % (10 * Ms) == 0), Is.True);
        Assert.That(rec.Samples.Count(s => s.TimeNs == 10 * Ms), Is.EqualTo(2));
        Assert.That(rec.Samples.Sum(s => s.OutputTokensSinceLast), Is.EqualTo(30 * 20));
        Assert.That(rec.Samples.Sum(s => s.CompletedSinceLast), Is.EqualTo(30));
        Assert.That(rec.Samples.Sum(s => s.PrefillTokensSinceLast), Is.EqualTo(30 * 50));
        Assert.That(rec.Samples.Max(s => s.Running), Is.GreaterThan(0));
        Assert.That(rec.Samples.Last().TimeNs, Is.GreaterThanOrEqualTo(rec.Requests.Max(r => r.CompletionNs!.Value)));
        Assert.That(result.Completed, Is.EqualTo(30));
    }

    /// <summary>Fails if the next request is pulled before the previous one has arrived.</summary>
    private sealed class StrictlyStreamedWorkload(Simulation sim, IReadOnlyList<Request> requests) : IWorkloadSource
    {
        public IEnumerable<Request> Read()
        {
            for (int i = 0; i < requests.Count; i++)
            {
                if (i > 0 && sim.NowNs < requests[i - 1].ArrivalNs)
                    throw new InvalidOperationException($"request {i} read before request {i - 1} arrived");
                yield return requests[i];
            }
        }

        public string Describe() => "strict";
    }

    [Test]
    public void Workload_IsPulledOneRequestAtATime()
    {
        var sim = new Simulation(1);
        var requests = Uniform(100, input: 20, output: 5, gapNs: Ms);
        var rec = new ListRecorder();
        var serving = new ServingSimulation(sim, new StrictlyStreamedWorkload(sim, requests),
            [Setup(new SchedulerConfig())], new ServingOptions(SampleIntervalNs: 0), rec);
        var result = serving.Run();
        Assert.That(result.Completed, Is.EqualTo(100));
    }

    [Test]
    public void Stats_CountIterationsTokensAndActiveTime()
    {
        var requests = Uniform(10, input: 40, output: 6, gapNs: 2 * Ms);
        var setup = Setup(new SchedulerConfig("vllm"), stages: 2, fixedNs: Ms, nsPerToken: 0, microbatches: 2);
        var (rec, result, _) = Run(requests, [setup], new ServingOptions(SampleIntervalNs: 0));
        var stats = result.Replicas[0];

        Assert.That(stats.Iterations, Is.EqualTo(rec.Iterations.Select(r => r.Iteration).Distinct().Count()));
        Assert.That(stats.PrefillTokens, Is.EqualTo(rec.Iterations.Where(r => r.Stage == 0).Sum(r => (long)r.PrefillTokens)));
        Assert.That(stats.DecodeTokens, Is.EqualTo(rec.Iterations.Where(r => r.Stage == 0).Sum(r => (long)r.DecodeTokens)));
        Assert.That(stats.OutputTokens, Is.EqualTo(60));
        Assert.That(stats.StageTotals.Select(s => s.BusyNs), Is.EqualTo(new[] { 0, 1 }.Select(s => rec.Iterations.Where(r => r.Stage == s).Sum(r => r.EndNs - r.StartNs))));
        Assert.That(stats.PipelineActiveNs, Is.LessThanOrEqualTo(rec.Iterations.Max(r => r.EndNs) - rec.Iterations.Min(r => r.StartNs)));
        Assert.That(stats.PipelineActiveNs, Is.GreaterThanOrEqualTo(stats.StageTotals.Max(s => s.BusyNs)));
        Assert.That(stats.Completed, Is.EqualTo(10));
    }
}
