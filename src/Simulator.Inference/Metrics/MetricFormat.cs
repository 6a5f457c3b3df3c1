using System.Globalization;

namespace Simulator.Inference.Metrics;

/// <summary>
/// The fixed, invariant-culture number formats of every run output file, so the same run writes
/// the same bytes: absolute times in seconds with 6 decimals (1 us), durations in milliseconds
/// with 3 decimals (1 us), fractions with 4 decimals.
/// </summary>
public static class MetricFormat
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Nanoseconds since the simulation start as seconds, 6 decimals ("1.234567"); see <see cref="FormatNs"/>.</summary>
    public static string Seconds(long ns)
    {
        Span<char> buffer = stackalloc char[MaxNsChars];
        return new string(buffer[..FormatNs(buffer, ns, 6)]);
    }

    /// <summary>A nanosecond duration as milliseconds, 3 decimals ("12.345"); see <see cref="FormatNs"/>.</summary>
    public static string Milliseconds(long ns)
    {
        Span<char> buffer = stackalloc char[MaxNsChars];
        return new string(buffer[..FormatNs(buffer, ns, 3)]);
    }

    /// <summary>Characters <see cref="FormatNs"/> may need.</summary>
    public const int MaxNsChars = 32;

    /// <summary>
    /// Formats nanoseconds to the microsecond, exactly (integer arithmetic, half away from zero): as seconds
    /// with <paramref name="decimals"/> = 6 or as milliseconds with <paramref name="decimals"/> = 3. Returns
    /// the characters written to <paramref name="destination"/> (at least <see cref="MaxNsChars"/> long).
    /// </summary>
    public static int FormatNs(Span<char> destination, long ns, int decimals)
    {
        if (decimals is not (3 or 6)) throw new ArgumentOutOfRangeException(nameof(decimals), decimals, "3 (ms) or 6 (s)");
        var negative = ns < 0;
        var micros = MicrosMagnitude(ns);
        var scale = decimals == 6 ? 1_000_000UL : 1_000UL;
        var n = 0;
        if (negative && micros != 0) destination[n++] = '-';
        (micros / scale).TryFormat(destination[n..], out var w, default, Inv);
        n += w;
        destination[n++] = '.';
        (micros % scale).TryFormat(destination[n..], out w, decimals == 6 ? "D6" : "D3", Inv);
        return n + w;
    }

    /// <summary>Nanoseconds rounded to whole microseconds as <see cref="FormatNs"/> writes them (half away from zero).</summary>
    public static long RoundedMicros(long ns) => ns < 0 ? -(long)MicrosMagnitude(ns) : (long)MicrosMagnitude(ns);

    private static ulong MicrosMagnitude(long ns)
    {
        var magnitude = ns < 0 ? (ulong)(-(ns + 1)) + 1 : (ulong)ns;
        return (magnitude + 500) / 1000;
    }

    /// <summary>
    /// The double that the fixed-decimal text of <paramref name="value"/> (<see cref="Fixed"/>) denotes: what a reader
    /// of the CSV cell gets. Typed outputs (Parquet) store this, so they hold the same values as the CSV.
    /// </summary>
    public static double AsWritten(double value, int decimals)
    {
        if (!double.IsFinite(value)) return value;
        Span<char> buffer = stackalloc char[64];
        if (!value.TryFormat(buffer, out var n, FixedFormats[decimals], Inv)) return double.Parse(value.ToString(FixedFormats[decimals], Inv), Inv);
        return double.Parse(buffer[..n], provider: Inv);
    }

    private static readonly string[] FixedFormats = Enumerable.Range(0, 16).Select(d => "F" + d.ToString(CultureInfo.InvariantCulture)).ToArray();

    /// <summary>Non-negative nanoseconds as milliseconds to the nanosecond, 6 decimals ("4.303125"), exactly.</summary>
    public static string NsAsMs(long ns)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ns);
        return Integer(ns / 1_000_000) + "." + (ns % 1_000_000).ToString("D6", Inv);
    }

    /// <summary>A millisecond value, 3 decimals.</summary>
    public static string Milliseconds(double ms) => ms.ToString("F3", Inv);

    /// <summary>A fraction or ratio, 4 decimals.</summary>
    public static string Fraction(double value) => value.ToString("F4", Inv);

    /// <summary>A fixed-decimal number with the given decimals.</summary>
    public static string Fixed(double value, int decimals) => value.ToString("F" + decimals.ToString(Inv), Inv);

    /// <summary>An integer, invariant.</summary>
    public static string Integer(long value) => value.ToString(Inv);

    /// <summary>The requests.csv spelling of a status.</summary>
    public static string Status(RequestStatus status) => status switch
    {
        RequestStatus.Completed => "completed",
        RequestStatus.Rejected => "rejected",
        RequestStatus.Failed => "failed",
        RequestStatus.Unfinished => "unfinished",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "unknown request status"),
    };

    /// <summary>Rounds a summary figure to <paramref name="decimals"/> decimals (half to even), mapping -0 to 0.</summary>
    public static double Round(double value, int decimals = 4)
    {
        var r = Math.Round(value, decimals, MidpointRounding.ToEven);
        return r == 0 ? 0 : r;
    }
}
