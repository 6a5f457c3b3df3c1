namespace Simulator.Inference.Workload;

/// <summary>
/// The Azure traces' timestamps (<c>2023-11-16 18:17:03.9799600</c>: date, a space or <c>T</c>, time, up to 7
/// fractional digits) read without <see cref="DateTime.TryParseExact(string, string[], IFormatProvider, System.Globalization.DateTimeStyles, out DateTime)"/>:
/// fixed-position ASCII digits into ticks. It accepts only text that the exact-format parse accepts with the same
/// value, and declines everything else (the caller then falls back to that parse, which decides and words any error).
/// </summary>
// Implementation note: the trace reader parses one timestamp per row; the format-string parse with four candidate
// formats was the costliest part of reading the 19,366-row Azure conversation trace.
public static class TraceTimestamp
{
    private static readonly int[] FractionScale = [1_000_000, 100_000, 10_000, 1_000, 100, 10, 1];

    /// <summary>
    /// Reads <c>yyyy-MM-dd HH:mm:ss</c> (or with <c>T</c>) and an optional <c>.</c> with 1 to 7 digits, every field
    /// at its fixed width and in range; <paramref name="ticks"/> is then <see cref="DateTime.Ticks"/> (100 ns units since
    /// year 1). Returns false, and 0, for any other text.
    /// </summary>
    public static bool TryParseTicks(ReadOnlySpan<char> text, out long ticks)
    {
        ticks = 0;
        if (text.Length < 19 || text[4] != '-' || text[7] != '-' || (text[10] != ' ' && text[10] != 'T') || text[13] != ':' || text[16] != ':')
            return false;
        if (!Digits(text.Slice(0, 4), out int year) || !Digits(text.Slice(5, 2), out int month) || !Digits(text.Slice(8, 2), out int day)
            || !Digits(text.Slice(11, 2), out int hour) || !Digits(text.Slice(14, 2), out int minute) || !Digits(text.Slice(17, 2), out int second))
            return false;
        if (year < 1 || month < 1 || month > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
            return false;
        long fraction = 0;
        if (text.Length > 19)
        {
            int digits = text.Length - 20;
            if (text[19] != '.' || digits < 1 || digits > 7 || !Digits(text.Slice(20), out int f)) return false;
            fraction = (long)f * FractionScale[digits - 1];
        }
        ticks = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Unspecified).Ticks + fraction;
        return true;
    }

    private static bool Digits(ReadOnlySpan<char> text, out int value)
    {
        value = 0;
        foreach (char c in text)
        {
            if (c is < '0' or > '9') return false;
            value = value * 10 + (c - '0');
        }
        return true;
    }
}
