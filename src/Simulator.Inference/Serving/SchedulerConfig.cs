using System.Globalization;

namespace Simulator.Inference.Serving;

/// <summary>What happens to a running sequence evicted for lack of KV blocks.</summary>
public enum PreemptionMode
{
    /// <summary>Its KV blocks are freed; it re-prefills its prompt plus the tokens it already generated.</summary>
    Recompute,

    /// <summary>Its KV blocks move to host memory over PCIe and come back later (costs bytes / host link bandwidth each way).</summary>
    Swap,
}

/// <summary>
/// One replica's scheduler settings (the scenario's <c>scheduler:</c> keys, vLLM names) plus the KV
/// capacity the memory plan gives it. Immutable; <see cref="Validate"/> says what is wrong.
/// </summary>
/// <param name="Policy">Scheduler name in <see cref="SchedulerRegistry"/>: vllm, sarathi, orca, static, trtllm.</param>
/// <param name="MaxNumSeqs">Most sequences in one iteration's batch (one microbatch).</param>
/// <param name="MaxNumBatchedTokens">Token budget of one iteration (decodes count one each).</param>
/// <param name="EnableChunkedPrefill">vllm only: split prompts into chunks that fit the token budget.</param>
/// <param name="BlockSize">Tokens per KV block.</param>
/// <param name="KvCapacityBlocks">KV blocks the replica holds (from the memory plan).</param>
/// <param name="Preemption">Recompute or swap.</param>
/// <param name="ChunkSize">sarathi only: prefill tokens piggybacked onto each iteration.</param>
/// <param name="KvBytesPerTokenPerGpu">KV bytes one token occupies on one GPU (swap traffic per GPU link).</param>
/// <param name="HostLinkGBps">Host (PCIe) bandwidth per GPU in GB/s, for swap.</param>
/// <param name="WatermarkFraction">Fraction of KV blocks kept free when admitting new requests (vLLM watermark; 0 = none).</param>
/// <param name="EnablePrefixCaching">Keep full prompt blocks for reuse by later requests with the same prefix (vLLM's enable_prefix_caching).</param>
/// <param name="CpuOffloadBlocks">Blocks of the CPU KV tier that receives blocks evicted from GPU memory (0 = none; needs prefix caching).</param>
public sealed record SchedulerConfig(
    string Policy = "vllm",
    int MaxNumSeqs = 256,
    int MaxNumBatchedTokens = 8192,
    bool EnableChunkedPrefill = true,
    int BlockSize = 16,
    int KvCapacityBlocks = 1 << 16,
    PreemptionMode Preemption = PreemptionMode.Recompute,
    int ChunkSize = 512,
    long KvBytesPerTokenPerGpu = 0,
    double HostLinkGBps = 0,
    double WatermarkFraction = 0,
    bool EnablePrefixCaching = false,
    long CpuOffloadBlocks = 0)
{
    /// <summary>Problems with these settings, one line each (empty when valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!SchedulerRegistry.Contains(Policy))
            errors.Add($"policy: unknown scheduler '{Policy}'; allowed: {string.Join(", ", SchedulerRegistry.Names)}");
        if (MaxNumSeqs < 1) errors.Add(Fmt($"max_num_seqs: {MaxNumSeqs} must be at least 1"));
        if (MaxNumBatchedTokens < 1) errors.Add(Fmt($"max_num_batched_tokens: {MaxNumBatchedTokens} must be at least 1"));
        if (BlockSize < 1) errors.Add(Fmt($"block_size: {BlockSize} must be at least 1"));
        if (KvCapacityBlocks < 1) errors.Add(Fmt($"kv capacity: {KvCapacityBlocks} blocks; at least 1 block is needed"));
        if (ChunkSize < 1) errors.Add(Fmt($"chunk_size: {ChunkSize} must be at least 1"));
        if (WatermarkFraction < 0 || WatermarkFraction >= 1) errors.Add(Fmt($"watermark: {WatermarkFraction} must lie in [0, 1)"));
        if (Preemption == PreemptionMode.Swap && (HostLinkGBps <= 0 || KvBytesPerTokenPerGpu <= 0))
            errors.Add("preemption: swap needs a host link bandwidth (GB/s) and the KV bytes per token per GPU, both positive");
        if (CpuOffloadBlocks < 0) errors.Add(Fmt($"kv_offloading_size: {CpuOffloadBlocks} blocks must not be negative"));
        if (CpuOffloadBlocks > 0 && !EnablePrefixCaching)
            errors.Add("kv_offloading_size: a CPU KV tier holds evicted prefix-cache blocks; it needs enable_prefix_caching");
        if (CpuOffloadBlocks > 0 && (HostLinkGBps <= 0 || KvBytesPerTokenPerGpu <= 0))
            errors.Add("kv_offloading_size: a CPU KV tier needs a host link bandwidth (GB/s) and the KV bytes per token per GPU, both positive");
        return errors;
    }

    /// <summary>Throws <see cref="ArgumentException"/> listing every problem, if any.</summary>
    public void EnsureValid()
    {
        var errors = Validate();
        if (errors.Count > 0) throw new ArgumentException("invalid scheduler settings: " + string.Join("; ", errors));
    }

    /// <summary>KV blocks needed to hold <paramref name="tokens"/> tokens.</summary>
    public int BlocksFor(long tokens) => (int)((tokens + BlockSize - 1) / BlockSize);

    private static string Fmt(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
