// FsCheck supplies the arguments of [FsProperty] methods; NUnit's analyzer cannot see that.
#pragma warning disable NUnit1027
using NUnit.Framework;
using FsProperty = FsCheck.NUnit.PropertyAttribute;
using Simulator.Inference.Cost;
using Simulator.Inference.Metrics;
using Simulator.Inference.Serving;
using static Simulator.Inference.Tests.Serving.ServingTestKit;
using Request = Simulator.Inference.Workload.Request;

namespace Simulator.Inference.Tests.Serving;

/// <summary>
/// The decode clock (steady decodes of a group counted by a shared token clock instead of being visited every
/// iteration) must change nothing: a replica whose cost model takes decodes as sums (<see cref="IDecodeSumCostModel"/>)
/// uses the clock, one whose model does not steps every sequence; both must give the same records.
/// </summary>
public sealed class DecodeClockTest
{
    /// <summary>The linear test model, also taking decodes as a count and a context sum (then the replica uses the clock).</summary>
    private sealed class SumLinearCostModel(int stages, long fixedNs, long nsPerToken, long ppNs, long nsPerContextToken) : IDecodeSumCostModel
    {
        private readonly LinearCostModel _listed = new(stages, fixedNs, nsPerToken, ppNs, nsPerContextToken);

        public int Stages => stages;

        /// <summary>Decode steps priced as sums so far (the clock's sequences).</summary>
        public long ClockedDecodes { get; private set; }

        public StageCost Estimate(int stage, IReadOnlyList<SequenceWork> batch) => _listed.Estimate(stage, batch);

        public StageCost Estimate(int stage, IReadOnlyList<SequenceWork> batch, int decodes, long decodeContextTokens)
        {
            ClockedDecodes += decodes;
            var listed = _listed.Estimate(stage, batch);
            long extra = nsPerToken * decodes + nsPerContextToken * decodeContextTokens;
            return listed with { ComputeNs = listed.ComputeNs + extra };
        }
    }

    private sealed record Layout(SchedulerConfig Config, int Stages, int Microbatches, int Replicas, bool Faults, bool Prefixes);

    private static Layout LayoutOf(int seed, byte layout)
    {
        var rng = new System.Random(seed ^ (layout * 7919));
        string policy = (layout % 3) switch { 0 => "vllm", 1 => "sarathi", _ => "orca" };
        bool swap = rng.Next(2) == 0;
        bool prefixes = rng.Next(3) == 0;
        var config = new SchedulerConfig(policy,
            MaxNumSeqs: rng.Next(1, 12),
            MaxNumBatchedTokens: rng.Next(130, 400),
            EnableChunkedPrefill: rng.Next(2) == 0,
            BlockSize: rng.Next(2) == 0 ? 4 : 16,
            KvCapacityBlocks: rng.Next(60, 400),
            Preemption: swap ? PreemptionMode.Swap : PreemptionMode.Recompute,
            ChunkSize: rng.Next(16, 128),
            KvBytesPerTokenPerGpu: 1_000,
            HostLinkGBps: 10,
            WatermarkFraction: rng.Next(2) == 0 ? 0 : 0.05,
            EnablePrefixCaching: prefixes);
        int stages = 1 + rng.Next(2), microbatches = 1 + rng.Next(2);
        return new Layout(config, stages, microbatches, Replicas: 1 + rng.Next(2), Faults: rng.Next(2) == 0, prefixes);
    }

    private static (ListRecorder Recorder, long ClockedDecodes) Simulate(IReadOnlyList<Request> requests, Layout layout, bool clock)
    {
        var models = new List<SumLinearCostModel>();
        var setups = new List<ReplicaSetup>();
        for (int r = 0; r < layout.Replicas; r++)
        {
            IStageCostModel model;
            if (clock)
            {
                var sums = new SumLinearCostModel(layout.Stages, Ms, 10_000, ppNs: 200_000, nsPerContextToken: 100);
                models.Add(sums);
                model = sums;
            }
            else
            {
                model = new LinearCostModel(layout.Stages, Ms, 10_000, ppNs: 200_000, nsPerContextToken: 100);
            }
            setups.Add(new ReplicaSetup(model, layout.Config, layout.Microbatches));
        }
        var options = new ServingOptions("round_robin", SampleIntervalNs: 0);
        if (layout.Faults)
        {
            var slots = Enumerable.Range(0, layout.Replicas * layout.Stages).Select(g => new GpuSlot(0, g / layout.Stages, g % layout.Stages)).ToArray();
            var down = new FaultEvent(35 * Ms, FaultKind.GpuDown, 0, null, 20 * Ms);
            options = options with { Faults = new FaultSettings([down], slots) };
        }
        var (recorder, _, _) = Run(requests, setups, options);
        return (recorder, models.Sum(m => m.ClockedDecodes));
    }

    private static List<Request> Workload(int seed, bool prefixes)
    {
        var requests = ServingTestKit.Random(seed, 60, maxInput: 120, maxOutput: 80, meanGapNs: Ms);
        if (!prefixes) return requests;
        // Three families of shared prompt prefixes, 8 tokens per id.
        return requests.Select(r => r with
        {
            PrefixBlockIds = Enumerable.Range(0, (r.InputTokens + 7) / 8).Select(i => (long)(r.Id % 3) * 1000 + i).ToList(),
            PrefixBlockTokens = 8,
        }).ToList();
    }

    private static object IterationKey(IterationRecord i) =>
        (i.Replica, i.Stage, i.Iteration, i.Microbatch, i.StartNs, i.EndNs, i.BatchSize, i.PrefillTokens, i.DecodeTokens, i.KvBlocksUsed,
            i.Cost.ComputeNs, i.Cost.TotalNs);

    private static SortedDictionary<long, long> GapCounts(ListRecorder recorder)
    {
        var counts = new SortedDictionary<long, long>();
        foreach (var (gap, count) in recorder.TokenGaps) counts[gap] = counts.GetValueOrDefault(gap) + count;
        return counts;
    }

    private static void AssertSameRun(ListRecorder clocked, ListRecorder stepped)
    {
        Assert.That(clocked.Requests, Is.EqualTo(stepped.Requests), "requests: same rows in the same order");
        Assert.That(clocked.Iterations.Select(IterationKey), Is.EqualTo(stepped.Iterations.Select(IterationKey)), "iterations");
        Assert.That(GapCounts(clocked), Is.EqualTo(GapCounts(stepped)), "inter-token gaps (the ITL histogram's input)");
    }

    [FsProperty(MaxTest = 60)]
    public void AnyLayout_TheDecodeClockGivesTheSameRequestsIterationsAndTokenGapsAsSteppingEverySequence(int seed, byte layout)
    {
        var l = LayoutOf(seed, layout);
        var requests = Workload(seed, l.Prefixes);
        var (clocked, _) = Simulate(requests, l, clock: true);
        var (stepped, _) = Simulate(requests, l, clock: false);
        AssertSameRun(clocked, stepped);
    }

    [Test]
    public void TheRandomLayouts_MostlyPutDecodesOnTheClock_SoThePropertyComparesClockedRuns()
    {
        // The property above compares runs; this keeps it from being vacuous. Some layouts (one sequence at a time, a
        // budget or cache that detaches every group) never engage the clock, so it is counted over 40 fixed draws.
        int engaged = 0;
        for (int seed = 0; seed < 40; seed++)
        {
            var l = LayoutOf(seed, (byte)seed);
            if (Simulate(Workload(seed, l.Prefixes), l, clock: true).ClockedDecodes > 0) engaged++;
        }
        Assert.That(engaged, Is.GreaterThanOrEqualTo(20));
    }

    [Test]
    public void KvPressure_PreemptionsDetachTheClock_AndTheRunStaysThatOfPerSequenceSteps()
    {
        // 12 long decodes on 60 blocks of 4 tokens: they outgrow the cache and preempt each other repeatedly.
        var config = new SchedulerConfig("vllm", MaxNumSeqs: 16, BlockSize: 4, KvCapacityBlocks: 60);
        var layout = new Layout(config, Stages: 1, Microbatches: 1, Replicas: 1, Faults: false, Prefixes: false);
        var requests = Uniform(12, input: 9, output: 40, gapNs: Ms / 2);
        var (clocked, clockedDecodes) = Simulate(requests, layout, clock: true);
        var (stepped, _) = Simulate(requests, layout, clock: false);

        Assert.That(stepped.Requests.Sum(r => r.Preemptions), Is.GreaterThan(0), "the layout preempts");
        AssertSameRun(clocked, stepped);
        Assert.That(clockedDecodes, Is.GreaterThan(0));
    }

    [Test]
    public void SteadyDecodes_ArePricedAsOneSum_AndTheirTokenGapsComeAsOneRunPerIteration()
    {
        // Eight requests admitted together decode in lockstep: from the pass that emits their first token on, every
        // iteration's decodes are on the clock, one gap run of eight.
        var config = new SchedulerConfig("vllm", MaxNumSeqs: 8);
        var layout = new Layout(config, Stages: 1, Microbatches: 1, Replicas: 1, Faults: false, Prefixes: false);
        var requests = Uniform(8, input: 20, output: 30);
        var (clocked, clockedDecodes) = Simulate(requests, layout, clock: true);
        var (stepped, _) = Simulate(requests, layout, clock: false);

        AssertSameRun(clocked, stepped);
        // 30 tokens each: the prefill pass emits the first (and attaches them), 29 passes on the clock emit the rest.
        Assert.That(clockedDecodes, Is.EqualTo(8 * 29));
        Assert.That(clocked.TokenGaps.Count(g => g.Count == 8), Is.EqualTo(29));
        Assert.That(clocked.Requests.All(r => r.GeneratedTokens == 30 && r.Status == RequestStatus.Completed), Is.True);
    }
}
