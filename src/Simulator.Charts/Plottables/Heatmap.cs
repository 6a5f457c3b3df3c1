using System.Globalization;

namespace Simulator.Charts;

/// <summary>
/// A grid of coloured cells. Row 0 is drawn at the top; cell (r, c) covers x in [c, c + 1) and
/// y in [rows - 1 - r, rows - r), so labelled ticks go at c + 0.5 and rows - 1 - r + 0.5.
/// </summary>
public sealed class Heatmap : Plottable
{
    internal Heatmap(double[,] values) => Values = values;

    /// <summary>Cell values [row, column]; NaN cells are drawn light grey.</summary>
    public double[,] Values { get; }

    /// <summary>The colour scale.</summary>
    public Colormap Colormap { get; set; } = Colormap.Viridis;

    /// <summary>The value mapped to the first colour (null: the smallest finite value).</summary>
    public double? ColorMin { get; set; }

    /// <summary>The value mapped to the last colour (null: the largest finite value).</summary>
    public double? ColorMax { get; set; }

    /// <summary>Draw a colour bar right of the plot.</summary>
    public bool ShowColorBar { get; set; } = true;

    /// <summary>Title of the colour bar.</summary>
    public string ColorBarLabel { get; set; } = "";

    /// <summary>Write each cell's value in it with this .NET format string (e.g. "0.0"); null for none.</summary>
    public string? CellLabelFormat { get; set; }

    private int Rows => Values.GetLength(0);
    private int Cols => Values.GetLength(1);

    private (double Min, double Max) Range()
    {
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        foreach (var v in Values)
        {
            if (!double.IsFinite(v)) continue;
            lo = Math.Min(lo, v);
            hi = Math.Max(hi, v);
        }
        if (double.IsInfinity(lo)) (lo, hi) = (0, 1);
        lo = ColorMin ?? lo;
        hi = ColorMax ?? hi;
        if (hi <= lo) hi = lo + 1;
        return (lo, hi);
    }

    internal override Bounds GetBounds(Axis x, Axis y) =>
        Rows == 0 || Cols == 0
            ? Bounds.Empty
            : new Bounds(x.Transform(0), x.Transform(Cols), y.Transform(0), y.Transform(Rows), false, false);

    internal override void Render(RenderContext ctx, SvgBuilder svg)
    {
        var (lo, hi) = Range();
        for (var r = 0; r < Rows; r++)
            for (var c = 0; c < Cols; c++)
            {
                var x1 = ctx.Px(c); var x2 = ctx.Px(c + 1);
                var y1 = ctx.Py(Rows - r); var y2 = ctx.Py(Rows - 1 - r);
                if (!double.IsFinite(x1 + x2 + y1 + y2)) continue;
                var v = Values[r, c];
                var color = double.IsFinite(v) ? Colormap.At((v - lo) / (hi - lo)) : Colors.LightGray;
                // Cells overlap by a hair so no seams show between them.
                svg.Rect(x1, y1, x2 - x1 + 0.3, y2 - y1 + 0.3, color);
                if (CellLabelFormat is not null && double.IsFinite(v))
                {
                    var t = (v - lo) / (hi - lo);
                    svg.Text((x1 + x2) / 2, (y1 + y2) / 2 + 4, v.ToString(CellLabelFormat, CultureInfo.InvariantCulture), 11,
                        "middle", t > 0.6 ? Colors.Black : Colors.White);
                }
            }
    }

    internal override void MarkOccupancy(RenderContext ctx, Occupancy grid) =>
        grid.MarkRect(ctx.Left, ctx.Top, ctx.Right, ctx.Bottom);

    internal override IEnumerable<LegendItem> GetLegendItems() => Array.Empty<LegendItem>();

    internal override double RightMarginPx => ShowColorBar ? 90 : 0;

    internal override void RenderOutside(RenderContext ctx, SvgBuilder svg, double rightX)
    {
        if (!ShowColorBar) return;
        var (lo, hi) = Range();
        var x = rightX + 14;
        const double barWidth = 14;
        const int steps = 32;
        var h = ctx.Height / steps;
        for (var i = 0; i < steps; i++)
        {
            var t = (i + 0.5) / steps;
            svg.Rect(x, ctx.Bottom - (i + 1) * h, barWidth, h + 0.3, Colormap.At(t));
        }
        svg.Rect(x, ctx.Top, barWidth, ctx.Height, Colors.White, "fill-opacity=\"0\" stroke=\"#444444\" stroke-width=\"1\"");
        var step = NiceTicks.Step(lo, hi, Math.Max(3, (int)(ctx.Height / 40)));
        foreach (var tick in NiceTicks.Label(NiceTicks.Multiples(lo, hi, step), step))
        {
            var py = ctx.Bottom - (tick.Position - lo) / (hi - lo) * ctx.Height;
            svg.LineSeg(x + barWidth, py, x + barWidth + 4, py, Colors.DarkGray, 1);
            svg.Text(x + barWidth + 6, py + 4, tick.Label, 11, "start", Colors.DarkGray);
        }
        if (ColorBarLabel.Length > 0)
        {
            var cx = x + barWidth + 62;
            var cy = ctx.Top + ctx.Height / 2;
            svg.Text(cx, cy, ColorBarLabel, 12, "middle", Colors.Black,
                $"transform=\"rotate(-90 {SvgBuilder.N(cx)} {SvgBuilder.N(cy)})\"");
        }
    }
}
