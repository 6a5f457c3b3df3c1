using System.Globalization;

namespace Simulator.Kernel;

/// <summary>A point in simulated time: integer nanoseconds since the start of the run.</summary>
// Implementation note: integer nanoseconds (not DateTime/double seconds) keep microsecond collectives exact
// and make event order independent of floating-point rounding; long covers about 292 years.
public readonly record struct SimTime(long Nanoseconds) : IComparable<SimTime>
{
    public static readonly SimTime Zero = new(0);
    public static readonly SimTime MaxValue = new(long.MaxValue);

    public double Seconds => Nanoseconds / 1e9;
    public double Milliseconds => Nanoseconds / 1e6;
    public double Microseconds => Nanoseconds / 1e3;

    public static SimTime FromSeconds(double seconds) => new(SimDuration.RoundToNs(seconds * 1e9));
    public static SimTime FromMilliseconds(double ms) => new(SimDuration.RoundToNs(ms * 1e6));
    public static SimTime FromMicroseconds(double us) => new(SimDuration.RoundToNs(us * 1e3));
    public static SimTime FromNanoseconds(long ns) => new(ns);

    public int CompareTo(SimTime other) => Nanoseconds.CompareTo(other.Nanoseconds);

    public static SimTime operator +(SimTime t, SimDuration d) => new(checked(t.Nanoseconds + d.Nanoseconds));
    public static SimTime operator -(SimTime t, SimDuration d) => new(checked(t.Nanoseconds - d.Nanoseconds));
    public static SimDuration operator -(SimTime a, SimTime b) => new(checked(a.Nanoseconds - b.Nanoseconds));
    public static bool operator <(SimTime a, SimTime b) => a.Nanoseconds < b.Nanoseconds;
    public static bool operator >(SimTime a, SimTime b) => a.Nanoseconds > b.Nanoseconds;
    public static bool operator <=(SimTime a, SimTime b) => a.Nanoseconds <= b.Nanoseconds;
    public static bool operator >=(SimTime a, SimTime b) => a.Nanoseconds >= b.Nanoseconds;
    public static SimTime Min(SimTime a, SimTime b) => a.Nanoseconds <= b.Nanoseconds ? a : b;
    public static SimTime Max(SimTime a, SimTime b) => a.Nanoseconds >= b.Nanoseconds ? a : b;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Seconds:0.#########}s");
}

/// <summary>A span of simulated time in integer nanoseconds; arithmetic is checked (overflow throws).</summary>
public readonly record struct SimDuration(long Nanoseconds) : IComparable<SimDuration>
{
    public static readonly SimDuration Zero = new(0);
    public static readonly SimDuration MaxValue = new(long.MaxValue);

    public double Seconds => Nanoseconds / 1e9;
    public double Milliseconds => Nanoseconds / 1e6;
    public double Microseconds => Nanoseconds / 1e3;

    public static SimDuration FromSeconds(double seconds) => new(RoundToNs(seconds * 1e9));
    public static SimDuration FromMilliseconds(double ms) => new(RoundToNs(ms * 1e6));
    public static SimDuration FromMicroseconds(double us) => new(RoundToNs(us * 1e3));
    public static SimDuration FromNanoseconds(long ns) => new(ns);

    /// <summary>Rounds a double number of nanoseconds to the nearest integer (halves away from zero); throws on NaN or overflow.</summary>
    public static long RoundToNs(double ns)
    {
        // 2^63 is exactly representable; any double >= it does not fit in a long.
        if (double.IsNaN(ns) || double.IsInfinity(ns) || ns >= 9.2233720368547758E18 || ns < -9.2233720368547758E18)
            throw new OverflowException(string.Create(CultureInfo.InvariantCulture, $"time {ns} ns is not representable"));
        return (long)Math.Round(ns, MidpointRounding.AwayFromZero);
    }

    public int CompareTo(SimDuration other) => Nanoseconds.CompareTo(other.Nanoseconds);

    public static SimDuration operator +(SimDuration a, SimDuration b) => new(checked(a.Nanoseconds + b.Nanoseconds));
    public static SimDuration operator -(SimDuration a, SimDuration b) => new(checked(a.Nanoseconds - b.Nanoseconds));
    public static SimDuration operator -(SimDuration a) => new(checked(-a.Nanoseconds));
    public static SimDuration operator *(SimDuration a, long k) => new(checked(a.Nanoseconds * k));
    public static SimDuration operator *(long k, SimDuration a) => new(checked(a.Nanoseconds * k));

    /// <summary>Scales by a real factor, rounding to the nearest nanosecond.</summary>
    public static SimDuration operator *(SimDuration a, double factor) => new(RoundToNs(a.Nanoseconds * factor));

    /// <summary>Integer division (truncates toward zero).</summary>
    public static SimDuration operator /(SimDuration a, long k) => new(a.Nanoseconds / k);

    /// <summary>The ratio of two durations.</summary>
    public static double operator /(SimDuration a, SimDuration b) => (double)a.Nanoseconds / b.Nanoseconds;

    public static bool operator <(SimDuration a, SimDuration b) => a.Nanoseconds < b.Nanoseconds;
    public static bool operator >(SimDuration a, SimDuration b) => a.Nanoseconds > b.Nanoseconds;
    public static bool operator <=(SimDuration a, SimDuration b) => a.Nanoseconds <= b.Nanoseconds;
    public static bool operator >=(SimDuration a, SimDuration b) => a.Nanoseconds >= b.Nanoseconds;
    public static SimDuration Max(SimDuration a, SimDuration b) => a.Nanoseconds >= b.Nanoseconds ? a : b;
    public static SimDuration Min(SimDuration a, SimDuration b) => a.Nanoseconds <= b.Nanoseconds ? a : b;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Milliseconds:0.######}ms");
}
