using System.Security.Cryptography;
using NUnit.Framework;
using Simulator.Scenarios;
using Simulator.Tests.Shared;

namespace Simulator.Scenarios.Tests;

/// <summary>
/// The shipped scenarios (capped to a few thousand requests) give byte for byte the outputs recorded from main before
/// the speed work of issue 15 (data/regression/shipped-scenario-digests.txt): every file of the run directory but
/// scenario.yaml (it holds paths relative to the run directory and lists keys added since) and perf.json (wall clock).
/// A deliberate change of results refreshes the file with <c>SIM_UPDATE_DIGESTS=1 dotnet test --filter ShippedScenarioDigests</c>
/// and says why in its commit.
/// </summary>
[TestFixture]
public sealed class ShippedScenarioDigestsTest
{
    private static string DigestFile => TestPaths.Data("regression", "shipped-scenario-digests.txt");

    /// <summary>The cases: a name, a shipped scenario and its overrides.</summary>
    private static readonly (string Name, string Scenario, string[] Sets)[] Cases =
    [
        ("quickstart", "quickstart.yaml", []),
        ("azure", "azure-conv-llama70b.yaml", ["workload.trace.limit=2000"]),
        ("azure-parquet", "azure-conv-llama70b.yaml", ["workload.trace.limit=1000", "output.format=parquet"]),
        ("pp", "pipeline-tp8-pp2.yaml", []),
        ("faults", "faults-gpu-down.yaml", ["workload.trace.limit=1000"]),
        ("moe", "moe-mixtral-ep.yaml", ["workload.trace.limit=1000"]),
        ("prefix", "prefix-caching.yaml", ["workload.trace.limit=1000"]),
        ("disagg", "disaggregation.yaml", ["workload.trace.limit=1000"]),
        ("design", "design-review-tp.yaml", ["workload.requests=1000"]),
        ("bubbles", "pipeline-bubbles.yaml", []),
        // 182,494 iteration rows: more than output.iterations: auto keeps, so every row is asked for.
        ("fleet", "fleet-1m.yaml", ["workload.requests=5000", "output.iterations=all"]),
    ];

    private static IEnumerable<string> CaseNames() => Cases.Select(c => c.Name);

    private static Dictionary<string, Dictionary<string, string>> Expected() =>
        File.ReadAllLines(DigestFile).Where(l => l.Length > 0 && !l.StartsWith('#')).Select(l => l.Split(' '))
            .GroupBy(p => p[0]).ToDictionary(g => g.Key, g => g.ToDictionary(p => p[1], p => p[2]));

    [TestCaseSource(nameof(CaseNames))]
    public void ShippedScenario_GivesTheRecordedBytes(string name)
    {
        var c = Cases.Single(x => x.Name == name);
        var root = Path.Combine(Path.GetTempPath(), "sim-digests", Guid.NewGuid().ToString("N"));
        try
        {
            var scenario = RunBuilder.Load(Path.Combine(TestPaths.RepoRoot, "scenarios", c.Scenario), c.Sets);
            var result = ScenarioRunner.Run(scenario, Path.Combine(root, name));
            var actual = Directory.GetFiles(result.Directory).Select(Path.GetFileName).OfType<string>()
                .Where(f => f is not ("scenario.yaml" or "perf.json") && !f.StartsWith('.')).Order(StringComparer.Ordinal)
                .ToDictionary(f => f, f => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(result.Directory, f)))));
            if (Environment.GetEnvironmentVariable("SIM_UPDATE_DIGESTS") == "1")
            {
                Update(name, actual);
                Assert.Pass("digests updated");
            }
            Assert.That(actual, Is.EqualTo(Expected()[name]));
        }
        finally
        {
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        }
    }

    private static void Update(string name, Dictionary<string, string> digests)
    {
        lock (Cases)
        {
            var lines = File.ReadAllLines(DigestFile).Where(l => !l.StartsWith(name + " ", StringComparison.Ordinal)).ToList();
            lines.AddRange(digests.Select(d => $"{name} {d.Key} {d.Value}"));
            var header = lines.Where(l => l.StartsWith('#')).ToList();
            var body = lines.Where(l => !l.StartsWith('#') && l.Length > 0).Order(StringComparer.Ordinal);
            File.WriteAllLines(DigestFile, [.. header, .. body]);
        }
    }
}
