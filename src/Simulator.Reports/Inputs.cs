using System.Globalization;
using System.Text.Json;
using YamlDotNet.RepresentationModel;

namespace Simulator.Reports;

/// <summary>An input directory that is neither a run directory nor a sweep directory, or cannot be read.</summary>
public sealed class ReportInputException(string message) : Exception(message);

/// <summary>The latency objective a report checks: TTFT and TPOT at a percentile (either bound may be absent).</summary>
public sealed record Slo(double? TtftMs, double? TpotMs, double Percentile)
{
    /// <summary>Whether any bound is set.</summary>
    public bool IsSet => TtftMs is not null || TpotMs is not null;

    /// <summary>"p95" for percentile 95.</summary>
    public string PercentileName => "p" + Percentile.ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>A human sentence part, e.g. "TTFT p95 ≤ 2000 ms and TPOT p95 ≤ 200 ms".</summary>
    public string Describe()
    {
        var parts = new List<string>();
        if (TtftMs is { } t) parts.Add($"TTFT {PercentileName} ≤ {Fmt.Num(t)} ms");
        if (TpotMs is { } p) parts.Add($"TPOT {PercentileName} ≤ {Fmt.Num(p)} ms");
        return parts.Count == 0 ? "no SLO" : string.Join(" and ", parts);
    }
}

/// <summary>One simulated run directory (summary.json, CSVs, scenario.yaml); optional files are null when absent.</summary>
public sealed class RunData
{
    /// <summary>The directory.</summary>
    public required string Dir { get; init; }

    /// <summary>The directory as a report names it: <see cref="Dir"/>, or the folder it is published at when it is read unpublished.</summary>
    public string ShownDir { get => _shownDir ?? Dir; init => _shownDir = value; }

    private readonly string? _shownDir;

    /// <summary>The scenario name from summary.json, else the directory's (<see cref="ShownDir"/>) name.</summary>
    public required string Name { get; init; }

    /// <summary>summary.json flattened to dotted paths ("ttft_ms.p95" -> 812.5); numbers only.</summary>
    public required IReadOnlyDictionary<string, double> Summary { get; init; }

    /// <summary>scenario.yaml flattened to dotted paths ("parallelism.tensor_parallel_size" -> "4").</summary>
    public required IReadOnlyDictionary<string, string> Scenario { get; init; }

    /// <summary>requests (one row per request), through <see cref="RunTables.Open"/>.</summary>
    public RunTable? Requests { get; init; }

    /// <summary>iterations (one row per batch per stage), through <see cref="RunTables.Open"/>.</summary>
    public RunTable? Iterations { get; init; }

    /// <summary>gpus.csv (one row per GPU).</summary>
    public RunTable? Gpus { get; init; }

    /// <summary>links.csv (one row per link).</summary>
    public RunTable? Links { get; init; }

    /// <summary>timeseries (one row per interval per replica), through <see cref="RunTables.Open"/>.</summary>
    public RunTable? Timeseries { get; init; }

    /// <summary>itl_histogram.csv: log-spaced inter-token latency buckets (itl_ms_lo, itl_ms_hi, count), pooled over requests.</summary>
    public RunTable? ItlHistogram { get; init; }

    /// <summary>The SLO from summary.json's slo block, else scenario.yaml's slo block.</summary>
    public required Slo Slo { get; init; }

    /// <summary>A summary number, or null.</summary>
    public double? Get(string path) => Summary.TryGetValue(path, out var v) && double.IsFinite(v) ? v : null;

    /// <summary>Reads a run directory; throws <see cref="ReportInputException"/> when summary.json is missing or unreadable.</summary>
    public static RunData Load(string dir) => Load(dir, null);

    /// <summary>
    /// Reads a run directory, taking the tables named in <paramref name="tables"/> (requests, iterations, timeseries, as the
    /// run's writer kept them while writing this directory) from memory instead of their files: the same
    /// <see cref="RunTable"/> either way, without reading the files back. <paramref name="shownAs"/>: the name to print for
    /// the directory (<see cref="ShownDir"/>) when it is read before it is published; <paramref name="dir"/> without it.
    /// </summary>
    public static RunData Load(string dir, IReadOnlyDictionary<string, Simulator.Inference.Metrics.CapturedTable>? tables, string? shownAs = null)
    {
        var summaryPath = Path.Combine(dir, "summary.json");
        if (!File.Exists(summaryPath)) throw new ReportInputException($"{dir}: no summary.json (not a run directory)");
        var summary = new SortedDictionary<string, double>(StringComparer.Ordinal);
        string? scenarioName = null;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(summaryPath));
            Flatten(doc.RootElement, "", summary);
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("scenario", out var s) && s.ValueKind == JsonValueKind.String)
                scenarioName = s.GetString();
        }
        catch (JsonException e)
        {
            throw new ReportInputException($"{summaryPath}: not valid JSON: {e.Message}");
        }
        var scenario = ReadYamlFlat(Path.Combine(dir, "scenario.yaml"));
        double? Num(IReadOnlyDictionary<string, string> d, string k) =>
            d.TryGetValue(k, out var v) && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) ? x : null;
        double? S(string k) => summary.TryGetValue(k, out var v) && double.IsFinite(v) ? v : null;
        var slo = new Slo(
            S("slo.ttft_ms") ?? Num(scenario, "slo.ttft_ms"),
            S("slo.tpot_ms") ?? Num(scenario, "slo.tpot_ms"),
            S("slo.percentile") ?? Num(scenario, "slo.percentile") ?? 95);
        // Implementation note: requests and iterations are the two large tables and are independent, so iterations is read
        // on the thread pool while requests is read here (the Azure conversation run: ~0.15 s of its report). A corrupt
        // requests.csv is reported before a corrupt iterations.csv, as when they were read one after the other.
        RunTable? Table(string name, TableSchema schema) =>
            tables is not null && tables.TryGetValue(name, out var kept)
                && RunTable.FromCaptured(kept, schema, Simulator.Inference.Metrics.RunTables.Find(dir, name) ?? Path.Combine(dir, name + ".csv")) is { } t
                ? t : RunTables.Open(dir, name, schema);
        var iterations = Task.Run(() => Table("iterations", TableSchema.Loose with { Keep = IterationColumns }));
        var requests = Table("requests", RequestSchema(summary.ContainsKey("front_end.utilization")));
        ReportPhases.Mark("requests read");
        return new RunData
        {
            Dir = dir,
            ShownDir = shownAs ?? dir,
            Name = scenarioName ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(shownAs ?? dir))),
            Summary = summary,
            Scenario = scenario,
            Requests = requests,
            Iterations = iterations.GetAwaiter().GetResult(),
            Gpus = RunTable.TryReadFile(Path.Combine(dir, "gpus.csv")),
            Links = RunTable.TryReadFile(Path.Combine(dir, "links.csv")),
            Timeseries = Table("timeseries", TableSchema.Loose),
            ItlHistogram = RunTable.TryReadFile(Path.Combine(dir, "itl_histogram.csv")),
            Slo = slo,
        };
    }

    private static readonly string[] RequestTextColumns = ["status", "reason", "session_id"];

    private static readonly Dictionary<string, IReadOnlyList<string>> RequestValues = new()
    {
        ["status"] = ["completed", "rejected", "failed", "unfinished"],
    };

    /// <summary>
    /// The requests.csv columns the report reads (its charts, tables and verdict); the others are checked and dropped.
    /// Reading a column not listed here throws, so a new chart that needs one says so in its first test.
    /// </summary>
    // Implementation note: a million-request run's requests.csv has 21 columns; holding the 9 the report draws as
    // double[] (72 MB) rather than all of them (168 MB) is what keeps fleet-1m's report well under 1 GB.
    internal static readonly string[] RequestColumns =
        ["status", "arrival_s", "input_tokens", "ttft_ms", "tpot_ms", "e2e_ms", "queue_ms", "kv_transfer_ms", "decode_replica"];

    /// <summary>
    /// The iterations.csv columns the report reads (the stage timeline, the DP rank load); the others are not parsed.
    /// Reading a column not listed here throws, as for <see cref="RequestColumns"/>.
    /// </summary>
    internal static readonly string[] IterationColumns =
    [
        "replica", "stage", "start_s", "end_s", "compute_ms", "tp_comm_ms", "ep_comm_ms", "pp_comm_ms", "cp_comm_ms", "overhead_ms",
        "engine", "dp_rank", "prefill_tokens", "decode_tokens",
    ];

    /// <summary>
    /// How requests is read: checked row by row (a corrupt file is an error naming its line, never a silently wrong chart).
    /// <c>frontend_ms</c> is kept only for a run with a queued front end (summary.json <c>front_end</c>), the one that charts it.
    /// </summary>
    private static TableSchema RequestSchema(bool queuedFrontEnd) =>
        new(RequestTextColumns, RequestValues, Check: true) { Keep = queuedFrontEnd ? [.. RequestColumns, "frontend_ms"] : RequestColumns };

    /// <summary>
    /// The table columns a run's writer keeps in memory for its report (<see cref="Simulator.Inference.Metrics.RunWriterOptions.Capture"/>):
    /// every column <see cref="Load(string, IReadOnlyDictionary{string, Simulator.Inference.Metrics.CapturedTable}, string)"/> reads.
    /// </summary>
    internal static readonly Simulator.Inference.Metrics.TableCapture Capture = new(new Dictionary<string, IReadOnlyCollection<string>?>
    {
        ["requests"] = [.. RequestColumns, "frontend_ms"],
        ["iterations"] = IterationColumns,
        ["timeseries"] = null,
    });

    private static void Flatten(JsonElement e, string prefix, IDictionary<string, double> into)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var p in e.EnumerateObject()) Flatten(p.Value, prefix.Length == 0 ? p.Name : prefix + "." + p.Name, into);
                break;
            case JsonValueKind.Number:
                into[prefix] = e.GetDouble();
                break;
        }
    }

    /// <summary>Flattens a YAML file into sorted dotted paths; sequences become "[a, b]". Empty when the file is absent.</summary>
    public static SortedDictionary<string, string> ReadYamlFlat(string path)
    {
        var flat = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (!File.Exists(path)) return flat;
        var yaml = new YamlStream();
        try
        {
            using var reader = new StreamReader(path);
            yaml.Load(reader);
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new ReportInputException($"{path}:{e.Start.Line}: not valid YAML: {e.Message}");
        }
        if (yaml.Documents.Count > 0) FlattenYaml(yaml.Documents[0].RootNode, "", flat);
        return flat;
    }

    private static void FlattenYaml(YamlNode node, string prefix, IDictionary<string, string> into)
    {
        switch (node)
        {
            case YamlMappingNode map:
                foreach (var (k, v) in map.Children)
                {
                    var key = k is YamlScalarNode ks ? ks.Value ?? "" : k.ToString();
                    FlattenYaml(v, prefix.Length == 0 ? key : prefix + "." + key, into);
                }
                break;
            case YamlSequenceNode seq:
                into[prefix] = "[" + string.Join(", ", seq.Children.Select(c => c is YamlScalarNode s ? s.Value : c.ToString())) + "]";
                break;
            case YamlScalarNode scalar:
                into[prefix] = scalar.Value ?? "";
                break;
        }
    }
}

/// <summary>A sweep directory: sweep.csv and the run directories of its points.</summary>
public sealed class SweepData
{
    /// <summary>Metric columns of sweep.csv (CONTRACT.md); every column before the first of these is a swept key.</summary>
    public static readonly IReadOnlyList<string> MetricColumns = new[]
    {
        "completed", "ttft_p50_ms", "ttft_p95_ms", "tpot_p50_ms", "tpot_p95_ms", "output_tokens_per_s",
        "bubble_fraction", "slo_attainment", "goodput_requests_per_s",
    };

    public required string Dir { get; init; }

    /// <summary>The directory as a report names it: <see cref="Dir"/>, or the folder it is published at when it is read unpublished.</summary>
    public string ShownDir { get => _shownDir ?? Dir; init => _shownDir = value; }

    private readonly string? _shownDir;

    public required RunTable Table { get; init; }

    /// <summary>The swept keys (columns named by scenario path, e.g. parallelism.microbatches).</summary>
    public required IReadOnlyList<string> Keys { get; init; }

    /// <summary>Point run directories by sweep row (null where the point has no readable run directory).</summary>
    public required IReadOnlyList<RunData?> Points { get; init; }

    /// <summary>Reads a sweep directory; <paramref name="shownAs"/> names it (<see cref="ShownDir"/>) when it is read before it is published.</summary>
    public static SweepData Load(string dir, string? shownAs = null)
    {
        var table = RunTable.TryReadFile(Path.Combine(dir, "sweep.csv")) ?? throw new ReportInputException($"{dir}: no sweep.csv");
        var firstMetric = table.Headers.Select((h, i) => (h, i)).Where(x => MetricColumns.Contains(x.h) || x.h is "status" or "error").Select(x => x.i).DefaultIfEmpty(table.Headers.Count).First();
        var keys = table.Headers.Take(firstMetric).Where(h => h is not ("point" or "dir" or "directory" or "index" or "label")).ToList();

        // Points are matched to rows by an explicit column when sweep.csv has one, else by the
        // numeric index that prefixes each points/<index>-<label>/ directory, in row order.
        var pointsDir = Path.Combine(dir, "points");
        var dirs = Directory.Exists(pointsDir)
            ? Directory.GetDirectories(pointsDir).OrderBy(d => LeadingIndex(Path.GetFileName(d))).ThenBy(d => d, StringComparer.Ordinal).ToList()
            : new List<string>();
        var byIndex = new Dictionary<long, string>();
        foreach (var d in dirs)
        {
            var index = LeadingIndex(Path.GetFileName(d));
            if (index != long.MaxValue) byIndex.TryAdd(index, d);
        }
        // points/0-... (sim sweep) or points/1-...: 1-based only when an index reaches the row count (a failed
        // point leaves no folder, so a missing 0 alone does not mean 1-based).
        var indexBase = byIndex.Count > 0 && !byIndex.ContainsKey(0) && byIndex.Keys.Max() >= table.RowCount ? 1 : 0;
        var pointColumn = new[] { "point", "dir", "directory" }.FirstOrDefault(table.Has);
        var points = new List<RunData?>();
        for (var r = 0; r < table.RowCount; r++)
        {
            string? pd = null;
            if (pointColumn is not null)
            {
                var named = table.Text(r, pointColumn);
                pd = new[] { Path.Combine(dir, named), Path.Combine(pointsDir, named) }.FirstOrDefault(Directory.Exists);
            }
            else if (byIndex.TryGetValue(r + indexBase, out var indexed)) pd = indexed;
            else if (byIndex.Count == 0 && dirs.Count == table.RowCount) pd = dirs[r];
            points.Add(pd is not null && File.Exists(Path.Combine(pd, "summary.json")) ? RunData.Load(pd) : null);
        }
        return new SweepData { Dir = dir, ShownDir = shownAs ?? dir, Table = table, Keys = keys, Points = points };
    }

    private static long LeadingIndex(string name)
    {
        var digits = new string(name.TakeWhile(char.IsDigit).ToArray());
        return long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : long.MaxValue;
    }
}
