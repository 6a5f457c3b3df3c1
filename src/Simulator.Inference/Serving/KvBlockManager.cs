using System.Diagnostics;

namespace Simulator.Inference.Serving;

/// <summary>
/// The paged KV cache of one replica, counted in blocks of <see cref="BlockSize"/> tokens. Sequences
/// hold whole blocks; the manager never lets the blocks in use exceed <see cref="CapacityBlocks"/>.
/// </summary>
// Implementation note: only counts are kept (which physical block holds what does not change any
// timing), so allocation is O(1) and a million-request run needs no per-block objects.
public sealed class KvBlockManager
{
    public KvBlockManager(int capacityBlocks, int blockSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacityBlocks, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        CapacityBlocks = capacityBlocks;
        BlockSize = blockSize;
    }

    /// <summary>Total blocks of the replica.</summary>
    public int CapacityBlocks { get; }

    /// <summary>Tokens per block.</summary>
    public int BlockSize { get; }

    /// <summary>Blocks held by sequences now.</summary>
    public int UsedBlocks { get; private set; }

    /// <summary>The most blocks ever held at once.</summary>
    public int PeakUsedBlocks { get; private set; }

    public int FreeBlocks => CapacityBlocks - UsedBlocks;

    /// <summary>Used / capacity, in [0, 1].</summary>
    public double Utilization => (double)UsedBlocks / CapacityBlocks;

    /// <summary>Blocks needed for <paramref name="tokens"/> tokens.</summary>
    public int BlocksFor(long tokens) => (int)((tokens + BlockSize - 1) / BlockSize);

    /// <summary>Whether <paramref name="blocks"/> more blocks fit while leaving <paramref name="reserveBlocks"/> free.</summary>
    public bool CanAllocate(int blocks, int reserveBlocks = 0) => blocks <= FreeBlocks - reserveBlocks;

    /// <summary>Takes <paramref name="blocks"/> blocks; throws if they do not fit (callers check first).</summary>
    public void Allocate(int blocks)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(blocks);
        if (blocks > FreeBlocks)
            throw new InvalidOperationException($"KV cache over capacity: {blocks} blocks asked, {FreeBlocks} free of {CapacityBlocks}");
        UsedBlocks += blocks;
        if (UsedBlocks > PeakUsedBlocks) PeakUsedBlocks = UsedBlocks;
        Debug.Assert(UsedBlocks <= CapacityBlocks);
    }

    /// <summary>Gives back <paramref name="blocks"/> blocks.</summary>
    public void Release(int blocks)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(blocks);
        if (blocks > UsedBlocks) throw new InvalidOperationException($"releasing {blocks} KV blocks but only {UsedBlocks} are in use");
        UsedBlocks -= blocks;
    }
}
