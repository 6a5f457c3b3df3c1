using Simulator.Hardware.Collectives;
using Simulator.Hardware.Topology;

namespace Simulator.Hardware.Tests;

/// <summary>The compiled fast path of <see cref="AnalyticCollectives.TimeUs"/> must equal the full evaluation.</summary>
public sealed class AnalyticFastPathTest
{
    [Test]
    public void TimeUs_EqualsEstimate_ForEveryOpGroupAndSize()
    {
        var topo = ClusterTopology.FromPresets("H100-SXM-80GB", 2, 8);
        var model = new AnalyticCollectives(topo);
        var groups = new[]
        {
            new[] { 0, 1 }, new[] { 0, 1, 2, 3 }, Enumerable.Range(0, 8).ToArray(), new[] { 0, 8 },
            new[] { 0, 1, 8, 9 }, Enumerable.Range(0, 16).ToArray(), new[] { 3, 11 },
        };
        int checkedCount = 0;
        foreach (var op in Enum.GetValues<CollectiveOp>())
            foreach (var g in groups)
                foreach (long bytes in new long[] { 1, 512, 16_384, 100_000, 524_288, 1_048_576, 3_333_333, 64L << 20, 512L << 20 })
                {
                    double fast = model.TimeUs(op, g, bytes);
                    double full = model.Estimate(op, g, bytes).TimeUs;
                    Assert.That(fast, Is.EqualTo(full).Within(1e-9 * Math.Max(1, full)), $"{op} on [{string.Join(',', g)}], {bytes} B");
                    checkedCount++;
                }
        Assert.That(checkedCount, Is.EqualTo(6 * 7 * 9));
    }
}
