using NUnit.Framework;
using Simulator.Inference.Serving;

namespace Simulator.Inference.Tests.Serving;

public sealed class KvBlockManagerTest
{
    [Test]
    public void BlocksFor_RoundsUpToWholeBlocks()
    {
        var kv = new KvBlockManager(100, 16);
        Assert.That(kv.BlocksFor(0), Is.EqualTo(0));
        Assert.That(kv.BlocksFor(1), Is.EqualTo(1));
        Assert.That(kv.BlocksFor(16), Is.EqualTo(1));
        Assert.That(kv.BlocksFor(17), Is.EqualTo(2));
    }

    [Test]
    public void AllocateRelease_TracksUsedPeakAndUtilization()
    {
        var kv = new KvBlockManager(10, 16);
        kv.Allocate(4);
        kv.Allocate(3);
        kv.Release(5);
        Assert.That(kv.UsedBlocks, Is.EqualTo(2));
        Assert.That(kv.PeakUsedBlocks, Is.EqualTo(7));
        Assert.That(kv.FreeBlocks, Is.EqualTo(8));
        Assert.That(kv.Utilization, Is.EqualTo(0.2).Within(1e-12));
    }

    [Test]
    public void Allocate_BeyondCapacity_ThrowsAndKeepsState()
    {
        var kv = new KvBlockManager(10, 16);
        kv.Allocate(8);
        Assert.That(kv.CanAllocate(3), Is.False);
        Assert.That(kv.CanAllocate(2), Is.True);
        Assert.That(kv.CanAllocate(2, reserveBlocks: 1), Is.False);
        Assert.Throws<InvalidOperationException>(() => kv.Allocate(3));
        Assert.That(kv.UsedBlocks, Is.EqualTo(8));
    }

    [Test]
    public void Release_MoreThanUsed_Throws()
    {
        var kv = new KvBlockManager(10, 16);
        kv.Allocate(2);
        Assert.Throws<InvalidOperationException>(() => kv.Release(3));
    }
}
