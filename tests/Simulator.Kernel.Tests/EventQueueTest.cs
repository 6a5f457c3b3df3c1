#pragma warning disable NUnit1027 // FsCheck generates the arguments of [FsCheckProperty] methods
using FsCheckProperty = FsCheck.NUnit.PropertyAttribute;
using NUnit.Framework;
using Simulator.Kernel;

namespace Simulator.Kernel.Tests;

public sealed class EventQueueTest
{
    private static readonly object Target = new();

    [Test]
    public void Pop_SameTimeAndPriority_IsFirstInFirstOut()
    {
        var q = new EventQueue();
        for (int i = 0; i < 100; i++) q.Push(5, 0, Target, i, EntryKind.Handler);
        for (int i = 0; i < 100; i++) Assert.That(q.Pop().Token, Is.EqualTo(i));
    }

    [Test]
    public void Pop_SameTime_LowerPriorityFirst()
    {
        var q = new EventQueue();
        q.Push(5, 1, Target, 1, EntryKind.Handler);
        q.Push(5, -1, Target, 2, EntryKind.Handler);
        q.Push(4, 7, Target, 3, EntryKind.Handler);
        Assert.That(new[] { q.Pop().Token, q.Pop().Token, q.Pop().Token }, Is.EqualTo(new long[] { 3, 2, 1 }));
    }

    [Test]
    public void Push_PriorityOutsidePackedRange_Throws()
    {
        var q = new EventQueue();
        Assert.Throws<ArgumentOutOfRangeException>(() => q.Push(0, 40_000, Target, 0, EntryKind.Handler));
        Assert.Throws<ArgumentOutOfRangeException>(() => q.Push(0, -40_000, Target, 0, EntryKind.Handler));
    }

    [Test]
    public void Entry_UnpacksPriorityInsertionAndKind()
    {
        var q = new EventQueue();
        q.Push(0, 0, Target, 0, EntryKind.Handler);
        q.Push(9, -32768, Target, 0, EntryKind.Action);
        q.Pop();
        var e = q.Pop();
        Assert.That((e.Priority, e.Insertion, e.Kind), Is.EqualTo((-32768, 1L, EntryKind.Action)));
    }

    [Test]
    public void Pop_Empty_Throws()
    {
        Assert.Throws<InvalidOperationException>(() => new EventQueue().Pop());
    }

    [Test]
    public void PushNow_InterleavesWithHeapEntriesByTimePriorityAndInsertion()
    {
        var q = new EventQueue();
        q.Push(5, 0, Target, 1, EntryKind.Handler);     // (5, 0, #0)
        q.Push(5, -1, Target, 2, EntryKind.Handler);    // (5, -1, #1)
        q.Push(6, -5, Target, 3, EntryKind.Handler);    // (6, -5, #2)
        q.Push(5, 1, Target, 4, EntryKind.Handler);     // (5, 1, #3)
        q.PushNow(5, Target, 5, EntryKind.Event);       // (5, 0, #4) in the ring
        q.PushNow(5, Target, 6, EntryKind.Event);       // (5, 0, #5) in the ring
        Assert.That(q.Count, Is.EqualTo(6));
        Assert.That(q.TryPopBefore(5, out _), Is.False);
        var order = new List<long>();
        while (q.TryPopBefore(long.MaxValue, out var e)) order.Add(e.Token);
        Assert.That(order, Is.EqualTo(new long[] { 2, 1, 5, 6, 4, 3 }));
    }

    [Test]
    public void Ring_GrowsPastItsInitialSize_KeepingFifoOrder()
    {
        var q = new EventQueue();
        for (int i = 0; i < 40; i++) q.PushNow(0, Target, i, EntryKind.Handler);
        for (int i = 0; i < 30; i++) Assert.That(q.Pop().Token, Is.EqualTo(i)); // the head has moved: the ring wraps
        for (int i = 40; i < 1000; i++) q.PushNow(0, Target, i, EntryKind.Handler);
        var rest = new List<long>();
        while (q.Count > 0) rest.Add(q.Pop().Token);
        Assert.That(rest, Is.EqualTo(Enumerable.Range(30, 970).Select(i => (long)i)));
    }

    [FsCheckProperty(MaxTest = 300)]
    public bool AnySchedule_PopsInTimePriorityInsertionOrder(ushort[] times, sbyte[] priorities)
    {
        var q = new EventQueue();
        var pushed = new List<(long Time, int Priority, long Insertion)>();
        var popped = new List<(long Time, int Priority, long Insertion)>();
        for (int i = 0; i < times.Length; i++)
        {
            int priority = priorities.Length == 0 ? 0 : priorities[i % priorities.Length] % 3;
            long time = times[i] % 50; // many ties
            q.Push(time, priority, Target, i, EntryKind.Event);
            pushed.Add((time, priority, i));
        }
        while (q.Count > 0)
        {
            var e = q.Pop();
            popped.Add((e.TimeNs, e.Priority, e.Token));
        }
        var expected = pushed.OrderBy(p => p.Time).ThenBy(p => p.Priority).ThenBy(p => p.Insertion).ToList();
        return popped.SequenceEqual(expected);
    }

    [FsCheckProperty(MaxTest = 300)]
    public bool InterleavedPushesAndPops_ReturnEachEntrysOwnTargetAndToken(ushort[] times, bool[] pops)
    {
        // The heap keeps targets in a slot table reused as entries leave: every popped entry must still carry the
        // target and token it was pushed with, in (time, priority, insertion) order among those pending.
        var q = new EventQueue();
        var pending = new List<(long Time, int Priority, long Insertion, object Target)>();
        long now = 0;
        for (int i = 0; i < times.Length; i++)
        {
            int priority = times[i] % 3 - 1;
            long time = now + times[i] % 40;
            var target = new object();
            q.Push(time, priority, target, i, EntryKind.Handler);
            pending.Add((time, priority, i, target));
            if (pops.Length > 0 && pops[i % pops.Length] && !PopMatches(q, pending, ref now)) return false;
        }
        while (q.Count > 0) if (!PopMatches(q, pending, ref now)) return false;
        return pending.Count == 0;
    }

    private static bool PopMatches(EventQueue q, List<(long Time, int Priority, long Insertion, object Target)> pending, ref long now)
    {
        var first = pending.OrderBy(p => p.Time).ThenBy(p => p.Priority).ThenBy(p => p.Insertion).First();
        pending.Remove(first);
        var e = q.Pop();
        now = e.TimeNs;
        return e.TimeNs == first.Time && e.Priority == first.Priority && e.Token == first.Insertion && ReferenceEquals(e.Target, first.Target);
    }
}
