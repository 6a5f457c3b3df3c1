// FsCheck supplies the arguments of [FsProperty] methods; NUnit's analyzer cannot see that.
#pragma warning disable NUnit1027
using NUnit.Framework;
using FsProperty = FsCheck.NUnit.PropertyAttribute;
using Simulator.Inference.Serving;
using Request = Simulator.Inference.Workload.Request;

namespace Simulator.Inference.Tests.Serving;

public sealed class PrefixCacheTest
{
    /// <summary>A request whose prompt is <paramref name="ids"/>.Length ids of <paramref name="idTokens"/> tokens.</summary>
    private static Request WithIds(long id, int idTokens, params long[] ids) => new(id, 0, ids.Length * idTokens, 1, ids, idTokens);

    [Test]
    public void Keys_EqualLeadingIds_ShareBlocks_UntilTheFirstDifferentId()
    {
        var a = new PrefixBlockKeys(WithIds(0, 32, 1, 2, 3));
        var b = new PrefixBlockKeys(WithIds(1, 32, 1, 2, 9));
        // 32-token ids on 16-token blocks: 2 blocks per id, one granule per id.
        Assert.That(a.GranuleBlocks(16), Is.EqualTo(2));
        Assert.That(a.Key(0, 16), Is.EqualTo(b.Key(0, 16)));
        Assert.That(a.Key(1, 16), Is.EqualTo(b.Key(1, 16)));
        Assert.That(a.Key(2, 16), Is.Not.EqualTo(b.Key(2, 16)));
        // Same id at another position is another block (the chain includes the parent).
        Assert.That(new PrefixBlockKeys(WithIds(2, 32, 2)).Key(0, 16), Is.Not.EqualTo(a.Key(1, 16)));
        // 16-token ids on 32-token blocks: one block covers two ids.
        var c = new PrefixBlockKeys(WithIds(3, 16, 1, 2, 3, 4));
        var d = new PrefixBlockKeys(WithIds(4, 16, 1, 7, 3, 4));
        Assert.That(c.GranuleBlocks(32), Is.EqualTo(1));
        Assert.That(c.Key(0, 32), Is.Not.EqualTo(d.Key(0, 32)));
        Assert.That(c.CacheableBlocks(64, 32), Is.EqualTo(2));
        Assert.That(c.CacheableBlocks(63, 32), Is.EqualTo(1), "a partial last block is never cached");
    }

    [Test]
    public void ReleasedBlocks_StayCached_AndAreFoundByTheNextRequestWithTheSamePrefix()
    {
        var kv = new KvBlockManager(100, 16, prefixCaching: true);
        var keys = new PrefixBlockKeys(WithIds(0, 16, 1, 2, 3, 4));
        var held = new List<CachedBlock>();
        kv.Allocate(5);
        kv.Register(keys, 0, 4, held);
        kv.ReleaseHeld(held, 5);
        Assert.That(kv.UsedBlocks, Is.Zero);
        Assert.That(kv.CachedFreeBlocks, Is.EqualTo(4));
        Assert.That(kv.FreeBlocks, Is.EqualTo(100), "cached unreferenced blocks count as free");

        var other = new PrefixBlockKeys(WithIds(1, 16, 1, 2, 7, 8));
        var hit = kv.Match(other, cacheableGranules: 4, maxHitBlocks: 3);
        Assert.That(hit, Is.EqualTo(new PrefixHit(2, 2, 2, 2, 0, 0)));
        var mine = new List<CachedBlock>();
        kv.Acquire(other, hit, mine);
        Assert.That(kv.UsedBlocks, Is.EqualTo(2));
        Assert.That(kv.CachedFreeBlocks, Is.EqualTo(2));
        Assert.That(kv.CheckInvariants(), Is.Null);
    }

    [Test]
    public void SharedBlocks_AreCountedOnce_AndAFullHitStillComputesTheLastToken()
    {
        var kv = new KvBlockManager(10, 16, prefixCaching: true);
        var keys = new PrefixBlockKeys(WithIds(0, 16, 1, 2, 3));
        var first = new List<CachedBlock>();
        kv.Allocate(4);
        kv.Register(keys, 0, 3, first);
        // The same 48-token prompt again: at most (48 - 1) / 16 = 2 blocks may be skipped.
        var hit = kv.Match(keys, 3, (48 - 1) / 16);
        Assert.That(hit.Blocks, Is.EqualTo(2));
        Assert.That(hit.SharedBlocks, Is.EqualTo(2), "the first sequence still holds them");
        var second = new List<CachedBlock>();
        kv.Acquire(keys, hit, second);
        Assert.That(kv.UsedBlocks, Is.EqualTo(4), "shared blocks are not allocated twice");
        Assert.That(second.Select(b => b.References), Is.EqualTo(new[] { 2, 2 }));
    }

    [Test]
    public void Eviction_TakesTheLeastRecentlyReleased_TailFirst_AndNeverAReferencedBlock()
    {
        var kv = new KvBlockManager(6, 16, prefixCaching: true);
        var a = new PrefixBlockKeys(WithIds(0, 16, 1, 2, 3));
        var b = new PrefixBlockKeys(WithIds(1, 16, 7, 8, 9));
        var heldA = new List<CachedBlock>();
        var heldB = new List<CachedBlock>();
        kv.Allocate(3); kv.Register(a, 0, 3, heldA);
        kv.Allocate(3); kv.Register(b, 0, 3, heldB);
        kv.ReleaseHeld(heldA, 3);                   // a's three blocks are evictable, b's are referenced
        kv.Allocate(1);                             // needs one block: a's tail goes first
        Assert.That(kv.EvictedBlocks, Is.EqualTo(1));
        Assert.That(kv.Match(a, 3, 3).Blocks, Is.EqualTo(2), "a's head survives");
        Assert.That(kv.Match(b, 3, 3).Blocks, Is.EqualTo(3), "referenced blocks are never evicted");
        Assert.That(kv.CanAllocate(3), Is.False);
        Assert.Throws<InvalidOperationException>(() => kv.Allocate(3));
        Assert.That(kv.CheckInvariants(), Is.Null);
    }

    [Test]
    public void CpuTier_ReceivesEvictedBlocks_AndAHitThereComesBackToTheGpu()
    {
        var kv = new KvBlockManager(4, 16, prefixCaching: true, cpuCapacityBlocks: 2);
        var a = new PrefixBlockKeys(WithIds(0, 16, 1, 2, 3));
        var held = new List<CachedBlock>();
        kv.Allocate(3); kv.Register(a, 0, 3, held);
        kv.ReleaseHeld(held, 3);
        kv.Allocate(4);                              // evicts all three; the tier keeps the two most recent (the head)
        Assert.That(kv.EvictedBlocks, Is.EqualTo(3));
        Assert.That(kv.CpuBlocks, Is.EqualTo(2));
        kv.Release(4);
        var hit = kv.Match(a, 3, 3);
        Assert.That(hit, Is.EqualTo(new PrefixHit(2, 2, 2, 0, 2, 0)));
        var mine = new List<CachedBlock>();
        kv.Acquire(a, hit, mine);
        Assert.That(kv.CpuBlocks, Is.Zero);
        Assert.That(kv.UsedBlocks, Is.EqualTo(2));
        Assert.That(kv.Match(a, 3, 3).HbmBlocks, Is.EqualTo(2));
        Assert.That(kv.CheckInvariants(), Is.Null);
    }

    [Test]
    public void Granules_OfMooncakeSizedIds_AreCachedAndEvictedWhole()
    {
        var kv = new KvBlockManager(100, 16, prefixCaching: true);
        var a = new PrefixBlockKeys(WithIds(0, 512, 5, 6));
        Assert.That(a.GranuleBlocks(16), Is.EqualTo(32));
        var held = new List<CachedBlock>();
        kv.Allocate(64); kv.Register(a, 0, 2, held);
        kv.ReleaseHeld(held, 64);
        Assert.That(kv.CachedFreeBlocks, Is.EqualTo(64));
        var hit = kv.Match(a, 2, (1024 - 1) / 16);
        Assert.That(hit.Blocks, Is.EqualTo(63), "the last token's block is recomputed");
        Assert.That(hit.EntryBlocks, Is.EqualTo(64));
        kv.Allocate(50);                             // one granule of 32 blocks goes at once
        Assert.That(kv.EvictedBlocks, Is.EqualTo(32));
    }

    /// <summary>Random admissions, registrations, releases and allocations on a small cache with a CPU tier.</summary>
    [FsProperty(MaxTest = 200)]
    public void RandomOperations_NeverExceedCapacity_NeverEvictAReferencedBlock(int seed)
    {
        var rng = new Random(seed);
        var kv = new KvBlockManager(40, 4, prefixCaching: true, cpuCapacityBlocks: rng.Next(0, 20));
        var live = new List<(PrefixBlockKeys Keys, List<CachedBlock> Held, int Blocks)>();
        for (int step = 0; step < 300; step++)
        {
            if (live.Count > 0 && rng.Next(3) == 0)
            {
                int i = rng.Next(live.Count);
                kv.ReleaseHeld(live[i].Held, live[i].Blocks);
                live.RemoveAt(i);
            }
            else
            {
                // A prompt of 1..8 ids of 4 tokens from a small alphabet, so prefixes repeat.
                var ids = Enumerable.Range(0, rng.Next(1, 9)).Select(_ => (long)rng.Next(3)).ToArray();
                var keys = new PrefixBlockKeys(WithIds(step, 4, ids));
                int blocks = ids.Length + 1;
                var hit = kv.Match(keys, ids.Length, ids.Length - 1);
                if (!kv.CanAllocate(blocks - hit.SharedBlocks)) continue;
                var held = new List<CachedBlock>();
                kv.Acquire(keys, hit, held);
                kv.Allocate(blocks - hit.EntryBlocks);
                kv.Register(keys, hit.Granules, ids.Length, held);
                live.Add((keys, held, blocks));
            }
            Assert.That(kv.CheckInvariants(), Is.Null);
            Assert.That(kv.UsedBlocks + kv.CachedFreeBlocks, Is.LessThanOrEqualTo(kv.CapacityBlocks));
            foreach (var (_, held, _) in live)
                Assert.That(held.All(b => b.References > 0), Is.True, "a referenced block left the cache");
        }
    }
}
