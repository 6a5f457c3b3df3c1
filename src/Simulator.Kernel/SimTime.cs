namespace Simulator.Kernel;

/// <summary>A point in simulated time: integer nanoseconds since the start of the run.</summary>
public readonly record struct SimTime(long Nanoseconds) : IComparable<SimTime>
{
    public static readonly SimTime Zero = new(0);
    public static readonly SimTime MaxValue = new(long.MaxValue);

    public double Seconds => Nanoseconds / 1e9;
    public double Milliseconds => Nanoseconds / 1e6;
    public double Microseconds => Nanoseconds / 1e3;

    public static SimTime FromSeconds(double seconds) => new(SimDuration.RoundToNs(seconds * 1e9));
    public static SimTime FromMilliseconds(double ms) => new(SimDuration.RoundToNs(ms * 1e6));

    public int CompareTo(SimTime other) => Nanoseconds.CompareTo(other.Nanoseconds);

    public static SimTime operator +(SimTime t, SimDuration d) => new(checked(t.Nanoseconds + d.Nanoseconds));
    public static SimTime operator -(SimTime t, SimDuration d) => new(checked(t.Nanoseconds - d.Nanoseconds));
    public static SimDuration operator -(SimTime a, SimTime b) => new(checked(a.Nanoseconds - b.Nanoseconds));
    public static bool operator <(SimTime a, SimTime b) => a.Nanoseconds < b.Nanoseconds;
    public static bool operator >(SimTime a, SimTime b) => a.Nanoseconds > b.Nanoseconds;
    public static bool operator <=(SimTime a, SimTime b) => a.Nanoseconds <= b.Nanoseconds;
    public static bool operator >=(SimTime a, SimTime b) => a.Nanoseconds >= b.Nanoseconds;

    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Seconds:0.#########}s");
}

/// <summary>A span of simulated time in integer nanoseconds.</summary>
public readonly record struct SimDuration(long Nanoseconds) : IComparable<SimDuration>
{
    public static readonly SimDuration Zero = new(0);

    public double Seconds => Nanoseconds / 1e9;
    public double Milliseconds => Nanoseconds / 1e6;
    public double Microseconds => Nanoseconds / 1e3;

    public static SimDuration FromSeconds(double seconds) => new(RoundToNs(seconds * 1e9));
    public static SimDuration FromMilliseconds(double ms) => new(RoundToNs(ms * 1e6));
    public static SimDuration FromMicroseconds(double us) => new(RoundToNs(us * 1e3));
    public static SimDuration FromNanoseconds(long ns) => new(ns);

    /// <summary>Rounds a double number of nanoseconds to the nearest integer; throws on NaN or overflow.</summary>
    public static long RoundToNs(double ns)
    {
        if (double.IsNaN(ns) || double.IsInfinity(ns) || ns > long.MaxValue || ns < long.MinValue)
            throw new OverflowException($"time {ns} ns is not representable");
        return (long)Math.Round(ns, MidpointRounding.AwayFromZero);
    }

    public int CompareTo(SimDuration other) => Nanoseconds.CompareTo(other.Nanoseconds);

    public static SimDuration operator +(SimDuration a, SimDuration b) => new(checked(a.Nanoseconds + b.Nanoseconds));
    public static SimDuration operator -(SimDuration a, SimDuration b) => new(checked(a.Nanoseconds - b.Nanoseconds));
    public static SimDuration operator *(SimDuration a, long k) => new(checked(a.Nanoseconds * k));
    public static bool operator <(SimDuration a, SimDuration b) => a.Nanoseconds < b.Nanoseconds;
    public static bool operator >(SimDuration a, SimDuration b) => a.Nanoseconds > b.Nanoseconds;
    public static bool operator <=(SimDuration a, SimDuration b) => a.Nanoseconds <= b.Nanoseconds;
    public static bool operator >=(SimDuration a, SimDuration b) => a.Nanoseconds >= b.Nanoseconds;
    public static SimDuration Max(SimDuration a, SimDuration b) => a.Nanoseconds >= b.Nanoseconds ? a : b;

    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Milliseconds:0.######}ms");
}
