using Request = Simulator.Inference.Workload.Request;

namespace Simulator.Inference.Serving;

/// <summary>A replica's prefix-cache figures over a run (or since the last sample).</summary>
/// <param name="Enabled">Whether the replica caches prefixes at all.</param>
/// <param name="PromptTokens">Prompt tokens of the requests looked up at their first admission.</param>
/// <param name="HbmHitTokens">Of those, tokens found in GPU memory.</param>
/// <param name="CpuHitTokens">Of those, tokens found in the CPU tier.</param>
/// <param name="EvictedBlocks">Blocks evicted from GPU memory (to the CPU tier or dropped).</param>
public sealed record PrefixCacheStats(bool Enabled, long PromptTokens, long HbmHitTokens, long CpuHitTokens, long EvictedBlocks)
{
    /// <summary>No caching.</summary>
    public static PrefixCacheStats Disabled { get; } = new(false, 0, 0, 0, 0);
}

// The prefix-cache side of a replica: lookups at admission, block registration as prompts are scheduled, releases,
// and what the router may ask.
public sealed partial class Replica
{
    private PrefixBlockKeys? _routerKeys;
    private long _promptTokensLookedUp, _hbmHitTokens, _cpuHitTokens;
    private long _samplePromptTokensLookedUp, _samplePrefixHitTokens;

    /// <inheritdoc />
    public int CachedPrefixTokens(Request request)
    {
        if (!Kv.PrefixCaching || request.PrefixBlockIds is not { Count: > 0 }) return 0;
        if (_routerKeys == null) _routerKeys = new PrefixBlockKeys(request);
        else _routerKeys.Reset(request);
        return Match(_routerKeys, request.InputTokens).Blocks * Kv.BlockSize;
    }

    /// <summary>The cache hit of a prefill of <paramref name="tokens"/> tokens over <paramref name="keys"/>.</summary>
    private PrefixHit Match(PrefixBlockKeys keys, int tokens) =>
        Kv.Match(keys, keys.CacheableGranules(tokens, Kv.BlockSize), MaxHitBlocks(keys, tokens));

    /// <summary>
    /// Leading blocks a prefill of <paramref name="tokens"/> tokens may take from the cache: full identified blocks, and
    /// never the last token (vLLM: a full hit still recomputes the last token to get its logits).
    /// </summary>
    private int MaxHitBlocks(PrefixBlockKeys keys, int tokens) =>
        Math.Min(keys.CacheableBlocks(tokens, Kv.BlockSize), Math.Max(0, tokens - 1) / Kv.BlockSize);

    private PrefixHit LookUpPrefix(Sequence seq)
    {
        if (!Kv.PrefixCaching) return default;
        if (seq.Keys == null)
        {
            if (seq.Request.PrefixBlockIds is not { Count: > 0 }) return default;
            seq.Keys = new PrefixBlockKeys(seq.Request);
        }
        return Match(seq.Keys, seq.PrefillTargetTokens);
    }

    /// <summary>Takes the hit blocks for <paramref name="seq"/>: its prefill starts after them; CPU-tier blocks are loaded in this batch.</summary>
    private void AcquirePrefix(Sequence seq, PrefixHit hit, int group)
    {
        seq.CachedBlockRefs ??= new List<CachedBlock>();
        Kv.Acquire(seq.Keys!, hit, seq.CachedBlockRefs);
        seq.ComputedTokens = hit.Blocks * Kv.BlockSize;
        seq.RegisteredGranules = hit.Granules;
        // Implementation note: the reload from host memory is charged to the batch in which the prefill continues, as
        // swap-in is; in flow mode it does not contend with other traffic on the PCIe link (see README limits).
        if (hit.CpuBlocks > 0) _groups[group].SwapNs += HostTransferNs((long)hit.CpuBlocks * Kv.BlockSize);
        RecordLookup(seq, hit);
    }

    /// <summary>Records the first admission's lookup (later ones, after a recompute preemption, are not hits of the request).</summary>
    private void RecordLookup(Sequence seq, PrefixHit hit)
    {
        if (seq.Admitted) return;
        seq.Admitted = true;
        if (!Kv.PrefixCaching) return;
        seq.CachedTokens = hit.HbmBlocks * Kv.BlockSize;
        seq.CpuCachedTokens = hit.CpuBlocks * Kv.BlockSize;
        _promptTokensLookedUp += seq.Request.InputTokens;
        _hbmHitTokens += seq.CachedTokens;
        _cpuHitTokens += seq.CpuCachedTokens;
        _samplePromptTokensLookedUp += seq.Request.InputTokens;
        _samplePrefixHitTokens += seq.CachedTokens + seq.CpuCachedTokens;
    }

    /// <summary>Gives identities to the full granules of <paramref name="seq"/> once <paramref name="tokensScheduled"/> tokens are scheduled.</summary>
    private void RegisterFullBlocks(Sequence seq, int tokensScheduled)
    {
        int to = seq.Keys!.CacheableGranules(tokensScheduled, Kv.BlockSize);
        if (to <= seq.RegisteredGranules) return;
        seq.CachedBlockRefs ??= new List<CachedBlock>();
        Kv.Register(seq.Keys, seq.RegisteredGranules, to, seq.CachedBlockRefs);
        seq.RegisteredGranules = to;
    }

    /// <summary>Releases every block <paramref name="seq"/> holds; identified ones stay cached (unreferenced).</summary>
    private void ReleaseBlocks(Sequence seq) => Kv.ReleaseHeld(seq.CachedBlockRefs, seq.HeldBlocks);

    private PrefixCacheStats PrefixTotals() => Kv.PrefixCaching
        ? new PrefixCacheStats(true, _promptTokensLookedUp, _hbmHitTokens, _cpuHitTokens, Kv.EvictedBlocks)
        : PrefixCacheStats.Disabled;
}
