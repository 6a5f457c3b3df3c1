using NUnit.Framework;
using Simulator.Inference.Models;
using Simulator.Inference.Parallelism;

namespace Simulator.Inference.Tests.Parallelism;

[TestFixture]
public sealed class ParallelPlanTest
{
    private static readonly ModelSpec Llama70 = ModelPresets.Get("llama-3.1-70b");
    private static readonly ModelSpec Mixtral = ModelPresets.Get("mixtral-8x7b");

    [Test]
    public void Validate_TpNotDividingHeads_Explains() =>
        Assert.That(new ParallelPlan(Tp: 3).Validate(Llama70), Has.One.Contains("does not divide the 64 attention heads"));

    [Test]
    public void Validate_PpBeyondLayers_Explains() =>
        Assert.That(new ParallelPlan(Pp: 81).Validate(Llama70), Has.One.Contains("exceeds the 80 layers"));

    [Test]
    public void Validate_EpOnDenseModel_Explains() =>
        Assert.That(new ParallelPlan(Tp: 2, Ep: 2).Validate(Llama70), Has.One.Contains("dense"));

    [Test]
    public void Validate_EpNotDividingExperts_Explains() =>
        Assert.That(new ParallelPlan(Tp: 3, Ep: 3).Validate(ModelPresets.Get("qwen3-30b-a3b")), Has.Some.Contains("does not divide the 128 experts"));

    [Test]
    public void Validate_MoreGpusThanCluster_Explains() =>
        Assert.That(new ParallelPlan(Tp: 8, Replicas: 3).Validate(Llama70, clusterGpus: 16), Has.One.Contains("needs 24 GPUs"));

    [Test]
    public void Validate_KvHeadsFewerThanTp_IsAllowedAndReplicated()
    {
        var plan = new ParallelPlan(Tp: 16);
        Assert.That(plan.Validate(Llama70), Is.Empty);
        Assert.That(plan.KvHeadsPerGpu(Llama70), Is.EqualTo(1));
        Assert.That(new ParallelPlan(Tp: 8, Ep: 8).Validate(Mixtral), Is.Empty);
    }

    [Test]
    public void StageLayerCounts_RemainderGoesToEarlyStages()
    {
        Assert.That(new ParallelPlan(Pp: 3).StageLayerCounts(80), Is.EqualTo(new[] { 27, 27, 26 }));
        Assert.That(new ParallelPlan(Pp: 3).StageFirstLayer(80, 2), Is.EqualTo(54));
        var plan = new ParallelPlan(Pp: 2, LayersPerStage: [30, 50]);
        Assert.That(plan.StageLayerCounts(80), Is.EqualTo(new[] { 30, 50 }));
        Assert.That(new ParallelPlan(Pp: 2, LayersPerStage: [30, 40]).Validate(Llama70), Has.One.Contains("sum to 70"));
    }

    [Test]
    public void Placement_TpGroupsStayInsideNodes()
    {
        // TP 4 x PP 2 x 2 replicas on 2 nodes of 8: each TP group is 4 consecutive GPUs of one node.
        var t = PlacementTable.Build(new ParallelPlan(Tp: 4, Pp: 2, Replicas: 2), new ClusterShape(2, 8));
        Assert.That(t.TpGroup(0, 0), Is.EqualTo(new[] { 0, 1, 2, 3 }));
        Assert.That(t.TpGroup(0, 1), Is.EqualTo(new[] { 4, 5, 6, 7 }));
        Assert.That(t.TpGroup(1, 0), Is.EqualTo(new[] { 8, 9, 10, 11 }));
        Assert.That(t.Rows.Select(r => r.Gpu), Is.EqualTo(Enumerable.Range(0, 16)));
        Assert.That(t.Rows[13], Is.EqualTo(new GpuPlacement(13, 1, 1, 1, 0, 1)));
        for (var r = 0; r < 2; r++) for (var s = 0; s < 2; s++) Assert.That(t.TpGroupIsIntraNode(r, s));
    }

    [Test]
    public void Placement_TpThreeOnEightGpuNodes_NeverStraddlesANode()
    {
        var t = PlacementTable.Build(new ParallelPlan(Tp: 3, Replicas: 4), new ClusterShape(2, 8));
        Assert.That(t.TpGroup(2, 0), Is.EqualTo(new[] { 8, 9, 10 }));
        for (var r = 0; r < 4; r++) Assert.That(t.TpGroupIsIntraNode(r, 0));
        Assert.That(() => PlacementTable.Build(new ParallelPlan(Tp: 3, Replicas: 5), new ClusterShape(2, 8)),
            Throws.TypeOf<PlanException>().With.Message.Contains("without splitting"));
    }

    [Test]
    public void Placement_TpLargerThanNode_SpansConsecutiveNodes()
    {
        var t = PlacementTable.Build(new ParallelPlan(Tp: 16), new ClusterShape(2, 8));
        Assert.That(t.TpGroup(0, 0), Is.EqualTo(Enumerable.Range(0, 16)));
        Assert.That(t.TpGroupIsIntraNode(0, 0), Is.False);
    }
}
