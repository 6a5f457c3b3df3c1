namespace Simulator.Inference.Metrics;

/// <summary>
/// A mergeable histogram of non-negative integer-nanosecond values (inter-token latencies) in logarithmic
/// buckets of ratio <see cref="BucketRatio"/>, so a run of any length needs memory for its distinct buckets
/// only (at most about 21,000 between 1 us and 1,000 s), never one entry per token. Count, sum, min and max
/// are exact, and so is the mean. Each bucket also keeps the smallest and largest value it saw: a bucket
/// that holds one distinct value (the common case here, since all tokens of one batch share one gap) gives
/// that value exactly. Percentiles use numpy's linear rule on the order statistics, each read from its
/// bucket as the bucket's geometric midpoint clamped to the values seen there, so every percentile is
/// within <see cref="RelativeErrorBound"/> (sqrt(1.001) - 1, under 0.05%) of the exact one.
/// </summary>
public sealed class GapHistogram
{
    /// <summary>Upper over lower bound of every bucket.</summary>
    public const double BucketRatio = 1.001;

    /// <summary>The largest relative error of a percentile: sqrt(<see cref="BucketRatio"/>) - 1.</summary>
    public static readonly double RelativeErrorBound = Math.Sqrt(BucketRatio) - 1;

    private static readonly double InvLogRatio = 1 / Math.Log(BucketRatio);
    private const int ZeroBucket = int.MinValue;

    // Implementation note: the buckets live in one array indexed by bucket index minus an offset (grown either way as
    // values arrive), so adding a value is an array store, not a hash lookup; the gaps of a run span a few thousand
    // buckets (32 bytes each). An empty slot has Count 0. The zero bucket is kept apart.
    private Bucket[] _dense = [];
    private int _offset;
    private int _nonEmpty;
    private Bucket _zero;
    private Bucket[]? _sorted;

    /// <summary>Values added.</summary>
    public long Count { get; private set; }

    /// <summary>Sum of the values, ns.</summary>
    public long SumNs { get; private set; }

    /// <summary>Largest value, ns (0 when empty).</summary>
    public long MaxNs { get; private set; }

    /// <summary>Non-empty buckets.</summary>
    public int BucketCount => _nonEmpty + (_zero.Count > 0 ? 1 : 0);

    /// <summary>Adds <paramref name="count"/> values equal to <paramref name="valueNs"/>.</summary>
    public void Add(long valueNs, long count = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(valueNs);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count == 0) return;
        AddBucket(IndexOf(valueNs), new Bucket(count, valueNs, valueNs));
        Count += count;
        SumNs = checked(SumNs + valueNs * count);
        MaxNs = Math.Max(MaxNs, valueNs);
    }

    /// <summary>Adds every value of <paramref name="other"/> (the result equals one histogram fed both streams).</summary>
    public void Merge(GapHistogram other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other._zero.Count > 0) AddBucket(ZeroBucket, other._zero);
        foreach (var b in other._dense)
            if (b.Count > 0) AddBucket(b.Index, b);
        Count += other.Count;
        SumNs = checked(SumNs + other.SumNs);
        MaxNs = Math.Max(MaxNs, other.MaxNs);
    }

    /// <summary>Mean value, ns (exact; NaN when empty).</summary>
    public double MeanNs => Count > 0 ? (double)SumNs / Count : double.NaN;

    /// <summary>The <paramref name="percent"/>-th percentile (numpy's linear rule), ns, within <see cref="RelativeErrorBound"/>; NaN when empty.</summary>
    public double PercentileNs(double percent)
    {
        if (percent is < 0 or > 100 || double.IsNaN(percent))
            throw new ArgumentOutOfRangeException(nameof(percent), percent, "percent must be in [0, 100]");
        if (Count == 0) return double.NaN;
        var sorted = Sorted();
        var rank = (Count - 1) * percent / 100.0;
        var lo = (long)Math.Floor(rank);
        var hi = Math.Min(lo + 1, Count - 1);
        double a = OrderStatistic(sorted, lo), b = hi == lo ? a : OrderStatistic(sorted, hi);
        return a + (rank - lo) * (b - a);
    }

    /// <summary>The non-empty buckets in ascending order: smallest and largest value seen in each (ns) and how many values.</summary>
    public IReadOnlyList<(long MinNs, long MaxNs, long Count)> Buckets() =>
        Sorted().Select(b => (b.MinNs, b.MaxNs, b.Count)).ToArray();

    /// <summary>Count, mean, p50 / p90 / p95 / p99 and max in ms (not rounded); <see cref="LatencyStats.Empty"/> when empty.</summary>
    public LatencyStats StatsMs() => Count == 0
        ? LatencyStats.Empty
        : new LatencyStats(Count, MeanNs / 1e6, PercentileNs(50) / 1e6, PercentileNs(90) / 1e6, PercentileNs(95) / 1e6,
            PercentileNs(99) / 1e6, MaxNs / 1e6);

    private static int IndexOf(long valueNs) => valueNs == 0 ? ZeroBucket : (int)Math.Floor(Math.Log(valueNs) * InvLogRatio);

    private void AddBucket(int index, Bucket b)
    {
        _sorted = null;
        ref var slot = ref index == ZeroBucket ? ref _zero : ref DenseSlot(index);
        bool existed = slot.Count > 0;
        if (!existed && index != ZeroBucket) _nonEmpty++;
        slot = existed ? new Bucket(slot.Count + b.Count, Math.Min(slot.MinNs, b.MinNs), Math.Max(slot.MaxNs, b.MaxNs), index) : b with { Index = index };
    }

    private ref Bucket DenseSlot(int index)
    {
        int at = index - _offset;
        if ((uint)at < (uint)_dense.Length) return ref _dense[at];
        // Grow to cover the index with room on both sides (the array at least doubles), keeping the buckets where they were.
        int lo = _dense.Length == 0 ? index : Math.Min(index, _offset), hi = _dense.Length == 0 ? index : Math.Max(index, _offset + _dense.Length - 1);
        int span = hi - lo + 1, size = Math.Max(64, Math.Max(2 * _dense.Length, span + 64));
        int newOffset = index < _offset || _dense.Length == 0 ? hi - size + 1 + (size - span) / 2 : lo - (size - span) / 2;
        var grown = new Bucket[size];
        if (_dense.Length > 0) Array.Copy(_dense, 0, grown, _offset - newOffset, _dense.Length);
        _dense = grown;
        _offset = newOffset;
        return ref _dense[index - _offset];
    }

    private Bucket[] Sorted()
    {
        if (_sorted != null) return _sorted;
        var array = new Bucket[BucketCount];
        int n = 0;
        if (_zero.Count > 0) array[n++] = _zero;
        foreach (var b in _dense)
            if (b.Count > 0) array[n++] = b;
        return _sorted = array;
    }

    private static double OrderStatistic(Bucket[] sorted, long k)
    {
        long seen = 0;
        foreach (var b in sorted)
        {
            seen += b.Count;
            if (k < seen) return b.Estimate();
        }
        return sorted[^1].MaxNs;
    }

    private readonly record struct Bucket(long Count, long MinNs, long MaxNs, int Index = 0)
    {
        // Implementation note: the geometric midpoint of [ratio^i, ratio^(i+1)) is within sqrt(ratio) - 1 of every
        // value in the bucket; clamping to the values actually seen can only bring it closer (and makes a
        // single-valued bucket exact).
        public double Estimate()
        {
            if (MinNs == MaxNs || Index == ZeroBucket) return MinNs;
            var mid = Math.Pow(BucketRatio, Index + 0.5);
            return Math.Clamp(mid, MinNs, MaxNs);
        }
    }
}
