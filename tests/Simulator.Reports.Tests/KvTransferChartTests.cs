using ScottPlot.Plottables;

namespace Simulator.Reports.Tests;

/// <summary>The KV transfer chart of disaggregated runs: one CDF per decode pool, only when requests.csv has kv_transfer_ms.</summary>
public sealed class KvTransferChartTests
{
    [Test]
    public void DisaggregatedRun_GetsOneKvTransferCdfPerDecodePool()
    {
        using var tmp = new Fixtures.TempDir();
        var run = Fixtures.WriteRun(tmp.Sub("run"), new Fixtures.RunSpec("pd"));
        // Hand every request off: replica 0 prefills, replica 1 decodes; gpus.csv names the pools.
        var requests = File.ReadAllLines(Path.Combine(run, "requests.csv"));
        var withKv = requests.Select((line, i) => i == 0 ? line + ",prefill_replica,decode_replica,kv_transfer_ms,kv_transfer_bytes" : line + $",0,1,{(i % 10 + 1) * 0.5:0.0},1000");
        File.WriteAllLines(Path.Combine(run, "requests.csv"), withKv);
        var gpus = File.ReadAllLines(Path.Combine(run, "gpus.csv"));
        int replica = Array.IndexOf(gpus[0].Split(','), "replica");
        File.WriteAllLines(Path.Combine(run, "gpus.csv"), gpus.Select((line, i) => i == 0 ? line + ",pool" : line + (line.Split(',')[replica] == "1" ? ",decode" : ",prefill")));

        var result = ReportBuilder.Build(new[] { run }, tmp.Sub("out"));
        var plot = result.Charts.Single(c => c.Name == "kv_transfer_cdf").Plot;
        var line = plot.GetPlottables<Scatter>().Single();
        Assert.That(line.LegendText, Does.StartWith("to decode (n="));
        var ys = line.Data.GetScatterPoints().Select(p => p.Y).ToList();
        Assert.That(ys, Is.Ordered);
        Assert.That(ys[^1], Is.EqualTo(1.0));
        Assert.That(plot.Axes.Left.Label.Text, Is.EqualTo("fraction of handed-off requests"));
    }

    [Test]
    public void ColocatedRun_HasNoKvTransferChart()
    {
        using var tmp = new Fixtures.TempDir();
        var run = Fixtures.WriteRun(tmp.Sub("run"), new Fixtures.RunSpec("mixed"));
        var result = ReportBuilder.Build(new[] { run }, tmp.Sub("out"));
        Assert.That(result.Charts.Select(c => c.Name), Has.None.EqualTo("kv_transfer_cdf"));
    }
}
