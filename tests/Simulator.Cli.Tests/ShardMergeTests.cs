using System.Diagnostics;

namespace Simulator.Cli.Tests;

/// <summary>`sim sweep --shard I/N` and `sim merge`: shards as separate processes merge into the unsharded sweep.csv.</summary>
[TestFixture, NonParallelizable]
public sealed class ShardMergeTests
{
    [Test]
    public void Sweep_PipelineBubblesInThreeShardProcesses_MergesToTheUnshardedSweepCsvByteForByte()
    {
        using var tmp = new TempDir();
        var scenario = CliHarness.Scenario("pipeline-bubbles.yaml");
        var whole = CliHarness.Run("sweep", scenario, "--out", tmp.Sub("whole"), "--jobs", "1", "--no-report");
        Assert.That(whole.ExitCode, Is.EqualTo(0), whole.ToString());

        var shards = Enumerable.Range(0, 3).Select(i => tmp.Sub($"shard{i}")).ToArray();
        var processes = shards.Select((dir, i) => StartSim("sweep", scenario, "--shard", $"{i}/3", "--out", dir, "--jobs", "1")).ToList();
        foreach (var (p, i) in processes.Select((p, i) => (p, i)))
        {
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.That(p.ExitCode, Is.EqualTo(0), $"shard {i}/3: {stdout.Result}\n{stderr}");
        }
        // Shard 1 of 3 owns points 1 and 4 (k mod 3 == 1), and only those.
        var shard1 = CsvTable.Read(Path.Combine(shards[1], "sweep.csv"));
        Assert.That(shard1.Rows.Select(r => r[0]), Is.EqualTo(new[] { "2", "16" }), "microbatches of points 1 and 4");
        Assert.That(Directory.GetDirectories(Path.Combine(shards[1], "points")).Select(Path.GetFileName),
            Is.EquivalentTo(new[] { "0001-microbatches=2", "0004-microbatches=16" }));

        var merged = CliHarness.Run(new[] { "merge" }.Concat(shards.Reverse()).Concat(new[] { "--out", tmp.Sub("merged") }).ToArray());
        Assert.That(merged.ExitCode, Is.EqualTo(0), merged.ToString());
        Assert.That(File.ReadAllBytes(tmp.Sub("merged", "sweep.csv")), Is.EqualTo(File.ReadAllBytes(tmp.Sub("whole", "sweep.csv"))),
            "the merged sweep.csv is the unsharded one, byte for byte");
        Assert.That(Directory.GetDirectories(tmp.Sub("merged", "points")).Select(Path.GetFileName),
            Is.EquivalentTo(Directory.GetDirectories(tmp.Sub("whole", "points")).Select(Path.GetFileName)));
        Assert.That(File.Exists(tmp.Sub("merged", "report.html")), Is.True, "the merge writes the sweep report");
    }

    [TestCase("3/3")]
    [TestCase("0/0")]
    [TestCase("x")]
    [TestCase("-1/2")]
    public void Sweep_BadShard_OneErrorLineNamingTheFlagExit2(string shard)
    {
        using var tmp = new TempDir();
        var r = CliHarness.Run("sweep", CliHarness.Scenario("pipeline-bubbles.yaml"), "--shard", shard, "--out", tmp.Sub("s"), "--no-report");
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.ErrorLines, Has.Count.EqualTo(1), r.ToString());
        Assert.That(r.ErrorLines[0], Does.StartWith("error: --shard " + shard + ": expected I/N"));
    }

    [Test]
    public void Merge_MissingDuplicateOrForeignShards_OneErrorLineExit2()
    {
        using var tmp = new TempDir();
        var scenario = CliHarness.Scenario("pipeline-bubbles.yaml");
        // A 9-way split of 5 points: shards 5..8 hold no point, so these stay cheap (two points simulated in all).
        Assert.That(CliHarness.Run("sweep", scenario, "--shard", "0/9", "--out", tmp.Sub("a"), "--jobs", "1").ExitCode, Is.EqualTo(0));
        Assert.That(CliHarness.Run("sweep", scenario, "--shard", "6/9", "--out", tmp.Sub("b"), "--jobs", "1").ExitCode, Is.EqualTo(0));
        Assert.That(CliHarness.Run("sweep", scenario, "--shard", "6/9", "--set", "seed=7", "--out", tmp.Sub("c"), "--jobs", "1").ExitCode, Is.EqualTo(0));

        var missing = CliHarness.Run("merge", tmp.Sub("a"), tmp.Sub("b"), "--out", tmp.Sub("m1"));
        var duplicate = CliHarness.Run("merge", tmp.Sub("a"), tmp.Sub("a"), "--out", tmp.Sub("m2"));
        var foreign = CliHarness.Run("merge", tmp.Sub("a"), tmp.Sub("c"), "--out", tmp.Sub("m3"));
        var notShard = CliHarness.Run("merge", tmp.Path, "--out", tmp.Sub("m4"));
        foreach (var (r, what) in new[] { (missing, "are in no shard"), (duplicate, "is also in"), (foreign, "does not match"), (notShard, "no shard.json") })
        {
            Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
            Assert.That(r.ErrorLines, Has.Count.EqualTo(1), r.ToString());
            Assert.That(r.ErrorLines[0], Does.StartWith("error: ").And.Contain(what));
        }
        Assert.That(Directory.Exists(tmp.Sub("m1")), Is.False, "a refused merge writes nothing");
    }

    /// <summary>Starts `dotnet sim.dll ARGS` (the CLI next to the test assembly) with stdout and stderr redirected.</summary>
    internal static Process StartSim(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "sim.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi) ?? throw new InvalidOperationException("dotnet did not start");
    }
}
