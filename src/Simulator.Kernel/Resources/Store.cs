namespace Simulator.Kernel;

/// <summary>An offer to put an item into a <see cref="Store{T}"/>: succeeds once the item is in the store.</summary>
public sealed class StorePut<T> : Event
{
    internal StorePut(Simulation environment, T item) : base(environment) { Item = item; }

    /// <summary>The item offered.</summary>
    public T Item { get; }

    /// <summary>True when withdrawn before the store took the item.</summary>
    public bool IsCancelled { get; internal set; }
}

/// <summary>A wish to take an item from a <see cref="Store{T}"/>: succeeds with the item as its value.</summary>
public sealed class StoreGet<T> : Event
{
    internal StoreGet(Simulation environment) : base(environment) { }

    /// <summary>The item taken (default until the event succeeded).</summary>
    public T Item { get; private set; } = default!;

    /// <summary>True when withdrawn before an item was taken.</summary>
    public bool IsCancelled { get; internal set; }

    internal void Deliver(T item)
    {
        Item = item;
        Succeed(item);
    }
}

/// <summary>
/// A typed first-in first-out buffer between processes (SimSharp's Store, but typed): Put waits while the
/// store is full, Get waits while it is empty; waiting puts and gets are served in arrival order.
/// </summary>
public sealed class Store<T>
{
    private readonly Queue<T> _items = new();
    private readonly Queue<StorePut<T>> _puts = new();
    private readonly Queue<StoreGet<T>> _gets = new();
    private int _waitingPuts;
    private int _waitingGets;

    /// <param name="environment">The simulation.</param>
    /// <param name="capacity">Most items held at once; unbounded by default.</param>
    public Store(Simulation environment, int capacity = int.MaxValue)
    {
        Environment = environment ?? throw new ArgumentNullException(nameof(environment));
        if (capacity < 1) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "capacity must be at least 1");
        Capacity = capacity;
    }

    public Simulation Environment { get; }

    public int Capacity { get; }

    /// <summary>Items held now.</summary>
    public int Count => _items.Count;

    /// <summary>Puts waiting for room.</summary>
    public int WaitingPuts => _waitingPuts;

    /// <summary>Gets waiting for an item.</summary>
    public int WaitingGets => _waitingGets;

    /// <summary>Offers <paramref name="item"/>; the event succeeds when the store has taken it.</summary>
    public StorePut<T> Put(T item)
    {
        var put = new StorePut<T>(Environment, item);
        _puts.Enqueue(put);
        _waitingPuts++;
        Balance();
        return put;
    }

    /// <summary>Asks for the oldest item; the event succeeds with it.</summary>
    public StoreGet<T> Get()
    {
        var get = new StoreGet<T>(Environment);
        _gets.Enqueue(get);
        _waitingGets++;
        Balance();
        return get;
    }

    /// <summary>Withdraws a put that has not been served yet; returns false if it already was.</summary>
    public bool Cancel(StorePut<T> put)
    {
        ArgumentNullException.ThrowIfNull(put);
        if (put.IsTriggered || put.IsCancelled) return false;
        put.IsCancelled = true;
        _waitingPuts--;
        return true;
    }

    /// <summary>Withdraws a get that has not been served yet (e.g. after a timeout won an AnyOf); false if it already was.</summary>
    public bool Cancel(StoreGet<T> get)
    {
        ArgumentNullException.ThrowIfNull(get);
        if (get.IsTriggered || get.IsCancelled) return false;
        get.IsCancelled = true;
        _waitingGets--;
        return true;
    }

    private void Balance()
    {
        bool progress = true;
        while (progress)
        {
            progress = false;
            while (_puts.Count > 0 && _items.Count < Capacity)
            {
                var put = _puts.Dequeue();
                if (put.IsCancelled) continue;
                _waitingPuts--;
                _items.Enqueue(put.Item);
                put.Succeed(put.Item);
                progress = true;
            }
            while (_gets.Count > 0 && _items.Count > 0)
            {
                var get = _gets.Dequeue();
                if (get.IsCancelled) continue;
                _waitingGets--;
                get.Deliver(_items.Dequeue());
                progress = true;
            }
        }
    }
}
