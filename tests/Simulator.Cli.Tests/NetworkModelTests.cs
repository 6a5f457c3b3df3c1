using System.Text.Json;

namespace Simulator.Cli.Tests;

/// <summary>`network.model: flow` end to end: the same scenario on shared links agrees with the analytic model and reports physical links.</summary>
[TestFixture, NonParallelizable]
public sealed class NetworkModelTests
{
    private static double Ttft(string dir, string stat) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "summary.json"))).RootElement.GetProperty("ttft_ms").GetProperty(stat).GetDouble();

    [Test]
    public void FlowMode_PipelineOverInfiniBand_AgreesWithAnalytic_AndReportsNicTraffic()
    {
        using var tmp = new TempDir();
        var scenario = CliHarness.Scenario("pipeline-tp8-pp2.yaml");
        var analytic = CliHarness.Run("run", scenario, "--set", "workload.requests=80", "--out", tmp.Sub("analytic"), "--no-report");
        var flow = CliHarness.Run("run", scenario, "--set", "workload.requests=80", "--set", "network.model=flow", "--out", tmp.Sub("flow"), "--no-report");
        Assert.That(analytic.ExitCode, Is.EqualTo(0), analytic.StdErr);
        Assert.That(flow.ExitCode, Is.EqualTo(0), flow.StdErr);

        double a = Ttft(tmp.Sub("analytic"), "p50"), f = Ttft(tmp.Sub("flow"), "p50");
        TestContext.Out.WriteLine($"TTFT p50: analytic {a:F2} ms, flow {f:F2} ms");
        Assert.That(f, Is.EqualTo(a).Within(1).Percent, "without other traffic the two network models agree");

        var links = CsvTable.Read(tmp.Sub("flow", "links.csv"));
        int name = links.Column("link"), bytes = links.Column("bytes_carried");
        var nic = links.Rows.Where(r => r[name].Contains("nic", StringComparison.Ordinal)).ToList();
        var nvlink = links.Rows.Where(r => r[name].Contains("nvswitch", StringComparison.Ordinal)).ToList();
        Assert.That(nic, Is.Not.Empty, "the PP sends cross the NICs between the two nodes");
        Assert.That(nvlink, Is.Not.Empty, "the TP all-reduces use the NVSwitch ports");
        Assert.That(nic.Sum(r => double.Parse(r[bytes], System.Globalization.CultureInfo.InvariantCulture)), Is.GreaterThan(0));
    }
}
