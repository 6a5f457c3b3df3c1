namespace Simulator.Charts;

/// <summary>Factory for plot items (ScottPlot's <c>plot.Add</c>); each call adds the item and returns it for styling.</summary>
public sealed class PlotAdd
{
    private readonly Plot _plot;

    internal PlotAdd(Plot plot) => _plot = plot;

    /// <summary>Points joined by a line, with markers.</summary>
    public Scatter Scatter(IReadOnlyList<double> xs, IReadOnlyList<double> ys, Color? color = null) =>
        _plot.AddItem(new Scatter(xs, ys, color ?? _plot.NextColor()));

    /// <summary>Points joined by a line, without markers.</summary>
    public Scatter ScatterLine(IReadOnlyList<double> xs, IReadOnlyList<double> ys, Color? color = null)
    {
        var s = Scatter(xs, ys, color);
        s.ShowMarkers = false;
        return s;
    }

    /// <summary>Markers only, no line.</summary>
    public Scatter ScatterPoints(IReadOnlyList<double> xs, IReadOnlyList<double> ys, Color? color = null)
    {
        var s = Scatter(xs, ys, color);
        s.ShowLine = false;
        return s;
    }

    /// <summary>A staircase line: each y holds until the next x.</summary>
    public Scatter Step(IReadOnlyList<double> xs, IReadOnlyList<double> ys, Color? color = null)
    {
        var s = ScatterLine(xs, ys, color);
        s.StepDisplay = true;
        return s;
    }

    /// <summary>
    /// The empirical CDF of <paramref name="values"/> as a step line (y = fraction of values &lt;= x, 0..1).
    /// Non-finite values are dropped; more than <paramref name="maxPoints"/> values are thinned to that many quantiles.
    /// </summary>
    public Scatter Cdf(IEnumerable<double> values, int maxPoints = 1000, Color? color = null)
    {
        var sorted = values.Where(double.IsFinite).ToArray();
        Array.Sort(sorted);
        var n = sorted.Length;
        var xs = new List<double>();
        var ys = new List<double>();
        if (n > 0)
        {
            xs.Add(sorted[0]);
            ys.Add(0);
            var count = Math.Min(n, Math.Max(2, maxPoints));
            var previous = -1;
            for (var k = 0; k < count; k++)
            {
                var i = count == n ? k : (int)Math.Round((double)k * (n - 1) / (count - 1));
                if (i == previous) continue;
                previous = i;
                xs.Add(sorted[i]);
                ys.Add((double)(i + 1) / n);
            }
        }
        return Step(xs, ys, color);
    }

    /// <summary>Vertical bars at the given centres.</summary>
    public BarSeries Bars(IReadOnlyList<double> positions, IReadOnlyList<double> values, Color? color = null) =>
        _plot.AddItem(new BarSeries(positions, values, color ?? _plot.NextColor()));

    /// <summary>Vertical bars at 0, 1, 2, ...</summary>
    public BarSeries Bars(IReadOnlyList<double> values, Color? color = null) =>
        Bars(Enumerable.Range(0, values.Count).Select(i => (double)i).ToArray(), values, color);

    /// <summary>Stacked bars at the given centres; add layers bottom to top with <see cref="Charts.StackedBars.AddLayer"/>.</summary>
    public StackedBars StackedBars(IReadOnlyList<double> positions) =>
        _plot.AddItem(new StackedBars(positions, _plot.NextColor));

    /// <summary>A heatmap of values[row, column]; row 0 at the top.</summary>
    public Heatmap Heatmap(double[,] values) => _plot.AddItem(new Heatmap(values));

    /// <summary>An empty Gantt timeline; add rows and spans to it.</summary>
    public Gantt Gantt() => _plot.AddItem(new Gantt(_plot.Palette));

    /// <summary>A line at constant y across the plot, with an optional label (e.g. an SLO).</summary>
    public AxisLine HorizontalLine(double y, string label = "", Color? color = null) =>
        _plot.AddItem(new AxisLine(true, y, color ?? Colors.DarkGray) { LabelText = label });

    /// <summary>A line at constant x across the plot, with an optional label (e.g. an SLO).</summary>
    public AxisLine VerticalLine(double x, string label = "", Color? color = null) =>
        _plot.AddItem(new AxisLine(false, x, color ?? Colors.DarkGray) { LabelText = label });

    /// <summary>A text label anchored at a data position.</summary>
    public TextLabel Text(string text, double x, double y) => _plot.AddItem(new TextLabel(text, x, y));
}
