namespace Simulator.Charts;

/// <summary>Vertical bars rising from zero, one per position.</summary>
public sealed class BarSeries : Plottable
{
    internal BarSeries(IReadOnlyList<double> positions, IReadOnlyList<double> values, Color color)
    {
        if (positions.Count != values.Count) throw new ArgumentException($"{positions.Count} positions but {values.Count} values");
        Positions = positions;
        Values = values;
        Color = color;
    }

    /// <summary>Bar centres (horizontal, data units).</summary>
    public IReadOnlyList<double> Positions { get; }

    /// <summary>Bar heights (data units); NaN bars are skipped.</summary>
    public IReadOnlyList<double> Values { get; }

    /// <summary>Fill colour.</summary>
    public Color Color { get; set; }

    /// <summary>Bar width in horizontal data units (default 0.8: bars at 0, 1, 2... leave gaps).</summary>
    public double BarWidth { get; set; } = 0.8;

    /// <summary>Write each bar's value above it, formatted with this .NET format string (e.g. "0.0"); null for none.</summary>
    public string? ValueLabelFormat { get; set; }

    internal override Bounds GetBounds(Axis x, Axis y)
    {
        var positives = Values.Where(v => double.IsFinite(v) && v > 0).ToList();
        // On a log axis bars start at the smallest positive bar; on a linear axis at zero.
        var baseline = y.Scale == AxisScale.Log10 ? (positives.Count > 0 ? Math.Log10(positives.Min()) : double.NaN) : 0;
        var pts = new List<(double, double)>();
        for (var i = 0; i < Positions.Count; i++)
        {
            if (!double.IsFinite(Values[i]) || !double.IsFinite(Positions[i])) continue;
            pts.Add((x.Transform(Positions[i] - BarWidth / 2), y.Transform(Values[i])));
            pts.Add((x.Transform(Positions[i] + BarWidth / 2), baseline));
        }
        return Bounds.Of(pts);
    }

    internal static void BarRect(RenderContext ctx, double center, double width, double from, double to, out double x1, out double x2, out double y1, out double y2)
    {
        x1 = ctx.ClampX(ctx.Px(center - width / 2));
        x2 = ctx.ClampX(ctx.Px(center + width / 2));
        var fromPx = ctx.YAxis.Scale == AxisScale.Log10 && from <= 0 ? ctx.Bottom : ctx.Py(from);
        var toPx = ctx.Py(to);
        y1 = ctx.ClampY(Math.Min(fromPx, toPx));
        y2 = ctx.ClampY(Math.Max(fromPx, toPx));
    }

    internal override void Render(RenderContext ctx, SvgBuilder svg)
    {
        for (var i = 0; i < Positions.Count; i++)
        {
            if (!double.IsFinite(Values[i]) || !double.IsFinite(Positions[i])) continue;
            BarRect(ctx, Positions[i], BarWidth, 0, Values[i], out var x1, out var x2, out var y1, out var y2);
            if (!double.IsFinite(x1 + x2 + y1 + y2)) continue;
            svg.Rect(x1, y1, x2 - x1, y2 - y1, Color);
        }
    }

    /// <summary>Value labels are drawn after all series so they stay on top.</summary>
    internal void RenderValueLabels(RenderContext ctx, SvgBuilder svg)
    {
        if (ValueLabelFormat is null) return;
        for (var i = 0; i < Positions.Count; i++)
        {
            if (!double.IsFinite(Values[i])) continue;
            BarRect(ctx, Positions[i], BarWidth, 0, Values[i], out var x1, out var x2, out var y1, out var y2);
            if (!double.IsFinite(x1 + x2 + y1 + y2)) continue;
            var text = Values[i].ToString(ValueLabelFormat, System.Globalization.CultureInfo.InvariantCulture);
            var top = Values[i] >= 0 ? y1 - 4 : y2 + 12;
            svg.Text((x1 + x2) / 2, Math.Max(ctx.Top + 10, top), text, 10, "middle", Colors.DarkGray);
        }
    }

    internal override void MarkOccupancy(RenderContext ctx, Occupancy grid)
    {
        for (var i = 0; i < Positions.Count; i++)
        {
            if (!double.IsFinite(Values[i]) || !double.IsFinite(Positions[i])) continue;
            BarRect(ctx, Positions[i], BarWidth, 0, Values[i], out var x1, out var x2, out var y1, out var y2);
            grid.MarkRect(x1, ValueLabelFormat is null ? y1 : y1 - 14, x2, y2);
        }
    }

    internal override IEnumerable<LegendItem> GetLegendItems()
    {
        if (string.IsNullOrEmpty(LegendText)) yield break;
        yield return new LegendItem(LegendText, Color, false, false, true);
    }
}

/// <summary>One layer of a stacked bar chart (e.g. "KV cache" across all GPUs).</summary>
public sealed class BarLayer
{
    internal BarLayer(string label, IReadOnlyList<double> values, Color color)
    {
        Label = label;
        Values = values;
        Color = color;
    }

    /// <summary>Legend text.</summary>
    public string Label { get; }

    /// <summary>Heights, one per bar position.</summary>
    public IReadOnlyList<double> Values { get; }

    /// <summary>Fill colour.</summary>
    public Color Color { get; set; }
}

/// <summary>Bars made of layers stacked bottom to top in the order they were added.</summary>
public sealed class StackedBars : Plottable
{
    private readonly List<BarLayer> _layers = new();
    private readonly Func<Color> _nextColor;

    internal StackedBars(IReadOnlyList<double> positions, Func<Color> nextColor)
    {
        Positions = positions;
        _nextColor = nextColor;
    }

    /// <summary>Bar centres (horizontal, data units).</summary>
    public IReadOnlyList<double> Positions { get; }

    /// <summary>The layers, bottom first.</summary>
    public IReadOnlyList<BarLayer> Layers => _layers;

    /// <summary>Bar width in horizontal data units.</summary>
    public double BarWidth { get; set; } = 0.8;

    /// <summary>Adds a layer on top of the previous ones; negative and NaN values count as zero.</summary>
    public BarLayer AddLayer(string label, IReadOnlyList<double> values, Color? color = null)
    {
        if (values.Count != Positions.Count) throw new ArgumentException($"layer '{label}' has {values.Count} values for {Positions.Count} bars");
        var layer = new BarLayer(label, values, color ?? _nextColor());
        _layers.Add(layer);
        return layer;
    }

    private static double V(double v) => double.IsFinite(v) && v > 0 ? v : 0;

    private IEnumerable<(int Bar, BarLayer Layer, double From, double To)> Pieces()
    {
        for (var i = 0; i < Positions.Count; i++)
        {
            double sum = 0;
            foreach (var layer in _layers)
            {
                var v = V(layer.Values[i]);
                yield return (i, layer, sum, sum + v);
                sum += v;
            }
        }
    }

    internal override Bounds GetBounds(Axis x, Axis y)
    {
        if (Positions.Count == 0 || _layers.Count == 0) return Bounds.Empty;
        var pts = new List<(double, double)>();
        for (var i = 0; i < Positions.Count; i++)
        {
            var total = _layers.Sum(l => V(l.Values[i]));
            pts.Add((x.Transform(Positions[i] - BarWidth / 2), y.Transform(total)));
            pts.Add((x.Transform(Positions[i] + BarWidth / 2), y.Scale == AxisScale.Log10 ? y.Transform(total) : 0));
        }
        return Bounds.Of(pts);
    }

    internal override void Render(RenderContext ctx, SvgBuilder svg)
    {
        foreach (var (bar, layer, from, to) in Pieces())
        {
            if (to <= from) continue;
            BarSeries.BarRect(ctx, Positions[bar], BarWidth, from, to, out var x1, out var x2, out var y1, out var y2);
            if (!double.IsFinite(x1 + x2 + y1 + y2)) continue;
            svg.Rect(x1, y1, x2 - x1, y2 - y1, layer.Color, "stroke=\"#ffffff\" stroke-width=\"0.5\"");
        }
    }

    internal override void MarkOccupancy(RenderContext ctx, Occupancy grid)
    {
        foreach (var (bar, _, from, to) in Pieces())
        {
            if (to <= from) continue;
            BarSeries.BarRect(ctx, Positions[bar], BarWidth, from, to, out var x1, out var x2, out var y1, out var y2);
            grid.MarkRect(x1, y1, x2, y2);
        }
    }

    internal override IEnumerable<LegendItem> GetLegendItems() =>
        _layers.Select(l => new LegendItem(l.Label, l.Color, false, false, true));
}
