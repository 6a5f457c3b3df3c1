using System.Xml.Linq;

namespace Simulator.Report.Tests;

public sealed class ReportBuilderTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    [Test]
    public void Build_SingleRun_WritesHtmlMarkdownAndEveryChart()
    {
        using var tmp = new Fixtures.TempDir();
        var run = Fixtures.WriteRun(tmp.Sub("run"), new Fixtures.RunSpec("llama-tp2"));
        var result = ReportBuilder.Build(new[] { run }, tmp.Sub("out"));

        Assert.That(File.Exists(result.HtmlPath), Is.True);
        Assert.That(File.Exists(result.MarkdownPath), Is.True);
        var names = result.ChartPaths.Select(Path.GetFileName).ToList();
        Assert.That(names, Is.SupersetOf(new[]
        {
            "ttft_cdf.svg", "tpot_cdf.svg", "latency_breakdown.svg", "throughput_over_time.svg", "queue_depth.svg",
            "running_batch.svg", "kv_utilization.svg", "stage_timeline.svg", "memory_per_gpu.svg", "gpu_time_split.svg",
            "link_utilization.svg", "expert_load.svg",
        }));
        Assert.That(result.Notes, Is.Empty, "a complete run directory skips nothing");
    }

    [Test]
    public void Build_SingleRun_EverySvgParsesAsXml()
    {
        using var tmp = new Fixtures.TempDir();
        var run = Fixtures.WriteRun(tmp.Sub("run"), new Fixtures.RunSpec("llama-tp2"));
        var result = ReportBuilder.Build(new[] { run }, tmp.Sub("out"));
        foreach (var path in result.ChartPaths)
            Assert.That(XDocument.Load(path).Root!.Name, Is.EqualTo(Svg + "svg"), path);
    }

    [Test]
    public void Build_SingleRun_HtmlInlinesEveryChartAndIsWellFormed()
    {
        using var tmp = new Fixtures.TempDir();
        var run = Fixtures.WriteRun(tmp.Sub("run"), new Fixtures.RunSpec("llama-tp2"));
        var result = ReportBuilder.Build(new[] { run }, tmp.Sub("out"));
        var html = File.ReadAllText(result.HtmlPath);
        Assert.That(CountOf(html, "<svg "), Is.EqualTo(result.ChartPaths.Count));
        // The page is also well-formed XML once the doctype is dropped: every tag is closed, every text escaped.
        Assert.DoesNotThrow(() => XDocument.Parse(html.Replace("<!DOCTYPE html>", "")));
        var md = File.ReadAllText(result.MarkdownPath);
        foreach (var path in result.ChartPaths) Assert.That(md, Does.Contain("](charts/" + Path.GetFileName(path) + ")"));
    }

    [Test]
    public void Build_SingleRunMeetingSlo_SaysSoInTheVerdict()
    {
        using var tmp = new Fixtures.TempDir();
        var run = Fixtures.WriteRun(tmp.Sub("run"), new Fixtures.RunSpec("fast", LatencyScale: 1.0, SloTtftMs: 5000, SloTpotMs: 200));
        var result = ReportBuilder.Build(new[] { run }, tmp.Sub("out"));
        Assert.That(result.Verdict, Does.StartWith("fast meets the SLO"));
        Assert.That(result.Best!.Label, Is.EqualTo("fast"));
    }

    [Test]
    public void Build_SingleRunMissingSlo_MeetsNothingAndSaysNoSlo()
    {
        using var tmp = new Fixtures.TempDir();
        var run = Fixtures.WriteRun(tmp.Sub("run"), new Fixtures.RunSpec("noslo", SloTtftMs: null, SloTpotMs: null));
        File.Delete(Path.Combine(run, "scenario.yaml"));
        var result = ReportBuilder.Build(new[] { run }, tmp.Sub("out"));
        Assert.That(result.Verdict, Does.Contain("no SLO given"));
        Assert.That(result.Configurations[0].MeetsSlo, Is.Null);
    }

    [Test]
    public void Build_MissingOptionalFilesAndColumns_SkipsThoseChartsAndSaysWhy()
    {
        using var tmp = new Fixtures.TempDir();
        var run = Fixtures.WriteRun(tmp.Sub("run"), new Fixtures.RunSpec("sparse", Moe: false));
        File.Delete(Path.Combine(run, "links.csv"));
        File.Delete(Path.Combine(run, "timeseries.csv"));
        // Drop the optional gpus.csv memory columns: only the required ones stay.
        File.WriteAllText(Path.Combine(run, "gpus.csv"), "gpu,node,replica,stage,weights_gb,kv_capacity_gb,busy_fraction,idle_fraction\n0,0,0,0,35,30,0.7,0.3\n1,0,0,1,35,30,0.6,0.4\n");
        var result = ReportBuilder.Build(new[] { run }, tmp.Sub("out"));
        var names = result.ChartPaths.Select(Path.GetFileName).ToList();
        Assert.That(names, Does.Not.Contain("link_utilization.svg"));
        Assert.That(names, Does.Not.Contain("throughput_over_time.svg"));
        Assert.That(names, Does.Not.Contain("expert_load.svg"), "a dense model has no expert load");
        Assert.That(names, Does.Contain("memory_per_gpu.svg"));
        Assert.That(names, Does.Contain("gpu_time_split.svg"));
        Assert.That(result.Notes, Has.Some.Contains("links.csv is missing"));
        Assert.That(result.Notes, Has.Some.Contains("timeseries.csv is missing"));
        var html = File.ReadAllText(result.HtmlPath);
        Assert.That(html, Does.Contain("links.csv is missing"));
        Assert.That(html, Does.Contain("gpus.csv lacks activation_gb"));
    }

    [Test]
    public void Build_TwoRuns_NamesTheFasterOneMeetingTheSloAsBest()
    {
        using var tmp = new Fixtures.TempDir();
        // tp4 has the higher throughput but misses the TPOT SLO (latency x3); tp2 meets it.
        var tp2 = Fixtures.WriteRun(tmp.Sub("tp2"), new Fixtures.RunSpec("cmp", Tp: 2, LatencyScale: 1.0, OutputTokensPerS: 1500));
        var tp4 = Fixtures.WriteRun(tmp.Sub("tp4"), new Fixtures.RunSpec("cmp", Tp: 4, LatencyScale: 3.0, OutputTokensPerS: 2500));
        var tp1 = Fixtures.WriteRun(tmp.Sub("tp1"), new Fixtures.RunSpec("cmp", Tp: 1, LatencyScale: 0.9, OutputTokensPerS: 900));
        var result = ReportBuilder.Build(new[] { tp2, tp4, tp1 }, tmp.Sub("out"));

        Assert.That(result.Configurations.Select(c => c.Label), Is.EqualTo(new[] { "tensor_parallel_size=2", "tensor_parallel_size=4", "tensor_parallel_size=1" }));
        Assert.That(result.Configurations.Select(c => c.MeetsSlo), Is.EqualTo(new bool?[] { true, false, true }));
        Assert.That(result.Best!.Label, Is.EqualTo("tensor_parallel_size=2"));
        var html = File.ReadAllText(result.HtmlPath);
        Assert.That(html, Does.Contain("Best configuration: tensor_parallel_size=2, with the highest throughput among the 2 of 3 configurations that meet the SLO"));
        Assert.That(html, Does.Contain("<h2>Scenario differences</h2>"));
        Assert.That(html, Does.Contain("parallelism.tensor_parallel_size"));
        var names = result.ChartPaths.Select(Path.GetFileName).ToList();
        Assert.That(names, Is.SupersetOf(new[]
        {
            "compare_ttft_cdf.svg", "compare_tpot_cdf.svg", "compare_throughput_over_time.svg", "compare_throughput.svg",
            "compare_ttft_vs_throughput.svg", "compare_tpot_vs_throughput.svg", "detail_stage_timeline.svg",
        }));
    }

    [Test]
    public void Build_TwoRunsNoneMeetingSlo_SaysNoConfigurationMeetsIt()
    {
        using var tmp = new Fixtures.TempDir();
        var a = Fixtures.WriteRun(tmp.Sub("a"), new Fixtures.RunSpec("a", Tp: 2, LatencyScale: 4));
        var b = Fixtures.WriteRun(tmp.Sub("b"), new Fixtures.RunSpec("b", Tp: 4, LatencyScale: 5));
        var result = ReportBuilder.Build(new[] { a, b }, tmp.Sub("out"));
        Assert.That(result.Best, Is.Null);
        Assert.That(result.Verdict, Does.StartWith("No configuration meets the SLO"));
    }

    [Test]
    public void Build_MicrobatchSweep_ChartsEveryMetricAndTheTextbookCurve()
    {
        using var tmp = new Fixtures.TempDir();
        var sweep = Fixtures.WriteMicrobatchSweep(tmp.Sub("sweep"));
        var result = ReportBuilder.Build(new[] { sweep }, tmp.Sub("out"));
        var names = result.ChartPaths.Select(Path.GetFileName).ToList();
        Assert.That(names, Is.SupersetOf(new[]
        {
            "sweep_ttft_p95_ms.svg", "sweep_tpot_p95_ms.svg", "sweep_output_tokens_per_s.svg", "sweep_bubble_fraction.svg",
            "sweep_slo_attainment.svg", "sweep_goodput_requests_per_s.svg", "sweep_microbatch_utilization.svg",
        }));
        var svg = File.ReadAllText(result.ChartPaths.Single(p => p.EndsWith("sweep_microbatch_utilization.svg", StringComparison.Ordinal)));
        Assert.That(svg, Does.Contain("M/(M+P−1), P=4"));
        Assert.That(svg, Does.Contain("measured (P=4)"));
    }

    [Test]
    public void Build_MicrobatchSweep_ListsTheFailedPointWithItsReason()
    {
        using var tmp = new Fixtures.TempDir();
        var sweep = Fixtures.WriteMicrobatchSweep(tmp.Sub("sweep"));
        var result = ReportBuilder.Build(new[] { sweep }, tmp.Sub("out"));
        var failed = result.Configurations.Single(c => !c.Succeeded);
        Assert.That(failed.Label, Is.EqualTo("microbatches=16"));
        Assert.That(failed.Error, Does.Contain("does not fit"));
        var html = File.ReadAllText(result.HtmlPath);
        Assert.That(html, Does.Contain("<h2>Failed configurations</h2>"));
        Assert.That(html, Does.Contain("does not fit: KV cache needs 91.2 GB, 80 GB available"));
        Assert.That(File.ReadAllText(result.MarkdownPath), Does.Contain("| microbatches=16 | failed | does not fit"));
    }

    [Test]
    public void Build_MicrobatchSweep_BestIsTheHighestThroughputPointMeetingTheSlo()
    {
        using var tmp = new Fixtures.TempDir();
        var sweep = Fixtures.WriteMicrobatchSweep(tmp.Sub("sweep"));
        var result = ReportBuilder.Build(new[] { sweep }, tmp.Sub("out"));
        var meeting = result.Configurations.Where(c => c.MeetsSlo == true).ToList();
        Assert.That(meeting, Is.Not.Empty);
        Assert.That(result.Configurations.First(c => c.Label == "microbatches=1").MeetsSlo, Is.False, "M=1 has TPOT above 100 ms");
        Assert.That(result.Best!.OutputTokensPerS, Is.EqualTo(meeting.Max(c => c.OutputTokensPerS)));
        Assert.That(result.Best.Label, Is.EqualTo("microbatches=8"));
        Assert.That(result.Verdict, Does.StartWith("Best configuration: microbatches=8"));
    }

    [Test]
    public void Build_SameInputsTwice_WritesIdenticalFiles()
    {
        using var tmp = new Fixtures.TempDir();
        var sweep = Fixtures.WriteMicrobatchSweep(tmp.Sub("sweep"));
        var first = ReportBuilder.Build(new[] { sweep }, tmp.Sub("out1"));
        var second = ReportBuilder.Build(new[] { sweep }, tmp.Sub("out2"));
        Assert.That(File.ReadAllText(second.HtmlPath), Is.EqualTo(File.ReadAllText(first.HtmlPath)));
        Assert.That(File.ReadAllText(second.MarkdownPath), Is.EqualTo(File.ReadAllText(first.MarkdownPath)));
    }

    [Test]
    public void Build_DirectoryWithoutSummaryOrSweep_ThrowsNamingTheDirectory()
    {
        using var tmp = new Fixtures.TempDir();
        Directory.CreateDirectory(tmp.Sub("empty"));
        var e = Assert.Throws<ReportInputException>(() => ReportBuilder.Build(new[] { tmp.Sub("empty") }, tmp.Sub("out")));
        Assert.That(e!.Message, Does.Contain("empty"));
        Assert.That(e.Message, Does.Contain("neither a run directory"));
    }

    [Test]
    public void Cli_BadInput_ExitsTwoWithOneErrorLine()
    {
        using var tmp = new Fixtures.TempDir();
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = ReportCli.Run(new[] { tmp.Sub("missing"), "--out", tmp.Sub("out") }, stdout, stderr);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr.ToString(), Does.StartWith("error: "));
        Assert.That(stderr.ToString().TrimEnd().Split('\n'), Has.Length.EqualTo(1));
    }

    [Test]
    public void Cli_RunDirectory_WritesReportAndPrintsVerdict()
    {
        using var tmp = new Fixtures.TempDir();
        var run = Fixtures.WriteRun(tmp.Sub("run"), new Fixtures.RunSpec("cli"));
        var stdout = new StringWriter();
        var code = ReportCli.Run(new[] { run, "--out", tmp.Sub("out"), "--slo-ttft-ms", "10000" }, stdout, new StringWriter());
        Assert.That(code, Is.EqualTo(0));
        Assert.That(File.Exists(tmp.Sub("out", "report.html")), Is.True);
        Assert.That(stdout.ToString(), Does.Contain("TTFT p95 ≤ 10000 ms"));
    }

    [Test]
    public void Percentiles_InterpolateBetweenRanksLikeNumpy()
    {
        Assert.That(Percentiles.Of(new double[] { 1, 2, 3, 4 }, 50), Is.EqualTo(2.5));
        Assert.That(Percentiles.Of(new double[] { 10, 20, 30, 40, 50 }, 95), Is.EqualTo(48).Within(1e-9));
        Assert.That(double.IsNaN(Percentiles.Of(Array.Empty<double>(), 50)), Is.True);
    }

    private static int CountOf(string s, string what)
    {
        var n = 0;
        for (var i = s.IndexOf(what, StringComparison.Ordinal); i >= 0; i = s.IndexOf(what, i + 1, StringComparison.Ordinal)) n++;
        return n;
    }
}
