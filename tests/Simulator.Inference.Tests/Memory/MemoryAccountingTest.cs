using System.Globalization;
using NUnit.Framework;
using Simulator.Hardware.Specs;
using Simulator.Inference.Memory;
using Simulator.Inference.Models;
using Simulator.Inference.Parallelism;
using Simulator.Tests.Shared;

namespace Simulator.Inference.Tests.Memory;

[TestFixture]
public sealed class MemoryAccountingTest
{
    private const double GiB = MemoryArithmetic.BytesPerGiB;

    private static MemoryPlan Plan(string model, string gpu, int tp, string weights, string engine,
        int maxNumSeqs = 256, int pp = 1, string? kv = null, double util = 0.9, int ep = 1) =>
        MemoryPlanner.Plan(ModelPresets.Get(model), Precision.Parse(weights, kv ?? (weights == "fp8" ? "fp8" : "bf16")),
            new ParallelPlan(Tp: tp, Pp: pp, Ep: ep), GpuPresets.Get(gpu),
            new MemorySettings(MaxNumBatchedTokens: 8192, MaxNumSeqs: maxNumSeqs, GpuMemoryUtilization: util,
                Accounting: MemoryAccounting.ForEngine(engine)));

    /// <summary>
    /// Layouts that public benchmarks ran: each must fit, with at least the KV tokens the run needed.
    /// (model, GPU, TP, PP, weights, engine, max_num_seqs, KV tokens the run held at least, source)
    /// </summary>
    private static readonly object[] PublishedDeployments =
    {
        new object[] { "llama-3.1-70b", "H100-SXM-80GB", 1, 1, "fp8", "trtllm", 2048, 16_384L,
            "TensorRT-LLM serves Llama-3.1-70B FP8 on one H100-80GB (issue 11; TensorRT-LLM docs)" },
        new object[] { "llama-3.1-70b", "A100-SXM-80GB", 2, 1, "bf16", "vllm", 256, 20_000L,
            "vLLM, Llama-3.1-70B BF16 on 2 x A100-80GB at gpu_memory_utilization 0.9 (~20-30k KV tokens)" },
        new object[] { "llama-3.1-70b", "A100-SXM-80GB", 2, 1, "bf16", "trtllm", 2048, 20_000L,
            "TensorRT-LLM's throughput setting max_batch_size 2048 on the same layout (issue 11)" },
        new object[] { "llama-2-70b", "A100-SXM-80GB", 2, 1, "bf16", "splitwise", 256, 20_480L,
            "Splitwise DGX-A100 profile, TP2, batch 32 x (512 + 128) tokens (data/calibration/serving/splitwise-a100.csv)" },
        new object[] { "llama-2-70b", "A100-SXM-80GB", 4, 1, "bf16", "splitwise", 256, 40_960L,
            "Splitwise DGX-A100 profile, TP4, batch 64 x (512 + 128) tokens" },
        new object[] { "llama-3.1-8b", "H100-SXM-80GB", 1, 1, "bf16", "vllm", 1024, 300_000L,
            "vLLM 0.11 on one H100, 51.38 GiB of KV (llm-d/llm-d-benchmark empirical-vllm-memory-results)" },
        new object[] { "llama-3.1-70b", "H100-SXM-80GB", 2, 1, "fp8", "vllm", 1024, 100_000L,
            "vLLM 0.11, Llama-3.3-70B FP8 on 2 x H100, 32.0 GiB of KV (llm-d/llm-d-benchmark)" },
        new object[] { "llama-3.1-70b", "H100-SXM-80GB", 4, 1, "bf16", "vllm", 256, 100_000L,
            "vLLM performance benchmarks: Llama 70B at TP4 on H100 (vLLM v0.6.0 blog, Sept 2024)" },
        new object[] { "mixtral-8x7b", "H100-SXM-80GB", 2, 1, "bf16", "vllm", 256, 100_000L,
            "vLLM nightly benchmarks: Mixtral-8x7B at TP2 on H100" },
        new object[] { "llama-3.1-405b", "H100-SXM-80GB", 8, 1, "fp8", "vllm", 256, 50_000L,
            "vLLM: Llama 3.1 405B FP8 on a single 8 x H100 node (vLLM blog, July 2024)" },
        new object[] { "qwen3-235b-a22b", "H100-SXM-80GB", 4, 1, "fp8", "vllm", 1024, 100_000L,
            "vLLM, Qwen3-235B-A22B-FP8 on 4 x H100: 8.11 GiB, 178,880 KV tokens (vllm-project/vllm#21348)" },
        new object[] { "deepseek-v3", "H200-SXM-141GB", 8, 1, "fp8", "vllm", 256, 100_000L,
            "DeepSeek-V3 FP8 on one 8 x H200 node (SGLang and vLLM DeepSeek-V3 guides)" },
    };

    [TestCaseSource(nameof(PublishedDeployments))]
    public void PublishedDeployment_Fits_WithTheKvItRan(string model, string gpu, int tp, int pp, string weights, string engine,
        int maxNumSeqs, long minKvTokens, string source)
    {
        var plan = Plan(model, gpu, tp, weights, engine, maxNumSeqs, pp);
        TestContext.Out.WriteLine($"{source}: {plan.KvCapacityTokens:N0} KV tokens; {plan.Describe()}");
        Assert.That(plan.Fits, source);
        Assert.That(plan.KvCapacityTokens, Is.GreaterThanOrEqualTo(minKvTokens), source);
    }

    [Test]
    public void Vllm_Llama70BBf16OnTwoA100_KeepsTwentyToThirtyThousandKvTokens()
    {
        // 0.9 x 79.2 GiB = 71.3 GiB - 65.7 GiB weights - 1.2 GiB sampler peak (256 x 128,256 logits x 38.7 B)
        // - 0.55 GiB non-torch - 0.4 GiB graphs = 3.4 GiB; / 160 KiB per token = ~22.5k tokens.
        var plan = Plan("llama-3.1-70b", "A100-SXM-80GB", 2, "bf16", "vllm");
        Assert.That(plan.KvCapacityTokens, Is.InRange(20_000, 30_000));
        var g = plan.Stages[0];
        Assert.That(g.CapacityBytes, Is.EqualTo(0.99 * 80 * GiB).Within(1));
        Assert.That(g.KvBytes, Is.EqualTo(0.9 * g.CapacityBytes - g.WeightsBytes - g.ActivationBytes - g.NonTorchBytes - g.CudaGraphBytes).Within(1));
        Assert.That(g.ReserveBytes, Is.EqualTo(0.1 * g.CapacityBytes).Within(1));
        Assert.That(g.FreeGB, Is.EqualTo(0).Within(1e-9));
    }

    [Test]
    public void TrtLlm_GivesTheFractionOfWhatIsFreeAfterWeightsRuntimeAndActivations()
    {
        var plan = Plan("llama-3.1-70b", "H100-SXM-80GB", 1, "fp8", "trtllm", maxNumSeqs: 2048);
        var g = plan.Stages[0];
        double free = g.CapacityBytes - g.RuntimeBytes - g.WeightsBytes - g.ActivationBytes;
        Assert.That(g.KvBytes, Is.EqualTo(0.9 * free).Within(1));
        Assert.That(g.ReserveBytes, Is.EqualTo(0.1 * free).Within(1));
        Assert.That(g.RuntimeBytes, Is.EqualTo(1.0 * GiB));
        Assert.That(plan.Fits);
    }

    [Test]
    public void ReserveRule_IsTheDefault_AndKeepsTheOriginalBudget()
    {
        var m = ModelPresets.Get("llama-3.1-70b");
        var gpu = GpuPresets.Get("H100-SXM-80GB");
        var plan = MemoryPlanner.Plan(m, Precision.Default, new ParallelPlan(Tp: 4), gpu, new MemorySettings());
        var g = plan.Stages[0];
        Assert.That(g.Accounting, Is.EqualTo("reserve"));
        Assert.That(g.CapacityBytes, Is.EqualTo(80e9));
        Assert.That(g.KvBytes, Is.EqualTo(0.9 * 80e9 - g.WeightsBytes - g.ActivationBytes).Within(1));
    }

    [Test]
    public void Vllm_SamplerPeakGrowsWithMaxNumSeqs_SoTwoThousandSequencesDoNotFit70BOnTwoA100()
    {
        // vLLM's profile run samples max_num_seqs x vocabulary logits: at 2048 sequences that is ~9.5 GiB, more than
        // the 5.5 GiB the weights leave, so vLLM itself would refuse to start; the plan says so with its buckets.
        var plan = Plan("llama-3.1-70b", "A100-SXM-80GB", 2, "bf16", "vllm", maxNumSeqs: 2048);
        Assert.That(plan.Fits, Is.False);
        Assert.That(plan.Stages[0].ActivationBytes / GiB, Is.EqualTo(2048.0 * 128256 * 38.7 / GiB).Within(0.01));
        Assert.That(plan.Describe(), Does.Contain("activations 10.17 GB").And.Contain("non-torch").And.Contain("CUDA graphs"));
    }

    [Test]
    public void Vllm_Eager_HasNoCudaGraphMemory()
    {
        var eager = Plan("llama-3.1-8b", "H100-SXM-80GB", 1, "bf16", "splitwise").Stages[0];
        var graphs = Plan("llama-3.1-8b", "H100-SXM-80GB", 1, "bf16", "vllm").Stages[0];
        Assert.That(eager.CudaGraphBytes, Is.Zero);
        Assert.That(eager.KvBytes - graphs.KvBytes, Is.EqualTo(0.4 * GiB).Within(1));
    }

    /// <summary>
    /// vLLM's own accounting logs (vLLM 0.11 on H100, llm-d/llm-d-benchmark): for the rows whose model we have a preset for,
    /// the plan's weights, profile-run peak, non-torch memory and KV room are each within a few percent (KV within 5%).
    /// </summary>
    [Test]
    public void Vllm_ReproducesVllmsOwnMemoryProfile_OnH100()
    {
        var path = TestPaths.Data("calibration", "memory", "vllm-h100-memory-profile.csv");
        var lines = File.ReadAllLines(path);
        var header = lines[0].Split(',');
        int Col(string name) => Array.IndexOf(header, name);
        int checkedRows = 0;
        foreach (var line in lines.Skip(1))
        {
            var f = line.Split(',');
            if (!ModelPresets.TryGet(f[Col("model")], out _)) continue;
            double D(string c) => double.Parse(f[Col(c)], CultureInfo.InvariantCulture);
            int I(string c) => int.Parse(f[Col(c)], CultureInfo.InvariantCulture);
            var plan = Plan(f[Col("model")], f[Col("gpu")], I("tp"), f[Col("weights_precision")], "vllm",
                maxNumSeqs: I("max_num_seqs"), util: D("gpu_memory_utilization"));
            var g = plan.Stages[0];
            double kvErr = g.KvBytes / GiB / D("kv_cache_gib") - 1;
            TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{f[Col("hf_model")]} TP{I("tp")}: weights {g.WeightsBytes / GiB:F2} vs {D("weights_gib")}, activation {g.ActivationBytes / GiB:F2} vs {D("activation_gib")}, non-torch {g.NonTorchBytes / GiB:F2} vs {D("non_torch_gib")}, KV {g.KvBytes / GiB:F2} vs {D("kv_cache_gib")} GiB ({kvErr:P1})"));
            Assert.That(g.WeightsBytes / GiB, Is.EqualTo(D("weights_gib")).Within(5).Percent, line);
            Assert.That(g.ActivationBytes / GiB, Is.EqualTo(D("activation_gib")).Within(5).Percent, line);
            Assert.That(g.NonTorchBytes / GiB, Is.EqualTo(D("non_torch_gib")).Within(0.02), line);
            Assert.That(Math.Abs(kvErr), Is.LessThan(0.05), line);
            checkedRows++;
        }
        Assert.That(checkedRows, Is.EqualTo(2));
    }
    [Test]
    public void Fp8Checkpoint_KeepsTheEmbeddingAndLmHeadIn16Bit_AsVllmLogsIt()
    {
        var m = ModelPresets.Get("llama-3.1-70b");
        var tp2 = new ParallelPlan(Tp: 2);
        double fp8 = MemoryPlanner.StageWeightBytes(m, Precision.Parse("fp8", "fp8"), tp2, 0, 0, m.Layers);
        double bf16 = MemoryPlanner.StageWeightBytes(m, Precision.Default, tp2, 0, 0, m.Layers);
        double tables = 2 * (m.EmbeddingParams / 2.0) * 2; // embedding + LM head, each split over TP 2, 2 bytes a parameter
        // Everything else halves in FP8; the two tables do not.
        Assert.That(fp8, Is.EqualTo((bf16 - tables) / 2 + tables).Within(1));
        // vLLM's own log, Llama-3.3-70B-Instruct-FP8-dynamic at TP 2 on H100: 33.88 GiB of weights per GPU (all-FP8: 32.86).
        Assert.That(fp8 / GiB, Is.EqualTo(33.88).Within(0.5).Percent);
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(8)]
    public void TrtLlm_HoldsTheWholeEmbeddingTableOnEveryTpRank_VllmSplitsIt(int tp)
    {
        var m = ModelPresets.Get("llama-3.1-70b");
        var trt = Plan("llama-3.1-70b", "H100-SXM-80GB", tp, "fp8", "trtllm").Stages[0];
        var vllm = Plan("llama-3.1-70b", "H100-SXM-80GB", tp, "fp8", "vllm").Stages[0];
        Assert.That(MemoryAccounting.TrtLlm.ReplicatedEmbedding && !MemoryAccounting.Vllm.ReplicatedEmbedding);
        Assert.That(trt.WeightsBytes - vllm.WeightsBytes, Is.EqualTo(m.EmbeddingParams * 2.0 * (1 - 1.0 / tp)).Within(1));
    }
}
