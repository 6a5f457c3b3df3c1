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
        var magnitude = negative ? (ulong)(-(ns + 1)) + 1 : (ulong)ns;
        var micros = (magnitude + 500) / 1000;
        var scale = decimals == 6 ? 1_000_000UL : 1_000UL;
        var n = 0;
        if (negative && micros != 0) destination[n++] = '-';
        (micros / scale).TryFormat(destination[n..], out var w, default, Inv);
        n += w;
        destination[n++] = '.';
        (micros % scale).TryFormat(destination[n..], out w, decimals == 6 ? "D6" : "D3", Inv);
        return n + w;
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
