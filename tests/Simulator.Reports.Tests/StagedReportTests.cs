namespace Simulator.Reports.Tests;

/// <summary>
/// A run's or sweep's report built in its unpublished folder: it prints the folder it will be published at, never the
/// hidden sibling, and a report that fails leaves none of its pieces and keeps its failure for after publication.
/// </summary>
public sealed class StagedReportTests
{
    [Test]
    public void Build_WithInputNames_PrintsTheNamesGivenNotTheFoldersRead()
    {
        using var tmp = new Fixtures.TempDir();
        var staged = Fixtures.WriteRun(tmp.Sub(".run.partial-0123456789ab"), new Fixtures.RunSpec("llama-tp2", Requests: 40));
        var final = tmp.Sub("run");

        var r = ReportBuilder.Build([staged], staged, inputNames: [final]);

        foreach (var text in new[] { File.ReadAllText(r.MarkdownPath), File.ReadAllText(r.HtmlPath) })
        {
            Assert.That(text, Does.Contain("Inputs: " + final + "."));
            Assert.That(text, Does.Not.Contain(".partial-"), "the hidden sibling's name is never printed");
        }
    }

    [Test]
    public void Build_WithAnInputNameCountThatDiffersFromTheInputs_IsRefused()
    {
        using var tmp = new Fixtures.TempDir();
        var run = Fixtures.WriteRun(tmp.Sub("run"), new Fixtures.RunSpec("llama-tp2", Requests: 10));

        Assert.Throws<ArgumentException>(() => ReportBuilder.Build([run], tmp.Sub("report"), inputNames: [run, run]));
        Assert.That(Directory.Exists(tmp.Sub("report")), Is.False, "nothing is written");
    }

    [Test]
    public void StagedReport_OfASweep_IsTheReportOfThePublishedFolder_WithItsPathsAsPublished()
    {
        using var tmp = new Fixtures.TempDir();
        var staged = Fixtures.WriteMicrobatchSweep(tmp.Sub(".sweep.partial-0123456789ab"));
        var final = tmp.Sub("sweep");
        var report = new StagedReport();

        report.Build(staged, final);
        Directory.Move(staged, final); // what publication does
        report.ThrowIfFailed();

        var r = report.Result!;
        Assert.That(report.Failed, Is.False);
        Assert.That((r.HtmlPath, r.MarkdownPath), Is.EqualTo((Path.Combine(final, "report.html"), Path.Combine(final, "report.md"))));
        Assert.That(r.ChartPaths, Is.Not.Empty);
        Assert.That(r.ChartPaths.All(File.Exists), Is.True, "every chart path names the published file");
        Assert.That(File.ReadAllText(r.MarkdownPath), Does.Contain("Inputs: " + final + ".").And.Not.Contain(".partial-"));
    }

    [Test]
    public void StagedReport_ThatFailsHalfWay_RemovesWhatItWrote_AndRethrowsOnlyWhenAsked()
    {
        using var tmp = new Fixtures.TempDir();
        var staged = Fixtures.WriteRun(tmp.Sub(".run.partial-0123456789ab"), new Fixtures.RunSpec("llama-tp2", Requests: 40));
        var before = Directory.GetFileSystemEntries(staged).Order(StringComparer.Ordinal).ToList();
        // report.md cannot be written (a folder holds its name): the charts and report.html are written first.
        Directory.CreateDirectory(Path.Combine(staged, "report.md"));
        var report = new StagedReport();

        report.Build(staged, tmp.Sub("run"));

        Assert.That(report.Failed, Is.True);
        Assert.That(report.Result, Is.Null);
        Assert.That(Directory.Exists(Path.Combine(staged, "charts")), Is.False, "no half-written charts");
        Assert.That(File.Exists(Path.Combine(staged, "report.html")), Is.False, "no report.html without its report.md");
        Directory.Delete(Path.Combine(staged, "report.md"));
        Assert.That(Directory.GetFileSystemEntries(staged).Order(StringComparer.Ordinal), Is.EqualTo(before), "the run's own files are kept");
        var e = Assert.Throws<UnauthorizedAccessException>(report.ThrowIfFailed)!;
        Assert.That(e.Message, Does.Contain(Path.Combine(tmp.Sub("run"), "report.md")).And.Not.Contain(".partial-"),
            "the error names the file as published, not the hidden folder it was written in");
    }

    [Test]
    public void StagedReport_ThatCannotReadARunTable_NamesThePublishedFile_NotTheHiddenFolder()
    {
        using var tmp = new Fixtures.TempDir();
        var staged = Fixtures.WriteRun(tmp.Sub(".run.partial-0123456789ab"), new Fixtures.RunSpec("llama-tp2", Requests: 20));
        File.AppendAllText(Path.Combine(staged, "requests.csv"), "7,ok\n"); // a cut-short row
        var final = tmp.Sub("run");
        var report = new StagedReport();

        report.Build(staged, final);

        Assert.That(report.Failed, Is.True);
        var e = Assert.Throws<ReportInputException>(report.ThrowIfFailed)!;
        Assert.That(e.Message, Does.StartWith(Path.Combine(final, "requests.csv") + ":"), e.Message);
        Assert.That(e.Message, Does.Not.Contain(".partial-"));
    }

    [Test]
    public void AsPublished_KeepsAFailureThatNamesNoHiddenFolder_AsItIs()
    {
        var e = new InvalidOperationException("chart 3 has no points");
        Assert.That(StagedReport.AsPublished(e, "/t/.run.partial-1", "/t/run"), Is.SameAs(e));
        var io = StagedReport.AsPublished(new IOException("disk full writing /t/.run.partial-1/charts/a.png"), "/t/.run.partial-1", "/t/run");
        Assert.That((io.GetType(), io.Message), Is.EqualTo((typeof(IOException), "disk full writing /t/run/charts/a.png")));
    }

    [Test]
    public void StagedReport_OfAFolderThatIsNoRun_KeepsTheInputError()
    {
        using var tmp = new Fixtures.TempDir();
        var report = new StagedReport();

        report.Build(tmp.Path, tmp.Sub("final"));

        Assert.That(report.Failed, Is.True);
        var e = Assert.Throws<ReportInputException>(report.ThrowIfFailed)!;
        Assert.That(e.Message, Does.Contain("neither a run directory"));
        Assert.That(Directory.GetFileSystemEntries(tmp.Path), Is.Empty, "no report piece is left");
    }
}
