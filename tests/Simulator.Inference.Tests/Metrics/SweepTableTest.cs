using NUnit.Framework;
using System.Text;
using Simulator.Inference.Metrics;
using static Simulator.Inference.Tests.Metrics.MetricsTestData;

namespace Simulator.Inference.Tests.Metrics;

public sealed class SweepTableTest
{
    private static RunSummary Summary()
    {
        var acc = new RunMetricsAccumulator(Meta().Slo);
        foreach (var r in SmallRun()) acc.Add(r, RequestLatencies.From(r));
        return acc.Summarize(Meta(), End());
    }

    private static string[] Write(IReadOnlyList<string> keys, IReadOnlyList<SweepPointResult> points)
    {
        using var ms = new MemoryStream();
        SweepTable.Write(ms, keys, points);
        return Encoding.UTF8.GetString(ms.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    [Test]
    public void Write_HeaderIsSweptKeysThenDocumentedColumns()
    {
        var lines = Write(["parallelism.microbatches", "parallelism.tensor_parallel_size"], []);
        Assert.That(lines[0], Is.EqualTo("parallelism.microbatches,parallelism.tensor_parallel_size,completed,ttft_p50_ms,ttft_p95_ms," +
            "tpot_p50_ms,tpot_p95_ms,output_tokens_per_s,bubble_fraction,slo_attainment,goodput_requests_per_s,status,error"));
    }

    [Test]
    public void Write_OkPointAndErrorPoint()
    {
        var lines = Write(["parallelism.microbatches"],
        [
            new SweepPointResult(["4"], Summary()),
            new SweepPointResult(["8"], null, "bad, input\nsecond line"),
        ]);
        Assert.That(lines[1], Is.EqualTo("4,4,200.000,710.000,60.000,96.000,28.333,0.3750,0.3333,1.6667,ok,"));
        Assert.That(lines[2], Is.EqualTo("8,,,,,,,,,,error,\"bad, input second line\""));
    }

    [Test]
    public void Write_ValueCountMismatch_Throws() =>
        Assert.That(() => Write(["a", "b"], [new SweepPointResult(["1"], Summary())]), Throws.ArgumentException);
}
