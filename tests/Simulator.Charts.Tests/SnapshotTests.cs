using System.Text;
using System.Runtime.CompilerServices;

namespace Simulator.Charts.Tests;

/// <summary>
/// Renders every sample chart and compares it byte for byte with the stored SVG under Snapshots/.
/// On a mismatch the new rendering is written beside it as NAME.received.svg; review it and run with
/// UPDATE_SNAPSHOTS=1 to accept it.
/// </summary>
public sealed class SnapshotTests
{
    // Implementation note: the snapshots live beside this source file; the test host's working
    // directory is the (possibly isolated) build output, so the compile-time path is the reliable anchor.
    private static string SnapshotDir => Path.Combine(SourceDir(), "Snapshots");

    private static string SourceDir([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;

    public static IEnumerable<string> Names => SampleCharts.All.Keys;

    [TestCaseSource(nameof(Names))]
    public void Render_MatchesStoredSnapshot(string name)
    {
        var svg = SampleCharts.All[name]().GetSvg(800, 500);
        var expectedPath = Path.Combine(SnapshotDir, name + ".svg");
        var receivedPath = Path.Combine(SnapshotDir, name + ".received.svg");
        if (Environment.GetEnvironmentVariable("UPDATE_SNAPSHOTS") == "1")
        {
            Directory.CreateDirectory(SnapshotDir);
            File.WriteAllText(expectedPath, svg, new UTF8Encoding(false));
            if (File.Exists(receivedPath)) File.Delete(receivedPath);
            return;
        }
        var expected = File.Exists(expectedPath) ? File.ReadAllText(expectedPath) : null;
        if (expected == svg)
        {
            if (File.Exists(receivedPath)) File.Delete(receivedPath);
            return;
        }
        File.WriteAllText(receivedPath, svg, new UTF8Encoding(false));
        Assert.Fail(expected is null
            ? $"no snapshot {expectedPath}; wrote {receivedPath}. Review it, then run with UPDATE_SNAPSHOTS=1 to accept."
            : $"{name} differs from {expectedPath}; wrote {receivedPath}. Diff them; run with UPDATE_SNAPSHOTS=1 to accept the change.");
    }

    [Test]
    public void Snapshots_HaveNoOrphans()
    {
        var stored = Directory.GetFiles(SnapshotDir, "*.svg")
            .Select(Path.GetFileName).Where(f => !f!.EndsWith(".received.svg", StringComparison.Ordinal))
            .Select(f => Path.GetFileNameWithoutExtension(f!)).OrderBy(n => n, StringComparer.Ordinal).ToList();
        Assert.That(stored, Is.EquivalentTo(Names));
    }
}
