using System.Text;
using ScottPlot;

namespace Simulator.Reports;

/// <summary>One layout on the Pareto chart: per-user speed (x), goodput per GPU (y), whether it is on the front, and whether it is a prefill/decode split (drawn with its own marker).</summary>
public sealed record ParetoPoint(string Layout, double TokensPerSPerUser, double GoodputTokensPerSPerGpu, bool OnFront, bool Disaggregated = false)
{
    /// <summary>The text drawn beside the point: the layout name, or for a DP-attention engine its shape (<c>TP1 DP4 EP4 x 1</c>).</summary>
    public string Label { get; init; } = Layout;
}

/// <summary>What <see cref="PlanCharts.WritePareto"/> drew and wrote.</summary>
public sealed record ParetoChart(IReadOnlyList<ParetoPoint> Points, string PngPath, string SvgPath);

/// <summary>
/// The chart of `sim plan`: goodput per GPU (output tokens/s within the SLO, per GPU) against per-user speed
/// (tokens/s one stream sees), one marker per feasible layout of plan.csv, the Pareto front drawn as a line through
/// the layouts no other layout beats on both axes, as NVIDIA's and AIConfigurator's throughput/latency charts show it.
/// </summary>
public static class PlanCharts
{
    /// <summary>The feasible layouts of plan.csv as chart points, front marked (a layout is on the front when no other is at least as good on both axes and better on one).</summary>
    public static IReadOnlyList<ParetoPoint> Points(RunTable plan)
    {
        // One GPU type: labels drop it; several: labels keep it.
        bool oneGpu = Enumerable.Range(0, plan.RowCount).Select(r => plan.Text(r, "gpu")).Distinct(StringComparer.Ordinal).Count() <= 1;
        var raw = Enumerable.Range(0, plan.RowCount)
            .Select(r => (Layout: oneGpu ? ShortName(plan.Text(r, "layout"), plan.Text(r, "gpu")) : plan.Text(r, "layout"), X: plan.Number(r, "tokens_per_s_per_user"),
                Y: plan.Number(r, "goodput_tokens_per_s_per_gpu"), Pd: plan.Text(r, "prefill_tp").Length > 0, Dp: DpShape(plan, r)))
            .Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList();
        return raw.Select(p => new ParetoPoint(p.Layout, p.X, p.Y,
            !raw.Any(q => q.X >= p.X && q.Y >= p.Y && (q.X > p.X || q.Y > p.Y)), p.Pd) { Label = p.Dp ?? p.Layout }).ToList();
    }

    // Implementation note: a DP-attention row is labelled by its shape, since its name's r counts engines, not copies of
    // the model, and the label then reads as the parallelism people write (TP1 DP4 EP4).
    private static string? DpShape(RunTable plan, int r) =>
        plan.Text(r, "data_parallel_size") is var dp && dp.Length > 0 && dp != "1" ? PlanReport.ShapeOf(plan, r) + PlanReport.KnobSuffix(plan.Text(r, "layout")) : null;

    /// <summary>The layout name without its GPU prefix (the chart's labels): <c>H100-SXM-80GB-tp2-pp1-ep1-r2</c> -> <c>tp2-pp1-ep1-r2</c>.</summary>
    private static string ShortName(string layout, string gpu) =>
        gpu.Length > 0 && layout.StartsWith(gpu + "-", StringComparison.Ordinal) ? layout[(gpu.Length + 1)..] : layout;

    /// <summary>Draws the Pareto chart of <paramref name="planCsv"/> into <paramref name="outDir"/>/charts/pareto.png and .svg; null when no layout is feasible.</summary>
    public static ParetoChart? WritePareto(string planCsv, string outDir, ReportOptions? options = null)
    {
        var table = RunTable.TryReadFile(planCsv) ?? throw new ReportInputException($"{planCsv}: no plan.csv");
        var points = Points(table);
        if (points.Count == 0) return null;
        var sink = new ChartSink();
        AddPareto(points, sink);
        var (pngPath, svgPath, _) = WriteChart(sink.Charts[0], outDir, options ?? new ReportOptions());
        return new ParetoChart(points, pngPath, svgPath);
    }

    /// <summary>Writes one chart as charts/NAME.png and charts/NAME.svg under <paramref name="outDir"/>; returns both paths and the SVG text.</summary>
    internal static (string Png, string Svg, string SvgText) WriteChart(ChartInfo chart, string outDir, ReportOptions options)
    {
        var (png, svg) = ChartSink.Render(chart, options);
        var dir = Path.Combine(outDir, "charts");
        Directory.CreateDirectory(dir);
        var pngPath = Path.Combine(dir, chart.PngFile);
        var svgPath = Path.Combine(dir, chart.SvgFile);
        File.WriteAllBytes(pngPath, png);
        File.WriteAllText(svgPath, svg, new UTF8Encoding(false));
        return (pngPath, svgPath, svg);
    }

    /// <summary>The Pareto chart of <paramref name="points"/> (at least one), added to <paramref name="sink"/> as <c>pareto</c>.</summary>
    internal static void AddPareto(IReadOnlyList<ParetoPoint> points, ChartSink sink)
    {
        var plot = new Plot();
        var others = points.Where(p => !p.OnFront && !p.Disaggregated).ToList();
        if (others.Count > 0)
        {
            var s = plot.Add.ScatterPoints(others.Select(p => p.TokensPerSPerUser).ToArray(), others.Select(p => p.GoodputTokensPerSPerGpu).ToArray(), Charts.Gray);
            s.MarkerSize = 8;
            s.LegendText = "layout";
        }
        var front = points.Where(p => p.OnFront).OrderBy(p => p.TokensPerSPerUser).ToList();
        var line = plot.Add.Scatter(front.Select(p => p.TokensPerSPerUser).ToArray(), front.Select(p => p.GoodputTokensPerSPerGpu).ToArray(), Charts.Orange);
        line.LineWidth = 2;
        line.MarkerSize = 10;
        line.LegendText = "Pareto front";
        // Prefill/decode splits get their own marker on top (front or not), so the two kinds read apart.
        var pd = points.Where(p => p.Disaggregated).ToList();
        if (pd.Count > 0)
        {
            var m = plot.Add.ScatterPoints(pd.Select(p => p.TokensPerSPerUser).ToArray(), pd.Select(p => p.GoodputTokensPerSPerGpu).ToArray(), Charts.Purple);
            m.MarkerShape = MarkerShape.FilledTriangleUp;
            m.MarkerSize = 14; // larger than the front's markers, so a split on the front still shows its triangle
            m.LegendText = "prefill/decode split";
        }
        foreach (var p in front)
        {
            var label = plot.Add.Text(p.Label, p.TokensPerSPerUser, p.GoodputTokensPerSPerGpu);
            label.LabelFontSize = 11;
            label.OffsetY = -6;
        }
        // Room right of the last label and above the top one; both axes from zero so slopes read as ratios.
        var xMax = points.Max(p => p.TokensPerSPerUser);
        var yMax = points.Max(p => p.GoodputTokensPerSPerGpu);
        plot.Axes.SetLimits(0, xMax * 1.3, 0, yMax * 1.12);
        plot.XLabel("tokens/s per user (1000 / TPOT p50)");
        plot.YLabel("output tokens/s per GPU within SLO");
        plot.ShowLegend(Alignment.LowerRight);
        sink.Add("pareto", "Goodput per GPU against per-user speed", "Which layouts trade per-user speed for throughput per GPU best?", plot);
    }

    /// <summary>
    /// Bars of goodput per GPU, one per feasible layout in <paramref name="ranked"/> order (at most
    /// <paramref name="most"/>), green for the top one, added to <paramref name="sink"/> as <c>goodput_per_gpu</c>.
    /// </summary>
    internal static void AddGoodputBars(IReadOnlyList<(string Layout, double GoodputTokensPerSPerGpu)> ranked, int most, ChartSink sink)
    {
        var shown = ranked.Take(most).ToList();
        var plot = new Plot();
        var positions = Enumerable.Range(0, shown.Count).Select(i => (double)i).ToArray();
        var bars = plot.Add.Bars(positions, shown.Select(r => r.GoodputTokensPerSPerGpu).ToArray());
        bars.Color = Charts.Blue;
        for (int i = 0; i < bars.Bars.Count; i++)
        {
            bars.Bars[i].Label = Fmt.Num(bars.Bars[i].Value);
            if (i == 0) bars.Bars[i].FillColor = Charts.Green;
        }
        Charts.CategoryTicks(plot, positions, shown.Select(r => r.Layout).ToArray());
        Charts.BarsFromZero(plot);
        plot.YLabel("output tokens/s per GPU within SLO");
        sink.Add("goodput_per_gpu", "Goodput per GPU by layout",
            ranked.Count > most ? $"How far ahead is the top layout? (the {most} best of {ranked.Count} feasible layouts, in rank order)" : "How far ahead is the top layout? (feasible layouts in rank order)", plot);
    }
}
