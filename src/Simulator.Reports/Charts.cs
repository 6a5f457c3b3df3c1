using ScottPlot;
using ScottPlot.Plottables;
using ScottPlot.TickGenerators;
using SkiaSharp;

namespace Simulator.Reports;

/// <summary>
/// The report's chart style on ScottPlot 5, and the few chart forms ScottPlot does not have built in:
/// an empirical CDF, logarithmic axes with readable 1-2-5 tick labels, stacked bars and a Gantt timeline.
/// Everything else (lines, points, bars, axis lines, text, legends, PNG and SVG) is ScottPlot's own.
/// </summary>
internal static class Charts
{
    /// <summary>Category10, ScottPlot's default palette; named here so categories keep their colour across charts.</summary>
    public static readonly Color Blue = Colors.Category10[0];
    public static readonly Color Orange = Colors.Category10[1];
    public static readonly Color Green = Colors.Category10[2];
    public static readonly Color Red = Colors.Category10[3];
    public static readonly Color Purple = Colors.Category10[4];
    public static readonly Color Gray = Colors.Category10[7];
    public static readonly Color LightGray = Color.FromHex("#d9d9d9");
    public static readonly Color IdleGray = Color.FromHex("#e6e6e6");

    /// <summary>Most points a line draws: a million-request CDF is thinned to this many quantiles.</summary>
    public const int MaxLinePoints = 2000;

    // Implementation note: SkiaSharp's NoDependencies build has no fontconfig, and ScottPlot's default
    // font then resolves to the first family Skia finds (DejaVu Serif on Debian). The report asks for a sans
    // family that Debian's fonts-dejavu-core ships, and keeps ScottPlot's choice when it is absent.
    private static readonly string? SansFont = new[] { "DejaVu Sans", "Liberation Sans", "Noto Sans", "Arial", "Helvetica" }
        .FirstOrDefault(f => SKFontManager.Default.FontFamilies.Contains(f, StringComparer.OrdinalIgnoreCase));

    /// <summary>The font family charts are drawn with (null: ScottPlot's default).</summary>
    public static string? FontName => SansFont;

    /// <summary>A new plot in the report's style.</summary>
    public static Plot NewPlot() => new();

    /// <summary>Applies the report's font to everything on the plot (called once all plottables are added).</summary>
    public static void ApplyStyle(Plot plot)
    {
        plot.Legend.SetBestFontOnEachRender = false;
        MarkerRoom(plot);
        if (SansFont is not { } f) return;
        plot.Font.Set(f);
        // Plot.Font.Set leaves the labels of axis lines and text plottables alone.
        foreach (var line in plot.GetPlottables<AxisLine>()) line.LabelFontName = f;
        foreach (var text in plot.GetPlottables<Text>()) text.LabelFontName = f;
        // Implementation note: with ScottPlot 5.1.59 a bold label is drawn bold only the first time a process
        // renders that face (later renders get the regular face), so the same chart would not write the same
        // bytes twice; every label is regular weight, which renders the same every time.
        plot.Axes.Title.Label.Bold = false;
        foreach (var axis in plot.Axes.GetAxes()) axis.Label.Bold = false;
        foreach (var line in plot.GetPlottables<AxisLine>()) line.LabelBold = false;
        foreach (var text in plot.GetPlottables<Text>()) text.LabelBold = false;
    }

    /// <summary>Room right of the data area for the labels of horizontal marker lines.</summary>
    private static void MarkerRoom(Plot plot)
    {
        if (plot.GetPlottables<HorizontalLine>().Any(l => l.LabelOppositeAxis)) plot.Axes.Right.MinimumSize = 30;
    }

    /// <summary>
    /// A marker line (an SLO bound, a percentile, a mean) labelled at the far end of the data area (top for a
    /// vertical line, right for a horizontal one), where the label covers no tick label.
    /// </summary>
    public static T Marker<T>(T line, string label, string legend) where T : AxisLine
    {
        line.Text = label;
        line.LegendText = legend;
        line.LabelOppositeAxis = true;
        return line;
    }

    /// <summary>A value mapped onto an axis: identity, or log10 for a logarithmic axis.</summary>
    public sealed record Scale(bool Log)
    {
        /// <summary>Linear scale.</summary>
        public static readonly Scale Linear = new(false);

        /// <summary>The plotted coordinate of a value (NaN for a non-positive value on a log axis).</summary>
        public double Map(double v) => !Log ? v : v > 0 ? Math.Log10(v) : double.NaN;
    }

    /// <summary>
    /// Logarithmic tick labels: ScottPlot 5 draws log axes as log10 of the data; this sets major ticks at
    /// 1-2-5 steps (decades only when the range spans more than three) and minor ticks at every integer
    /// multiple, labelled with the real values.
    /// </summary>
    public static void LogTicks(IAxis axis, IEnumerable<double> values)
    {
        var positive = values.Where(v => v > 0 && double.IsFinite(v)).ToArray();
        if (positive.Length == 0) return;
        var lo = Math.Floor(Math.Log10(positive.Min()));
        var hi = Math.Ceiling(Math.Log10(positive.Max()));
        if (hi <= lo) hi = lo + 1;
        var steps = hi - lo > 3 ? new[] { 1.0 } : new[] { 1.0, 2, 5 };
        var ticks = new NumericManual();
        for (var e = lo; e <= hi; e++)
            for (var m = 1; m <= 9; m++)
            {
                var v = m * Math.Pow(10, e);
                if (steps.Contains(m)) ticks.AddMajor(Math.Log10(v), Fmt.Inv(v));
                else ticks.AddMinor(Math.Log10(v));
            }
        axis.TickGenerator = ticks;
    }

    /// <summary>
    /// The empirical CDF of <paramref name="values"/> as a step line: F(x) = share of values at or below x.
    /// Values that the scale cannot show (non-positive on a log axis) still count in the shares.
    /// </summary>
    public static Scatter Cdf(Plot plot, IReadOnlyList<double> values, Scale x, Color? color = null) =>
        CdfOfSorted(plot, Percentiles.SortedFinite(values), x, color);

    /// <summary>The <see cref="Cdf"/> of values already sorted by <see cref="Percentiles.SortedFinite"/> (a caller that also needs their percentiles sorts once).</summary>
    public static Scatter CdfOfSorted(Plot plot, double[] sorted, Scale x, Color? color = null)
    {
        var xs = new List<double>();
        var ys = new List<double>();
        var n = sorted.Length;
        if (n > 0)
        {
            xs.Add(x.Map(sorted[0]));
            ys.Add(0);
            var points = Math.Min(n, MaxLinePoints);
            var last = -1;
            for (var k = 0; k < points; k++)
            {
                var i = points == n ? k : (int)Math.Round(k * (n - 1.0) / Math.Max(1, points - 1));
                if (i <= last) continue;
                while (i + 1 < n && sorted[i + 1] == sorted[i]) i++; // a tie's step reaches its full share
                xs.Add(x.Map(sorted[i]));
                ys.Add((i + 1.0) / n);
                last = i;
            }
        }
        var keep = Enumerable.Range(0, xs.Count).Where(i => double.IsFinite(xs[i])).ToList();
        var s = plot.Add.ScatterLine(keep.Select(i => xs[i]).ToArray(), keep.Select(i => ys[i]).ToArray(), color);
        s.ConnectStyle = ConnectStyle.StepHorizontal;
        s.LineWidth = 2;
        return s;
    }

    /// <summary>
    /// Stacked bars: one <see cref="BarPlot"/> per layer (one legend entry each), every bar starting where the
    /// layer below ended. Non-finite values stack as zero.
    /// </summary>
    public static List<BarPlot> StackedBars(Plot plot, IReadOnlyList<double> positions, IEnumerable<(string Label, double[] Values, Color? Color)> layers)
    {
        var bottom = new double[positions.Count];
        var result = new List<BarPlot>();
        var index = 0;
        foreach (var (label, values, color) in layers)
        {
            var c = color ?? Colors.Category10[index % Colors.Category10.Length];
            index++;
            var bars = new List<Bar>();
            for (var i = 0; i < positions.Count; i++)
            {
                var v = i < values.Length && double.IsFinite(values[i]) ? values[i] : 0;
                bars.Add(new Bar { Position = positions[i], ValueBase = bottom[i], Value = bottom[i] + v, FillColor = c, LineWidth = 0 });
                bottom[i] += v;
            }
            var bp = plot.Add.Bars(bars);
            bp.LegendText = label;
            bp.Color = c;
            result.Add(bp);
        }
        return result;
    }

    /// <summary>
    /// The legend in a panel right of the data area, where it covers nothing; only when some plottable has legend
    /// text (ScottPlot 5.1.59 draws a blank image for an edge legend with no items).
    /// </summary>
    public static void LegendOutsideRight(Plot plot)
    {
        if (plot.Legend.GetItems().Length > 0) plot.ShowLegend(Edge.Right);
    }

    /// <summary>Category tick labels on the bottom axis, tilted when they would collide.</summary>
    public static void CategoryTicks(Plot plot, IReadOnlyList<double> positions, IReadOnlyList<string> labels)
    {
        plot.Axes.Bottom.SetTicks(positions.ToArray(), labels.ToArray());
        // About 7 px per character at the tick font size, and some 600 px of data area to share.
        var longest = labels.Count == 0 ? 0 : labels.Max(l => l.Length);
        if (longest * 7.0 > 560.0 / Math.Max(1, labels.Count))
        {
            plot.Axes.Bottom.TickLabelStyle.Rotation = 30;
            plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
            plot.Axes.Bottom.MinimumSize = Math.Min(170, 24 + 4.2f * longest);
        }
    }

    /// <summary>
    /// Renumbers the element ids of one SVG document (Skia's SVG canvas names clip paths "cl_" plus a counter that runs
    /// across the whole process) in order of first appearance, so the same chart always writes the same bytes.
    /// </summary>
    public static string NumberSvgIds(string svg)
    {
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        return SvgId.Replace(svg, m =>
        {
            if (!ids.TryGetValue(m.Value, out var id)) ids[m.Value] = id = "clip" + ids.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return id;
        });
    }

    private static readonly System.Text.RegularExpressions.Regex SvgId = new(@"(?<=id=""|url\(#)cl_[0-9A-Za-z]+", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    /// <summary>
    /// A line's min/max envelope: the x range split into <paramref name="columns"/> equal columns, and of the points in
    /// each column only the lowest and the highest kept (in their order along the line), plus the first and last point.
    /// A series of at most two points per column, or with a non-finite value, comes back as it is. <paramref name="xs"/>
    /// must be ascending.
    /// </summary>
    // Implementation note: a day of one-second samples is 86,400 points per replica across some 700 pixels, and Skia
    // strokes (and the SVG writes) every segment. Within one column the line covers the span from the column's lowest
    // to its highest value whatever the order of the points between; keeping those two draws that same vertical span
    // at the same place, so the picture differs only inside a column (narrower than one SVG pixel when columns is the
    // chart width), never in its extremes.
    public static (double[] Xs, double[] Ys) Envelope(double[] xs, double[] ys, int columns)
    {
        var n = xs.Length;
        if (columns < 1 || n <= 2 * columns || n != ys.Length) return (xs, ys);
        for (var i = 0; i < n; i++)
            if (!double.IsFinite(xs[i]) || !double.IsFinite(ys[i])) return (xs, ys);
        double lo = xs[0], width = xs[n - 1] - xs[0];
        if (!(width > 0)) return (xs, ys);
        int Column(double x) => Math.Min(columns - 1, (int)((x - lo) / width * columns));
        var keep = new List<int>(2 * columns + 2) { 0 };
        for (var i = 0; i < n;)
        {
            var column = Column(xs[i]);
            int min = i, max = i, j = i;
            for (; j < n && Column(xs[j]) == column; j++)
            {
                if (ys[j] < ys[min]) min = j;
                if (ys[j] > ys[max]) max = j;
            }
            foreach (var k in min <= max ? [min, max] : new[] { max, min })
                if (k > keep[^1]) keep.Add(k);
            i = j;
        }
        if (keep[^1] != n - 1) keep.Add(n - 1);
        return (keep.Select(k => xs[k]).ToArray(), keep.Select(k => ys[k]).ToArray());
    }

    /// <summary>
    /// Indices of the points to draw of a scatter: the x and y ranges split into a <paramref name="columns"/> x
    /// <paramref name="rows"/> grid, and of each cell that holds points the first one kept, plus the first point of the
    /// lowest and of the highest y; in input order. At most <paramref name="columns"/> points (or values that are not
    /// finite) come back all. Every value must be finite to be thinned.
    /// </summary>
    // Implementation note: a fault run of 270,000 requests drew as many markers (some 20 MB of SVG) on 860 x 460 pixels.
    // With the chart's size as the grid a cell is smaller than one SVG pixel (the data area is smaller than the chart), so
    // the points dropped lie within a pixel of one kept, under its marker: every place a point was drawn still has one,
    // and the extremes (the worst TTFT after a failure) are the points themselves.
    public static int[] OnePerCell(double[] xs, double[] ys, int columns, int rows)
    {
        var n = xs.Length;
        var all = Enumerable.Range(0, n).ToArray();
        if (columns < 1 || rows < 1 || n <= columns || n != ys.Length) return all;
        for (var i = 0; i < n; i++)
            if (!double.IsFinite(xs[i]) || !double.IsFinite(ys[i])) return all;
        double xLo = xs.Min(), xWidth = xs.Max() - xLo, yLo = ys.Min(), yHeight = ys.Max() - yLo;
        static int Cell(double v, double lo, double width, int cells) => width > 0 ? Math.Min(cells - 1, (int)((v - lo) / width * cells)) : 0;
        int low = 0, high = 0;
        for (var i = 1; i < n; i++)
        {
            if (ys[i] < ys[low]) low = i;
            if (ys[i] > ys[high]) high = i;
        }
        var seen = new HashSet<long>();
        var keep = new List<int>();
        for (var i = 0; i < n; i++)
            if (seen.Add((long)Cell(xs[i], xLo, xWidth, columns) * rows + Cell(ys[i], yLo, yHeight, rows)) || i == low || i == high)
                keep.Add(i);
        return keep.ToArray();
    }

    /// <summary>A line through time-ordered samples, drawn from its <see cref="Envelope"/> over <paramref name="columns"/> columns.</summary>
    public static Scatter Line(Plot plot, double[] xs, double[] ys, int columns, Color? color = null)
    {
        var (x, y) = Envelope(xs, ys, columns);
        return plot.Add.ScatterLine(x, y, color);
    }

    /// <summary>
    /// The plot as PNG bytes: ScottPlot's own raster (an RGBA surface of <paramref name="width"/> x <paramref name="height"/>,
    /// as <c>Plot.GetImageBytes</c> draws it), encoded with the "up" row filter only.
    /// </summary>
    // Implementation note: Skia's PNG encoder tries all five row filters on every row by default (zlib level 6), which
    // took most of a chart's time: 106 ms of CPU to encode a 1720 x 920 chart of two 1,700-point lines that takes 37 ms
    // to draw. Charts are flat colour areas and horizontal lines, so "up" (each row as its difference to the row above)
    // compresses them about as well: 34 ms at level 6 (97 KB against 98 KB), 15 ms at level 3, the fast deflate without
    // lazy matching (124 KB). Level 3 is the choice: a report's PNGs grow by about a quarter (they are linked, not embedded:
    // report.html carries the SVGs) for some 0.2 s less CPU per report. PNG is lossless: the pixels are those of
    // GetImageBytes (ChartModelTests checks it), only the compressed bytes differ.
    public static byte[] Png(Plot plot, int width, int height)
    {
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var surface = SKSurface.Create(info) ?? throw new InvalidOperationException($"cannot create a {width} x {height} chart surface");
        plot.Render(surface.Canvas, width, height);
        using var pixels = surface.PeekPixels();
        return EncodePng(pixels);
    }

    /// <summary>
    /// A raster's pixels as PNG bytes ("up" filter, zlib level 3): RGB when every pixel is opaque (a chart on its white
    /// figure background), else RGBA.
    /// </summary>
    // Implementation note: Skia writes a premultiplied RGBA raster as an RGBA PNG, un-premultiplying every row on the way;
    // a chart has no transparent pixel, and the same memory read as an opaque raster is written as RGB: a quarter less
    // data to filter and deflate (the Azure run's twelve PNGs 1.23 -> 1.08 MB) and the same pixels once decoded
    // (ChartModelTests decodes both). Checking the alpha bytes costs about a millisecond of a 1720 x 920 chart's 25.
    internal static byte[] EncodePng(SKPixmap pixels)
    {
        if (AllOpaque(pixels))
        {
            using var opaque = new SKPixmap(pixels.Info.WithAlphaType(SKAlphaType.Opaque), pixels.GetPixels(), pixels.RowBytes);
            using var rgb = opaque.Encode(PngEncoding) ?? throw new InvalidOperationException("the PNG encoder failed");
            return rgb.ToArray();
        }
        using var data = pixels.Encode(PngEncoding) ?? throw new InvalidOperationException("the PNG encoder failed");
        return data.ToArray();
    }

    /// <summary>Whether every pixel of an RGBA or BGRA raster of 8 bits per channel has alpha 255.</summary>
    private static bool AllOpaque(SKPixmap pixels)
    {
        if (pixels.ColorType is not (SKColorType.Rgba8888 or SKColorType.Bgra8888) || pixels.RowBytes != pixels.Width * 4L) return false;
        // Little-endian 32-bit pixels: the alpha byte is the top one of each.
        var words = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(pixels.GetPixelSpan());
        var any = 0xFF000000u;
        foreach (var w in words) any &= w;
        return BitConverter.IsLittleEndian && (any & 0xFF000000u) == 0xFF000000u;
    }

    /// <summary>
    /// The plot as PNG bytes at <paramref name="pngScale"/> times <paramref name="width"/> x <paramref name="height"/> (as
    /// <see cref="Png"/> with <c>Plot.ScaleFactor</c> set to the scale draws it) and as SVG text of <paramref name="width"/> x
    /// <paramref name="height"/> (as <c>Plot.GetSvgXml</c> writes it, before <see cref="NumberSvgIds"/>), from one ScottPlot
    /// render recorded as a Skia picture and played back onto the PNG's raster and the SVG canvas.
    /// </summary>
    // Implementation note: ScottPlot lays a plot out and issues its drawing calls on every render, and renders twice the
    // first time (once more when the first render moved the axis limits); the report drew each chart three times (twice
    // onto the 2x raster, once onto the SVG canvas). Here it is laid out once on a canvas that draws nothing, drawn once
    // into a picture, and the picture is played back on both canvases: the raster is drawn once, the layout work is not
    // repeated. ScottPlot's ScaleFactor is a scale of the canvas over the same layout, so playing the 1x picture back on
    // a canvas scaled by pngScale issues the calls the 2x render issued: the same pixels and the same SVG bytes
    // (ChartModelTests.Images_AreThePixelsAndTheSvgOfScottPlotsOwnRenders).
    public static (byte[] Png, string Svg) Images(Plot plot, int width, int height, int pngScale)
    {
        plot.ScaleFactor = 1;
        using (var layout = new SKNoDrawCanvas(width, height)) plot.Render(layout, width, height);
        using var recorder = new SKPictureRecorder();
        var canvas = recorder.BeginRecording(new SKRect(0, 0, width, height));
        // As GetSvgXml: no clear, which the raster does not need either (the figure's background fills it first).
        var clear = plot.RenderManager.ClearCanvasBeforeEachRender;
        plot.RenderManager.ClearCanvasBeforeEachRender = false;
        try
        {
            plot.Render(canvas, width, height);
        }
        finally
        {
            plot.RenderManager.ClearCanvasBeforeEachRender = clear;
        }
        using var picture = recorder.EndRecording();

        var info = new SKImageInfo(width * pngScale, height * pngScale, SKColorType.Rgba8888, SKAlphaType.Premul);
        byte[] png;
        using (var surface = SKSurface.Create(info) ?? throw new InvalidOperationException($"cannot create a {info.Width} x {info.Height} chart surface"))
        {
            surface.Canvas.Scale(pngScale);
            surface.Canvas.DrawPicture(picture);
            using var pixels = surface.PeekPixels();
            png = EncodePng(pixels);
        }
        using var stream = new MemoryStream();
        using (var svgCanvas = SKSvgCanvas.Create(new SKRect(0, 0, width, height), stream)) svgCanvas.DrawPicture(picture);
        return (png, System.Text.Encoding.UTF8.GetString(stream.ToArray()));
    }

    private static readonly SKPngEncoderOptions PngEncoding = new(SKPngEncoderFilterFlags.Up, 3);

    /// <summary>Bars grow from zero: the value axis starts at 0 (no margin below) with room above the tallest bar.</summary>
    public static void BarsFromZero(Plot plot)
    {
        var top = plot.GetPlottables<BarPlot>().SelectMany(b => b.Bars).Select(b => Math.Max(b.Value, b.ValueBase))
            .Concat(plot.GetPlottables<HorizontalLine>().Select(l => l.Y)).Where(double.IsFinite).DefaultIfEmpty(0).Max();
        plot.Axes.SetLimitsY(0, top > 0 ? top * 1.08 : 1);
    }
}

/// <summary>
/// A Gantt timeline on ScottPlot bars: one row per lane (top to bottom in the order added), spans coloured
/// by category, one legend entry per category. ScottPlot 5 has horizontal bars with a base value but no
/// Gantt plottable; this lays the spans out as such bars.
/// </summary>
internal sealed class Gantt
{
    private readonly List<string> _rows = new();
    private readonly List<(string Category, Color Color)> _categories = new();
    private readonly Dictionary<string, List<Bar>> _spans = new(StringComparer.Ordinal);

    /// <summary>Row labels, top to bottom.</summary>
    public IReadOnlyList<string> Rows => _rows;

    /// <summary>Declares a category and its colour; categories appear in the legend in this order.</summary>
    public void Category(string name, Color color)
    {
        _categories.Add((name, color));
        _spans[name] = new List<Bar>();
    }

    /// <summary>Adds a span from <paramref name="start"/> to <paramref name="end"/> on a row (created on first use); empty spans are dropped.</summary>
    public void Span(string row, double start, double end, string category)
    {
        if (!(end > start)) return;
        var i = _rows.IndexOf(row);
        if (i < 0) { _rows.Add(row); i = _rows.Count - 1; }
        var color = _categories.First(c => c.Category == category).Color;
        _spans[category].Add(new Bar
        {
            Position = i, ValueBase = start, Value = end, Size = 0.8, FillColor = color, LineWidth = 0,
            Orientation = Orientation.Horizontal,
        });
    }

    /// <summary>Adds the bars and row labels to the plot; the first row is at the top.</summary>
    public void AddTo(Plot plot)
    {
        foreach (var (category, color) in _categories)
        {
            var spans = _spans[category];
            if (spans.Count == 0) continue;
            var bp = plot.Add.Bars(spans);
            bp.Horizontal = true;
            bp.LegendText = category;
            bp.Color = color;
        }
        plot.Axes.Left.SetTicks(Enumerable.Range(0, _rows.Count).Select(i => (double)i).ToArray(), _rows.ToArray());
        plot.Axes.SetLimitsY(_rows.Count - 0.5, -0.5);
    }
}
