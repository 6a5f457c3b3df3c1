using Simulator.Hardware.Calibration;
using Simulator.Hardware.Collectives;
using Simulator.Hardware.Specs;
using Simulator.Hardware.Topology;

namespace Simulator.Hardware.Tests;

public sealed class AnalyticCollectivesTest
{
    private const double BytesPerUsNvLink3 = 300e3;
    private static readonly int[] Eight = Enumerable.Range(0, 8).ToArray();

    private static AnalyticCollectives Textbook(int nodes = 1, int gpusPerNode = 8, string gpu = "A100-SXM-80GB") =>
        new(ClusterTopology.FromPresets(gpu, nodes, gpusPerNode), CalibrationProfiles.Textbook);

    [Test]
    public void RingAllReduce_EightGpus_MatchesClosedForm()
    {
        const long s = 64L << 20;
        double a = LinkPresets.Get("nvlink3").LatencyUs;
        double expected = 2 * 7 * a + 2.0 * 7 / 8 * s / BytesPerUsNvLink3;
        var e = Textbook().Estimate(CollectiveOp.AllReduce, Eight, s, CollectiveAlgorithm.Ring);
        Assert.That(e.TimeUs, Is.EqualTo(expected).Within(1e-9).Percent);
        Assert.That(e.BottleneckTier, Is.EqualTo(LinkTier.IntraNode));
    }

    [TestCase(CollectiveOp.AllGather)]
    [TestCase(CollectiveOp.ReduceScatter)]
    [TestCase(CollectiveOp.AllToAll)]
    public void GatherScatterAllToAll_EightGpus_MatchClosedForm(CollectiveOp op)
    {
        const long s = 16L << 20;
        double a = LinkPresets.Get("nvlink3").LatencyUs;
        double expected = 7 * a + 7.0 / 8 * s / BytesPerUsNvLink3;
        Assert.That(Textbook().TimeUs(op, Eight, s), Is.EqualTo(expected).Within(1e-9).Percent);
    }

    [Test]
    public void SendRecv_IsLatencyPlusBytesOverBandwidth_BusFactorOne()
    {
        const long s = 1L << 20;
        var e = Textbook().Estimate(CollectiveOp.SendRecv, new[] { 0, 1 }, s);
        Assert.That(e.TimeUs, Is.EqualTo(LinkPresets.NvLinkStepLatencyUs + s / BytesPerUsNvLink3).Within(1e-9).Percent);
        Assert.That(e.BusBwGBps, Is.EqualTo(e.AlgBwGBps));
    }

    [Test]
    public void IdealLinks_CostNothing()
    {
        var ideal = LinkPresets.Get("ideal");
        var t = new ClusterTopology(GpuPresets.Get("H100-SXM-80GB"), 2, 4, ideal, ideal);
        var model = new AnalyticCollectives(t, CalibrationProfiles.Textbook);
        Assert.That(model.TimeUs(CollectiveOp.AllReduce, Enumerable.Range(0, 8).ToArray(), 1L << 30), Is.EqualTo(0));
    }

    [Test]
    public void BusBw_FollowsNcclTestsDefinitions()
    {
        var model = new AnalyticCollectives(ClusterTopology.FromPresets("A100-SXM-80GB", 1, 8));
        const long s = 256L << 20;
        var ar = model.Estimate(CollectiveOp.AllReduce, Eight, s);
        Assert.That(ar.AlgBwGBps, Is.EqualTo(s / ar.TimeUs / 1e3).Within(1e-9).Percent);
        Assert.That(ar.BusBwGBps, Is.EqualTo(ar.AlgBwGBps * 2 * 7 / 8).Within(1e-9).Percent);
        var ag = model.Estimate(CollectiveOp.AllGather, Eight, s);
        Assert.That(ag.BusBwGBps, Is.EqualTo(ag.AlgBwGBps * 7 / 8).Within(1e-9).Percent);
        var bc = model.Estimate(CollectiveOp.Broadcast, Eight, s);
        Assert.That(bc.BusBwGBps, Is.EqualTo(bc.AlgBwGBps));
    }

    [Test]
    public void RingAcrossNodes_IsLimitedByTheNic()
    {
        var model = Textbook(nodes: 2);
        var group = Enumerable.Range(0, 16).ToArray();
        const long s = 256L << 20;
        var e = model.Estimate(CollectiveOp.AllReduce, group, s, CollectiveAlgorithm.Ring);
        Assert.That(e.BottleneckTier, Is.EqualTo(LinkTier.Nic));
        double nicBytesPerUs = 25e3;
        Assert.That(e.TransferUs, Is.EqualTo(2.0 * 15 / 16 * s / nicBytesPerUs).Within(1e-9).Percent);
    }

    [Test]
    public void AllToAllAcrossNodes_InterNodePartIsLimitedByNicBandwidth()
    {
        var model = Textbook(nodes: 2);
        var group = Enumerable.Range(0, 16).ToArray();
        const long s = 64L << 20;
        var e = model.Estimate(CollectiveOp.AllToAll, group, s);
        // each GPU sends 8 chunks of S/16 through its own NIC
        Assert.That(e.TransferUs, Is.EqualTo(8.0 / 16 * s / 25e3).Within(1e-9).Percent);
        Assert.That(e.BottleneckTier, Is.EqualTo(LinkTier.Nic));
    }

    [Test]
    public void HierarchicalAllReduce_MovesOnlyAShardAcrossNodes_AndAutoPicksItForLargeMessages()
    {
        var model = Textbook(nodes: 2);
        var group = Enumerable.Range(0, 16).ToArray();
        const long s = 256L << 20;
        var h = model.Estimate(CollectiveOp.AllReduce, group, s, CollectiveAlgorithm.Hierarchical);
        // intra RS + AG over 8 GPUs: 2 x 7/8 S / B_nvlink; inter all-reduce of S/8 over 2 nodes: 2 x 1/2 x S/8 / B_nic
        double expected = 2 * 7.0 / 8 * s / 300e3 + 2 * 0.5 * (s / 8.0) / 25e3;
        Assert.That(h.TransferUs, Is.EqualTo(expected).Within(1e-9).Percent);
        var ring = model.Estimate(CollectiveOp.AllReduce, group, s, CollectiveAlgorithm.Ring);
        Assert.That(h.TimeUs, Is.LessThan(ring.TimeUs));
        Assert.That(model.Estimate(CollectiveOp.AllReduce, group, s).Algorithm, Is.EqualTo(CollectiveAlgorithm.Hierarchical));
    }

    [TestCase(4096L)]
    [TestCase(1L << 20)]
    [TestCase(1L << 28)]
    public void Auto_PicksTheFastestCandidate_LikeNcclsTuner(long bytes)
    {
        var model = new AnalyticCollectives(ClusterTopology.FromPresets("A100-SXM-80GB", 4, 8));
        var group = Enumerable.Range(0, 32).ToArray();
        var auto = model.Estimate(CollectiveOp.AllReduce, group, bytes);
        foreach (var algo in new[] { CollectiveAlgorithm.Ring, CollectiveAlgorithm.Tree, CollectiveAlgorithm.Hierarchical })
            Assert.That(auto.TimeUs, Is.LessThanOrEqualTo(model.TimeUs(CollectiveOp.AllReduce, group, bytes, algo) * (1 + 1e-12)), algo.ToString());
        Assert.That(model.Estimate(CollectiveOp.AllReduce, Eight, bytes).Algorithm, Is.EqualTo(CollectiveAlgorithm.Ring));
    }

    [Test]
    public void UnsupportedAlgorithm_ThrowsListingAllowed()
    {
        var model = Textbook();
        var e = Assert.Throws<ArgumentException>(() => model.Estimate(CollectiveOp.AllGather, Eight, 1024, CollectiveAlgorithm.Tree))!;
        Assert.That(e.Message, Does.Contain("ring"));
        Assert.Throws<ArgumentException>(() => model.Estimate(CollectiveOp.AllReduce, new[] { 0, 0 }, 1024));
    }

    [Test]
    public void SingleRank_TakesNoTime()
    {
        Assert.That(new AnalyticCollectives(ClusterTopology.FromPresets("H100-SXM-80GB", 1, 8)).TimeUs(CollectiveOp.AllReduce, new[] { 3 }, 1 << 20),
            Is.EqualTo(0));
    }

    [Test]
    public void SameProfile_OnNvLink4_ScalesLargeMessageBandwidthWithTheLink()
    {
        var a100 = new AnalyticCollectives(ClusterTopology.FromPresets("A100-SXM-80GB", 1, 8));
        var h100 = new AnalyticCollectives(ClusterTopology.FromPresets("H100-SXM-80GB", 1, 8));
        const long s = 1L << 30;
        foreach (var op in new[] { CollectiveOp.AllGather, CollectiveOp.ReduceScatter, CollectiveOp.AllToAll })
        {
            double ratio = h100.Estimate(op, Eight, s).BusBwGBps / a100.Estimate(op, Eight, s).BusBwGBps;
            Assert.That(ratio, Is.EqualTo(450.0 / 300).Within(3).Percent, op.ToString());
        }
        double ring = h100.Estimate(CollectiveOp.AllReduce, Eight, s, CollectiveAlgorithm.Ring).BusBwGBps / a100.Estimate(CollectiveOp.AllReduce, Eight, s).BusBwGBps;
        Assert.That(ring, Is.EqualTo(450.0 / 300).Within(3).Percent);
    }

    [Test]
    public void Nvls_OnEightH100s_AutoPicksItForLargeAllReduces_AtThePublishedBusBandwidth()
    {
        var h100 = new AnalyticCollectives(ClusterTopology.FromPresets("H100-SXM-80GB", 1, 8));
        var big = h100.Estimate(CollectiveOp.AllReduce, Eight, 8L << 30);
        Assert.That(big.Algorithm, Is.EqualTo(CollectiveAlgorithm.Nvls));
        // NCCL's maintainers: ~480 GB/s bus bandwidth at large sizes on 8x H100 (the efficiency is derived from it).
        Assert.That(big.BusBwGBps, Is.EqualTo(480).Within(5).Percent);
        // NVLS moves (n+1)/n x S per direction against a ring's 2(n-1)/n x S: 1.125 vs 1.75 on 8 GPUs.
        double ring = h100.TimeUs(CollectiveOp.AllReduce, Eight, 1L << 30, CollectiveAlgorithm.Ring);
        Assert.That(h100.TimeUs(CollectiveOp.AllReduce, Eight, 1L << 30), Is.LessThan(ring / 1.25));
    }

    [Test]
    public void Nvls_OnTwoGpus_LosesToTheRing_AndIsNotOfferedWithoutInSwitchReductionOrAcrossNodes()
    {
        var h100 = new AnalyticCollectives(ClusterTopology.FromPresets("H100-SXM-80GB", 2, 8));
        // 2 GPUs: NVLS moves 1.5 x S per direction, the ring 1 x S.
        Assert.That(h100.Estimate(CollectiveOp.AllReduce, new[] { 0, 1 }, 1L << 30).Algorithm, Is.EqualTo(CollectiveAlgorithm.Ring));
        var across = Enumerable.Range(0, 16).ToArray();
        Assert.That(CollectivePlanner.Candidates(h100.Topology, CollectiveOp.AllReduce, across), Does.Not.Contain(CollectiveAlgorithm.Nvls));
        Assert.That(CollectivePlanner.Candidates(h100.Topology, CollectiveOp.AllGather, Eight), Does.Not.Contain(CollectiveAlgorithm.Nvls));
        var a100 = new AnalyticCollectives(ClusterTopology.FromPresets("A100-SXM-80GB", 1, 8));
        var e = Assert.Throws<ArgumentException>(() => a100.Estimate(CollectiveOp.AllReduce, Eight, 1 << 20, CollectiveAlgorithm.Nvls))!;
        Assert.That(e.Message, Does.Contain("ring"));
    }
}
