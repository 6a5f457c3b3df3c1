namespace Simulator.Hardware.Collectives;

/// <summary>
/// Memoises another <see cref="ICollectiveTimer"/>: the cost model asks for the same (operation, group, size)
/// millions of times in a run (decode batches repeat their sizes), and a collective's closed form resolves its
/// algorithm on every call. Groups are recognised by reference (the cost model keeps one array per group), then
/// by content. Not thread-safe: one instance per simulation.
/// </summary>
public sealed class CachingCollectiveTimer : ICollectiveTimer
{
    private const int MaxEntries = 1 << 20;
    private readonly ICollectiveTimer _inner;
    private readonly Dictionary<IReadOnlyList<int>, int> _groupIds = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<string, int> _groupIdsByContent = new(StringComparer.Ordinal);
    private readonly Dictionary<(int Op, int Algorithm, int Group, long Bytes), double> _cache = new();

    private readonly Topology.ClusterTopology? _conditions;
    private long _version;

    /// <param name="inner">The timer to memoise.</param>
    /// <param name="conditions">The topology whose link conditions (degraded links) the cached times depend on: when its
    /// <see cref="Topology.ClusterTopology.ConditionsVersion"/> changes the cache is dropped. Null: links never change.</param>
    public CachingCollectiveTimer(ICollectiveTimer inner, Topology.ClusterTopology? conditions = null)
    {
        _inner = inner ?? throw new ArgumentNullException(nameof(inner));
        _conditions = conditions;
        _version = conditions?.ConditionsVersion ?? 0;
    }

    // Implementation note: replicas simulated on several threads (run.threads) share one timer, so the memo is guarded
    // by a lock; the cost models keep their own memos in front of it, so it is taken on their misses only, and the times
    // it returns do not depend on which thread asked first.
    private readonly Lock _gate = new();

    public double TimeUs(CollectiveOp op, IReadOnlyList<int> gpus, long bytes, CollectiveAlgorithm algorithm = CollectiveAlgorithm.Auto)
    {
        lock (_gate) return TimeUsLocked(op, gpus, bytes, algorithm);
    }

    private double TimeUsLocked(CollectiveOp op, IReadOnlyList<int> gpus, long bytes, CollectiveAlgorithm algorithm)
    {
        if (!_groupIds.TryGetValue(gpus, out int group))
        {
            string content = string.Join(',', gpus);
            if (!_groupIdsByContent.TryGetValue(content, out group))
            {
                group = _groupIdsByContent.Count;
                _groupIdsByContent[content] = group;
            }
            _groupIds[gpus] = group;
        }
        if (_conditions is { } c && c.ConditionsVersion != _version)
        {
            _cache.Clear();
            _version = c.ConditionsVersion;
        }
        var key = ((int)op, (int)algorithm, group, bytes);
        if (_cache.TryGetValue(key, out double us)) return us;
        if (_cache.Count >= MaxEntries) _cache.Clear();
        us = _inner.TimeUs(op, gpus, bytes, algorithm);
        _cache[key] = us;
        return us;
    }
}
