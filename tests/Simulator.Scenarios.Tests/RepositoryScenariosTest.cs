using NUnit.Framework;
using Simulator.Scenarios;
using Simulator.Tests.Shared;

namespace Simulator.Scenarios.Tests;

/// <summary>Every scenario shipped in scenarios/ loads, expands and round-trips through the writer.</summary>
public sealed class RepositoryScenariosTest
{
    private static IEnumerable<string> Files() =>
        Directory.GetFiles(Path.Combine(TestPaths.RepoRoot, "scenarios"), "*.yaml").OrderBy(p => p, StringComparer.Ordinal);

    [TestCaseSource(nameof(Files))]
    public void ShippedScenario_LoadsAndRoundTrips(string path)
    {
        var loader = new ScenarioLoader();
        var scenario = loader.Load(path);
        var points = loader.LoadSweep(path);
        Assert.That(points, Has.Count.EqualTo(scenario.Sweep.PointCount));
        string dir = Path.GetDirectoryName(path)!;
        string text = ScenarioWriter.ToYaml(scenario, dir);
        Assert.That(loader.LoadText(text, Path.GetFileName(path), dir), Is.EqualTo(scenario));
    }
}
