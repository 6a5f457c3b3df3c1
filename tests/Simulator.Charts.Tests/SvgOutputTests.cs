using System.Xml.Linq;

namespace Simulator.Charts.Tests;

public sealed class SvgOutputTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    public static IEnumerable<string> Names => SampleCharts.All.Keys;

    [TestCaseSource(nameof(Names))]
    public void GetSvg_IsWellFormedSvgOfTheRequestedSize(string name)
    {
        var doc = XDocument.Parse(SampleCharts.All[name]().GetSvg(640, 400));
        Assert.That(doc.Root!.Name, Is.EqualTo(Svg + "svg"));
        Assert.That(doc.Root.Attribute("width")!.Value, Is.EqualTo("640"));
        Assert.That(doc.Root.Attribute("height")!.Value, Is.EqualTo("400"));
    }

    [TestCaseSource(nameof(Names))]
    public void GetSvg_SamePlotTwice_IsByteIdentical(string name)
    {
        var first = SampleCharts.All[name]().GetSvg();
        var second = SampleCharts.All[name]().GetSvg();
        Assert.That(second, Is.EqualTo(first));
    }

    [Test]
    public void GetSvg_TextWithMarkupCharacters_IsEscapedAndRoundTrips()
    {
        var doc = XDocument.Parse(SampleCharts.EscapedText().GetSvg());
        var texts = doc.Descendants(Svg + "text").Select(t => t.Value).ToList();
        Assert.That(texts, Does.Contain("Tom & Jerry's <chart>"));
        Assert.That(texts, Does.Contain("a < b & \"c\" > 'd'"));
        Assert.That(texts, Does.Contain("x <ms>"));
    }

    [Test]
    public void Scatter_NaNValue_BreaksTheLineIntoTwoSubpaths()
    {
        var plot = new Plot();
        plot.Add.ScatterLine(new double[] { 0, 1, 2, 3, 4 }, new[] { 1, 2, double.NaN, 3, 4 });
        var path = XDocument.Parse(plot.GetSvg()).Descendants(Svg + "path").Single();
        var d = path.Attribute("d")!.Value;
        Assert.That(d.Count(c => c == 'M'), Is.EqualTo(2));
        Assert.That(d, Does.Not.Contain("NaN"));
    }

    [Test]
    public void EmptyPlot_RendersAxesWithoutData()
    {
        var doc = XDocument.Parse(new Plot().GetSvg());
        Assert.That(doc.Descendants(Svg + "path"), Is.Empty);
        Assert.That(doc.Descendants(Svg + "text").Count(), Is.GreaterThanOrEqualTo(4), "tick labels of the default 0..1 range");
    }

    [Test]
    public void Cdf_EndsAtOneAndRisesByOneOverNPerValue()
    {
        var plot = new Plot();
        var cdf = plot.Add.Cdf(new[] { 3.0, 1.0, double.NaN, 2.0, 4.0 });
        Assert.That(cdf.Xs, Is.EqualTo(new[] { 1.0, 1.0, 2.0, 3.0, 4.0 }));
        Assert.That(cdf.Ys, Is.EqualTo(new[] { 0.0, 0.25, 0.5, 0.75, 1.0 }));
        Assert.That(cdf.StepDisplay, Is.True);
    }

    [Test]
    public void Cdf_ManyValues_IsThinnedButKeepsBothEnds()
    {
        var plot = new Plot();
        var values = Enumerable.Range(1, 10_000).Select(i => (double)i).ToArray();
        var cdf = plot.Add.Cdf(values, maxPoints: 200);
        Assert.That(cdf.Xs, Has.Count.LessThanOrEqualTo(201));
        Assert.That(cdf.Xs[^1], Is.EqualTo(10_000));
        Assert.That(cdf.Ys[^1], Is.EqualTo(1.0));
        Assert.That(cdf.Xs[1], Is.EqualTo(1));
    }

    [Test]
    public void Palette_CyclesCategory10InOrderOfAdding()
    {
        var plot = new Plot();
        var colors = Enumerable.Range(0, 11).Select(_ => plot.Add.ScatterLine(new[] { 0.0 }, new[] { 0.0 }).Color).ToList();
        Assert.That(colors[0].ToHex(), Is.EqualTo("#1f77b4"));
        Assert.That(colors[1].ToHex(), Is.EqualTo("#ff7f0e"));
        Assert.That(colors[10], Is.EqualTo(colors[0]));
        Assert.That(colors.Take(10).Distinct().Count(), Is.EqualTo(10));
    }

    [Test]
    public void SetLimits_FixesTheAxisRangeWhateverTheData()
    {
        var plot = new Plot();
        plot.Add.Scatter(new double[] { 0, 50 }, new double[] { 0, 50 });
        plot.Axes.SetLimits(0, 10, 0, 10);
        var labels = XDocument.Parse(plot.GetSvg()).Descendants(Svg + "text").Select(t => t.Value).ToList();
        Assert.That(labels, Does.Contain("10"));
        Assert.That(labels, Does.Not.Contain("50"));
    }

    [Test]
    public void LogAxis_LabelsDecades()
    {
        var plot = new Plot();
        plot.Add.ScatterLine(new double[] { 1, 10000 }, new double[] { 1, 2 });
        plot.Axes.LogX();
        var labels = XDocument.Parse(plot.GetSvg()).Descendants(Svg + "text").Select(t => t.Value).ToList();
        Assert.That(labels, Is.SupersetOf(new[] { "1", "10", "100", "1000", "10k" }));
    }

    [Test]
    public void LogAxis_NonPositiveValues_AreSkippedNotDrawnAtNaN()
    {
        var plot = new Plot();
        plot.Add.ScatterLine(new double[] { -1, 0, 1, 10, 100 }, new double[] { 1, 2, 3, 4, 5 });
        plot.Axes.LogX();
        var svg = plot.GetSvg();
        Assert.That(svg, Does.Not.Contain("NaN"));
        Assert.DoesNotThrow(() => XDocument.Parse(svg));
    }

    [Test]
    public void AutoLimits_IncludeSloLine()
    {
        var plot = new Plot();
        plot.Add.Scatter(new double[] { 1, 2 }, new double[] { 100, 200 });
        plot.Add.HorizontalLine(1000, "SLO");
        var labels = XDocument.Parse(plot.GetSvg()).Descendants(Svg + "text").Select(t => t.Value).ToList();
        Assert.That(labels, Does.Contain("1000"));
        Assert.That(labels, Does.Contain("SLO"));
    }

    [Test]
    public void Bars_StartAtZeroWithoutNegativeAxis()
    {
        var plot = new Plot();
        plot.Add.Bars(new double[] { 5, 7, 9 });
        var labels = XDocument.Parse(plot.GetSvg()).Descendants(Svg + "text")
            .Where(t => (string?)t.Attribute("text-anchor") == "end").Select(t => t.Value).ToList(); // vertical axis labels
        Assert.That(labels, Does.Contain("0"));
        Assert.That(labels.Any(l => l.StartsWith('-')), Is.False);
    }

    [Test]
    public void ClipPathIds_DifferBetweenDifferentCharts_SoSeveralCanBeInlinedInOnePage()
    {
        static string ClipId(Plot p) => XDocument.Parse(p.GetSvg()).Descendants(Svg + "clipPath").Single().Attribute("id")!.Value;
        Assert.That(ClipId(SampleCharts.CdfWithSlo()), Is.Not.EqualTo(ClipId(SampleCharts.LogAxes())));
    }

    [Test]
    public void SaveSvg_WritesTheSameBytesAsGetSvg()
    {
        var path = Path.Combine(Path.GetTempPath(), "charts-test-" + Guid.NewGuid().ToString("N"), "a.svg");
        try
        {
            var plot = SampleCharts.ScatterTwoSeries();
            plot.SaveSvg(path, 700, 420);
            Assert.That(File.ReadAllText(path), Is.EqualTo(plot.GetSvg(700, 420)));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, true);
        }
    }

    [Test]
    public void Gantt_RowsAreLabelledTopToBottomInOrderAdded()
    {
        var plot = new Plot();
        var g = plot.Add.Gantt();
        g.AddSpan("first", 0, 1, "compute");
        g.AddSpan("second", 1, 2, "idle");
        Assert.That(g.RowY("first"), Is.GreaterThan(g.RowY("second")));
        var texts = XDocument.Parse(plot.GetSvg()).Descendants(Svg + "text").ToList();
        var firstY = double.Parse(texts.Single(t => t.Value == "first").Attribute("y")!.Value, System.Globalization.CultureInfo.InvariantCulture);
        var secondY = double.Parse(texts.Single(t => t.Value == "second").Attribute("y")!.Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(firstY, Is.LessThan(secondY));
    }
}
