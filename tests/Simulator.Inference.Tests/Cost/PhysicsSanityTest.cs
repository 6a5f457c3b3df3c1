using NUnit.Framework;
using Simulator.Hardware.Collectives;
using Simulator.Hardware.Specs;
using Simulator.Hardware.Topology;
using Simulator.Inference.Cost;
using Simulator.Inference.Models;

namespace Simulator.Inference.Tests.Cost;

/// <summary>
/// Sanity against physics, with the real hardware layer: decode gets faster per token with TP while the weights
/// dominate, with diminishing returns as the all-reduces grow, and slower once the collectives dominate (slow links).
/// </summary>
[TestFixture]
public sealed class PhysicsSanityTest
{
    private static double DecodeMs(int tp, LinkSpec intra, out double tpCommMs)
    {
        var gpu = GpuPresets.Get("H100-SXM-80GB");
        var topology = new ClusterTopology(gpu, 1, 8, intra, LinkPresets.Get("ib-ndr400"), ClusterTopology.DefaultFabricFor(intra));
        var r = StepProbe.Run(ModelPresets.Get("llama-3.1-8b"), gpu, tp, 1, 1, StepPhase.Decode, batch: 1, prompt: 1024, context: null,
            new AnalyticCollectives(topology), CalibrationProfile.For(gpu).WithEngine("vllm"));
        tpCommMs = r.BreakdownMs.TryGetValue("tp_comm", out var c) ? c : 0;
        return r.TimeMs;
    }

    [Test]
    public void DecodeOnNvLink_GetsFasterWithTp_WithDiminishingReturns_AsCommunicationGrows()
    {
        var nvlink = LinkPresets.Get("nvlink4");
        var t = new[] { 1, 2, 4, 8 }.Select(tp => DecodeMs(tp, nvlink, out _)).ToArray();
        var comm = new[] { 1, 2, 4, 8 }.Select(tp => { DecodeMs(tp, nvlink, out var c); return c; }).ToArray();
        TestContext.Out.WriteLine($"decode ms at TP 1/2/4/8: {string.Join(" / ", t.Select(x => x.ToString("F3")))}; tp_comm ms: {string.Join(" / ", comm.Select(x => x.ToString("F3")))}");
        Assert.That(t, Is.Ordered.Descending);
        Assert.That(t[0] / t[1], Is.GreaterThan(t[2] / t[3]), "each doubling of TP gains less than the one before");
        Assert.That(comm, Is.Ordered.Ascending);
        Assert.That(comm[3] / t[3], Is.GreaterThan(comm[1] / t[1]), "communication takes a growing share of the step");
    }

    [Test]
    public void DecodeOnASlowLink_GetsSlowerBeyondThePointWhereCollectivesDominate()
    {
        var slow = new LinkSpec("slow-pcie", LinkKind.Pcie, 25, 5, "test: a PCIe-like path (25 GB/s, 5 us)");
        var t = new[] { 1, 2, 4, 8 }.Select(tp => DecodeMs(tp, slow, out _)).ToArray();
        TestContext.Out.WriteLine($"decode ms on 25 GB/s, 5 us links at TP 1/2/4/8: {string.Join(" / ", t.Select(x => x.ToString("F3")))}");
        Assert.That(t[1], Is.LessThan(t[0]), "TP=2 still halves the weights read");
        Assert.That(t[3], Is.GreaterThan(t[2]), "at TP=8 the all-reduces cost more than the weights saved");
    }
}
