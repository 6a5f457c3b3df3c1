using System.Globalization;
using NUnit.Framework;
using Simulator.Hardware.Collectives;
using Simulator.Hardware.Specs;
using Simulator.Hardware.Topology;
using Simulator.Inference.Models;
using Simulator.Inference.Cost;
using Simulator.Tests.Shared;

namespace Simulator.Inference.Tests.Cost;

/// <summary>
/// Held-out check: operator times the cost model was NOT fitted to — Llama-3.1-8B and -70B GEMMs measured on an
/// H200 (data/calibration/measured/h200, tools/gpu-measure) — predicted with the default H100 profile
/// (fitted on Vidur's H100 files and our H100 measurements of the same method as the H200 ones) and the H200's
/// datasheet numbers only. The H100-only profile (<see cref="CalibrationProfile.H100Measured"/>) is printed alongside.
/// </summary>
[TestFixture]
public sealed class HeldOutAccuracyTest
{
    private static readonly GpuSpec H200 = new("H200-SXM-141GB", 141, 4.8, 989, 1979, 1979, 67, "nvlink4", "ib-ndr400", 132, "NVIDIA H200 datasheet");

    internal static List<MeasuredOperatorTable> MeasuredTables(string gpu) =>
        Directory.GetFiles(TestPaths.Data("calibration", "measured", gpu, "meta-llama"), "mlp.csv", SearchOption.AllDirectories)
            .OrderBy(p => p, StringComparer.Ordinal).Select(MeasuredOperatorTable.Load).ToList();

    [Test]
    public void H100Profile_WithH200Datasheet_HeldOutLlama31Operators_MedianErrorWithinTenPercent()
    {
        const string gpuName = "h200";
        var gpu = H200;
        var profile = CalibrationProfile.For(H200);
        Assert.That(profile.EtaMemory, Is.EqualTo(CalibrationProfile.H100.EtaMemory), "H200 must use the H100 efficiencies");
        var samples = CalibrationFitter.Samples(MeasuredTables(gpuName));
        Assert.That(samples, Has.Count.GreaterThan(500));
        var errors = samples.Select(s => CalibrationFitter.PredictMs(s, gpu, profile) / s.MeasuredMs - 1).ToList();
        var abs = errors.Select(Math.Abs).OrderBy(e => e).ToList();
        double median = abs[abs.Count / 2], p90 = abs[(int)(abs.Count * 0.9)];
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{gpuName} held-out: {samples.Count} samples, median |error| {median:P1}, p90 {p90:P1}, mean signed {errors.Average():+0.0%;-0.0%}"));
        foreach (var g in samples.Zip(errors).GroupBy(x => (x.First.Op, x.First.Tokens >= 512 ? "compute-bound (>=512 tok)" : "memory-bound (<512 tok)")))
        {
            var e = g.Select(x => Math.Abs(x.Second)).OrderBy(v => v).ToList();
            TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {g.Key.Op,-15} {g.Key.Item2,-26} median {e[e.Count / 2]:P1}"));
        }
        var measuredOnly = CalibrationProfile.H100Measured with { Name = "h100-measured-on-h200" };
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  (profile fitted on our H100 data only: median |error| {CalibrationFitter.MedianAbsRelError(samples, gpu, measuredOnly):P1})"));
        Assert.That(median, Is.LessThanOrEqualTo(0.10));
    }

    /// <summary>
    /// Whole decode steps, never fitted: a Llama-3.1-8B-shaped decoder (random bf16 weights) captured in a CUDA graph
    /// and replayed on an H100 SXM and an H200 (tools/gpu-measure/measure_decode.py; data/calibration/measured/*/decode_step.csv),
    /// against the cost model's kernel terms under <c>engine: vllm</c> (per-kernel time capped for graph replay; the
    /// host-side engine overhead is left out, since the measurement has no scheduler). Checks how the per-operator
    /// model composes into an iteration.
    /// </summary>
    [TestCase("h100", "H100-SXM-80GB")]
    [TestCase("h200", "H200-SXM-141GB")]
    public void VllmKernelTerms_MeasuredCudaGraphDecodeSteps_WithinTenPercent(string dir, string gpuName)
    {
        var gpu = GpuPresets.Get(gpuName);
        var timer = new AnalyticCollectives(ClusterTopology.FromPresets(gpuName, 1, 8));
        var profile = CalibrationProfile.For(gpu).WithEngine("vllm");
        var lines = File.ReadAllLines(TestPaths.Data("calibration", "measured", dir, "decode_step.csv"));
        Assert.That(lines[0], Is.EqualTo("gpu,model,batch,context,median_ms,min_ms,max_ms"));
        var errors = new List<double>();
        foreach (var line in lines.Skip(1))
        {
            var f = line.Split(',');
            int batch = int.Parse(f[2], CultureInfo.InvariantCulture), context = int.Parse(f[3], CultureInfo.InvariantCulture);
            double measured = double.Parse(f[4], CultureInfo.InvariantCulture);
            var r = StepProbe.Run(ModelPresets.Get(f[1]), gpu, 1, 1, 1, StepPhase.Decode, batch, context, null, timer, profile);
            double kernels = r.TimeMs - r.BreakdownMs.GetValueOrDefault("engine_overhead");
            double e = kernels / measured - 1;
            errors.Add(Math.Abs(e));
            TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{dir} batch {batch,3} context {context,5}: measured {measured:F3} ms, predicted {kernels:F3} ms ({e:+0.0%;-0.0%})"));
        }
        errors.Sort();
        Assert.That(errors[errors.Count / 2], Is.LessThanOrEqualTo(0.10));
        Assert.That(errors[^1], Is.LessThanOrEqualTo(0.15));
    }
}
