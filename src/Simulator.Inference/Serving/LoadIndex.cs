namespace Simulator.Inference.Serving;

/// <summary>
/// A router that can keep an index of the replicas' loads instead of reading every replica at each pick. The serving
/// loop calls <see cref="Track"/> with the list it will route over (again whenever that list changes) and
/// <see cref="LoadChanged"/> whenever a replica's load may have changed; a router given any other list scans it.
/// </summary>
public interface ILoadIndexedRouter : IRouter
{
    /// <summary>Indexes <paramref name="replicas"/>: later picks over this same list (same object, same count) use the index.</summary>
    void Track(IReadOnlyList<IReplicaLoad> replicas);

    /// <summary>The load of the tracked list's element <paramref name="position"/> may have changed since it was last read.</summary>
    void LoadChanged(int position);
}

/// <summary>
/// An indexed binary min-heap of positions 0..n-1 ordered by (outstanding requests, position): its top is what a scan
/// for the first position with the fewest outstanding requests finds. Positions whose load may have changed are marked
/// and re-read at the next <see cref="Top"/>, so a pick costs O(changes x log n) instead of O(n).
/// </summary>
public sealed class OutstandingHeap
{
    private readonly IReadOnlyList<IReplicaLoad> _replicas;
    private readonly int[] _heap;   // heap slot -> position
    private readonly int[] _slot;   // position -> heap slot
    private readonly int[] _key;    // position -> outstanding as last read
    private readonly bool[] _dirty;
    private readonly List<int> _changed = new();

    public OutstandingHeap(IReadOnlyList<IReplicaLoad> replicas)
    {
        _replicas = replicas ?? throw new ArgumentNullException(nameof(replicas));
        int n = replicas.Count;
        _heap = new int[n];
        _slot = new int[n];
        _key = new int[n];
        _dirty = new bool[n];
        for (int p = 0; p < n; p++)
        {
            _heap[p] = p;
            _slot[p] = p;
            _key[p] = replicas[p].Outstanding;
        }
        for (int i = n / 2 - 1; i >= 0; i--) SiftDown(i);
    }

    /// <summary>The list this heap indexes.</summary>
    public IReadOnlyList<IReplicaLoad> Replicas => _replicas;

    /// <summary>Positions indexed.</summary>
    public int Count => _heap.Length;

    /// <summary>Marks <paramref name="position"/> to be re-read before the next pick.</summary>
    public void MarkChanged(int position)
    {
        if (_dirty[position]) return;
        _dirty[position] = true;
        _changed.Add(position);
    }

    /// <summary>The first position with the fewest outstanding requests (after re-reading the marked ones).</summary>
    public int Top()
    {
        foreach (int p in _changed)
        {
            _dirty[p] = false;
            int key = _replicas[p].Outstanding;
            int old = _key[p];
            if (key == old) continue;
            _key[p] = key;
            if (key < old) SiftUp(_slot[p]); else SiftDown(_slot[p]);
        }
        _changed.Clear();
        return _heap[0];
    }

    private bool Less(int a, int b) => _key[a] < _key[b] || (_key[a] == _key[b] && a < b);

    private void SiftUp(int i)
    {
        int p = _heap[i];
        while (i > 0)
        {
            int parent = (i - 1) / 2;
            int q = _heap[parent];
            if (!Less(p, q)) break;
            Place(i, q);
            i = parent;
        }
        Place(i, p);
    }

    private void SiftDown(int i)
    {
        int n = _heap.Length;
        int p = _heap[i];
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= n) break;
            if (child + 1 < n && Less(_heap[child + 1], _heap[child])) child++;
            int c = _heap[child];
            if (!Less(c, p)) break;
            Place(i, c);
            i = child;
        }
        Place(i, p);
    }

    private void Place(int slot, int position)
    {
        _heap[slot] = position;
        _slot[position] = slot;
    }
}
