using Simulator.Hardware.Specs;
using Simulator.Hardware.Topology;

namespace Simulator.Hardware.Tests;

public sealed class ClusterTopologyTest
{
    private static ClusterTopology TwoDgxA100() => ClusterTopology.FromPresets("A100-SXM-80GB", 2, 8);

    [Test]
    public void GlobalIds_MapToNodeTimesGpusPerNodePlusLocal()
    {
        var t = TwoDgxA100();
        Assert.That(t.GpuCount, Is.EqualTo(16));
        Assert.That(t.NodeOf(7), Is.EqualTo(0));
        Assert.That(t.NodeOf(8), Is.EqualTo(1));
        Assert.That(t.LocalIndexOf(11), Is.EqualTo(3));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.NodeOf(16));
    }

    [Test]
    public void Route_SameNodeNvSwitch_IsUpThenDown()
    {
        var route = TwoDgxA100().Route(3, 5);
        Assert.That(route.Select(l => l.Name), Is.EqualTo(new[] { "n0.gpu3->nvswitch", "n0.nvswitch->gpu5" }));
        Assert.That(route.All(l => l.BandwidthGBps == 300), Is.True);
    }

    [Test]
    public void Route_AcrossNodes_IsNicUplinkDownlinkNic()
    {
        var route = TwoDgxA100().Route(3, 13);
        Assert.That(route.Select(l => l.Name), Is.EqualTo(new[] { "n0.gpu3.nic.tx", "n0->spine", "spine->n1", "n1.gpu5.nic.rx" }));
        Assert.That(route[0].BandwidthGBps, Is.EqualTo(25));
        Assert.That(route[1].BandwidthGBps, Is.EqualTo(8 * 25), "non-blocking uplink = 8 NICs");
    }

    [Test]
    public void Route_SameGpu_IsEmpty_AndPairwiseIsOneDirectLink()
    {
        var t = new ClusterTopology(GpuPresets.Get("A100-SXM-80GB"), 1, 4, LinkPresets.Get("nvlink3"), LinkPresets.Get("ib-hdr200"),
            IntraNodeFabric.PairwiseNvLink);
        Assert.That(t.Route(2, 2), Is.Empty);
        var route = t.Route(0, 3);
        Assert.That(route, Has.Count.EqualTo(1));
        Assert.That(route[0].Name, Is.EqualTo("n0.gpu0->gpu3"));
        Assert.That(route[0].BandwidthGBps, Is.EqualTo(100).Within(1e-9), "300 GB/s split over 3 peers");
        Assert.That(t.Links, Has.Count.EqualTo(12));
    }

    [Test]
    public void Oversubscription_ShrinksNodeUplinks()
    {
        var t = ClusterTopology.FromPresets("H100-SXM-80GB", 2, 8, fabricOversubscription: 2.0);
        var uplink = t.Links.Single(l => l.Name == "n0->spine");
        Assert.That(uplink.BandwidthGBps, Is.EqualTo(8 * 50 / 2.0));
        Assert.That(uplink.Tier, Is.EqualTo(LinkTier.Spine));
    }

    [Test]
    public void LinkIds_AreDenseAndNamesUnique()
    {
        var t = TwoDgxA100();
        Assert.That(t.Links.Select(l => l.Id), Is.EqualTo(Enumerable.Range(0, t.Links.Count)));
        Assert.That(t.Links.Select(l => l.Name).Distinct().Count(), Is.EqualTo(t.Links.Count));
        // 16 GPUs x (up, down, nic tx, nic rx) + 2 nodes x (up, down)
        Assert.That(t.Links, Has.Count.EqualTo(16 * 4 + 4));
    }

    [Test]
    public void Constructor_RejectsBadShapes()
    {
        var gpu = GpuPresets.Get("A100-SXM-80GB");
        var l = LinkPresets.Get("nvlink3");
        Assert.Throws<ArgumentOutOfRangeException>(() => new ClusterTopology(gpu, 0, 8, l, l));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ClusterTopology(gpu, 1, 8, l, l, fabricOversubscription: 0.5));
    }
}
