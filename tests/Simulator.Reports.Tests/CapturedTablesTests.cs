using Simulator.Inference.Cost;
using Simulator.Inference.Metrics;

namespace Simulator.Reports.Tests;

/// <summary>
/// The report of a run from the tables its writer kept in memory (<c>sim run</c>) against the report from its files
/// (<c>sim report</c>): the same, and really from memory.
/// </summary>
[NonParallelizable]
public sealed class CapturedTablesTests
{
    private const long Ms = 1_000_000;
    private static readonly string[] Tables = ["requests", "iterations", "timeseries"];

    /// <summary>Writes a run directory of <paramref name="requests"/> requests with the report's capture; returns the kept tables.</summary>
    private static IReadOnlyDictionary<string, CapturedTable> WriteRun(string dir, TableFormat format, int requests = 300)
    {
        var meta = new RunMetadata("captured", 7, new SloSpec(500, 50, 95), PipelineStages: 2, Microbatches: 2);
        using var w = new RunDirectoryWriter(dir, meta, new RunWriterOptions(TimelineEventCap: 5_000, Format: format, Capture: ReportBuilder.TableCapture));
        var cost = new StageCost(Ms, 100_000, 0, 0, 50_000, 10_000, new Dictionary<string, double>(), []);
        for (var i = 0; i < requests * 4; i++)
        {
            var t = (10 + i) * Ms;
            w.OnIteration(new IterationRecord(i % 2, i % 2, i, 0, t, t + Ms + i, 1 + i % 7, 10 * (i % 3), i % 5, cost, 30 + i % 9));
            if (i % 3 == 0) w.OnTokenGaps((1 + i % 40) * Ms, 1 + i % 6);
            if (i % 20 == 0) w.OnSample(new ReplicaSample(t, i % 2, i % 4, 2, (i % 100) / 100.0, i, 2 * i, i % 3));
        }
        // The first request arrives 10 us in: 0.00001 s in the CSV (1E-05 as a double's round-trip text).
        w.OnRequestFinished(new RequestRecord(0, 10_000, 0, 64, 8, 8, 0, RequestStatus.Completed, 20 * Ms, 60 * Ms, 10_000, 0));
        for (var i = 1; i < requests; i++)
        {
            long arrival = i * 7 * Ms + i % 13 * 1_000, first = arrival + (5 + i % 50) * Ms;
            var status = i % 17 == 0 ? RequestStatus.Rejected : RequestStatus.Completed;
            w.OnRequestFinished(status == RequestStatus.Completed
                ? new RequestRecord(i, arrival, i % 2, 100 + i, 1 + i % 30, 1 + i % 30, 0, status, first, first + (i % 30) * 3 * Ms + 1_234, arrival + Ms, 0)
                : new RequestRecord(i, arrival, i % 2, 100 + i, 10, 0, 0, status, null, null, null, 0, Reason: "kv_capacity"));
        }
        w.WriteText("scenario.yaml", "name: captured\n");
        w.Commit(new RunEndInputs(new SimulationStats(1234, 10_000 * Ms, 0.5),
            [new ReplicaPipelineStats(0, 8_000 * Ms, [6_000 * Ms, 4_000 * Ms])],
            [new GpuActivity(0, 0, 0, 0, 0, 20, 50, 2, 8, 0.5, 6_000 * Ms, 5_000 * Ms, 1_000 * Ms, 0.5)],
            [new LinkActivity("gpu0-gpu1", "nvlink4", "gpu0", "gpu1", 450, 123_456_789, 1_000 * Ms)]));
        return w.TakeCapturedTables();
    }

    private static string Extension(TableFormat format) => format == TableFormat.Parquet ? ".parquet" : ".csv";

    private static void AssertSameTable(RunTable? expected, RunTable? actual, string name)
    {
        Assert.That(actual, Is.Not.Null, name);
        Assert.That(actual!.Headers, Is.EqualTo(expected!.Headers), name);
        Assert.That(actual.RowCount, Is.EqualTo(expected.RowCount).And.GreaterThan(1), name);
    }

    [TestCase(TableFormat.Csv)]
    [TestCase(TableFormat.Parquet)]
    public void Load_FromMemoryWithTheTableFilesDeleted_IsTheLoadAndTheReportFromTheFiles(TableFormat format)
    {
        using var tmp = new Fixtures.TempDir();
        var run = tmp.Sub("run");
        var tables = WriteRun(run, format);
        var fromFiles = RunData.Load(run);
        var filesReport = ReportBuilder.Build([run], tmp.Sub("files"));

        foreach (var t in Tables)
        {
            var file = Path.Combine(run, t + Extension(format));
            Assert.That(File.Exists(file), Is.True, file);
            File.Delete(file);
        }
        var fromMemory = RunData.Load(run, tables);
        AssertSameTable(fromFiles.Requests, fromMemory.Requests, "requests");
        AssertSameTable(fromFiles.Iterations, fromMemory.Iterations, "iterations");
        AssertSameTable(fromFiles.Timeseries, fromMemory.Timeseries, "timeseries");
        foreach (var column in new[] { "arrival_s", "ttft_ms", "tpot_ms", "e2e_ms", "queue_ms", "input_tokens" })
            Assert.That(fromMemory.Requests!.Numbers(column), Is.EqualTo(fromFiles.Requests!.Numbers(column)), column);
        Assert.That(Enumerable.Range(0, fromMemory.Requests!.RowCount).Select(r => fromMemory.Requests.Text(r, "status")),
            Is.EqualTo(Enumerable.Range(0, fromFiles.Requests!.RowCount).Select(r => fromFiles.Requests.Text(r, "status"))));
        foreach (var column in fromFiles.Timeseries!.Headers)
            Assert.That(fromMemory.Timeseries!.Numbers(column), Is.EqualTo(fromFiles.Timeseries.Numbers(column)), column);

        var memoryReport = ReportBuilder.Build([run], tmp.Sub("memory"), runTables: tables);
        Assert.That(memoryReport.Notes, Is.EqualTo(filesReport.Notes));
        Assert.That(File.ReadAllText(memoryReport.HtmlPath), Is.EqualTo(File.ReadAllText(filesReport.HtmlPath)), "report.html");
        Assert.That(File.ReadAllText(memoryReport.MarkdownPath), Is.EqualTo(File.ReadAllText(filesReport.MarkdownPath)), "report.md");
    }

    private static readonly TableSchema RequestsKept = TableSchema.Loose with { Keep = ["arrival_s", "ttft_ms"] };

    [Test]
    public void Load_TablesCapturedForAnotherDirectory_ReadsTheFiles()
    {
        using var tmp = new Fixtures.TempDir();
        var other = WriteRun(tmp.Sub("other"), TableFormat.Csv, requests: 120);
        WriteRun(tmp.Sub("run"), TableFormat.Csv, requests: 300);
        Assert.That(other["requests"].Directory, Is.EqualTo(Path.GetFullPath(tmp.Sub("other"))));

        var fromFiles = RunData.Load(tmp.Sub("run"));
        var given = RunData.Load(tmp.Sub("run"), other);
        AssertSameTable(fromFiles.Requests, given.Requests, "requests");
        AssertSameTable(fromFiles.Iterations, given.Iterations, "iterations");
        AssertSameTable(fromFiles.Timeseries, given.Timeseries, "timeseries");
        Assert.That(given.Requests!.RowCount, Is.EqualTo(300));
        Assert.That(RunTable.FromCaptured(other["requests"], RequestsKept, Path.Combine(tmp.Sub("run"), "requests.csv")), Is.Null);
        Assert.That(RunTable.FromCaptured(other["requests"], RequestsKept, Path.Combine(tmp.Sub("other"), "requests.csv")), Is.Not.Null);
    }

    [Test]
    public void FromCaptured_NumericColumnDeclaredText_IsTheFilesText()
    {
        using var tmp = new Fixtures.TempDir();
        var tables = WriteRun(tmp.Sub("run"), TableFormat.Csv);
        var schema = new TableSchema(["arrival_s", "ttft_ms", "input_tokens", "status", "reason", "session_id"],
            new Dictionary<string, IReadOnlyList<string>>(), Check: true) { Keep = ["arrival_s", "ttft_ms", "input_tokens", "tpot_ms", "status"] };
        var path = Path.Combine(tmp.Sub("run"), "requests.csv");
        var fromFile = RunTable.TryReadTyped(path, schema)!;
        var fromMemory = RunTable.FromCaptured(tables["requests"], schema, path)!;
        Assert.That(fromFile.Text(0, "arrival_s"), Is.EqualTo("0.00001"), "the file's text");
        foreach (var column in new[] { "arrival_s", "ttft_ms", "input_tokens", "tpot_ms" })
            Assert.That(Enumerable.Range(0, fromMemory.RowCount).Select(r => fromMemory.Text(r, column)),
                Is.EqualTo(Enumerable.Range(0, fromFile.RowCount).Select(r => fromFile.Text(r, column))), column);
    }

    [Test]
    public void Build_AfterAWarmUpThatThrows_WritesTheReport()
    {
        using var tmp = new Fixtures.TempDir();
        var run = tmp.Sub("run");
        WriteRun(run, TableFormat.Csv);
        ReportBuilder.WarmUp(() => throw new InvalidOperationException("made-up run failed"));
        var result = ReportBuilder.Build([run], tmp.Sub("report"));
        Assert.That(File.Exists(result.HtmlPath), Is.True);
        Assert.That(result.Charts, Is.Not.Empty);
    }
}
