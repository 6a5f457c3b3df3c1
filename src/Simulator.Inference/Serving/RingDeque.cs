namespace Simulator.Inference.Serving;

/// <summary>A growable double-ended queue on a ring buffer (no allocation per element).</summary>
public sealed class RingDeque<T>
{
    private T[] _items = new T[16];
    private int _head;

    public int Count { get; private set; }

    public T this[int index]
    {
        get
        {
            if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index));
            return _items[(_head + index) & (_items.Length - 1)];
        }
    }

    public T PeekFront()
    {
        if (Count == 0) throw new InvalidOperationException("the deque is empty");
        return _items[_head];
    }

    public void PushBack(T item)
    {
        if (Count == _items.Length) Grow();
        _items[(_head + Count) & (_items.Length - 1)] = item;
        Count++;
    }

    public void PushFront(T item)
    {
        if (Count == _items.Length) Grow();
        _head = (_head - 1) & (_items.Length - 1);
        _items[_head] = item;
        Count++;
    }

    public T PopFront()
    {
        if (Count == 0) throw new InvalidOperationException("the deque is empty");
        var item = _items[_head];
        _items[_head] = default!;
        _head = (_head + 1) & (_items.Length - 1);
        Count--;
        return item;
    }

    /// <summary>Removes every item (a replica that goes down drops its queues).</summary>
    public void Clear()
    {
        Array.Clear(_items);
        _head = 0;
        Count = 0;
    }

    private void Grow()
    {
        var bigger = new T[_items.Length * 2];
        for (int i = 0; i < Count; i++) bigger[i] = _items[(_head + i) & (_items.Length - 1)];
        _items = bigger;
        _head = 0;
    }
}
