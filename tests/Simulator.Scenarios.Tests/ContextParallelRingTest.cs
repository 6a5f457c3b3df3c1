using NUnit.Framework;
using Simulator.Scenarios;
using Simulator.Tests.Shared;

namespace Simulator.Scenarios.Tests;

/// <summary>
/// Ring attention priced on every hop: Llama-3.1-70B at TP4 x CP4 on two 8-GPU nodes, so each CP ring (GPUs 0, 4, 8, 12
/// for TP rank 0) has two NVLink hops and two InfiniBand hops; the slowest hop bounds each ring step.
/// </summary>
public sealed class ContextParallelRingTest
{
    private static readonly ScenarioLoader Loader = new();

    internal const string LongPrompts = """
        name: cp-ring
        seed: 1
        cluster: {gpu: H100-SXM-80GB, nodes: 2, gpus_per_node: 8, intra_node: nvlink4, inter_node: ib-ndr400}
        model: llama-3.1-70b
        precision: {weights: bf16, kv_cache: bf16}
        engine: vllm
        parallelism: {tensor_parallel_size: 4, context_parallel_size: 4}
        scheduler: {policy: vllm, max_num_seqs: 8, max_num_batched_tokens: 32768}
        workload:
          arrivals: {process: poisson, rate_per_s: 0.5}
          input_tokens: {dist: fixed, value: 32768}
          output_tokens: {dist: fixed, value: 4}
          requests: 6
        """;

    private static double TtftP50Ms(params string[] sets)
    {
        var dir = Path.Combine(Path.GetTempPath(), "sim-cp-" + Guid.NewGuid().ToString("N"));
        try
        {
            var r = ScenarioRunner.Run(Loader.LoadText(LongPrompts, "s.yaml", TestPaths.DataRoot, sets), dir);
            Assert.That(r.Summary.Requests.Completed, Is.EqualTo(6));
            return r.Summary.TtftMs.P50;
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    internal const string SlowInterNode = "cluster.inter_node={name: slow-ib, kind: infiniband, bandwidth_gbps: 0.5, latency_us: 5}";

    [Test]
    public void CuttingTheInterNodeLinkTo0_5GBps_RaisesTtft_ForACpGroupSpanningNodes()
    {
        double fast = TtftP50Ms();
        double slow = TtftP50Ms(SlowInterNode);
        TestContext.Out.WriteLine($"TTFT p50: ib-ndr400 {fast:F1} ms, 0.5 GB/s {slow:F1} ms");
        Assert.That(slow, Is.GreaterThan(fast * 1.5), "the cross-node hops bound every ring step");
    }

    [Test]
    public void CpGroupInsideOneNode_DoesNotCareAboutTheInterNodeLink()
    {
        // TP2 x CP4 = 8 GPUs: the whole ring is inside node 0.
        string[] inside = { "parallelism.tensor_parallel_size=2" };
        double fast = TtftP50Ms(inside);
        double slow = TtftP50Ms(inside.Append(SlowInterNode).ToArray());
        Assert.That(slow, Is.EqualTo(fast).Within(1e-9).Percent);
    }

    [TestCase(false)]
    [TestCase(true)]
    public void FlowMode_AgreesWithAnalytic_OnTheCpRing(bool slowLink)
    {
        var sets = slowLink ? new[] { SlowInterNode } : Array.Empty<string>();
        double analytic = TtftP50Ms(sets);
        double flow = TtftP50Ms(sets.Append("network.model=flow").ToArray());
        TestContext.Out.WriteLine($"TTFT p50: analytic {analytic:F2} ms, flow {flow:F2} ms");
        Assert.That(flow, Is.EqualTo(analytic).Within(1).Percent);
    }
}
