using System.Text;

namespace Simulator.Reports.Tests;

/// <summary>
/// The typed read of a run table (requests, iterations, timeseries) gives the charts what the text read gave them, keeps
/// checking a corrupt file with the same messages, and the charts rendered on all cores are the serial render's bytes.
/// </summary>
public sealed class TypedTableTests
{
    private static readonly string[] TextColumns = ["status", "reason", "session_id"];

    private static readonly Dictionary<string, IReadOnlyList<string>> Statuses = new()
    {
        ["status"] = ["completed", "rejected", "failed", "unfinished"],
    };

    private static TableSchema Checked => new(TextColumns, Statuses, Check: true);

    private static string Csv(string dir, string text)
    {
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "requests.csv");
        File.WriteAllText(path, text, new UTF8Encoding(false));
        return path;
    }

    [Test]
    public void TypedRead_OfAFixtureRun_GivesEveryNumberAndTextOfTheTextRead()
    {
        using var tmp = new Fixtures.TempDir();
        var run = Fixtures.WriteRun(tmp.Sub("run"), new Fixtures.RunSpec("typed", Requests: 300));
        foreach (var name in new[] { "requests", "iterations", "timeseries" })
        {
            var path = Path.Combine(run, name + ".csv");
            var text = RunTable.TryReadFile(path)!;
            var typed = RunTable.TryReadTyped(path, name == "requests" ? Checked : TableSchema.Loose)!;
            Assert.That(typed.Headers, Is.EqualTo(text.Headers), name);
            Assert.That(typed.RowCount, Is.EqualTo(text.RowCount), name);
            foreach (var column in text.Headers)
            {
                Assert.That(typed.Numbers(column), Is.EqualTo(text.Numbers(column)), $"{name}.{column}");
                Assert.That(typed.HasNumbers(column), Is.EqualTo(text.HasNumbers(column)), $"{name}.{column}");
                for (var r = 0; r < text.RowCount; r++)
                    Assert.That(typed.Text(r, column), Is.EqualTo(text.Text(r, column)), $"{name}.{column} row {r}");
            }
        }
    }

    [Test]
    public void TypedRead_KeepsTextColumnsAsText_AndEmptyCellsAsNaN()
    {
        using var tmp = new Fixtures.TempDir();
        var path = Csv(tmp.Sub("run"), "request_id,status,ttft_ms,session_id,reason\n0,completed,12.5,7,\n1,rejected,,,kv full\n2,completed,3,7,\n");
        var t = RunTable.TryReadTyped(path, Checked)!;

        Assert.That(t.Numbers("ttft_ms")[0], Is.EqualTo(12.5));
        Assert.That(double.IsNaN(t.Numbers("ttft_ms")[1]), Is.True);
        Assert.That(t.Text(1, "status"), Is.EqualTo("rejected"));
        Assert.That(t.Text(0, "session_id"), Is.EqualTo("7"), "a declared text column keeps its text even when it looks like a number");
        Assert.That(t.Text(1, "reason"), Is.EqualTo("kv full"));
        Assert.That(t.Text(1, "ttft_ms"), Is.EqualTo(""), "an empty numeric cell reads back empty");
        Assert.That(t.Text(2, "ttft_ms"), Is.EqualTo("3"));
        Assert.That(ReferenceEquals(t.Text(0, "status"), t.Text(2, "status")), Is.True, "repeated text is held once");
    }

    [Test]
    public void TypedRead_Loose_TurnsAColumnWithAWordIntoText()
    {
        using var tmp = new Fixtures.TempDir();
        var path = Csv(tmp.Sub("run"), "replica,pool,start_s\n0,,0.5\n1,decode,1\n2,prefill,1.5\n");
        var t = RunTable.TryReadTyped(path, TableSchema.Loose)!;

        Assert.That(Enumerable.Range(0, 3).Select(r => t.Text(r, "pool")), Is.EqualTo(new[] { "", "decode", "prefill" }));
        Assert.That(t.HasNumbers("pool"), Is.False);
        Assert.That(t.Numbers("start_s"), Is.EqualTo(new[] { 0.5, 1, 1.5 }));
    }

    [TestCase("request_id,status,ttft_ms\n0,completed,1\n1,completed\n", "requests.csv:3: row: has 2 fields but the header has 3")]
    [TestCase("request_id,status,ttft_ms\n0,completed,1\n1,completed,abc\n", "requests.csv:3: ttft_ms: got 'abc'; expected a number or an empty cell")]
    [TestCase("request_id,status,ttft_ms\n0,done,1\n", "requests.csv:2: status: got 'done'; expected one of completed | rejected | failed | unfinished")]
    public void TypedRead_Checked_NamesTheLineAndColumnOfACorruptFile(string csv, string message)
    {
        using var tmp = new Fixtures.TempDir();
        var path = Csv(tmp.Sub("run"), csv);
        var e = Assert.Throws<ReportInputException>(() => RunTable.TryReadTyped(path, Checked));
        Assert.That(e!.Message, Does.Contain(message));

        // The text read's check (other tables, older callers) says the same.
        var text = RunTable.TryReadFile(path)!;
        var again = Assert.Throws<ReportInputException>(() => text.EnsureWellFormed(path, TextColumns, Statuses));
        Assert.That(again!.Message, Is.EqualTo(e.Message));
    }

    [Test]
    public void TypedRead_WithKeep_ChecksEveryColumnButHoldsOnlyTheKeptOnes()
    {
        using var tmp = new Fixtures.TempDir();
        var schema = Checked with { Keep = ["status", "ttft_ms"] };
        var good = RunTable.TryReadTyped(Csv(tmp.Sub("good"), "request_id,status,ttft_ms,e2e_ms\n0,completed,1,2\n1,failed,,\n"), schema)!;

        Assert.That(good.Numbers("ttft_ms")[0], Is.EqualTo(1));
        Assert.That(good.Text(1, "status"), Is.EqualTo("failed"));
        Assert.That(good.Has("e2e_ms"), Is.True, "a dropped column is still in the file");
        Assert.Throws<InvalidOperationException>(() => good.Numbers("e2e_ms"), "reading a dropped column is a mistake in the report, not a NaN");

        var bad = Csv(tmp.Sub("bad"), "request_id,status,ttft_ms,e2e_ms\n0,completed,1,x\n");
        var e = Assert.Throws<ReportInputException>(() => RunTable.TryReadTyped(bad, schema));
        Assert.That(e!.Message, Does.Contain("requests.csv:2: e2e_ms: got 'x'"), "a dropped column is still checked");
    }

    [Test]
    public void Build_RenderingChartsConcurrentlyWithTheirModels_WritesTheBytesOfASerialRender()
    {
        var result = Fixtures.Shared.SingleRun;
        var options = new ReportOptions();
        var charts = Path.Combine(Path.GetDirectoryName(result.HtmlPath)!, "charts");
        foreach (var chart in result.Charts)
        {
            var (png, svg) = ChartSink.Render(chart, options);
            Assert.That(File.ReadAllBytes(Path.Combine(charts, chart.PngFile)), Is.EqualTo(png), chart.PngFile);
            Assert.That(File.ReadAllText(Path.Combine(charts, chart.SvgFile)), Is.EqualTo(svg), chart.SvgFile);
        }
    }
}
