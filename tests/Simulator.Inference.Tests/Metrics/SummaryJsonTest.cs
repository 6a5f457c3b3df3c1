using NUnit.Framework;
using System.Text.Json;
using Simulator.Inference.Metrics;
using static Simulator.Inference.Tests.Metrics.MetricsTestData;

namespace Simulator.Inference.Tests.Metrics;

public sealed class SummaryJsonTest
{
    private static RunSummary Summary()
    {
        var acc = new RunMetricsAccumulator(Meta().Slo);
        foreach (var r in SmallRun()) acc.Add(r, RequestLatencies.From(r));
        acc.AddTokenGaps(100 * Ms, 10);
        acc.AddTokenGaps(20 * Ms, 20);
        return acc.Summarize(Meta(), End());
    }

    [Test]
    public void Write_HasEveryContractField()
    {
        using var doc = JsonDocument.Parse(SummaryJson.ToBytes(Summary()));
        var root = doc.RootElement;
        Assert.That(root.GetProperty("scenario").GetString(), Is.EqualTo("unit-test"));
        Assert.That(root.GetProperty("seed").GetInt64(), Is.EqualTo(7));
        var expected = new Dictionary<string, string[]>
        {
            ["requests"] = ["total", "completed", "rejected", "failed", "unfinished"],
            ["ttft_ms"] = ["mean", "p50", "p90", "p95", "p99", "max"],
            ["tpot_ms"] = ["mean", "p50", "p90", "p95", "p99", "max"],
            ["e2e_ms"] = ["mean", "p50", "p90", "p95", "p99", "max"],
            ["itl_ms"] = ["mean", "p50", "p90", "p95", "p99", "max", "count"],
            ["throughput"] = ["requests_per_s", "input_tokens_per_s", "output_tokens_per_s"],
            ["slo"] = ["attainment", "goodput_requests_per_s", "ttft_ms", "tpot_ms", "percentile"],
            ["pipeline"] = ["stages", "microbatches", "bubble_fraction"],
            ["simulation"] = ["events", "simulated_s"],
        };
        foreach (var (obj, fields) in expected)
            foreach (var f in fields)
                Assert.That(root.GetProperty(obj).GetProperty(f).ValueKind, Is.EqualTo(JsonValueKind.Number), $"{obj}.{f}");
    }

    [Test]
    public void Write_HasNoWallClockFigures()
    {
        var text = System.Text.Encoding.UTF8.GetString(SummaryJson.ToBytes(Summary()));
        Assert.That(text, Does.Not.Contain("wall_s").And.Not.Contain("events_per_s"));
    }

    [Test]
    public void Write_ThenRead_RoundTrips()
    {
        var s = Summary();
        Assert.That(SummaryJson.Read(SummaryJson.ToBytes(s)), Is.EqualTo(s));
    }

    [Test]
    public void FaultsAvailabilityAndReasons_AreWritten_AndRoundTrip()
    {
        var acc = new RunMetricsAccumulator(Meta().Slo);
        foreach (var r in SmallRun()) acc.Add(r, RequestLatencies.From(r));
        var failed = new RequestRecord(99, 0, -1, 10, 10, 0, 0, RequestStatus.Failed, null, null, null, 0, Retries: 2, Reason: RequestReasons.RetriesExhausted);
        acc.Add(failed, RequestLatencies.From(failed));
        var faults = new FaultSummary(0.9, [new FaultRecord(2_000_000_000, "gpu_down", "gpu5", 3_000_000_000), new FaultRecord(4_000_000, "straggler", "gpu1", null, 2.0)]);
        var s = acc.Summarize(Meta(), End() with { Faults = faults });

        using var doc = JsonDocument.Parse(SummaryJson.ToBytes(s));
        var root = doc.RootElement;
        Assert.That(root.GetProperty("availability").GetDouble(), Is.EqualTo(0.9));
        var first = root.GetProperty("faults")[0];
        Assert.That(first.GetProperty("at_s").GetDouble(), Is.EqualTo(2.0));
        Assert.That(first.GetProperty("kind").GetString(), Is.EqualTo("gpu_down"));
        Assert.That(first.GetProperty("target").GetString(), Is.EqualTo("gpu5"));
        Assert.That(first.GetProperty("duration_s").GetDouble(), Is.EqualTo(3.0));
        Assert.That(root.GetProperty("faults")[1].GetProperty("duration_s").ValueKind, Is.EqualTo(JsonValueKind.Null), "permanent");
        Assert.That(root.GetProperty("requests").GetProperty("reasons").GetProperty("retries_exhausted").GetInt64(), Is.EqualTo(1));
        Assert.That(SummaryJson.Read(SummaryJson.ToBytes(s)), Is.EqualTo(s));
    }

    [Test]
    public void Write_SameInputs_SameBytes()
    {
        var a = SummaryJson.ToBytes(Summary());
        var b = SummaryJson.ToBytes(Summary());
        Assert.That(b, Is.EqualTo(a));
    }

    [Test]
    public void Write_IsIndentedWithLfLineEnds()
    {
        var text = System.Text.Encoding.UTF8.GetString(SummaryJson.ToBytes(Summary()));
        Assert.That(text, Does.StartWith("{\n  \"scenario\": \"unit-test\",\n  \"seed\": 7,\n"));
        Assert.That(text, Does.Not.Contain("\r"));
        Assert.That(text, Does.EndWith("}\n"));
    }

    [Test]
    public void Write_EmptyStatistics_AreNull()
    {
        var acc = new RunMetricsAccumulator(SloSpec.None);
        var s = acc.Summarize(Meta(SloSpec.None), RunEndInputs.Minimal(new SimulationStats(0, 0, 0)));
        using var doc = JsonDocument.Parse(SummaryJson.ToBytes(s));
        var ttft = doc.RootElement.GetProperty("ttft_ms");
        Assert.That(ttft.GetProperty("p50").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(ttft.GetProperty("count").GetInt64(), Is.EqualTo(0));
        Assert.That(doc.RootElement.GetProperty("slo").GetProperty("ttft_ms").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(SummaryJson.Read(SummaryJson.ToBytes(s)).TtftMs, Is.EqualTo(LatencyStats.Empty));
    }

    [Test]
    public void WritePerf_HasWallClockFigures()
    {
        using var ms = new MemoryStream();
        SummaryJson.WritePerf(new SimulationStats(1_000_000, 5 * S, 2.0), ms);
        using var doc = JsonDocument.Parse(ms.ToArray());
        Assert.That(doc.RootElement.GetProperty("wall_s").GetDouble(), Is.EqualTo(2.0));
        Assert.That(doc.RootElement.GetProperty("events_per_s").GetDouble(), Is.EqualTo(500_000));
        Assert.That(doc.RootElement.GetProperty("threads").GetInt32(), Is.EqualTo(1));
        Assert.That(doc.RootElement.TryGetProperty("serial_reason", out _), Is.False);
    }

    [Test]
    public void WritePerf_SaysWhyARunThatAskedForThreadsUsedOne()
    {
        using var ms = new MemoryStream();
        SummaryJson.WritePerf(new SimulationStats(10, 5 * S, 2.0, 1, "faults: a failing replica sends its requests to others"), ms);
        using var doc = JsonDocument.Parse(ms.ToArray());
        Assert.That(doc.RootElement.GetProperty("serial_reason").GetString(), Does.StartWith("faults"));
    }
}
