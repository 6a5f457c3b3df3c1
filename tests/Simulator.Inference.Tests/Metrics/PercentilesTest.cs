using NUnit.Framework;
using Simulator.Inference.Metrics;

namespace Simulator.Inference.Tests.Metrics;

public sealed class PercentilesTest
{
    [TestCase(50, 2.5)]
    [TestCase(90, 3.7)]   // rank 0.9 x 3 = 2.7 -> 3 + 0.7 x (4 - 3)
    [TestCase(95, 3.85)]
    [TestCase(99, 3.97)]
    [TestCase(0, 1.0)]
    [TestCase(100, 4.0)]
    public void Linear_OneToFour_MatchesNumpyDefault(double percent, double expected)
    {
        float[] sorted = [1, 2, 3, 4];
        Assert.That(Percentiles.Linear(sorted, percent), Is.EqualTo(expected).Within(1e-9));
    }

    [Test]
    public void Linear_FiveValues_InterpolatesBetweenClosestRanks()
    {
        // numpy: np.percentile([15, 20, 35, 40, 50], 40) = 29.0 (rank 1.6: 20 + 0.6 x 15).
        float[] sorted = [15, 20, 35, 40, 50];
        Assert.That(Percentiles.Linear(sorted, 40), Is.EqualTo(29.0).Within(1e-9));
    }

    [Test]
    public void Linear_SingleValue_IsThatValueAtEveryPercent()
    {
        float[] one = [7];
        Assert.That(Percentiles.Linear(one, 0), Is.EqualTo(7));
        Assert.That(Percentiles.Linear(one, 99), Is.EqualTo(7));
    }

    [Test]
    public void Linear_Empty_IsNaN() => Assert.That(Percentiles.Linear([], 50), Is.NaN);

    [TestCase(-1)]
    [TestCase(100.5)]
    public void Linear_PercentOutsideRange_Throws(double percent) =>
        Assert.That(() => Percentiles.Linear([1f, 2f], percent), Throws.TypeOf<ArgumentOutOfRangeException>());

    [Test]
    public void FromValues_Unsorted_SortsAndComputesMeanPercentilesMax()
    {
        float[] values = [4, 1, 3, 2, 10];
        var s = LatencyStats.FromValues(values);
        Assert.Multiple(() =>
        {
            Assert.That(s.Count, Is.EqualTo(5));
            Assert.That(s.Mean, Is.EqualTo(4.0).Within(1e-12));
            Assert.That(s.P50, Is.EqualTo(3.0).Within(1e-12));
            Assert.That(s.P90, Is.EqualTo(7.6).Within(1e-6));   // rank 3.6: 4 + 0.6 x 6
            Assert.That(s.Max, Is.EqualTo(10));
        });
    }

    [Test]
    public void FromValues_Empty_IsEmptyWithZeroCount() => Assert.That(LatencyStats.FromValues([]).Count, Is.EqualTo(0));
}
