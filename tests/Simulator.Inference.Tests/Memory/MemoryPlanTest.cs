using NUnit.Framework;
using Simulator.Hardware.Specs;
using Simulator.Inference.Memory;
using Simulator.Inference.Models;
using Simulator.Inference.Parallelism;

namespace Simulator.Inference.Tests.Memory;

[TestFixture]
public sealed class MemoryPlanTest
{
    private static readonly GpuSpec H100 = new("H100-SXM-80GB", 80, 3.35, 989, 1979, 1979, 67, "nvlink4", "ib-ndr400", 132, "datasheet");

    [Test]
    public void Llama70B_Tp1_DoesNotFit_AndListsEveryBucket()
    {
        var plan = MemoryPlanner.Plan(ModelPresets.Get("llama-3.1-70b"), Precision.Default, new ParallelPlan(), H100, new MemorySettings());
        Assert.That(plan.Fits, Is.False);
        Assert.That(plan.Describe(), Does.Contain("weights 141.").And.Contain("activations").And.Contain("reserve 8.00 GB").And.Contain("does not fit"));
    }

    [Test]
    public void Llama70B_Tp4_WeightsAreAQuarter_AndKvCapacityFollowsTheBudget()
    {
        var m = ModelPresets.Get("llama-3.1-70b");
        var s = new MemorySettings(MaxNumBatchedTokens: 8192, GpuMemoryUtilization: 0.9, BlockSize: 16);
        var plan = MemoryPlanner.Plan(m, Precision.Default, new ParallelPlan(Tp: 4), H100, s);
        var g = plan.Stages[0];
        Assert.That(g.WeightsBytes, Is.EqualTo(m.TotalParams * 2.0 / 4).Within(0.001 * g.WeightsBytes));
        // 80 layers x 2 KV heads per GPU x 128 x 2 (K,V) x 2 B
        Assert.That(g.KvBytesPerToken, Is.EqualTo(80 * 2 * 128 * 2 * 2));
        Assert.That(g.KvBytes, Is.EqualTo(0.9 * 80e9 - g.WeightsBytes - g.ActivationBytes).Within(1));
        Assert.That(plan.KvCapacityTokens, Is.EqualTo((long)(g.KvBytes / g.KvBytesPerToken) / 16 * 16));
        Assert.That(plan.KvBlocks, Is.EqualTo(plan.KvCapacityTokens / 16));
        Assert.That(plan.Fits);
    }

    [Test]
    public void KvHeads_ReplicatedWhenFewerThanTp_AndTokensSplitByCp()
    {
        var m = ModelPresets.Get("llama-3.1-70b");
        Assert.That(MemoryPlanner.KvBytesPerTokenPerGpu(m, Precision.Default, new ParallelPlan(Tp: 16), 80), Is.EqualTo(80 * 1 * 128 * 2 * 2));
        Assert.That(MemoryPlanner.KvBytesPerTokenPerGpu(m, Precision.Default, new ParallelPlan(Tp: 8, Cp: 4), 80), Is.EqualTo(80 * 128 * 2 * 2 / 4.0));
    }

    [Test]
    public void Mla_KvIsLatentPlusRope_NotSplitByTp()
    {
        var m = ModelPresets.Get("deepseek-v3");
        var fp8 = Precision.Parse("fp8", "fp8");
        Assert.That(MemoryPlanner.KvBytesPerTokenPerGpu(m, fp8, new ParallelPlan(Tp: 8), 61), Is.EqualTo(61 * 576));
        Assert.That(MemoryPlanner.KvBytesPerTokenPerGpu(m, fp8, new ParallelPlan(Tp: 1), 61), Is.EqualTo(61 * 576));
    }

    [Test]
    public void ExpertParallel_SplitsExpertWeights()
    {
        var m = ModelPresets.Get("qwen3-30b-a3b");
        var tp8 = MemoryPlanner.StageWeightBytes(m, Precision.Default, new ParallelPlan(Tp: 8), 0, 0, m.Layers);
        var ep8 = MemoryPlanner.StageWeightBytes(m, Precision.Default, new ParallelPlan(Tp: 8, Ep: 8), 0, 0, m.Layers);
        // Same total split either way (whole experts per GPU vs every expert TP-sharded), about 1/8 of the model.
        Assert.That(ep8, Is.EqualTo(tp8).Within(0.01 * tp8));
        Assert.That(ep8, Is.EqualTo(m.TotalParams * 2.0 / 8).Within(0.05 * ep8));
    }

    [TestCase(false)]
    [TestCase(true)]   // TensorRT-LLM: every TP rank holds the whole embedding table
    public void WeightParts_AddUpToTheStagesWeights(bool replicatedEmbedding)
    {
        var m = ModelPresets.Get("qwen3-30b-a3b");
        var plan = new ParallelPlan(Tp: 4, Ep: 4);
        var (attention, experts, other) = MemoryPlanner.WeightParts(m, Precision.Default, plan, replicatedEmbedding);
        double total = MemoryPlanner.StageWeightBytes(m, Precision.Default, plan, 0, 0, m.Layers, replicatedEmbedding);
        Assert.That(attention + experts + other, Is.EqualTo(total).Within(1));
        Assert.That(attention, Is.GreaterThan(0));
        Assert.That(experts, Is.GreaterThan(0));
        if (replicatedEmbedding)
            Assert.That(total, Is.GreaterThan(MemoryPlanner.StageWeightBytes(m, Precision.Default, plan, 0, 0, m.Layers)), "the replicated table must weigh more, or this case proves nothing");
    }

    [Test]
    public void PipelineStages_EmbeddingOnFirst_LmHeadOnLast()
    {
        var m = ModelPresets.Get("llama-3.1-8b");
        var plan = MemoryPlanner.Plan(m, Precision.Default, new ParallelPlan(Pp: 2), H100, new MemorySettings());
        var layerBytes = (m.AttentionParams + m.DenseMlpParams + 2.0 * m.HiddenSize) * 16 * 2;
        Assert.That(plan.Stages[0].WeightsBytes, Is.EqualTo(layerBytes + m.EmbeddingParams * 2.0).Within(1));
        Assert.That(plan.Stages[1].WeightsBytes, Is.EqualTo(layerBytes + m.LmHeadParams * 2.0 + m.HiddenSize * 2.0).Within(1));
        Assert.That(plan.Stages[1].ActivationBytes, Is.GreaterThan(plan.Stages[0].ActivationBytes)); // logits buffer
    }
}
