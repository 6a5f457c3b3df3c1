namespace Simulator.Charts;

/// <summary>Line dash patterns.</summary>
public enum LinePattern
{
    Solid,
    Dashed,
    Dotted,
}

/// <summary>Marker shapes for scatter points.</summary>
public enum MarkerShape
{
    FilledCircle,
    OpenCircle,
    FilledSquare,
    FilledTriangle,
    FilledDiamond,
    Star,
}

/// <summary>One entry of the legend: a text and how its swatch is drawn.</summary>
public sealed record LegendItem(string Text, Color Color, bool ShowLine, bool ShowMarker, bool ShowFill,
    LinePattern Pattern = LinePattern.Solid, MarkerShape Marker = MarkerShape.FilledCircle);

/// <summary>Something drawn in the plot area (a series, bars, a line, a label). Created through <c>plot.Add</c>.</summary>
public abstract class Plottable
{
    private protected Plottable() { }

    /// <summary>The series name shown in the legend; null or empty leaves it out of the legend.</summary>
    public string? LegendText { get; set; }

    /// <summary>False hides the item without removing it.</summary>
    public bool IsVisible { get; set; } = true;

    /// <summary>The data extent in axis units (log10 applied where the axis is log).</summary>
    internal abstract Bounds GetBounds(Axis x, Axis y);

    /// <summary>Writes the SVG for this item into the clipped plot area.</summary>
    internal abstract void Render(RenderContext ctx, SvgBuilder svg);

    /// <summary>Marks the plot-area cells this item covers (used to place the legend).</summary>
    internal abstract void MarkOccupancy(RenderContext ctx, Occupancy grid);

    /// <summary>The legend entries of this item.</summary>
    internal abstract IEnumerable<LegendItem> GetLegendItems();

    /// <summary>Default ticks this item wants on the vertical axis (row labels), if any.</summary>
    internal virtual IReadOnlyList<Tick>? DefaultLeftTicks => null;

    /// <summary>Pixels to reserve right of the plot area (colour bars).</summary>
    internal virtual double RightMarginPx => 0;

    /// <summary>Draws things outside the plot area (colour bars) after the axes.</summary>
    internal virtual void RenderOutside(RenderContext ctx, SvgBuilder svg, double rightX) { }

    internal static string DashArray(LinePattern p, double width) => p switch
    {
        LinePattern.Dashed => $" stroke-dasharray=\"{SvgBuilder.N(6 * Math.Max(1, width / 1.5))},{SvgBuilder.N(4 * Math.Max(1, width / 1.5))}\"",
        LinePattern.Dotted => $" stroke-dasharray=\"{SvgBuilder.N(Math.Max(1, width))},{SvgBuilder.N(3 * Math.Max(1, width))}\"",
        _ => "",
    };
}

/// <summary>A data extent in axis units; NaN where the item has no data. Pad: whether auto limits add a margin.</summary>
internal readonly record struct Bounds(double XMin, double XMax, double YMin, double YMax, bool PadX = true, bool PadY = true)
{
    public static readonly Bounds Empty = new(double.NaN, double.NaN, double.NaN, double.NaN, false, false);

    public bool HasX => !double.IsNaN(XMin);
    public bool HasY => !double.IsNaN(YMin);

    public static Bounds Of(IEnumerable<(double X, double Y)> points, bool padX = true, bool padY = true)
    {
        double xMin = double.NaN, xMax = double.NaN, yMin = double.NaN, yMax = double.NaN;
        foreach (var (x, y) in points)
        {
            if (!double.IsFinite(x) || !double.IsFinite(y)) continue;
            xMin = double.IsNaN(xMin) ? x : Math.Min(xMin, x);
            xMax = double.IsNaN(xMax) ? x : Math.Max(xMax, x);
            yMin = double.IsNaN(yMin) ? y : Math.Min(yMin, y);
            yMax = double.IsNaN(yMax) ? y : Math.Max(yMax, y);
        }
        return new Bounds(xMin, xMax, yMin, yMax, padX, padY);
    }

    public Bounds Union(Bounds o)
    {
        static double Min(double a, double b) => double.IsNaN(a) ? b : double.IsNaN(b) ? a : Math.Min(a, b);
        static double Max(double a, double b) => double.IsNaN(a) ? b : double.IsNaN(b) ? a : Math.Max(a, b);
        return new Bounds(Min(XMin, o.XMin), Max(XMax, o.XMax), Min(YMin, o.YMin), Max(YMax, o.YMax),
            (PadX && HasX) || (o.PadX && o.HasX), (PadY && HasY) || (o.PadY && o.HasY));
    }
}

/// <summary>The mapping from axis units to pixels for one render.</summary>
internal sealed class RenderContext
{
    public required double Left { get; init; }
    public required double Top { get; init; }
    public required double Width { get; init; }
    public required double Height { get; init; }
    public required double XMin { get; init; }
    public required double XMax { get; init; }
    public required double YMin { get; init; }
    public required double YMax { get; init; }
    public required Axis XAxis { get; init; }
    public required Axis YAxis { get; init; }

    public double Right => Left + Width;
    public double Bottom => Top + Height;

    /// <summary>Pixel x of a value already in axis units.</summary>
    public double PxU(double u) => Left + (u - XMin) / (XMax - XMin) * Width;

    /// <summary>Pixel y of a value already in axis units.</summary>
    public double PyU(double u) => Top + Height - (u - YMin) / (YMax - YMin) * Height;

    /// <summary>Pixel x of a data value (NaN when the log axis cannot show it).</summary>
    public double Px(double x) => PxU(XAxis.Transform(x));

    /// <summary>Pixel y of a data value (NaN when the log axis cannot show it).</summary>
    public double Py(double y) => PyU(YAxis.Transform(y));

    /// <summary>Clamps a pixel coordinate to a band around the plot area so huge values still draw as straight edges.</summary>
    public double ClampX(double px) => Math.Clamp(px, Left - 1000, Right + 1000);

    public double ClampY(double py) => Math.Clamp(py, Top - 1000, Bottom + 1000);
}

/// <summary>A coarse grid over the plot area marking where data is drawn (for legend placement).</summary>
internal sealed class Occupancy
{
    public const double CellPx = 4;
    private readonly bool[,] _cells;
    private readonly RenderContext _ctx;

    public Occupancy(RenderContext ctx)
    {
        _ctx = ctx;
        _cells = new bool[Math.Max(1, (int)Math.Ceiling(ctx.Width / CellPx)), Math.Max(1, (int)Math.Ceiling(ctx.Height / CellPx))];
    }

    public void MarkPoint(double px, double py, double radius = 0)
    {
        if (double.IsNaN(px) || double.IsNaN(py)) return;
        MarkRect(px - radius, py - radius, px + radius, py + radius);
    }

    public void MarkRect(double x1, double y1, double x2, double y2)
    {
        if (double.IsNaN(x1) || double.IsNaN(x2) || double.IsNaN(y1) || double.IsNaN(y2)) return;
        var c1 = Col(Math.Min(x1, x2)); var c2 = Col(Math.Max(x1, x2));
        var r1 = Row(Math.Min(y1, y2)); var r2 = Row(Math.Max(y1, y2));
        if (c2 < 0 || r2 < 0 || c1 >= _cells.GetLength(0) || r1 >= _cells.GetLength(1)) return;
        c1 = Math.Max(c1, 0); r1 = Math.Max(r1, 0);
        c2 = Math.Min(c2, _cells.GetLength(0) - 1); r2 = Math.Min(r2, _cells.GetLength(1) - 1);
        for (var c = c1; c <= c2; c++)
            for (var r = r1; r <= r2; r++) _cells[c, r] = true;
    }

    public void MarkSegment(double x1, double y1, double x2, double y2)
    {
        if (double.IsNaN(x1) || double.IsNaN(x2) || double.IsNaN(y1) || double.IsNaN(y2)) return;
        x1 = _ctx.ClampX(x1); x2 = _ctx.ClampX(x2); y1 = _ctx.ClampY(y1); y2 = _ctx.ClampY(y2);
        var len = Math.Sqrt((x2 - x1) * (x2 - x1) + (y2 - y1) * (y2 - y1));
        var steps = Math.Max(1, (int)Math.Ceiling(len / (CellPx / 2)));
        for (var i = 0; i <= steps; i++)
        {
            var t = (double)i / steps;
            MarkPoint(x1 + (x2 - x1) * t, y1 + (y2 - y1) * t);
        }
    }

    /// <summary>Number of occupied cells inside a pixel rectangle.</summary>
    public int Count(double x1, double y1, double x2, double y2)
    {
        var n = 0;
        var c1 = Math.Max(0, Col(x1)); var c2 = Math.Min(_cells.GetLength(0) - 1, Col(x2));
        var r1 = Math.Max(0, Row(y1)); var r2 = Math.Min(_cells.GetLength(1) - 1, Row(y2));
        for (var c = c1; c <= c2; c++)
            for (var r = r1; r <= r2; r++) if (_cells[c, r]) n++;
        return n;
    }

    private int Col(double px) => (int)Math.Floor((px - _ctx.Left) / CellPx);
    private int Row(double py) => (int)Math.Floor((py - _ctx.Top) / CellPx);
}
