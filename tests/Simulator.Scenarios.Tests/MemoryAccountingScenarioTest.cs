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
    [Test]
    public void TrtLlm_Fp8On2H100_ReservesFewerWholeRequests_ForTheReplicated16BitEmbedding()
    {
        // NIM's Llama-3.3-70B FP8 layout (TP 2, FP8 KV). A burst of 100 requests of 5,000 + 500 tokens: GUARANTEED_NO_EVICT
        // starts only as many as the cache holds whole; the rest get their first token after the first ones finish.
        const string nim = """
            name: nim-70b-burst
            seed: 1
            cluster: {gpu: H100-SXM-80GB, nodes: 1, gpus_per_node: 2}
            model: llama-3.1-70b
            precision: {weights: fp8, kv_cache: fp8}
            engine: trtllm
            parallelism: {tensor_parallel_size: 2}
            workload:
              arrivals: {process: burst, rate_per_s: 1, burst_size: 100}
              input_tokens: {dist: fixed, value: 5000}
              output_tokens: {dist: fixed, value: 500}
              requests: 100
            """;
        var dir = Path.Combine(Path.GetTempPath(), "sim-memacc-" + Guid.NewGuid().ToString("N"));
        try
        {
            var r = ScenarioRunner.Run(Loader.LoadText(nim, "nim.yaml", TestPaths.DataRoot), dir);
            var kv = r.Built.Memory;
            long whole = kv.KvBlocks / ((5_500 + kv.BlockSize - 1) / kv.BlockSize); // each request reserves whole blocks
            // 16-bit tables, the embedding whole on both GPUs: 90 whole requests (all-FP8 tables split over TP held 95).
            Assert.That(whole, Is.EqualTo(90), kv.Describe());
            var lines = File.ReadAllLines(Path.Combine(dir, "requests.csv"));
            var header = lines[0].Split(',');
            int first = Array.IndexOf(header, "first_token_s"), done = Array.IndexOf(header, "completion_s");
            var rows = lines.Skip(1).Select(l => l.Split(',')).ToList();
            double firstDone = rows.Min(f => double.Parse(f[done], System.Globalization.CultureInfo.InvariantCulture));
            int startedBefore = rows.Count(f => double.Parse(f[first], System.Globalization.CultureInfo.InvariantCulture) < firstDone);
            Assert.That(startedBefore, Is.EqualTo(whole));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }
}
