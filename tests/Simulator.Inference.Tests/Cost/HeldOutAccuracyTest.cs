using System.Globalization;
using NUnit.Framework;
using Simulator.Hardware.Specs;
using Simulator.Inference.Cost;
using Simulator.Tests.Shared;

namespace Simulator.Inference.Tests.Cost;

/// <summary>
/// Held-out check: operator times the cost model was NOT fitted to — Llama-3.1-8B and -70B GEMMs measured on an
/// H200 (tests/Simulator.Inference.Tests/Data/measured/h200, tools/gpu-measure) — predicted with the H100 profile
/// (fitted on the H100 measurements of the same method) and the H200's datasheet numbers only.
/// </summary>
[TestFixture]
public sealed class HeldOutAccuracyTest
{
    private static readonly GpuSpec H200 = new("H200-SXM-141GB", 141, 4.8, 989, 1979, 1979, 67, "nvlink4", "ib-ndr400", 132, "NVIDIA H200 datasheet");

    internal static List<MeasuredOperatorTable> MeasuredTables(string gpu) =>
        Directory.GetFiles(Path.Combine(TestPaths.RepoRoot, "tests", "Simulator.Inference.Tests", "Data", "measured", gpu, "meta-llama"), "mlp.csv", SearchOption.AllDirectories)
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
        Assert.That(median, Is.LessThanOrEqualTo(0.10));
    }
}
