// FsCheck supplies the arguments of [Property] methods; NUnit's analyzer cannot see that.
#pragma warning disable NUnit1027

using Property = FsCheck.Property;
using FsCheck.Fluent;
using PropertyAttribute = FsCheck.NUnit.PropertyAttribute;

namespace Simulator.Charts.Tests;

public sealed class NiceTicksTests
{
    private static (double Min, double Max, int MaxCount) Range(int start, int length, int exponent, int count)
    {
        var scale = Math.Pow(10, ((exponent % 13) + 13) % 13 - 6); // 1e-6 .. 1e6
        var min = start * scale / 7.0;
        var max = min + (Math.Abs(length % 1000) + 1) * scale / 3.0;
        return (min, max, 5 + ((count % 12) + 12) % 12);
    }

    private static bool IsOneTwoFive(double step)
    {
        var mantissa = step / Math.Pow(10, Math.Floor(Math.Log10(step) + 1e-9));
        return new[] { 1.0, 2.0, 5.0 }.Any(m => Math.Abs(mantissa - m) < 1e-6);
    }

    [Property(MaxTest = 500)]
    public bool Linear_StepIsOneTwoOrFiveTimesAPowerOfTen(int start, int length, int exponent, int count)
    {
        var (min, max, maxCount) = Range(start, length, exponent, count);
        return IsOneTwoFive(NiceTicks.Step(min, max, maxCount));
    }

    [Property(MaxTest = 500)]
    public Property Linear_TicksCoverTheRangeAtEqualSpacing(int start, int length, int exponent, int count)
    {
        var (min, max, maxCount) = Range(start, length, exponent, count);
        var step = NiceTicks.Step(min, max, maxCount);
        var ticks = NiceTicks.Linear(min, max, maxCount);
        var eps = step * 1e-6;
        var inside = ticks.All(t => t >= min - eps && t <= max + eps);
        var covers = ticks.Count > 0 && ticks[0] - min < step + eps && max - ticks[^1] < step + eps;
        var spaced = ticks.Zip(ticks.Skip(1), (a, b) => Math.Abs(b - a - step) <= eps).All(x => x);
        var counted = ticks.Count >= 2 && ticks.Count <= maxCount;
        return (inside && covers && spaced && counted).Label($"[{min}, {max}] max {maxCount}: step {step}, ticks {string.Join(" ", ticks)}");
    }

    [Property(MaxTest = 300)]
    public bool Linear_StepIsTheSmallestNiceStepThatFits(int start, int length, int exponent, int count)
    {
        var (min, max, maxCount) = Range(start, length, exponent, count);
        var step = NiceTicks.Step(min, max, maxCount);
        var mantissa = Math.Round(step / Math.Pow(10, Math.Floor(Math.Log10(step) + 1e-9)));
        var smaller = mantissa == 1 ? step / 2 : mantissa == 2 ? step / 2 : step * 2 / 5;
        return NiceTicks.Multiples(min, max, smaller).Count > maxCount;
    }

    [Property(MaxTest = 300)]
    public bool Log10_MajorTicksAreDecadesInsideTheRange(int lowDecade, int decades)
    {
        var lo = ((lowDecade % 8) + 8) % 8 - 4;
        var hi = lo + 2 + ((decades % 6) + 6) % 6;
        var ticks = NiceTicks.Log10(lo - 0.3, hi + 0.3, 8);
        var majors = ticks.Where(t => t.IsMajor).ToList();
        return majors.Count >= 2
            && majors.All(t => Math.Abs(t.Position - Math.Round(t.Position)) < 1e-9)
            && ticks.All(t => t.Position >= lo - 0.3 - 1e-9 && t.Position <= hi + 0.3 + 1e-9);
    }

    [Test]
    public void Linear_ZeroToOne_GivesTenthsOrFifths()
    {
        Assert.That(NiceTicks.Linear(0, 1, 6), Is.EqualTo(new[] { 0, 0.2, 0.4, 0.6, 0.8, 1.0 }));
    }

    [Test]
    public void Label_LargeValues_UseThousandsSuffix()
    {
        var labels = NiceTicks.Label(new double[] { 0, 20000, 40000 }, 20000).Select(t => t.Label);
        Assert.That(labels, Is.EqualTo(new[] { "0", "20k", "40k" }));
    }

    [Test]
    public void Label_SmallSteps_UseTheStepsDecimals()
    {
        var labels = NiceTicks.Label(new[] { 0.05, 0.1, 0.15 }, 0.05).Select(t => t.Label);
        Assert.That(labels, Is.EqualTo(new[] { "0.05", "0.10", "0.15" }));
    }

    [Test]
    public void Log10_ShortRange_AddsTwoAndFive()
    {
        var labels = NiceTicks.Log10(Math.Log10(1.5), Math.Log10(9), 8).Where(t => t.Label.Length > 0).Select(t => t.Label);
        Assert.That(labels, Is.EqualTo(new[] { "2", "5" }));
    }

    [Test]
    public void Log10_ManyDecades_LabelsEveryOtherDecade()
    {
        var labelled = NiceTicks.Log10(-6, 9, 6).Where(t => t.Label.Length > 0).ToList();
        Assert.That(labelled.Count, Is.LessThanOrEqualTo(8));
        Assert.That(labelled.Select(t => t.Label), Does.Contain("1"));
    }
}
