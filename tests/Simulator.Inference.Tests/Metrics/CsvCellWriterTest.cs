#pragma warning disable NUnit1027 // FsCheck generates the arguments of [FsCheckProperty] methods
using System.Text;
using CsvHelper;
using FsCheckProperty = FsCheck.NUnit.PropertyAttribute;
using NUnit.Framework;
using Simulator.Inference.Metrics;

namespace Simulator.Inference.Tests.Metrics;

/// <summary>
/// The run tables' own CSV writer gives the bytes CsvHelper's writer gave them (comma, LF, quotes only where needed):
/// the shipped scenarios' files are compared by ShippedScenarioDigestsTest; here, awkward text and numbers.
/// </summary>
public sealed class CsvCellWriterTest
{
    private static readonly CsvWriterOptions CsvHelperOptions = CsvWriterOptions.Default with { NewLine = "\n" };

    // Characters that need quotes, a quote, whitespace, non-ASCII (2-, 3- and 4-byte UTF-8), lone surrogates, formula starts.
    private static readonly string[] Pieces =
        [",", "\"", "\r", "\n", "\r\n", " ", "\t", "a", "completed", "é", "日本", "😀", "\uD800", "\uDC00", "=", "-", "+", "@", "#", "", "''", "0"];

    private static string AwkwardText(Random rng)
    {
        var sb = new StringBuilder();
        for (int i = rng.Next(0, 6); i > 0; i--) sb.Append(Pieces[rng.Next(Pieces.Length)]);
        return sb.ToString();
    }

    [FsCheckProperty(MaxTest = 300)]
    public bool AwkwardTextRecords_AreTheBytesCsvHelperWrites(int seed)
    {
        var rng = new Random(seed);
        var records = Enumerable.Range(0, rng.Next(1, 5))
            .Select(_ => Enumerable.Range(0, rng.Next(1, 4)).Select(_ => AwkwardText(rng)).ToArray()).ToList();
        // CsvHelper checks that every record has the first one's field count; the tables do too.
        var width = records[0].Length;
        records = records.Select(r => r.Length == width ? r : [.. r.Concat(Enumerable.Repeat("", width)).Take(width)]).ToList();
        return Ours(w => records.ForEach(r => { foreach (var f in r) w.Text(f); w.EndRecord(); }))
            .SequenceEqual(Theirs(w => records.ForEach(r => { foreach (var f in r) w.WriteField(f); w.EndRecord(); })));
    }

    [FsCheckProperty(MaxTest = 200)]
    public bool Numbers_AreTheTextCsvHelperWritesForTheFormattedValue(long integer, long ns, double value, bool seconds)
    {
        var decimals = seconds ? 6 : 3;
        Span<char> text = stackalloc char[MetricFormat.MaxFixedChars];
        var nsText = new string(text[..MetricFormat.FormatNsTrimmed(text, ns, decimals)]);
        var fixedText = MetricFormat.FixedTrimmed(value, decimals);
        return Ours(w => { w.Integer(integer); w.Ns(ns, decimals); w.Fixed(value, decimals); w.Empty(); w.EndRecord(); })
            .SequenceEqual(Theirs(w => { w.WriteField(integer, default); w.WriteField(nsText); w.WriteField(fixedText); w.WriteField(""); w.EndRecord(); }));
    }

    [Test]
    public void ExtremeIntegers_AreTheirInvariantText() =>
        Assert.That(Encoding.UTF8.GetString(Ours(w => { w.Integer(long.MinValue); w.Integer(long.MaxValue); w.Integer(-1); w.Integer(0); w.EndRecord(); })),
            Is.EqualTo("-9223372036854775808,9223372036854775807,-1,0\n"));

    [Test]
    public void RecordWithOneEmptyField_IsWrittenAsTwoQuotes()
    {
        var ours = Ours(w => { w.Text("x"); w.EndRecord(); w.Empty(); w.EndRecord(); w.Text(""); w.EndRecord(); });
        Assert.That(Encoding.UTF8.GetString(ours), Is.EqualTo("x\n\"\"\n\"\"\n"));
        Assert.That(ours, Is.EqualTo(Theirs(w => { w.WriteField("x"); w.EndRecord(); w.WriteField(""); w.EndRecord(); w.WriteField(""); w.EndRecord(); })));
    }

    [Test]
    public void FieldLongerThanTheBuffer_IsWrittenWhole()
    {
        var text = string.Concat(Enumerable.Repeat("ab,\"c\"日", 40_000));
        var ours = Ours(w => { w.Integer(1); w.Text(text); w.EndRecord(); });
        Assert.That(ours, Is.EqualTo(Theirs(w => { w.WriteField(1L, default); w.WriteField(text); w.EndRecord(); })));
        Assert.That(ours.Length, Is.GreaterThan(1 << 16));
    }

    [Test]
    public void LargestDoubles_Fit() =>
        Assert.That(Encoding.UTF8.GetString(Ours(w => { w.Fixed(-double.MaxValue, 6); w.EndRecord(); })),
            Is.EqualTo(MetricFormat.Fixed(-double.MaxValue, 0) + "\n"));

    private static byte[] Ours(Action<CsvCellWriter> write)
    {
        var stream = new MemoryStream();
        using (var w = new CsvCellWriter(stream)) write(w);
        return stream.ToArray();
    }

    private static byte[] Theirs(Action<CsvWriter> write)
    {
        var stream = new MemoryStream();
        using (var w = CsvWriter.Create(stream, CsvHelperOptions, leaveOpen: true)) write(w);
        return stream.ToArray();
    }
}
