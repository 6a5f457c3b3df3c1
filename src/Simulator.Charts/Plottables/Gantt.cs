namespace Simulator.Charts;

/// <summary>One [start, end) bar of a Gantt row.</summary>
public readonly record struct Span(string Row, double Start, double End, string Category);

/// <summary>
/// Horizontal spans on labelled rows (a Gantt timeline): each row is a lane (e.g. a replica's stage),
/// each span an interval coloured by its category (compute, communication, idle...).
/// The first row added is drawn at the top.
/// </summary>
public sealed class Gantt : Plottable
{
    private readonly List<string> _rows = new();
    private readonly Dictionary<string, int> _rowIndex = new(StringComparer.Ordinal);
    private readonly List<Span> _spans = new();
    private readonly List<string> _categories = new();
    private readonly Dictionary<string, Color> _categoryColors = new(StringComparer.Ordinal);
    private readonly Palette _palette;

    internal Gantt(Palette palette) => _palette = palette;

    /// <summary>Row labels, top to bottom.</summary>
    public IReadOnlyList<string> Rows => _rows;

    /// <summary>All spans in the order added.</summary>
    public IReadOnlyList<Span> Spans => _spans;

    /// <summary>Categories in the order first seen (the legend order).</summary>
    public IReadOnlyList<string> Categories => _categories;

    /// <summary>Bar thickness as a fraction of the row pitch.</summary>
    public double RowHeight { get; set; } = 0.7;

    /// <summary>Adds a row (rows are also added by <see cref="AddSpan"/> on first use).</summary>
    public void AddRow(string row)
    {
        if (_rowIndex.ContainsKey(row)) return;
        _rowIndex[row] = _rows.Count;
        _rows.Add(row);
    }

    /// <summary>Fixes a category's colour (else the palette assigns one in order of first use).</summary>
    public void SetCategoryColor(string category, Color color)
    {
        AddCategory(category);
        _categoryColors[category] = color;
    }

    /// <summary>Adds the interval [start, end) to a row; empty or non-finite intervals are ignored.</summary>
    public void AddSpan(string row, double start, double end, string category)
    {
        AddRow(row);
        AddCategory(category);
        if (!double.IsFinite(start) || !double.IsFinite(end) || end <= start) return;
        _spans.Add(new Span(row, start, end, category));
    }

    private void AddCategory(string category)
    {
        if (_categoryColors.ContainsKey(category)) return;
        _categoryColors[category] = _palette.GetColor(_categories.Count);
        _categories.Add(category);
    }

    /// <summary>The vertical centre of a row in data units (row 0 at the top).</summary>
    public double RowY(string row) => _rows.Count - 1 - _rowIndex[row];

    internal override Bounds GetBounds(Axis x, Axis y)
    {
        if (_rows.Count == 0) return Bounds.Empty;
        var xb = Bounds.Of(_spans.SelectMany(s => new[] { (x.Transform(s.Start), 0.0), (x.Transform(s.End), 0.0) }));
        return new Bounds(xb.XMin, xb.XMax, -0.5, _rows.Count - 0.5, false, false);
    }

    private (double X1, double Y1, double X2, double Y2) Rect(RenderContext ctx, Span s)
    {
        var yc = RowY(s.Row);
        return (ctx.ClampX(ctx.Px(s.Start)), ctx.PyU(yc + RowHeight / 2), ctx.ClampX(ctx.Px(s.End)), ctx.PyU(yc - RowHeight / 2));
    }

    internal override void Render(RenderContext ctx, SvgBuilder svg)
    {
        foreach (var s in _spans)
        {
            var (x1, y1, x2, y2) = Rect(ctx, s);
            if (!double.IsFinite(x1 + x2) || x2 < ctx.Left || x1 > ctx.Right) continue;
            svg.Rect(x1, y1, Math.Max(0.5, x2 - x1), y2 - y1, _categoryColors[s.Category]);
        }
    }

    internal override void MarkOccupancy(RenderContext ctx, Occupancy grid)
    {
        foreach (var s in _spans)
        {
            var (x1, y1, x2, y2) = Rect(ctx, s);
            grid.MarkRect(x1, y1, x2, y2);
        }
    }

    internal override IEnumerable<LegendItem> GetLegendItems() =>
        _categories.Select(c => new LegendItem(c, _categoryColors[c], false, false, true));

    internal override IReadOnlyList<Tick>? DefaultLeftTicks =>
        _rows.Select(r => new Tick(RowY(r), r)).OrderBy(t => t.Position).ToList();
}
