// FsCheck supplies the arguments of [FsProperty] methods; NUnit's analyzer cannot see that.
#pragma warning disable NUnit1027
using System.Globalization;
using ScottPlot;
using ScottPlot.Plottables;
using ScottPlot.TickGenerators;
using FsProperty = FsCheck.NUnit.PropertyAttribute;

namespace Simulator.Reports.Tests;

/// <summary>The ScottPlot models behind the report's charts: series, axis limits, labels and legend entries.</summary>
public sealed class ChartModelTests
{
    private static ReportResult BuildRun(Fixtures.TempDir tmp, Fixtures.RunSpec spec, Action<string>? edit = null)
    {
        var run = Fixtures.WriteRun(tmp.Sub("run"), spec);
        edit?.Invoke(run);
        return ReportBuilder.Build(new[] { run }, tmp.Sub("out"));
    }

    private static Plot PlotOf(ReportResult result, string name) => result.Charts.Single(c => c.Name == name).Plot;

    private static List<string> Legend(Plot plot) => plot.Legend.GetItems().Select(i => i.LabelText).ToList();

    private static List<string> TickLabels(IAxis axis) => axis.TickGenerator.Ticks.Where(t => t.IsMajor).Select(t => t.Label).ToList();

    [Test]
    public void TtftCdf_OneStepLineEndingAtOne_SloLineAtTheBound_AndLabelledAxes()
    {
        var plot = PlotOf(Fixtures.Shared.SingleRun, "ttft_cdf");

        var line = plot.GetPlottables<Scatter>().Single();
        Assert.That(line.ConnectStyle, Is.EqualTo(ConnectStyle.StepHorizontal));
        var ys = line.Data.GetScatterPoints().Select(p => p.Y).ToList();
        Assert.That(ys, Is.Ordered, "a CDF never falls");
        Assert.That(ys[^1], Is.EqualTo(1.0));
        var slo = plot.GetPlottables<VerticalLine>().Single();
        var logX = plot.Axes.Bottom.Label.Text.Contains("log scale");
        Assert.That(slo.X, Is.EqualTo(logX ? Math.Log10(2000) : 2000).Within(1e-9));
        Assert.That(plot.GetPlottables<HorizontalLine>().Single().Y, Is.EqualTo(0.95));
        Assert.That(Legend(plot), Is.EqualTo(new[] { "llama-tp2 (n=196)", "TTFT SLO", "p95 level" }));
        Assert.That(plot.Axes.Title.Label.Text, Is.EqualTo("TTFT distribution"));
        Assert.That(plot.Axes.Bottom.Label.Text, Does.StartWith("TTFT (ms)"));
        Assert.That(plot.Axes.Left.Label.Text, Is.EqualTo("fraction of completed requests"));
        var limits = plot.Axes.GetLimits();
        Assert.That((limits.Bottom, limits.Top), Is.EqualTo((0.0, 1.02)));
    }

    [Test]
    public void PrefixHitRatio_OneLinePerReplicaInPercent_IntervalsWithoutAdmissionsLeftOut_AbsentColumnNoChart()
    {
        using var tmp = new Fixtures.TempDir();
        var spec = new Fixtures.RunSpec("pc");
        Assert.That(BuildRun(tmp, spec).Charts.Any(c => c.Name == "prefix_hit_ratio"), Is.False, "no column, no chart");
        using var tmp0 = new Fixtures.TempDir();
        var zeros = BuildRun(tmp0, spec, run =>
        {
            var path = Path.Combine(run, "timeseries.csv");
            var lines = File.ReadAllLines(path);
            File.WriteAllLines(path, new[] { lines[0] + ",prefix_hit_ratio" }.Concat(lines.Skip(1).Select(l => l + ",0.0000")));
        });
        Assert.That(zeros.Charts.Any(c => c.Name == "prefix_hit_ratio"), Is.False, "lookups that never hit (no prefix ids): no chart");
        using var tmp2 = new Fixtures.TempDir();
        var result = BuildRun(tmp2, spec, run =>
        {
            var path = Path.Combine(run, "timeseries.csv");
            var lines = File.ReadAllLines(path);
            var rows = lines.Skip(1).Select((l, i) => l + "," + (i % 3 == 2 ? "" : (0.1 * (i % 5)).ToString("0.0000", CultureInfo.InvariantCulture)));
            File.WriteAllLines(path, new[] { lines[0] + ",prefix_hit_ratio" }.Concat(rows));
        });
        var plot = PlotOf(result, "prefix_hit_ratio");
        var lines2 = plot.GetPlottables<Scatter>().ToList();
        Assert.That(Legend(plot), Is.EqualTo(new[] { "replica 0", "replica 1" }));
        var ys = lines2.SelectMany(l => l.Data.GetScatterPoints().Select(p => p.Y)).ToList();
        Assert.That(ys, Has.All.InRange(0.0, 100.0));
        Assert.That(ys.Max(), Is.EqualTo(40.0).Within(1e-9), "fractions drawn as percent");
        Assert.That(lines2.Sum(l => l.Data.GetScatterPoints().Count), Is.EqualTo(28), "42 rows, every third without a value");
        Assert.That(plot.Axes.Title.Label.Text, Is.EqualTo("Prefix-cache hit ratio over time"));
        Assert.That(plot.Axes.GetLimits().Top, Is.EqualTo(100));
    }

    [Test]
    public void TtftWithAndWithoutCaching_PoolsTheOffPoints_OneLinePerCachingConfiguration_OnlyWhenTheSweepVariesIt()
    {
        using var tmp = new Fixtures.TempDir();
        var dir = tmp.Sub("sweep");
        var sb = new System.Text.StringBuilder("scheduler.enable_prefix_caching,router,completed,ttft_p50_ms,ttft_p95_ms,tpot_p50_ms,tpot_p95_ms,output_tokens_per_s,bubble_fraction,slo_attainment,goodput_requests_per_s,status,error\n");
        var points = new[] { ("false", "least_outstanding", 1.0), ("false", "prefix_aware", 1.0), ("true", "least_outstanding", 0.8), ("true", "prefix_aware", 0.6) };
        for (var i = 0; i < points.Length; i++)
        {
            var (caching, router, scale) = points[i];
            var pd = Path.Combine(dir, "points", $"{i:D4}-enable_prefix_caching={caching}-router={router}");
            Fixtures.WriteRun(pd, new Fixtures.RunSpec("pc-sweep", LatencyScale: scale));
            sb.Append($"{caching},{router},200,100,200,10,20,1500,0.1,0.9,1.0,ok,\n");
        }
        File.WriteAllText(Path.Combine(dir, "sweep.csv"), sb.ToString());
        var result = ReportBuilder.Build(new[] { dir }, tmp.Sub("out"));
        var plot = PlotOf(result, "compare_ttft_cdf_prefix_caching");
        Assert.That(Legend(plot).Take(3), Is.EqualTo(new[] { "prefix caching off (2 configurations pooled)", "caching on, router=least_outstanding", "caching on, router=prefix_aware" }));
        var cdfs = plot.GetPlottables<Scatter>().ToList();
        Assert.That(cdfs.Select(c => c.Data.GetScatterPoints()[^1].Y), Has.All.EqualTo(1.0));
        Assert.That(plot.Axes.Title.Label.Text, Is.EqualTo("TTFT with and without prefix caching"));

        using var tmp2 = new Fixtures.TempDir();
        Assert.That(ReportBuilder.Build(new[] { Fixtures.WriteMicrobatchSweep(tmp2.Sub("sweep")) }, tmp2.Sub("out")).Charts.Any(c => c.Name == "compare_ttft_cdf_prefix_caching"), Is.False);
    }

    [Test]
    public void Cdf_OfManyValues_IsThinnedToAtMostMaxLinePointsAndStillSpansMinToMax()
    {
        var plot = new Plot();
        var values = Enumerable.Range(1, 100_000).Select(i => (double)i).ToArray();
        var s = Charts.Cdf(plot, values, Charts.Scale.Linear);
        var pts = s.Data.GetScatterPoints();
        Assert.That(pts.Count, Is.LessThanOrEqualTo(Charts.MaxLinePoints + 1));
        Assert.That(pts[0].X, Is.EqualTo(1));
        Assert.That(pts[0].Y, Is.EqualTo(0));
        Assert.That(pts[^1].X, Is.EqualTo(100_000));
        Assert.That(pts[^1].Y, Is.EqualTo(1));
        Assert.That(pts.Select(p => p.X), Is.Ordered);
    }

    [Test]
    public void Cdf_OnLogScale_DropsNonPositiveValuesButCountsThemInTheShares()
    {
        var plot = new Plot();
        var s = Charts.Cdf(plot, new[] { 0.0, 0.0, 10, 100 }, new Charts.Scale(true));
        var pts = s.Data.GetScatterPoints();
        Assert.That(pts.Select(p => p.X), Is.EqualTo(new[] { 1.0, 2.0 }));
        Assert.That(pts.Select(p => p.Y), Is.EqualTo(new[] { 0.75, 1.0 }));
    }

    [Test]
    public void LogTicks_LabelOneTwoFiveStepsWithRealValuesAtLog10Positions()
    {
        var plot = new Plot();
        Charts.LogTicks(plot.Axes.Bottom, new[] { 12.0, 480 });
        plot.Axes.SetLimitsX(1, 4);
        plot.GetSvgXml(800, 400); // manual ticks are laid out when the axis is drawn
        var majors = plot.Axes.Bottom.TickGenerator.Ticks.Where(t => t.IsMajor).ToList();
        Assert.That(majors.Select(t => t.Label), Is.EqualTo(new[] { "10", "20", "50", "100", "200", "500", "1000", "2000", "5000" }));
        Assert.That(majors.Select(t => t.Position), Is.EqualTo(majors.Select(t => Math.Log10(double.Parse(t.Label, CultureInfo.InvariantCulture)))).Within(1e-12));
        Assert.That(plot.Axes.Bottom.TickGenerator.Ticks.Count(t => !t.IsMajor), Is.GreaterThan(10), "minor ticks at the other multiples");
    }

    [Test]
    public void LatencyBreakdown_StacksQueuePrefillDecodeOnePlotPerLayer()
    {
        var plot = PlotOf(Fixtures.Shared.SingleRun, "latency_breakdown");
        var layers = plot.GetPlottables<BarPlot>().ToList();
        Assert.That(layers, Has.Count.EqualTo(3));
        Assert.That(Legend(plot), Is.EqualTo(new[] { "queue", "prefill (TTFT − queue)", "decode (E2E − TTFT)" }));
        // Each layer starts where the one below ended.
        for (var k = 1; k < layers.Count; k++)
            for (var i = 0; i < layers[k].Bars.Count; i++)
                Assert.That(layers[k].Bars[i].ValueBase, Is.EqualTo(layers[k - 1].Bars[i].Value).Within(1e-9));
        Assert.That(TickLabels(plot.Axes.Bottom), Has.All.Contain("(n="));
        Assert.That(plot.Axes.GetLimits().Bottom, Is.EqualTo(0));
    }

    [Test]
    public void StageTimeline_OneRowPerReplicaStage_SpansByCategory_WindowOnTheXAxis()
    {
        var plot = PlotOf(Fixtures.Shared.SingleRun, "stage_timeline");
        Assert.That(TickLabels(plot.Axes.Left), Is.EqualTo(new[] { "r0 stage 0", "r0 stage 1", "r1 stage 0", "r1 stage 1" }));
        Assert.That(Legend(plot), Is.EqualTo(new[] { "compute", "communication", "overhead", "idle (bubble)" }));
        var spans = plot.GetPlottables<BarPlot>().SelectMany(b => b.Bars).ToList();
        Assert.That(spans.All(b => b.Orientation == Orientation.Horizontal && b.Value > b.ValueBase), Is.True, "horizontal spans of positive length");
        var limits = plot.Axes.GetLimits();
        Assert.That(spans.Min(b => b.ValueBase), Is.GreaterThanOrEqualTo(limits.Left - 1e-9));
        Assert.That(spans.Max(b => b.Value), Is.LessThanOrEqualTo(limits.Right + 1e-9));
        Assert.That(limits.Top, Is.LessThan(limits.Bottom), "the first row is drawn at the top");
    }

    [Test]
    public void MemoryPerGpu_StacksEveryMemoryLayerToTheGpuCapacity()
    {
        var plot = PlotOf(Fixtures.Shared.SingleRun, "memory_per_gpu");
        Assert.That(Legend(plot), Is.EqualTo(new[] { "weights", "KV cache", "activations", "reserve", "free" }));
        var top = plot.GetPlottables<BarPlot>().Last().Bars;
        Assert.That(top, Has.Count.EqualTo(8), "2 replicas x TP 2 x PP 2");
        // Fixture GPU g: weights 17.5 + KV (40 - 0.2g) + activations 2.5 + reserve 8 + free (3 + 0.2g) = 71 GB.
        Assert.That(top.Select(b => b.Value), Has.All.EqualTo(71.0).Within(1e-9));
        Assert.That(TickLabels(plot.Axes.Bottom)[0], Is.EqualTo("gpu 0"));
    }

    [Test]
    public void GpuTimeSplitAndLinks_AreShareChartsFromZeroToHundredPercent()
    {
        var result = Fixtures.Shared.SingleRun;
        var split = PlotOf(result, "gpu_time_split");
        Assert.That(Legend(split), Is.EqualTo(new[] { "compute", "communication", "idle" }));
        var links = PlotOf(result, "link_utilization");
        Assert.That(Legend(links), Is.EqualTo(new[] { "nvlink", "ib" }), "one colour per link kind");
        Assert.That(links.GetPlottables<BarPlot>().SelectMany(b => b.Bars).Count(), Is.EqualTo(6));
        foreach (var plot in new[] { split, links })
        {
            var limits = plot.Axes.GetLimits();
            Assert.That((limits.Bottom, limits.Top), Is.EqualTo((0.0, 100.0)));
        }
    }

    [Test]
    public void ExpertLoad_BarsPerGpuAndTheMeanLine()
    {
        var plot = PlotOf(Fixtures.Shared.SingleRun, "expert_load");
        var bars = plot.GetPlottables<BarPlot>().Single().Bars;
        Assert.That(bars.Select(b => b.Value).Take(3), Is.EqualTo(new[] { 1000.0, 1400, 1800 }));
        var mean = plot.GetPlottables<HorizontalLine>().Single();
        Assert.That(mean.Y, Is.EqualTo(bars.Average(b => b.Value)).Within(1e-9));
    }

    [Test]
    public void DpRankLoad_StacksEachRanksPrefillAndDecodeTokens_OnlyForDataParallelRuns()
    {
        using var tmp = new Fixtures.TempDir();
        var spec = new Fixtures.RunSpec("dp");
        Assert.That(BuildRun(tmp, spec).Charts.Any(c => c.Name == "dp_rank_load"), Is.False, "no engine columns, no chart");
        using var tmp2 = new Fixtures.TempDir();
        var expected = new SortedDictionary<int, double>();
        var result = BuildRun(tmp2, spec, run =>
        {
            var path = Path.Combine(run, "iterations.csv");
            var lines = File.ReadAllLines(path);
            var header = lines[0].Split(',').ToList();
            int replica = header.IndexOf("replica"), pre = header.IndexOf("prefill_tokens"), dec = header.IndexOf("decode_tokens");
            foreach (var l in lines.Skip(1))
            {
                var f = l.Split(',');
                int rank = int.Parse(f[replica], CultureInfo.InvariantCulture);
                expected[rank] = expected.GetValueOrDefault(rank) + double.Parse(f[pre], CultureInfo.InvariantCulture) + double.Parse(f[dec], CultureInfo.InvariantCulture);
            }
            File.WriteAllLines(path, new[] { lines[0] + ",engine,dp_rank" }.Concat(lines.Skip(1).Select(l => l + ",0," + l.Split(',')[replica])));
        });
        var plot = PlotOf(result, "dp_rank_load");
        Assert.That(Legend(plot).Take(2), Is.EqualTo(new[] { "prefill tokens", "decode tokens" }));
        var bars = plot.GetPlottables<BarPlot>().ToList();
        var tops = bars[1].Bars.Select(b => b.Value).ToList();
        Assert.That(tops, Is.EqualTo(expected.Values.ToList()), "the decode layer sits on the prefill layer: its top is the rank's total");
        Assert.That(plot.GetPlottables<HorizontalLine>().Single().Y, Is.EqualTo(expected.Values.Average()).Within(1e-9));
        Assert.That(plot.Axes.Bottom.Label.Text, Is.EqualTo("DP rank"));
    }

    [Test]
    public void TimeSeries_OneLinePerReplicaPlusTheTotal()
    {
        var plot = PlotOf(Fixtures.Shared.SingleRun, "throughput_over_time");
        Assert.That(Legend(plot), Is.EqualTo(new[] { "replica 0", "replica 1", "all replicas (sum)" }));
        var total = plot.GetPlottables<Scatter>().Last().Data.GetScatterPoints();
        Assert.That(total, Has.Count.EqualTo(21));
        Assert.That(plot.Axes.Bottom.Label.Text, Is.EqualTo("simulated time (s)"));
    }

    [Test]
    public void TimeSeries_OfMorePointsThanPixelColumns_IsDrawnFromItsEnvelopeWithTheSameExtremes()
    {
        using var tmp = new Fixtures.TempDir();
        const int samples = 6000;
        var result = BuildRun(tmp, new Fixtures.RunSpec("long"), run =>
        {
            var ts = new System.Text.StringBuilder("time_s,replica,queued,running,kv_utilization,prefill_tokens_per_s,output_tokens_per_s,completed\n");
            for (var k = 0; k < samples; k++)
                ts.Append(FormattableString.Invariant($"{k * 0.25},0,{k % 13},{20 + k % 7},{0.5 + 0.4 * Math.Sin(k * 0.01)},0,{1000 + (k * 7919 % 1000)},{k}\n"));
            File.WriteAllText(Path.Combine(run, "timeseries.csv"), ts.ToString());
        });
        var lines = PlotOf(result, "throughput_over_time").GetPlottables<Scatter>().ToList();
        Assert.That(lines, Has.Count.EqualTo(1), "one replica: its own line, no aggregate");
        var points = lines[0].Data.GetScatterPoints();
        Assert.That(points.Count, Is.LessThanOrEqualTo(2 * new ReportOptions().ChartWidth + 2).And.GreaterThan(new ReportOptions().ChartWidth),
            "thinned to at most two points per pixel column");
        Assert.That(points.Min(p => p.Y), Is.EqualTo(1000));
        Assert.That(points.Max(p => p.Y), Is.EqualTo(1999));
        Assert.That((points[0].X, points[^1].X), Is.EqualTo((0.0, (samples - 1) * 0.25)), "the line spans the whole run");
    }

    [FsProperty(MaxTest = 50)]
    public void Envelope_KeepsFirstLastAndEveryColumnsLowestAndHighestPoint_InLineOrder(int seed)
    {
        var rng = new Random(seed);
        var n = 1 + rng.Next(4000);
        var columns = 1 + rng.Next(600);
        var xs = new double[n];
        var ys = new double[n];
        for (var i = 0; i < n; i++)
        {
            xs[i] = (i == 0 ? 0 : xs[i - 1]) + (rng.Next(4) == 0 ? 0 : rng.NextDouble()); // ties happen
            ys[i] = Math.Round(rng.NextDouble() * 50); // so do equal values
        }
        var (ex, ey) = Charts.Envelope(xs, ys, columns);
        // A subsequence of the line, in order, from its first point to its last.
        var at = new List<int>();
        for (int i = 0, k = 0; k < ex.Length; i++)
        {
            Assert.That(i, Is.LessThan(n), "every kept point is a point of the line, in order");
            if (xs[i] == ex[k] && ys[i] == ey[k]) { at.Add(i); k++; }
        }
        Assert.That((ex[0], ey[0], ex[^1], ey[^1]), Is.EqualTo((xs[0], ys[0], xs[^1], ys[^1])));
        if (n <= 2 * columns || !(xs[^1] > xs[0])) { Assert.That(ex, Is.EqualTo(xs)); return; }
        Assert.That(ex.Length, Is.LessThanOrEqualTo(2 * columns + 2));
        var width = xs[^1] - xs[0];
        int Column(double x) => width > 0 ? Math.Min(columns - 1, (int)((x - xs[0]) / width * columns)) : 0;
        foreach (var column in xs.Select(Column).Distinct())
        {
            var inColumn = Enumerable.Range(0, n).Where(i => Column(xs[i]) == column).Select(i => ys[i]).ToList();
            var kept = Enumerable.Range(0, ex.Length).Where(k => Column(ex[k]) == column).Select(k => ey[k]).ToList();
            Assert.That(kept, Does.Contain(inColumn.Min()).And.Contain(inColumn.Max()), $"column {column} keeps its extremes");
        }
    }

    [FsProperty(MaxTest = 50)]
    public void OnePerCell_KeepsOnePointOfEveryOccupiedCellAndTheExtremes_InInputOrder(int seed)
    {
        var rng = new Random(seed);
        var n = 1 + rng.Next(5000);
        int columns = 1 + rng.Next(300), rows = 1 + rng.Next(200);
        var xs = Enumerable.Range(0, n).Select(_ => Math.Round(rng.NextDouble() * 100, 1)).ToArray(); // ties happen
        var ys = Enumerable.Range(0, n).Select(_ => Math.Round(Math.Exp(rng.NextDouble() * 8))).ToArray(); // a long tail
        var kept = Charts.OnePerCell(xs, ys, columns, rows);
        Assert.That(kept, Is.Ordered.And.Unique, "indices in input order");
        if (n <= columns) { Assert.That(kept, Is.EqualTo(Enumerable.Range(0, n))); return; }
        double xLo = xs.Min(), xW = xs.Max() - xLo, yLo = ys.Min(), yH = ys.Max() - yLo;
        (int, int) Cell(int i) => (xW > 0 ? Math.Min(columns - 1, (int)((xs[i] - xLo) / xW * columns)) : 0,
            yH > 0 ? Math.Min(rows - 1, (int)((ys[i] - yLo) / yH * rows)) : 0);
        var occupied = Enumerable.Range(0, n).Select(Cell).ToHashSet();
        var keptCells = kept.Select(Cell).ToList();
        Assert.That(keptCells.ToHashSet().SetEquals(occupied), Is.True, "every occupied cell keeps a point");
        Assert.That(keptCells.Count, Is.LessThanOrEqualTo(occupied.Count + 2), "one per cell, and at most the two extremes besides");
        Assert.That((kept.Min(i => ys[i]), kept.Max(i => ys[i])), Is.EqualTo((ys.Min(), ys.Max())), "the lowest and highest values are drawn");
    }

    [Test]
    public void Envelope_OfASeriesWithANonFiniteValue_IsTheSeriesItself()
    {
        var xs = Enumerable.Range(0, 100).Select(i => (double)i).ToArray();
        var ys = xs.Select(x => x == 50 ? double.NaN : x).ToArray();
        var (ex, ey) = Charts.Envelope(xs, ys, 10);
        Assert.That(ex, Is.SameAs(xs));
        Assert.That(ey, Is.SameAs(ys));
    }

    [Test]
    public void Png_HasThePixelsOfScottPlotsOwnPngAtAboutItsSize()
    {
        var chart = Fixtures.Shared.SingleRun.Charts.Single(c => c.Name == "throughput_over_time");
        var ours = Charts.Png(chart.Plot, 600, 400);
        var theirs = chart.Plot.GetImageBytes(600, 400, ImageFormat.Png);
        using var a = SkiaSharp.SKBitmap.Decode(ours);
        using var b = SkiaSharp.SKBitmap.Decode(theirs);
        Assert.That((a.Width, a.Height), Is.EqualTo((600, 400)));
        Assert.That(a.GetPixelSpan().ToArray(), Is.EqualTo(b.GetPixelSpan().ToArray()), "the same pixels, only compressed differently");
        Assert.That(ours.Length, Is.LessThan(theirs.Length * 1.5), "the fast encoding costs some size, not a multiple");
        Assert.That(ours[25], Is.EqualTo(2), "an opaque chart is written as RGB (IHDR colour type 2)");
    }

    [Test]
    public void EncodePng_KeepsAlphaWhenAPixelIsNotOpaque()
    {
        var info = new SkiaSharp.SKImageInfo(40, 30, SkiaSharp.SKColorType.Rgba8888, SkiaSharp.SKAlphaType.Premul);
        using var surface = SkiaSharp.SKSurface.Create(info);
        surface.Canvas.Clear(SkiaSharp.SKColors.White);
        using var pixels = surface.PeekPixels();
        var rgb = Charts.EncodePng(pixels);
        surface.Canvas.DrawRect(new SkiaSharp.SKRect(5, 5, 6, 6), new SkiaSharp.SKPaint { BlendMode = SkiaSharp.SKBlendMode.Clear });
        var rgba = Charts.EncodePng(pixels);
        Assert.That((rgb[25], rgba[25]), Is.EqualTo(((byte)2, (byte)6)), "RGB while every pixel is opaque, RGBA once one is clear");
        using var decoded = SkiaSharp.SKBitmap.Decode(rgba);
        Assert.That((decoded.GetPixel(5, 5).Alpha, decoded.GetPixel(7, 7)), Is.EqualTo(((byte)0, SkiaSharp.SKColors.White)));
    }

    [Test]
    public void WarmUp_BuildsAndDrawsEveryChartOfAPlainRun()
    {
        var charts = RunCharts.WarmUp().Select(c => c.Name).ToList();
        Assert.That(charts, Is.EqualTo(new[]
        {
            "ttft_cdf", "tpot_cdf", "latency_breakdown", "throughput_over_time", "queue_depth", "running_batch", "kv_utilization",
            "itl_cdf", "stage_timeline", "memory_per_gpu", "gpu_time_split", "link_utilization",
        }));
    }

    [TestCase("throughput_over_time")]
    [TestCase("ttft_cdf")]
    [TestCase("latency_breakdown")]
    [TestCase("stage_timeline")]
    public void Images_AreThePixelsAndTheSvgOfScottPlotsOwnRenders(string name)
    {
        // One recorded render played back on both canvases draws what ScottPlot's own PNG (at twice the size) and SVG draw.
        var plot = Fixtures.Shared.SingleRun.Charts.Single(c => c.Name == name).Plot;
        lock (plot)
        {
            var (png, svg) = Charts.Images(plot, 430, 230, 2);
            plot.ScaleFactor = 2;
            var theirs = plot.GetImageBytes(860, 460, ImageFormat.Png);
            plot.ScaleFactor = 1;
            var theirSvg = plot.GetSvgXml(430, 230);
            using var a = SkiaSharp.SKBitmap.Decode(png);
            using var b = SkiaSharp.SKBitmap.Decode(theirs);
            Assert.That((a.Width, a.Height), Is.EqualTo((860, 460)));
            Assert.That(a.GetPixelSpan().ToArray(), Is.EqualTo(b.GetPixelSpan().ToArray()), "the same pixels");
            Assert.That(Charts.NumberSvgIds(svg), Is.EqualTo(Charts.NumberSvgIds(theirSvg)), "the same SVG");
        }
    }

    [Test]
    public void ItlCdf_FromTheHistogram_ReachesOneWithPercentileMarkers()
    {
        using var tmp = new Fixtures.TempDir();
        var result = BuildRun(tmp, new Fixtures.RunSpec("itl"), run =>
        {
            File.WriteAllText(Path.Combine(run, "itl_histogram.csv"), "itl_ms_lo,itl_ms_hi,count\n1,2,0\n2,4,10\n4,8,60\n8,16,25\n16,32,0\n32,64,5\n");
            var summary = File.ReadAllText(Path.Combine(run, "summary.json"));
            File.WriteAllText(Path.Combine(run, "summary.json"),
                summary.Replace("\"seed\": 1,", "\"seed\": 1, \"itl_ms\": {\"mean\": 7.9, \"p50\": 6.1, \"p90\": 12.0, \"p95\": 14.8, \"p99\": 41.0},"));
        });
        var plot = PlotOf(result, "itl_cdf");
        var pts = plot.GetPlottables<Scatter>().Single().Data.GetScatterPoints();
        Assert.That(pts.Select(p => p.X), Is.EqualTo(new[] { 2.0, 4, 8, 16, 32, 64 }), "bucket edges; empty leading buckets skipped");
        Assert.That(pts.Select(p => p.Y), Is.EqualTo(new[] { 0, 0.1, 0.7, 0.95, 0.95, 1.0 }).Within(1e-12));
        Assert.That(plot.GetPlottables<VerticalLine>().Select(v => v.X), Is.EqualTo(new[] { 6.1, 14.8, 41.0 }));
        Assert.That(Legend(plot), Is.EqualTo(new[] { "itl (100 gaps)", "p50 6.10 ms", "p95 14.8 ms", "p99 41.0 ms" }));
        Assert.That(result.Notes, Is.Empty);
    }

    [Test]
    public void ItlCdf_WithoutHistogram_IsLeftOutSilently()
    {
        var result = Fixtures.Shared.SingleRun;
        Assert.That(result.Charts.Select(c => c.Name), Does.Not.Contain("itl_cdf"));
        Assert.That(result.Notes, Is.Empty, "older run directories have no ITL histogram: nothing to say");
    }

    [Test]
    public void CompareCharts_OverlayOneCdfPerRun_AndBarsSplitBySlo()
    {
        using var tmp = new Fixtures.TempDir();
        var tp2 = Fixtures.WriteRun(tmp.Sub("tp2"), new Fixtures.RunSpec("cmp", Tp: 2, LatencyScale: 1.0, OutputTokensPerS: 1500));
        var tp4 = Fixtures.WriteRun(tmp.Sub("tp4"), new Fixtures.RunSpec("cmp", Tp: 4, LatencyScale: 3.0, OutputTokensPerS: 2500));
        var result = ReportBuilder.Build(new[] { tp2, tp4 }, tmp.Sub("out"));

        var cdf = PlotOf(result, "compare_ttft_cdf");
        Assert.That(cdf.GetPlottables<Scatter>().Count(), Is.EqualTo(2));
        Assert.That(Legend(cdf).Take(2), Is.EqualTo(new[] { "tensor_parallel_size=2", "tensor_parallel_size=4" }));
        var bars = PlotOf(result, "compare_throughput");
        Assert.That(Legend(bars), Is.EqualTo(new[] { "meets SLO", "misses SLO" }));
        Assert.That(bars.GetPlottables<BarPlot>().SelectMany(b => b.Bars).Select(b => b.Label), Is.EquivalentTo(new[] { "1500", "2500" }));
        Assert.That(TickLabels(bars.Axes.Bottom), Is.EqualTo(new[] { "tensor_parallel_size=2", "tensor_parallel_size=4" }));
        var scatter = PlotOf(result, "compare_tpot_vs_throughput");
        Assert.That(Legend(scatter), Is.EqualTo(new[] { "configuration", "meets SLO", "TPOT SLO" }));
    }

    [Test]
    public void MicrobatchChart_MeasuredAgainstTheTextbookCurve_OnTheSweptMicrobatches()
    {
        var plot = PlotOf(Fixtures.Shared.MicrobatchSweep, "sweep_microbatch_utilization");
        Assert.That(Legend(plot), Is.EqualTo(new[] { "measured (P=4)", "M/(M+P−1), P=4" }));
        Assert.That(TickLabels(plot.Axes.Bottom), Is.EqualTo(new[] { "1", "2", "4", "8" }));
        var textbook = plot.GetPlottables<Scatter>().Last().Data.GetScatterPoints();
        // x is log10(M) (M spans 8x); y = M/(M+3).
        Assert.That(textbook.Select(p => p.Y), Is.EqualTo(textbook.Select(p => Math.Pow(10, p.X) / (Math.Pow(10, p.X) + 3))).Within(1e-9));
        var limits = plot.Axes.GetLimits();
        Assert.That((limits.Bottom, limits.Top), Is.EqualTo((0.0, 1.05)));
    }

    [Test]
    public void Charts_FindASansFont_SoTextIsDrawn()
    {
        Assert.That(Charts.FontName, Is.Not.Null, "no sans font found: apt-get install -y fonts-dejavu-core (.ci/run does)");
        var plot = new Plot();
        plot.Title("TTFT");
        Charts.ApplyStyle(plot);
        Assert.That(plot.Axes.Title.Label.FontName, Is.EqualTo(Charts.FontName));
    }

    [Test]
    public void NumberSvgIds_RenumbersClipIdsPerDocument_SoARenderedChartIsTheSameTwice()
    {
        static string Render()
        {
            var plot = new Plot();
            plot.Add.ScatterLine(new double[] { 1, 2, 3 }, new double[] { 3, 1, 2 });
            return Charts.NumberSvgIds(plot.GetSvgXml(400, 300));
        }
        var first = Render();
        Assert.That(Render(), Is.EqualTo(first), "Skia's clip ids count across the process; numbered per document they repeat");
        Assert.That(first, Does.Contain("id=\"clip0\""));
        Assert.That(first, Does.Contain("url(#clip0)"));
        Assert.That(first, Does.Not.Contain("cl_"));
    }

    [Test]
    public void LegendOutsideRight_WithoutLegendText_ShowsNoLegendPanel()
    {
        var plot = new Plot();
        plot.Add.ScatterLine(new double[] { 1, 2, 3 }, new double[] { 3, 1, 2 });
        Charts.LegendOutsideRight(plot);
        Assert.That(plot.Axes.GetPanels().OfType<ScottPlot.Panels.LegendPanel>(), Is.Empty);
        Assert.That(System.Xml.Linq.XDocument.Parse(plot.GetSvgXml(400, 300)).Descendants().Count(), Is.GreaterThan(10), "the chart is drawn");
        plot.GetPlottables<Scatter>().Single().LegendText = "line";
        Charts.LegendOutsideRight(plot);
        Assert.That(plot.Axes.GetPanels().OfType<ScottPlot.Panels.LegendPanel>(), Has.Exactly(1).Items);
    }

    [Test]
    public void RunTables_OpenReadsTheCsvByNameAndIsNullWhenAbsent()
    {
        using var tmp = new Fixtures.TempDir();
        File.WriteAllText(tmp.Sub("requests.csv"), "request_id,ttft_ms\n0,12.5\n1,\n");
        var t = RunTables.Open(tmp.Path, "requests")!;
        Assert.That(t.RowCount, Is.EqualTo(2));
        Assert.That(t.Number(0, "ttft_ms"), Is.EqualTo(12.5));
        Assert.That(double.IsNaN(t.Number(1, "ttft_ms")), Is.True);
        Assert.That(double.IsNaN(t.Number(0, "missing")), Is.True);
        Assert.That(RunTables.Open(tmp.Path, "iterations"), Is.Null);
    }
}
