using System.Globalization;
using ScottPlot;
using ScottPlot.Plottables;

namespace Simulator.Reports.Tests;

/// <summary>Faults in the report: down intervals (timeseries.csv live = 0) shaded on the throughput and TTFT-over-time charts.</summary>
public sealed class FaultChartTests
{
    /// <summary>Adds a live column: replica 1 is down at the samples from 2.0 s to 4.0 s.</summary>
    private static void MarkReplicaOneDown(string runDir)
    {
        var path = Path.Combine(runDir, "timeseries.csv");
        var lines = File.ReadAllLines(path);
        var edited = new List<string> { lines[0] + ",live" };
        foreach (var line in lines.Skip(1))
        {
            var cells = line.Split(',');
            double t = double.Parse(cells[0], CultureInfo.InvariantCulture);
            bool down = cells[1] == "1" && t >= 2.0 && t <= 4.0;
            edited.Add(line + (down ? ",0" : ",1"));
        }
        File.WriteAllLines(path, edited);
    }

    private static ReportResult Build(Fixtures.TempDir tmp, bool withFault, ReportOptions? options = null)
    {
        var run = Fixtures.WriteRun(tmp.Sub("run"), new Fixtures.RunSpec("faulty"));
        if (withFault) MarkReplicaOneDown(run);
        return ReportBuilder.Build(new[] { run }, tmp.Sub("out"), options);
    }

    [Test]
    public void TtftOverTime_OfMoreRequestsThanPixelColumns_DrawsOnePointPerPixelWithTheExtremes_AndSaysHowMany()
    {
        using var tmp = new Fixtures.TempDir();
        var full = Build(tmp, withFault: true).Charts.Single(c => c.Name == "ttft_over_time");
        using var tmp2 = new Fixtures.TempDir();
        var small = Build(tmp2, withFault: true, new ReportOptions { ChartWidth = 60, ChartHeight = 40 }).Charts.Single(c => c.Name == "ttft_over_time");
        var all = full.Plot.GetPlottables<Scatter>().Single().Data.GetScatterPoints();
        var drawn = small.Plot.GetPlottables<Scatter>().Single().Data.GetScatterPoints();
        Assert.That(drawn.Count, Is.LessThan(all.Count), "196 requests on a 60-pixel-wide chart are thinned");
        Assert.That(drawn.All(all.Contains), Is.True, "only points of the run are drawn");
        Assert.That((drawn.Min(p => p.Y), drawn.Max(p => p.Y)), Is.EqualTo((all.Min(p => p.Y), all.Max(p => p.Y))), "the best and the worst TTFT stay");
        Assert.That(small.Question, Does.Contain($"{drawn.Count} of {all.Count} requests"));
        Assert.That(full.Question, Does.Not.Contain("Drawn:"), "a chart with room for every point draws them all and says nothing");
    }

    [Test]
    public void ThroughputOverTime_ShadesEachDownInterval_FromItsFirstDownSampleToTheNextLiveOne()
    {
        using var tmp = new Fixtures.TempDir();
        var plot = Build(tmp, withFault: true).Charts.Single(c => c.Name == "throughput_over_time").Plot;
        var span = plot.GetPlottables<HorizontalSpan>().Single();
        Assert.That((span.X1, span.X2), Is.EqualTo((2.0, 4.5)));
        Assert.That(plot.Legend.GetItems().Select(i => i.LabelText), Does.Contain("replica 1 down"));
    }

    [Test]
    public void TtftOverTime_AppearsWithFaults_OnePointPerCompletedRequest_WithTheSameShading()
    {
        using var tmp = new Fixtures.TempDir();
        var result = Build(tmp, withFault: true);
        var plot = result.Charts.Single(c => c.Name == "ttft_over_time").Plot;
        var points = plot.GetPlottables<Scatter>().Single().Data.GetScatterPoints();
        Assert.That(points, Has.Count.EqualTo(196), "the fixture's completed requests");
        Assert.That(plot.GetPlottables<HorizontalSpan>().Single().X1, Is.EqualTo(2.0));
        Assert.That(plot.Axes.Left.Label.Text, Is.EqualTo("TTFT (ms)"));
        Assert.That(plot.Axes.Bottom.Label.Text, Is.EqualTo("arrival time (s)"));
    }

    [Test]
    public void WithoutALiveColumn_NoShadingAndNoTtftOverTimeChart()
    {
        using var tmp = new Fixtures.TempDir();
        var result = Build(tmp, withFault: false);
        Assert.That(result.Charts.Any(c => c.Name == "ttft_over_time"), Is.False);
        Assert.That(result.Charts.Single(c => c.Name == "throughput_over_time").Plot.GetPlottables<HorizontalSpan>(), Is.Empty);
    }
}
