using System.Text;

namespace Simulator.Charts;

/// <summary>
/// A chart: add items through <see cref="Add"/>, set labels and axes, then render it to SVG.
/// Mirrors the part of ScottPlot 5's API the reports use, so swapping to ScottPlot stays a small change.
/// Output is deterministic: the same plot gives the same bytes on every machine.
/// </summary>
/// <example>
/// <code>
/// var plot = new Plot();
/// var s = plot.Add.Scatter(xs, ys);
/// s.LegendText = "TP=2";
/// plot.Title("TTFT");
/// plot.XLabel("ms");
/// plot.ShowLegend();
/// plot.SaveSvg("ttft.svg", 800, 500);
/// </code>
/// </example>
public sealed class Plot
{
    private const double TitleFont = 16, LabelFont = 13, TickFont = 11, LegendFont = 12;
    private const double Pad = 10, TickLength = 5;
    private const string ClipPlaceholder = "\u0001clip\u0001";

    private readonly List<Plottable> _items = new();
    private int _colorIndex;
    private string _title = "";
    private LegendPosition? _legend;

    /// <summary>Creates an empty plot.</summary>
    public Plot()
    {
        Add = new PlotAdd(this);
        Axes = new AxesManager();
    }

    /// <summary>Adds items (series, bars, lines, labels).</summary>
    public PlotAdd Add { get; }

    /// <summary>The axes: limits, scales, labels, fixed ticks.</summary>
    public AxesManager Axes { get; }

    /// <summary>Series colours, assigned in the order items are added.</summary>
    public Palette Palette { get; set; } = Palette.Category10;

    /// <summary>The items in drawing order.</summary>
    public IReadOnlyList<Plottable> Plottables => _items;

    /// <summary>Sets the title above the plot.</summary>
    public void Title(string text) => _title = text ?? "";

    /// <summary>Sets the horizontal axis label.</summary>
    public void XLabel(string text) => Axes.Bottom.Label = text ?? "";

    /// <summary>Sets the vertical axis label.</summary>
    public void YLabel(string text) => Axes.Left.Label = text ?? "";

    /// <summary>Shows a legend of the items that have legend text; <see cref="LegendPosition.Auto"/> avoids covering data.</summary>
    public void ShowLegend(LegendPosition position = LegendPosition.Auto) => _legend = position;

    /// <summary>Hides the legend.</summary>
    public void HideLegend() => _legend = null;

    /// <summary>Removes an item.</summary>
    public void Remove(Plottable item) => _items.Remove(item);

    internal T AddItem<T>(T item) where T : Plottable
    {
        _items.Add(item);
        return item;
    }

    internal Color NextColor() => Palette.GetColor(_colorIndex++);

    /// <summary>Writes the SVG to a file (UTF-8, no byte order mark), creating its folder.</summary>
    public void SaveSvg(string path, int width = 800, int height = 500)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        File.WriteAllText(path, GetSvg(width, height), new UTF8Encoding(false));
    }

    /// <summary>Where the legend is drawn at this size (null when there is no legend).</summary>
    public LegendPosition? GetLegendPlacement(int width = 800, int height = 500) => ComputeLayout(width, height).LegendAt;

    /// <summary>The SVG document (no XML declaration, so it can be inlined in HTML).</summary>
    public string GetSvg(int width = 800, int height = 500)
    {
        if (width < 100 || height < 80) throw new ArgumentOutOfRangeException(nameof(width), "a plot needs at least 100 x 80 pixels");
        var layout = ComputeLayout(width, height);
        var ctx = layout.Ctx;
        var svg = new SvgBuilder();
        svg.Line($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">");
        svg.Rect(0, 0, width, height, Colors.White);
        if (_title.Length > 0)
        {
            var cx = Math.Clamp(ctx.Left + ctx.Width / 2, Pad + TextMeasure.Width(_title, TitleFont, true) / 2, width - Pad - TextMeasure.Width(_title, TitleFont, true) / 2);
            svg.Text(cx, Pad + TitleFont, _title, TitleFont, "middle", Colors.Black, "font-weight=\"bold\"");
        }

        // Grid lines under the data.
        svg.Line("<g stroke-width=\"1\">");
        foreach (var t in layout.XTicks)
        {
            var px = ctx.PxU(t.Position);
            svg.LineSeg(px, ctx.Top, px, ctx.Bottom, t.IsMajor ? GridMajor : GridMinor, 1);
        }
        foreach (var t in layout.YTicks)
        {
            var py = ctx.PyU(t.Position);
            svg.LineSeg(ctx.Left, py, ctx.Right, py, t.IsMajor ? GridMajor : GridMinor, 1);
        }
        svg.Line("</g>");

        svg.Line("<defs><clipPath id=\"" + ClipPlaceholder + "\">" +
                 $"<rect x=\"{SvgBuilder.N(ctx.Left)}\" y=\"{SvgBuilder.N(ctx.Top)}\" width=\"{SvgBuilder.N(ctx.Width)}\" height=\"{SvgBuilder.N(ctx.Height)}\"/>" +
                 "</clipPath></defs>");
        svg.Line("<g clip-path=\"url(#" + ClipPlaceholder + ")\">");
        foreach (var item in Visible) item.Render(ctx, svg);
        svg.Line("</g>");
        foreach (var item in Visible)
        {
            if (item is AxisLine line) line.RenderLabel(ctx, svg);
            if (item is BarSeries bars) bars.RenderValueLabels(ctx, svg);
        }

        // Frame, ticks, tick labels.
        svg.Rect(ctx.Left, ctx.Top, ctx.Width, ctx.Height, Colors.White, "fill-opacity=\"0\" stroke=\"#444444\" stroke-width=\"1\"");
        foreach (var t in layout.XTicks)
        {
            var px = ctx.PxU(t.Position);
            svg.LineSeg(px, ctx.Bottom, px, ctx.Bottom + (t.IsMajor ? TickLength : TickLength / 2), Colors.DarkGray, 1);
            if (t.Label.Length == 0) continue;
            if (layout.RotateXLabels)
            {
                var ty = ctx.Bottom + TickLength + 4;
                svg.Text(px + 3, ty + TickFont * 0.7, t.Label, TickFont, "end", Colors.DarkGray,
                    $"transform=\"rotate(-40 {SvgBuilder.N(px + 3)} {SvgBuilder.N(ty + TickFont * 0.7)})\"");
            }
            else svg.Text(px, ctx.Bottom + TickLength + 3 + TickFont, t.Label, TickFont, "middle", Colors.DarkGray);
        }
        foreach (var t in layout.YTicks)
        {
            var py = ctx.PyU(t.Position);
            svg.LineSeg(ctx.Left - (t.IsMajor ? TickLength : TickLength / 2), py, ctx.Left, py, Colors.DarkGray, 1);
            if (t.Label.Length > 0) svg.Text(ctx.Left - TickLength - 4, py + TickFont * 0.35, t.Label, TickFont, "end", Colors.DarkGray);
        }

        if (Axes.Bottom.Label.Length > 0)
            svg.Text(ctx.Left + ctx.Width / 2, height - Pad - 2, Axes.Bottom.Label, LabelFont, "middle", Colors.Black);
        if (Axes.Left.Label.Length > 0)
        {
            var x = Pad + LabelFont;
            var y = ctx.Top + ctx.Height / 2;
            svg.Text(x, y, Axes.Left.Label, LabelFont, "middle", Colors.Black,
                $"transform=\"rotate(-90 {SvgBuilder.N(x)} {SvgBuilder.N(y)})\"");
        }

        var right = ctx.Right;
        foreach (var item in Visible)
        {
            item.RenderOutside(ctx, svg, right);
            right += item.RightMarginPx;
        }

        if (layout.LegendAt is { } at) RenderLegend(svg, layout, at, right);
        svg.Line("</svg>");

        var body = svg.ToString();
        return body.Replace(ClipPlaceholder, "clip-" + Fnv1a(body).ToString("x16", System.Globalization.CultureInfo.InvariantCulture));
    }

    private static readonly Color GridMajor = Color.FromHex("#e5e5e5");
    private static readonly Color GridMinor = Color.FromHex("#f3f3f3");

    private IEnumerable<Plottable> Visible => _items.Where(i => i.IsVisible);

    private List<LegendItem> LegendItems() => Visible.SelectMany(i => i.GetLegendItems()).ToList();

    private sealed record Layout(RenderContext Ctx, IReadOnlyList<Tick> XTicks, IReadOnlyList<Tick> YTicks,
        bool RotateXLabels, LegendPosition? LegendAt, double LegendWidth, double LegendHeight);

    private static (double W, double H) MeasureLegend(IReadOnlyList<LegendItem> items) =>
        (8 + 26 + 6 + items.Max(i => TextMeasure.Width(i.Text, LegendFont)) + 10, 6 + items.Count * 18 + 6);

    private Layout ComputeLayout(int width, int height)
    {
        var legendItems = _legend is null ? new List<LegendItem>() : LegendItems();
        var hasLegend = legendItems.Count > 0;
        var (lw, lh) = hasLegend ? MeasureLegend(legendItems) : (0, 0);
        var wanted = _legend ?? LegendPosition.Auto;

        var layout = ComputeAxesLayout(width, height, wanted == LegendPosition.OutsideRight && hasLegend ? lw + 12 : 0);
        if (!hasLegend) return layout with { LegendAt = null };
        if (wanted == LegendPosition.OutsideRight) return layout with { LegendAt = wanted, LegendWidth = lw, LegendHeight = lh };
        if (wanted != LegendPosition.Auto) return layout with { LegendAt = wanted, LegendWidth = lw, LegendHeight = lh };

        var ctx = layout.Ctx;
        if (lw < ctx.Width * 0.6 && lh < ctx.Height * 0.8)
        {
            var grid = new Occupancy(ctx);
            foreach (var item in Visible) item.MarkOccupancy(ctx, grid);
            var best = LegendPosition.OutsideRight;
            foreach (var corner in new[] { LegendPosition.UpperRight, LegendPosition.UpperLeft, LegendPosition.LowerRight, LegendPosition.LowerLeft })
            {
                var (x, y) = InsideOrigin(ctx, corner, lw, lh);
                if (grid.Count(x, y, x + lw, y + lh) == 0) { best = corner; break; }
            }
            if (best != LegendPosition.OutsideRight) return layout with { LegendAt = best, LegendWidth = lw, LegendHeight = lh };
        }
        return ComputeAxesLayout(width, height, lw + 12) with { LegendAt = LegendPosition.OutsideRight, LegendWidth = lw, LegendHeight = lh };
    }

    private static (double X, double Y) InsideOrigin(RenderContext ctx, LegendPosition corner, double w, double h)
    {
        const double inset = 8;
        return corner switch
        {
            LegendPosition.UpperLeft => (ctx.Left + inset, ctx.Top + inset),
            LegendPosition.LowerRight => (ctx.Right - inset - w, ctx.Bottom - inset - h),
            LegendPosition.LowerLeft => (ctx.Left + inset, ctx.Bottom - inset - h),
            _ => (ctx.Right - inset - w, ctx.Top + inset),
        };
    }

    private void RenderLegend(SvgBuilder svg, Layout layout, LegendPosition at, double rightOfOutside)
    {
        var items = LegendItems();
        var ctx = layout.Ctx;
        var (x, y) = at == LegendPosition.OutsideRight
            ? (rightOfOutside + 12, ctx.Top)
            : InsideOrigin(ctx, at, layout.LegendWidth, layout.LegendHeight);
        svg.Line("<g class=\"legend\">");
        svg.Rect(x, y, layout.LegendWidth, layout.LegendHeight, Colors.White, "fill-opacity=\"0.92\" stroke=\"#bbbbbb\" stroke-width=\"1\"");
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            var rowY = y + 6 + i * 18 + 9;
            var sx = x + 8;
            if (item.ShowFill) svg.Rect(sx + 5, rowY - 6, 16, 12, item.Color);
            if (item.ShowLine)
                svg.LineSeg(sx, rowY, sx + 26, rowY, item.Color, 2, Plottable.DashArray(item.Pattern, 2).TrimStart());
            if (item.ShowMarker) Markers.Draw(svg, item.Marker, sx + 13, rowY, 7, item.Color);
            svg.Text(sx + 26 + 6, rowY + LegendFont * 0.35, item.Text, LegendFont, "start", Colors.Black);
        }
        svg.Line("</g>");
    }

    private Layout ComputeAxesLayout(int width, int height, double legendOutsideWidth)
    {
        var bounds = Bounds.Empty;
        foreach (var item in Visible) bounds = bounds.Union(item.GetBounds(Axes.Bottom, Axes.Left));
        var (xMin, xMax) = Limits(Axes.Bottom, bounds.HasX ? bounds.XMin : double.NaN, bounds.HasX ? bounds.XMax : double.NaN, bounds.PadX);
        var (yMin, yMax) = Limits(Axes.Left, bounds.HasY ? bounds.YMin : double.NaN, bounds.HasY ? bounds.YMax : double.NaN, bounds.PadY);

        var top = _title.Length > 0 ? Pad + TitleFont + 12 : Pad + 6;
        var rightBase = 18 + Visible.Sum(i => i.RightMarginPx) + legendOutsideWidth;
        var xLabelSpace = Axes.Bottom.Label.Length > 0 ? LabelFont + 8 : 0;
        var bottom = Pad + TickLength + 4 + TickFont + xLabelSpace;
        var left = 0.0;
        var right = rightBase;
        IReadOnlyList<Tick> xTicks = Array.Empty<Tick>(), yTicks = Array.Empty<Tick>();
        var rotate = false;
        for (var pass = 0; pass < 3; pass++)
        {
            var plotHeight = Math.Max(20, height - top - bottom);
            yTicks = MakeTicks(Axes.Left, yMin, yMax, Math.Max(2, (int)(plotHeight / 38)),
                Visible.Select(i => i.DefaultLeftTicks).FirstOrDefault(t => t is not null));
            var yLabelWidth = yTicks.Count == 0 ? 0 : yTicks.Max(t => TextMeasure.Width(t.Label, TickFont));
            left = Pad + (Axes.Left.Label.Length > 0 ? LabelFont + 10 : 0) + yLabelWidth + TickLength + 6;

            var plotWidth = Math.Max(20, width - left - right);
            xTicks = MakeTicks(Axes.Bottom, xMin, xMax, Math.Max(2, (int)(plotWidth / 60)), null, plotWidth);
            var labelled = xTicks.Where(t => t.Label.Length > 0).ToList();
            var maxXLabel = labelled.Count == 0 ? 0 : labelled.Max(t => TextMeasure.Width(t.Label, TickFont));
            rotate = false;
            if (Axes.Bottom.ManualTicks is not null && labelled.Count > 1)
            {
                var minGap = labelled.Zip(labelled.Skip(1), (a, b) => Math.Abs(b.Position - a.Position)).Min() / (xMax - xMin) * plotWidth;
                rotate = maxXLabel + 6 > minGap;
            }
            var newBottom = Pad + TickLength + 4 + (rotate ? maxXLabel * 0.66 + TickFont : TickFont) + xLabelSpace;
            var lastHalf = labelled.Count == 0 || rotate ? 0
                : TextMeasure.Width(labelled[^1].Label, TickFont) / 2 - (xMax - labelled[^1].Position) / (xMax - xMin) * plotWidth;
            var newRight = Math.Max(rightBase, legendOutsideWidth + lastHalf + 6);
            if (Math.Abs(newBottom - bottom) < 0.5 && Math.Abs(newRight - right) < 0.5) break;
            bottom = Math.Min(newBottom, height * 0.45);
            right = newRight;
        }

        var ctx = new RenderContext
        {
            Left = left, Top = top, Width = Math.Max(20, width - left - right), Height = Math.Max(20, height - top - bottom),
            XMin = xMin, XMax = xMax, YMin = yMin, YMax = yMax, XAxis = Axes.Bottom, YAxis = Axes.Left,
        };
        return new Layout(ctx, xTicks, yTicks, rotate, null, 0, 0);
    }

    /// <summary>Axis limits in axis units: fixed ones, else the data padded by 5% (not past zero when the data touches zero).</summary>
    private static (double Min, double Max) Limits(Axis axis, double dataMin, double dataMax, bool pad)
    {
        var log = axis.Scale == AxisScale.Log10;
        double? fixedMin = axis.Min is { } a ? axis.Transform(a) : null;
        double? fixedMax = axis.Max is { } b ? axis.Transform(b) : null;
        if (fixedMin is { } fm && !double.IsFinite(fm)) fixedMin = null;
        if (fixedMax is { } fx && !double.IsFinite(fx)) fixedMax = null;

        double min, max;
        if (double.IsNaN(dataMin))
        {
            (min, max) = log ? (0, 1) : (0, 1);
            pad = false;
        }
        else (min, max) = (dataMin, dataMax);

        if (max - min < 1e-12 * Math.Max(1, Math.Abs(max)))
        {
            var half = log ? 0.5 : (min == 0 ? 1 : Math.Abs(min) * 0.1);
            (min, max) = (min - half, max + half);
            if (!log && dataMin >= 0 && min < 0 && dataMin != 0) min = 0;
            pad = false;
        }
        if (pad)
        {
            var span = max - min;
            var lo = min - span * 0.05;
            var hi = max + span * 0.05;
            if (!log && min >= 0 && lo < 0) lo = 0;
            if (!log && max <= 0 && hi > 0) hi = 0;
            (min, max) = (lo, hi);
        }
        min = fixedMin ?? min;
        max = fixedMax ?? max;
        if (max <= min) max = min + (log ? 1 : Math.Max(1, Math.Abs(min) * 0.1));
        return (min, max);
    }

    private static IReadOnlyList<Tick> MakeTicks(Axis axis, double min, double max, int maxCount,
        IReadOnlyList<Tick>? defaults, double axisLengthPx = 0)
    {
        if (axis.ManualTicks is { } manual)
            return manual.Select(t => t with { Position = axis.Transform(t.Position) })
                .Where(t => double.IsFinite(t.Position) && t.Position >= min - 1e-9 && t.Position <= max + 1e-9).ToList();
        if (defaults is not null)
            return defaults.Where(t => t.Position >= min - 1e-9 && t.Position <= max + 1e-9).ToList();

        for (var count = Math.Max(2, maxCount); ; count--)
        {
            IReadOnlyList<Tick> ticks;
            if (axis.Scale == AxisScale.Log10) ticks = NiceTicks.Log10(min, max, count);
            else
            {
                var step = NiceTicks.Step(min, max, count);
                ticks = NiceTicks.Label(NiceTicks.Multiples(min, max, step), step);
            }
            if (axisLengthPx <= 0 || count <= 2) return ticks;
            // Horizontal axis: neighbouring labels must not touch.
            var labelled = ticks.Where(t => t.Label.Length > 0).ToList();
            var fits = true;
            for (var i = 1; i < labelled.Count && fits; i++)
            {
                var gapPx = (labelled[i].Position - labelled[i - 1].Position) / (max - min) * axisLengthPx;
                var need = (TextMeasure.Width(labelled[i].Label, TickFont) + TextMeasure.Width(labelled[i - 1].Label, TickFont)) / 2 + 12;
                fits = gapPx >= need;
            }
            if (fits) return ticks;
        }
    }

    private static ulong Fnv1a(string s)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in s)
        {
            hash ^= c;
            hash *= 1099511628211UL;
        }
        return hash;
    }
}
