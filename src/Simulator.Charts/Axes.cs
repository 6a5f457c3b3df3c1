namespace Simulator.Charts;

/// <summary>How data values map to positions along an axis.</summary>
public enum AxisScale
{
    /// <summary>Position proportional to the value.</summary>
    Linear,

    /// <summary>Position proportional to log10 of the value; values &lt;= 0 are not drawn.</summary>
    Log10,
}

/// <summary>One axis of a plot: scale, label, optional fixed limits and optional fixed ticks.</summary>
public sealed class Axis
{
    internal Axis() { }

    /// <summary>Linear (default) or log10.</summary>
    public AxisScale Scale { get; set; } = AxisScale.Linear;

    /// <summary>The axis title (e.g. "TTFT (ms)").</summary>
    public string Label { get; set; } = "";

    /// <summary>The fixed lower limit in data units, or null to fit the data.</summary>
    public double? Min { get; set; }

    /// <summary>The fixed upper limit in data units, or null to fit the data.</summary>
    public double? Max { get; set; }

    internal IReadOnlyList<Tick>? ManualTicks { get; private set; }

    /// <summary>Replaces the automatic ticks with labelled ones (for categories: bar groups, rows).</summary>
    public void SetTicks(IReadOnlyList<double> positions, IReadOnlyList<string> labels)
    {
        if (positions.Count != labels.Count) throw new ArgumentException("positions and labels differ in length");
        ManualTicks = positions.Select((p, i) => new Tick(p, labels[i])).ToList();
    }

    /// <summary>Returns to automatic 1-2-5 ticks.</summary>
    public void ClearTicks() => ManualTicks = null;

    /// <summary>Maps a data value to axis units (log10 on log axes; NaN where not drawable).</summary>
    internal double Transform(double v) => Scale == AxisScale.Log10 ? (v > 0 ? Math.Log10(v) : double.NaN) : v;
}

/// <summary>The plot's two axes (ScottPlot's <c>plot.Axes</c>).</summary>
public sealed class AxesManager
{
    internal AxesManager() { }

    /// <summary>The horizontal axis.</summary>
    public Axis Bottom { get; } = new();

    /// <summary>The vertical axis.</summary>
    public Axis Left { get; } = new();

    /// <summary>Fixes both axes' limits (data units).</summary>
    public void SetLimits(double left, double right, double bottom, double top)
    {
        SetLimitsX(left, right);
        SetLimitsY(bottom, top);
    }

    /// <summary>Fixes the horizontal limits (data units).</summary>
    public void SetLimitsX(double left, double right) { Bottom.Min = left; Bottom.Max = right; }

    /// <summary>Fixes the vertical limits (data units).</summary>
    public void SetLimitsY(double bottom, double top) { Left.Min = bottom; Left.Max = top; }

    /// <summary>Forgets fixed limits: both axes fit the data again.</summary>
    public void AutoScale() { Bottom.Min = Bottom.Max = Left.Min = Left.Max = null; }

    /// <summary>Switches the horizontal axis to log10.</summary>
    public void LogX() => Bottom.Scale = AxisScale.Log10;

    /// <summary>Switches the vertical axis to log10.</summary>
    public void LogY() => Left.Scale = AxisScale.Log10;
}

/// <summary>Where the legend goes.</summary>
public enum LegendPosition
{
    /// <summary>The inside corner that covers no data (upper right, upper left, lower right, lower left), else outside right.</summary>
    Auto,
    UpperRight,
    UpperLeft,
    LowerRight,
    LowerLeft,

    /// <summary>Beside the plot area, right of it.</summary>
    OutsideRight,
}
