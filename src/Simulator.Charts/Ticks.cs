using System.Globalization;

namespace Simulator.Charts;

/// <summary>A tick mark: its position (in axis units, log10 already applied on log axes) and its label.</summary>
public readonly record struct Tick(double Position, string Label, bool IsMajor = true);

/// <summary>
/// Tick values a reader can read: steps of 1, 2 or 5 times a power of ten on linear axes,
/// decades (with 2 and 5 when the range is short) on log10 axes.
/// </summary>
public static class NiceTicks
{
    private static readonly double[] Mantissas = { 1, 2, 5 };

    /// <summary>
    /// The smallest 1-2-5 step whose ticks inside [min, max] number at most <paramref name="maxCount"/>.
    /// </summary>
    public static double Step(double min, double max, int maxCount)
    {
        if (!double.IsFinite(min) || !double.IsFinite(max) || max <= min)
            throw new ArgumentException($"tick range must be finite and non-empty: [{min}, {max}]");
        maxCount = Math.Max(1, maxCount);
        var raw = (max - min) / maxCount;
        var exponent = (int)Math.Floor(Math.Log10(raw));
        var mantissaIndex = 0;
        // Start at the largest nice step not above raw, then climb until the count fits.
        var step = NiceAt(exponent, mantissaIndex);
        while (step > raw && (mantissaIndex > 0 || exponent > -320)) Previous(ref exponent, ref mantissaIndex, out step);
        while (Count(min, max, step) > maxCount) Next(ref exponent, ref mantissaIndex, out step);
        return step;
    }

    /// <summary>Linear tick positions: every multiple of <see cref="Step"/> inside [min, max].</summary>
    public static IReadOnlyList<double> Linear(double min, double max, int maxCount)
    {
        var step = Step(min, max, maxCount);
        return Multiples(min, max, step);
    }

    /// <summary>The multiples of <paramref name="step"/> inside [min, max], rounded to the step's decimals.</summary>
    public static IReadOnlyList<double> Multiples(double min, double max, double step)
    {
        var decimals = Decimals(step);
        var first = (long)Math.Ceiling(min / step - 1e-9);
        var last = (long)Math.Floor(max / step + 1e-9);
        var ticks = new List<double>();
        for (var k = first; k <= last; k++)
        {
            var v = k * step;
            if (decimals <= 15) v = Math.Round(v, decimals, MidpointRounding.AwayFromZero);
            if (v == 0) v = 0;
            ticks.Add(v);
        }
        return ticks;
    }

    /// <summary>Decimal places needed to write multiples of <paramref name="step"/> exactly.</summary>
    public static int Decimals(double step) => Math.Max(0, -(int)Math.Floor(Math.Log10(step) + 1e-9));

    /// <summary>
    /// Ticks for a log10 axis over [log10 min, log10 max] (arguments already in log10 units).
    /// Labels every decade (every 2nd, 5th... when there are many), adds 2 and 5 when fewer than
    /// two decades are visible, and unlabelled minor ticks at 2..9.
    /// </summary>
    public static IReadOnlyList<Tick> Log10(double logMin, double logMax, int maxCount)
    {
        var ticks = new List<Tick>();
        var firstDecade = (int)Math.Floor(logMin);
        var lastDecade = (int)Math.Ceiling(logMax);
        var decades = new List<int>();
        for (var d = firstDecade; d <= lastDecade; d++)
            if (d >= logMin - 1e-9 && d <= logMax + 1e-9) decades.Add(d);

        if (decades.Count >= 2)
        {
            var every = 1;
            foreach (var e in new[] { 1, 2, 5, 10, 20, 50, 100 })
            {
                every = e;
                if (decades.Count(d => d % e == 0) <= Math.Max(2, maxCount)) break;
            }
            foreach (var d in decades)
                ticks.Add(new Tick(d, d % every == 0 ? FormatLogValue(d, 1) : "", d % every == 0));
            if (lastDecade - firstDecade <= 8)
            {
                for (var d = firstDecade; d < lastDecade; d++)
                    for (var m = 2; m <= 9; m++)
                    {
                        var p = d + Math.Log10(m);
                        if (p >= logMin && p <= logMax) ticks.Add(new Tick(p, "", false));
                    }
            }
        }
        else
        {
            // A short range: 1, 2 and 5 times each power of ten, thinned if needed; else linear values.
            var candidates = new List<Tick>();
            for (var d = firstDecade; d <= lastDecade; d++)
                foreach (var m in Mantissas)
                {
                    var p = d + Math.Log10(m);
                    if (p >= logMin - 1e-9 && p <= logMax + 1e-9) candidates.Add(new Tick(p, FormatLogValue(d, m)));
                }
            if (candidates.Count >= 2 && candidates.Count <= Math.Max(2, maxCount)) ticks.AddRange(candidates);
            else
            {
                var lo = Math.Pow(10, logMin);
                var hi = Math.Pow(10, logMax);
                var step = Step(lo, hi, Math.Max(2, maxCount));
                var decimals = Decimals(step);
                foreach (var v in Multiples(lo, hi, step))
                    if (v > 0) ticks.Add(new Tick(Math.Log10(v), FormatNumber(v, decimals)));
            }
        }
        ticks.Sort((a, b) => a.Position.CompareTo(b.Position));
        return ticks;
    }

    /// <summary>Formats linear tick values: k / M / G suffixes for large round values, else fixed decimals.</summary>
    public static IReadOnlyList<Tick> Label(IReadOnlyList<double> values, double step)
    {
        var maxAbs = values.Count == 0 ? 0 : values.Max(Math.Abs);
        double unit = 1;
        var suffix = "";
        if (maxAbs >= 1e4 && step >= 1e3)
        {
            (unit, suffix) = maxAbs >= 1e9 ? (1e9, "G") : maxAbs >= 1e6 ? (1e6, "M") : (1e3, "k");
        }
        var decimals = Decimals(step / unit);
        return values.Select(v => new Tick(v, v == 0 ? "0" : FormatNumber(v / unit, decimals) + suffix)).ToList();
    }

    internal static string FormatNumber(double v, int decimals)
    {
        var r = Math.Round(v, Math.Min(decimals, 15), MidpointRounding.AwayFromZero);
        if (r == 0) r = 0;
        return r.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }

    private static string FormatLogValue(int decade, double mantissa)
    {
        if (decade >= 6 && decade < 9) return FormatNumber(mantissa * Math.Pow(10, decade - 6), 0) + "M";
        if (decade >= 4 && decade < 6) return FormatNumber(mantissa * Math.Pow(10, decade - 3), 0) + "k";
        if (decade >= 0 && decade < 4) return FormatNumber(mantissa * Math.Pow(10, decade), 0);
        if (decade >= -4 && decade < 0) return FormatNumber(mantissa * Math.Pow(10, decade), -decade);
        return mantissa.ToString("0", CultureInfo.InvariantCulture) + "e" + decade.ToString(CultureInfo.InvariantCulture);
    }

    private static int Count(double min, double max, double step) =>
        (int)Math.Min(int.MaxValue, Math.Floor(max / step + 1e-9) - Math.Ceiling(min / step - 1e-9) + 1);

    private static double NiceAt(int exponent, int mantissaIndex) => Mantissas[mantissaIndex] * Math.Pow(10, exponent);

    private static void Next(ref int exponent, ref int mantissaIndex, out double step)
    {
        if (++mantissaIndex == Mantissas.Length) { mantissaIndex = 0; exponent++; }
        step = NiceAt(exponent, mantissaIndex);
    }

    private static void Previous(ref int exponent, ref int mantissaIndex, out double step)
    {
        if (--mantissaIndex < 0) { mantissaIndex = Mantissas.Length - 1; exponent--; }
        step = NiceAt(exponent, mantissaIndex);
    }
}
