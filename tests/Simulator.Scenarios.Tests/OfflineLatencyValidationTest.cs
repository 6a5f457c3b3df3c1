using NUnit.Framework;
using Simulator.Tests.Shared;

namespace Simulator.Scenarios.Tests;

/// <summary>
/// The offline-latency sets of <c>sim validate</c> (a batch handed to the engine at once, no API server): every shipped
/// row is compared, none is fitted, and the prediction is the engine's own work on the batch.
/// </summary>
[TestFixture]
public sealed class OfflineLatencyValidationTest
{
    private static readonly string Header = string.Join(",", OfflineLatencyValidation.Columns);

    [Test]
    public void EveryShippedOfflineLatencyRow_IsComparedOnce_InNoFit()
    {
        var sets = OfflineLatencyValidation.Run(TestPaths.Data());
        var rows = Directory.GetFiles(TestPaths.Data("calibration", "serving"), "*.csv")
            .Select(File.ReadAllLines).Where(l => l[0] == Header).Sum(l => l.Length - 1);
        Assert.That(rows, Is.GreaterThanOrEqualTo(3));
        Assert.That(sets.Sum(s => s.N), Is.EqualTo(rows));
        Assert.That(sets.Select(s => s.Fitted), Is.All.EqualTo("no"));
        Assert.That(sets.Select(s => s.Set), Is.All.StartsWith("serving/").And.All.EndsWith("/latency"));
        Assert.That(sets.Select(s => s.Source), Is.All.StartsWith("offline batch latency (no API server)"));
    }

    [Test]
    public void BatchLatency_IsPrefillPlusEveryDecodeStep_SoItGrowsWithTheOutputAndTheBatch()
    {
        var data = TestPaths.Data();
        double Latency(int batch, int output) => OfflineLatencyValidation.PredictLatencyMs(Row(batch, output), data);
        double base8 = Latency(8, 128), longer = Latency(8, 256), wider = Latency(64, 128);
        // Twice the output adds about as many decode steps again (the prefill of 8 x 32 tokens is one short step).
        Assert.That(longer / base8, Is.InRange(1.8, 2.05));
        Assert.That(wider, Is.GreaterThan(base8));
        // Each decode step of an 8B model at batch 8 on an H200 reads ~16 GB of weights: at least 3 ms at 4.8 TB/s.
        Assert.That(base8 / 128, Is.GreaterThan(16e9 / 4.8e12 * 1e3));
    }

    [Test]
    public void AShippedRowAndTheSameRowRebuilt_PredictTheSame()
    {
        var data = TestPaths.Data();
        var set = OfflineLatencyValidation.Run(data).Single(s => s.Set == "serving/vllm-ci-latency-h200/latency");
        var p8b = set.Points.Single(p => Math.Abs(p.Measured - 833.421) < 1e-9).Predicted;
        Assert.That(OfflineLatencyValidation.PredictLatencyMs(Row(8, 128), data), Is.EqualTo(p8b));
    }

    [Test]
    public void TheCiPipelinesThreeGpuGenerations_AreThreeSets_AndEachModelIsPredictedInTheMeasuredOrder()
    {
        // vLLM's CI ran the same three latency tests on A100, H100 and H200 (builds 9523, 9555, 9515): one set per GPU,
        // and for each model the slower GPU is slower in the prediction as in the measurement (A100 > H100 > H200).
        var sets = OfflineLatencyValidation.Run(TestPaths.Data()).Where(s => s.Set.StartsWith("serving/vllm-ci-latency-", StringComparison.Ordinal)).ToList();
        Assert.That(sets.Select(s => s.Set), Is.EqualTo(new[]
        {
            "serving/vllm-ci-latency-a100/latency", "serving/vllm-ci-latency-h100/latency", "serving/vllm-ci-latency-h200/latency",
        }));
        Assert.That(sets.Select(s => s.N), Is.All.EqualTo(3));
        for (int model = 0; model < 3; model++)
        {
            var measured = sets.Select(s => s.Points[model].Measured).ToArray();
            var predicted = sets.Select(s => s.Points[model].Predicted).ToArray();
            Assert.That(measured, Is.Ordered.Descending, $"row {model + 1}: measured");
            Assert.That(predicted, Is.Ordered.Descending, $"row {model + 1}: predicted");
        }
    }

    /// <summary>The shipped 8B row's setup with another batch and output length.</summary>
    private static ServingMeasurement Row(int batch, int output) =>
        new("test.csv", 2, "t", "vllm", "unstated", "llama-3.1-8b", "H200-SXM-141GB", 1, "bf16", "bf16", 32, output, "burst", batch, 0, 0.9,
            1024, 16384, "mean", double.NaN, double.NaN, double.NaN, "u");
}
