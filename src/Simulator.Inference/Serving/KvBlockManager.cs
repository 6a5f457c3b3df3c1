using System.Diagnostics;

namespace Simulator.Inference.Serving;

/// <summary>
/// The paged KV cache of one replica, counted in blocks of <see cref="BlockSize"/> tokens. Sequences
/// hold whole blocks; the manager never lets the blocks in use exceed <see cref="CapacityBlocks"/>.
/// With <see cref="PrefixCaching"/> it also keeps the identities of full prompt blocks (vLLM's automatic prefix
/// caching): a cached block is shared by reference count, and a block no sequence references stays cached (LRU)
/// until an allocation needs its space, when it is evicted to the CPU tier (if any) or dropped.
/// </summary>
// Implementation note: anonymous blocks (everything without an identity) are only counted, so allocation stays
// O(1) per block and a million-request run needs no per-block objects; only blocks with an identity get an
// entry. "Used" counts referenced blocks; cached unreferenced blocks are free for allocation (they are evicted
// on demand), so FreeBlocks, CanAllocate and Utilization mean the same with caching on or off, and with no
// identities in the workload the numbers are exactly those of the count-only manager.
public sealed class KvBlockManager
{
    private readonly PrefixCache? _cache;

    public KvBlockManager(int capacityBlocks, int blockSize, bool prefixCaching = false, long cpuCapacityBlocks = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacityBlocks, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(cpuCapacityBlocks);
        CapacityBlocks = capacityBlocks;
        BlockSize = blockSize;
        if (prefixCaching) _cache = new PrefixCache(cpuCapacityBlocks);
    }

    /// <summary>Total blocks of the replica.</summary>
    public int CapacityBlocks { get; }

    /// <summary>Tokens per block.</summary>
    public int BlockSize { get; }

    /// <summary>Whether full blocks keep their identity for reuse (scheduler.enable_prefix_caching).</summary>
    public bool PrefixCaching => _cache != null;

    /// <summary>Blocks of the CPU tier (0 = no tier).</summary>
    public long CpuCapacityBlocks => _cache?.CpuCapacityBlocks ?? 0;

    /// <summary>Blocks held by sequences now (a shared block counts once).</summary>
    public int UsedBlocks { get; private set; }

    /// <summary>The most blocks ever held at once.</summary>
    public int PeakUsedBlocks { get; private set; }

    /// <summary>Blocks a new allocation may take: never used, or cached without references (evicted on demand).</summary>
    public int FreeBlocks => CapacityBlocks - UsedBlocks;

    /// <summary>Unreferenced blocks still cached in GPU memory.</summary>
    public int CachedFreeBlocks => _cache?.EvictableBlocks ?? 0;

    /// <summary>Blocks in the CPU tier now.</summary>
    public long CpuBlocks => _cache?.CpuBlocks ?? 0;

    /// <summary>Blocks evicted from GPU memory so far (moved to the CPU tier or dropped).</summary>
    public long EvictedBlocks => _cache?.EvictedBlocks ?? 0;

    /// <summary>Used / capacity, in [0, 1].</summary>
    public double Utilization => (double)UsedBlocks / CapacityBlocks;

    /// <summary>Blocks needed for <paramref name="tokens"/> tokens.</summary>
    public int BlocksFor(long tokens) => (int)((tokens + BlockSize - 1) / BlockSize);

    /// <summary>Whether <paramref name="blocks"/> more blocks fit while leaving <paramref name="reserveBlocks"/> free.</summary>
    public bool CanAllocate(int blocks, int reserveBlocks = 0) => blocks <= FreeBlocks - reserveBlocks;

    /// <summary>Takes <paramref name="blocks"/> anonymous blocks, evicting cached ones if needed; throws if they do not fit (callers check first).</summary>
    public void Allocate(int blocks)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(blocks);
        if (blocks > FreeBlocks)
            throw new InvalidOperationException($"KV cache over capacity: {blocks} blocks asked, {FreeBlocks} free of {CapacityBlocks}");
        MakeRoom(blocks);
        Take(blocks);
    }

    /// <summary>Gives back <paramref name="blocks"/> anonymous blocks.</summary>
    public void Release(int blocks)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(blocks);
        if (blocks > UsedBlocks) throw new InvalidOperationException($"releasing {blocks} KV blocks but only {UsedBlocks} are in use");
        UsedBlocks -= blocks;
    }

    /// <summary>
    /// The longest run of cached leading granules of <paramref name="keys"/> among the first <paramref name="cacheableGranules"/>,
    /// whose skipped blocks stop at <paramref name="maxHitBlocks"/> (none without caching).
    /// </summary>
    public PrefixHit Match(PrefixBlockKeys keys, int cacheableGranules, int maxHitBlocks) =>
        _cache == null || !keys.HasIds || maxHitBlocks <= 0 || cacheableGranules <= 0 ? default : _cache.Match(keys, cacheableGranules, maxHitBlocks, BlockSize);

    /// <summary>
    /// References the blocks of <paramref name="hit"/> (from <see cref="Match"/> just before) for a sequence, appending
    /// them to <paramref name="held"/>; CPU-tier blocks get a GPU block back (evicting if needed). The caller has
    /// checked that <c>hit.EntryBlocks - hit.SharedBlocks</c> blocks fit.
    /// </summary>
    public void Acquire(PrefixBlockKeys keys, PrefixHit hit, List<CachedBlock> held)
    {
        if (_cache == null || hit.Granules == 0) return;
        int newlyUsed = _cache.Acquire(keys, hit, BlockSize, held, out var reloads);
        if (newlyUsed > FreeBlocks) throw new InvalidOperationException($"KV cache over capacity: a prefix hit needs {newlyUsed} blocks, {FreeBlocks} free");
        int reloaded = 0;
        foreach (var b in reloads) reloaded += b.Blocks;
        // The pinned hits are already out of the eviction list; count them used, then make room for the reloads.
        Take(newlyUsed - reloaded);
        MakeRoom(reloaded);
        foreach (var b in reloads) _cache.Install(b);
        Take(reloaded);
        reloads.Clear();
    }

    /// <summary>Gives identities to a sequence's full granules [<paramref name="from"/>, <paramref name="to"/>), already allocated to it as anonymous blocks.</summary>
    public void Register(PrefixBlockKeys keys, int from, int to, List<CachedBlock> held)
    {
        if (_cache == null || to <= from) return;
        _cache.Register(keys, from, to, BlockSize, held);
    }

    /// <summary>Releases a sequence's <paramref name="heldBlocks"/> blocks: the entries in <paramref name="held"/> stay cached (unreferenced), the rest are freed.</summary>
    public void ReleaseHeld(List<CachedBlock>? held, int heldBlocks)
    {
        if (held != null && held.Count > 0)
        {
            foreach (var b in held) heldBlocks -= b.Blocks;
            int unreferenced = _cache!.Release(held);
            UsedBlocks -= unreferenced;
        }
        Release(heldBlocks);
    }

    /// <summary>
    /// The GPU lost its memory (a replica went down): every unreferenced cached block leaves HBM (to the CPU tier when
    /// there is one: host memory survives a GPU failure). Call after every sequence has released its blocks.
    /// </summary>
    public void DropGpuCache()
    {
        if (_cache == null) return;
        while (_cache.EvictableBlocks > 0) _cache.EvictOne();
    }

    /// <summary>A description of a broken invariant of the cache, or null (tests).</summary>
    public string? CheckInvariants()
    {
        if (UsedBlocks < 0 || UsedBlocks > CapacityBlocks) return $"{UsedBlocks} blocks used of {CapacityBlocks}";
        if (_cache == null) return null;
        if (UsedBlocks + _cache.EvictableBlocks > CapacityBlocks)
            return $"{UsedBlocks} used + {_cache.EvictableBlocks} cached blocks exceed the capacity {CapacityBlocks}";
        return _cache.CheckInvariants();
    }

    private void MakeRoom(int blocks)
    {
        if (_cache == null) return;
        int unallocated = CapacityBlocks - UsedBlocks - _cache.EvictableBlocks;
        while (unallocated < blocks) unallocated += _cache.EvictOne();
    }

    private void Take(int blocks)
    {
        UsedBlocks += blocks;
        if (UsedBlocks > PeakUsedBlocks) PeakUsedBlocks = UsedBlocks;
        Debug.Assert(UsedBlocks <= CapacityBlocks);
    }
}
