using NUnit.Framework;
using Simulator.Hardware.Collectives;
using Simulator.Inference.Cost;
using Simulator.Inference.Models;
using Simulator.Inference.Parallelism;

namespace Simulator.Inference.Tests.Cost;

[TestFixture]
public sealed class RooflineStageCostModelTest
{
    /// <summary>Every collective takes a fixed time, whatever its size.</summary>
    private sealed class FixedTimer(double us) : ICollectiveTimer
    {
        public double TimeUs(CollectiveOp op, IReadOnlyList<int> gpus, long bytes, CollectiveAlgorithm algorithm = CollectiveAlgorithm.Auto) =>
            gpus.Count > 1 ? us : 0;
    }

    private static RooflineStageCostModel Model(string name, ParallelPlan plan, ICollectiveTimer timer, CalibrationProfile? p = null,
        CostModelOptions? options = null, int nodes = 1) =>
        new(ModelPresets.Get(name), Precision.Default, plan, PlacementTable.Build(plan, new ClusterShape(nodes, 8)),
            TestGpus.A100, p ?? CalibrationProfile.A100, timer, 0, options);

    private static SequenceWork[] Decodes(int n, int context) => Enumerable.Repeat(new SequenceWork(1, context), n).ToArray();

    [TestCase(5.0, 0.8)]
    [TestCase(20.0, 3.2)]
    public void Decode_80Layers_160AllReducesPerToken_GiveTheSeedsFloor(double usEach, double floorMs)
    {
        var cost = Model("llama-3.1-70b", new ParallelPlan(Tp: 8), new FixedTimer(usEach)).Estimate(0, Decodes(1, 1000));
        var ar = cost.Comms.Single(c => c.Group == CommGroupKind.Tensor);
        Assert.That(ar.Count, Is.EqualTo(160));
        Assert.That(cost.TpCommNs / 1e6, Is.EqualTo(floorMs).Within(1e-6));
    }

    [Test]
    public void Decode_OneTokenAllReduce_AtHidden8192Bf16_Is16KB()
    {
        var cost = Model("llama-3.1-70b", new ParallelPlan(Tp: 8), new AlphaBetaTimer()).Estimate(0, Decodes(1, 1000));
        Assert.That(cost.Comms.Single(c => c.Group == CommGroupKind.Tensor).Bytes, Is.EqualTo(16 * 1024));
    }

    [Test]
    public void DecodeAttention_UsesEachSequencesOwnContext_NotTheMean()
    {
        // One long and many short sequences: KV reads are the sum of contexts, the same as for equal contexts
        // with the same sum, and attention (memory-bound) grows with the total context read.
        var m = Model("llama-3.1-8b", new ParallelPlan(), new AlphaBetaTimer(), CalibrationProfile.A100.KernelsOnly());
        var skewed = new List<SequenceWork> { new(1, 100_000) };
        skewed.AddRange(Decodes(15, 100));
        var even = Decodes(16, (100_000 + 15 * 100) / 16);
        var small = Decodes(16, 100);
        double Attn(IReadOnlyList<SequenceWork> b) => m.Estimate(0, b).BreakdownMs[BreakdownParts.Attention];
        Assert.That(Attn(skewed), Is.EqualTo(Attn(even)).Within(0.02 * Attn(even)));
        Assert.That(Attn(skewed), Is.GreaterThan(10 * Attn(small)));
        // 32 layers x (101,500 + 16) tokens x 8 KV heads x 128 x 2 x 2 B at 2.039 TB/s x eta_m
        var bytes = 32.0 * (100_001 + 15 * 101) * 8 * 128 * 2 * 2;
        Assert.That(Attn(skewed), Is.EqualTo(bytes / (2.039e12 * CalibrationProfile.A100.EtaMemory) * 1e3).Within(0.05 * Attn(skewed)));
    }

    [Test]
    public void Prefill_AttentionFlops_FollowSumOfNewTimesContext()
    {
        var m = Model("llama-3.1-8b", new ParallelPlan(), new AlphaBetaTimer(), CalibrationProfile.A100.KernelsOnly());
        var a = m.Estimate(0, [new SequenceWork(8192, 0)]).BreakdownMs[BreakdownParts.Attention];
        var b = m.Estimate(0, [new SequenceWork(4096, 0), new SequenceWork(4096, 0)]).BreakdownMs[BreakdownParts.Attention];
        Assert.That(a / b, Is.EqualTo(2.0).Within(0.05)); // causal T^2/2: one 8k sequence has twice the pairs of two 4k ones
    }

    [Test]
    public void Decode_WeightBound_ScalesDownWithTp()
    {
        var t1 = Model("llama-3.1-8b", new ParallelPlan(), new AlphaBetaTimer(), CalibrationProfile.A100.KernelsOnly()).Estimate(0, Decodes(1, 100));
        var t2 = Model("llama-3.1-8b", new ParallelPlan(Tp: 2), new AlphaBetaTimer(), CalibrationProfile.A100.KernelsOnly()).Estimate(0, Decodes(1, 100));
        // 16 GB of bf16 weights at ~1.65 TB/s is ~10 ms; TP 2 halves the weights per GPU,
        // but not the per-kernel launch costs (~11 kernels x 32 layers x 6.8 us), so the ratio stays above 1/2.
        Assert.That(t1.ComputeNs / 1e6, Is.InRange(9.0, 12.0));
        Assert.That((double)t2.ComputeNs / t1.ComputeNs, Is.InRange(0.5, 0.65));
    }

    [Test]
    public void Moe_DecodeReadsOnlyTouchedExperts()
    {
        var m = Model("mixtral-8x7b", new ParallelPlan(Tp: 2), new AlphaBetaTimer(), CalibrationProfile.A100.KernelsOnly());
        var one = m.Estimate(0, Decodes(1, 100)).BreakdownMs[BreakdownParts.Experts];
        var many = m.Estimate(0, Decodes(64, 100)).BreakdownMs[BreakdownParts.Experts];
        // 1 token touches 2 of 8 experts; 64 tokens touch all 8: about four times the weight bytes.
        Assert.That(many / one, Is.InRange(3.3, 4.4));
        Assert.That(ExpertRouting.ExpectedDistinctUniform(8, 2, 1), Is.EqualTo(2).Within(1e-12));
    }

    [Test]
    public void ExpertRouting_SkewRaisesHotspot_UniformLargeBatchNearOne()
    {
        var uniform = new ExpertRouting(128, 8, 8);
        var skew = new ExpertRouting(128, 8, 8, zipfExponent: 1.0);
        Assert.That(uniform.HotspotRatio(100_000), Is.EqualTo(1).Within(0.02));
        Assert.That(uniform.HotspotRatio(1), Is.GreaterThan(1.5));
        Assert.That(skew.HotspotRatio(100_000), Is.GreaterThan(2));
        Assert.That(skew.ExpectedDistinct(64), Is.LessThan(uniform.ExpectedDistinct(64)));
        Assert.That(uniform.ExpectedDistinct(64), Is.EqualTo(128 * (1 - Math.Pow(1 - 8.0 / 128, 64))).Within(1e-9));
    }

    [Test]
    public void ExpertParallel_AddsDispatchAndCombinePerMoeLayer()
    {
        var c = Model("qwen3-30b-a3b", new ParallelPlan(Tp: 8, Ep: 8), new AlphaBetaTimer()).Estimate(0, Decodes(32, 500));
        var a2a = c.Comms.Single(x => x.Group == CommGroupKind.Expert);
        Assert.That(a2a.Count, Is.EqualTo(2 * 48));
        Assert.That(c.Comms.Single(x => x.Group == CommGroupKind.Tensor).Count, Is.EqualTo(48));
        Assert.That(c.EpCommNs, Is.GreaterThan(0));
    }

    [Test]
    public void Pipeline_SendOnlyBeforeTheLastStage_LmHeadOnlyOnLast()
    {
        var m = Model("llama-3.1-70b", new ParallelPlan(Tp: 2, Pp: 2), new AlphaBetaTimer());
        var s0 = m.Estimate(0, Decodes(8, 100));
        var s1 = m.Estimate(1, Decodes(8, 100));
        Assert.That(s0.Comms.Single(x => x.Group == CommGroupKind.Pipeline).Bytes, Is.EqualTo(8 * 8192 * 2));
        Assert.That(s1.PpCommNs, Is.EqualTo(0));
        Assert.That(s0.BreakdownMs[BreakdownParts.LmHead], Is.EqualTo(0));
        Assert.That(s1.BreakdownMs[BreakdownParts.LmHead], Is.GreaterThan(0));
        Assert.That(s1.BreakdownMs[BreakdownParts.Embedding], Is.EqualTo(0));
    }

    [TestCase(NumericFormat.Fp8, 1.0, 1979e12, 1)]
    [TestCase(NumericFormat.Fp8, 1.0, 1979e12, 4096)]
    [TestCase(NumericFormat.Int8, 1.0, 1979e12, 4096)]
    [TestCase(NumericFormat.Int4, 0.5 + 2.0 / Precision.Int4GroupSize, 989e12, 8)]
    public void LmHeadAndEmbedding_OfAQuantizedCheckpoint_Are16Bit_WhileItsOtherGemmsKeepTheirFormat(
        NumericFormat weights, double weightBytes, double peakFlops, int decodes)
    {
        // Same shape, one stage (first and last): the LM head is a 16-bit GEMM at the BF16 rate and the embedding reads
        // 16-bit rows under every weight format, as the memory plan keeps them; the decoder's GEMMs use the checkpoint's.
        var plan = new ParallelPlan(Tp: 2);
        RooflineStageCostModel Build(NumericFormat w) => new(ModelPresets.Get("llama-3.1-70b"), new Precision(w, NumericFormat.Bf16),
            plan, PlacementTable.Build(plan, new ClusterShape(1, 8)), TestGpus.H100, CalibrationProfile.A100.KernelsOnly(), new AlphaBetaTimer());
        var batch = Decodes(decodes, 2000);
        var quantized = Build(weights).Estimate(0, batch).BreakdownMs;
        var bf16 = Build(NumericFormat.Bf16).Estimate(0, batch).BreakdownMs;
        Assert.That(quantized[BreakdownParts.LmHead], Is.EqualTo(bf16[BreakdownParts.LmHead]));
        Assert.That(quantized[BreakdownParts.Embedding], Is.EqualTo(bf16[BreakdownParts.Embedding]));
        var p = CalibrationProfile.A100.KernelsOnly();
        double Lin(double inDim, double outDim) => Roofline.LinearSeconds(decodes, inDim, outDim, weightBytes, peakFlops, TestGpus.H100.HbmBytesPerSecond, p);
        double f = 28672 / 2.0;
        Assert.That(quantized[BreakdownParts.Mlp], Is.EqualTo(80 * (Lin(8192, 2 * f) + Lin(f, 8192)) * 1e3).Within(1e-9));
        Assert.That(quantized[BreakdownParts.Mlp], Is.LessThan(bf16[BreakdownParts.Mlp]));
    }

    [Test]
    public void Pipeline_HandOffUnderTp_SendsASlicePerRank_ThenAllGathersOnTheNextStage()
    {
        // vLLM under TP: each TP rank sends 1/TP of the activations to its peer (in parallel), the next stage all-gathers.
        var timer = new AlphaBetaTimer(alphaUs: 8, bandwidthGBps: 300);
        var m = Model("llama-3.1-70b", new ParallelPlan(Tp: 4, Pp: 2), timer);
        var s0 = m.Estimate(0, new[] { new SequenceWork(1000, 1000) });
        long act = 1000L * 8192 * 2;
        double expectedUs = (8 + act / 4 / 300e3) + (8 + 3.0 / 4 * act / 300e3);
        Assert.That(s0.PpCommNs, Is.EqualTo(expectedUs * 1e3).Within(1.0));
    }

    [Test]
    public void ContextParallel_RingOverlapsAttention_AndSplitsTokens()
    {
        var plan = new ParallelPlan(Tp: 2, Cp: 4);
        var cp = Model("llama-3.1-70b", plan, new AlphaBetaTimer()).Estimate(0, [new SequenceWork(32_768, 0)]);
        var noCp = Model("llama-3.1-70b", new ParallelPlan(Tp: 2), new AlphaBetaTimer()).Estimate(0, [new SequenceWork(32_768, 0)]);
        Assert.That(cp.Comms.Any(c => c.Group == CommGroupKind.Context), Is.True);
        Assert.That((double)cp.ComputeNs / noCp.ComputeNs, Is.InRange(0.2, 0.3));
        Assert.That(cp.CpCommNs, Is.EqualTo(0), "KV ring of a long prefill hides under attention");
    }

    [Test]
    public void Breakdown_SumsToTotal_InMilliseconds()
    {
        var c = Model("deepseek-v3", new ParallelPlan(Tp: 8, Ep: 8), new AlphaBetaTimer(), options: new CostModelOptions { ExpertZipfExponent = 0.5 })
            .Estimate(0, [new SequenceWork(2048, 0), .. Decodes(32, 3000)]);
        Assert.That(c.BreakdownMs.Values.Sum(), Is.EqualTo(c.TotalNs / 1e6).Within(1e-3));
        Assert.That(c.BreakdownMs.Keys, Is.EqualTo(BreakdownParts.All));
    }

    [Test]
    public void EngineFloor_DecodeAtHighTp_IsCpuBound()
    {
        var c = Model("llama-2-70b", new ParallelPlan(Tp: 8), new AlphaBetaTimer()).Estimate(0, Decodes(1, 600));
        var floorMs = CalibrationProfile.A100.CpuFloorPerLayerUs * 80 / 1e3;
        Assert.That(c.StageBusyNs / 1e6, Is.EqualTo(floorMs + c.BreakdownMs[BreakdownParts.EngineOverhead]).Within(0.01));
    }

    [Test]
    public void MeasuredOperatorTable_OverridesRooflineForMatchingModel()
    {
        var table = MeasuredOperatorTable.Load(Simulator.Tests.Shared.TestPaths.Data("calibration", "compute", "a100", "meta-llama", "Llama-2-7b-hf", "mlp.csv"));
        var withTable = Model("llama-2-7b", new ParallelPlan(), new AlphaBetaTimer(), CalibrationProfile.A100.KernelsOnly(), new CostModelOptions { MeasuredOperators = table });
        var c = withTable.Estimate(0, [new SequenceWork(512, 0)]);
        var expectedMs = 32 * (table.Seconds(MeasuredOperatorTable.MlpUpProj, 1, 512) + table.Seconds(MeasuredOperatorTable.MlpDownProj, 1, 512)) * 1e3;
        Assert.That(c.BreakdownMs[BreakdownParts.Mlp], Is.EqualTo(expectedMs).Within(1e-9));
    }

    [Test]
    public void Estimate_IsDeterministic_AndEmptyBatchCostsNothing()
    {
        var m = Model("mixtral-8x7b", new ParallelPlan(Tp: 4, Ep: 2), new AlphaBetaTimer());
        var batch = new[] { new SequenceWork(300, 0), new SequenceWork(1, 700) };
        var first = m.Estimate(0, batch).TotalNs;
        var second = m.Estimate(0, batch).TotalNs;
        Assert.That(second, Is.EqualTo(first));
        Assert.That(first, Is.GreaterThan(0));
        Assert.That(m.Estimate(0, []).TotalNs, Is.EqualTo(0));
    }
    [TestCase("llama-3.1-70b", 4, 1, 1, 1)]
    [TestCase("llama-3.1-70b", 2, 2, 1, 1)]
    [TestCase("mixtral-8x7b", 4, 1, 2, 1)]
    [TestCase("llama-3.1-70b", 2, 1, 1, 2)]
    public void EstimateTimes_GivesEstimatesTimesBitForBit_WithoutTheBreakdown(string model, int tp, int pp, int ep, int cp)
    {
        var m = Model(model, new ParallelPlan(Tp: tp, Pp: pp, Ep: ep, Cp: cp), new AlphaBetaTimer(), nodes: 2);
        var rng = new Random(7);
        for (int i = 0; i < 200; i++)
        {
            var batch = new List<SequenceWork>();
            for (int k = rng.Next(4); k > 0; k--) batch.Add(new SequenceWork(1 + rng.Next(600), rng.Next(3000)));
            int decodes = rng.Next(40);
            long context = decodes + rng.Next(100_000);
            for (int stage = 0; stage < m.Stages; stage++)
            {
                AssertSameTimes(m.EstimateTimes(stage, batch, decodes, context), m.Estimate(stage, batch, decodes, context), $"batch {i}, stage {stage}");
                AssertSameTimes(m.EstimateTimes(stage, batch), m.Estimate(stage, batch), $"batch {i} listed, stage {stage}");
            }
        }
    }

    private static void AssertSameTimes(StageCost times, StageCost full, string what)
    {
        Assert.That(times with { BreakdownMs = full.BreakdownMs, Comms = full.Comms }, Is.EqualTo(full), what);
        Assert.That(times.Comms, Is.EqualTo(full.Comms), what);
        Assert.That(times.BreakdownMs, Is.Empty, what);
        Assert.That(full.BreakdownMs.Keys, Is.EqualTo(BreakdownParts.All), what);
    }

    [Test]
    public void EstimateTimes_OfADecodeBatch_AllocatesNothingOnceItsTermsAreRemembered()
    {
        var m = Model("llama-3.1-70b", new ParallelPlan(Tp: 4), new AlphaBetaTimer());
        var batch = new List<SequenceWork> { new(1, 900), new(1, 40) };
        for (int decodes = 0; decodes < 64; decodes++) m.EstimateTimes(0, batch, decodes, 1000L * decodes);
        long before = GC.GetAllocatedBytesForCurrentThread();
        long sum = 0;
        for (int i = 0; i < 10_000; i++) sum += m.EstimateTimes(0, batch, i % 64, 1000L * (i % 64) + i).TotalNs;
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(sum, Is.GreaterThan(0));
        Assert.That(allocated, Is.LessThan(10_000), "nothing per call: the cost is a value, the terms come from the memo");
    }

    [Test]
    public void CollectiveMemo_GivesTheTimersTimes_AndForgetsThemWhenALinkDegrades()
    {
        // TP=16 over two nodes: the all-reduce crosses the NICs, so a degraded NIC slows it.
        var topo = Simulator.Hardware.Topology.ClusterTopology.FromPresets("H100-SXM-80GB", 2, 8, "nvlink4", "ib-ndr400");
        var timer = new AnalyticCollectives(topo);
        var plan = new ParallelPlan(Tp: 16);
        var memo = Model("llama-3.1-70b", plan, timer, options: new CostModelOptions { Conditions = topo }, nodes: 2);
        long Tp(RooflineStageCostModel m) => m.Estimate(0, Decodes(8, 500)).TpCommNs;
        long healthy = Tp(memo);
        Assert.That(Tp(memo), Is.EqualTo(healthy), "a remembered time is the same time");
        Assert.That(healthy, Is.EqualTo(Tp(Model("llama-3.1-70b", plan, timer, nodes: 2))));
        topo.SetPortFactor("n0.gpu0.nic", 0.1);
        long degraded = Tp(memo);
        Assert.That(degraded, Is.GreaterThan(healthy));
        Assert.That(degraded, Is.EqualTo(Tp(Model("llama-3.1-70b", plan, timer, nodes: 2))), "as a model that never remembered");
    }
}
