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

    // One cell of a record for the whole-row comparison: (kind, integer, double, text).
    private static (int Kind, long Integer, double Value, string Text) RandomCell(Random rng) =>
        (rng.Next(7), rng.Next(3) == 0 ? rng.NextInt64(long.MinValue, long.MaxValue) : rng.NextInt64(-5_000_000_000, 5_000_000_000_000),
         rng.Next(4) switch { 0 => rng.NextDouble() * 1e-3, 1 => -rng.NextDouble() * 1e6, 2 => rng.NextDouble() * 1e12, _ => Math.Round(rng.NextDouble() * 100, 3) },
         rng.Next(50) == 0 ? string.Concat(Enumerable.Repeat("ab,\"c\"日", rng.Next(1, 12_000))) : AwkwardText(rng));

    private static int Decimals(long integer) => (integer & 1) == 0 ? 6 : 3;

    [FsCheckProperty(MaxTest = 200)]
    public bool WholeRows_AreTheBytesOfTheCellByCellRecords(int seed)
    {
        var rng = new Random(seed);
        var records = Enumerable.Range(0, rng.Next(1, 400)).Select(_ => Enumerable.Range(0, rng.Next(1, 6)).Select(_ => RandomCell(rng)).ToArray()).ToList();
        var cells = Ours(w => records.ForEach(r =>
        {
            foreach (var c in r)
            {
                switch (c.Kind)
                {
                    case 0: w.Integer(c.Integer); break;
                    case 1: w.Ns(c.Integer, Decimals(c.Integer)); break;
                    case 2: w.Fixed(c.Value, Decimals(c.Integer)); break;
                    case 3: w.Text(c.Text); break;
                    default: w.Empty(); break;
                }
            }
            w.EndRecord();
        }));
        var rows = Ours(w => records.ForEach(r =>
        {
            var bound = r.Sum(c => 1 + c.Kind switch { 0 => CsvCellWriter.MaxIntegerBytes, 1 or 4 => MetricFormat.MaxNsChars, 2 or 5 => MetricFormat.MaxFixedChars, 3 => CsvCellWriter.TextBound(c.Text.Length), _ => 0 });
            var row = w.BeginRow(bound);
            foreach (var c in r)
            {
                switch (c.Kind)
                {
                    case 0: row.Integer(c.Integer); break;
                    case 1: row.Ns(c.Integer, Decimals(c.Integer)); break;
                    case 2: row.Fixed(c.Value, Decimals(c.Integer)); break;
                    case 3: row.Text(c.Text); break;
                    case 4: row.Ns(null, 6); break;
                    case 5: row.Fixed(null, 3); break;
                    default: row.Text(""); break;
                }
            }
            w.EndRow(ref row);
        }));
        return cells.SequenceEqual(rows);
    }

    [Test]
    public void WholeRow_OfOneEmptyField_IsWrittenAsTwoQuotes_AndCellsMayNotBeMixedIn()
    {
        var ours = Ours(w =>
        {
            var row = w.BeginRow(MetricFormat.MaxNsChars + 1);
            row.Ns(null, 6);
            w.EndRow(ref row);
            w.Text("x");
            Assert.Throws<InvalidOperationException>(() => w.BeginRow(10), "a record started cell by cell");
            w.EndRecord();
        });
        Assert.That(Encoding.UTF8.GetString(ours), Is.EqualTo("\"\"\nx\n"));
    }

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
