using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Simulator.Kernel;

/// <summary>What a queue entry's target is, so the hot loop dispatches on a tag instead of type tests.</summary>
internal enum EntryKind : byte
{
    Event = 0,
    Handler = 1,
    Action = 2,
}

/// <summary>One pending entry of the event queue.</summary>
// Implementation note: (priority, insertion index, kind) are packed into one ulong `Order`:
// bits 63..48 hold priority + 32768, bits 47..2 the insertion index, bits 1..0 the kind.
// Comparing (TimeNs, Order) is then two integer compares, and the entry stays 32 bytes.
internal struct QueueEntry
{
    public long TimeNs;
    public ulong Order;
    public object Target;
    public long Token;

    public readonly EntryKind Kind => (EntryKind)(Order & 3UL);
    public readonly int Priority => (int)(Order >> 48) - 32768;
    public readonly long Insertion => (long)((Order >> 2) & ((1UL << 46) - 1));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly bool Before(in HeapEntry o) => TimeNs < o.TimeNs || (TimeNs == o.TimeNs && Order < o.Order);
}

/// <summary>One entry of the heap: <see cref="QueueEntry"/> with its target in the queue's slot table (no object reference).</summary>
// Implementation note: an entry without a reference moves as plain memory: the heap's sifts copy entries level by level,
// and with the target inside, every copy into the heap array went through the GC's write barrier.
internal struct HeapEntry
{
    public long TimeNs;
    public ulong Order;
    public long Token;
    public int Slot;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly bool Before(in HeapEntry o) => TimeNs < o.TimeNs || (TimeNs == o.TimeNs && Order < o.Order);
}

/// <summary>
/// 4-ary min-heap of <see cref="HeapEntry"/> structs ordered by (time, priority, insertion index),
/// so ties in time and priority pop first-in first-out.
/// </summary>
// Implementation note: a 4-ary heap is shallower than a binary one (half the levels), and its four
// children sit in one or two cache lines, which makes sift-down cheaper for 10^3..10^5 pending entries.
// A second structure, a FIFO ring of entries due now with priority 0 (triggered events, granted requests,
// process starts), bypasses the heap: such entries are already in (time, priority, insertion) order among
// themselves, so a pop only compares the ring's head with the heap's top.
internal sealed class EventQueue
{
    /// <summary>Smallest priority the packed order can hold.</summary>
    public const int MinPriority = -32768;

    /// <summary>Largest priority the packed order can hold.</summary>
    public const int MaxPriority = 32767;

    private const long MaxInsertion = (1L << 46) - 1;

    private HeapEntry[] _heap = new HeapEntry[256];
    private object?[] _targets = new object?[256];   // by slot: the targets of the heap's entries
    private int[] _freeSlots = new int[256];
    private int _freeCount;
    private int _slotsUsed;
    private int _count;
    private long _insertion;
    private QueueEntry[] _ring = new QueueEntry[64]; // length is a power of two
    private int _ringHead;
    private int _ringCount;

    public int Count => _count + _ringCount;

    /// <summary>Entries pushed so far (the next insertion index).</summary>
    public long Inserted => _insertion;

    /// <summary>Time of the first entry (undefined when empty).</summary>
    public long PeekTime()
    {
        if (_ringCount == 0) return _heap[0].TimeNs;
        long ringTime = _ring[_ringHead].TimeNs;
        return _count == 0 || ringTime <= _heap[0].TimeNs ? ringTime : _heap[0].TimeNs;
    }

    /// <summary>
    /// Pushes an entry due at <paramref name="nowNs"/> with priority 0. The caller guarantees that no entry
    /// earlier than <paramref name="nowNs"/> is pending and that time never goes back.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void PushNow(long nowNs, object target, long token, EntryKind kind)
    {
        if (_ringCount > 0 && _ring[_ringHead].TimeNs != nowNs)
        {
            Push(nowNs, 0, target, token, kind); // cannot happen while the ring drains before time advances
            return;
        }
        long insertion = _insertion++;
        if (insertion > MaxInsertion) throw new InvalidOperationException("more than 2^46 events scheduled");
        if (_ringCount == _ring.Length) GrowRing();
        ref QueueEntry slot = ref _ring[(_ringHead + _ringCount) & (_ring.Length - 1)];
        slot.TimeNs = nowNs;
        slot.Order = (32768UL << 48) | ((ulong)insertion << 2) | (ulong)kind;
        slot.Target = target;
        slot.Token = token;
        _ringCount++;
    }

    private void GrowRing()
    {
        var bigger = new QueueEntry[_ring.Length * 2];
        for (int i = 0; i < _ringCount; i++) bigger[i] = _ring[(_ringHead + i) & (_ring.Length - 1)];
        _ring = bigger;
        _ringHead = 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Push(long timeNs, int priority, object target, long token, EntryKind kind)
    {
        if ((uint)(priority - MinPriority) > (uint)(MaxPriority - MinPriority))
            throw new ArgumentOutOfRangeException(nameof(priority), priority, "priority must lie in [-32768, 32767]");
        long insertion = _insertion++;
        if (insertion > MaxInsertion) throw new InvalidOperationException("more than 2^46 events scheduled");
        HeapEntry entry;
        entry.TimeNs = timeNs;
        entry.Order = ((ulong)(priority - MinPriority) << 48) | ((ulong)insertion << 2) | (ulong)kind;
        entry.Token = token;
        entry.Slot = TakeSlot(target);
        PushEntry(entry);
    }

    /// <summary>A free slot of the target table, now holding <paramref name="target"/> (the latest freed first: it is warm).</summary>
    private int TakeSlot(object target)
    {
        int slot;
        if (_freeCount > 0) slot = _freeSlots[--_freeCount];
        else
        {
            slot = _slotsUsed++;
            if (slot == _targets.Length) Array.Resize(ref _targets, _targets.Length * 2);
        }
        _targets[slot] = target;
        return slot;
    }

    /// <summary>Empties <paramref name="slot"/> and returns what it held.</summary>
    private object ReleaseSlot(int slot)
    {
        var target = _targets[slot]!;
        _targets[slot] = null;
        if (_freeCount == _freeSlots.Length) Array.Resize(ref _freeSlots, _freeSlots.Length * 2);
        _freeSlots[_freeCount++] = slot;
        return target;
    }

    private void PushEntry(in HeapEntry entry)
    {
        if (_count == _heap.Length) Array.Resize(ref _heap, _heap.Length * 2);
        ref HeapEntry root = ref MemoryMarshal.GetArrayDataReference(_heap);
        int i = _count++;
        while (i > 0)
        {
            int parent = (i - 1) >> 2;
            ref HeapEntry p = ref Unsafe.Add(ref root, parent);
            if (!entry.Before(p)) break;
            Unsafe.Add(ref root, i) = p;
            i = parent;
        }
        Unsafe.Add(ref root, i) = entry;
    }

    /// <summary>Removes the first entry into <paramref name="top"/> if it is due before <paramref name="untilNs"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryPopBefore(long untilNs, out QueueEntry top)
    {
        if (_ringCount > 0)
        {
            ref QueueEntry head = ref _ring[_ringHead];
            if (_count == 0 || head.Before(_heap[0]))
            {
                if (head.TimeNs >= untilNs)
                {
                    top = default;
                    return false;
                }
                top = head;
                head = default;
                _ringHead = (_ringHead + 1) & (_ring.Length - 1);
                _ringCount--;
                return true;
            }
        }
        else if (_count == 0)
        {
            top = default;
            return false;
        }
        if (_heap[0].TimeNs >= untilNs)
        {
            top = default;
            return false;
        }
        PopHeap(out top);
        return true;
    }

    /// <summary>
    /// Removes the first entry into <paramref name="top"/> if it is ordered before (<paramref name="untilNs"/>,
    /// <paramref name="untilPriority"/>): due earlier, or due then with a lower priority.
    /// </summary>
    public bool TryPopBefore(long untilNs, int untilPriority, out QueueEntry top)
    {
        ulong untilOrder = (ulong)(untilPriority - MinPriority) << 48;
        bool ring = _ringCount > 0 && (_count == 0 || _ring[_ringHead].Before(_heap[0]));
        if (!ring && _count == 0)
        {
            top = default;
            return false;
        }
        long firstTime = ring ? _ring[_ringHead].TimeNs : _heap[0].TimeNs;
        ulong firstOrder = ring ? _ring[_ringHead].Order : _heap[0].Order;
        if (firstTime > untilNs || (firstTime == untilNs && firstOrder >= untilOrder))
        {
            top = default;
            return false;
        }
        Pop(out top);
        return true;
    }

    /// <summary>Removes the first entry into <paramref name="top"/>.</summary>
    public void Pop(out QueueEntry top)
    {
        if (_ringCount > 0 && (_count == 0 || _ring[_ringHead].Before(_heap[0])))
        {
            ref QueueEntry head = ref _ring[_ringHead];
            top = head;
            head = default;
            _ringHead = (_ringHead + 1) & (_ring.Length - 1);
            _ringCount--;
            return;
        }
        if (_count == 0) throw new InvalidOperationException("no event pending");
        PopHeap(out top);
    }

    // Implementation note: bottom-up deletion (Floyd): the hole left by the root sinks to a leaf along
    // the smallest children without comparing against the displaced last entry, which is then sifted
    // up from there. The last entry usually belongs near the bottom, so this saves a compare per level.
    private void PopHeap(out QueueEntry top)
    {
        ref HeapEntry root = ref MemoryMarshal.GetArrayDataReference(_heap);
        top.TimeNs = root.TimeNs;
        top.Order = root.Order;
        top.Token = root.Token;
        top.Target = ReleaseSlot(root.Slot);
        int count = --_count;
        HeapEntry last = Unsafe.Add(ref root, count);
        if (count == 0) return;
        int hole = 0;
        while (true)
        {
            int first = (hole << 2) + 1;
            if (first >= count) break;
            int best = first + 4 <= count ? SmallestOfFour(ref root, first) : SmallestChild(ref root, first, count);
            Unsafe.Add(ref root, hole) = Unsafe.Add(ref root, best);
            hole = best;
        }
        while (hole > 0)
        {
            int parent = (hole - 1) >> 2;
            ref HeapEntry p = ref Unsafe.Add(ref root, parent);
            if (!last.Before(p)) break;
            Unsafe.Add(ref root, hole) = p;
            hole = parent;
        }
        Unsafe.Add(ref root, hole) = last;
    }

    /// <summary>The index among the four entries from <paramref name="first"/> on of the one ordered first.</summary>
    // Implementation note: a node with all four children (nearly every node a pop passes) is decided as a tournament:
    // the two pairs, then their winners, three compares without a branch on their result and without the loop's
    // running minimum (26 instructions per child before, about 13 now). The keys (time, order) of two entries are never
    // equal (the order holds the insertion index), so the minimum is one entry whatever the order of the compares.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int SmallestOfFour(ref HeapEntry root, int first)
    {
        ref HeapEntry c = ref Unsafe.Add(ref root, first);
        int a = first + BeforeBit(Unsafe.Add(ref c, 1), c);
        int b = first + 2 + BeforeBit(Unsafe.Add(ref c, 3), Unsafe.Add(ref c, 2));
        int mask = -BeforeBit(Unsafe.Add(ref root, b), Unsafe.Add(ref root, a));
        return a ^ ((a ^ b) & mask);
    }

    /// <summary>1 when <paramref name="x"/> is ordered before <paramref name="y"/>, else 0, computed without a branch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int BeforeBit(in HeapEntry x, in HeapEntry y)
    {
        bool before = (x.TimeNs < y.TimeNs) | ((x.TimeNs == y.TimeNs) & (x.Order < y.Order));
        return Unsafe.As<bool, byte>(ref before);
    }

    /// <summary>The index in [<paramref name="first"/>, <paramref name="end"/>) of the entry ordered first (the earliest of equals).</summary>
    // Implementation note: the children's keys are in no useful order, so a compare-and-branch per child mispredicts about
    // half the time (the serving loop's heap of a few hundred replicas spent ~10% of its samples here). The running
    // minimum is kept with masks instead of branches: the same compares, the same (strict) choice, no jump on their result.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int SmallestChild(ref HeapEntry root, int first, int end)
    {
        ref HeapEntry f = ref Unsafe.Add(ref root, first);
        long bestTime = f.TimeNs;
        ulong bestOrder = f.Order;
        int best = first;
        for (int c = first + 1; c < end; c++)
        {
            ref HeapEntry cand = ref Unsafe.Add(ref root, c);
            long time = cand.TimeNs;
            ulong order = cand.Order;
            bool before = (time < bestTime) | ((time == bestTime) & (order < bestOrder));
            long mask = -(long)Unsafe.As<bool, byte>(ref before);
            bestTime ^= (bestTime ^ time) & mask;
            bestOrder ^= (bestOrder ^ order) & (ulong)mask;
            best ^= (best ^ c) & (int)mask;
        }
        return best;
    }

    /// <summary>Cache lines of the next entry's target that <see cref="PrefetchNext"/> asks the CPU to load.</summary>
    private const int PrefetchLines = 8;

    /// <summary>
    /// Asks the CPU to start loading the next entry's target (its first <see cref="PrefetchLines"/> cache lines) while
    /// the entry just popped runs (<see cref="CachePrefetch"/>: a hint, no result can change).
    /// </summary>
    // Implementation note: with thousands of actors the next entry's target is usually cold, and it is known one event
    // ahead; an actor's own small objects are usually allocated right after it, so a few hundred bytes from its address
    // cover more than the object itself.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void PrefetchNext() =>
        CachePrefetch.Object(_ringCount > 0 ? _ring[_ringHead].Target : _count > 0 ? _targets[_heap[0].Slot] : null, PrefetchLines);

    /// <summary>Removes and returns the first entry.</summary>
    public QueueEntry Pop()
    {
        Pop(out var top);
        return top;
    }
}
