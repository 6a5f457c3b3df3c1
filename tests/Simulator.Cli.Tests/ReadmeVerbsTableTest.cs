using System.Text.RegularExpressions;
using Simulator.Tests.Shared;

namespace Simulator.Cli.Tests;

/// <summary>
/// README "Verbs" against the CLI: every verb the table shows exists, and the flags its usage lines name are exactly
/// the options <c>sim VERB --help</c> lists (so a flag added, renamed or removed in the CLI shows up as a stale README).
/// </summary>
[TestFixture, NonParallelizable]
public sealed partial class ReadmeVerbsTableTest
{
    [GeneratedRegex(@"--[a-z][a-z-]*")]
    private static partial Regex Flag();

    /// <summary>Verb -> the flags named in its usage cells (a verb may have several rows, as sweep with --shard).</summary>
    private static Dictionary<string, SortedSet<string>> ReadmeVerbs()
    {
        var lines = File.ReadAllLines(Path.Combine(TestPaths.RepoRoot, "README.md"));
        int start = Array.FindIndex(lines, l => l == "## Verbs");
        Assert.That(start, Is.GreaterThan(0), "README has no \"## Verbs\" section");
        var verbs = new Dictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        for (int i = start + 1; i < lines.Length && !lines[i].StartsWith("#", StringComparison.Ordinal); i++)
        {
            var m = Regex.Match(lines[i], @"^\| `sim ([a-z]+)([^`]*)` \|");
            if (!m.Success) continue;
            if (!verbs.TryGetValue(m.Groups[1].Value, out var flags))
                verbs[m.Groups[1].Value] = flags = new SortedSet<string>(StringComparer.Ordinal);
            foreach (Match f in Flag().Matches(m.Groups[2].Value)) flags.Add(f.Value);
        }
        return verbs;
    }

    /// <summary>The long options <c>sim VERB --help</c> lists, without --help itself.</summary>
    private static SortedSet<string> HelpFlags(string verb)
    {
        var r = CliHarness.Run(verb, "--help");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        var options = r.StdOut.Split('\n').SkipWhile(l => !l.StartsWith("Options:", StringComparison.Ordinal)).Skip(1)
            .TakeWhile(l => l.StartsWith(' '));
        var flags = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string line in options)
        {
            // "  --algo, --algorithm <algorithm>  description": the names before the first "<" or two spaces.
            string names = Regex.Split(line.Trim(), @"\s{2,}| <")[0];
            foreach (Match f in Flag().Matches(names)) flags.Add(f.Value);
        }
        flags.Remove("--help");
        return flags;
    }

    [Test]
    public void EveryVerbOfTheReadmeTable_NamesExactlyTheFlagsOfItsHelp()
    {
        var verbs = ReadmeVerbs();
        Assert.That(verbs.Keys, Is.SupersetOf(new[] { "run", "sweep", "plan", "merge", "memory", "step", "collective", "report", "presets", "validate" }),
            "the README \"Verbs\" table lost a verb");
        foreach (var (verb, readme) in verbs)
        {
            var help = HelpFlags(verb);
            Assert.That(help.Except(readme), Is.Empty, $"sim {verb} --help lists flags the README \"Verbs\" row does not name");
            Assert.That(readme.Except(help), Is.Empty, $"the README \"Verbs\" row of sim {verb} names flags sim {verb} --help does not list");
        }
    }
}
