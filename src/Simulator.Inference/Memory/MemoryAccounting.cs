using Simulator.Inference.Models;
using Simulator.Inference.Parallelism;

namespace Simulator.Inference.Memory;

/// <summary>Which rule turns a GPU's memory into KV-cache room.</summary>
public enum MemoryBudgetRule
{
    /// <summary>
    /// The simulator's original rule: the datasheet capacity in GB (1e9 bytes) times <c>gpu_memory_utilization</c>,
    /// minus weights and activations; the rest of the capacity is the reserve. Stricter than the engines' own rules;
    /// kept for direct library callers and as <c>memory_accounting: reserve</c>.
    /// </summary>
    Reserve,

    /// <summary>
    /// vLLM's <c>determine_available_memory</c>: KV = <c>gpu_memory_utilization</c> x total GPU memory (as CUDA
    /// reports it) - weights - peak activation of the profile run - non-torch memory - CUDA graph memory.
    /// </summary>
    Vllm,

    /// <summary>
    /// TensorRT-LLM's KV cache manager: KV = <c>free_gpu_memory_fraction</c> x (what is free once the runtime, the
    /// weights and the activation buffers are allocated); the scenario's <c>gpu_memory_utilization</c> is read as
    /// that fraction (both default to 0.90).
    /// </summary>
    TrtLlm,
}

/// <summary>
/// How an engine sizes its KV cache, with every term that is not weights or KV as a named, sourced quantity (bytes).
/// An engine profile picks one (<see cref="ForEngine"/>); scenarios can override it with <c>memory_accounting</c>.
/// </summary>
/// <param name="Name">The accounting's name (<c>vllm</c>, <c>vllm-eager</c>, <c>trtllm</c>, <c>reserve</c>).</param>
/// <param name="Rule">How the budget is computed.</param>
/// <param name="NonTorchBytes">vLLM: memory allocated outside PyTorch during the profile run on one GPU with TP = 1
/// (cuBLAS / attention workspaces, CUDA runtime growth).</param>
/// <param name="CollectiveBufferBytes">Added to <paramref name="NonTorchBytes"/> when the GPU talks to peers
/// (TP, PP or EP > 1): NCCL communicator buffers and vLLM's custom all-reduce buffers.</param>
/// <param name="CudaGraphBytes">Memory the captured CUDA graphs keep (0 for an eager engine).</param>
/// <param name="SamplerBytesPerLogit">vLLM's profile run ends with a dummy sampler pass over max_num_seqs x vocabulary
/// logits; its peak working set per logit (fp32 logits, probabilities, sort values and int64 indices).</param>
/// <param name="RuntimeBytes">TensorRT-LLM: CUDA context, cuBLAS / NCCL workspaces and the decoder's fixed buffers,
/// taken before the free memory is measured.</param>
/// <param name="ReplicatedEmbedding">Every TP rank holds the whole embedding table (TensorRT-LLM builds engines with
/// embedding parallelism off unless <c>--use_parallel_embedding</c> is given); false: the table is split over TP, as vLLM
/// splits it (VocabParallelEmbedding).</param>
public sealed record MemoryAccounting(
    string Name,
    MemoryBudgetRule Rule,
    double NonTorchBytes = 0,
    double CollectiveBufferBytes = 0,
    double CudaGraphBytes = 0,
    double SamplerBytesPerLogit = 0,
    double RuntimeBytes = 0,
    bool ReplicatedEmbedding = false)
{
    private const double GiB = MemoryArithmetic.BytesPerGiB;

    /// <summary>The original rule (see <see cref="MemoryBudgetRule.Reserve"/>).</summary>
    public static MemoryAccounting Reserve { get; } = new("reserve", MemoryBudgetRule.Reserve);

    /// <summary>
    /// vLLM (V1, CUDA graphs). Terms from vLLM's own memory-profiling logs on H100 (llm-d/llm-d-benchmark
    /// config_explorer/empirical-vllm-memory-results.md, vLLM 0.11, util 0.9; vllm-project/vllm#10511):
    /// non-torch 0.13 GiB at TP = 1 and 0.55 GiB at TP = 2 (so 0.42 GiB of collective buffers); CUDA graphs
    /// between -0.88 and +1.03 GiB there, 0.13-0.53 GiB in vLLM's "Graph capturing finished ... took" lines
    /// (vllm-project/vllm#11349, generative-computing/mellea#416): 0.4 GiB taken; the profile run's peak activation
    /// is the sampler's, 38.7 B per logit of max_num_seqs x vocabulary (the mean over Llama-3.1-8B, Qwen3-0.6B,
    /// Qwen3-32B and gpt-oss-20b in that table at max_num_seqs 1024: 4.76 / 5.56 / 5.64 / 7.38 GiB; v0's 1.26 GiB
    /// for Llama-3-8B at 256 sequences, #10511, gives 41 B).
    /// </summary>
    public static MemoryAccounting Vllm { get; } = new("vllm", MemoryBudgetRule.Vllm,
        NonTorchBytes: 0.13 * GiB, CollectiveBufferBytes: 0.42 * GiB, CudaGraphBytes: 0.4 * GiB, SamplerBytesPerLogit: 38.7);

    /// <summary>vLLM with <c>enforce_eager</c> (no CUDA graphs): what the Splitwise-era engine ran.</summary>
    public static MemoryAccounting VllmEager { get; } = Vllm with { Name = "vllm-eager", CudaGraphBytes = 0 };

    /// <summary>
    /// TensorRT-LLM (<c>free_gpu_memory_fraction</c>, default 0.9: "the fraction of free GPU memory after the model
    /// is loaded" to give the KV cache; TensorRT-LLM docs, "How to Change KV Cache Behavior" and "Memory Usage of
    /// TensorRT-LLM"). Activations are the engine's preallocated buffers for max_num_tokens plus fp32 logits of
    /// max_batch_size sequences over the whole vocabulary (gathered across TP); the runtime (CUDA context,
    /// workspaces, decoder buffers) is taken as 1.0 GiB, an ESTIMATE (CUDA contexts alone take 0.3-0.6 GiB). The
    /// embedding table is whole on every TP rank: TensorRT-LLM's checkpoint converters (examples/*/convert_checkpoint.py)
    /// say "By default embedding parallelism is disabled" (<c>--use_parallel_embedding</c> turns it on).
    /// </summary>
    public static MemoryAccounting TrtLlm { get; } = new("trtllm", MemoryBudgetRule.TrtLlm, RuntimeBytes: 1.0 * GiB, ReplicatedEmbedding: true);

    /// <summary>Names accepted by <see cref="Named"/> (scenario key <c>memory_accounting</c>; <c>auto</c> = by engine).</summary>
    public static IReadOnlyList<string> Names { get; } = new[] { "auto", "vllm", "vllm-eager", "trtllm", "reserve" };

    /// <summary>The accounting an engine profile uses: trtllm -> TensorRT-LLM's, splitwise -> eager vLLM's, else vLLM's.</summary>
    public static MemoryAccounting ForEngine(string engine) => engine.Trim().ToLowerInvariant() switch
    {
        "trtllm" => TrtLlm,
        "splitwise" => VllmEager,
        _ => Vllm,
    };

    /// <summary>The accounting named <paramref name="name"/>; <c>auto</c> defers to <see cref="ForEngine"/>.</summary>
    public static MemoryAccounting Named(string name, string engine) => name.Trim().ToLowerInvariant() switch
    {
        "auto" => ForEngine(engine),
        "vllm" => Vllm,
        "vllm-eager" => VllmEager,
        "trtllm" => TrtLlm,
        "reserve" => Reserve,
        _ => throw new ArgumentException($"memory_accounting '{name}': allowed {string.Join(", ", Names)}"),
    };

    /// <summary>Non-torch memory of one GPU of <paramref name="plan"/> (collective buffers when it has peers).</summary>
    public double NonTorchFor(ParallelPlan plan) =>
        NonTorchBytes + (plan.Tp * plan.Pp * plan.Cp > 1 || plan.Ep > 1 ? CollectiveBufferBytes : 0);

    /// <summary>
    /// Peak of vLLM's profile run on one GPU: the larger of the forward pass over max_num_batched_tokens
    /// (<see cref="MemoryPlanner.ForwardActivationBytes"/>) and, on the last stage, the dummy sampler pass over
    /// min(max_num_seqs, max_num_batched_tokens) x the whole vocabulary (logits are gathered over TP before sampling).
    /// </summary>
    public double ProfilePeakBytes(ModelSpec m, ParallelPlan plan, MemorySettings settings, bool isLast)
    {
        double forward = MemoryPlanner.ForwardActivationBytes(m, plan, settings);
        double seqs = Math.Min(settings.MaxNumSeqs, settings.MaxNumBatchedTokens);
        double sampler = isLast ? seqs * m.VocabSize * SamplerBytesPerLogit : 0;
        return Math.Max(forward, sampler);
    }

    /// <summary>TensorRT-LLM's activation buffers: forward over max_num_tokens plus fp32 logits of max_batch_size sequences.</summary>
    public static double TrtLlmActivationBytes(ModelSpec m, ParallelPlan plan, MemorySettings settings, bool isLast) =>
        MemoryPlanner.ForwardActivationBytes(m, plan, settings) + (isLast ? (double)settings.MaxNumSeqs * m.VocabSize * 4.0 : 0);
}
