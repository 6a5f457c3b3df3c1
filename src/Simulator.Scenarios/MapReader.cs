using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Simulator.Scenarios;

/// <summary>
/// Reads one YAML mapping of the scenario schema: typed getters with defaults and ranges record an error (with the
/// line) instead of throwing, and <see cref="Finish"/> reports every key that no getter asked for.
/// </summary>
internal sealed class MapReader
{
    private readonly ScenarioBinder _binder;
    private readonly List<(YamlScalarNode Key, YamlNode Value)> _entries = [];
    private readonly HashSet<string> _known = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _notApplicable = new(StringComparer.Ordinal);

    public MapReader(ScenarioBinder binder, YamlNode? node, string path, YamlNode? owner)
    {
        _binder = binder;
        Path = path;
        Owner = node ?? owner;
        if (node is YamlMappingNode map)
        {
            foreach (var (k, v) in map.Children)
            {
                if (k is YamlScalarNode ks) _entries.Add((ks, v));
                else binder.Error(k, path, "keys must be plain names");
            }
        }
        else if (node is not null && !ScenarioBinder.IsNull(node))
        {
            binder.Error(node, path, $"expected a mapping of keys, got {ScenarioBinder.Describe(node)}");
        }
    }

    /// <summary>The dotted path of this mapping ("" for the root).</summary>
    public string Path { get; }

    /// <summary>The node errors about missing keys point at.</summary>
    public YamlNode? Owner { get; }

    public string KeyPath(string key) => Path.Length == 0 ? key : Path + "." + key;

    /// <summary>The value of <paramref name="key"/> (null when absent); marks the key as known and records its line.</summary>
    public YamlNode? Node(string key)
    {
        _known.Add(key);
        foreach (var (k, v) in _entries)
        {
            if (k.Value == key)
            {
                _binder.Record(KeyPath(key), k);
                return v;
            }
        }
        return null;
    }

    public bool Has(string key) => _entries.Any(e => e.Key.Value == key);

    /// <summary>The key node of <paramref name="key"/> (for errors about the key itself), or the mapping when absent.</summary>
    public YamlNode? KeyNode(string key) => _entries.Where(e => e.Key.Value == key).Select(e => (YamlNode)e.Key).FirstOrDefault() ?? Owner;

    /// <summary>Declares <paramref name="key"/> valid only in another variant: if present, it is reported with <paramref name="why"/>.</summary>
    public void NotApplicable(string key, string why) => _notApplicable[key] = why;

    public void Missing(string key, string expected) => _binder.ErrorAtOwner(Owner, KeyPath(key), $"missing; expected {expected}");

    public int Int(string key, int fallback, int min, int max = int.MaxValue) => IntOrNull(key, min, max, required: false) ?? fallback;

    public int? IntOrNull(string key, int min, int max = int.MaxValue, bool required = false, bool nullable = false)
    {
        long? v = LongOrNull(key, min, max, required, nullable);
        return v is null ? null : (int)v.Value;
    }

    public long? LongOrNull(string key, long min, long max = long.MaxValue, bool required = false, bool nullable = true)
    {
        var node = Node(key);
        string expected = "an integer" + RangeText(min, max);
        if (node is null) { if (required) Missing(key, expected); return null; }
        if (!Scalar(node, key, expected, nullable, out var text)) return null;
        if (text is null) return null;
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v))
        {
            _binder.Error(node, KeyPath(key), $"expected {expected}, got '{text}'");
            return null;
        }
        if (v < min || v > max)
        {
            _binder.Error(node, KeyPath(key), $"{v} is out of range; expected {expected}");
            return null;
        }
        return v;
    }

    public double Double(string key, double fallback, double min, bool minExclusive = false, double max = double.PositiveInfinity) =>
        DoubleOrNull(key, min, minExclusive, max, nullable: false) ?? fallback;

    public double? DoubleOrNull(string key, double min, bool minExclusive = false, double max = double.PositiveInfinity, bool required = false, bool nullable = true)
    {
        var node = Node(key);
        string expected = "a number" + (minExclusive ? " > " : " >= ") + Num(min) + (double.IsPositiveInfinity(max) ? "" : " and <= " + Num(max));
        if (node is null) { if (required) Missing(key, expected); return null; }
        if (!Scalar(node, key, expected, nullable, out var text)) return null;
        if (text is null) return null;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
        {
            _binder.Error(node, KeyPath(key), $"expected {expected}, got '{text}'");
            return null;
        }
        if (v < min || (minExclusive && v == min) || v > max)
        {
            _binder.Error(node, KeyPath(key), $"{Num(v)} is out of range; expected {expected}");
            return null;
        }
        return v;
    }

    /// <summary><c>auto</c> (returned as 0) or an integer of at least <paramref name="min"/> (at least 1); <paramref name="fallback"/> when absent.</summary>
    public int AutoOrInt(string key, int fallback, int min)
    {
        var node = Node(key);
        string expected = "auto or an integer" + RangeText(min, int.MaxValue);
        if (node is null) return fallback;
        if (!Scalar(node, key, expected, nullable: false, out var text) || text is null) return fallback;
        if (text == "auto") return 0;
        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v) || v < min)
        {
            _binder.Error(node, KeyPath(key), $"expected {expected}, got '{text}'");
            return fallback;
        }
        return v;
    }

    public bool Bool(string key, bool fallback)
    {
        var node = Node(key);
        if (node is null) return fallback;
        if (!Scalar(node, key, "true or false", nullable: false, out var text) || text is null) return fallback;
        switch (text)
        {
            case "true" or "True" or "TRUE": return true;
            case "false" or "False" or "FALSE": return false;
            default:
                _binder.Error(node, KeyPath(key), $"expected true or false, got '{text}'");
                return fallback;
        }
    }

    public string String(string key, string fallback, bool required = false, string expected = "a string")
    {
        var node = Node(key);
        if (node is null) { if (required) Missing(key, expected); return fallback; }
        if (!Scalar(node, key, expected, nullable: false, out var text) || text is null) return fallback;
        return text;
    }

    /// <summary>One of <paramref name="allowed"/> (compared case-insensitively, returned as listed).</summary>
    public string Enum(string key, string fallback, IReadOnlyList<string> allowed) => EnumOrNull(key, fallback, allowed) ?? fallback;

    /// <summary>
    /// Like <see cref="Enum"/>, but null when the written value is not allowed (the error is recorded): a variant key
    /// (<c>dist</c>, <c>process</c>) that is wrong makes its siblings' checks meaningless (see <see cref="AcceptRest"/>).
    /// </summary>
    public string? EnumOrNull(string key, string fallback, IReadOnlyList<string> allowed)
    {
        var node = Node(key);
        string list = string.Join(" | ", allowed);
        if (node is null) return fallback;
        if (!Scalar(node, key, "one of " + list, nullable: false, out var text) || text is null) return null;
        var match = allowed.FirstOrDefault(a => string.Equals(a, text, StringComparison.OrdinalIgnoreCase));
        if (match is null)
        {
            string hint = Suggest.Closest(text, allowed) is string s ? $" (did you mean '{s}'?)" : "";
            _binder.Error(node, KeyPath(key), $"'{text}' is not allowed{hint}; expected one of {list}");
            return null;
        }
        return match;
    }

    /// <summary>Marks every key of the mapping as known, so <see cref="Finish"/> reports nothing more (one mistake, one error).</summary>
    public void AcceptRest()
    {
        foreach (var (k, _) in _entries) _known.Add(k.Value ?? "");
        _notApplicable.Clear();
    }

    /// <summary>A file path resolved against the scenario's folder; reports a missing file.</summary>
    public string? FilePath(string key, bool required, string what)
    {
        var node = Node(key);
        if (node is null) { if (required) Missing(key, "the path of " + what); return null; }
        if (!Scalar(node, key, "the path of " + what, nullable: false, out var text) || text is null) return null;
        string full = System.IO.Path.GetFullPath(System.IO.Path.Combine(_binder.BaseDirectory, text));
        if (!File.Exists(full))
        {
            _binder.Error(node, KeyPath(key), $"file not found: {full}; expected the path of {what} (relative paths resolve against the scenario file's folder)");
            return null;
        }
        return full;
    }

    private bool Scalar(YamlNode node, string key, string expected, bool nullable, out string? text)
    {
        text = null;
        if (node is not YamlScalarNode s)
        {
            _binder.Error(node, KeyPath(key), $"expected {expected}, got {ScenarioBinder.Describe(node)}");
            return false;
        }
        if (ScenarioBinder.IsNull(s))
        {
            if (nullable) return true;
            _binder.Error(node, KeyPath(key), $"expected {expected}, got null");
            return false;
        }
        text = s.Value ?? "";
        return true;
    }

    /// <summary>Reports every key no getter asked for, suggesting the closest known key.</summary>
    public void Finish()
    {
        foreach (var (k, _) in _entries)
        {
            string name = k.Value ?? "";
            if (_known.Contains(name)) continue;
            if (_notApplicable.TryGetValue(name, out var why))
            {
                _binder.Error(k, KeyPath(name), why);
                continue;
            }
            var known = _known.Concat(_notApplicable.Keys).Distinct().OrderBy(x => x, StringComparer.Ordinal).ToList();
            string hint = Suggest.Closest(name, known) is string s ? $"did you mean '{s}'? " : "";
            _binder.Error(k, KeyPath(name), $"unknown key; {hint}allowed: {string.Join(", ", known)}");
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (k, _) in _entries)
            if (!seen.Add(k.Value ?? "")) _binder.Error(k, KeyPath(k.Value ?? ""), "duplicate key; each key may appear once");
    }

    private static string RangeText(long min, long max) =>
        max == long.MaxValue || max == int.MaxValue ? $" >= {min}" : $" from {min} to {max}";

    internal static string Num(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>Closest-name suggestions for misspelt keys and values (Levenshtein distance).</summary>
internal static class Suggest
{
    /// <summary>The candidate closest to <paramref name="text"/> if it is near enough to be a likely typo.</summary>
    public static string? Closest(string text, IEnumerable<string> candidates)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var c in candidates)
        {
            int d = Distance(text.ToLowerInvariant(), c.ToLowerInvariant());
            if (d < bestDistance) { best = c; bestDistance = d; }
        }
        return best != null && bestDistance <= Math.Max(2, text.Length / 3) ? best : null;
    }

    public static int Distance(string a, string b)
    {
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) prev[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (int j = 1; j <= b.Length; j++)
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (prev, cur) = (cur, prev);
        }
        return prev[b.Length];
    }
}
