using ScottPlot.Plottables;

namespace Simulator.Reports.Tests;

/// <summary>The front-end chart of runs with a queued front end: each completed request's frontend_ms against its arrival.</summary>
public sealed class FrontEndChartTests
{
    [Test]
    public void QueuedFrontEndRun_GetsFrontEndTimeOverTheRun_OnePointPerCompletedRequest()
    {
        using var tmp = new Fixtures.TempDir();
        var run = Fixtures.WriteRun(tmp.Sub("run"), new Fixtures.RunSpec("fe"));
        var requests = File.ReadAllLines(Path.Combine(run, "requests.csv"));
        File.WriteAllLines(Path.Combine(run, "requests.csv"),
            requests.Select((line, i) => i == 0 ? line + ",frontend_ms" : line + $",{i * 0.5:0.0}"));
        var summaryPath = Path.Combine(run, "summary.json");
        var summary = File.ReadAllText(summaryPath).TrimEnd();
        File.WriteAllText(summaryPath, summary[..^1].TrimEnd() +
            ",\"front_end\":{\"model\":\"queue\",\"api_server_count\":1,\"utilization\":0.97,\"input_wait_mean_ms\":12.5,\"input_wait_max_ms\":40,\"token_lag_max_ms\":3}}\n");
        int completed = requests.Skip(1).Count(l => l.Split(',')[Array.IndexOf(requests[0].Split(','), "status")] == "completed");

        var result = ReportBuilder.Build(new[] { run }, tmp.Sub("out"));
        var chart = result.Charts.Single(c => c.Name == "frontend_over_time");
        var points = chart.Plot.GetPlottables<Scatter>().Single();
        Assert.That(points.Data.GetScatterPoints(), Has.Count.EqualTo(completed));
        Assert.That(points.Data.GetScatterPoints().Select(p => p.Y), Is.Ordered, "frontend_ms rises with the row here");
        Assert.That(chart.Plot.Axes.Left.Label.Text, Is.EqualTo("front-end time (ms)"));
        Assert.That(chart.Question, Does.Contain("0.97").And.Contain("12.5"));
    }

    [Test]
    public void FrontEndTime_OfMoreRequestsThanPixelColumns_IsDrawnOnePointPerPixel_AndSaysHowMany()
    {
        using var tmp = new Fixtures.TempDir();
        var run = Fixtures.WriteRun(tmp.Sub("run"), new Fixtures.RunSpec("fe"));
        var requests = File.ReadAllLines(Path.Combine(run, "requests.csv"));
        // Two values on a 60 x 40 grid: at most 120 occupied cells for the fixture's requests.
        File.WriteAllLines(Path.Combine(run, "requests.csv"), requests.Select((line, i) => i == 0 ? line + ",frontend_ms" : line + $",{i % 2}"));
        var summaryPath = Path.Combine(run, "summary.json");
        var summary = File.ReadAllText(summaryPath).TrimEnd();
        File.WriteAllText(summaryPath, summary[..^1].TrimEnd() + ",\"front_end\":{\"model\":\"queue\",\"utilization\":0.5}}\n");

        var result = ReportBuilder.Build(new[] { run }, tmp.Sub("out"), new ReportOptions { ChartWidth = 60, ChartHeight = 40 });
        var chart = result.Charts.Single(c => c.Name == "frontend_over_time");
        var drawn = chart.Plot.GetPlottables<Scatter>().Single().Data.GetScatterPoints();
        Assert.That((drawn.Min(p => p.Y), drawn.Max(p => p.Y)), Is.EqualTo((0.0, 1.0)), "the extremes stay");
        Assert.That(chart.Question, Does.Match(@"Drawn: one point per pixel, [0-9]+ of [0-9]+ requests"));
        Assert.That(drawn.Count, Is.LessThan(requests.Length - 1));
    }

    [Test]
    public void RunWithFixedFrontEndDelays_HasNoFrontEndChart()
    {
        using var tmp = new Fixtures.TempDir();
        var run = Fixtures.WriteRun(tmp.Sub("run"), new Fixtures.RunSpec("delay"));
        var result = ReportBuilder.Build(new[] { run }, tmp.Sub("out"));
        Assert.That(result.Charts.Select(c => c.Name), Has.None.EqualTo("frontend_over_time"));
    }
}
