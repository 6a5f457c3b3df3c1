using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Simulator.Scenarios;

/// <summary>
/// Loads scenario files: parses the YAML (keeping each key's line), applies <c>--set key.path=value</c> overrides,
/// validates everything before anything runs and throws one <see cref="ScenarioException"/> listing every problem.
/// Relative paths resolve against the scenario file's folder.
/// </summary>
public sealed class ScenarioLoader
{
    /// <summary>The file label of errors that come from command-line overrides.</summary>
    public const string SetSource = "--set";

    private readonly IPresetCatalog _catalog;

    /// <param name="catalog">Allowed preset names (null = <see cref="PresetCatalog.Empty"/>: names are not checked).</param>
    public ScenarioLoader(IPresetCatalog? catalog = null)
    {
        _catalog = catalog ?? PresetCatalog.Empty;
    }

    /// <summary>Loads and validates the scenario at <paramref name="path"/> (its sweep block is parsed, not expanded).</summary>
    public Scenario Load(string path, IReadOnlyList<string>? sets = null)
    {
        var doc = ReadFile(path);
        return Parse(doc, sets);
    }

    /// <summary>Loads and validates a scenario from text; <paramref name="fileLabel"/> names it in errors.</summary>
    public Scenario LoadText(string yaml, string fileLabel, string baseDirectory, IReadOnlyList<string>? sets = null) =>
        Parse(ReadText(yaml, fileLabel, baseDirectory), sets);

    /// <summary>
    /// Expands the scenario's sweep into its points (a scenario without a sweep gives one point with no labels).
    /// Every point is validated; the errors of all points are reported together.
    /// </summary>
    public IReadOnlyList<SweepPoint> LoadSweep(string path, IReadOnlyList<string>? sets = null) => Expand(ReadFile(path), sets);

    /// <summary><see cref="LoadSweep"/> from text.</summary>
    public IReadOnlyList<SweepPoint> LoadSweepText(string yaml, string fileLabel, string baseDirectory, IReadOnlyList<string>? sets = null) =>
        Expand(ReadText(yaml, fileLabel, baseDirectory), sets);

    private sealed class Document
    {
        public required string File { get; init; }
        public required string BaseDirectory { get; init; }
        public required string DefaultName { get; init; }
        public required YamlMappingNode Root { get; set; }
        public Dictionary<YamlNode, (string File, int Line)> Origins { get; } = new(ReferenceEqualityComparer.Instance);
        public List<ScenarioError> Errors { get; } = [];
    }

    private static Document ReadFile(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ScenarioException([new ScenarioError(path, 1, "file", $"cannot read the scenario ({ex.Message}); expected a readable YAML file")]);
        }
        string dir = Path.GetDirectoryName(Path.GetFullPath(path)) ?? Directory.GetCurrentDirectory();
        return ReadText(text, path, dir);
    }

    private static Document ReadText(string yaml, string fileLabel, string baseDirectory)
    {
        var stream = new YamlStream();
        // Implementation note: YamlDotNet throws InvalidOperationException (not YamlException) on some unclosed
        // flow collections and blames a tab on the line its block began; YamlSyntax finds the line the user must fix.
        try { stream.Load(new StringReader(yaml)); }
        catch (Exception ex) when (ex is YamlException or InvalidOperationException or ArgumentException)
        {
            throw new ScenarioException([YamlSyntax.Explain(yaml, fileLabel, ex)]);
        }
        string defaultName = Path.GetFileNameWithoutExtension(fileLabel);
        if (string.IsNullOrEmpty(defaultName)) defaultName = "scenario";
        if (stream.Documents.Count > 1)
        {
            int line = YamlSyntax.DocumentMarkerBefore(yaml, (int)stream.Documents[1].RootNode.Start.Line);
            throw new ScenarioException([new ScenarioError(fileLabel, line, "yaml",
                "a second YAML document starts here ('---'); expected one scenario per file (put the other one in its own file, or use sweep: to run variants)")]);
        }
        var root = stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode;
        if (root is not YamlMappingNode map)
        {
            if (root is null || ScenarioBinder.IsNull(root))
                throw new ScenarioException([new ScenarioError(fileLabel, 1, "scenario", "the file is empty; expected a mapping with at least model and workload")]);
            throw new ScenarioException([new ScenarioError(fileLabel, (int)root.Start.Line, "scenario", $"expected a mapping of keys at the top, got {ScenarioBinder.Describe(root)}")]);
        }
        var doc = new Document { File = fileLabel, BaseDirectory = baseDirectory, DefaultName = defaultName, Root = map };
        RegisterOrigins(doc.Origins, map, n => (fileLabel, (int)n.Start.Line));
        return doc;
    }

    internal static string StripMark(string message)
    {
        // YamlDotNet prefixes "(Line: 3, Col: 5, Idx: 20) - (Line: 3, Col: 9, Idx: 24): "
        int i = message.LastIndexOf("): ", StringComparison.Ordinal);
        return i >= 0 ? message[(i + 3)..] : message;
    }

    private static void RegisterOrigins(Dictionary<YamlNode, (string, int)> origins, YamlNode node, Func<YamlNode, (string, int)> at)
    {
        origins[node] = at(node);
        switch (node)
        {
            case YamlMappingNode m:
                foreach (var (k, v) in m.Children) { RegisterOrigins(origins, k, at); RegisterOrigins(origins, v, at); }
                break;
            case YamlSequenceNode s:
                foreach (var c in s.Children) RegisterOrigins(origins, c, at);
                break;
        }
    }

    private Scenario Parse(Document doc, IReadOnlyList<string>? sets)
    {
        ApplySets(doc, sets);
        var (sweep, _) = ParseSweep(doc);
        var binder = new ScenarioBinder(doc.Origins, doc.File, doc.BaseDirectory, _catalog);
        var scenario = binder.Bind(doc.Root, doc.DefaultName, sweep);
        var errors = doc.Errors.Concat(binder.Errors).ToList();
        if (errors.Count > 0 || scenario is null) throw new ScenarioException(Sort(errors, doc.File));
        return scenario;
    }

    private static List<ScenarioError> Sort(IEnumerable<ScenarioError> errors, string file) =>
        errors.Distinct().Select((e, i) => (e, i))
              .OrderBy(p => p.e.File == file ? 0 : 1).ThenBy(p => p.e.Line).ThenBy(p => p.i)
              .Select(p => p.e).ToList();

    // ---------------------------------------------------------------- overrides

    private static void ApplySets(Document doc, IReadOnlyList<string>? sets)
    {
        if (sets is null) return;
        for (int i = 0; i < sets.Count; i++)
        {
            int ordinal = i + 1;
            string arg = sets[i];
            int eq = arg.IndexOf('=');
            if (eq <= 0)
            {
                doc.Errors.Add(new ScenarioError(SetSource, ordinal, arg, "expected key.path=value (e.g. parallelism.microbatches=4)"));
                continue;
            }
            string key = arg[..eq].Trim();
            string valueText = arg[(eq + 1)..];
            YamlNode value;
            var s = new YamlStream();
            try
            {
                s.Load(new StringReader(valueText));
                value = s.Documents.Count == 0 ? new YamlScalarNode("") : s.Documents[0].RootNode;
            }
            catch (Exception ex) when (ex is YamlException or InvalidOperationException or ArgumentException)
            {
                doc.Errors.Add(new ScenarioError(SetSource, ordinal, key, $"value '{valueText}' is not valid YAML ({StripMark(ex.Message).TrimEnd('.')}); expected a scalar or a flow list/map"));
                continue;
            }
            if (s.Documents.Count > 1)
            {
                doc.Errors.Add(new ScenarioError(SetSource, ordinal, key, $"value '{valueText}' holds more than one YAML document; expected a scalar or a flow list/map"));
                continue;
            }
            RegisterOrigins(doc.Origins, value, _ => (SetSource, ordinal));
            string? problem = SetPath(doc.Root, key, value, doc.Origins, (SetSource, ordinal));
            if (problem != null) doc.Errors.Add(new ScenarioError(SetSource, ordinal, key, problem));
        }
    }

    /// <summary>Sets <paramref name="keyPath"/> in the tree, creating mappings on the way; returns a problem or null.</summary>
    private static string? SetPath(YamlMappingNode root, string keyPath, YamlNode value, Dictionary<YamlNode, (string, int)> origins, (string, int) origin)
    {
        // Sweep keys are themselves dotted paths: sweep.<key.path> and sweep.zip.<key.path> keep the rest whole.
        var parts = keyPath.StartsWith("sweep.zip.", StringComparison.Ordinal) ? ["sweep", "zip", keyPath["sweep.zip.".Length..]]
            : keyPath.StartsWith("sweep.", StringComparison.Ordinal) ? ["sweep", keyPath["sweep.".Length..]]
            : keyPath.Split('.');
        if (parts.Any(p => p.Length == 0)) return "empty key segment; expected key.path=value with names between the dots";
        var map = root;
        for (int i = 0; i < parts.Length - 1; i++)
        {
            var child = Find(map, parts[i]);
            if (child is null || ScenarioBinder.IsNull(child))
            {
                var created = new YamlMappingNode();
                origins[created] = origin;
                Put(map, parts[i], created, origins, origin);
                map = created;
            }
            else if (child is YamlMappingNode m) map = m;
            else return $"'{string.Join('.', parts[..(i + 1)])}' is {ScenarioBinder.Describe(child)}, not a mapping; set it as a whole instead";
        }
        Put(map, parts[^1], value, origins, origin);
        return null;
    }

    private static YamlNode? Find(YamlMappingNode map, string key) =>
        map.Children.Where(kv => kv.Key is YamlScalarNode s && s.Value == key).Select(kv => kv.Value).FirstOrDefault();

    private static void Put(YamlMappingNode map, string key, YamlNode value, Dictionary<YamlNode, (string, int)> origins, (string, int) origin)
    {
        var existing = map.Children.Keys.FirstOrDefault(k => k is YamlScalarNode s && s.Value == key);
        if (existing != null)
        {
            map.Children[existing] = value; // keeps the key's original line for locations
            return;
        }
        var keyNode = new YamlScalarNode(key);
        origins[keyNode] = origin;
        map.Children.Add(keyNode, value);
    }

    // ---------------------------------------------------------------- sweeps

    private sealed record AxisNodes(List<string> Keys, List<List<YamlNode>> Values, List<YamlNode> KeyNodes, bool IsZip);

    private static (SweepSpec Spec, List<AxisNodes> Axes) ParseSweep(Document doc)
    {
        var node = Find(doc.Root, "sweep");
        var axes = new List<AxisNodes>();
        if (node is null || ScenarioBinder.IsNull(node)) return (SweepSpec.None, axes);
        (string, int) Where(YamlNode n) => doc.Origins.TryGetValue(n, out var o) ? o : (doc.File, 1);
        void Error(YamlNode n, string key, string message)
        {
            var (f, l) = Where(n);
            doc.Errors.Add(new ScenarioError(f, l, key, message));
        }
        if (node is not YamlMappingNode map)
        {
            Error(node, "sweep", $"expected a mapping of key.path: [values] (and optionally zip: {{...}}), got {ScenarioBinder.Describe(node)}");
            return (SweepSpec.None, axes);
        }
        if (map.Children.Count == 0)
        {
            Error(node, "sweep", "is empty; expected at least one key.path: [values] (e.g. sweep: {parallelism.microbatches: [1, 2, 4]}), or no sweep: key");
            return (SweepSpec.None, axes);
        }
        var seenKeys = new HashSet<string>(StringComparer.Ordinal);
        List<YamlNode>? Values(YamlNode keyNode, string key, YamlNode v, string path)
        {
            if (key.StartsWith("sweep", StringComparison.Ordinal) || key.Length == 0)
            {
                Error(keyNode, path, "cannot be swept; expected the dotted path of a scenario key");
                return null;
            }
            if (!seenKeys.Add(key)) { Error(keyNode, path, "is swept twice; expected each key in one axis only"); return null; }
            if (v is not YamlSequenceNode seq || seq.Children.Count == 0)
            {
                Error(v, path, $"expected a non-empty list of values (e.g. [1, 2, 4]), got {ScenarioBinder.Describe(v)}");
                return null;
            }
            return seq.Children.ToList();
        }
        void ZipGroup(YamlNode group, string path)
        {
            if (group is not YamlMappingNode zmap || zmap.Children.Count == 0)
            {
                Error(group, path, $"expected a mapping of key.path: [values] advanced together, got {ScenarioBinder.Describe(group)}");
                return;
            }
            var axis = new AxisNodes([], [], [], true);
            foreach (var (k, v) in zmap.Children)
            {
                string key = ((YamlScalarNode)k).Value ?? "";
                var values = Values(k, key, v, "sweep.zip." + key);
                if (values is null) continue;
                if (axis.Values.Count > 0 && values.Count != axis.Values[0].Count)
                {
                    Error(v, "sweep.zip." + key, $"has {values.Count} values but '{axis.Keys[0]}' has {axis.Values[0].Count}; expected zip lists of equal length");
                    continue;
                }
                axis.Keys.Add(key);
                axis.Values.Add(values);
                axis.KeyNodes.Add(k);
            }
            if (axis.Keys.Count > 0) axes.Add(axis);
        }
        foreach (var (k, v) in map.Children)
        {
            string key = (k as YamlScalarNode)?.Value ?? "";
            if (key == "zip")
            {
                if (v is YamlSequenceNode groups) foreach (var g in groups.Children) ZipGroup(g, "sweep.zip");
                else ZipGroup(v, "sweep.zip");
                continue;
            }
            var values = Values(k, key, v, "sweep." + key);
            if (values != null) axes.Add(new AxisNodes([key], [values], [k], false));
        }
        var spec = new SweepSpec(axes.Select(a => new SweepAxis(
            a.Keys.ToArray(),
            a.Values.Select(vs => (IReadOnlyList<SpecValue>)vs.Select(ScenarioBinder.ToSpec).ToList()).ToList(),
            a.IsZip)).ToList());
        return (spec, axes);
    }

    private IReadOnlyList<SweepPoint> Expand(Document doc, IReadOnlyList<string>? sets)
    {
        ApplySets(doc, sets);
        var (_, axes) = ParseSweep(doc);
        if (doc.Errors.Count > 0) throw new ScenarioException(Sort(doc.Errors, doc.File));
        var points = new List<SweepPoint>();
        var errors = new List<ScenarioError>();
        var index = new int[axes.Count];
        int count = axes.Aggregate(1, (n, a) => checked(n * a.Values[0].Count));
        for (int p = 0; p < count; p++)
        {
            // mixed-radix counter: the last axis varies fastest
            int rest = p;
            for (int a = axes.Count - 1; a >= 0; a--)
            {
                int len = axes[a].Values[0].Count;
                index[a] = rest % len;
                rest /= len;
            }
            var origins = new Dictionary<YamlNode, (string File, int Line)>(doc.Origins, ReferenceEqualityComparer.Instance);
            var root = (YamlMappingNode)Clone(doc.Root, origins, skipKey: "sweep");
            var labels = new List<KeyValuePair<string, string>>();
            for (int a = 0; a < axes.Count; a++)
            {
                var axis = axes[a];
                for (int k = 0; k < axis.Keys.Count; k++)
                {
                    var value = axis.Values[k][index[a]];
                    var keyOrigin = origins.TryGetValue(axis.KeyNodes[k], out var o) ? o : (doc.File, 1);
                    string? problem = SetPath(root, axis.Keys[k], value, origins, keyOrigin);
                    if (problem != null) errors.Add(new ScenarioError(keyOrigin.Item1, keyOrigin.Item2, "sweep." + axis.Keys[k], problem));
                    labels.Add(new(axis.Keys[k], ScenarioBinder.ToSpec(value).ToFlowText()));
                }
            }
            var binder = new ScenarioBinder(origins, doc.File, doc.BaseDirectory, _catalog);
            var scenario = binder.Bind(root, doc.DefaultName, SweepSpec.None);
            errors.AddRange(binder.Errors);
            if (scenario != null) points.Add(new SweepPoint(p, scenario, labels));
        }
        if (errors.Count > 0) throw new ScenarioException(Sort(errors, doc.File));
        return points;
    }

    /// <summary>A deep copy of the mapping skeleton (scalars shared: they are never mutated), origins carried over.</summary>
    private static YamlNode Clone(YamlNode node, Dictionary<YamlNode, (string File, int Line)> origins, string? skipKey = null)
    {
        switch (node)
        {
            case YamlMappingNode m:
                var copy = new YamlMappingNode();
                if (origins.TryGetValue(m, out var at)) origins[copy] = at;
                foreach (var (k, v) in m.Children)
                {
                    if (skipKey != null && k is YamlScalarNode ks && ks.Value == skipKey) continue;
                    copy.Children.Add(k, Clone(v, origins));
                }
                return copy;
            default:
                return node; // sequences and scalars are replaced whole by overrides, never edited in place
        }
    }

    internal static string Invariant(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
