using System.Globalization;

namespace Simulator.Charts;

/// <summary>An opaque sRGB colour, written to SVG as <c>#rrggbb</c>.</summary>
public readonly record struct Color(byte R, byte G, byte B)
{
    /// <summary>Parses <c>#rrggbb</c> or <c>rrggbb</c>.</summary>
    public static Color FromHex(string hex)
    {
        ArgumentNullException.ThrowIfNull(hex);
        var s = hex.StartsWith('#') ? hex[1..] : hex;
        if (s.Length != 6 || !int.TryParse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var v))
            throw new FormatException($"colour '{hex}' is not #rrggbb");
        return new Color((byte)(v >> 16), (byte)((v >> 8) & 0xff), (byte)(v & 0xff));
    }

    /// <summary>The colour as lower-case <c>#rrggbb</c>.</summary>
    public string ToHex() => string.Create(CultureInfo.InvariantCulture, $"#{R:x2}{G:x2}{B:x2}");

    /// <summary>Linear interpolation between two colours; <paramref name="t"/> is clamped to [0, 1].</summary>
    public static Color Lerp(Color a, Color b, double t)
    {
        t = double.IsNaN(t) ? 0 : Math.Clamp(t, 0, 1);
        static byte Mix(byte x, byte y, double t) => (byte)Math.Round(x + (y - x) * t, MidpointRounding.AwayFromZero);
        return new Color(Mix(a.R, b.R, t), Mix(a.G, b.G, t), Mix(a.B, b.B, t));
    }

    /// <summary>This colour mixed with white by <paramref name="fraction"/> (0 = unchanged, 1 = white).</summary>
    public Color Lighten(double fraction) => Lerp(this, Colors.White, fraction);

    /// <inheritdoc />
    public override string ToString() => ToHex();
}

/// <summary>Named colours used by the chart writer.</summary>
public static class Colors
{
    public static readonly Color Black = new(0, 0, 0);
    public static readonly Color White = new(255, 255, 255);
    public static readonly Color Gray = new(127, 127, 127);
    public static readonly Color LightGray = new(211, 211, 211);
    public static readonly Color DarkGray = new(68, 68, 68);
    public static readonly Color Red = new(214, 39, 40);
    public static readonly Color Green = new(44, 160, 44);
    public static readonly Color Blue = new(31, 119, 180);
    public static readonly Color Orange = new(255, 127, 14);
}

/// <summary>A cycling list of series colours (the default is matplotlib's / ScottPlot's Category10).</summary>
public sealed class Palette
{
    private readonly Color[] _colors;

    /// <summary>Creates a palette from one or more colours.</summary>
    public Palette(IEnumerable<Color> colors)
    {
        _colors = colors.ToArray();
        if (_colors.Length == 0) throw new ArgumentException("a palette needs at least one colour", nameof(colors));
    }

    /// <summary>The ten Category10 colours (d3 / matplotlib "tab10").</summary>
    public static Palette Category10 { get; } = new(new[]
    {
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
        "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    }.Select(Color.FromHex));

    /// <summary>Number of distinct colours before the cycle repeats.</summary>
    public int Count => _colors.Length;

    /// <summary>The colour for series number <paramref name="index"/> (cycles).</summary>
    public Color GetColor(int index) => _colors[((index % _colors.Length) + _colors.Length) % _colors.Length];
}

/// <summary>A continuous colour scale for heatmaps: maps [0, 1] to a colour.</summary>
public sealed class Colormap
{
    private readonly Color[] _stops;

    /// <summary>Creates a colour map that interpolates linearly between evenly spaced stops.</summary>
    public Colormap(IEnumerable<Color> stops)
    {
        _stops = stops.ToArray();
        if (_stops.Length < 2) throw new ArgumentException("a colour map needs at least two stops", nameof(stops));
    }

    /// <summary>An approximation of matplotlib's perceptually uniform "viridis" (9 stops).</summary>
    public static Colormap Viridis { get; } = new(new[]
    {
        "#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962", "#addc30", "#fde725",
    }.Select(Color.FromHex));

    /// <summary>White to dark blue, for counts.</summary>
    public static Colormap Blues { get; } = new(new[] { "#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b" }.Select(Color.FromHex));

    /// <summary>The colour at fraction <paramref name="t"/> of the scale (clamped to [0, 1]).</summary>
    public Color At(double t)
    {
        t = double.IsNaN(t) ? 0 : Math.Clamp(t, 0, 1);
        var pos = t * (_stops.Length - 1);
        var i = Math.Min((int)Math.Floor(pos), _stops.Length - 2);
        return Color.Lerp(_stops[i], _stops[i + 1], pos - i);
    }
}
