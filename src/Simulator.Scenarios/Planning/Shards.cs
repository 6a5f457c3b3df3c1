using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Simulator.Inference.Metrics;

namespace Simulator.Scenarios.Planning;

/// <summary>
/// One shard of a sweep or plan: shard <see cref="Index"/> of <see cref="Count"/> owns the points whose index k
/// satisfies k mod Count == Index, so N processes started with 0/N .. (N-1)/N cover every point exactly once.
/// </summary>
public readonly record struct ShardSpec(int Index, int Count)
{
    /// <summary>The whole run as one shard.</summary>
    public static ShardSpec Whole => new(0, 1);

    /// <summary>True when this shard runs point <paramref name="pointIndex"/>.</summary>
    public bool Owns(int pointIndex) => pointIndex % Count == Index;

    /// <summary>Parses `I/N` (0 &lt;= I &lt; N); anything else is bad input naming the flag.</summary>
    public static ShardSpec Parse(string text, string flag = "--shard")
    {
        var parts = (text ?? "").Split('/');
        if (parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var i)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            && n >= 1 && i < n)
            return new ShardSpec(i, n);
        throw new ArgumentException($"{flag} {text}: expected I/N with N >= 1 and 0 <= I < N (e.g. 0/3, 1/3, 2/3)");
    }

    /// <summary>`I/N`.</summary>
    public override string ToString() => Index.ToString(CultureInfo.InvariantCulture) + "/" + Count.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// shard.json, written next to a shard's partial table: which run it belongs to (kind, scenario name and a
/// fingerprint of every resolved point), how many points the whole run has, and which of them this shard holds.
/// `sim merge` refuses shards whose kind, scenario, fingerprint, table header or point count differ.
/// </summary>
public sealed record ShardManifest(string Kind, string Scenario, string Fingerprint, int TotalPoints, int Shard, int ShardCount,
    IReadOnlyList<int> Points, string Table)
{
    /// <summary>File name of the manifest inside a shard directory.</summary>
    public const string FileName = "shard.json";

    /// <summary>Writes the manifest into <paramref name="dir"/>.</summary>
    public void Write(string dir) =>
        File.WriteAllText(Path.Combine(dir, FileName), JsonSerializer.Serialize(this, ShardManifestJson.Default.ShardManifest) + "\n", new UTF8Encoding(false));

    /// <summary>Reads a shard directory's manifest; a missing or unreadable one is bad input.</summary>
    public static ShardManifest Read(string dir)
    {
        var path = Path.Combine(dir, FileName);
        if (!File.Exists(path)) throw new ArgumentException($"{dir}: no {FileName}; only directories written with --shard I/N can be merged");
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(path), ShardManifestJson.Default.ShardManifest)
                ?? throw new ArgumentException($"{path}: empty shard manifest");
        }
        catch (JsonException ex)
        {
            throw new ArgumentException($"{path}: not a shard manifest ({ex.Message})");
        }
    }

    /// <summary>
    /// A fingerprint of a run: SHA-256 over the text of every resolved point, in order. Two shards of the same
    /// scenario file with the same --set overrides have the same fingerprint on any machine.
    /// </summary>
    public static string FingerprintOf(IEnumerable<string> pointTexts)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var t in pointTexts)
        {
            sha.AppendData(Encoding.UTF8.GetBytes(t));
            sha.AppendData([0]);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset())[..16];
    }
}

// Implementation note: shard.json is read and written through generated code (no reflection), so `--shard` and
// `sim merge` work in the native (AOT) build; the options are the ones the reflection-based serializer used.
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(ShardManifest))]
internal sealed partial class ShardManifestJson : JsonSerializerContext;

/// <summary>What <see cref="ShardMerge.Merge"/> produced.</summary>
public sealed record MergeResult(string Directory, string TablePath, ShardManifest Manifest);

/// <summary>
/// Combines shard directories into one: the point directories side by side and the table (sweep.csv or
/// plan.csv) with every point's row in index order, so the merged table is byte-identical to an unsharded run's.
/// </summary>
public static class ShardMerge
{
    /// <summary>
    /// Merges <paramref name="shardDirs"/> into <paramref name="outDir"/>; inconsistent shards are bad input. The directory
    /// is written beside <paramref name="outDir"/> and moved into place at the end (<see cref="StagedOutput"/>);
    /// <paramref name="beforePublish"/> may add files (the report) to the unpublished folder it is given.
    /// </summary>
    public static MergeResult Merge(IReadOnlyList<string> shardDirs, string outDir, Action<string>? beforePublish = null)
    {
        if (shardDirs.Count == 0) throw new ArgumentException("sim merge: give at least one shard directory");
        var shards = shardDirs.Select(d => (Dir: Path.GetFullPath(d), Manifest: ShardManifest.Read(d))).ToList();
        var first = shards[0].Manifest;
        string? header = null;
        var rows = new SortedDictionary<int, string>();
        var owner = new Dictionary<int, string>();
        foreach (var (dir, m) in shards)
        {
            if (m.Kind != first.Kind || m.Scenario != first.Scenario || m.Fingerprint != first.Fingerprint || m.TotalPoints != first.TotalPoints)
                throw new ArgumentException($"{dir}: shard of {m.Kind} '{m.Scenario}' ({m.Fingerprint}, {m.TotalPoints} points) " +
                    $"does not match {shards[0].Dir}: {first.Kind} '{first.Scenario}' ({first.Fingerprint}, {first.TotalPoints} points); merge shards of one run only");
            var lines = ReadLines(Path.Combine(dir, m.Table));
            if (lines.Count != m.Points.Count + 1)
                throw new ArgumentException($"{Path.Combine(dir, m.Table)}: {lines.Count - 1} rows for the {m.Points.Count} points {ShardManifest.FileName} lists");
            if (header is null) header = lines[0];
            else if (header != lines[0]) throw new ArgumentException($"{Path.Combine(dir, m.Table)}: header differs from {shards[0].Dir}'s");
            for (int r = 0; r < m.Points.Count; r++)
            {
                int k = m.Points[r];
                if (k < 0 || k >= m.TotalPoints) throw new ArgumentException($"{dir}: point {k} is outside 0..{m.TotalPoints - 1}");
                if (!owner.TryAdd(k, dir)) throw new ArgumentException($"{dir}: point {k} is also in {owner[k]}; each point must come from one shard");
                rows[k] = lines[r + 1];
            }
        }
        var missing = Enumerable.Range(0, first.TotalPoints).Where(k => !owner.ContainsKey(k)).ToList();
        if (missing.Count > 0)
            throw new ArgumentException($"sim merge: points {string.Join(", ", missing.Take(10))}{(missing.Count > 10 ? ", ..." : "")} of {first.TotalPoints} " +
                "are in no shard; give every shard directory (0/N .. N-1/N)");

        var root = OutputTarget.Full(outDir);
        if (shards.Select(s => OutputTarget.Full(s.Dir)).Any(d => d == root || d.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal)))
            throw new ArgumentException($"--out {outDir}: must not be one of the shard directories or hold one (it is replaced)");
        // Implementation note: a merged plan is a plan directory and a merged sweep a sweep directory (the same markers
        // as unsharded ones, so a merge may replace an earlier merge or an unsharded run of its kind, never the other kind).
        using var output = StagedOutput.Begin(outDir, first.Kind == Planner.Kind ? OutputKind.Plan : OutputKind.Sweep);
        var points = Path.Combine(output.TempDirectory, "points");
        Directory.CreateDirectory(points);
        foreach (var (dir, _) in shards)
        {
            var src = Path.Combine(dir, "points");
            if (!Directory.Exists(src)) continue;
            foreach (var p in Directory.GetDirectories(src).OrderBy(p => p, StringComparer.Ordinal))
                CopyTree(p, Path.Combine(points, Path.GetFileName(p)));
        }
        var text = new StringBuilder(header).Append('\n');
        foreach (var row in rows.Values) text.Append(row).Append('\n');
        File.WriteAllText(Path.Combine(output.TempDirectory, first.Table), text.ToString(), new UTF8Encoding(false));
        beforePublish?.Invoke(output.TempDirectory);
        output.Publish();
        return new MergeResult(root, Path.Combine(root, first.Table), first with { Shard = 0, ShardCount = 1, Points = Enumerable.Range(0, first.TotalPoints).ToList() });
    }

    // Implementation note: tables are split on '\n' because every writer keeps one record per line (errors and
    // reasons are flattened to one line); a quoted newline would show up as a row-count mismatch, not as a bad merge.
    private static List<string> ReadLines(string path)
    {
        if (!File.Exists(path)) throw new ArgumentException($"{path}: missing; the shard did not finish");
        var text = File.ReadAllText(path);
        if (text.EndsWith('\n')) text = text[..^1];
        return text.Length == 0 ? [] : text.Split('\n').ToList();
    }

    private static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)), overwrite: true);
        foreach (var d in Directory.GetDirectories(from)) CopyTree(d, Path.Combine(to, Path.GetFileName(d)));
    }
}
