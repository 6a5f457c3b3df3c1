using System.Globalization;
using System.Text.Json;
using NUnit.Framework;
using Simulator.Inference.Memory;
using Simulator.Inference.Models;
using Simulator.Inference.Parallelism;
using Simulator.Scenarios;
using Simulator.Tests.Shared;

namespace Simulator.Scenarios.Tests;

/// <summary>
/// Wide EP with DP attention end to end: DeepSeek-V3 as one EP32 engine of 32 DP ranks over 4 nodes of 8 H200 (the
/// repository's scenario, fewer requests), its outputs (ep_comm_ms, NIC bytes, 32 GPUs with expert load, engine and
/// DP-rank columns), lockstep, conservation, determinism and KV capacity per rank; DP = 1 is today's TP run.
/// </summary>
[TestFixture, NonParallelizable]
public sealed class DataParallelTest
{
    private static readonly ScenarioLoader Loader = new(RunBuilder.Catalog);
    private string _root = "";
    private string _run = "";

    private static Scenario WideEp(params string[] sets) =>
        Loader.Load(Path.Combine(TestPaths.RepoRoot, "scenarios", "wide-ep-deepseek-v3.yaml"), ["workload.requests=160", .. sets]);

    [OneTimeSetUp]
    public void RunTheScenario()
    {
        _root = Path.Combine(Path.GetTempPath(), "sim-dp-tests", Guid.NewGuid().ToString("N"));
        _run = ScenarioRunner.Run(WideEp(), Path.Combine(_root, "ep32")).Directory;
    }

    [OneTimeTearDown]
    public void TearDown()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private static List<Dictionary<string, string>> Csv(string dir, string file)
    {
        var lines = File.ReadAllLines(Path.Combine(dir, file));
        var header = lines[0].Split(',');
        return lines.Skip(1).Select(l => l.Split(',')).Select(f => header.Zip(f).ToDictionary(p => p.First, p => p.Second)).ToList();
    }

    private static double D(string s) => double.Parse(s, CultureInfo.InvariantCulture);

    [Test]
    public void DeepSeekV3Ep32_OverFourNodes_ReportsEpCommNicBytesAndExpertLoadOf32Gpus()
    {
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(_run, "summary.json")));
        var dp = summary.RootElement.GetProperty("data_parallel");
        Assert.That(dp.GetProperty("ranks_per_engine").GetInt32(), Is.EqualTo(32));
        Assert.That(dp.GetProperty("expert_parallel_size").GetInt32(), Is.EqualTo(32));
        Assert.That(dp.GetProperty("ep_comm_ms").GetDouble(), Is.GreaterThan(0));
        Assert.That(summary.RootElement.GetProperty("requests").GetProperty("completed").GetInt64(), Is.EqualTo(160));

        var iterations = Csv(_run, "iterations.csv");
        Assert.That(iterations.All(r => D(r["ep_comm_ms"]) > 0), "every step pays dispatch + combine");
        Assert.That(iterations.Select(r => r["dp_rank"]).Distinct().Count(), Is.EqualTo(32), "the balancer spreads requests over all ranks");

        var links = Csv(_run, "links.csv");
        var nic = links.Single(l => l["link"].EndsWith(".ep.nic", StringComparison.Ordinal));
        Assert.That(nic["kind"], Is.EqualTo("infiniband"));
        Assert.That(long.Parse(nic["bytes_carried"], CultureInfo.InvariantCulture), Is.GreaterThan(0));

        var gpus = Csv(_run, "gpus.csv");
        Assert.That(gpus, Has.Count.EqualTo(32));
        Assert.That(gpus.Select(g => g["node"]).Distinct().Count(), Is.EqualTo(4));
        Assert.That(gpus.All(g => g["expert_load"] != "" && D(g["expert_load"]) > 0));
    }

    [Test]
    public void Ranks_StepInLockstep_AndEveryRequestHasOneRowWithItsEngineAndRank()
    {
        var iterations = Csv(_run, "iterations.csv");
        foreach (var step in iterations.GroupBy(r => r["start_s"]))
            Assert.That(step.Select(r => r["end_s"]).Distinct().Count(), Is.EqualTo(1), $"the step starting at {step.Key} ends at once for all its ranks");
        var requests = Csv(_run, "requests.csv");
        Assert.That(requests.Select(r => r["request_id"]).Distinct().Count(), Is.EqualTo(160));
        Assert.That(requests, Has.Count.EqualTo(160));
        Assert.That(requests.All(r => r["engine"] == "0" && int.Parse(r["dp_rank"], CultureInfo.InvariantCulture) is >= 0 and < 32
            && r["dp_rank"] == r["replica"]));
    }

    [Test]
    public void EachRank_StaysWithinItsOwnKvCapacity()
    {
        var scenario = WideEp("scheduler.gpu_memory_utilization=0.33", "workload.requests=60");
        var built = RunBuilder.Build(scenario);
        var dir = ScenarioRunner.Run(scenario, Path.Combine(_root, "kv")).Directory;
        var capacity = built.Memory.KvBlocks;
        var iterations = Csv(dir, "iterations.csv");
        Assert.That(iterations.Max(r => long.Parse(r["kv_blocks_used"], CultureInfo.InvariantCulture)), Is.LessThanOrEqualTo(capacity));
        Assert.That(Csv(dir, "requests.csv"), Has.Count.EqualTo(60));
    }

    [Test]
    public void SameScenarioAndSeed_GiveByteIdenticalOutputs()
    {
        var again = ScenarioRunner.Run(WideEp(), Path.Combine(_root, "again")).Directory;
        foreach (var file in new[] { "summary.json", "requests.csv", "iterations.csv", "gpus.csv", "links.csv" })
            Assert.That(File.ReadAllBytes(Path.Combine(again, file)), Is.EqualTo(File.ReadAllBytes(Path.Combine(_run, file))), file);
    }

    [Test]
    public void DataParallelSizeOne_EqualsThePlainTensorParallelRun()
    {
        const string Yaml = """
            name: dp-one
            cluster: {gpu: H100-SXM-80GB, nodes: 1, gpus_per_node: 8}
            model: mixtral-8x7b
            parallelism: {tensor_parallel_size: 4, replicas: 2}
            workload:
              arrivals: {process: poisson, rate_per_s: 20}
              input_tokens: {dist: lognormal, mean: 600, sigma: 0.7}
              output_tokens: {dist: fixed, value: 24}
              requests: 80
            """;
        var plain = ScenarioRunner.Run(Loader.LoadText(Yaml, "s.yaml", TestPaths.DataRoot, ["parallelism.expert_parallel_size=4"]),
            Path.Combine(_root, "plain")).Directory;
        var dpOne = ScenarioRunner.Run(Loader.LoadText(Yaml, "s.yaml", TestPaths.DataRoot,
            ["parallelism.data_parallel_size=1", "parallelism.enable_expert_parallel=true"]), Path.Combine(_root, "dp1")).Directory;
        foreach (var file in new[] { "summary.json", "requests.csv", "iterations.csv", "gpus.csv", "links.csv" })
            Assert.That(File.ReadAllText(Path.Combine(dpOne, file)), Is.EqualTo(File.ReadAllText(Path.Combine(plain, file))), file);
    }

    [Test]
    public void DeepSeekV3Fp8_FitsOn32H200_WithAttentionOverTpAndExpertsOverEp()
    {
        var dp32 = RunBuilder.Build(WideEp());
        var tp8 = RunBuilder.Build(WideEp("parallelism.tensor_parallel_size=8", "parallelism.data_parallel_size=4"));
        Assert.That(dp32.Memory.Fits && tp8.Memory.Fits);
        Assert.That(dp32.Plan.Ep, Is.EqualTo(32));
        Assert.That(tp8.Plan.Ep, Is.EqualTo(32));
        var m = dp32.Model;
        // Per GPU: every layer's attention / TP, the experts / EP (whole experts), the rest as TP shards.
        double Expected(int tp)
        {
            double h = m.HiddenSize, p = 0;
            for (int i = 0; i < m.Layers; i++)
            {
                p += (double)m.AttentionParams / tp + 2 * h;
                p += m.IsMoeLayer(i) ? m.RouterParams + (double)m.SharedExpertParams / tp + m.Experts / 32.0 * m.ExpertParams : (double)m.DenseMlpParams / tp;
            }
            p += h;
            double tables = 2.0 * m.EmbeddingParams / tp; // embedding + LM head, 16-bit in an FP8 checkpoint
            return (p * 1.0 + tables * 2.0) / 1e9; // FP8: one byte per parameter
        }
        Assert.That(dp32.Memory.Stages[0].WeightsGB, Is.EqualTo(Expected(1)).Within(0.5).Percent);
        Assert.That(tp8.Memory.Stages[0].WeightsGB, Is.EqualTo(Expected(8)).Within(0.5).Percent);
        Assert.That(tp8.Memory.Stages[0].WeightsGB, Is.LessThan(dp32.Memory.Stages[0].WeightsGB));
    }

    [Test]
    public void DeepEpLowLatency_ShortensDecodeSteps()
    {
        // Decode-heavy: short prompts, so most steps stay under DeepEP's 256 tokens per rank.
        string[] decode = ["workload.input_tokens=64", "workload.requests=64"];
        var nccl = ScenarioRunner.Run(WideEp(decode), Path.Combine(_root, "nccl")).Directory;
        var ll = ScenarioRunner.Run(WideEp([.. decode, "moe.all_to_all=deepep_low_latency"]), Path.Combine(_root, "ll")).Directory;
        double EpPerStep(string dir)
        {
            using var s = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")));
            var dp = s.RootElement.GetProperty("data_parallel");
            return dp.GetProperty("ep_comm_ms").GetDouble() / dp.GetProperty("steps").GetInt64();
        }
        Assert.That(EpPerStep(ll), Is.LessThan(EpPerStep(nccl)));
    }

    [Test]
    public void FlowNetwork_PlaysTheAllToAllOnTheNics()
    {
        var dir = ScenarioRunner.Run(WideEp("network.model=flow", "workload.requests=40"), Path.Combine(_root, "flow")).Directory;
        var links = Csv(dir, "links.csv");
        Assert.That(links.Where(l => l["kind"] == "infiniband").Sum(l => D(l["bytes_carried"])), Is.GreaterThan(0));
        Assert.That(Csv(dir, "requests.csv").Count(r => r["status"] == "completed"), Is.EqualTo(40));
    }

    [Test]
    public void DpEngines_InsidePools_ServeDisaggregatedPrefillAndDecode()
    {
        const string Yaml = """
            name: pd-wide-ep
            cluster: {gpu: H200-SXM-141GB, nodes: 4, gpus_per_node: 8, intra_node: nvlink4, inter_node: ib-ndr400}
            model: deepseek-v3
            precision: {weights: fp8, kv_cache: fp8}
            pools:
              prefill: {role: prefill, nodes: 2, parallelism: {tensor_parallel_size: 1, data_parallel_size: 16, enable_expert_parallel: true}}
              decode: {role: decode, nodes: 2, parallelism: {tensor_parallel_size: 1, data_parallel_size: 16, enable_expert_parallel: true}}
            workload:
              arrivals: {process: poisson, rate_per_s: 16}
              input_tokens: {dist: lognormal, mean: 1024, sigma: 0.6}
              output_tokens: {dist: fixed, value: 32}
              requests: 48
            """;
        var dir = ScenarioRunner.Run(Loader.LoadText(Yaml, "pd.yaml", TestPaths.DataRoot), Path.Combine(_root, "pd")).Directory;
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")));
        Assert.That(summary.RootElement.GetProperty("data_parallel").GetProperty("engines").GetInt32(), Is.EqualTo(2));
        Assert.That(summary.RootElement.GetProperty("kv_transfer").GetProperty("transfers").GetInt64(), Is.EqualTo(48));
        var requests = Csv(dir, "requests.csv");
        Assert.That(requests.Count(r => r["status"] == "completed"), Is.EqualTo(48));
        Assert.That(requests.All(r => r["engine"] == "1" && int.Parse(r["prefill_replica"], CultureInfo.InvariantCulture) < 16), "decoded on engine 1, prefilled on engine 0");
        Assert.That(Csv(dir, "gpus.csv"), Has.Count.EqualTo(32));
    }

    [Test]
    public void EngineStep_DispatchesFp8RowsAndCombinesBf16_SizedByTheBiggestSenderOrHottestReceiver()
    {
        var built = RunBuilder.Build(WideEp());
        var m = built.Model;
        var step = built.CostModel(0).EngineExpertStep(0, engineTokens: 3200, maxRankTokens: 400);
        Assert.That(step.Comms, Has.Count.EqualTo(2));
        var (dispatch, combine) = (step.Comms[0], step.Comms[1]);
        // The biggest rank sends 400 tokens x top-8 rows; the hottest receiver gets 3200 x 8 / 32 x hotspot (about 800).
        double rows = Math.Max(400.0 * m.TopK, 3200.0 * m.TopK / 32 * step.HotspotRatio);
        Assert.That(combine.Bytes, Is.EqualTo(rows * m.HiddenSize * 2).Within(1));
        Assert.That(dispatch.Bytes, Is.EqualTo(rows * m.HiddenSize * (1 + 4.0 / 128)).Within(1));
        Assert.That((dispatch.Count, combine.Count), Is.EqualTo((58, 58)), "one dispatch and one combine per MoE layer");
        Assert.That(step.EpCommNs, Is.EqualTo(58 * (dispatch.AnalyticNsEach + combine.AnalyticNsEach)).Within(58));
        var bf16 = RunBuilder.Build(WideEp("precision.weights=bf16", "precision.kv_cache=bf16", "parallelism.tensor_parallel_size=8", "parallelism.data_parallel_size=4"))
            .CostModel(0).EngineExpertStep(0, 3200, 400);
        Assert.That(bf16.Comms[0].Bytes, Is.EqualTo(bf16.Comms[1].Bytes), "BF16 weights dispatch BF16 rows");
    }

    [Test]
    public void PlanFactory_BuildsEnginesOfDpRanks()
    {
        var plan = ParallelPlan.DataParallelAttention(tp: 8, dp: 4, engines: 2);
        Assert.That((plan.Ep, plan.Replicas, plan.Engines, plan.TotalGpus), Is.EqualTo((32, 8, 2, 64)));
        Assert.That((plan.EngineOf(5), plan.DpRankOf(5), plan.EpRankOf(5, 3)), Is.EqualTo((1, 1, 11)));
        var placement = PlacementTable.Build(plan, new ClusterShape(8, 8));
        Assert.That(placement.EpGroup(5, 0), Is.EqualTo(Enumerable.Range(32, 32).ToArray()));
        Assert.That(plan.Validate(ModelPresets.Get("deepseek-v3")), Is.Empty);
        Assert.That(plan.Validate(ModelPresets.Get("llama-3.1-70b")).Single(), Does.Contain("dense"));
    }
}
