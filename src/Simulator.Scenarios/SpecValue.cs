using System.Globalization;

namespace Simulator.Scenarios;

/// <summary>
/// A YAML value kept as written, for the parts of a scenario whose schema belongs to another layer (inline GPU, link
/// and model specs) and for sweep values. Equality is structural.
/// </summary>
public abstract record SpecValue
{
    /// <summary>The value in YAML flow syntax (<c>4</c>, <c>[1, 2]</c>, <c>{memory_gb: 80}</c>).</summary>
    public abstract string ToFlowText();
}

/// <summary>A scalar as written (plain or quoted); <see cref="IsNull"/> for <c>null</c>, <c>~</c> or empty.</summary>
public sealed record SpecScalar(string Text, bool Quoted = false) : SpecValue
{
    /// <summary>True for YAML null (plain <c>null</c>, <c>~</c> or nothing).</summary>
    public bool IsNull => !Quoted && (Text.Length == 0 || Text is "~" or "null" or "Null" or "NULL");

    /// <summary>The value as a number, when it is one (invariant culture).</summary>
    public double? AsDouble() =>
        double.TryParse(Text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : null;

    /// <inheritdoc />
    public override string ToFlowText() => YamlText.Scalar(Text, Quoted);
}

/// <summary>A sequence of values.</summary>
public sealed record SpecList(IReadOnlyList<SpecValue> Items) : SpecValue
{
    /// <inheritdoc />
    public override string ToFlowText() => "[" + string.Join(", ", Items.Select(i => i.ToFlowText())) + "]";

    public bool Equals(SpecList? other) => other is not null && Items.SequenceEqual(other.Items);

    public override int GetHashCode() => Items.Aggregate(17, (h, i) => h * 31 + i.GetHashCode());
}

/// <summary>A mapping with its keys in file order.</summary>
public sealed record SpecMap(IReadOnlyList<KeyValuePair<string, SpecValue>> Entries) : SpecValue
{
    /// <summary>The value under <paramref name="key"/> (exact match), or null.</summary>
    public SpecValue? this[string key] => Entries.Where(e => e.Key == key).Select(e => e.Value).FirstOrDefault();

    /// <summary>A number under <paramref name="key"/>, or null when absent or not a number.</summary>
    public double? GetDouble(string key) => (this[key] as SpecScalar)?.AsDouble();

    /// <inheritdoc />
    public override string ToFlowText() => "{" + string.Join(", ", Entries.Select(e => YamlText.Scalar(e.Key, false) + ": " + e.Value.ToFlowText())) + "}";

    public bool Equals(SpecMap? other) => other is not null && Entries.SequenceEqual(other.Entries);

    public override int GetHashCode() => Entries.Aggregate(17, (h, e) => h * 31 + e.Key.GetHashCode(StringComparison.Ordinal) ^ e.Value.GetHashCode());
}

/// <summary>YAML scalar text: plain where that reads back as the same string, double-quoted otherwise.</summary>
internal static class YamlText
{
    /// <summary>Writes a scalar; <paramref name="quoted"/> forces quotes (a string that must stay a string).</summary>
    public static string Scalar(string text, bool quoted)
    {
        if (!quoted && IsPlainSafe(text)) return text;
        return Quote(text);
    }

    /// <summary>A string value: plain only if it cannot be mistaken for a number, bool or null.</summary>
    public static string String(string text) =>
        IsPlainSafe(text) && !LooksTyped(text) ? text : Quote(text);

    public static string Quote(string text)
    {
        var sb = new System.Text.StringBuilder("\"");
        foreach (char c in text)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\t': sb.Append("\\t"); break;
                case '\r': sb.Append("\\r"); break;
                default:
                    if (c < ' ') sb.Append("\\x").Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        return sb.Append('"').ToString();
    }

    private static bool IsPlainSafe(string text)
    {
        if (text.Length == 0) return false;
        if (!(char.IsLetterOrDigit(text[0]) || text[0] is '.' or '/' or '_' or '+')) return text[0] == '-' && text.Length > 1 && (char.IsDigit(text[1]) || text[1] == '.');
        foreach (char c in text)
            if (!(char.IsLetterOrDigit(c) || c is '.' or '/' or '_' or '-' or '+')) return false;
        return true;
    }

    private static bool LooksTyped(string text) =>
        text is "~" or "null" or "Null" or "NULL" or "true" or "True" or "TRUE" or "false" or "False" or "FALSE"
        || double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
        || text.StartsWith('.') && text.Length > 1 && text.Substring(1).ToLowerInvariant() is "inf" or "nan";
}
