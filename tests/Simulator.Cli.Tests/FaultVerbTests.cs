namespace Simulator.Cli.Tests;

/// <summary>`sim run` with fault keys: the console lines, and one located error line (exit 2) for a bad fault.</summary>
[TestFixture, NonParallelizable]
public sealed class FaultVerbTests
{
    private static readonly string Scenario = CliHarness.Scenario("faults-gpu-down.yaml");

    [Test]
    public void Run_WithANodeDown_PrintsFaultsAndReasons_AndExitsZero()
    {
        using var tmp = new TempDir();
        var r = CliHarness.Run("run", Scenario, "--out", System.IO.Path.Combine(tmp.Path, "run"), "--no-report",
            "--set", "workload.trace.limit=200", "--set", "faults=[{at_s: 20, kind: node_down, node: 0}]");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.StdOut, Does.Contain("Faults: 1 applied, availability"));
        Assert.That(r.StdOut, Does.Match(@"Not completed, by reason: no_live_replica \d+"));
    }

    [TestCase("faults=[{at_s: 1, kind: link_degraded, link: eth0, bandwidth_factor: 0.5}]", "faults[0].link: no link named 'eth0'")]
    [TestCase("faults=[{at_s: 1, kind: gpu_down, gpu: 8}]", "faults[0].gpu: 8 is out of range; expected an integer from 0 to 7")]
    [TestCase("retry.max_retries=two", "retry.max_retries: expected an integer from 0 to 1000, got 'two'")]
    public void Run_WithABadFault_GivesOneErrorLine_ExitTwo_NothingWritten(string set, string expected)
    {
        using var tmp = new TempDir();
        var outDir = System.IO.Path.Combine(tmp.Path, "run");
        var r = CliHarness.Run("run", Scenario, "--out", outDir, "--no-report", "--set", set);
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.ErrorLines, Has.Count.EqualTo(1), r.ToString());
        Assert.That(r.ErrorLines[0], Does.StartWith("error: ").And.Contain(expected));
        Assert.That(Directory.Exists(outDir), Is.False);
    }
}
