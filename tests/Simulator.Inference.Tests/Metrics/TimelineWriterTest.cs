using System.Text.Json;
using NUnit.Framework;
using Simulator.Inference.Metrics;
using static Simulator.Inference.Tests.Metrics.MetricsTestData;

namespace Simulator.Inference.Tests.Metrics;

public sealed class TimelineWriterTest
{
    [Test]
    public void MsArguments_AreTheTextOfTheRoundedDecimal()
    {
        // The timeline wrote decimal.Round(ns / 1_000_000m, 3) until the integer formatter replaced it: the same JSON.
        var values = new List<long> { 0, 1, 499, 500, 501, 1_500, 2_500, 999_999, 1_000_000, 1_230_000, 1_230_400, 1_234_500, 1_235_500,
            1_999_500, 1_999_501, -1, -400, -500, -1_500, -1_234_567, long.MaxValue, long.MinValue };
        var random = new Random(11);
        for (int i = 0; i < 20_000; i++)
            values.Add(random.NextInt64(0, 50_000_000_000L) / (i % 3 == 0 ? 1 : i % 3 == 1 ? 500 : 1) * (i % 3 == 1 ? 500 : 1));
        Span<byte> text = stackalloc byte[MetricFormat.MaxNsChars];
        foreach (var ns in values)
        {
            var expected = new MemoryStream();
            using (var w = new Utf8JsonWriter(expected)) w.WriteNumberValue(decimal.Round(ns / 1_000_000m, 3));
            Assert.That(System.Text.Encoding.UTF8.GetString(text[..TimelineWriter.FormatMs(text, ns)]),
                Is.EqualTo(System.Text.Encoding.UTF8.GetString(expected.ToArray())), $"{ns} ns");
        }
    }

    private static List<JsonElement> Write(Action<TimelineWriter> feed, long cap = 1000)
    {
        var ms = new MemoryStream();
        var w = new TimelineWriter(ms, cap);
        feed(w);
        w.Finish();
        using var doc = JsonDocument.Parse(ms.ToArray());
        return doc.RootElement.GetProperty("traceEvents").EnumerateArray().Select(e => e.Clone()).ToList();
    }

    private static IterationRecord Batch(long startNs, long endNs, long computeNs, long ppNs = 0, long tpNs = 0, int stage = 0) =>
        new(0, stage, 1, 0, startNs, endNs, 2, 0, 2, StageCostOf(computeNs, tpNs: tpNs, ppNs: ppNs), 1);

    [Test]
    public void Slices_EndpointsRoundedOnce_ConsecutiveSlicesTouchButNeverOverlap()
    {
        // 0.6 us .. 2.4 us .. 4.5 us: separate rounding of ts and dur would give ts 1, dur 2 (ends at 3) then ts 2.
        var events = Write(w =>
        {
            w.Add(Batch(600, 2_400, 1_800));
            w.Add(Batch(2_400, 4_500, 2_100));
        });
        var x = events.Where(e => e.GetProperty("ph").GetString() == "X")
            .Select(e => (e.GetProperty("ts").GetInt64(), e.GetProperty("dur").GetInt64())).ToList();
        Assert.That(x, Is.EqualTo(new[] { (1L, 1L), (2L, 3L) }));
    }

    [Test]
    public void CommSlices_WhoseShareOverflows64Bits_SplitTheWindowExactly()
    {
        // A 2^40 ns window split 3:1 between TP (3 x 2^40 ns analytic) and EP (2^40 ns): window x TP does not fit in
        // 64 bits, so the split takes the 128-bit path; TP must end at exactly 3/4 of the window.
        const long window = 1L << 40;
        var events = Write(w => w.Add(new IterationRecord(0, 0, 1, 0, 0, window, 2, 0, 2,
            StageCostOf(0, tpNs: 3L << 40, epNs: 1L << 40), 1)));
        var x = events.Where(e => e.GetProperty("ph").GetString() == "X")
            .ToDictionary(e => e.GetProperty("name").GetString()!, e => (e.GetProperty("ts").GetInt64(), e.GetProperty("dur").GetInt64()));
        long split = TimelineWriter.Us(window / 4 * 3);
        Assert.Multiple(() =>
        {
            Assert.That(x.Single(kv => kv.Key.Contains("TP comm", StringComparison.Ordinal)).Value, Is.EqualTo((0L, split)));
            Assert.That(x.Single(kv => kv.Key.Contains("EP comm", StringComparison.Ordinal)).Value, Is.EqualTo((split, TimelineWriter.Us(window) - split)));
        });
    }

    [Test]
    public void PpSends_ThatOverlapInTime_GoToSeparateLanes()
    {
        // Two 1 ms batches back to back, each followed by a 1.5 ms send: the second send starts while the first is in flight.
        var events = Write(w =>
        {
            w.Add(Batch(0, Ms, Ms, ppNs: 3 * Ms / 2));
            w.Add(Batch(Ms, 2 * Ms, Ms, ppNs: 3 * Ms / 2));
            w.Add(Batch(3 * Ms, 4 * Ms, Ms, ppNs: 3 * Ms / 2));
        });
        var sends = events.Where(e => e.GetProperty("ph").GetString() == "X" && e.GetProperty("name").GetString() == "PP send")
            .Select(e => (e.GetProperty("tid").GetInt32(), e.GetProperty("ts").GetInt64())).ToList();
        Assert.That(sends, Is.EqualTo(new[] { (4, 1000L), (5, 2000L), (4, 4000L) }));
        var names = events.Where(e => e.GetProperty("name").GetString() == "thread_name").Select(e => e.GetProperty("args").GetProperty("name").GetString());
        Assert.That(names, Is.EqualTo(new[] { "stage 0 compute", "stage 0 -> 1 PP send", "stage 0 -> 1 PP send (2)" }));
    }

    [Test]
    public void SubMicrosecondComm_IsNotWritten()
    {
        var events = Write(w => w.Add(Batch(0, 10_300, 10_000, tpNs: 300)));
        Assert.That(events.Count(e => e.GetProperty("ph").GetString() == "X"), Is.EqualTo(1));
    }

    [Test]
    public void GpuLabel_RangesListsAndSingles()
    {
        Assert.That(TimelineLayout.GpuLabel([3, 2, 1, 0]), Is.EqualTo("GPUs 0-3"));
        Assert.That(TimelineLayout.GpuLabel([0, 2, 4]), Is.EqualTo("GPUs 0,2,4"));
        Assert.That(TimelineLayout.GpuLabel([5]), Is.EqualTo("GPU 5"));
    }
}
