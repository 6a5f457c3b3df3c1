using NUnit.Framework;
using System.Globalization;
using Simulator.Hardware.Specs;
using Simulator.Inference.Cost;
using Simulator.Inference.Models;
using Simulator.Tests.Shared;

namespace Simulator.Inference.Tests.Cost;

/// <summary>Fits and checks the calibration profiles against the shared measurements, printing predicted vs measured.</summary>
[TestFixture]
public sealed class CalibrationAccuracyTest
{
    private static List<MeasuredOperatorTable> Tables(string gpu) =>
        Directory.GetFiles(TestPaths.Data("calibration", "compute", gpu), "mlp.csv", SearchOption.AllDirectories)
            .OrderBy(p => p, StringComparer.Ordinal).Select(MeasuredOperatorTable.Load).ToList();

    /// <summary>The data each single-source profile is fitted on: Vidur's A100 files; the project's own H100 measurements.</summary>
    private static List<MeasuredOperatorTable> FitTables(string gpu) => gpu == "a100" ? Tables("a100") : HeldOutAccuracyTest.MeasuredTables("h100");

    private static List<OperatorSample> VidurH100 => CalibrationFitter.Samples(Tables("h100"));
    private static List<OperatorSample> OursH100 => CalibrationFitter.Samples(HeldOutAccuracyTest.MeasuredTables("h100"));

    private static void PrintOperatorTable(string title, IReadOnlyList<OperatorSample> samples, GpuSpec gpu, CalibrationProfile p)
    {
        TestContext.Out.WriteLine($"{title}: profile {p}");
        TestContext.Out.WriteLine("model | op | tp | tokens | measured ms | predicted ms | error");
        foreach (var s in samples.Where(s => s.Tokens is 1 or 16 or 128 or 512 or 2048 or 4096 && s.Tp is 1 or 8)
                     .GroupBy(s => (s.Source, s.Op, s.Tp, s.Tokens)).Select(g => g.First()))
        {
            var pred = CalibrationFitter.PredictMs(s, gpu, p);
            var model = Path.GetFileName(Path.GetDirectoryName(s.Source));
            TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{model} | {s.Op} | {s.Tp} | {s.Tokens} | {s.MeasuredMs:F4} | {pred:F4} | {pred / s.MeasuredMs - 1:P1}"));
        }
    }

    [TestCase("a100")]
    [TestCase("h100")]
    public void StoredKernelProfile_ItsFitOperators_MedianErrorWithinTenPercent(string gpuName)
    {
        var gpu = gpuName == "a100" ? TestGpus.A100 : TestGpus.H100;
        var profile = gpuName == "a100" ? CalibrationProfile.A100 : CalibrationProfile.H100Measured;
        var samples = CalibrationFitter.Samples(FitTables(gpuName));
        var median = CalibrationFitter.MedianAbsRelError(samples, gpu, profile);
        PrintOperatorTable(gpuName, samples, gpu, profile);
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{gpuName}: {samples.Count} samples, median |error| {median:P2}"));
        Assert.That(median, Is.LessThanOrEqualTo(0.10));
    }

    [TestCase("a100")]
    [TestCase("h100")]
    public void Refit_ItsFitOperators_ReproducesStoredProfile(string gpuName)
    {
        var gpu = gpuName == "a100" ? TestGpus.A100 : TestGpus.H100;
        var stored = gpuName == "a100" ? CalibrationProfile.A100 : CalibrationProfile.H100Measured;
        var samples = CalibrationFitter.Samples(FitTables(gpuName));
        AssertRefitReproduces(samples, gpu, stored, "refit-" + gpuName);
    }

    /// <summary>
    /// The default H100 profile: one fit to both H100 sources (Vidur's files and ours), each weighing the same. Both
    /// must be within 10% median (the acceptance asks it of Vidur's H100 files), and a re-fit must give it back.
    /// </summary>
    [Test]
    public void DefaultH100Profile_JointFit_VidurAndOwnH100Operators_BothWithinTenPercent_AndRefitReproducesIt()
    {
        var vidur = VidurH100;
        var ours = OursH100;
        var stored = CalibrationProfile.H100;
        double mVidur = CalibrationFitter.MedianAbsRelError(vidur, TestGpus.H100, stored);
        double mOurs = CalibrationFitter.MedianAbsRelError(ours, TestGpus.H100, stored);
        PrintOperatorTable("vidur h100 (default h100 profile)", vidur, TestGpus.H100, stored);
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"default h100 profile: Vidur H100 {vidur.Count} samples median |error| {mVidur:P2}; own H100 {ours.Count} samples {mOurs:P2}"));
        Assert.That(mVidur, Is.LessThanOrEqualTo(0.10));
        Assert.That(mOurs, Is.LessThanOrEqualTo(0.10));
        var start = stored with { EtaComputeMax = 0.6, ComputeHalfTokens = 64, EtaMemory = 0.6, KernelLaunchUs = 10 };
        var fitted = CalibrationFitter.Fit(new (IReadOnlyList<OperatorSample>, GpuSpec)[] { (vidur, TestGpus.H100), (ours, TestGpus.H100) }, start, "refit-h100-joint");
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"refit-h100-joint: eta_c max {fitted.EtaComputeMax}, T_half {fitted.ComputeHalfTokens}, eta_m {fitted.EtaMemory}, launch {fitted.KernelLaunchUs} us"));
        AssertClose(fitted, stored);
    }

    /// <summary>Re-fits from other starting values and checks the stored constants come back.</summary>
    private static void AssertRefitReproduces(IReadOnlyList<OperatorSample> samples, GpuSpec gpu, CalibrationProfile stored, string name)
    {
        var start = stored with { EtaComputeMax = 0.6, ComputeHalfTokens = 64, EtaMemory = 0.6, KernelLaunchUs = 10 };
        var fitted = CalibrationFitter.Fit(samples, gpu, start, name);
        var medianFit = CalibrationFitter.MedianAbsRelError(samples, gpu, fitted);
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name}: eta_c max {fitted.EtaComputeMax}, T_half {fitted.ComputeHalfTokens}, eta_m {fitted.EtaMemory}, launch {fitted.KernelLaunchUs} us; median |error| {medianFit:P2}"));
        AssertClose(fitted, stored);
    }

    private static void AssertClose(CalibrationProfile fitted, CalibrationProfile stored)
    {
        Assert.Multiple(() =>
        {
            Assert.That(fitted.EtaComputeMax, Is.EqualTo(stored.EtaComputeMax).Within(0.02));
            Assert.That(fitted.EtaMemory, Is.EqualTo(stored.EtaMemory).Within(0.02));
            Assert.That(fitted.ComputeHalfTokens, Is.EqualTo(stored.ComputeHalfTokens).Within(8));
            Assert.That(fitted.KernelLaunchUs, Is.EqualTo(stored.KernelLaunchUs).Within(1.5));
        });
    }

    /// <summary>
    /// Carry-over, not a fit: the A100 profile (fitted on Vidur's A100 files only) with nothing but the H100's datasheet
    /// peaks predicts Vidur's H100 files of the same timing method.
    /// </summary>
    [Test]
    public void A100Profile_WithH100Datasheet_PredictsVidurH100Operators_WithinTenPercent()
    {
        var median = CalibrationFitter.MedianAbsRelError(VidurH100, TestGpus.H100, CalibrationProfile.A100);
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"a100 profile + H100 datasheet on Vidur H100: median |error| {median:P2}"));
        Assert.That(median, Is.LessThanOrEqualTo(0.10));
    }

    /// <summary>
    /// The methodology gap, documented: Vidur's H100 files (timed without flushing L2) against the profile fitted on
    /// our L2-flushed measurements only. Vidur's memory-bound kernels run faster and its compute-bound ones slower.
    /// </summary>
    [Test]
    public void H100MeasuredProfile_OnVidurH100Operators_MedianErrorWithinFifteenPercent()
    {
        var samples = VidurH100;
        var median = CalibrationFitter.MedianAbsRelError(samples, TestGpus.H100, CalibrationProfile.H100Measured);
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"vidur h100 cross-check: {samples.Count} samples, median |error| {median:P2}"));
        Assert.That(median, Is.LessThanOrEqualTo(0.15));
    }

    [Test]
    public void H100VidurProfile_VidurH100Operators_MedianErrorWithinTenPercent_AndRefitReproducesIt()
    {
        var samples = CalibrationFitter.Samples(Tables("h100"));
        var stored = CalibrationProfile.H100Vidur;
        var median = CalibrationFitter.MedianAbsRelError(samples, TestGpus.H100, stored);
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"h100-vidur on Vidur H100: {samples.Count} samples, median |error| {median:P2}"));
        Assert.That(median, Is.LessThanOrEqualTo(0.10));
        AssertRefitReproduces(samples, TestGpus.H100, stored, "refit-h100-vidur");
    }

    [Test]
    public void StoredProfile_SplitwiseLlama2_70B_MedianErrorWithinFifteenPercent()
    {
        var rows = EngineOverheadFitter.Load(TestPaths.Data("calibration", "serving", "splitwise-a100.csv"));
        var model = ModelPresets.Get("llama-2-70b");
        var timer = EngineOverheadFitter.DgxNodeTimer(TestGpus.A100);
        var errors = new List<double>();
        TestContext.Out.WriteLine("tp | prompt | batch | out | prefill meas ms | pred | err | decode meas ms | pred | err");
        foreach (var r in rows)
        {
            var (pre, dec) = EngineOverheadFitter.Predict(r, model, TestGpus.A100, CalibrationProfile.A100, timer);
            var ePre = pre / r.PromptMs - 1;
            var eDec = dec / r.TokenMs - 1;
            if (!r.PromptTimeSuspect) errors.Add(Math.Abs(ePre));
            errors.Add(Math.Abs(eDec));
            TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Tp} | {r.PromptTokens} | {r.Batch} | {r.OutputTokens} | {r.PromptMs:F1} | {pre:F1} | {(r.PromptTimeSuspect ? "skipped" : ePre.ToString("P1", CultureInfo.InvariantCulture))} | {r.TokenMs:F2} | {dec:F2} | {eDec:P1}"));
        }
        errors.Sort();
        var median = errors[errors.Count / 2];
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"splitwise: {errors.Count} points, median |error| {median:P2}"));
        Assert.That(median, Is.LessThanOrEqualTo(0.15));
    }

    [Test]
    public void Refit_SplitwiseEngineTerms_ReproducesStoredProfile()
    {
        var rows = EngineOverheadFitter.Load(TestPaths.Data("calibration", "serving", "splitwise-a100.csv"));
        var model = ModelPresets.Get("llama-2-70b");
        var start = CalibrationProfile.A100 with { IterationOverheadUs = 3000, PerSequenceOverheadUs = 150, PerTokenOverheadUs = 30, CpuFloorPerLayerUs = 350 };
        var fitted = EngineOverheadFitter.Fit(rows, model, TestGpus.A100, start, EngineOverheadFitter.DgxNodeTimer(TestGpus.A100), "refit-engine");
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"refit engine: iteration {fitted.IterationOverheadUs} us, per sequence {fitted.PerSequenceOverheadUs} us, per token {fitted.PerTokenOverheadUs} us, CPU floor {fitted.CpuFloorPerLayerUs} us/layer"));
        var s = CalibrationProfile.A100;
        Assert.Multiple(() =>
        {
            Assert.That(fitted.CpuFloorPerLayerUs, Is.EqualTo(s.CpuFloorPerLayerUs).Within(0.1 * s.CpuFloorPerLayerUs));
            Assert.That(fitted.PerTokenOverheadUs, Is.EqualTo(s.PerTokenOverheadUs).Within(0.3 * s.PerTokenOverheadUs));
            Assert.That(fitted.IterationOverheadUs, Is.EqualTo(s.IterationOverheadUs).Within(0.3 * s.IterationOverheadUs));
            Assert.That(fitted.PerSequenceOverheadUs, Is.EqualTo(s.PerSequenceOverheadUs).Within(0.3 * s.PerSequenceOverheadUs));
        });
    }
}
