using Simulator.Hardware.Collectives;

namespace Simulator.Hardware.Tests;

public sealed class CollectiveProbeTest
{
    [Test]
    public void Run_AllReduceOnEightA100s_ReportsTimeAndNcclBandwidths()
    {
        var r = CollectiveProbe.Run("a100-sxm-80gb", "all_reduce", 8, 256L << 20, 1, "auto");
        Assert.That(r.Gpu, Is.EqualTo("A100-SXM-80GB"));
        Assert.That(r.Algorithm, Is.EqualTo("ring"));
        Assert.That(r.BottleneckTier, Is.EqualTo("intra_node"));
        Assert.That(r.AlgBwGBps, Is.EqualTo((256L << 20) / r.TimeUs / 1e3).Within(1e-9).Percent);
        Assert.That(r.BusBwGBps, Is.EqualTo(r.AlgBwGBps * 2 * 7 / 8).Within(1e-9).Percent);
        // nccl-tests measured 2182.5 us at 256 MiB on this hardware
        Assert.That(r.TimeUs, Is.EqualTo(2182.5).Within(10).Percent);
    }

    [Test]
    public void Run_AcrossNodes_ReportsNicBottleneck()
    {
        var r = CollectiveProbe.Run("H100-SXM-80GB", "all_to_all", 16, 64L << 20, 2, "direct");
        Assert.That(r.BottleneckTier, Is.EqualTo("nic"));
        Assert.That(r.Algorithm, Is.EqualTo("direct"));
    }

    [TestCase("V100", "all_reduce", "auto", "A100-SXM-80GB")]
    [TestCase("H100-SXM-80GB", "allsum", "auto", "all_gather")]
    [TestCase("H100-SXM-80GB", "all_reduce", "butterfly", "hierarchical")]
    public void Run_BadNames_ThrowOneLineListingAllowedValues(string gpu, string op, string algo, string mentioned)
    {
        var e = Assert.Throws<ArgumentException>(() => CollectiveProbe.Run(gpu, op, 8, 1024, 1, algo))!;
        Assert.That(e.Message, Does.Contain(mentioned));
        Assert.That(e.Message, Does.Not.Contain("\n"));
    }

    [Test]
    public void Run_InsideOneNode_ReportsTheTunersProtocol_AndHonoursAForcedOne()
    {
        var auto = CollectiveProbe.Run("H100-SXM-80GB", "all_reduce", 8, 64L << 20);
        Assert.That((auto.Algorithm, auto.Protocol), Is.EqualTo(("nvls", "simple")));
        var ll = CollectiveProbe.Run("H100-SXM-80GB", "all_reduce", 8, 64L << 20, 1, "ring", "ll");
        Assert.That((ll.Algorithm, ll.Protocol), Is.EqualTo(("ring", "ll")));
        Assert.That(ll.TimeUs, Is.GreaterThan(auto.TimeUs));
    }

    [Test]
    public void Run_ProtocolAcrossNodes_ThrowsOneLine()
    {
        var e = Assert.Throws<ArgumentException>(() => CollectiveProbe.Run("H100-SXM-80GB", "all_reduce", 16, 1 << 20, 2, "auto", "ll128"))!;
        Assert.That(e.Message, Does.Contain("inside one node").And.Not.Contain("\n"));
        Assert.That(CollectiveProbe.Run("H100-SXM-80GB", "all_reduce", 16, 1 << 20, 2).Protocol, Is.EqualTo("n/a"));
    }

    [Test]
    public void Run_RanksNotDivisibleByNodes_Throws()
    {
        Assert.Throws<ArgumentException>(() => CollectiveProbe.Run("H100-SXM-80GB", "all_reduce", 6, 1024, 4, "auto"));
    }
}
