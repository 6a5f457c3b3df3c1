using NUnit.Framework;
using Simulator.Inference.Cost;
using Simulator.Inference.Models;

namespace Simulator.Inference.Tests.Cost;

[TestFixture]
public sealed class StepProbeTest
{
    [Test]
    public void Decode_Llama70B_Tp4OnH100_ReportsTimeAndBreakdown()
    {
        var r = StepProbe.Run(ModelPresets.Get("llama-3.1-70b"), TestGpus.H100, 4, 1, 1, StepPhase.Decode, 32, 1024, null, new AlphaBetaTimer());
        Assert.That(r.TimeMs, Is.EqualTo(r.BreakdownMs.Values.Sum()).Within(1e-3));
        Assert.That(r.BreakdownMs[BreakdownParts.TpComm], Is.GreaterThan(0));
        TestContext.Out.WriteLine($"decode: {r.TimeMs:F2} ms; " + string.Join(", ", r.BreakdownMs.Select(kv => $"{kv.Key}={kv.Value:F3}")));
    }

    [Test]
    public void Prefill_WithPipeline_ReportsTheSlowestStage()
    {
        var r = StepProbe.Run(ModelPresets.Get("llama-3.1-70b"), TestGpus.H100, 2, 2, 1, StepPhase.Prefill, 1, 2048, null, new AlphaBetaTimer());
        Assert.That(r.Stage, Is.InRange(0, 1));
        Assert.That(r.TimeMs, Is.GreaterThan(0));
    }

    [Test]
    public void InvalidInput_Explains()
    {
        Assert.That(() => StepProbe.Run(ModelPresets.Get("llama-3.1-70b"), TestGpus.H100, 3, 1, 1, StepPhase.Decode, 1, 10, null, new AlphaBetaTimer()),
            Throws.TypeOf<Simulator.Inference.Parallelism.PlanException>().With.Message.Contains("attention heads"));
        Assert.That(() => StepProbe.ParsePhase("train"), Throws.ArgumentException.With.Message.Contains("prefill, decode"));
    }
}
