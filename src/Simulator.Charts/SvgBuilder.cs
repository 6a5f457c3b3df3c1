using System.Globalization;
using System.Text;

namespace Simulator.Charts;

/// <summary>
/// Writes SVG elements with fixed rounding (two decimals, invariant culture) so that the same plot
/// renders to the same bytes on every machine.
/// </summary>
internal sealed class SvgBuilder
{
    private readonly StringBuilder _sb = new();

    /// <summary>A coordinate or length rounded to 0.01 px, without trailing zeros and without "-0".</summary>
    public static string N(double v)
    {
        if (double.IsNaN(v) || double.IsInfinity(v)) return "0";
        var r = Math.Round(v, 2, MidpointRounding.AwayFromZero);
        if (r == 0) r = 0; // normalises -0
        return r.ToString("0.##", CultureInfo.InvariantCulture);
    }

    /// <summary>Escapes text for XML content and attribute values.</summary>
    public static string Esc(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            switch (c)
            {
                case '&': sb.Append("&amp;"); break;
                case '<': sb.Append("&lt;"); break;
                case '>': sb.Append("&gt;"); break;
                case '"': sb.Append("&quot;"); break;
                case '\'': sb.Append("&apos;"); break;
                default:
                    // Control characters other than tab / newline are not allowed in XML 1.0.
                    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') sb.Append(' ');
                    else sb.Append(c);
                    break;
            }
        }
        return sb.ToString();
    }

    public SvgBuilder Raw(string s) { _sb.Append(s); return this; }

    public SvgBuilder Line(string s) { _sb.Append(s).Append('\n'); return this; }

    public void Rect(double x, double y, double w, double h, Color fill, string extra = "")
    {
        _sb.Append("<rect x=\"").Append(N(x)).Append("\" y=\"").Append(N(y))
           .Append("\" width=\"").Append(N(Math.Max(0, w))).Append("\" height=\"").Append(N(Math.Max(0, h)))
           .Append("\" fill=\"").Append(fill.ToHex()).Append('"');
        if (extra.Length > 0) _sb.Append(' ').Append(extra);
        _sb.Append("/>\n");
    }

    public void LineSeg(double x1, double y1, double x2, double y2, Color stroke, double width, string extra = "")
    {
        _sb.Append("<line x1=\"").Append(N(x1)).Append("\" y1=\"").Append(N(y1))
           .Append("\" x2=\"").Append(N(x2)).Append("\" y2=\"").Append(N(y2))
           .Append("\" stroke=\"").Append(stroke.ToHex()).Append("\" stroke-width=\"").Append(N(width)).Append('"');
        if (extra.Length > 0) _sb.Append(' ').Append(extra);
        _sb.Append("/>\n");
    }

    /// <summary>A text element; <paramref name="anchor"/> is start, middle or end.</summary>
    public void Text(double x, double y, string text, double fontSize, string anchor = "start", Color? fill = null,
        string extra = "")
    {
        _sb.Append("<text x=\"").Append(N(x)).Append("\" y=\"").Append(N(y))
           .Append("\" font-size=\"").Append(N(fontSize)).Append('"');
        if (anchor != "start") _sb.Append(" text-anchor=\"").Append(anchor).Append('"');
        if (fill is { } f) _sb.Append(" fill=\"").Append(f.ToHex()).Append('"');
        if (extra.Length > 0) _sb.Append(' ').Append(extra);
        _sb.Append('>').Append(Esc(text)).Append("</text>\n");
    }

    public override string ToString() => _sb.ToString();
}

/// <summary>Estimates rendered text width without a font engine (sans-serif advance widths in em).</summary>
internal static class TextMeasure
{
    // Implementation note: widths are DejaVu Sans advances (the widest common fallback font),
    // so the layout leaves enough room whether the viewer has Arial, Helvetica or DejaVu.
    public static double Width(string text, double fontSize, bool bold = false)
    {
        double em = 0;
        foreach (var c in text) em += CharEm(c);
        return em * fontSize * (bold ? 1.08 : 1.0);
    }

    private static double CharEm(char c) => c switch
    {
        >= '0' and <= '9' => 0.64,
        ' ' => 0.32,
        '.' or ',' or ':' or ';' or '!' or '|' or '\'' => 0.32,
        'i' or 'j' or 'l' => 0.28,
        'f' or 't' or 'r' or 'I' or '(' or ')' or '[' or ']' or '/' or '-' => 0.4,
        'm' or 'w' => 0.92,
        'M' or 'W' => 0.95,
        >= 'a' and <= 'z' => 0.61,
        >= 'A' and <= 'Z' => 0.72,
        '%' or '@' or '&' => 0.95,
        '_' or '=' or '+' or '<' or '>' or '~' or '^' or '*' => 0.84,
        _ => 0.7,
    };
}
