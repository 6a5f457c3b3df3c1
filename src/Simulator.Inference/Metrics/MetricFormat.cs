using System.Globalization;
using System.Numerics;

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

    /// <summary>
    /// <see cref="FormatNs"/> with the trailing zeros of the fraction dropped (<see cref="TrimFraction"/>): how the run
    /// tables (requests, iterations, timeseries) write times ("12.00025", "4", "153.407"). The same value to the microsecond.
    /// </summary>
    // Implementation note: the streamed tables write about a million such cells in the Azure replay. The digits are
    // written by hand: the division by the scale with a constant divisor, two digits per division from a table
    // (FormatUnsigned for the integer part), the fraction's digits all written (leading zeros too) in 32 bits and its
    // trailing zeros then dropped. The text is the same: the integer part, and only when
    // the fraction is not zero, a point and its digits without the trailing zeros (MetricFormatTest compares it with
    // FormatNs + TrimFraction). Generic over the character type: UTF-16 (char) for strings, UTF-8 (byte) for the CSV
    // writer's buffer.
    public static int FormatNsTrimmed<T>(Span<T> destination, long ns, int decimals) where T : unmanaged, IBinaryInteger<T>
    {
        if (decimals is not (3 or 6)) throw new ArgumentOutOfRangeException(nameof(decimals), decimals, "3 (ms) or 6 (s)");
        var micros = MicrosMagnitude(ns);
        ulong whole;
        uint fraction;
        if (decimals == 6)
        {
            whole = micros / 1_000_000;
            fraction = (uint)(micros - whole * 1_000_000);
        }
        else
        {
            whole = micros / 1_000;
            fraction = (uint)(micros - whole * 1_000);
        }
        var n = 0;
        if (ns < 0 && micros != 0) destination[n++] = T.CreateTruncating('-');
        n += FormatUnsigned(destination[n..], whole);
        if (fraction == 0) return n;
        destination[n++] = T.CreateTruncating('.');
        return n + FormatFraction(destination.Slice(n, decimals), fraction);
    }

    // The digits.Length decimals of fraction (0 < fraction < 10^digits.Length), leading zeros written, trailing zeros
    // dropped: returns how many are kept.
    private static int FormatFraction<T>(Span<T> digits, uint fraction) where T : unmanaged, IBinaryInteger<T>
    {
        var p = digits.Length;
        while (p > 1)
        {
            WritePair(digits, p -= 2, fraction % 100);
            fraction /= 100;
        }
        if (p == 1) digits[0] = T.CreateTruncating(fraction + '0');
        var end = digits.Length;
        while (digits[end - 1] == T.CreateTruncating('0')) end--;
        return end;
    }

    /// <summary>
    /// A non-negative integer in decimal digits, invariant ("0", "1234"): the text of <c>value.ToString(CultureInfo.InvariantCulture)</c>.
    /// Returns the characters written (<paramref name="destination"/> at least 20 long).
    /// </summary>
    // Implementation note: two digits per division, from a table; the run tables write about 1.4 million integer cells in
    // the Azure replay, and this skips the format-string and culture checks of long.TryFormat.
    public static int FormatUnsigned<T>(Span<T> destination, ulong value) where T : unmanaged, IBinaryInteger<T>
    {
        var digits = destination[..DigitCount(value)];
        var p = digits.Length;
        while (p > 1)
        {
            var q = value / 100;
            WritePair(digits, p -= 2, (uint)(value - q * 100));
            value = q;
        }
        if (p == 1) digits[0] = T.CreateTruncating((uint)value + '0');
        return digits.Length;
    }

    private static ReadOnlySpan<byte> DigitPairs => "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"u8;

    // Writes the two digits of pair (0-99) at index at and at + 1.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static void WritePair<T>(Span<T> destination, int at, uint pair) where T : unmanaged, IBinaryInteger<T>
    {
        var table = DigitPairs;
        destination[at] = T.CreateTruncating(table[(int)(2 * pair)]);
        destination[at + 1] = T.CreateTruncating(table[(int)(2 * pair + 1)]);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static int DigitCount(ulong value)
    {
        if (value < 10) return 1;
        if (value < 100) return 2;
        if (value < 1_000) return 3;
        if (value < 10_000) return 4;
        var count = 5;
        for (value /= 100_000; value != 0; value /= 10) count++;
        return count;
    }

    /// <summary>
    /// <paramref name="value"/> rounded to <paramref name="decimals"/> decimals as <see cref="Fixed"/> writes it, with the
    /// trailing zeros of the fraction dropped (<see cref="TrimFraction"/>): "0.25" for 0.25 at 4 decimals, "2334" for
    /// 2334 at 3. Returns the characters written (<paramref name="destination"/> at least <see cref="MaxFixedChars"/> long).
    /// </summary>
    public static int FormatFixedTrimmed(Span<char> destination, double value, int decimals)
    {
        if (!value.TryFormat(destination, out var n, FixedFormats[decimals], Inv))
            throw new ArgumentException($"{MaxFixedChars} characters do not hold {value} with {decimals} decimals", nameof(destination));
        return TrimFraction(destination[..n]);
    }

    /// <summary><see cref="FormatFixedTrimmed(Span{char}, double, int)"/> as UTF-8 (the same text).</summary>
    public static int FormatFixedTrimmed(Span<byte> destination, double value, int decimals)
    {
        if (TryFormatFixedExactly(destination, value, decimals, out var written)) return written;
        if (!value.TryFormat(destination, out var n, FixedFormats[decimals], Inv))
            throw new ArgumentException($"{MaxFixedChars} bytes do not hold {value} with {decimals} decimals", nameof(destination));
        return TrimFractionOf<byte>(destination[..n]);
    }

    /// <summary>
    /// The text of <see cref="FormatFixedTrimmed(Span{byte}, double, int)"/> for a non-negative finite value below 2^63
    /// with at most 6 decimals, from the double's exact binary value: false (nothing written) for any other.
    /// </summary>
    // Implementation note: .NET's fixed-point formatting of a double runs Grisu or Dragon4 (big-integer arithmetic): about
    // 1,600 instructions a cell in the Azure replay's tpot_ms and timeseries columns. The value is m * 2^e exactly (m < 2^53);
    // times 10^decimals (< 2^20) it fits 128 bits, so the rounded scaled value is a shift with the remainder compared with
    // one half, a tie rounding to the even digit as .NET's formatting does (0.125 -> "0.12"; MetricFormatTest compares the
    // two on exact ties and on random values). Negative values (and -0) keep .NET's path.
    private static bool TryFormatFixedExactly(Span<byte> destination, double value, int decimals, out int written)
    {
        written = 0;
        var bits = BitConverter.DoubleToUInt64Bits(value);
        var biased = (int)(bits >> 52);
        if ((uint)decimals > 6 || biased >= 0x7FF) return false; // negative (the sign bit makes biased > 0x7FF), NaN, infinity
        var mantissa = bits & 0xF_FFFF_FFFF_FFFFUL;
        var exponent = -1074;
        if (biased != 0)
        {
            mantissa |= 1UL << 52;
            exponent = biased - 1075;
        }
        if (exponent >= 0)
        {
            if (exponent > 10) return false; // 2^63 and above
            written = FormatUnsigned(destination, mantissa << exponent);
            return true;
        }
        var scale = Pow10[decimals];
        var exact = (UInt128)mantissa * scale;
        var shift = -exponent;
        ulong scaled = 0;
        if (shift < 127)
        {
            var quotient = exact >> shift;
            if (quotient > ulong.MaxValue / 2) return false;
            scaled = (ulong)quotient;
            var remainder = exact - (quotient << shift);
            var half = UInt128.One << (shift - 1);
            if (remainder > half || (remainder == half && (scaled & 1) == 1)) scaled++;
        }
        var whole = scaled / scale;
        var fraction = (uint)(scaled - whole * scale);
        written = FormatUnsigned(destination, whole);
        if (fraction == 0) return true;
        destination[written++] = (byte)'.';
        written += FormatFraction(destination.Slice(written, decimals), fraction);
        return true;
    }

    private static readonly ulong[] Pow10 = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000];

    /// <summary>Characters <see cref="FormatFixedTrimmed(Span{char}, double, int)"/> may need (a double's largest integer part, a point and 15 decimals).</summary>
    public const int MaxFixedChars = 350;

    /// <summary><see cref="FormatFixedTrimmed(Span{char}, double, int)"/> as a string (how a reader prints a typed cell of a run table as its CSV text).</summary>
    public static string FixedTrimmed(double value, int decimals)
    {
        Span<char> buffer = stackalloc char[MaxFixedChars];
        return new string(buffer[..FormatFixedTrimmed(buffer, value, decimals)]);
    }

    /// <summary>
    /// The length of <paramref name="text"/>, a fixed-decimal number, without the trailing zeros of its fraction and
    /// without its point when no decimal is left ("12.500" -> "12.5", "4.000000" -> "4", "0.000" -> "0"); text without a
    /// point (integers, "NaN") is kept whole. The shorter text denotes exactly the same decimal value.
    /// </summary>
    public static int TrimFraction(ReadOnlySpan<char> text) => TrimFractionOf(text);

    private static int TrimFractionOf<T>(ReadOnlySpan<T> text) where T : unmanaged, IBinaryInteger<T>
    {
        var point = text.IndexOf(T.CreateTruncating('.'));
        if (point < 0) return text.Length;
        var n = text.Length;
        while (n > point + 1 && text[n - 1] == T.CreateTruncating('0')) n--;
        return n == point + 1 ? point : n;
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
        Span<char> buffer = stackalloc char[MaxNsChars];
        return new string(buffer[..FormatNsAsMs(buffer, ns)]);
    }

    /// <summary><see cref="NsAsMs"/> into <paramref name="destination"/> (at least <see cref="MaxNsChars"/> long); returns the characters written.</summary>
    public static int FormatNsAsMs(Span<char> destination, long ns)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ns);
        (ns / 1_000_000).TryFormat(destination, out var n, default, Inv);
        destination[n++] = '.';
        (ns % 1_000_000).TryFormat(destination[n..], out var w, "D6", Inv);
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
