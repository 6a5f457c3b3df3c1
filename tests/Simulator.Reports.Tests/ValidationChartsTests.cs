using ScottPlot.Plottables;

namespace Simulator.Reports.Tests;

/// <summary>The charts of `sim validate`: a parity and an error chart per family of sets, and report.html embedding them.</summary>
public sealed class ValidationChartsTests
{
    private static RunTable Points(params (string Set, string X, string Measured, string Predicted)[] rows) =>
        new(ValidationCharts.PointColumns.ToArray(), rows.Select(r => new[] { r.Set, "batch", r.X, r.Measured, r.Predicted }).ToList());

    private static readonly RunTable Sample = Points(
        ("steps/a", "1", "10", "11"), ("steps/a", "8", "20", "18"), ("steps/b", "32", "40", "40"),
        ("serving/nim/ttft", "5", "400", "300"), ("serving/nim/itl", "5", "20", "21"));

    [Test]
    public void Build_DrawsParityThenErrorPerFamily_OneSeriesPerSet()
    {
        var charts = ValidationCharts.Build(Sample);
        Assert.That(charts.Select(c => c.Name), Is.EqualTo(new[] { "parity_steps", "error_steps", "parity_serving", "error_serving" }));
        var parity = charts[0].Plot.GetPlottables<Scatter>().ToList();
        // The y = x line first, then one point series per set, each in its own colour.
        Assert.That(parity.Select(s => s.LegendText), Is.EqualTo(new[] { "y = x", "a", "b" }));
        Assert.That(parity[1].Color, Is.Not.EqualTo(parity[2].Color));
        var diagonal = parity[0].Data.GetScatterPoints();
        Assert.That(diagonal.Select(p => p.X), Is.EqualTo(diagonal.Select(p => p.Y)), "the reference line is y = x");
        Assert.That(diagonal[0].X, Is.EqualTo(Math.Log10(10)).Within(1e-12), "log-log: the smallest value of the family");
        Assert.That(diagonal[^1].X, Is.EqualTo(Math.Log10(40)).Within(1e-12));
        var a = parity[1].Data.GetScatterPoints();
        Assert.That(a[0].X, Is.EqualTo(1.0).Within(1e-12));
        Assert.That(a[0].Y, Is.EqualTo(Math.Log10(11)).Within(1e-12));
    }

    [Test]
    public void Build_ErrorChart_IsSignedPercentAgainstLogSize()
    {
        var error = ValidationCharts.Build(Sample)[3].Plot.GetPlottables<Scatter>().ToList();
        Assert.That(error.Select(s => s.LegendText), Is.EqualTo(new[] { "nim/ttft", "nim/itl" }));
        var ttft = error[0].Data.GetScatterPoints().Single();
        Assert.That(ttft.X, Is.EqualTo(Math.Log10(5)).Within(1e-12));
        Assert.That(ttft.Y, Is.EqualTo(-25.0).Within(1e-9), "300 predicted for 400 measured");
    }

    [Test]
    public void Build_CollectivesErrorChart_MarksTheSizeBandEdges_OtherFamiliesDoNot()
    {
        var charts = ValidationCharts.Build(Points(("collectives/h100", "8", "35", "34"), ("collectives/h100", "8589934592", "31000", "29000"),
            ("steps/a", "1", "10", "11")));
        var edges = charts.Single(c => c.Name == "error_collectives").Plot.GetPlottables<VerticalLine>().Select(l => l.X).ToList();
        Assert.That(edges, Is.EqualTo(new[] { Math.Log10(64 * 1024), Math.Log10(16 * 1024 * 1024) }).Within(1e-12));
        Assert.That(charts.Single(c => c.Name == "error_steps").Plot.GetPlottables<VerticalLine>(), Is.Empty);
        Assert.That(charts.Single(c => c.Name == "parity_collectives").Plot.GetPlottables<VerticalLine>(), Is.Empty);
    }

    [Test]
    public void Build_MissingColumn_SaysWhichAndWhatIsExpected()
    {
        var bad = new RunTable(new[] { "set", "measured" }, new List<string[]> { new[] { "steps/a", "1" } });
        var ex = Assert.Throws<ReportInputException>(() => ValidationCharts.Build(bad));
        Assert.That(ex!.Message, Does.Contain("x_label").And.Contain("set,x_label,size_or_batch,measured,predicted"));
    }

    [Test]
    public void Write_EmbedsEveryChartInReportHtml_AndRewritesTheSameBytes()
    {
        var dir = Path.Combine(Path.GetTempPath(), "sim-validate-report-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllText(Path.Combine(dir, "validation_points.csv"),
                "set,x_label,size_or_batch,measured,predicted\nsteps/a,batch,1,10,11\nsteps/a,batch,8,20,18\nserving/nim/ttft,concurrency,5,400,300\n");
            File.WriteAllText(Path.Combine(dir, "validation.csv"),
                "set,fitted,n,median_abs_error,p90_abs_error,max_abs_error,signed_bias,source\nsteps/a,no,2,0.1000,0.1000,0.1000,0.0000,x\n");
            var report = ValidationCharts.Write(dir);
            var html = File.ReadAllText(report.HtmlPath);
            Assert.That(report.Charts, Has.Count.EqualTo(4));
            Assert.That(report.ChartPaths, Has.Count.EqualTo(8));
            Assert.That(System.Text.RegularExpressions.Regex.Matches(html, "data:image/svg\\+xml;base64,").Count, Is.EqualTo(4));
            Assert.That(html, Does.Contain("<td class=\"no\">no</td>").And.Contain("10.0%"));
            var first = File.ReadAllBytes(report.HtmlPath);
            ValidationCharts.Write(dir);
            Assert.That(File.ReadAllBytes(report.HtmlPath), Is.EqualTo(first));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
