using System.Text;

namespace Simulator.Charts;

/// <summary>A series of (x, y) points drawn as a line, markers, or both; optionally as a step line (CDFs).</summary>
public sealed class Scatter : Plottable
{
    internal Scatter(IReadOnlyList<double> xs, IReadOnlyList<double> ys, Color color)
    {
        if (xs.Count != ys.Count) throw new ArgumentException($"xs has {xs.Count} values but ys has {ys.Count}");
        Xs = xs;
        Ys = ys;
        Color = color;
    }

    /// <summary>Horizontal values (data units).</summary>
    public IReadOnlyList<double> Xs { get; }

    /// <summary>Vertical values (data units); NaN breaks the line.</summary>
    public IReadOnlyList<double> Ys { get; }

    /// <summary>Line and marker colour.</summary>
    public Color Color { get; set; }

    /// <summary>Line width in pixels.</summary>
    public double LineWidth { get; set; } = 2;

    /// <summary>Marker diameter in pixels.</summary>
    public double MarkerSize { get; set; } = 6;

    /// <summary>Marker shape.</summary>
    public MarkerShape MarkerShape { get; set; } = MarkerShape.FilledCircle;

    /// <summary>Draw the connecting line.</summary>
    public bool ShowLine { get; set; } = true;

    /// <summary>Draw a marker at each point.</summary>
    public bool ShowMarkers { get; set; } = true;

    /// <summary>Line dash pattern.</summary>
    public LinePattern LinePattern { get; set; } = LinePattern.Solid;

    /// <summary>Connect points as a staircase (hold each y until the next x), as for CDFs.</summary>
    public bool StepDisplay { get; set; }

    internal override Bounds GetBounds(Axis x, Axis y) =>
        Bounds.Of(Enumerable.Range(0, Xs.Count).Select(i => (x.Transform(Xs[i]), y.Transform(Ys[i]))));

    private IEnumerable<List<(double X, double Y)>> Segments(RenderContext ctx)
    {
        var current = new List<(double, double)>();
        for (var i = 0; i < Xs.Count; i++)
        {
            var px = ctx.Px(Xs[i]);
            var py = ctx.Py(Ys[i]);
            if (!double.IsFinite(px) || !double.IsFinite(py))
            {
                if (current.Count > 0) yield return current;
                current = new List<(double, double)>();
                continue;
            }
            current.Add((ctx.ClampX(px), ctx.ClampY(py)));
        }
        if (current.Count > 0) yield return current;
    }

    internal override void Render(RenderContext ctx, SvgBuilder svg)
    {
        if (ShowLine)
        {
            var d = new StringBuilder();
            foreach (var seg in Segments(ctx))
            {
                if (seg.Count < 2) continue;
                d.Append('M').Append(SvgBuilder.N(seg[0].X)).Append(',').Append(SvgBuilder.N(seg[0].Y));
                (double X, double Y) last = seg[0];
                for (var i = 1; i < seg.Count; i++)
                {
                    var p = seg[i];
                    if (StepDisplay)
                    {
                        d.Append('H').Append(SvgBuilder.N(p.X)).Append('V').Append(SvgBuilder.N(p.Y));
                    }
                    else
                    {
                        // Points closer than a tenth of a pixel add bytes, not ink.
                        if (Math.Abs(p.X - last.X) < 0.1 && Math.Abs(p.Y - last.Y) < 0.1 && i < seg.Count - 1) continue;
                        d.Append('L').Append(SvgBuilder.N(p.X)).Append(',').Append(SvgBuilder.N(p.Y));
                    }
                    last = p;
                }
            }
            if (d.Length > 0)
                svg.Line($"<path d=\"{d}\" fill=\"none\" stroke=\"{Color.ToHex()}\" stroke-width=\"{SvgBuilder.N(LineWidth)}\" stroke-linejoin=\"round\"{DashArray(LinePattern, LineWidth)}/>");
        }
        if (ShowMarkers)
            foreach (var seg in Segments(ctx))
                foreach (var (x, y) in seg)
                    Markers.Draw(svg, MarkerShape, x, y, MarkerSize, Color);
    }

    internal override void MarkOccupancy(RenderContext ctx, Occupancy grid)
    {
        foreach (var seg in Segments(ctx))
        {
            for (var i = 0; i < seg.Count; i++)
            {
                if (ShowMarkers) grid.MarkPoint(seg[i].X, seg[i].Y, MarkerSize / 2);
                if (ShowLine && i > 0)
                {
                    if (StepDisplay)
                    {
                        grid.MarkSegment(seg[i - 1].X, seg[i - 1].Y, seg[i].X, seg[i - 1].Y);
                        grid.MarkSegment(seg[i].X, seg[i - 1].Y, seg[i].X, seg[i].Y);
                    }
                    else grid.MarkSegment(seg[i - 1].X, seg[i - 1].Y, seg[i].X, seg[i].Y);
                }
                else if (seg.Count == 1) grid.MarkPoint(seg[i].X, seg[i].Y, 2);
            }
        }
    }

    internal override IEnumerable<LegendItem> GetLegendItems()
    {
        if (string.IsNullOrEmpty(LegendText)) yield break;
        yield return new LegendItem(LegendText, Color, ShowLine, ShowMarkers, false, LinePattern, MarkerShape);
    }
}

/// <summary>Draws marker shapes.</summary>
internal static class Markers
{
    public static void Draw(SvgBuilder svg, MarkerShape shape, double x, double y, double size, Color color)
    {
        var r = size / 2;
        var c = color.ToHex();
        string N(double v) => SvgBuilder.N(v);
        switch (shape)
        {
            case MarkerShape.OpenCircle:
                svg.Line($"<circle cx=\"{N(x)}\" cy=\"{N(y)}\" r=\"{N(r)}\" fill=\"#ffffff\" stroke=\"{c}\" stroke-width=\"1.5\"/>");
                break;
            case MarkerShape.FilledSquare:
                svg.Rect(x - r, y - r, size, size, color);
                break;
            case MarkerShape.FilledTriangle:
                svg.Line($"<path d=\"M{N(x)},{N(y - r * 1.15)}L{N(x + r)},{N(y + r * 0.85)}L{N(x - r)},{N(y + r * 0.85)}Z\" fill=\"{c}\"/>");
                break;
            case MarkerShape.FilledDiamond:
                svg.Line($"<path d=\"M{N(x)},{N(y - r * 1.2)}L{N(x + r)},{N(y)}L{N(x)},{N(y + r * 1.2)}L{N(x - r)},{N(y)}Z\" fill=\"{c}\"/>");
                break;
            case MarkerShape.Star:
            {
                var d = new StringBuilder();
                for (var k = 0; k < 10; k++)
                {
                    var radius = k % 2 == 0 ? r * 1.3 : r * 0.55;
                    var a = -Math.PI / 2 + k * Math.PI / 5;
                    d.Append(k == 0 ? 'M' : 'L').Append(N(x + radius * Math.Cos(a))).Append(',').Append(N(y + radius * Math.Sin(a)));
                }
                svg.Line($"<path d=\"{d}Z\" fill=\"{c}\" stroke=\"#000000\" stroke-width=\"0.5\"/>");
                break;
            }
            default:
                svg.Line($"<circle cx=\"{N(x)}\" cy=\"{N(y)}\" r=\"{N(r)}\" fill=\"{c}\"/>");
                break;
        }
    }
}
