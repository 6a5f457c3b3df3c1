// FsCheck supplies the arguments of [FsProperty] methods; NUnit's analyzer cannot see that.
#pragma warning disable NUnit1027
using System.Globalization;
using NUnit.Framework;
using Simulator.Inference.Workload;
using FsProperty = FsCheck.NUnit.PropertyAttribute;

namespace Simulator.Inference.Tests.Workload;

public sealed class TraceTimestampTest
{
    // The exact-format parse the trace reader used before (and still falls back to).
    private static readonly string[] Formats =
        ["yyyy-MM-dd HH:mm:ss.FFFFFFF", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-ddTHH:mm:ss.FFFFFFF", "yyyy-MM-ddTHH:mm:ss"];

    private static bool Reference(string text, out long ticks)
    {
        bool ok = DateTime.TryParseExact(text, Formats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var t);
        ticks = ok ? t.Ticks : 0;
        return ok;
    }

    [TestCase("2023-11-16 18:17:03.9799600", 638357554239799600L)]
    [TestCase("2023-11-16T18:17:03", 638357554230000000L)]
    [TestCase("2023-11-16 18:17:03.5", 638357554235000000L)]
    [TestCase("2024-02-29 23:59:59.0000001", 638448479990000001L)]
    public void AzureTimestamps_GiveTheTicksOfTheExactFormatParse(string text, long expected)
    {
        Assert.That(TraceTimestamp.TryParseTicks(text, out long ticks), Is.True);
        Assert.That(ticks, Is.EqualTo(expected));
        Assert.That(Reference(text, out long reference) && reference == ticks, Is.True);
    }

    [TestCase("2023-02-29 00:00:00")] // no such day
    [TestCase("2023-13-01 00:00:00")]
    [TestCase("2023-11-16 24:00:00")]
    [TestCase("2023-11-16 18:17:03.")]
    [TestCase("2023-11-16 18:17:03.12345678")]
    [TestCase("2023-11-16 18:17:3")]
    [TestCase("2023-11-16  18:17:03")]
    [TestCase("0000-01-01 00:00:00")]
    [TestCase("2023-11-16 18:17:03Z")]
    [TestCase("2023-1x-16 18:17:03")]
    [TestCase("")]
    public void OtherText_IsDeclined(string text)
    {
        Assert.That(TraceTimestamp.TryParseTicks(text, out long ticks), Is.False);
        Assert.That(ticks, Is.Zero);
    }

    [FsProperty(MaxTest = 200)]
    public void AnyTextItAccepts_TheExactFormatParseAcceptsWithTheSameTicks(int seed)
    {
        var rng = new Random(seed);
        for (int i = 0; i < 200; i++)
        {
            string text = RandomTimestampLike(rng);
            if (!TraceTimestamp.TryParseTicks(text, out long ticks)) continue;
            Assert.That(Reference(text, out long reference), Is.True, text);
            Assert.That(ticks, Is.EqualTo(reference), text);
        }
    }

    [FsProperty(MaxTest = 100)]
    public void WellFormedTimestamps_AreAllAccepted(int seed)
    {
        var rng = new Random(seed);
        var t = new DateTime(1, 1, 1).AddTicks((long)(rng.NextDouble() * (DateTime.MaxValue.Ticks - 1)));
        int digits = rng.Next(0, 8);
        string text = t.ToString("yyyy-MM-dd" + (rng.Next(2) == 0 ? " " : "T") + "HH:mm:ss", CultureInfo.InvariantCulture)
            + (digits == 0 ? "" : "." + (t.Ticks % 10_000_000).ToString("D7", CultureInfo.InvariantCulture)[..digits]);
        Assert.That(TraceTimestamp.TryParseTicks(text, out long ticks), Is.True, text);
        Assert.That(Reference(text, out long reference), Is.True, text);
        Assert.That(ticks, Is.EqualTo(reference), text);
    }

    /// <summary>Timestamps with random fields, some out of range, and random damage (a changed, dropped or added character).</summary>
    private static string RandomTimestampLike(Random rng)
    {
        string text = string.Create(CultureInfo.InvariantCulture,
            $"{rng.Next(0, 10000):D4}-{rng.Next(0, 14):D2}-{rng.Next(0, 33):D2}{(rng.Next(2) == 0 ? ' ' : 'T')}{rng.Next(0, 26):D2}:{rng.Next(0, 62):D2}:{rng.Next(0, 62):D2}");
        int digits = rng.Next(-1, 9);
        if (digits >= 0) text += "." + new string(Enumerable.Range(0, digits).Select(_ => (char)('0' + rng.Next(10))).ToArray());
        const string Alphabet = "0123456789 -:.TZ+x";
        switch (rng.Next(4))
        {
            case 0:
                int at = rng.Next(text.Length);
                text = text[..at] + Alphabet[rng.Next(Alphabet.Length)] + text[(at + 1)..];
                break;
            case 1:
                text = text.Remove(rng.Next(text.Length), 1);
                break;
            case 2:
                text = text.Insert(rng.Next(text.Length + 1), Alphabet[rng.Next(Alphabet.Length)].ToString());
                break;
        }
        return text;
    }
}
