using NUnit.Framework;
using Simulator.Scenarios;
using Simulator.Tests.Shared;

namespace Simulator.Scenarios.Tests;

public sealed class PoolSpecTest
{
    private const string Pools = """
        model: llama-3.1-8b
        cluster: {gpu: H100-SXM-80GB, gpus_per_node: 8}
        parallelism: {tensor_parallel_size: 2, replicas: 1}
        scheduler: {max_num_seqs: 64}
        pools:
          prefill: {role: prefill, gpus_per_node: 4, parallelism: {replicas: 2}, scheduler: {max_num_batched_tokens: 4096}}
          decode: {role: decode, gpu: H200-SXM-141GB, gpus_per_node: 4, parallelism: {tensor_parallel_size: 4}, precision: {kv_cache: fp8}}
        kv_transfer: {mode: layerwise}
        workload:
          arrivals: {process: poisson, rate_per_s: 8}
          input_tokens: 128
          output_tokens: 8
          requests: 20
        """;

    private static Scenario Load(string yaml, params string[] sets) => new ScenarioLoader(RunBuilder.Catalog).LoadText(yaml, "s.yaml", TestPaths.DataRoot, sets);

    [Test]
    public void PoolKeys_DefaultKeyByKeyToTheTopLevel()
    {
        var s = Load(Pools);
        var prefill = s.Pools[0];
        var decode = s.Pools[1];
        Assert.That(prefill.Parallelism.TensorParallelSize, Is.EqualTo(2), "from the top-level parallelism");
        Assert.That(prefill.Parallelism.Replicas, Is.EqualTo(2));
        Assert.That(prefill.Scheduler.MaxNumSeqs, Is.EqualTo(64), "from the top-level scheduler");
        Assert.That(prefill.Scheduler.MaxNumBatchedTokens, Is.EqualTo(4096));
        Assert.That(prefill.Gpu.Preset, Is.EqualTo("H100-SXM-80GB"));
        Assert.That(decode.Gpu.Preset, Is.EqualTo("H200-SXM-141GB"));
        Assert.That(decode.Precision.KvCache, Is.EqualTo("fp8"));
        Assert.That(decode.Precision.Weights, Is.EqualTo("bf16"));
        Assert.That(s.KvTransfer.Mode, Is.EqualTo("layerwise"));
    }

    [Test]
    public void Pools_RoundTripThroughTheWrittenScenario()
    {
        var s = Load(Pools);
        var again = Load(ScenarioWriter.ToYaml(s));
        Assert.That(again, Is.EqualTo(s));
    }

    [Test]
    public void PoolsSharingANode_GetTheirGpusSideBySide()
    {
        var built = PoolBuilder.Build(Load(Pools));
        Assert.That(built.Pools[0].FirstGpu, Is.EqualTo(0));
        Assert.That(built.Pools[1].FirstGpu, Is.EqualTo(4));
        Assert.That(built.Topology.Nodes, Is.EqualTo(1), "two half-node pools share one node");
        Assert.That(built.Replicas, Is.EqualTo(3));
        Assert.That(built.Pools[1].KvBytesPerToken, Is.EqualTo(32L * 2 * 8 * 128 * 1), "fp8 KV: one byte per element");
    }

    [Test]
    public void PoolThatWouldStraddleANode_IsRejected()
    {
        var ex = Assert.Throws<ScenarioException>(() => Load(Pools, "pools.prefill.gpus_per_node=2", "pools.prefill.nodes=1", "pools.decode.gpus_per_node=4"))!;
        Assert.That(ex.Errors.Single().ToString(), Does.Contain("pools.decode.gpus_per_node").And.Contain("straddle"));
    }

    [Test]
    public void PoolPlanProblems_AreNamedAtThePoolsKeys()
    {
        var s = Load(Pools, "pools.decode.parallelism.tensor_parallel_size=3");
        var ex = Assert.Throws<ScenarioException>(() => PoolBuilder.Build(s))!;
        Assert.That(ex.Errors.Single().KeyPath, Is.EqualTo("pools.decode.parallelism.tensor_parallel_size"));
    }
}
