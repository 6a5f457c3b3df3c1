using NUnit.Framework;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Simulator.Inference.Metrics;
using Simulator.Tests.Shared;
using static Simulator.Inference.Tests.Metrics.MetricsTestData;

namespace Simulator.Inference.Tests.Metrics;

public sealed class RunDirectoryWriterTest
{
    private string _root = "";

    [SetUp]
    public void SetUp()
    {
        _root = Path.Combine(Path.GetTempPath(), "sim-metrics-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_root);
    }

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private string Out => Path.Combine(_root, "run");

    private static void Feed(IRunRecorder rec)
    {
        rec.OnIteration(new IterationRecord(0, 0, 1, 0, 0, 2 * Ms, 4, 400, 0, StageCostOf(1500 * 1000, tpNs: 300 * 1000, ppNs: 200 * 1000), 25));
        rec.OnIteration(new IterationRecord(0, 1, 1, 0, 2 * Ms, 4 * Ms, 4, 0, 4, StageCostOf(1000 * 1000, tpNs: 100 * 1000, overheadNs: 50_000), 26));
        rec.OnIteration(new IterationRecord(0, 0, 2, 1, 4 * Ms, 6 * Ms, 3, 100, 2, StageCostOf(2 * Ms), 27));
        rec.OnSample(new ReplicaSample(500 * Ms, 0, 3, 4, 0.25, 1000, 50, 1));
        rec.OnSample(new ReplicaSample(1000 * Ms, 0, 0, 2, 0.5, 0, 100, 2, Live: false));
        rec.OnTokenGaps(100 * Ms, 10);
        rec.OnTokenGaps(20 * Ms, 20);
        foreach (var r in SmallRun()) rec.OnRequestFinished(r);
    }

    private RunSummary WriteSmallRun(string outDir)
    {
        using var w = new RunDirectoryWriter(outDir, Meta());
        Feed(w);
        w.WriteText("scenario.yaml", "name: unit-test\n");
        return w.Commit(End());
    }

    private static string[] Lines(string path) => File.ReadAllText(path).Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>
    /// The repository root, found from this source file's compile-time path (works with isolated build
    /// outputs, where <see cref="TestPaths.RepoRoot"/> may not find it), else from <see cref="TestPaths"/>.
    /// </summary>
    private static string RepoRoot([CallerFilePath] string sourceFile = "")
    {
        for (var dir = Path.GetDirectoryName(sourceFile); !string.IsNullOrEmpty(dir); dir = Path.GetDirectoryName(dir))
            if (File.Exists(Path.Combine(dir, "Simulator.sln"))) return dir;
        return TestPaths.RepoRoot;
    }

    /// <summary>The backticked column names of a file's row in docs/outputs.md.</summary>
    private static string[] DocumentedColumns(string file)
    {
        var row = File.ReadLines(Path.Combine(RepoRoot(), "docs", "outputs.md"))
            .Single(l => l.StartsWith($"| `{file}`", StringComparison.Ordinal));
        var cells = row.Split('|');
        var columns = cells[3].Trim();
        var listed = columns[..(columns.IndexOf('(') is var i and >= 0 ? i : columns.Length)].Trim().Trim('`');
        return listed.Split(',').Select(c => c.Trim()).ToArray();
    }

    [TestCase("requests.csv")]
    [TestCase("iterations.csv")]
    [TestCase("timeseries.csv")]
    [TestCase("gpus.csv")]
    [TestCase("links.csv")]
    public void Commit_CsvHeader_StartsWithTheDocumentedColumns(string file)
    {
        WriteSmallRun(Out);
        var header = Lines(Path.Combine(Out, file))[0].Split(',');
        var documented = DocumentedColumns(file);
        Assert.That(documented, Is.Not.Empty);
        Assert.That(header.Take(documented.Length), Is.EqualTo(documented));
    }

    [Test]
    public void Commit_WritesEveryFileAndRemovesTheTempFolder()
    {
        WriteSmallRun(Out);
        var files = Directory.GetFiles(Out).Select(Path.GetFileName).Order(StringComparer.Ordinal);
        Assert.That(files, Is.EqualTo(new[]
        {
            OutputTarget.RunMarker, "gpus.csv", "iterations.csv", "itl_histogram.csv", "links.csv", "perf.json", "requests.csv", "scenario.yaml",
            "summary.json", "timeline.json", "timeseries.csv",
        }));
        Assert.That(Directory.GetDirectories(_root), Is.EqualTo(new[] { Out }));
    }

    [Test]
    public void Abort_DeletesTheTempFolderAndWritesNothing()
    {
        var w = new RunDirectoryWriter(Out, Meta());
        Feed(w);
        Assert.That(Directory.Exists(w.TempDirectory), Is.True);
        w.Abort();
        Assert.That(Directory.GetFileSystemEntries(_root), Is.Empty);
    }

    /// <summary>Every file of a run directory by name, with its bytes.</summary>
    private static Dictionary<string, byte[]> Files(string dir) =>
        Directory.GetFiles(dir).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);

    /// <summary>A larger synthetic run than <see cref="Feed"/>: thousands of interleaved rows of every kind, so many batches pass.</summary>
    private static void FeedMany(IRunRecorder rec)
    {
        Feed(rec);
        for (int i = 0; i < 6_000; i++)
        {
            long t = (10 + i) * Ms;
            rec.OnIteration(new IterationRecord(i % 2, i % 2, 3 + i, 0, t, t + Ms, 1 + i % 7, 10 * (i % 3), i % 5, StageCostOf(Ms + i, tpNs: i), 30 + i % 9));
            if (i % 3 == 0) rec.OnTokenGaps((1 + i % 40) * Ms, 1 + i % 6);
            if (i % 5 == 0) rec.OnRequestFinished(Completed(100 + i, t, t + 3 * Ms, t + 40 * Ms, 1 + i % 30, replica: i % 2));
            if (i % 50 == 0) rec.OnSample(new ReplicaSample(t, i % 2, i % 4, 2, (i % 100) / 100.0, i, 2 * i, i % 3));
        }
    }

    [TestCase(TableFormat.Csv)]
    [TestCase(TableFormat.Parquet)]
    public void WriterThread_WritesTheSameBytesAsTheCallersThread(TableFormat format)
    {
        Dictionary<string, byte[]> Run(bool writerThread, string dir)
        {
            using var w = new RunDirectoryWriter(dir, Meta(), new RunWriterOptions(TimelineEventCap: 5_000, Format: format,
                Iterations: new IterationOutput("auto", 1_000), WriterThread: writerThread));
            Assert.That(w.UsesWriterThread, Is.EqualTo(writerThread));
            FeedMany(w);
            w.WriteText("scenario.yaml", "name: unit-test\n");
            w.Commit(End());
            return Files(dir);
        }

        var direct = Run(false, Path.Combine(_root, "direct"));
        var piped = Run(true, Path.Combine(_root, "piped"));
        Assert.That(piped.Keys, Is.EquivalentTo(direct.Keys));
        foreach (var (name, bytes) in direct) Assert.That(piped[name], Is.EqualTo(bytes), name);
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Capture_KeepsTheValuesItsCsvTextDenotesAndWritesTheSameFiles(bool writerThread)
    {
        var options = new RunWriterOptions(TimelineEventCap: 5_000, Iterations: new IterationOutput("auto", 1_000), WriterThread: writerThread);
        var capture = new TableCapture(new Dictionary<string, IReadOnlyCollection<string>?>
        {
            ["requests"] = ["arrival_s", "ttft_ms", "tpot_ms", "status", "input_tokens"],
            ["iterations"] = null,
            ["timeseries"] = null,
        });
        string plain = Path.Combine(_root, "plain"), kept = Path.Combine(_root, "kept");
        using (var w = new RunDirectoryWriter(plain, Meta(), options)) { FeedMany(w); w.Commit(End()); }
        IReadOnlyDictionary<string, CapturedTable> tables;
        using (var w = new RunDirectoryWriter(kept, Meta(), options with { Capture = capture }))
        {
            FeedMany(w);
            w.Commit(End());
            tables = w.TakeCapturedTables();
        }

        var files = Files(kept);
        foreach (var (name, bytes) in Files(plain)) Assert.That(files[name], Is.EqualTo(bytes), name + ": the files do not depend on the capture");
        Assert.That(tables.Keys, Is.EquivalentTo(new[] { "requests", "iterations", "timeseries" }));
        foreach (var (name, table) in tables)
        {
            var rows = Lines(Path.Combine(kept, name + ".csv")).Select(l => l.Split(',')).ToArray();
            Assert.That(table.Headers, Is.EqualTo(rows[0]), name);
            Assert.That(table.RowCount, Is.EqualTo(rows.Length - 1).And.GreaterThan(1), name);
            for (var c = 0; c < rows[0].Length; c++)
            {
                var wanted = capture.Columns[name] is not { } columns || columns.Contains(rows[0][c]);
                Assert.That(table.IsKept(c), Is.EqualTo(wanted), $"{name}.{rows[0][c]} kept");
                for (var r = 0; r < table.RowCount; r++)
                {
                    var cell = rows[r + 1][c];
                    if (table.Numbers(c) is { } numbers)
                    {
                        // Bit for bit what a reader of the text gets (NaN for an empty cell).
                        var expected = cell.Length == 0 ? double.NaN : double.Parse(cell, System.Globalization.CultureInfo.InvariantCulture);
                        Assert.That(BitConverter.DoubleToInt64Bits(numbers[r]), Is.EqualTo(BitConverter.DoubleToInt64Bits(expected)), $"{name}.{rows[0][c]} row {r}: '{cell}'");
                    }
                    else if (table.Texts(c) is { } texts) Assert.That(texts[r], Is.EqualTo(cell), $"{name}.{rows[0][c]} row {r}");
                }
            }
        }
    }

    [Test]
    public void WholeRows_WriteTheBytesOfTheCellPath()
    {
        // An uncaptured CSV table is written a whole row at a time; a captured one cell by cell (TableWriter's checks per
        // cell). Awkward records: texts that need quotes, missing and negative times, extreme values, odd samples.
        static void FeedAwkward(IRunRecorder rec)
        {
            FeedMany(rec);
            string[] texts = ["", "a,b", "say \"hi\"", "line\nbreak", "日本😀", "\r", "plain"];
            for (int i = 0; i < 300; i++)
            {
                long t = (7_000 + i) * Ms + i * 137;
                rec.OnIteration(new IterationRecord(i % 3, 0, long.MaxValue - i, i % 2, t, t - 1, int.MaxValue - i, 0, i,
                    StageCostOf(-i * 999, tpNs: long.MaxValue / (i + 2), overheadNs: 500 + i), int.MinValue + i));
                rec.OnRequestFinished(new RequestRecord(i, t, i % 3 - 1, i, 2 * i, i % 4, i % 2, (RequestStatus)(i % 4),
                    i % 5 == 0 ? null : t + 12_345 * i, i % 7 == 0 ? null : t + 99_999_999L * (1 + i % 4), i % 6 == 0 ? null : t - i, i % 3,
                    CpuCachedTokens: i, SessionId: i % 2 == 0 ? texts[i % texts.Length] : null, Retries: i % 4,
                    Reason: i % 3 == 0 ? texts[(i + 3) % texts.Length] : null, FrontEndNs: i * 1_001));
                rec.OnSample(new ReplicaSample(t, i % 3, i, -i, i / 7.0, i * 3, i * 1_000_003L, i, i % 4, i % 3, i % 5 != 0));
            }
        }

        var options = new RunWriterOptions(TimelineEventCap: 5_000, Iterations: new IterationOutput("auto", 2_000));
        var capture = new TableCapture(new Dictionary<string, IReadOnlyCollection<string>?> { ["requests"] = null, ["iterations"] = null, ["timeseries"] = null });
        string whole = Path.Combine(_root, "whole"), cells = Path.Combine(_root, "cells");
        using (var w = new RunDirectoryWriter(whole, Meta(), options)) { FeedAwkward(w); w.Commit(End()); }
        using (var w = new RunDirectoryWriter(cells, Meta(), options with { Capture = capture })) { FeedAwkward(w); w.Commit(End()); }
        var cellFiles = Files(cells);
        foreach (var (name, bytes) in Files(whole)) Assert.That(bytes, Is.EqualTo(cellFiles[name]), name);
        Assert.That(File.ReadAllText(Path.Combine(whole, "requests.csv")), Does.Contain("\"say \"\"hi\"\"\"").And.Contain("\"line\nbreak\""));
    }

    [Test]
    public void TakeCapturedTables_OnceWithTheRunDirectory_AndNotBeforeCommit()
    {
        var capture = new TableCapture(new Dictionary<string, IReadOnlyCollection<string>?> { ["requests"] = null, ["iterations"] = null });
        using var w = new RunDirectoryWriter(Out, Meta(), new RunWriterOptions(TimelineEventCap: 5_000, Capture: capture));
        FeedMany(w);
        Assert.Throws<InvalidOperationException>(() => w.TakeCapturedTables(), "before Commit");
        w.Commit(End());
        var tables = w.TakeCapturedTables();
        Assert.That(tables.Keys, Is.EquivalentTo(new[] { "requests", "iterations" }));
        Assert.That(tables.Values.Select(t => t.Directory), Is.All.EqualTo(w.OutputDirectory));
        Assert.Throws<InvalidOperationException>(() => w.TakeCapturedTables(), "a second time: the writer let go of them");
    }

    [Test]
    public void Capture_AllocatesTheKeptValuesAboutTwiceAtMost()
    {
        // Chunks while the run writes, one array of the exact length when taken: about twice the kept values in all. A
        // column doubling from 64 and copied to its exact length at the end allocated three to five times them.
        var options = new RunWriterOptions(TimelineEventCap: 5_000, Iterations: new IterationOutput("all"));
        var capture = new TableCapture(new Dictionary<string, IReadOnlyCollection<string>?> { ["iterations"] = null });
        static void FeedIterations(IRunRecorder rec)
        {
            for (int i = 0; i < 60_000; i++)
            {
                long t = (10 + i) * Ms;
                rec.OnIteration(new IterationRecord(0, 0, i, 0, t, t + Ms, 1 + i % 7, 10 * (i % 3), i % 5, StageCostOf(Ms + i, tpNs: i), 30 + i % 9));
            }
            foreach (var r in SmallRun()) rec.OnRequestFinished(r);
        }
        long Allocated(string dir, TableCapture? c, out IReadOnlyDictionary<string, CapturedTable>? tables)
        {
            var before = GC.GetTotalAllocatedBytes(precise: true);
            using var w = new RunDirectoryWriter(dir, Meta(), options with { Capture = c });
            FeedIterations(w);
            w.Commit(End());
            tables = c is null ? null : w.TakeCapturedTables();
            return GC.GetTotalAllocatedBytes(precise: true) - before;
        }
        Allocated(Path.Combine(_root, "warm"), capture, out _);
        var plain = Allocated(Path.Combine(_root, "plain"), null, out _);
        var kept = Allocated(Path.Combine(_root, "kept"), capture, out var taken);
        var table = taken!["iterations"];
        Assert.That(table.RowCount, Is.EqualTo(60_000));
        var keptBytes = 8L * table.RowCount * Enumerable.Range(0, table.Headers.Count).Count(table.IsKept);
        Assert.That((double)(kept - plain) / keptBytes, Is.LessThan(2.3), $"{kept - plain} bytes allocated for {keptBytes} bytes kept");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void WriterThreadFailure_SurfacesUnchangedAndLeavesNothing(bool writerThread)
    {
        // A row the writer cannot write (an iteration of a replica outside the pools) fails on whichever thread writes it.
        var w = new RunDirectoryWriter(Out, Meta(), new RunWriterOptions(Pools: [new ReplicaPool("p", "mixed")], WriterThread: writerThread));
        Assert.Catch<IndexOutOfRangeException>(() =>
        {
            FeedMany(w);
            w.OnIteration(new IterationRecord(5, 0, 1, 0, 0, Ms, 1, 1, 0, StageCostOf(Ms), 1));
            w.Commit(End());
        });
        w.Dispose();
        Assert.That(Directory.GetFileSystemEntries(_root), Is.Empty, "no run directory and no .partial- folder");
    }

    [Test]
    public void Dispose_WithoutCommit_LeavesNothing()
    {
        using (var w = new RunDirectoryWriter(Out, Meta())) Feed(w);
        Assert.That(Directory.GetFileSystemEntries(_root), Is.Empty);
    }

    [Test]
    public void Abort_KeepsAnEarlierRunDirectory()
    {
        WriteSmallRun(Out);
        var before = File.ReadAllBytes(Path.Combine(Out, "summary.json"));
        using (var w = new RunDirectoryWriter(Out, Meta())) w.OnRequestFinished(Ended(0, 0, RequestStatus.Failed));
        Assert.That(File.ReadAllBytes(Path.Combine(Out, "summary.json")), Is.EqualTo(before));
        Assert.That(Directory.GetDirectories(_root), Has.Length.EqualTo(1));
    }

    [Test]
    public void Commit_ReplacesAnEarlierRunDirectory()
    {
        WriteSmallRun(Out);
        File.WriteAllText(Path.Combine(Out, "stale.txt"), "old");
        WriteSmallRun(Out);
        Assert.That(File.Exists(Path.Combine(Out, "stale.txt")), Is.False);
        Assert.That(Directory.GetDirectories(_root), Is.EqualTo(new[] { Out }));
    }

    [Test]
    public void NewWriter_RefusesAFolderOfOtherFiles_AndDeletesNothing()
    {
        Directory.CreateDirectory(Out);
        File.WriteAllText(Path.Combine(Out, "thesis.tex"), "precious");
        Assert.That(() => new RunDirectoryWriter(Out, Meta()), Throws.TypeOf<OutputTargetException>().With.Message.Contains("nothing was deleted"));
        Assert.That(File.ReadAllText(Path.Combine(Out, "thesis.tex")), Is.EqualTo("precious"));
        Assert.That(Directory.GetFileSystemEntries(_root), Is.EqualTo(new[] { Out }), "no temporary folder left");
    }

    [Test]
    public void Commit_RefusesUserFilesThatAppearedDuringTheRun()
    {
        var w = new RunDirectoryWriter(Out, Meta());
        Directory.CreateDirectory(Out);
        File.WriteAllText(Path.Combine(Out, "thesis.tex"), "precious");
        Assert.That(() => w.Commit(End()), Throws.TypeOf<OutputTargetException>());
        Assert.That(File.ReadAllText(Path.Combine(Out, "thesis.tex")), Is.EqualTo("precious"));
        Assert.That(Directory.GetFileSystemEntries(_root), Is.EqualTo(new[] { Out }), "the temporary folder is removed");
    }

    [Test]
    public void Abort_RemovesTheParentFoldersItCreated()
    {
        var deep = Path.Combine(_root, "a", "b", "run");
        using (var w = new RunDirectoryWriter(deep, Meta())) Feed(w);
        Assert.That(Directory.GetFileSystemEntries(_root), Is.Empty);
    }

    [Test]
    public void Commit_BeforePublish_SeesTheClosedFilesInTheHiddenSibling_AndWhatItAddsIsPublished()
    {
        var capture = new TableCapture(new Dictionary<string, IReadOnlyCollection<string>?> { ["requests"] = ["ttft_ms"] });
        var w = new RunDirectoryWriter(Out, Meta(), new RunWriterOptions(Capture: capture));
        Feed(w);
        StagedRun? seen = null;
        bool publishedWhenCalled = true;

        w.Commit(End(), run =>
        {
            seen = run;
            publishedWhenCalled = Directory.Exists(Out);
            File.WriteAllText(Path.Combine(run.Directory, "report.md"), File.ReadAllText(Path.Combine(run.Directory, "summary.json")).Length.ToString());
        });

        Assert.That(publishedWhenCalled, Is.False, "it runs before the move");
        Assert.That(seen!.Directory, Is.EqualTo(w.TempDirectory));
        Assert.That(seen.FinalDirectory, Is.EqualTo(w.OutputDirectory));
        Assert.That(seen.Tables.Keys, Is.EquivalentTo(new[] { "requests" }), "it gets the captured tables");
        Assert.That(seen.Tables["requests"].Directory, Is.EqualTo(w.TempDirectory), "taken where their files lay then");
        Assert.That(File.ReadAllText(Path.Combine(Out, "report.md")), Is.EqualTo(File.ReadAllText(Path.Combine(Out, "summary.json")).Length.ToString()));
        Assert.That(w.TakeCapturedTables(), Is.Empty, "handed over once");
    }

    [Test]
    public void Commit_BeforePublishThatThrows_RemovesTheWholeRun()
    {
        var w = new RunDirectoryWriter(Path.Combine(_root, "a", "run"), Meta());
        Feed(w);

        Assert.That(() => w.Commit(End(), _ => throw new IOException("disk full")), Throws.TypeOf<IOException>());
        Assert.That(Directory.GetFileSystemEntries(_root), Is.Empty, "no run, no hidden sibling, no parent it created");
    }

    [Test]
    public void Commit_Twice_Throws()
    {
        var w = new RunDirectoryWriter(Out, Meta());
        w.Commit(End());
        Assert.That(() => w.Commit(End()), Throws.InvalidOperationException);
        Assert.That(() => w.OnRequestFinished(Ended(0, 0, RequestStatus.Failed)), Throws.InvalidOperationException);
    }

    [Test]
    public void Commit_SameInputs_ByteIdenticalFiles()
    {
        var a = Path.Combine(_root, "a");
        var b = Path.Combine(_root, "b");
        WriteSmallRun(a);
        WriteSmallRun(b);
        foreach (var f in new[] { "summary.json", "requests.csv", "iterations.csv", "timeseries.csv", "gpus.csv", "links.csv", "timeline.json" })
            Assert.That(File.ReadAllBytes(Path.Combine(b, f)), Is.EqualTo(File.ReadAllBytes(Path.Combine(a, f))), f);
    }

    [Test]
    public void Commit_ReturnsTheSummaryWrittenToSummaryJson()
    {
        var s = WriteSmallRun(Out);
        Assert.That(SummaryJson.Read(File.ReadAllBytes(Path.Combine(Out, "summary.json"))), Is.EqualTo(s));
        Assert.That(s.Requests.Total, Is.EqualTo(7));
    }

    [Test]
    public void RequestsCsv_RowsHaveTrimmedDecimalsAndEmptyCellsForMissingTimes()
    {
        WriteSmallRun(Out);
        var lines = Lines(Path.Combine(Out, "requests.csv"));
        Assert.That(lines, Has.Length.EqualTo(1 + 7));
        Assert.That(lines[1], Is.EqualTo("0,0,0,100,11,0,completed,0.2,1.2,200,100,1200,50,0,11,0.05,0,,,0,0"));
        Assert.That(lines[3], Is.EqualTo("2,0.2,0,100,1,0,completed,1,1,800,,800,0,0,1,0.2,0,,,0,0"));
        Assert.That(lines[5], Is.EqualTo("4,0.4,0,100,10,0,rejected,,,,,,,0,0,,0,,,0,0"));
    }

    [Test]
    public void IterationsCsv_RowCarriesTheCostBreakdownInMs()
    {
        WriteSmallRun(Out);
        var lines = Lines(Path.Combine(Out, "iterations.csv"));
        Assert.That(lines, Has.Length.EqualTo(4));
        Assert.That(lines[1], Is.EqualTo("0,0,1,0,0,0.002,4,400,0,1.5,0.3,0,0.2,0,0,25"));
        Assert.That(lines[2], Is.EqualTo("0,1,1,0,0.002,0.004,4,0,4,1,0.1,0,0,0,0.05,26"));
    }

    [Test]
    public void TimeseriesCsv_RatesAreCountsOverTheIntervalSinceThePreviousSample()
    {
        WriteSmallRun(Out);
        var lines = Lines(Path.Combine(Out, "timeseries.csv"));
        // First sample: interval 0..0.5 s; second: 0.5..1.0 s.
        Assert.That(lines[1], Is.EqualTo("0.5,0,3,4,0.25,2000,100,1,,1"));
        Assert.That(lines[2], Is.EqualTo("1,0,0,2,0.5,0,200,2,,0"), "live is 0 while the replica is down");
    }

    [Test]
    public void GpusCsv_FractionsAreOverTheSimulatedSpanAndRowsSortedByGpu()
    {
        WriteSmallRun(Out);
        var lines = Lines(Path.Combine(Out, "gpus.csv"));
        // GPU 0: busy 6 of 10 s, compute 5, comm 1.
        Assert.That(lines[1], Is.EqualTo("0,0,0,0,20.000,50.000,0.6000,0.4000,0.5000,0.1000,2.000,8.000,0.500,0.5000,0"));
        Assert.That(lines[2], Does.StartWith("1,0,0,1,"));
    }

    [Test]
    public void LinksCsv_BusyFractionOverTheSimulatedSpan()
    {
        WriteSmallRun(Out);
        Assert.That(Lines(Path.Combine(Out, "links.csv"))[1], Is.EqualTo("gpu0-gpu1,nvlink4,gpu0,gpu1,450.000,123456789,0.1000"));
    }

    private static List<JsonElement> TimelineEvents(string dir)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "timeline.json")));
        return doc.RootElement.GetProperty("traceEvents").EnumerateArray().Select(e => e.Clone()).ToList();
    }

    private static string Ph(JsonElement e) => e.GetProperty("ph").GetString()!;

    [Test]
    public void Timeline_NamesProcessesAndTracksFromTheLayout()
    {
        var layout = new TimelineLayout("TP2 x PP2, H100-SXM-80GB", [["GPUs 0-1", "GPUs 2-3"]]);
        using (var w = new RunDirectoryWriter(Out, Meta(), new RunWriterOptions(Layout: layout)))
        {
            Feed(w);
            w.Commit(End());
        }
        var names = TimelineEvents(Out).Where(e => Ph(e) == "M" && e.GetProperty("args").TryGetProperty("name", out _))
            .Select(e => $"{e.GetProperty("tid").GetInt32()}:{e.GetProperty("args").GetProperty("name").GetString()}").ToList();
        Assert.That(names, Is.EqualTo(new[]
        {
            "0:replica 0 (TP2 x PP2, H100-SXM-80GB)", "0:stage 0 compute (GPUs 0-1)", "1:stage 0 TP comm", "4:stage 0 -> 1 PP send",
            "100:stage 1 compute (GPUs 2-3)", "101:stage 1 TP comm",
        }));
    }

    [Test]
    public void Timeline_ComputeThenCommInsideTheBusyInterval_PpSendAfterIt()
    {
        WriteSmallRun(Out);
        var x = TimelineEvents(Out).Where(e => Ph(e) == "X").Select(e =>
            (Name: e.GetProperty("name").GetString(), Tid: e.GetProperty("tid").GetInt32(), Ts: e.GetProperty("ts").GetInt64(), Dur: e.GetProperty("dur").GetInt64())).ToList();
        // Stage 0, 0..2 ms: compute 1.5 ms, then TP fills the rest of the busy interval; the 0.2 ms PP send follows it.
        Assert.That(x.Take(3), Is.EqualTo(new[] { ("prefill", 0, 0L, 1500L), ("TP comm", 1, 1500L, 500L), ("PP send", 4, 2000L, 200L) }));
        // Stage 1, 2..4 ms: compute + overhead 1.05 ms, TP 0.1 ms scaled to the remaining 0.95 ms.
        Assert.That(x.Skip(3).Take(2), Is.EqualTo(new[] { ("decode", 100, 2000L, 1050L), ("TP comm", 101, 3050L, 950L) }));
        Assert.That(x[5], Is.EqualTo(("mixed", 0, 4000L, 2000L)));
    }

    [Test]
    public void Timeline_CompletedRequestsHaveNestedAsyncSlices_SamplesHaveCounters()
    {
        WriteSmallRun(Out);
        var events = TimelineEvents(Out);
        var request0 = events.Where(e => Ph(e) is "b" or "e" && e.GetProperty("id").GetString() == "0")
            .Select(e => $"{Ph(e)} {e.GetProperty("name").GetString()} {e.GetProperty("ts").GetInt64()}").ToList();
        // Arrival 0, scheduled 50 ms, first token 200 ms, completion 1200 ms.
        Assert.That(request0, Is.EqualTo(new[]
        {
            "b request 0", "b queued 0", "e queued 50000", "b prefill 50000", "e prefill 200000", "b decode 200000", "e decode 1200000", "e request 1200000",
        }));
        // Request 3 (1 token, never queued): request and prefill only.
        Assert.That(events.Count(e => Ph(e) == "b" && e.GetProperty("id").GetString() == "3"), Is.EqualTo(2));
        Assert.That(events.Any(e => Ph(e) is "b" or "e" && e.GetProperty("id").GetString() == "4"), Is.False, "rejected requests have no slices");
        var counters = events.Where(e => Ph(e) == "C").Select(e => e.GetProperty("name").GetString()).ToList();
        Assert.That(counters, Is.EqualTo(new[] { "running batch", "queue depth", "KV utilization", "running batch", "queue depth", "KV utilization" }));
    }

    [Test]
    public void Timeline_OverTheCap_DropsWholeGroupsAndSaysWhatByKind()
    {
        using (var w = new RunDirectoryWriter(Out, Meta(), new RunWriterOptions(TimelineEventCap: 5)))
        {
            Feed(w);
            w.Commit(End());
        }
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Out, "timeline.json")));
        var written = doc.RootElement.GetProperty("traceEvents").EnumerateArray().Count(e => Ph(e) != "M");
        var other = doc.RootElement.GetProperty("otherData");
        var byKind = other.GetProperty("dropped_by_kind");
        // Iteration 1 on stage 0 is 3 slices and on stage 1 2 slices: the cap; the third batch's slice and everything after are dropped.
        Assert.Multiple(() =>
        {
            Assert.That(written, Is.EqualTo(5));
            Assert.That(other.GetProperty("events_written").GetInt64(), Is.EqualTo(5));
            Assert.That(byKind.GetProperty("stage_slices").GetInt64(), Is.EqualTo(1));
            Assert.That(byKind.GetProperty("counters").GetInt64(), Is.EqualTo(6));
            Assert.That(byKind.GetProperty("request_slices").GetInt64(), Is.GreaterThan(0));
            Assert.That(other.GetProperty("events_dropped").GetInt64(),
                Is.EqualTo(byKind.GetProperty("stage_slices").GetInt64() + byKind.GetProperty("counters").GetInt64() + byKind.GetProperty("request_slices").GetInt64()));
        });
        Assert.That(Lines(Path.Combine(Out, "iterations.csv")), Has.Length.EqualTo(4), "iterations.csv is never capped");
    }

    [Test]
    public void ItlHistogram_OneRowPerBucketWithTheGapsSeen()
    {
        var s = WriteSmallRun(Out);
        Assert.That(Lines(Path.Combine(Out, "itl_histogram.csv")), Is.EqualTo(new[]
        {
            "itl_ms_lo,itl_ms_hi,count", "20.000000,20.000000,20", "100.000000,100.000000,10",
        }));
        // 10 gaps of 100 ms and 20 of 20 ms: mean 140/3 ms; p50 rank 14.5 -> 20; p90 rank 26.1 -> 100.
        Assert.That(s.ItlMs, Is.EqualTo(new LatencyStats(30, 46.6667, 20, 100, 100, 100, 100)));
    }

    [Test]
    public void PathInRun_RejectsPathsOutsideTheRunDirectory()
    {
        using var w = new RunDirectoryWriter(Out, Meta());
        Assert.That(() => w.PathInRun("../escape.txt"), Throws.ArgumentException);
        Assert.That(() => w.PathInRun(".."), Throws.ArgumentException);
    }

    [Test]
    public void Streaming_HundredThousandRequests_WritesEveryRowAndKeepsNoRecord()
    {
        const int n = 100_000;
        var weak = new WeakReference[16];
        using (var w = new RunDirectoryWriter(Out, Meta()))
        {
            FeedMany(w, n, weak);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            // The writer has seen every record, yet none of the sampled ones is reachable any more.
            Assert.That(weak.Count(r => r.IsAlive), Is.EqualTo(0));
            var s = w.Commit(End());
            Assert.That(s.Requests.Completed, Is.EqualTo(n));
            Assert.That(s.TpotMs.Count, Is.EqualTo(n));
        }
        Assert.That(File.ReadLines(Path.Combine(Out, "requests.csv")).Count(), Is.EqualTo(n + 1));
    }

    [Test]
    public void Streaming_WriterAndAccumulatorHoldNoRequestRecords()
    {
        // By design: no field of either type may be (or contain) a RequestRecord.
        foreach (var t in new[] { typeof(RunDirectoryWriter), typeof(RunMetricsAccumulator), typeof(TimelineWriter) })
            foreach (var f in t.GetFields(BindingFlags.Instance | BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public))
                Assert.That(Mentions(f.FieldType, typeof(RequestRecord)), Is.False, $"{t.Name}.{f.Name}");
    }

    private static bool Mentions(Type t, Type target) =>
        t == target || (t.IsArray && Mentions(t.GetElementType()!, target)) || t.GetGenericArguments().Any(a => Mentions(a, target));

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void FeedMany(IRunRecorder w, int n, WeakReference[] weak)
    {
        var step = n / weak.Length;
        for (var i = 0; i < n; i++)
        {
            var arrival = i * 10 * Ms;
            var r = Completed(i, arrival, arrival + 100 * Ms, arrival + 100 * Ms + 20 * Ms * (i % 50), 1 + i % 50 + 1);
            if (i % step == 0 && i / step < weak.Length) weak[i / step] = new WeakReference(r);
            w.OnRequestFinished(r);
        }
    }
}
