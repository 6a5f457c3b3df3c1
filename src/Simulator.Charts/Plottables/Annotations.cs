namespace Simulator.Charts;

/// <summary>A horizontal or vertical line across the plot (an SLO, a capacity limit), with an optional label.</summary>
public sealed class AxisLine : Plottable
{
    internal AxisLine(bool horizontal, double position, Color color)
    {
        IsHorizontal = horizontal;
        Position = position;
        Color = color;
    }

    /// <summary>True for a line at constant y, false for constant x.</summary>
    public bool IsHorizontal { get; }

    /// <summary>The line's y (horizontal) or x (vertical) in data units.</summary>
    public double Position { get; set; }

    /// <summary>Line colour.</summary>
    public Color Color { get; set; }

    /// <summary>Line width in pixels.</summary>
    public double LineWidth { get; set; } = 1.5;

    /// <summary>Dash pattern (dashed by default).</summary>
    public LinePattern LinePattern { get; set; } = LinePattern.Dashed;

    /// <summary>Text written along the line inside the plot, or empty.</summary>
    public string LabelText { get; set; } = "";

    /// <summary>Whether auto limits stretch to include the line.</summary>
    public bool IncludeInAutoLimits { get; set; } = true;

    internal override Bounds GetBounds(Axis x, Axis y)
    {
        if (!IncludeInAutoLimits || !double.IsFinite(Position)) return Bounds.Empty;
        return IsHorizontal
            ? new Bounds(double.NaN, double.NaN, y.Transform(Position), y.Transform(Position))
            : new Bounds(x.Transform(Position), x.Transform(Position), double.NaN, double.NaN);
    }

    internal override void Render(RenderContext ctx, SvgBuilder svg)
    {
        var extra = DashArray(LinePattern, LineWidth).TrimStart();
        if (IsHorizontal)
        {
            var py = ctx.Py(Position);
            if (!double.IsFinite(py) || py < ctx.Top - 0.5 || py > ctx.Bottom + 0.5) return;
            svg.LineSeg(ctx.Left, py, ctx.Right, py, Color, LineWidth, extra);
        }
        else
        {
            var px = ctx.Px(Position);
            if (!double.IsFinite(px) || px < ctx.Left - 0.5 || px > ctx.Right + 0.5) return;
            svg.LineSeg(px, ctx.Top, px, ctx.Bottom, Color, LineWidth, extra);
        }
    }

    /// <summary>Labels are drawn last, with a white halo, so data lines do not hide them.</summary>
    internal void RenderLabel(RenderContext ctx, SvgBuilder svg)
    {
        if (LabelText.Length == 0) return;
        const double fontSize = 11;
        var halo = "stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\"";
        if (IsHorizontal)
        {
            var py = ctx.Py(Position);
            if (!double.IsFinite(py) || py < ctx.Top - 0.5 || py > ctx.Bottom + 0.5) return;
            // Left end: vertical-line labels sit at the top right, and CDF curves reach high fractions on the right.
            var ty = py - 4 < ctx.Top + fontSize ? py + fontSize + 3 : py - 4;
            svg.Text(ctx.Left + 4, ty, LabelText, fontSize, "start", Color, halo);
        }
        else
        {
            var px = ctx.Px(Position);
            if (!double.IsFinite(px) || px < ctx.Left - 0.5 || px > ctx.Right + 0.5) return;
            var w = TextMeasure.Width(LabelText, fontSize);
            var leftSide = px + 4 + w > ctx.Right;
            svg.Text(leftSide ? px - 4 : px + 4, ctx.Top + fontSize + 4, LabelText, fontSize, leftSide ? "end" : "start", Color, halo);
        }
    }

    internal override void MarkOccupancy(RenderContext ctx, Occupancy grid)
    {
        if (IsHorizontal) grid.MarkSegment(ctx.Left, ctx.Py(Position), ctx.Right, ctx.Py(Position));
        else grid.MarkSegment(ctx.Px(Position), ctx.Top, ctx.Px(Position), ctx.Bottom);
        if (LabelText.Length == 0) return;
        var w = TextMeasure.Width(LabelText, 11);
        if (IsHorizontal) grid.MarkRect(ctx.Left, ctx.Py(Position) - 16, ctx.Left + 4 + w, ctx.Py(Position));
        else grid.MarkRect(ctx.Px(Position) - w - 4, ctx.Top, ctx.Px(Position) + w + 4, ctx.Top + 18);
    }

    internal override IEnumerable<LegendItem> GetLegendItems()
    {
        if (string.IsNullOrEmpty(LegendText)) yield break;
        yield return new LegendItem(LegendText, Color, true, false, false, LinePattern);
    }
}

/// <summary>A text label at a data position.</summary>
public sealed class TextLabel : Plottable
{
    internal TextLabel(string text, double x, double y)
    {
        Text = text;
        X = x;
        Y = y;
    }

    /// <summary>The text.</summary>
    public string Text { get; set; }

    /// <summary>Anchor x (data units).</summary>
    public double X { get; set; }

    /// <summary>Anchor y (data units).</summary>
    public double Y { get; set; }

    /// <summary>Text colour.</summary>
    public Color Color { get; set; } = Colors.Black;

    /// <summary>Font size in pixels.</summary>
    public double FontSize { get; set; } = 11;

    /// <summary>Pixel offset right of the anchor.</summary>
    public double OffsetXPx { get; set; } = 6;

    /// <summary>Pixel offset below the anchor (negative: above).</summary>
    public double OffsetYPx { get; set; } = -6;

    internal override Bounds GetBounds(Axis x, Axis y) => Bounds.Empty;

    internal override void Render(RenderContext ctx, SvgBuilder svg)
    {
        var (x, y, anchor) = Place(ctx);
        if (!double.IsFinite(x) || !double.IsFinite(y)) return;
        svg.Text(x, y, Text, FontSize, anchor, Color, "stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\"");
    }

    /// <summary>Right of the anchor, or left of it when the text would run past the plot's right edge.</summary>
    private (double X, double Y, string Anchor) Place(RenderContext ctx)
    {
        var px = ctx.Px(X);
        var py = ctx.Py(Y) + OffsetYPx;
        var w = TextMeasure.Width(Text, FontSize);
        if (py - FontSize < ctx.Top) py = ctx.Py(Y) + FontSize + Math.Abs(OffsetYPx);
        return px + OffsetXPx + w > ctx.Right - 2 ? (px - OffsetXPx, py, "end") : (px + OffsetXPx, py, "start");
    }

    internal override void MarkOccupancy(RenderContext ctx, Occupancy grid)
    {
        var (x, y, anchor) = Place(ctx);
        var w = TextMeasure.Width(Text, FontSize);
        if (anchor == "end") grid.MarkRect(x - w, y - FontSize, x, y);
        else grid.MarkRect(x, y - FontSize, x + w, y);
    }

    internal override IEnumerable<LegendItem> GetLegendItems() => Array.Empty<LegendItem>();
}
