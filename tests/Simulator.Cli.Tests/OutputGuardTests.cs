namespace Simulator.Cli.Tests;

/// <summary>
/// `sim plan`, `sim merge`, `sim validate` and the shard outputs of `sim sweep|plan --shard` write their folder the way
/// `sim run` does: into a hidden sibling published at the end, replacing only an earlier output of their kind (its
/// marker), refusing a folder of someone else's files, and leaving nothing behind when they fail or are interrupted.
/// </summary>
[TestFixture, NonParallelizable]
public sealed class OutputGuardTests
{
    // One GPU: one layout (TP1 x 1), a handful of probe runs of 40 requests.
    private const string Plan = """
        name: guard-plan
        model: llama-3.1-8b
        cluster: {gpu: H100-SXM-80GB}
        workload:
          arrivals: {process: poisson, rate_per_s: 4}
          input_tokens: 64
          output_tokens: 8
          requests: 40
        slo: {ttft_ms: 400, tpot_ms: 55, percentile: 95}
        """;

    private const string Sweep = OutputTargetTests.Small + "\nsweep: {seed: [1, 2]}\n";

    private static readonly string[] PlanFlags = ["--gpus", "1", "--max-requests", "40", "--jobs", "1"];

    /// <summary>An earlier output of a kind (its marker), holding a stale file and a stale point folder.</summary>
    private static string Earlier(TempDir tmp, string name, string marker)
    {
        var dir = tmp.Sub(name);
        Directory.CreateDirectory(Path.Combine(dir, "points", "9999-stale"));
        File.WriteAllBytes(Path.Combine(dir, marker), []);
        File.WriteAllText(Path.Combine(dir, "stale.txt"), "from an earlier run");
        return dir;
    }

    /// <summary>A folder of the user's own files.</summary>
    private static string Mine(TempDir tmp)
    {
        var dir = tmp.Sub("mine");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "thesis.tex"), "precious");
        return dir;
    }

    private static void AssertRefusedAndUntouched(CliResult r, string dir, string kind)
    {
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.ErrorLines, Has.Count.EqualTo(1), r.ToString());
        Assert.That(r.ErrorLines[0], Does.StartWith($"error: --out: {dir} holds 1 file(s) or folder(s) that are not a {kind} directory of sim")
            .And.Contain("nothing was deleted"));
        Assert.That(Directory.GetFileSystemEntries(dir).Select(Path.GetFileName), Is.EqualTo(new[] { "thesis.tex" }));
        Assert.That(File.ReadAllText(Path.Combine(dir, "thesis.tex")), Is.EqualTo("precious"));
    }

    private static void AssertNoPartial(TempDir tmp) =>
        Assert.That(Directory.GetFileSystemEntries(tmp.Path).Select(Path.GetFileName).Where(n => n!.Contains(".partial-", StringComparison.Ordinal)
            || n.Contains(".old-", StringComparison.Ordinal)), Is.Empty, "no temporary sibling is left");

    private static void AssertKept(string dir, string marker)
    {
        Assert.That(File.ReadAllText(Path.Combine(dir, "stale.txt")), Is.EqualTo("from an earlier run"), "the earlier output is kept whole");
        Assert.That(File.Exists(Path.Combine(dir, marker)) && Directory.Exists(Path.Combine(dir, "points", "9999-stale")), Is.True);
    }

    private static void AssertReplaced(string dir, string marker)
    {
        Assert.That(File.Exists(Path.Combine(dir, "stale.txt")), Is.False, "the earlier output is replaced whole");
        Assert.That(Directory.Exists(Path.Combine(dir, "points", "9999-stale")), Is.False, "an older output's extra points are gone");
        Assert.That(File.Exists(Path.Combine(dir, marker)), Is.True, "the output carries its marker");
        foreach (var report in new[] { "report.html", "report.md" }.Select(f => Path.Combine(dir, f)).Where(File.Exists))
            Assert.That(File.ReadAllText(report), Does.Not.Contain(".partial-"), "a report never names the temporary folder");
    }

    [Test]
    public void Plan_RerunReplacesItsEarlierPlan_WithTheReportInside()
    {
        using var tmp = new TempDir();
        var scenario = tmp.Write("p.yaml", Plan);
        var dir = Earlier(tmp, "plan", ".sim-plan");

        var r = CliHarness.Run(["plan", scenario, "--out", dir, .. PlanFlags]);

        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        AssertReplaced(dir, ".sim-plan");
        Assert.That(Directory.GetDirectories(Path.Combine(dir, "points")).Select(Path.GetFileName), Is.EqualTo(new[] { "0000-H100-SXM-80GB-tp1-pp1-ep1-r1" }));
        Assert.That(File.Exists(Path.Combine(dir, "report.html")) && File.Exists(Path.Combine(dir, "charts", "pareto.png")), Is.True,
            "the report is written before the plan is published");
        Assert.That(r.StdOut, Does.Contain($"report: {Path.Combine(dir, "report.html")}"), "the printed paths are the published ones");
        AssertNoPartial(tmp);
    }

    [Test]
    public void Plan_ThatDoesNotFit_LeavesTheEarlierPlanAndNoPartialFolder()
    {
        using var tmp = new TempDir();
        var scenario = tmp.Write("p.yaml", Plan);
        var dir = Earlier(tmp, "plan", ".sim-plan");
        var fresh = tmp.Sub("new", "plan");

        var r = CliHarness.Run(["plan", scenario, "--out", dir, "--set", "model=llama-3.1-405b", .. PlanFlags]);
        var again = CliHarness.Run(["plan", scenario, "--out", fresh, "--set", "model=llama-3.1-405b", .. PlanFlags]);

        Assert.That(r.ExitCode, Is.EqualTo(3), r.ToString());
        Assert.That(again.ExitCode, Is.EqualTo(3), again.ToString());
        AssertKept(dir, ".sim-plan");
        Assert.That(Directory.Exists(tmp.Sub("new")), Is.False, "a failed plan leaves no folder, not even the parents it created");
        AssertNoPartial(tmp);
    }

    [Test]
    public void Plan_IntoAFolderOfUserFiles_IsRefusedBeforePlanning()
    {
        using var tmp = new TempDir();
        var scenario = tmp.Write("p.yaml", Plan);
        var mine = Mine(tmp);

        var r = CliHarness.Run(["plan", scenario, "--out", mine, .. PlanFlags]);

        AssertRefusedAndUntouched(r, mine, "plan");
        Assert.That(r.StdOut, Does.Not.Contain("planning"), "refused before anything is planned");
    }

    [Test]
    public void RunSweepAndSweepMerge_PublishTheirReportWithTheData_NamingThePublishedFolder()
    {
        using var tmp = new TempDir();
        var run = tmp.Write("r.yaml", OutputTargetTests.Small);
        var sweep = tmp.Write("s.yaml", Sweep);
        string runDir = tmp.Sub("run"), sweepDir = tmp.Sub("sweep"), mergedDir = tmp.Sub("merged");

        var results = new[]
        {
            (CliHarness.Run("run", run, "--out", runDir), runDir),
            (CliHarness.Run("sweep", sweep, "--out", sweepDir, "--jobs", "1"), sweepDir),
        };
        Assert.That(CliHarness.Run("sweep", sweep, "--shard", "0/2", "--out", tmp.Sub("s0"), "--jobs", "1", "--no-report").ExitCode, Is.EqualTo(0));
        Assert.That(CliHarness.Run("sweep", sweep, "--shard", "1/2", "--out", tmp.Sub("s1"), "--jobs", "1", "--no-report").ExitCode, Is.EqualTo(0));
        results = [.. results, (CliHarness.Run("merge", tmp.Sub("s0"), tmp.Sub("s1"), "--out", mergedDir), mergedDir)];

        foreach (var (r, dir) in results)
        {
            Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
            var md = File.ReadAllText(Path.Combine(dir, "report.md"));
            Assert.That(md, Does.Contain("Inputs: " + dir + ".").And.Not.Contain(".partial-"), dir);
            Assert.That(File.ReadAllText(Path.Combine(dir, "report.html")), Does.Contain("Inputs: " + dir + ".").And.Not.Contain(".partial-"), dir);
            Assert.That(Directory.GetFiles(Path.Combine(dir, "charts")), Is.Not.Empty, dir);
            Assert.That(r.StdOut, Does.Contain("report: ").And.Not.Contain(".partial-"), dir);
        }
        AssertNoPartial(tmp);
    }

    [TestCase("INT", 130)]
    public void Plan_Interrupted_RemovesItsPartialFolder(string signal, int exitCode)
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("POSIX signals, sent with kill and GNU env");
        using var tmp = new TempDir();
        // Probes of 2,000,000 requests: minutes per layout, signalled as soon as the first probe streams its timeline.
        var scenario = tmp.Write("p.yaml", Plan.Replace("requests: 40", "requests: 2000000"));
        var outDir = tmp.Sub("results", "plan");

        var (exit, stderr) = OutputTargetTests.Interrupt(signal, tmp.Sub("results"), "timeline.json",
            "plan", scenario, "--out", outDir, "--gpus", "1", "--max-requests", "2000000", "--jobs", "1");

        Assert.That(exit, Is.EqualTo(exitCode), stderr);
        Assert.That(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Single(), Does.StartWith("error: interrupted by SIG" + signal));
        Assert.That(Directory.GetFileSystemEntries(tmp.Sub("results")), Is.Empty, "no plan directory and no .partial- folder");
    }

    [Test]
    public void PlanShards_CarryTheirManifestAndMarker_AndMergeReplacesOnlyAnEarlierPlan()
    {
        using var tmp = new TempDir();
        var scenario = tmp.Write("p.yaml", Plan);
        string[] flags = ["--gpus", "2", "--max-requests", "40", "--jobs", "1"];
        foreach (var i in new[] { 0, 1 })
            Assert.That(CliHarness.Run(["plan", scenario, "--shard", $"{i}/2", "--out", tmp.Sub($"s{i}"), .. flags]).ExitCode, Is.EqualTo(0));
        Assert.That(File.Exists(tmp.Sub("s0", "shard.json")) && File.Exists(tmp.Sub("s0", ".sim-plan")), Is.True, "a shard is published whole");
        var merged = Earlier(tmp, "merged", ".sim-plan");

        var r = CliHarness.Run("merge", tmp.Sub("s0"), tmp.Sub("s1"), "--out", merged);

        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        AssertReplaced(merged, ".sim-plan");
        Assert.That(File.Exists(Path.Combine(merged, "shard.json")), Is.False, "a merged plan is no shard");
        Assert.That(File.Exists(Path.Combine(merged, "report.html")), Is.True, "the report is written before the merge is published");
        Assert.That(r.StdOut, Does.Contain($"report: {Path.Combine(merged, "report.html")}"));
        var sweepDir = Earlier(tmp, "a-sweep", ".sim-sweep");
        var wrongKind = CliHarness.Run("merge", tmp.Sub("s0"), tmp.Sub("s1"), "--out", sweepDir);
        Assert.That(wrongKind.ExitCode, Is.EqualTo(2), wrongKind.ToString());
        Assert.That(wrongKind.ErrorLines.Single(), Does.Contain("not a plan directory of sim (no .sim-plan marker)"), "a merged plan never replaces a sweep");
        AssertKept(sweepDir, ".sim-sweep");
        AssertNoPartial(tmp);
    }

    [Test]
    public void SweepMerge_RerunReplaces_AFailedMergeKeepsTheEarlierOne_AndUserFilesAreRefused()
    {
        using var tmp = new TempDir();
        var scenario = tmp.Write("s.yaml", Sweep);
        foreach (var i in new[] { 0, 1 })
            Assert.That(CliHarness.Run("sweep", scenario, "--shard", $"{i}/2", "--out", tmp.Sub($"s{i}"), "--jobs", "1").ExitCode, Is.EqualTo(0));
        // An empty shard (more shards than points) is published the same way.
        Assert.That(CliHarness.Run("sweep", scenario, "--shard", "3/4", "--out", tmp.Sub("empty"), "--jobs", "1").ExitCode, Is.EqualTo(0));
        foreach (var shard in new[] { "s0", "empty" })
            Assert.That(File.Exists(tmp.Sub(shard, "shard.json")) && File.Exists(tmp.Sub(shard, ".sim-sweep")), Is.True, shard);
        var merged = Earlier(tmp, "merged", ".sim-sweep");

        var failed = CliHarness.Run("merge", tmp.Sub("s0"), "--out", merged);
        Assert.That(failed.ExitCode, Is.EqualTo(2), failed.ToString());
        AssertKept(merged, ".sim-sweep");

        var r = CliHarness.Run("merge", tmp.Sub("s0"), tmp.Sub("s1"), "--out", merged);
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        AssertReplaced(merged, ".sim-sweep");
        Assert.That(Directory.GetDirectories(Path.Combine(merged, "points")), Has.Length.EqualTo(2));
        Assert.That(File.Exists(Path.Combine(merged, "report.html")), Is.True);

        var mine = Mine(tmp);
        AssertRefusedAndUntouched(CliHarness.Run("merge", tmp.Sub("s0"), tmp.Sub("s1"), "--out", mine), mine, "sweep");
        var holder = CliHarness.Run("merge", tmp.Sub("s0"), tmp.Sub("s1"), "--out", tmp.Path);
        Assert.That(holder.ExitCode, Is.EqualTo(2), holder.ToString());
        Assert.That(holder.ErrorLines.Single(), Does.Contain("must not be one of the shard directories or hold one"), "the folder holding the shards is never replaced");
        AssertNoPartial(tmp);
    }

    [Test]
    public void Validate_RerunReplacesItsEarlierOutput_AFailedOneKeepsIt_AndUserFilesAreRefused()
    {
        using var tmp = new TempDir();
        var dir = Earlier(tmp, "val", ".sim-validate");

        var failed = CliHarness.Run("validate", "--data", tmp.Sub("no-data"), "--out", dir);
        Assert.That(failed.ExitCode, Is.EqualTo(2), failed.ToString());
        AssertKept(dir, ".sim-validate");
        var mine = Mine(tmp);
        AssertRefusedAndUntouched(CliHarness.Run("validate", "--out", mine), mine, "validate");

        var r = CliHarness.Run("validate", "--out", dir);
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        AssertReplaced(dir, ".sim-validate");
        Assert.That(File.Exists(Path.Combine(dir, "report.html")) && File.Exists(Path.Combine(dir, "validation_points.csv")), Is.True,
            "the charts and the report are written before the folder is published");
        AssertNoPartial(tmp);
    }
}
