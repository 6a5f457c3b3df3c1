using System.Globalization;
using NUnit.Framework;
using Simulator.Hardware.Specs;
using Simulator.Inference.Cost;
using Simulator.Inference.Models;
using Simulator.Tests.Shared;

namespace Simulator.Inference.Tests.Cost;

[TestFixture]
public sealed class EngineHostProfileTest
{
    [Test]
    public void Splitwise_OnItsOwnHost_IsExactlyTheStoredFit()
    {
        var p = CalibrationProfile.A100.WithEngine("splitwise", HostCpu.Epyc7742);
        var s = CalibrationProfile.A100;
        Assert.That(p.IterationOverheadUs, Is.EqualTo(s.IterationOverheadUs));
        Assert.That(p.PerSequenceOverheadUs, Is.EqualTo(s.PerSequenceOverheadUs));
        Assert.That(p.PerTokenOverheadUs, Is.EqualTo(s.PerTokenOverheadUs));
        Assert.That(p.CpuFloorPerLayerUs, Is.EqualTo(s.CpuFloorPerLayerUs).Within(1e-9));
        Assert.That(EngineHostProfile.Splitwise.EagerLaunchUsPerKernel, Is.EqualTo(518.0 / 13).Within(1e-9));
        Assert.That(p.WithEngine("splitwise").IterationOverheadUs, Is.EqualTo(s.IterationOverheadUs), "no host given = the reference host");
    }

    [Test]
    public void HostTerms_ScaleWithTheHostCpu_GraphReplayDoesNot()
    {
        var a = CalibrationProfile.H100.WithEngine("splitwise", HostCpu.Epyc7742);
        var h = CalibrationProfile.H100.WithEngine("splitwise", HostCpu.Xeon8480C);
        double k = HostCpu.Xeon8480C.RelativeSpeed;
        Assert.That(h.IterationOverheadUs, Is.EqualTo(a.IterationOverheadUs / k).Within(1e-9));
        Assert.That(h.PerSequenceOverheadUs, Is.EqualTo(a.PerSequenceOverheadUs / k).Within(1e-9));
        Assert.That(h.PerTokenOverheadUs, Is.EqualTo(a.PerTokenOverheadUs / k).Within(1e-9));
        Assert.That(h.CpuFloorPerLayerUs, Is.EqualTo(a.CpuFloorPerLayerUs / k).Within(1e-9));
        Assert.That(h.KernelLaunchUs, Is.EqualTo(a.KernelLaunchUs), "eager: the kernel's fixed time is the calibration's");

        var vA = CalibrationProfile.H100.WithEngine("vllm", HostCpu.Epyc7742);
        var vH = CalibrationProfile.H100.WithEngine("vllm", HostCpu.Xeon8480C);
        Assert.That(vA.IterationOverheadUs, Is.EqualTo(vH.IterationOverheadUs * k).Within(1e-9));
        Assert.That(vA.KernelLaunchUs, Is.EqualTo(3.0).And.EqualTo(vH.KernelLaunchUs), "graph replay is GPU-side");
        Assert.That(vH.CpuFloorPerLayerUs, Is.Zero);
        Assert.That(vH.IterationOverheadUs, Is.EqualTo(300), "the vllm estimate is for a DGX-H100 host");
    }

    [Test]
    public void VllmHostTermsOfADecodeStep_AreWithinThePublicV1EngineCoreTimings()
    {
        // Host work of a pure decode step at batch b on the profile's own host (Xeon 8480C): iteration + b x (sequence + token).
        var p = CalibrationProfile.H100.WithEngine("vllm", HostCpu.Xeon8480C);
        double HostUs(int batch) => p.IterationOverheadUs + batch * (p.PerSequenceOverheadUs + p.PerTokenOverheadUs);
        // vllm-project/vllm#42131: schedule() ~200 us + _update_states >= 180 us + _prepare_inputs >= 50 us per decode step.
        const double publicStepUs = 200 + 180 + 50;
        Assert.That(HostUs(8), Is.InRange(0.75 * publicStepUs, 1.25 * publicStepUs));
        // vllm-project/vllm#46112: update_from_output 142 us at 128 sequences, 287 us at 256: ~1.1 us per sequence, one
        // part of what the per-sequence term carries (input preparation and output handling of every sequence).
        Assert.That(p.PerSequenceOverheadUs, Is.GreaterThanOrEqualTo((287.0 - 142.0) / 128));
    }

    [Test]
    public void HostCpu_ByGpu_AndByName()
    {
        Assert.That(HostCpu.For(GpuPresets.Get("A100-SXM-80GB")), Is.SameAs(HostCpu.Epyc7742));
        Assert.That(HostCpu.For(GpuPresets.Get("H200-SXM-141GB")), Is.SameAs(HostCpu.Xeon8480C));
        Assert.That(HostCpu.For(GpuPresets.Get("B200-SXM-180GB")), Is.SameAs(HostCpu.Xeon8570));
        Assert.That(HostCpu.Named("XEON-8480C", GpuPresets.Get("A100-SXM-80GB")), Is.SameAs(HostCpu.Xeon8480C));
        var ex = Assert.Throws<ArgumentException>(() => HostCpu.Named("m3-max", GpuPresets.Get("A100-SXM-80GB")))!;
        Assert.That(ex.Message, Does.Contain("epyc-7742"));
    }

    /// <summary>
    /// The named host terms fitted on splitwise-a100.csv only (Llama-2-70B, DGX-A100, TP 2/4/8): errors on that fitted
    /// set, and the same engine moved to a DGX-H100 host (its decode floor shrinks by the host's speed).
    /// </summary>
    [Test]
    public void SplitwiseHostTerms_FittedSetErrors_AndWhatAFasterHostChanges()
    {
        var rows = EngineOverheadFitter.Load(TestPaths.Data("calibration", "serving", "splitwise-a100.csv"));
        var model = ModelPresets.Get("llama-2-70b");
        var timer = EngineOverheadFitter.DgxNodeTimer(TestGpus.A100);
        var a100 = GpuPresets.Get("A100-SXM-80GB");
        var profile = CalibrationProfile.A100.WithEngine("splitwise", HostCpu.Epyc7742);
        var errors = new List<double>();
        double signed = 0;
        foreach (var r in rows)
        {
            var (pre, dec) = EngineOverheadFitter.Predict(r, model, a100, profile, timer);
            if (!r.PromptTimeSuspect) { errors.Add(Math.Abs(pre / r.PromptMs - 1)); signed += pre / r.PromptMs - 1; }
            errors.Add(Math.Abs(dec / r.TokenMs - 1));
            signed += dec / r.TokenMs - 1;
        }
        errors.Sort();
        double median = errors[errors.Count / 2], p90 = errors[(int)(0.9 * (errors.Count - 1))], max = errors[^1];
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"splitwise host terms on splitwise-a100.csv: n {errors.Count}, median {median:P1}, p90 {p90:P1}, max {max:P1}, mean signed {signed / errors.Count:+0.0%;-0.0%}"));
        Assert.That(median, Is.LessThan(0.10));

        // The same engine on a DGX-H100 host: TP8 decode at batch 1 is host-bound, so it speeds up by about the host's speed.
        var m = new ServingMeasurement("llama2-70b", 8, 512, 1, 128, 1, 1);
        var onA100Host = EngineOverheadFitter.Predict(m, model, a100, CalibrationProfile.A100.WithEngine("splitwise", HostCpu.Epyc7742), timer).DecodeMs;
        var onH100Host = EngineOverheadFitter.Predict(m, model, a100, CalibrationProfile.A100.WithEngine("splitwise", HostCpu.Xeon8480C), timer).DecodeMs;
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"TP8 decode, batch 1: {onA100Host:F1} ms on EPYC 7742, {onH100Host:F1} ms on Xeon 8480C"));
        Assert.That(onA100Host / onH100Host, Is.EqualTo(HostCpu.Xeon8480C.RelativeSpeed).Within(0.05));
    }

    [Test]
    public void VllmRelease_AutoIsSerial_AnExplicitRelease014OrLaterSchedulesAsynchronously_TrtllmSerially()
    {
        Assert.That(EngineHostProfile.VllmRelease("auto").AsyncScheduling, Is.False, "the default: host terms serial");
        Assert.That(EngineHostProfile.Vllm.AsyncScheduling, Is.False);
        Assert.That(EngineHostProfile.VllmRelease("0.19.0").AsyncScheduling, Is.True);
        Assert.That(EngineHostProfile.VllmRelease("v0.14").AsyncScheduling, Is.True);
        Assert.That(EngineHostProfile.VllmRelease("0.13.0").AsyncScheduling, Is.False);
        Assert.That(EngineHostProfile.VllmRelease("0.6.0").AsyncScheduling, Is.False);
        Assert.That(EngineHostProfile.Trtllm.AsyncScheduling, Is.False);
        Assert.That(EngineHostProfile.Splitwise.AsyncScheduling, Is.False);
        foreach (var bad in new[] { "latest", "0", "0.x", "1.2.3.4.5", "", "0.11.0rc", "0.14.x", "v", "0.6.3.post", "0.99999999999.0" })
            Assert.That(EngineHostProfile.TryParseRelease(bad, out _), Is.False, bad);
        Assert.That(EngineHostProfile.TryParseRelease("AUTO", out var none) && none is null, Is.True);
    }

    /// <summary>
    /// vLLM's own tags: four numeric parts (0.10.1.1) and PEP 440 suffixes (0.6.3.post1, 0.11.0rc1, dev and local
    /// builds) are releases, compared on major.minor[.patch] only.
    /// </summary>
    [TestCase("0.10.1.1", "0.10.1", false)]
    [TestCase("0.6.3.post1", "0.6.3", false)]
    [TestCase("0.11.0rc1", "0.11.0", false)]
    [TestCase("0.14.0rc2", "0.14.0", true)]
    [TestCase("v0.14.1.post1", "0.14.1", true)]
    [TestCase("0.15.0.dev3", "0.15.0", true)]
    [TestCase("0.8.5+cu121", "0.8.5", false)]
    [TestCase("0.13.9.9", "0.13.9", false)]
    public void TryParseRelease_AcceptsVllmTags_ComparingMajorMinorPatch(string text, string expected, bool async)
    {
        Assert.That(EngineHostProfile.TryParseRelease(text, out var v), Is.True, text);
        Assert.That(v, Is.EqualTo(Version.Parse(expected)));
        Assert.That(EngineHostProfile.VllmRelease(text).AsyncScheduling, Is.EqualTo(async));
    }

    /// <summary>
    /// The one engine/version rule: auto in any case goes with every engine (returned as auto), a release only with
    /// vllm; a version that does not parse names the allowed forms.
    /// </summary>
    [Test]
    public void Check_AutoInAnyCaseWithAnyEngine_AReleaseOnlyWithVllm_AndStatesTheGrammar()
    {
        Assert.That(EngineHostProfile.Check("trtllm", "AUTO"), Is.EqualTo("auto"));
        Assert.That(EngineHostProfile.Check("splitwise", " Auto "), Is.EqualTo("auto"));
        Assert.That(EngineHostProfile.Check("VLLM", "0.10.1.1"), Is.EqualTo("0.10.1.1"));
        var other = Assert.Throws<ArgumentException>(() => EngineHostProfile.Check("trtllm", "0.14"))!;
        Assert.That(other.Message, Does.Contain("only to engine vllm").And.Contain("trtllm"));
        var bad = Assert.Throws<ArgumentException>(() => EngineHostProfile.Check("vllm", "latest"))!;
        Assert.That(bad.Message, Does.Contain("'latest' is not a release").And.Contain("major.minor[.patch[.build]]").And.Contain("0.6.3.post1"));
    }

    /// <summary>
    /// Under asynchronous scheduling a step costs max(GPU, host); serially GPU + host (a GPU-bound decode step then
    /// hides the host terms entirely).
    /// </summary>
    [TestCase("llama-3.1-8b", 1)]
    [TestCase("llama-3.1-8b", 8)]
    [TestCase("qwen3-30b-a3b", 256)]
    public void AsyncScheduling_StepIsTheLargerOfGpuAndHost_SerialIsTheirSum(string modelName, int batch)
    {
        var model = ModelPresets.Get(modelName);
        var gpu = GpuPresets.Get("H100-SXM-80GB");
        var timer = EngineOverheadFitter.DgxNodeTimer(gpu);
        var m = new ServingMeasurement(modelName, 1, 128, batch, 64, 1, 1);
        double Decode(string version) => EngineOverheadFitter.Predict(m, model, gpu, CalibrationProfile.H100.WithEngine("vllm", null, version), timer).DecodeMs;
        double serial = Decode("0.13.0"), overlapped = Decode("0.19.0");
        Assert.That(Decode("auto"), Is.EqualTo(serial), "auto is serial");
        double kernels = EngineOverheadFitter.Predict(m, model, gpu, CalibrationProfile.H100.WithEngine("vllm", null, "0.13.0") with
            { IterationOverheadUs = 0, PerSequenceOverheadUs = 0, PerTokenOverheadUs = 0 }, timer).DecodeMs;
        double host = (300 + 10.0 * batch + batch) / 1e3;
        Assert.That(serial, Is.EqualTo(kernels + host).Within(1e-6));
        Assert.That(overlapped, Is.EqualTo(Math.Max(kernels, host)).Within(1e-6));
    }
}
