using System.Xml.Linq;

namespace Simulator.Reports.Tests;

public sealed class ReportBuilderTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    /// <summary>The twelve charts of a complete run directory, by name.</summary>
    private static readonly string[] RunChartNames =
    {
        "ttft_cdf", "tpot_cdf", "latency_breakdown", "throughput_over_time", "queue_depth", "running_batch", "kv_utilization",
        "stage_timeline", "memory_per_gpu", "gpu_time_split", "link_utilization", "expert_load",
    };

    [Test]
    public void Build_SingleRun_WritesHtmlMarkdownAndEveryChartAsPngAndSvg()
    {
        var result = Fixtures.Shared.SingleRun;

        Assert.That(File.Exists(result.HtmlPath), Is.True);
        Assert.That(File.Exists(result.MarkdownPath), Is.True);
        Assert.That(result.Charts.Select(c => c.Name), Is.EquivalentTo(RunChartNames));
        var names = result.ChartPaths.Select(Path.GetFileName).ToList();
        Assert.That(names, Is.EquivalentTo(RunChartNames.SelectMany(n => new[] { n + ".png", n + ".svg" })));
        Assert.That(Directory.GetFiles(Path.Combine(Path.GetDirectoryName(result.HtmlPath)!, "charts")).Select(Path.GetFileName), Is.EquivalentTo(names));
        Assert.That(result.Notes, Is.Empty, "a complete run directory skips nothing");
    }

    [Test]
    public void Build_SingleRun_EverySvgParsesAsXmlWithTheChartSize()
    {
        var result = Fixtures.Shared.SingleRun;
        foreach (var path in result.ChartPaths.Where(p => p.EndsWith(".svg", StringComparison.Ordinal)))
        {
            var root = XDocument.Load(path).Root!;
            Assert.That(root.Name, Is.EqualTo(Svg + "svg"), path);
            Assert.That((root.Attribute("width")?.Value, root.Attribute("height")?.Value), Is.EqualTo(("860", "460")), path);
            Assert.That(root.Descendants(Svg + "text").Count(), Is.GreaterThan(3), $"{path}: title, axis labels and ticks are text");
        }
    }

    [Test]
    public void Build_SingleRun_EveryPngIsValidTwiceTheSvgSizeAndNotBlank()
    {
        var result = Fixtures.Shared.SingleRun;
        var pngs = result.ChartPaths.Where(p => p.EndsWith(".png", StringComparison.Ordinal)).ToList();
        Assert.That(pngs, Has.Count.EqualTo(result.Charts.Count));
        foreach (var path in pngs)
        {
            var bytes = File.ReadAllBytes(path);
            Assert.That(bytes.Take(8), Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), $"{path}: PNG signature");
            var image = PngImage.Load(path);
            Assert.That((image.Width, image.Height), Is.EqualTo((1720, 920)), $"{path}: IHDR size");
            Assert.That(image.InkedFraction(), Is.GreaterThan(0.02), $"{path}: more than background");
            Assert.That(image.DistinctColours(), Is.GreaterThan(4), $"{path}: data, text and axes in several colours");
        }
    }

    [Test]
    public void Build_SingleRun_HtmlEmbedsEveryChartSvgAndMarkdownLinksEveryPng()
    {
        var result = Fixtures.Shared.SingleRun;
        var html = File.ReadAllText(result.HtmlPath);
        // The page is well-formed XML once the doctype is dropped: every tag is closed, every text escaped.
        var page = XDocument.Parse(html.Replace("<!DOCTYPE html>", ""));
        var images = page.Descendants("img").Select(i => i.Attribute("src")!.Value).ToList();
        Assert.That(images, Has.Count.EqualTo(result.Charts.Count));
        const string prefix = "data:image/svg+xml;base64,";
        Assert.That(images, Has.All.StartWith(prefix), "self-contained: no file or network references");
        for (var i = 0; i < images.Count; i++)
        {
            var svg = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(images[i][prefix.Length..]));
            Assert.That(svg, Is.EqualTo(File.ReadAllText(Path.Combine(Path.GetDirectoryName(result.HtmlPath)!, "charts", result.Charts[i].SvgFile))));
        }
        var md = File.ReadAllText(result.MarkdownPath);
        foreach (var chart in result.Charts) Assert.That(md, Does.Contain("](charts/" + chart.Name + ".png)"));
        Assert.That(md, Does.Not.Contain(".svg)"));
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

    /// <summary>A priced run (summary.json <c>cost</c>) adds a cost column to the configurations table; unpriced reports keep theirs.</summary>
    [Test]
    public void Build_PricedRun_TableHasDollarsPerMillionOutputTokens_UnpricedTableDoesNot()
    {
        using var tmp = new Fixtures.TempDir();
        var priced = Fixtures.WriteRun(tmp.Sub("priced"), new Fixtures.RunSpec("priced"));
        var summary = Path.Combine(priced, "summary.json");
        var text = File.ReadAllText(summary).TrimEnd();
        File.WriteAllText(summary, text[..^1] + ", \"cost\": {\"usd_per_hour\": 5, \"usd_total\": 0.0139, \"usd_per_million_output_tokens\": 12.78}}\n");
        var plain = Fixtures.WriteRun(tmp.Sub("plain"), new Fixtures.RunSpec("plain"));

        var both = ReportBuilder.Build(new[] { priced, plain }, tmp.Sub("out"));
        var md = File.ReadAllText(both.MarkdownPath);
        Assert.That(both.Configurations.Select(c => c.UsdPerMillionOutputTokens), Is.EqualTo(new double?[] { 12.78, null }));
        Assert.That(md, Does.Contain("| meets SLO | $ per million output tokens |"));
        Assert.That(md.Split('\n').Single(l => l.StartsWith("| priced |", StringComparison.Ordinal)), Does.EndWith("| 12.8 |"));
        Assert.That(md.Split('\n').Single(l => l.StartsWith("| plain |", StringComparison.Ordinal)), Does.EndWith("| – |"));

        var alone = ReportBuilder.Build(new[] { plain }, tmp.Sub("out-plain"));
        Assert.That(File.ReadAllText(alone.MarkdownPath), Does.Not.Contain("per million"));
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
        var names = result.Charts.Select(c => c.Name).ToList();
        Assert.That(names, Does.Not.Contain("link_utilization"));
        Assert.That(names, Does.Not.Contain("throughput_over_time"));
        Assert.That(names, Does.Not.Contain("expert_load"), "a dense model has no expert load");
        Assert.That(names, Does.Contain("memory_per_gpu"));
        Assert.That(names, Does.Contain("gpu_time_split"));
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
        var names = result.Charts.Select(c => c.Name).ToList();
        Assert.That(names, Is.SupersetOf(new[]
        {
            "compare_ttft_cdf", "compare_tpot_cdf", "compare_throughput_over_time", "compare_throughput",
            "compare_ttft_vs_throughput", "compare_tpot_vs_throughput", "detail_stage_timeline",
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
        var result = Fixtures.Shared.MicrobatchSweep;
        var names = result.Charts.Select(c => c.Name).ToList();
        Assert.That(names, Is.SupersetOf(new[]
        {
            "sweep_ttft_p95_ms", "sweep_tpot_p95_ms", "sweep_output_tokens_per_s", "sweep_bubble_fraction",
            "sweep_slo_attainment", "sweep_goodput_requests_per_s", "sweep_microbatch_utilization",
        }));
        var svg = File.ReadAllText(result.ChartPaths.Single(p => p.EndsWith("sweep_microbatch_utilization.svg", StringComparison.Ordinal)));
        Assert.That(svg, Does.Contain("M/(M+P−1), P=4"), "legend text is SVG text");
        Assert.That(svg, Does.Contain("measured (P=4)"));
    }

    [Test]
    public void Build_MicrobatchSweep_ListsTheFailedPointWithItsReason()
    {
        var result = Fixtures.Shared.MicrobatchSweep;
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
        var result = Fixtures.Shared.MicrobatchSweep;
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
        var first = Fixtures.Shared.MicrobatchSweep;
        var second = ReportBuilder.Build(new[] { Fixtures.Shared.MicrobatchSweepInput }, tmp.Sub("out2"));
        Assert.That(File.ReadAllText(second.HtmlPath), Is.EqualTo(File.ReadAllText(first.HtmlPath)));
        Assert.That(File.ReadAllText(second.MarkdownPath), Is.EqualTo(File.ReadAllText(first.MarkdownPath)));
        Assert.That(second.ChartPaths.Select(Path.GetFileName), Is.EqualTo(first.ChartPaths.Select(Path.GetFileName)));
        for (var i = 0; i < first.ChartPaths.Count; i++)
            Assert.That(File.ReadAllBytes(second.ChartPaths[i]), Is.EqualTo(File.ReadAllBytes(first.ChartPaths[i])), first.ChartPaths[i]);
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
    public void Percentiles_InterpolateBetweenRanksLikeNumpy()
    {
        Assert.That(Percentiles.Of(new double[] { 1, 2, 3, 4 }, 50), Is.EqualTo(2.5));
        Assert.That(Percentiles.Of(new double[] { 10, 20, 30, 40, 50 }, 95), Is.EqualTo(48).Within(1e-9));
        Assert.That(double.IsNaN(Percentiles.Of(Array.Empty<double>(), 50)), Is.True);
    }
}
