using Simulator.Hardware.Calibration;
using Simulator.Hardware.Collectives;
using Simulator.Hardware.Network;
using Simulator.Hardware.Topology;
using Simulator.Kernel;

namespace Simulator.Hardware.Tests;

public sealed class FlowNetworkTest
{
    private const double NvLink3BytesPerUs = 300e3;
    private const double NvLinkLatencyUs = Specs.LinkPresets.NvLinkStepLatencyUs;

    private static (Simulation Sim, FlowNetwork Net) Make(int nodes = 1, CalibrationProfile? profile = null, string gpu = "A100-SXM-80GB")
    {
        var sim = new Simulation();
        return (sim, new FlowNetwork(sim, ClusterTopology.FromPresets(gpu, nodes, 8), profile ?? CalibrationProfiles.Textbook));
    }

    private static double CompletionUs(Simulation sim, Event e)
    {
        double at = double.NaN;
        e.AddCallback(_ => at = sim.NowNs / 1e3);
        return double.IsNaN(at) ? Run(sim, () => at) : at;
    }

    private static double Run(Simulation sim, Func<double> read)
    {
        sim.Run();
        return read();
    }

    [Test]
    public void Transfer_Alone_TakesLatencyPlusBytesOverBandwidth()
    {
        var (sim, net) = Make();
        const long s = 30_000_000;
        double t = CompletionUs(sim, net.Transfer(0, 1, s));
        Assert.That(t, Is.EqualTo(NvLinkLatencyUs + s / NvLink3BytesPerUs).Within(0.01));
        Assert.That(net.CompletedTransfers, Is.EqualTo(1));
        Assert.That(net.ActiveFlowCount, Is.EqualTo(0));
    }

    [Test]
    public void TwoTransfers_OnOneLink_ShareItEqually()
    {
        var (sim, net) = Make();
        const long s = 30_000_000;
        var a = net.Transfer(0, 1, s);
        var b = net.Transfer(0, 2, s);   // both leave through n0.gpu0->nvswitch
        double ta = double.NaN, tb = double.NaN;
        a.AddCallback(_ => ta = sim.NowNs / 1e3);
        b.AddCallback(_ => tb = sim.NowNs / 1e3);
        sim.Run();
        double expected = NvLinkLatencyUs + 2 * s / NvLink3BytesPerUs;
        Assert.That(ta, Is.EqualTo(expected).Within(0.01));
        Assert.That(tb, Is.EqualTo(expected).Within(0.01));
    }

    [Test]
    public void Sharing_IsMaxMinFair_NotEqualSplit()
    {
        // A: 0->1, B: 0->2, C: 3->2, D: 4->2. Down link of GPU 2 carries B, C, D -> 100 GB/s each;
        // A shares GPU 0's up link only with B, so max-min gives A the leftover 200 GB/s (equal split would give 150).
        var (sim, net) = Make();
        const long s = 20_000_000;
        var times = new double[4];
        var events = new[] { net.Transfer(0, 1, s), net.Transfer(0, 2, s), net.Transfer(3, 2, s), net.Transfer(4, 2, s) };
        for (int i = 0; i < 4; i++)
        {
            int k = i;
            events[i].AddCallback(_ => times[k] = sim.NowNs / 1e3);
        }
        sim.Run();
        Assert.That(times[0], Is.EqualTo(NvLinkLatencyUs + s / 200e3).Within(0.01));
        for (int i = 1; i < 4; i++) Assert.That(times[i], Is.EqualTo(NvLinkLatencyUs + s / 100e3).Within(0.01));
    }

    [Test]
    public void RatesAreRecomputed_WhenATransferEnds()
    {
        // Two flows share a link; the short one ends first, the long one then runs at full rate.
        var (sim, net) = Make();
        const long small = 3_000_000, large = 30_000_000;
        var a = net.Transfer(0, 1, small);
        var b = net.Transfer(0, 2, large);
        double tb = double.NaN;
        b.AddCallback(_ => tb = sim.NowNs / 1e3);
        sim.Run();
        // first 2*small bytes at half rate each, then the rest of large alone
        double expected = NvLinkLatencyUs + 2 * small / NvLink3BytesPerUs + (large - small) / NvLink3BytesPerUs;
        Assert.That(tb, Is.EqualTo(expected).Within(0.01));
        Assert.That(a.IsProcessed, Is.True);
    }

    private static IEnumerable<TestCaseData> Cases()
    {
        foreach (var op in new[] { CollectiveOp.AllReduce, CollectiveOp.AllGather, CollectiveOp.ReduceScatter, CollectiveOp.AllToAll,
                     CollectiveOp.SendRecv, CollectiveOp.Broadcast })
        {
            foreach (long bytes in new[] { 64L << 10, 32L << 20 })
            {
                yield return new TestCaseData(op, 1, 8, bytes, CollectiveAlgorithm.Auto).SetName($"FlowMatchesAnalytic_{op}_1x8_{bytes}B");
                yield return new TestCaseData(op, 2, 16, bytes, CollectiveAlgorithm.Auto).SetName($"FlowMatchesAnalytic_{op}_2x8_{bytes}B");
            }
        }
        yield return new TestCaseData(CollectiveOp.AllReduce, 2, 16, 32L << 20, CollectiveAlgorithm.Ring).SetName("FlowMatchesAnalytic_RingAcrossNodes");
        yield return new TestCaseData(CollectiveOp.AllReduce, 2, 16, 32L << 20, CollectiveAlgorithm.Tree).SetName("FlowMatchesAnalytic_TreeAcrossNodes");
        yield return new TestCaseData(CollectiveOp.AllReduce, 2, 16, 32L << 20, CollectiveAlgorithm.Hierarchical).SetName("FlowMatchesAnalytic_HierarchicalAcrossNodes");
        yield return new TestCaseData(CollectiveOp.AllGather, 2, 16, 32L << 20, CollectiveAlgorithm.Hierarchical).SetName("FlowMatchesAnalytic_HierarchicalAllGather");
        yield return new TestCaseData(CollectiveOp.AllReduce, 1, 4, 1L << 20, CollectiveAlgorithm.Tree).SetName("FlowMatchesAnalytic_TreeInsideNode");
        foreach (long bytes in new[] { 1L << 20, 256L << 20 })
            yield return new TestCaseData(CollectiveOp.AllReduce, 1, 8, bytes, CollectiveAlgorithm.Nvls, "H100-SXM-80GB").SetName($"FlowMatchesAnalytic_NvlsOnH100_{bytes}B");
    }

    [TestCaseSource(nameof(Cases))]
    public void Collective_WithoutContention_AgreesWithAnalyticWithinFivePercent(CollectiveOp op, int nodes, int ranks, long bytes, CollectiveAlgorithm algo,
        string gpu = "A100-SXM-80GB")
    {
        var (sim, net) = Make(nodes, CalibrationProfiles.Nccl, gpu);
        var group = Enumerable.Range(0, ranks).ToArray();
        var expected = net.Analytic.Estimate(op, group, bytes, algo);
        double t = CompletionUs(sim, net.Collective(op, group, bytes, algo));
        TestContext.Out.WriteLine($"{op} {ranks} ranks {bytes} B {expected.Algorithm}: flow {t:F2} us, analytic {expected.TimeUs:F2} us");
        Assert.That(t, Is.EqualTo(expected.TimeUs).Within(5).Percent);
    }

    [Test]
    public void TwoGroupsSharingANic_AreSlowerInFlowModeThanAnalytic()
    {
        var (sim, net) = Make(2, CalibrationProfiles.Nccl);
        const long s = 64L << 20;
        // GPU 0's NIC carries both groups' cross-node traffic.
        var g1 = new[] { 0, 8 };
        var g2 = new[] { 0, 9 };
        double alone = net.Analytic.TimeUs(CollectiveOp.AllReduce, g1, s);
        var e1 = net.Collective(CollectiveOp.AllReduce, g1, s);
        var e2 = net.Collective(CollectiveOp.AllReduce, g2, s);
        double t1 = double.NaN, t2 = double.NaN;
        e1.AddCallback(_ => t1 = sim.NowNs / 1e3);
        e2.AddCallback(_ => t2 = sim.NowNs / 1e3);
        sim.Run();
        Assert.That(Math.Max(t1, t2), Is.GreaterThan(1.5 * alone), $"alone {alone:F1} us, shared {t1:F1}/{t2:F1} us");
    }

    [Test]
    public void WireScale_ShortensOnlyTheTransferPart_AndKeepsThePayloadBytesCarried()
    {
        int[] group = [0, 1, 2, 3];
        const long bytes = 256L << 20;
        var (sim, net) = Make(1, CalibrationProfiles.Nccl);
        var plan = net.Analytic.Estimate(CollectiveOp.AllGather, group, bytes);
        double halved = CompletionUs(sim, net.Collective(CollectiveOp.AllGather, group, bytes, wireScale: 0.5));
        Assert.That(halved, Is.EqualTo(plan.LatencyUs + 0.5 * plan.TransferUs).Within(0.01).Percent);
        var (sim1, net1) = Make(1, CalibrationProfiles.Nccl);
        Assert.That(CompletionUs(sim1, net1.Collective(CollectiveOp.AllGather, group, bytes)), Is.EqualTo(plan.TimeUs).Within(0.01).Percent);
        Assert.That(net.LinkStatistics().Sum(u => u.BytesCarried), Is.EqualTo(net1.LinkStatistics().Sum(u => u.BytesCarried)).Within(1e-9).Percent);
        Assert.Throws<ArgumentOutOfRangeException>(() => net.Collective(CollectiveOp.AllGather, group, bytes, wireScale: 0));
    }

    [Test]
    public void LinkStatistics_CountBytesAndBusyFraction()
    {
        var (sim, net) = Make();
        const long s = 30_000_000;
        net.Transfer(0, 1, s);
        sim.Run();
        var stats = net.LinkStatistics();
        var up = stats.Single(r => r.Link.Name == "n0.gpu0->nvswitch");
        var down = stats.Single(r => r.Link.Name == "n0.nvswitch->gpu1");
        Assert.That(up.BytesCarried, Is.EqualTo(s).Within(1));
        Assert.That(down.BytesCarried, Is.EqualTo(s).Within(1));
        double elapsed = sim.NowNs / 1e3;
        Assert.That(up.BusyFraction(elapsed), Is.EqualTo(s / NvLink3BytesPerUs / elapsed).Within(1e-3));
        Assert.That(stats.Where(r => r.Link.Name.Contains("gpu5")).All(r => r.BytesCarried == 0), Is.True);

        var writer = new StringWriter();
        net.WriteLinksCsv(writer);
        var lines = writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines[0], Is.EqualTo("link,kind,from,to,bandwidth_gbps,bytes_carried,busy_fraction"));
        Assert.That(lines, Has.Length.EqualTo(net.Topology.Links.Count + 1));
        Assert.That(lines[1], Does.StartWith("n0.gpu0->nvswitch,nvlink,n0.gpu0,n0.nvswitch,300,30000000,0.99"));
    }

    [Test]
    public void ManyConcurrentTransfers_AllComplete_AndBytesAreConserved()
    {
        var (sim, net) = Make(2, CalibrationProfiles.Nccl);
        var rng = new Random(7);
        long total = 0;
        int done = 0;
        for (int i = 0; i < 200; i++)
        {
            int src = rng.Next(16), dst = (src + 1 + rng.Next(15)) % 16;
            long bytes = rng.Next(1, 5_000_000);
            total += bytes;
            long delayNs = rng.Next(0, 200_000);
            sim.Schedule(SimDuration.FromNanoseconds(delayNs), () => net.Transfer(src, dst, bytes).AddCallback(_ => done++));
        }
        sim.Run();
        Assert.That(done, Is.EqualTo(200));
        // every transfer leaves through exactly one first-hop link (switch up link or NIC tx)
        double firstHop = net.LinkStatistics().Where(r => r.Link.Name.EndsWith("->nvswitch") || r.Link.Name.EndsWith(".nic.tx")).Sum(r => r.BytesCarried);
        Assert.That(firstHop, Is.EqualTo((double)total).Within(1e-6).Percent);
    }
}
