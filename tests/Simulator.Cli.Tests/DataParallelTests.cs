// FsCheck supplies the arguments of [FsProperty] methods; NUnit's analyzer cannot see that.
#pragma warning disable NUnit1001, NUnit1027
using System.Globalization;
using Simulator.Scenarios;
using FsProperty = FsCheck.NUnit.PropertyAttribute;

namespace Simulator.Cli.Tests;

/// <summary>
/// DP-attention engines from the command line: `sim memory` shows the per-GPU weight split, and for any DP size and
/// load every request ends in one row, every rank stays within its own KV capacity and the ranks step in lockstep.
/// </summary>
[TestFixture, NonParallelizable]
public sealed class DataParallelTests
{
    /// <summary>Qwen3-30B-A3B (128 experts) as one engine of D DP ranks on one node of H100, KV kept small.</summary>
    private const string Engine = """
        name: dp-engine
        seed: 5
        cluster: {gpu: H100-SXM-80GB, nodes: 1, gpus_per_node: 8}
        model: qwen3-30b-a3b
        parallelism: {tensor_parallel_size: 1, data_parallel_size: 2, enable_expert_parallel: true}
        scheduler: {max_num_seqs: 48, max_num_batched_tokens: 2048, gpu_memory_utilization: 0.45}
        workload:
          arrivals: {process: poisson, rate_per_s: 30}
          input_tokens: {dist: lognormal, mean: 900, sigma: 0.7}
          output_tokens: {dist: fixed, value: 32}
          requests: 80
        """;

    private static double Num(string text) => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);

    [Test]
    public void Memory_ShowsAttentionOverTpAndExpertsOverEpPerGpu()
    {
        var r = CliHarness.Run("memory", CliHarness.Scenario("wide-ep-deepseek-v3.yaml"));
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.StdOut, Does.Contain("1 engine x DP 32 x TP 1 (EP 32 over 32 GPUs)"));
        Assert.That(r.StdOut, Does.Contain("weights per GPU: attention 11.41 GB (all layers / TP 1), routed experts 20.43 GB (8 of 256 per layer, / EP 32)"));
    }

    [FsProperty(MaxTest = 5)]
    public void AnyDpSizeAndLoad_OneRowPerRequest_KvWithinEachRank_RanksInLockstep(byte dpSeed, byte rateSeed)
    {
        int dp = new[] { 2, 4, 8 }[dpSeed % 3];
        double rate = 20 + rateSeed % 60;
        string[] sets = [$"parallelism.data_parallel_size={dp}", $"workload.arrivals.rate_per_s={rate}"];
        using var tmp = new TempDir();
        var path = tmp.Write("dp.yaml", Engine);
        var args = new List<string> { "run", path, "--out", tmp.Sub("run"), "--no-report" };
        foreach (var s in sets) { args.Add("--set"); args.Add(s); }
        var r = CliHarness.Run(args.ToArray());
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());

        var requests = CsvTable.Read(tmp.Sub("run", "requests.csv"));
        var ids = requests.Rows.Select(x => x[requests.Column("request_id")]).ToList();
        Assert.That(ids, Has.Count.EqualTo(80));
        Assert.That(ids.Distinct().Count(), Is.EqualTo(80));
        Assert.That(requests.Rows.All(x => x[requests.Column("status")] == "completed"));

        long capacity = RunBuilder.Build(RunBuilder.Load(path, sets)).Memory.KvBlocks;
        var it = CsvTable.Read(tmp.Sub("run", "iterations.csv"));
        int replica = it.Column("replica"), used = it.Column("kv_blocks_used"), start = it.Column("start_s"), end = it.Column("end_s");
        foreach (var rank in it.Rows.GroupBy(x => x[replica]))
            Assert.That(rank.Max(x => Num(x[used])), Is.LessThanOrEqualTo(capacity), $"rank {rank.Key}");
        foreach (var step in it.Rows.GroupBy(x => x[start]))
            Assert.That(step.Select(x => x[end]).Distinct().Count(), Is.EqualTo(1), $"step at {step.Key}");
        Assert.That(it.Rows.Select(x => x[it.Column("dp_rank")]).Distinct().Count(), Is.EqualTo(dp), "every rank served");
    }
}
