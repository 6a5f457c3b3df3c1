using System.Globalization;
using Simulator.Hardware.Specs;
using Simulator.Inference.Models;
using Simulator.Inference.Parallelism;

namespace Simulator.Inference.Memory;

/// <summary>
/// The serving settings the memory plan needs (vLLM names) and the engine's memory accounting
/// (null = <see cref="MemoryAccounting.Reserve"/>, the original rule).
/// </summary>
public sealed record MemorySettings(
    int MaxNumBatchedTokens = 8192, int MaxNumSeqs = 256, double GpuMemoryUtilization = 0.90, int BlockSize = 16,
    MemoryAccounting? Accounting = null);

/// <summary>
/// One GPU's memory (the worst GPU of a pipeline stage; all GPUs of a stage are alike). Bytes.
/// capacity = weights + activations + non-torch + CUDA graphs + runtime + reserve + KV, where the reserve is what the
/// engine's rule holds back ((1 - gpu_memory_utilization) x capacity for vLLM and the original rule,
/// (1 - free_gpu_memory_fraction) x free memory for TensorRT-LLM) and capacity is what CUDA reports for the engine
/// rules, the datasheet GB for the original one.
/// </summary>
public sealed record GpuMemory(
    int Stage, int Layers, double CapacityBytes, double WeightsBytes, double ActivationBytes, double ReserveBytes,
    double KvBytes, double KvBytesPerToken, long KvCapacityTokens, long KvBlocks,
    double NonTorchBytes = 0, double CudaGraphBytes = 0, double RuntimeBytes = 0, string Accounting = "reserve")
{
    /// <summary>True when weights and buffers leave room for KV.</summary>
    public bool Fits => KvBytes > 0 && KvCapacityTokens > 0;

    public double WeightsGB => WeightsBytes / MemoryArithmetic.BytesPerGB;
    public double ActivationGB => ActivationBytes / MemoryArithmetic.BytesPerGB;
    public double ReserveGB => ReserveBytes / MemoryArithmetic.BytesPerGB;
    public double KvGB => KvBytes / MemoryArithmetic.BytesPerGB;
    public double CapacityGB => CapacityBytes / MemoryArithmetic.BytesPerGB;
    public double NonTorchGB => NonTorchBytes / MemoryArithmetic.BytesPerGB;
    public double CudaGraphGB => CudaGraphBytes / MemoryArithmetic.BytesPerGB;
    public double RuntimeGB => RuntimeBytes / MemoryArithmetic.BytesPerGB;

    /// <summary>Everything held back from KV that is neither weights nor activations (reserve, non-torch, graphs, runtime), GB.</summary>
    public double HeldBackGB => ReserveGB + NonTorchGB + CudaGraphGB + RuntimeGB;

    /// <summary>What no bucket claims (0 when the plan fits; the capacity is split exactly), GB.</summary>
    public double FreeGB => Math.Max(0, CapacityGB - WeightsGB - ActivationGB - HeldBackGB - Math.Max(0, KvGB));
}

/// <summary>
/// The per-GPU memory plan of one replica: a row per pipeline stage, the replica's KV capacity in
/// tokens and blocks (the tightest stage bounds it), and whether it fits.
/// </summary>
public sealed record MemoryPlan(IReadOnlyList<GpuMemory> Stages, long KvCapacityTokens, long KvBlocks, int BlockSize)
{
    public bool Fits => Stages.All(s => s.Fits);

    /// <summary>One line per stage with every bucket in GB (invariant culture), for errors and the CLI.</summary>
    public string Describe()
    {
        var lines = new List<string>();
        foreach (var s in Stages)
            lines.Add(string.Create(CultureInfo.InvariantCulture,
                $"stage {s.Stage} ({s.Layers} layers): capacity {s.CapacityGB:F2} GB = weights {s.WeightsGB:F2} GB + activations {s.ActivationGB:F2} GB{Extra(s)} + reserve {s.ReserveGB:F2} GB + KV {s.KvGB:F2} GB ({s.KvCapacityTokens} tokens){(s.Fits ? "" : " -> does not fit")}"));
        return string.Join(Environment.NewLine, lines);
    }

    private static string Extra(GpuMemory s)
    {
        var parts = new List<string>();
        if (s.NonTorchBytes > 0) parts.Add(string.Create(CultureInfo.InvariantCulture, $" + non-torch {s.NonTorchGB:F2} GB"));
        if (s.CudaGraphBytes > 0) parts.Add(string.Create(CultureInfo.InvariantCulture, $" + CUDA graphs {s.CudaGraphGB:F2} GB"));
        if (s.RuntimeBytes > 0) parts.Add(string.Create(CultureInfo.InvariantCulture, $" + runtime {s.RuntimeGB:F2} GB"));
        return string.Concat(parts);
    }
}

/// <summary>
/// Builds the per-GPU memory plan. Weights: each stage's layers, attention and dense MLP split by TP,
/// routed experts split by EP (experts/EP per rank) and by TP/EP inside an expert; embeddings on the
/// first stage and the LM head on the last (vocabulary split by TP); norms and routers replicated.
/// KV per token per GPU: 2 x layers x max(1, KV heads / TP) x head dim x KV bytes / CP (MLA: latent +
/// rope key per layer, not split by TP). Activations: a documented estimate, see <see cref="ActivationBytes"/>.
/// </summary>
public static class MemoryPlanner
{
    /// <summary>Plans every stage of one replica on <paramref name="gpu"/>.</summary>
    public static MemoryPlan Plan(ModelSpec model, Precision precision, ParallelPlan plan, GpuSpec gpu, MemorySettings settings)
    {
        var counts = plan.StageLayerCounts(model.Layers);
        var stages = new List<GpuMemory>(plan.Pp);
        var first = 0;
        long minTokens = long.MaxValue;
        var acc = settings.Accounting ?? MemoryAccounting.Reserve;
        double util = settings.GpuMemoryUtilization;
        var capacity = acc.Rule == MemoryBudgetRule.Reserve ? gpu.MemoryBytes : gpu.CudaTotalBytes;
        for (var s = 0; s < plan.Pp; s++)
        {
            bool isLast = s == plan.Pp - 1;
            var weights = StageWeightBytes(model, precision, plan, s, first, counts[s], acc.ReplicatedEmbedding);
            double act, reserve, kv, nonTorch = 0, graphs = 0, runtime = 0;
            switch (acc.Rule)
            {
                case MemoryBudgetRule.Vllm:
                    act = acc.ProfilePeakBytes(model, plan, settings, isLast);
                    nonTorch = acc.NonTorchFor(plan);
                    graphs = acc.CudaGraphBytes;
                    reserve = (1 - util) * capacity;
                    kv = util * capacity - weights - act - nonTorch - graphs;
                    break;
                case MemoryBudgetRule.TrtLlm:
                    act = MemoryAccounting.TrtLlmActivationBytes(model, plan, settings, isLast);
                    runtime = acc.RuntimeBytes;
                    double free = capacity - runtime - weights - act;
                    kv = util * free;
                    reserve = Math.Max(0, free - kv);
                    break;
                default:
                    act = ActivationBytes(model, plan, settings, isLast);
                    reserve = (1 - util) * capacity;
                    kv = capacity * util - weights - act;
                    break;
            }
            var perToken = KvBytesPerTokenPerGpu(model, precision, plan, counts[s]);
            var tokens = kv > 0 ? (long)Math.Floor(kv / perToken) : 0;
            tokens -= tokens % settings.BlockSize;
            minTokens = Math.Min(minTokens, tokens);
            stages.Add(new GpuMemory(s, counts[s], capacity, weights, act, reserve, kv, perToken, tokens, tokens / settings.BlockSize,
                nonTorch, graphs, runtime, acc.Name));
            first += counts[s];
        }
        return new MemoryPlan(stages, minTokens, minTokens / settings.BlockSize, settings.BlockSize);
    }

    /// <summary>
    /// The weight bytes on one GPU of a one-stage plan, split into attention (every layer's, / TP), routed experts
    /// (experts / EP per MoE layer, each split TP / EP ways when EP &lt; TP) and the rest (embeddings, dense and shared
    /// MLPs, routers, norms): what <c>sim memory</c> shows for DP-attention layouts. With
    /// <paramref name="replicatedEmbedding"/> (TensorRT-LLM's accounting) the whole embedding table is in the rest, so
    /// the three add up to the stage's weights.
    /// </summary>
    public static (double AttentionBytes, double ExpertBytes, double OtherBytes) WeightParts(ModelSpec m, Precision precision, ParallelPlan plan,
        bool replicatedEmbedding = false)
    {
        double total = StageWeightBytes(m, precision, plan, 0, 0, plan.StageLayerCounts(m.Layers)[0], replicatedEmbedding);
        double attn = m.Mla is null
            ? (m.HiddenSize * m.Heads * m.HeadDim * 2.0) / plan.Tp + 2.0 * m.HiddenSize * plan.KvHeadsPerGpu(m) * m.HeadDim
            : (double)m.AttentionParams / plan.Tp;
        double experts = 0;
        if (m.IsMoe)
            for (var i = 0; i < m.Layers; i++)
                if (m.IsMoeLayer(i)) experts += (double)m.Experts / plan.Ep * m.ExpertParams / Math.Max(1.0, plan.Tp / (double)plan.Ep);
        double attention = attn * m.Layers * precision.WeightBytes, expertBytes = experts * precision.WeightBytes;
        return (attention, expertBytes, total - attention - expertBytes);
    }

    /// <summary>
    /// Weight bytes on one GPU of stage <paramref name="stage"/> holding layers [first, first + layers). The embedding
    /// table and the LM head are 16-bit whatever the weight format (<see cref="Precision.EmbeddingBytes"/>); with
    /// <paramref name="replicatedEmbedding"/> every TP rank holds the whole embedding table (TensorRT-LLM's default).
    /// </summary>
    public static double StageWeightBytes(ModelSpec m, Precision precision, ParallelPlan plan, int stage, int first, int layers,
        bool replicatedEmbedding = false)
    {
        double wb = precision.WeightBytes;
        int tp = plan.Tp;
        double h = m.HiddenSize;
        double perGpuParams = 0;
        // Attention: projections split by TP (KV projections replicated when KV heads < TP).
        double attn = m.Mla is null
            ? (h * m.Heads * m.HeadDim * 2) / tp + 2 * h * plan.KvHeadsPerGpu(m) * m.HeadDim
            : (double)m.AttentionParams / tp;
        double expertsPerRank = m.IsMoe ? (double)m.Experts / plan.Ep : 0;
        // EP <= TP: each expert split over TP / EP GPUs; EP > TP (DP attention, EP = TP x DP): whole experts per GPU.
        double expertShard = Math.Max(1.0, plan.Tp / (double)plan.Ep);
        for (var i = first; i < first + layers; i++)
        {
            perGpuParams += attn + 2 * h;
            if (m.IsMoeLayer(i))
                perGpuParams += m.RouterParams + (double)m.SharedExpertParams / tp + expertsPerRank * m.ExpertParams / expertShard;
            else
                perGpuParams += (double)m.DenseMlpParams / tp;
        }
        double tableParams = 0;
        if (stage == 0) tableParams += replicatedEmbedding ? m.EmbeddingParams : (double)m.EmbeddingParams / tp;
        if (stage == plan.Pp - 1)
        {
            // A tied LM head reads the embedding table, unless that table is replicated: then the head is its own TP-split copy.
            bool shared = m.TiedEmbeddings && plan.Pp == 1 && !replicatedEmbedding;
            tableParams += shared ? 0 : (double)m.EmbeddingParams / tp;
            perGpuParams += h;
        }
        return perGpuParams * wb + tableParams * Precision.EmbeddingBytes;
    }

    /// <summary>KV bytes one GPU stores per token of context, for a stage of <paramref name="layers"/> layers (CP splits tokens).</summary>
    public static double KvBytesPerTokenPerGpu(ModelSpec m, Precision precision, ParallelPlan plan, int layers)
    {
        double perLayer = m.Mla is { } mla
            ? mla.CachedElementsPerTokenPerLayer
            : 2.0 * plan.KvHeadsPerGpu(m) * m.HeadDim;
        return perLayer * layers * precision.KvBytes / plan.Cp;
    }

    /// <summary>
    /// Activation and runtime buffers, an estimate in the spirit of vLLM's profile run (the peak of a
    /// forward pass with max_num_batched_tokens tokens): per batched token, the residual stream and
    /// norm output (2 x hidden), the attention QKV and output (2 x (heads + 2 KV heads) x head dim / TP)
    /// and the widest MLP intermediate (2 x FFN / TP, or top_k x expert FFN x 2 / TP for MoE), all
    /// 16-bit; plus fp32 logits of max_num_seqs sequences on the last stage (vocabulary / TP x 4 B).
    /// CUDA context, NCCL buffers and graphs are left to the reserve (1 - gpu_memory_utilization).
    /// </summary>
    public static double ActivationBytes(ModelSpec m, ParallelPlan plan, MemorySettings settings, bool isLast)
    {
        double logits = isLast ? settings.MaxNumSeqs * (m.VocabSize / (double)plan.Tp) * 4.0 : 0;
        return ForwardActivationBytes(m, plan, settings) + logits;
    }

    /// <summary>
    /// The forward pass's live activations at max_num_batched_tokens (per CP rank): residual and norm output, QKV,
    /// attention output and the widest MLP intermediate, all 16-bit (see <see cref="ActivationBytes"/>).
    /// </summary>
    public static double ForwardActivationBytes(ModelSpec m, ParallelPlan plan, MemorySettings settings)
    {
        double tp = plan.Tp;
        double qkv = (m.Heads + 2.0 * m.KvHeads) * m.HeadDim / tp;
        double mlp = m.IsMoe
            ? Math.Max(2.0 * m.FfnSize / tp, 2.0 * m.TopK * m.ExpertFfnSize / tp)
            : 2.0 * m.FfnSize / tp;
        double perToken = (2.0 * m.HiddenSize + qkv + m.Heads * m.HeadDim / tp + mlp) * 2;
        double tokens = settings.MaxNumBatchedTokens / (double)plan.Cp;
        return tokens * perToken;
    }
}
