using NUnit.Framework;
using Simulator.Scenarios;
using Simulator.Tests.Shared;

namespace Simulator.Scenarios.Tests;

/// <summary>
/// The engine's memory accounting end to end from a scenario file: Llama-3.1-70B BF16 on 2 x A100-80GB, the layout
/// whose KV the original rule shrank to 2,976 tokens (and to 176 at max_num_seqs 2048, so that every 320-token
/// request was rejected at arrival).
/// </summary>
public sealed class MemoryAccountingScenarioTest
{
    private static readonly ScenarioLoader Loader = new();

    private const string Burst = """
        name: a100-70b-burst
        seed: 1
        cluster: {gpu: A100-SXM-80GB, nodes: 1, gpus_per_node: 2, intra_node: nvlink3, inter_node: ib-hdr200}
        model: llama-3.1-70b
        precision: {weights: bf16, kv_cache: bf16}
        engine: trtllm
        parallelism: {tensor_parallel_size: 2}
        scheduler: {policy: vllm, max_num_seqs: 2048, max_num_batched_tokens: 8192}
        workload:
          arrivals: {process: burst, rate_per_s: 1, burst_size: 50}
          input_tokens: {dist: fixed, value: 256}
          output_tokens: {dist: fixed, value: 64}
          requests: 50
        """;

    private static Scenario Load(params string[] sets) => Loader.LoadText(Burst, "s.yaml", TestPaths.DataRoot, sets);

    [TestCase("1")]
    [TestCase("256")]
    [TestCase("2048")]
    public void BurstOf50RequestsThatEachFit_AllComplete_WhateverMaxNumSeqs(string maxNumSeqs)
    {
        var dir = Path.Combine(Path.GetTempPath(), "sim-memacc-" + Guid.NewGuid().ToString("N"));
        try
        {
            var r = ScenarioRunner.Run(Load($"scheduler.max_num_seqs={maxNumSeqs}"), dir);
            Assert.That(r.Built.MemoryAccounting.Name, Is.EqualTo("trtllm"));
            Assert.That(r.Built.Memory.KvCapacityTokens, Is.GreaterThan(50_000), r.Built.Memory.Describe());
            Assert.That(r.Summary.Requests.Rejected, Is.Zero);
            Assert.That(r.Summary.Requests.Completed, Is.EqualTo(50));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    [Test]
    public void Vllm_At2048Sequences_DoesNotFit_AndNamesTheSamplerPeak()
    {
        // vLLM's profile run samples 2048 x 128,256 logits (~10 GB) on top of 70.6 GB of weights: vLLM itself refuses to
        // start, so the plan says so (exit 3) instead of accepting requests it would then reject.
        var ex = Assert.Throws<PlanDoesNotFitException>(() => RunBuilder.Build(Load("engine=vllm")))!;
        Assert.That(ex.Message, Does.Contain("activations 10.17 GB").And.Contain("does not fit"));
    }

    [Test]
    public void MemoryAccountingKey_OverridesTheEngine_AndIsWrittenBack()
    {
        var s = Load("memory_accounting=vllm", "scheduler.max_num_seqs=256");
        var built = RunBuilder.Build(s);
        Assert.That(built.MemoryAccounting.Name, Is.EqualTo("vllm"));
        Assert.That(built.Memory.KvCapacityTokens, Is.InRange(20_000, 30_000));
        Assert.That(ScenarioWriter.ToYaml(s, TestPaths.DataRoot), Does.Contain("memory_accounting: vllm"));
        var ex = Assert.Throws<ScenarioException>(() => Load("memory_accounting=sglang"))!;
        Assert.That(ex.Message, Does.Contain("memory_accounting").And.Contain("trtllm"));
    }
}
