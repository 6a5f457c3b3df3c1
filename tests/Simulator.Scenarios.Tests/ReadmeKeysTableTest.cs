using System.Text.RegularExpressions;
using NUnit.Framework;
using Simulator.Scenarios;
using Simulator.Tests.Shared;

namespace Simulator.Scenarios.Tests;

/// <summary>
/// README's key tables against the binder: every key they list is one the binder reads, every key the binder reads
/// is listed ("Keys", and the tables of faults, pools and wide EP), and the values "Keys" allows for a named-value key
/// are the binder's. The binder's own lists
/// come from its errors (an unknown key is answered with "allowed: ...", a bad value with "expected one of ..."), so
/// the test reads what a user would be told rather than a copy of the binder's tables.
/// </summary>
public sealed partial class ReadmeKeysTableTest
{
    private static readonly ScenarioLoader Loader = new();
    private const string Synthetic = ScenarioLoaderTest.Minimal;

    private const string Trace = """
        model: llama-3.1-8b
        workload:
          trace: {path: traces/azure-llm-2023-conv.csv}
        """;

    private const string NotAKey = "zz_not_a_key";

    /// <summary>One row of the table: its keys (full dotted paths) and its "allowed" cell.</summary>
    private sealed record Row(IReadOnlyList<string> Keys, string Allowed);

    [GeneratedRegex(@"`([A-Za-z0-9_.\[\]-]+)`")]
    private static partial Regex Backticked();

    /// <summary>
    /// The rows of the first key table (header <c>| key | default | allowed |</c>) after the README line that starts with
    /// <paramref name="heading"/>. A cell naming several keys gives the first in full and the others relative to its
    /// section (<c>`workload.trace.start_s`, `end_s`</c>); one holding a dot stands for itself.
    /// </summary>
    private static IReadOnlyList<Row> Rows(string heading)
    {
        var lines = File.ReadAllLines(Path.Combine(TestPaths.RepoRoot, "README.md"));
        int start = Array.FindIndex(lines, l => l.StartsWith(heading, StringComparison.Ordinal));
        Assert.That(start, Is.GreaterThan(0), $"README has no \"{heading}\" section");
        int header = Array.FindIndex(lines, start, l => l == "| key | default | allowed |");
        Assert.That(header, Is.GreaterThan(start), $"README \"{heading}\" has no key table");
        var rows = new List<Row>();
        for (int i = header + 2; i < lines.Length && lines[i].StartsWith("| `", StringComparison.Ordinal); i++)
        {
            var cells = Regex.Split(lines[i].Trim().Trim('|'), @"(?<!\\)\|").Select(c => c.Trim()).ToList();
            var names = Backticked().Matches(cells[0]).Select(m => m.Groups[1].Value).ToList();
            int dot = names[0].LastIndexOf('.');
            string section = dot < 0 ? "" : names[0][..(dot + 1)];
            rows.Add(new Row(names.Select((n, k) => k == 0 || n.Contains('.') ? n : section + n).ToList(), cells[^1]));
        }
        Assert.That(rows, Is.Not.Empty, $"README \"{heading}\" key table has no rows");
        return rows;
    }

    /// <summary>Every README table of scenario keys: "Keys", and those of faults, pools and wide EP.</summary>
    private static readonly string[] KeyTables = ["### Keys", "## Faults and retries", "## Pools:", "## Wide EP"];

    private static IReadOnlyList<string> Errors(string yaml, params string[] sets)
    {
        try
        {
            Loader.LoadText(yaml, "s.yaml", TestPaths.DataRoot, sets);
            return [];
        }
        catch (ScenarioException ex) { return ex.Errors.Select(e => e.ToString()).ToList(); }
    }

    /// <summary>
    /// The keys the binder reads in <paramref name="section"/> ("" = the top level; <c>faults[]</c> = one fault entry,
    /// <c>pools.NAME</c> = one pool), from its unknown-key error.
    /// </summary>
    private static SortedSet<string> AcceptedKeys(string section)
    {
        string probe = section.Replace("faults[]", "faults[0]", StringComparison.Ordinal).Replace("pools.NAME", "pools.main", StringComparison.Ordinal);
        string path = probe.Length == 0 ? NotAKey : probe + "." + NotAKey;
        string set = probe == "faults[0]" ? $"faults=[{{at_s: 1, kind: gpu_down, gpu: 0, {NotAKey}: 1}}]" : path + "=1";
        var errors = Errors(probe.StartsWith("workload.trace", StringComparison.Ordinal) ? Trace : Synthetic, set);
        string? error = errors.FirstOrDefault(e => e.Contains($": {path}: unknown key;", StringComparison.Ordinal));
        Assert.That(error, Is.Not.Null, $"no unknown-key error for {path}: {string.Join(" / ", errors)}");
        string allowed = error![(error.IndexOf("allowed: ", StringComparison.Ordinal) + "allowed: ".Length)..];
        return new SortedSet<string>(allowed.Split(", "), StringComparer.Ordinal);
    }

    [Test]
    public void EveryKeyTheBinderReads_IsInTheReadmeTable_AndNoOther()
    {
        var documented = KeyTables.SelectMany(Rows).SelectMany(r => r.Keys).Distinct().ToList();
        // The sections whose keys the tables list one by one; the rest ("sweep", "cost.gpu_hour_usd", ...) they name
        // whole, and "pools" holds pool names, not keys.
        var sections = documented.Where(k => k.Contains('.')).Select(k => k[..k.LastIndexOf('.')])
            .SelectMany(s => s.Split('.').Select((_, i) => string.Join('.', s.Split('.').Take(i + 1))))
            .Prepend("").Distinct().Where(s => s != "pools").ToList();
        Assert.That(sections, Has.Count.GreaterThanOrEqualTo(20), "the README tables' sections were not found");
        foreach (string section in sections)
        {
            string prefix = section.Length == 0 ? "" : section + ".";
            var listed = new SortedSet<string>(
                documented.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).Select(k => k[prefix.Length..].Split('.')[0].Replace("[]", "", StringComparison.Ordinal)),
                StringComparer.Ordinal);
            var accepted = AcceptedKeys(section);
            string where = section.Length == 0 ? "the top level" : section;
            Assert.That(accepted.Except(listed), Is.Empty, $"keys of {where} the binder reads but no README key table lists");
            Assert.That(listed.Except(accepted), Is.Empty, $"keys of {where} a README key table lists but the binder does not read");
        }
    }

    [Test]
    public void NamedValuesInTheReadmeTable_AreTheBindersValues()
    {
        int compared = 0;
        foreach (var row in Rows("### Keys").Where(r => r.Keys.Count == 1))
        {
            // An allowed cell of named values: "`a` (what a is) \| `b` \| ..."; the first backticked word of each choice.
            var choices = Regex.Split(row.Allowed, @"\\\|").Select(c => Backticked().Match(c.Trim())).ToList();
            if (choices.Count < 2 || choices.Count(c => c.Success && c.Index == 0) < 2) continue;
            string key = row.Keys[0];
            var errors = Errors(key.StartsWith("workload.trace", StringComparison.Ordinal) ? Trace : Synthetic, key + "=zz_not_a_value");
            string? error = errors.FirstOrDefault(e => e.Contains($": {key}: 'zz_not_a_value' is not allowed; expected one of ", StringComparison.Ordinal));
            if (error is null) continue; // a key whose values are not a closed list (engine_version: a release number)
            var binder = error[(error.IndexOf("expected one of ", StringComparison.Ordinal) + "expected one of ".Length)..].Split(" | ");
            var readme = choices.Where(c => c.Success).Select(c => c.Groups[1].Value);
            Assert.That(new SortedSet<string>(readme, StringComparer.Ordinal), Is.EqualTo(new SortedSet<string>(binder, StringComparer.Ordinal)),
                $"README \"Keys\" row {key}: allowed values differ from the binder's");
            compared++;
        }
        Assert.That(compared, Is.GreaterThanOrEqualTo(12), "too few named-value keys were compared: the table's format changed?");
    }
}
