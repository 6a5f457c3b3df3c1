using Simulator.Inference.Metrics;

namespace Simulator.Scenarios.Planning;

/// <summary>The shard manifest of a `sim sweep --shard I/N` run, and the empty shard when N exceeds the points.</summary>
public static class ShardedSweep
{
    /// <summary>Kind recorded in shard.json for sweeps.</summary>
    public const string Kind = "sweep";

    /// <summary>
    /// The manifest of shard <paramref name="shard"/> of a sweep whose points are <paramref name="all"/>; the
    /// fingerprint covers every resolved point, written with paths relative to the scenario file's folder.
    /// </summary>
    public static ShardManifest Manifest(IReadOnlyList<SweepPoint> all, string scenarioPath, ShardSpec shard)
    {
        var baseDir = Path.GetDirectoryName(Path.GetFullPath(scenarioPath));
        var fingerprint = ShardManifest.FingerprintOf(all.Select(p => p.Slug + "\n" + ScenarioWriter.ToYaml(p.Scenario, baseDir)));
        return new ShardManifest(Kind, all[0].Scenario.Name, fingerprint, all.Count, shard.Index, shard.Count,
            all.Where(p => shard.Owns(p.Index)).Select(p => p.Index).ToList(), "sweep.csv");
    }

    /// <summary>Writes a shard that holds no point (N larger than the sweep): the header-only sweep.csv and shard.json.</summary>
    /// <remarks>Like every sweep directory it is written beside <paramref name="outDir"/> and moved into place (see <see cref="StagedOutput"/>).</remarks>
    public static void WriteEmpty(IReadOnlyList<SweepPoint> all, string scenarioPath, ShardSpec shard, string outDir)
    {
        using var output = StagedOutput.Begin(outDir, OutputKind.Sweep);
        SweepTable.Write(Path.Combine(output.TempDirectory, "sweep.csv"), all[0].Labels.Select(l => l.Key).ToList(), []);
        Manifest(all, scenarioPath, shard).Write(output.TempDirectory);
        output.Publish();
    }
}
