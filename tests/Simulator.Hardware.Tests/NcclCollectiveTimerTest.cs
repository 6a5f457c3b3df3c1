using Simulator.Hardware.Calibration;
using Simulator.Hardware.Collectives;
using Simulator.Hardware.Specs;
using Simulator.Hardware.Topology;

namespace Simulator.Hardware.Tests;

public sealed class NcclCollectiveTimerTest
{
    [Test]
    public void InsideOneNode_TimesAsNcclModel_AcrossNodes_AsThePlanModel()
    {
        var topo = ClusterTopology.FromPresets("H100-SXM-80GB", 2, 8);
        var timer = new NcclCollectiveTimer(topo);
        int[] node1 = [8, 9, 10, 11, 12, 13, 14, 15];
        int[] both = [0, 1, 2, 3, 8, 9, 10, 11];
        var nccl = new NcclModel(LinkPresets.Get("nvlink4"));
        Assert.That(timer.TimeUs(CollectiveOp.AllReduce, node1, 16 << 20), Is.EqualTo(nccl.TimeUs(CollectiveOp.AllReduce, 8, 16 << 20)));
        Assert.That(timer.TimeUs(CollectiveOp.AllReduce, both, 16 << 20),
            Is.EqualTo(new AnalyticCollectives(topo).TimeUs(CollectiveOp.AllReduce, both, 16 << 20)));
        // Tree is not one of NCCL's single-node algorithms here: the plan model times it.
        Assert.That(timer.TimeUs(CollectiveOp.AllReduce, node1, 1 << 20, CollectiveAlgorithm.Tree),
            Is.EqualTo(new AnalyticCollectives(topo).TimeUs(CollectiveOp.AllReduce, node1, 1 << 20, CollectiveAlgorithm.Tree)));
    }

    [Test]
    public void ADegradedLink_SendsEveryGroupToThePlanModel_WhichPricesIt()
    {
        var topo = ClusterTopology.FromPresets("H100-SXM-80GB", 1, 8);
        var timer = new NcclCollectiveTimer(topo);
        int[] all = [0, 1, 2, 3, 4, 5, 6, 7];
        double healthy = timer.TimeUs(CollectiveOp.AllGather, all, 64 << 20);
        topo.SetPortFactor(topo.Ports[0], 0.25);
        double degraded = timer.TimeUs(CollectiveOp.AllGather, all, 64 << 20);
        Assert.That(degraded, Is.EqualTo(new AnalyticCollectives(topo).TimeUs(CollectiveOp.AllGather, all, 64 << 20)));
        Assert.That(degraded, Is.GreaterThan(healthy));
    }

    [Test]
    public void ARestoredLink_SendsTheNodesGroupsBackToTheNcclModel_AndOtherNodesNeverLeaveIt()
    {
        var topo = ClusterTopology.FromPresets("H100-SXM-80GB", 2, 8);
        var timer = new NcclCollectiveTimer(topo);
        int[] node0 = [0, 1, 2, 3], node1 = [8, 9, 10, 11];
        double healthy = timer.TimeUs(CollectiveOp.AllReduce, node0, 8 << 20);
        double other = timer.TimeUs(CollectiveOp.AllReduce, node1, 8 << 20);
        string port = topo.Ports.First(p => p.StartsWith("n0.gpu1.", StringComparison.Ordinal) && !p.EndsWith(".nic", StringComparison.Ordinal));
        topo.SetPortFactor(port, 0.5);
        Assert.That(timer.TimeUs(CollectiveOp.AllReduce, node0, 8 << 20),
            Is.EqualTo(new AnalyticCollectives(topo).TimeUs(CollectiveOp.AllReduce, node0, 8 << 20)));
        Assert.That(timer.TimeUs(CollectiveOp.AllReduce, node1, 8 << 20), Is.EqualTo(other), "node 1's links are all nominal");
        topo.SetPortFactor(port, 1.0);
        Assert.That(timer.TimeUs(CollectiveOp.AllReduce, node0, 8 << 20), Is.EqualTo(healthy), "restored: NCCL's model again");
    }

    [Test]
    public void TimeUs_OnOneNode_AllocatesNothingPerCall()
    {
        var timer = new NcclCollectiveTimer(ClusterTopology.FromPresets("A100-SXM-80GB", 1, 8));
        int[] group = [0, 1, 2, 3];
        double Loop(int calls)
        {
            double sum = 0;
            for (int i = 0; i < calls; i++) sum += timer.TimeUs(CollectiveOp.AllReduce, group, 1L << (i % 28));
            return sum;
        }
        Loop(100);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.That(Loop(10_000), Is.GreaterThan(0));
        // Less than a byte per call: what remains is one-time (tiered JIT), nothing per call.
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.LessThan(10_000));
    }
}
