namespace Simulator.Kernel;

internal readonly struct QueueEntry
{
    public readonly long TimeNs;
    public readonly int Priority;
    public readonly long Insertion;
    public readonly object Target;
    public readonly long Token;

    public QueueEntry(long timeNs, int priority, long insertion, object target, long token)
    {
        TimeNs = timeNs; Priority = priority; Insertion = insertion; Target = target; Token = token;
    }

    public bool Before(in QueueEntry o) =>
        TimeNs < o.TimeNs || (TimeNs == o.TimeNs && (Priority < o.Priority || (Priority == o.Priority && Insertion < o.Insertion)));
}

/// <summary>Binary min-heap of queue entries ordered by (time, priority, insertion).</summary>
internal sealed class EventQueue
{
    private QueueEntry[] _heap = new QueueEntry[64];

    public int Count { get; private set; }

    public long PeekTime() => _heap[0].TimeNs;

    public void Push(in QueueEntry entry)
    {
        if (Count == _heap.Length) Array.Resize(ref _heap, _heap.Length * 2);
        int i = Count++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (!entry.Before(_heap[parent])) break;
            _heap[i] = _heap[parent];
            i = parent;
        }
        _heap[i] = entry;
    }

    public QueueEntry Pop()
    {
        if (Count == 0) throw new InvalidOperationException("no event pending");
        var top = _heap[0];
        var last = _heap[--Count];
        _heap[Count] = default;
        if (Count > 0)
        {
            int i = 0;
            while (true)
            {
                int l = 2 * i + 1;
                if (l >= Count) break;
                int r = l + 1;
                int c = r < Count && _heap[r].Before(_heap[l]) ? r : l;
                if (!_heap[c].Before(last)) break;
                _heap[i] = _heap[c];
                i = c;
            }
            _heap[i] = last;
        }
        return top;
    }
}
