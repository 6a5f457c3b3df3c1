using System.Diagnostics;
using Simulator.Inference.Workload;

namespace Simulator.Inference.Serving;

/// <summary>
/// The identities of a request's KV blocks for prefix caching. The simulator has no token ids, so a block's identity
/// is a hash chain over the workload's prefix ids (<see cref="Request.PrefixBlockIds"/>, each covering
/// <see cref="Request.PrefixBlockTokens"/> tokens; Mooncake's hash_ids cover 512): KV block j (tokens
/// [j x block_size, (j+1) x block_size)) is identified by the chain hash of the ids covering tokens
/// [0, (j+1) x block_size) together with j, so two requests share KV block j exactly when all their ids up to that
/// point are equal (vLLM hashes (parent hash, block tokens) the same way). Only full KV blocks inside the ids'
/// coverage are cacheable; tokens past the last id never are.
/// <para>
/// When an id covers a whole number of KV blocks (512-token ids on 16-token blocks: 32), the blocks of one id share
/// everything that identifies them, so the cache keeps them as one entry, a <em>granule</em> of
/// <see cref="GranuleBlocks"/> blocks, cached, referenced and evicted together. Otherwise a granule is one block.
/// </para>
/// </summary>
// Implementation note: granules make the Mooncake trace 32x cheaper to cache (one entry per 512 tokens instead of
// 32); the price is that the blocks of a partly covered last id are not cached (Mooncake's last id of a prompt
// covers a partial 512-token block, which a later prompt almost never repeats: on the first 2,000 requests the
// reusable share moves from 29.41% to 29.39%) and that eviction frees 32 blocks at once. The chain over the ids is
// extended lazily and kept, so a lookup costs O(granules touched). 64-bit hashes: collisions are ignored.
public sealed class PrefixBlockKeys
{
    private IReadOnlyList<long>? _ids;
    private int _idTokens;
    private ulong[] _chain = new ulong[16];
    private int _chainLength;

    /// <summary>Keys for <paramref name="request"/> (no keys when it carries no prefix ids).</summary>
    public PrefixBlockKeys(Request request) => Reset(request);

    /// <summary>Reuses this object for <paramref name="request"/>.</summary>
    public void Reset(Request request)
    {
        ArgumentNullException.ThrowIfNull(request);
        _ids = request.PrefixBlockIds is { Count: > 0 } ids && request.PrefixBlockTokens > 0 ? ids : null;
        _idTokens = request.PrefixBlockTokens;
        _chainLength = 0;
    }

    /// <summary>Whether the request carries prefix ids at all.</summary>
    public bool HasIds => _ids != null;

    /// <summary>Tokens the ids cover (ids x tokens per id).</summary>
    public long CoveredTokens => _ids == null ? 0 : (long)_ids.Count * _idTokens;

    /// <summary>KV blocks per cache entry: the blocks one id covers when it covers a whole number of them, else 1.</summary>
    public int GranuleBlocks(int blockSize) => _idTokens >= blockSize && _idTokens % blockSize == 0 ? _idTokens / blockSize : 1;

    /// <summary>Full KV blocks of <paramref name="blockSize"/> tokens among the first <paramref name="tokens"/> tokens that have an identity.</summary>
    public int CacheableBlocks(long tokens, int blockSize) => (int)(Math.Min(tokens, CoveredTokens) / blockSize);

    /// <summary>Whole granules among the first <paramref name="tokens"/> tokens.</summary>
    public int CacheableGranules(long tokens, int blockSize) => CacheableBlocks(tokens, blockSize) / GranuleBlocks(blockSize);

    /// <summary>The identity of granule <paramref name="granule"/> (which must be cacheable).</summary>
    public ulong Key(int granule, int blockSize)
    {
        int g = GranuleBlocks(blockSize);
        int lastBlock = (granule + 1) * g - 1;
        int id = (int)(((long)(lastBlock + 1) * blockSize - 1) / _idTokens);
        while (_chainLength <= id)
        {
            if (_chainLength == _chain.Length) Array.Resize(ref _chain, _chain.Length * 2);
            ulong parent = _chainLength == 0 ? 0x5DEECE66DUL : _chain[_chainLength - 1];
            _chain[_chainLength] = Fmix(parent * 0x9E3779B97F4A7C15UL ^ (ulong)_ids![_chainLength]);
            _chainLength++;
        }
        // A granule of one block is named by its block index too (several blocks may lie under one id).
        return g > 1 ? _chain[id] : Fmix(_chain[id] ^ ((ulong)(lastBlock + 1) * 0xD6E8FEB86659FD93UL));
    }

    // MurmurHash3's 64-bit finalizer: a bijective mix.
    private static ulong Fmix(ulong k)
    {
        k ^= k >> 33;
        k *= 0xFF51AFD7ED558CCDUL;
        k ^= k >> 33;
        k *= 0xC4CEB9FE1A85EC53UL;
        return k ^ (k >> 33);
    }
}

/// <summary>A lookup's result: the longest run of leading cached granules, in blocks, split by where they lie.</summary>
/// <param name="Granules">Leading cache entries found (GPU + CPU tier); the sequence references all of them.</param>
/// <param name="EntryBlocks">Blocks those entries occupy.</param>
/// <param name="Blocks">Blocks whose prefill is skipped: <see cref="EntryBlocks"/>, capped so that the last prompt token is computed.</param>
/// <param name="HbmBlocks">Of <see cref="Blocks"/>, blocks found in GPU memory.</param>
/// <param name="CpuBlocks">Of <see cref="Blocks"/>, blocks found in the CPU tier (loaded back over the host link).</param>
/// <param name="SharedBlocks">Entry blocks that other sequences hold now (they cost no new block).</param>
public readonly record struct PrefixHit(int Granules, int EntryBlocks, int Blocks, int HbmBlocks, int CpuBlocks, int SharedBlocks);

/// <summary>One cache entry: a granule of KV blocks with an identity, its reference count and its place in an LRU list.</summary>
public sealed class CachedBlock
{
    internal ulong Key;
    internal int Blocks;
    internal int RefCount;
    internal bool OnCpu;
    internal CachedBlock? Prev;
    internal CachedBlock? Next;

    /// <summary>Sequences holding the entry now (0 = cached only, evictable).</summary>
    public int References => RefCount;
}

/// <summary>An intrusive doubly linked LRU list: the head is the least recently used entry.</summary>
internal sealed class LruList
{
    private CachedBlock? _head, _tail;

    public int Count { get; private set; }

    /// <summary>KV blocks of the entries in the list.</summary>
    public long Blocks { get; private set; }

    public CachedBlock? Head => _head;

    /// <summary>Appends <paramref name="b"/> as the most recently used.</summary>
    public void Append(CachedBlock b)
    {
        b.Prev = _tail;
        b.Next = null;
        if (_tail != null) _tail.Next = b; else _head = b;
        _tail = b;
        Count++;
        Blocks += b.Blocks;
    }

    public void Remove(CachedBlock b)
    {
        if (b.Prev != null) b.Prev.Next = b.Next; else _head = b.Next;
        if (b.Next != null) b.Next.Prev = b.Prev; else _tail = b.Prev;
        b.Prev = b.Next = null;
        Count--;
        Blocks -= b.Blocks;
    }
}

/// <summary>
/// The prefix cache of one replica's KV manager: a hash table of cached granules in GPU memory (reference counted;
/// unreferenced ones stay cached in an LRU list until an allocation needs their space) and an optional CPU tier
/// (LRU, bounded only by its capacity in blocks) that receives the entries evicted from GPU memory.
/// </summary>
internal sealed class PrefixCache
{
    private readonly Dictionary<ulong, CachedBlock> _hbm = new();
    private readonly Dictionary<ulong, CachedBlock> _cpu = new();
    private readonly LruList _evictable = new();
    private readonly LruList _cpuLru = new();
    private readonly Stack<CachedBlock> _pool = new();
    private readonly List<CachedBlock> _pending = new();

    public PrefixCache(long cpuCapacityBlocks) => CpuCapacityBlocks = cpuCapacityBlocks;

    public long CpuCapacityBlocks { get; }

    /// <summary>KV blocks of unreferenced entries still cached in GPU memory.</summary>
    public int EvictableBlocks => (int)_evictable.Blocks;

    /// <summary>KV blocks in the CPU tier.</summary>
    public long CpuBlocks => _cpuLru.Blocks;

    /// <summary>KV blocks evicted from GPU memory so far (to the CPU tier or dropped).</summary>
    public long EvictedBlocks { get; private set; }

    public PrefixHit Match(PrefixBlockKeys keys, int cacheableGranules, int maxHitBlocks, int blockSize)
    {
        int g = keys.GranuleBlocks(blockSize);
        int q = 0, hbm = 0, shared = 0;
        bool lastOnCpu = false;
        for (; q < cacheableGranules && q * g < maxHitBlocks; q++)
        {
            ulong key = keys.Key(q, blockSize);
            if (_hbm.TryGetValue(key, out var b))
            {
                hbm++;
                lastOnCpu = false;
                if (b.RefCount > 0) shared++;
            }
            else if (_cpu.ContainsKey(key)) lastOnCpu = true;
            else break;
        }
        int entryBlocks = q * g;
        int blocks = Math.Min(entryBlocks, maxHitBlocks);
        int hbmBlocks = hbm * g, cpuBlocks = (q - hbm) * g;
        int cut = entryBlocks - blocks; // the last token's block is computed again: charge the cut to the last entry's tier
        if (lastOnCpu) cpuBlocks -= cut; else hbmBlocks -= cut;
        return new PrefixHit(q, entryBlocks, blocks, hbmBlocks, cpuBlocks, shared * g);
    }

    /// <summary>
    /// Takes a reference on the first <paramref name="hit"/>.Granules entries (found by <see cref="Match"/> just before),
    /// appending them to <paramref name="held"/> in order. Returns the blocks that become used: unreferenced GPU
    /// entries now referenced plus CPU entries that need GPU blocks; the CPU ones are returned in
    /// <paramref name="reloads"/> and enter the GPU table through <see cref="Install"/>.
    /// </summary>
    public int Acquire(PrefixBlockKeys keys, PrefixHit hit, int blockSize, List<CachedBlock> held, out List<CachedBlock> reloads)
    {
        // Pin every GPU hit first, so that making room for the CPU ones cannot evict an entry of this very prefix.
        int newlyUsed = 0;
        _pending.Clear();
        for (int q = 0; q < hit.Granules; q++)
        {
            ulong key = keys.Key(q, blockSize);
            if (_hbm.TryGetValue(key, out var b))
            {
                if (b.RefCount++ == 0) { _evictable.Remove(b); newlyUsed += b.Blocks; }
            }
            else
            {
                b = _cpu[key];
                _cpu.Remove(key);
                _cpuLru.Remove(b);
                b.OnCpu = false;
                b.RefCount = 1;
                _pending.Add(b);
                newlyUsed += b.Blocks;
            }
            held.Add(b);
        }
        reloads = _pending;
        return newlyUsed;
    }

    /// <summary>Puts an entry reloaded from the CPU tier (GPU space already made) into the GPU table.</summary>
    public void Install(CachedBlock b) => _hbm[b.Key] = b;

    /// <summary>
    /// Gives identities to granules [<paramref name="from"/>, <paramref name="to"/>) that a sequence has just scheduled
    /// in full (vLLM caches a block when it is scheduled full). A granule already cached on the GPU stays anonymous
    /// for this sequence (a duplicate); one found only in the CPU tier is replaced by the new GPU copy.
    /// </summary>
    public void Register(PrefixBlockKeys keys, int from, int to, int blockSize, List<CachedBlock> held)
    {
        int g = keys.GranuleBlocks(blockSize);
        for (int q = from; q < to; q++)
        {
            ulong key = keys.Key(q, blockSize);
            if (_hbm.ContainsKey(key)) continue;
            if (_cpu.Remove(key, out var old))
            {
                _cpuLru.Remove(old);
                Recycle(old);
            }
            var b = _pool.Count > 0 ? _pool.Pop() : new CachedBlock();
            b.Key = key;
            b.Blocks = g;
            b.RefCount = 1;
            b.OnCpu = false;
            _hbm[key] = b;
            held.Add(b);
        }
    }

    /// <summary>Drops the references of <paramref name="held"/>, last entry first (so a prefix's tail is evicted before its head); returns the blocks that became unreferenced.</summary>
    public int Release(List<CachedBlock> held)
    {
        int freed = 0;
        for (int i = held.Count - 1; i >= 0; i--)
        {
            var b = held[i];
            Debug.Assert(b.RefCount > 0 && !b.OnCpu);
            if (--b.RefCount == 0)
            {
                _evictable.Append(b);
                freed += b.Blocks;
            }
        }
        held.Clear();
        return freed;
    }

    /// <summary>Evicts the least recently used unreferenced GPU entry: to the CPU tier when there is one, else dropped; returns its blocks.</summary>
    public int EvictOne()
    {
        var b = _evictable.Head ?? throw new InvalidOperationException("no evictable KV block");
        if (b.RefCount != 0) throw new InvalidOperationException("a referenced KV block cannot be evicted");
        _evictable.Remove(b);
        _hbm.Remove(b.Key);
        EvictedBlocks += b.Blocks;
        int blocks = b.Blocks;
        if (CpuCapacityBlocks < b.Blocks)
        {
            Recycle(b);
            return blocks;
        }
        while (_cpuLru.Blocks + b.Blocks > CpuCapacityBlocks)
        {
            var lru = _cpuLru.Head!;
            _cpuLru.Remove(lru);
            _cpu.Remove(lru.Key);
            Recycle(lru);
        }
        b.OnCpu = true;
        _cpu[b.Key] = b;
        _cpuLru.Append(b);
        return blocks;
    }

    private void Recycle(CachedBlock b)
    {
        b.Prev = b.Next = null;
        b.RefCount = 0;
        b.OnCpu = false;
        _pool.Push(b);
    }

    /// <summary>Checks the tables against the lists (tests): every evictable entry is unreferenced and cached, every referenced one is not in a list.</summary>
    public string? CheckInvariants()
    {
        long unreferenced = 0;
        foreach (var b in _hbm.Values)
        {
            if (b.OnCpu) return "a CPU entry is in the GPU table";
            if (b.RefCount < 0) return "a negative reference count";
            if (b.RefCount == 0) unreferenced += b.Blocks;
        }
        if (unreferenced != _evictable.Blocks) return $"{unreferenced} unreferenced GPU blocks but {_evictable.Blocks} in the LRU list";
        for (var b = _evictable.Head; b != null; b = b.Next)
            if (b.RefCount != 0) return "a referenced entry is in the eviction list";
        if (_cpu.Count != _cpuLru.Count) return "CPU table and LRU list disagree";
        if (_cpuLru.Blocks > CpuCapacityBlocks && _cpuLru.Count > 0) return "CPU tier over capacity";
        return null;
    }
}
