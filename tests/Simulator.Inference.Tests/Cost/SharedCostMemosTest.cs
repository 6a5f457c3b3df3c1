using NUnit.Framework;
using Simulator.Hardware.Collectives;
using Simulator.Hardware.Specs;
using Simulator.Hardware.Topology;
using Simulator.Inference.Cost;
using Simulator.Inference.Models;
using Simulator.Inference.Parallelism;
using Simulator.Kernel;

namespace Simulator.Inference.Tests.Cost;

/// <summary>
/// Replicas of one layout share their cost models' memos (<see cref="RooflineStageCostModel.ShareMemos"/>): every estimate
/// must be the one a model with memos of its own gives, on a cluster whose nodes differ (two intra-node links) and after
/// a link degrades.
/// </summary>
[TestFixture]
public sealed class SharedCostMemosTest
{
    // 4 nodes x 8 GPUs: nodes 0-1 NVLink4, nodes 2-3 NVLink3. TP4 x PP2 puts one replica on each node (8 GPUs).
    private static readonly ParallelPlan Plan = new(Tp: 4, Pp: 2, Replicas: 4);

    internal static ClusterTopology Topology() => new(TestGpus.H100, 4, 8, LinkPresets.Get("nvlink4"), LinkPresets.Get("ib-ndr400"),
        intraNodeByNode: [LinkPresets.Get("nvlink4"), LinkPresets.Get("nvlink4"), LinkPresets.Get("nvlink3"), LinkPresets.Get("nvlink3")]);

    internal static RooflineStageCostModel[] Models(ClusterTopology topology, ICollectiveTimer timer, string model = "llama-3.1-70b")
    {
        var placement = PlacementTable.Build(Plan, new ClusterShape(topology.Nodes, topology.GpusPerNode));
        return Enumerable.Range(0, Plan.Replicas).Select(r => new RooflineStageCostModel(ModelPresets.Get(model),
            Precision.Default, Plan, placement, TestGpus.H100, CalibrationProfile.H100, timer, r,
            new CostModelOptions { Conditions = topology })).ToArray();
    }

    /// <summary>Two sets of the four replicas' models on one topology and timer: the first shares memos, the second does not.</summary>
    private static (ClusterTopology Topology, RooflineStageCostModel[] Shared, RooflineStageCostModel[] Own) SharedAndOwn()
    {
        var topology = Topology();
        var timer = new CachingCollectiveTimer(new NcclCollectiveTimer(topology), topology);
        var shared = Models(topology, timer);
        RooflineStageCostModel.ShareMemos(shared);
        return (topology, shared, Models(topology, timer));
    }

    /// <summary>Random decode-sized and prefill-sized batches, the same for every model.</summary>
    private static List<SequenceWork[]> Batches(int count, ulong seed)
    {
        var random = new StreamRandom(seed);
        var batches = new List<SequenceWork[]>();
        for (int i = 0; i < count; i++)
        {
            int n = 1 + random.Next(40);
            batches.Add(Enumerable.Range(0, n).Select(_ => random.Next(4) == 0
                ? new SequenceWork(1 + random.Next(3000), random.Next(2000))
                : new SequenceWork(1, 1 + random.Next(4000))).ToArray());
        }
        return batches;
    }

    private static void AssertSame(StageCost expected, StageCost actual, string what)
    {
        Assert.That(actual.ComputeNs, Is.EqualTo(expected.ComputeNs), what);
        Assert.That(actual.TpCommNs, Is.EqualTo(expected.TpCommNs), what);
        Assert.That(actual.PpCommNs, Is.EqualTo(expected.PpCommNs), what);
        Assert.That(actual.OverheadNs, Is.EqualTo(expected.OverheadNs), what);
        Assert.That(actual.Comms.Select(c => (c.Bytes, c.Count, c.AnalyticNsEach)), Is.EqualTo(expected.Comms.Select(c => (c.Bytes, c.Count, c.AnalyticNsEach))), what);
    }

    /// <summary>Every replica prices every batch on every stage, replicas interleaved, so shared memos are hit across replicas.</summary>
    private static void PriceAll(RooflineStageCostModel[] shared, RooflineStageCostModel[] own, IEnumerable<SequenceWork[]> batches)
    {
        foreach (var batch in batches)
            for (int r = 0; r < shared.Length; r++)
                for (int s = 0; s < Plan.Pp; s++)
                    AssertSame(own[r].Estimate(s, batch), shared[r].Estimate(s, batch), $"replica {r}, stage {s}, {batch.Length} sequences");
    }

    [Test]
    public void ReplicasOnAlikeNodes_ShareOneSet_AndPriceAsWithTheirOwn()
    {
        var (_, shared, own) = SharedAndOwn();

        Assert.That(shared[1].SharesMemosWith(shared[0]), Is.True, "replicas 0 and 1 sit on NVLink4 nodes");
        Assert.That(shared[3].SharesMemosWith(shared[2]), Is.True, "replicas 2 and 3 sit on NVLink3 nodes");
        Assert.That(shared[2].SharesMemosWith(shared[0]), Is.False, "an NVLink3 node's collectives are slower");
        Assert.That(own[1].SharesMemosWith(own[0]), Is.False);
        PriceAll(shared, own, Batches(300, 7));
    }

    [Test]
    public void ADegradedLink_SendsEverySharingModelToMemosOfItsOwn_AndPricesStayExact()
    {
        var (topology, shared, own) = SharedAndOwn();
        var batches = Batches(120, 11);
        PriceAll(shared, own, batches);

        // Replica 1's node loses half of one GPU's NVLink: its collectives slow down, replica 0's do not.
        topology.SetPortFactor("n1.gpu0.nvswitch", 0.5);
        PriceAll(shared, own, batches);
        Assert.That(shared[1].SharesMemosWith(shared[0]), Is.False);
        Assert.That(own[1].Estimate(0, batches[0]).TpCommNs, Is.Not.EqualTo(own[0].Estimate(0, batches[0]).TpCommNs),
            "the degraded link must change replica 1's price, or this test proves nothing");
    }

    [Test]
    public void TwoPoolsOfOneLayout_EachShareWithinTheirPool_NeverAcross()
    {
        // Every node NVLink4: all eight replicas have one layout key; the pools differ in the model they price.
        var topology = new ClusterTopology(TestGpus.H100, 4, 8, LinkPresets.Get("nvlink4"), LinkPresets.Get("ib-ndr400"));
        var timer = new CachingCollectiveTimer(new NcclCollectiveTimer(topology), topology);
        var big = Models(topology, timer);
        var small = Models(topology, timer, "llama-3.1-8b");
        RooflineStageCostModel.ShareMemos(big.Zip(small).SelectMany(p => new[] { p.First, p.Second }));

        for (int r = 1; r < Plan.Replicas; r++)
        {
            Assert.That(big[r].SharesMemosWith(big[0]), Is.True, $"70B replica {r}");
            Assert.That(small[r].SharesMemosWith(small[0]), Is.True, $"8B replica {r}: the second pool shares too");
        }
        Assert.That(big.Any(b => small.Any(b.SharesMemosWith)), Is.False, "a 70B set never serves the 8B pool");
        var batches = Batches(120, 13);
        PriceAll(big, Models(topology, timer), batches);
        PriceAll(small, Models(topology, timer, "llama-3.1-8b"), batches);
    }

    [Test]
    public void SharingAgain_OverOtherGroups_LeavesTheEarlierSet()
    {
        var (_, models, _) = SharedAndOwn();
        // Two threads now: {0} and {1} must not share what the first call joined.
        RooflineStageCostModel.ShareMemos([models[0]]);
        RooflineStageCostModel.ShareMemos([models[1]]);
        Assert.That(models[1].SharesMemosWith(models[0]), Is.False);
    }
}
