// FsCheck supplies the arguments of [FsProperty] methods; NUnit's analyzer cannot see that.
#pragma warning disable NUnit1027
using NUnit.Framework;
using Simulator.Inference.Metrics;
using FsProperty = FsCheck.NUnit.PropertyAttribute;

namespace Simulator.Inference.Tests.Metrics;

public sealed class GapHistogramTest
{
    private const long Ms = 1_000_000;

    /// <summary>numpy's linear percentile of exact values (the reference).</summary>
    private static double Exact(long[] values, double p)
    {
        var s = values.Order().ToArray();
        var rank = (s.Length - 1) * p / 100.0;
        var lo = (int)Math.Floor(rank);
        var hi = Math.Min(lo + 1, s.Length - 1);
        return s[lo] + (rank - lo) * (s[hi] - s[lo]);
    }

    [Test]
    public void HandComputed_TwoRequests_MeanPercentilesAndMaxAreExact()
    {
        // Request A: tokens at 10, 15, 20, 30 ms -> gaps 5, 5, 10. Request B: tokens at 12, 17 ms -> gap 5.
        // Pooled gaps sorted: 5, 5, 5, 10 -> mean 6.25; p50: rank 1.5 -> 5; p90: rank 2.7 -> 5 + 0.7 x 5 = 8.5; max 10.
        var h = new GapHistogram();
        h.Add(5 * Ms, 2);
        h.Add(10 * Ms);
        h.Add(5 * Ms);
        var s = h.StatsMs();
        Assert.Multiple(() =>
        {
            Assert.That(s.Count, Is.EqualTo(4));
            Assert.That(s.Mean, Is.EqualTo(6.25));
            Assert.That(s.P50, Is.EqualTo(5.0));
            Assert.That(s.P90, Is.EqualTo(8.5).Within(1e-12));
            Assert.That(s.P99, Is.EqualTo(5 + 2.97 * 5 - 10).Within(1e-9), "rank 2.97 -> 5 + 0.97 x 5");
            Assert.That(s.Max, Is.EqualTo(10.0));
            Assert.That(h.Buckets(), Is.EqualTo(new[] { (5 * Ms, 5 * Ms, 3L), (10 * Ms, 10 * Ms, 1L) }));
        });
    }

    [Test]
    public void ManyEqualGaps_EveryPercentileIsThatGapExactly()
    {
        var h = new GapHistogram();
        h.Add(4_303_125, 1_000_000);
        foreach (var p in new[] { 0.0, 50, 90, 95, 99, 100 }) Assert.That(h.PercentileNs(p), Is.EqualTo(4_303_125.0), $"p{p}");
        Assert.That(h.MeanNs, Is.EqualTo(4_303_125.0));
        Assert.That(h.BucketCount, Is.EqualTo(1));
    }

    [Test]
    public void Empty_StatsAreEmptyAndPercentilesNaN()
    {
        var h = new GapHistogram();
        Assert.That(h.StatsMs(), Is.EqualTo(LatencyStats.Empty));
        Assert.That(h.PercentileNs(50), Is.NaN);
    }

    [Test]
    public void ZeroGaps_AreCountedInTheirOwnBucket()
    {
        var h = new GapHistogram();
        h.Add(0, 3);
        h.Add(1);
        Assert.That(h.PercentileNs(50), Is.EqualTo(0.0));
        Assert.That(h.Buckets(), Is.EqualTo(new[] { (0L, 0L, 3L), (1L, 1L, 1L) }));
    }

    [Test]
    public void RelativeErrorBound_IsUnderFiveHundredthsOfAPercent() =>
        Assert.That(GapHistogram.RelativeErrorBound, Is.LessThan(0.0005).And.GreaterThan(0.0004));

    [FsProperty(MaxTest = 25)]
    public void RandomGaps_PercentilesWithinTheStatedBoundOfExact_MeanAndMaxExact(int seed)
    {
        var rng = new Random(seed);
        var n = 2000 + rng.Next(3000);
        // Log-uniform gaps from 10 us to 2 s, plus runs of equal gaps (tokens of one batch).
        var values = new List<long>();
        var h = new GapHistogram();
        while (values.Count < n)
        {
            var gap = (long)Math.Exp(Math.Log(10_000) + rng.NextDouble() * (Math.Log(2e9) - Math.Log(10_000)));
            var run = rng.Next(3) == 0 ? 1 + rng.Next(64) : 1;
            h.Add(gap, run);
            for (int i = 0; i < run; i++) values.Add(gap);
        }
        var exact = values.ToArray();
        foreach (var p in new[] { 50.0, 90, 95, 99 })
        {
            var want = Exact(exact, p);
            Assert.That(Math.Abs(h.PercentileNs(p) - want), Is.LessThanOrEqualTo(GapHistogram.RelativeErrorBound * want * (1 + 1e-9)), $"p{p}");
        }
        Assert.That(h.Count, Is.EqualTo(exact.Length));
        Assert.That(h.SumNs, Is.EqualTo(exact.Sum()));
        Assert.That(h.MaxNs, Is.EqualTo(exact.Max()));
    }

    [FsProperty(MaxTest = 20)]
    public void Merge_EqualsOneHistogramOfBothStreams(int seed)
    {
        var rng = new Random(seed);
        var a = new GapHistogram();
        var b = new GapHistogram();
        var both = new GapHistogram();
        for (int i = 0; i < 500; i++)
        {
            var gap = (long)rng.Next(1, 50_000_000);
            var count = rng.Next(1, 5);
            (i % 2 == 0 ? a : b).Add(gap, count);
            both.Add(gap, count);
        }
        a.Merge(b);
        Assert.That(a.Buckets(), Is.EqualTo(both.Buckets()));
        Assert.That(a.StatsMs(), Is.EqualTo(both.StatsMs()));
    }

    [FsProperty(MaxTest = 25)]
    public void Buckets_AreTheValuesGroupedByLogIndex_InAscendingOrder_WhateverOrderTheyCame(int seed)
    {
        // Values from 0 to 10^13 ns in random order, so the bucket array grows below and above what it holds.
        var rng = new Random(seed);
        var h = new GapHistogram();
        var values = new List<long>();
        for (int i = 0; i < 300 + rng.Next(300); i++)
        {
            long v = rng.Next(20) == 0 ? 0 : (long)Math.Exp(rng.NextDouble() * Math.Log(1e13));
            long count = 1 + rng.Next(3);
            h.Add(v, count);
            for (int k = 0; k < count; k++) values.Add(v);
        }
        var want = values
            .GroupBy(v => v == 0 ? int.MinValue : (int)Math.Floor(Math.Log(v) * (1 / Math.Log(GapHistogram.BucketRatio))))
            .OrderBy(g => g.Key)
            .Select(g => (g.Min(), g.Max(), (long)g.Count()))
            .ToArray();
        Assert.That(h.Buckets(), Is.EqualTo(want));
        Assert.That(h.BucketCount, Is.EqualTo(want.Length));
    }
}
