using Simulator.Hardware.Calibration;
using Simulator.Hardware.Collectives;
using Simulator.Hardware.Network;
using Simulator.Hardware.Topology;
using Simulator.Kernel;

namespace Simulator.Hardware.Tests;

public sealed class LinkDegradationTest
{
    private static ClusterTopology TwoNodes() => ClusterTopology.FromPresets("H100-SXM-80GB", 2, 8, "nvlink4", "ib-ndr400");

    [Test]
    public void Ports_NameEachPhysicalLinkOnce_BothDirectionsShareIt()
    {
        var topo = TwoNodes();
        Assert.That(topo.Ports, Has.Count.EqualTo(16 + 16 + 2));
        Assert.That(topo.Ports, Does.Contain("n0.gpu3.nic").And.Contain("n1.gpu7.nvswitch").And.Contain("n1.spine"));
        var nic = topo.Links.Where(l => l.Port == "n0.gpu3.nic").Select(l => l.Name);
        Assert.That(nic, Is.EquivalentTo(new[] { "n0.gpu3.nic.tx", "n0.gpu3.nic.rx" }));
    }

    [Test]
    public void ResolvePort_AcceptsPortDirectedAndNodeNicNames_NullOtherwise()
    {
        var topo = TwoNodes();
        Assert.That(topo.ResolvePort("n0.gpu3.nic"), Is.EqualTo("n0.gpu3.nic"));
        Assert.That(topo.ResolvePort("n0.gpu3.nic.rx"), Is.EqualTo("n0.gpu3.nic"));
        Assert.That(topo.ResolvePort("node0.nic3"), Is.EqualTo("n0.gpu3.nic"));
        Assert.That(topo.ResolvePort("n0.nvswitch->gpu2"), Is.EqualTo("n0.gpu2.nvswitch"));
        Assert.That(topo.ResolvePort("node5.nic3"), Is.Null);
        Assert.That(topo.ResolvePort("eth0"), Is.Null);
    }

    [Test]
    public void SetPortFactor_ScalesBothDirections_AndBumpsTheConditionsVersion()
    {
        var topo = TwoNodes();
        long before = topo.ConditionsVersion;
        topo.SetPortFactor("n1.gpu0.nic", 0.25);
        Assert.That(topo.ConditionsVersion, Is.GreaterThan(before));
        foreach (var l in topo.Links.Where(l => l.Port == "n1.gpu0.nic"))
            Assert.That(l.BytesPerUs, Is.EqualTo(l.BandwidthGBps * 1e3 * 0.25).Within(1e-9));
        Assert.That(topo.Links.Where(l => l.Port != "n1.gpu0.nic").All(l => l.BandwidthFactor == 1.0), Is.True);
        Assert.Throws<ArgumentOutOfRangeException>(() => topo.SetPortFactor("n1.gpu0.nic", 0));
        Assert.Throws<ArgumentException>(() => topo.SetPortFactor("nope", 0.5));
    }

    [Test]
    public void AnalyticAndCachingTimers_RecomputeWhenALinkDegrades_AndRecoverWhenRestored()
    {
        var topo = TwoNodes();
        var analytic = new AnalyticCollectives(topo);
        var cached = new CachingCollectiveTimer(analytic, topo);
        int[] pair = [0, 8];
        const long bytes = 256L << 20;
        double healthy = cached.TimeUs(CollectiveOp.SendRecv, pair, bytes);
        topo.SetPortFactor("n0.gpu0.nic", 0.25);
        double degraded = cached.TimeUs(CollectiveOp.SendRecv, pair, bytes);
        Assert.That(degraded, Is.EqualTo(analytic.Estimate(CollectiveOp.SendRecv, pair, bytes).TimeUs).Within(1e-6));
        Assert.That(degraded, Is.GreaterThan(3.5 * healthy), "the bandwidth part takes 4x on a quarter of the NIC");
        topo.SetPortFactor("n0.gpu0.nic", 1.0);
        Assert.That(cached.TimeUs(CollectiveOp.SendRecv, pair, bytes), Is.EqualTo(healthy).Within(1e-9));
    }

    [Test]
    public void FlowNetwork_DegradingALinkMidTransfer_ReRatesTheFlow()
    {
        var topo = ClusterTopology.FromPresets("A100-SXM-80GB", 1, 8);
        var sim = new Simulation();
        var net = new FlowNetwork(sim, topo, CalibrationProfiles.Textbook);
        const long bytes = 30_000_000; // 100 us at 300 GB/s
        double doneUs = double.NaN;
        net.Transfer(0, 1, bytes).AddCallback(_ => doneUs = sim.NowNs / 1e3);
        double latencyUs = topo.RouteLatencyUs(0, 1);
        // Halfway through the bytes, GPU 1's NVSwitch port drops to half: the second half takes twice as long.
        sim.Schedule(SimDuration.FromMicroseconds(latencyUs + 50), () => net.SetPortFactor("n0.gpu1.nvswitch", 0.5));
        sim.Run();
        Assert.That(doneUs, Is.EqualTo(latencyUs + 50 + 100).Within(0.01));
    }
}
