using System.Text.Json.Nodes;
using NUnit.Framework;
using Simulator.Inference.Metrics;
using Simulator.Scenarios;
using Simulator.Tests.Shared;

namespace Simulator.Scenarios.Tests;

/// <summary>
/// <c>sim run</c> with <c>cost.gpu_hour_usd</c>: summary.json's <c>cost</c> is the GPUs of every pool x their price over
/// the throughput window, the run itself does not move, and a GPU without a price is a located error before the run.
/// </summary>
[TestFixture, NonParallelizable]
public sealed class RunCostTest
{
    private const string Replicas = """
        name: cost-test
        seed: 5
        cluster: {gpu: H100-SXM-80GB, nodes: 1, gpus_per_node: 8}
        model: llama-3.1-8b
        parallelism: {tensor_parallel_size: 2, replicas: 2}
        workload:
          arrivals: {process: poisson, rate_per_s: 20}
          input_tokens: 256
          output_tokens: 32
          requests: 60
        """;

    private const string Pools = """
        name: cost-pools-test
        model: llama-3.1-8b
        cluster: {gpu: H100-SXM-80GB, gpus_per_node: 8}
        parallelism: {tensor_parallel_size: 2, replicas: 1}
        pools:
          prefill: {role: prefill, gpus_per_node: 4, parallelism: {replicas: 2}}
          decode: {role: decode, gpu: H200-SXM-141GB, gpus_per_node: 4, parallelism: {tensor_parallel_size: 4}}
        workload:
          arrivals: {process: poisson, rate_per_s: 8}
          input_tokens: 128
          output_tokens: 8
          requests: 20
        cost: {gpu_hour_usd: {H100-SXM-80GB: 2.5, H200-SXM-141GB: 3.5}}
        """;

    private string _root = "";

    [SetUp]
    public void MakeRoot() => _root = Path.Combine(Path.GetTempPath(), "sim-cost-tests", Guid.NewGuid().ToString("N"));

    [TearDown]
    public void RemoveRoot()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private static Scenario Load(string yaml, params string[] sets) =>
        new ScenarioLoader(RunBuilder.Catalog).LoadText(yaml, "s.yaml", TestPaths.DataRoot, sets);

    private static JsonObject SummaryFile(string dir) => JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")))!.AsObject();

    [Test]
    public void PricedRun_CostIsItsGpusTimesPriceOverTheWindow_AndTheRunIsUnchanged()
    {
        var priced = ScenarioRunner.Run(Load(Replicas, "cost.gpu_hour_usd.H100-SXM-80GB=2.5"), Path.Combine(_root, "priced"));
        var plain = ScenarioRunner.Run(Load(Replicas), Path.Combine(_root, "plain"));

        var t = priced.Summary.Throughput;
        Assert.That(t.OutputTokens, Is.GreaterThan(0));
        var cost = priced.Summary.Cost!;
        double total = 10.0 * t.WindowS / 3600; // 2 replicas x TP2 = 4 GPUs x 2.5 USD
        Assert.That(cost.UsdPerHour, Is.EqualTo(10.0));
        Assert.That(cost.UsdTotal, Is.EqualTo(total).Within(1e-6));
        Assert.That(cost.UsdPerMillionOutputTokens!.Value, Is.EqualTo(total / t.OutputTokens * 1e6).Within(1e-4));
        Assert.That(plain.Summary.Cost, Is.Null);

        var file = SummaryFile(priced.Directory);
        Assert.That(SummaryJson.Read(File.ReadAllBytes(Path.Combine(priced.Directory, "summary.json"))).Cost, Is.EqualTo(cost));
        Assert.That(file["cost"]!["usd_per_hour"]!.GetValue<double>(), Is.EqualTo(10.0));
        file.Remove("cost");
        file["scenario"] = null;
        var without = SummaryFile(plain.Directory);
        without["scenario"] = null;
        Assert.That(file.ToJsonString(), Is.EqualTo(without.ToJsonString()), "pricing a run adds the cost block and changes nothing else");
        Assert.That(File.Exists(Path.Combine(priced.Directory, "summary.json.cost")), Is.False);

        Assert.That(ConsoleSummary.Lines(priced.Summary), Has.One.StartsWith("Cost: 10.00 USD/hour, "));
        Assert.That(ConsoleSummary.Lines(plain.Summary), Has.None.StartsWith("Cost:"));
    }

    [Test]
    public void PoolsOfTwoGpuTypes_EachPoolPaysItsOwnPrice()
    {
        var run = ScenarioRunner.Run(Load(Pools), Path.Combine(_root, "pools"));
        // prefill: 2 replicas x TP2 on H100 at 2.5; decode: 1 replica x TP4 on H200 at 3.5.
        Assert.That(run.Summary.Cost!.UsdPerHour, Is.EqualTo(4 * 2.5 + 4 * 3.5));
        Assert.That(SummaryFile(run.Directory)["cost"]!["usd_total"]!.GetValue<double>(), Is.EqualTo(run.Summary.Cost.UsdTotal));
    }

    [Test]
    public void PoolGpuWithoutAPrice_IsALocatedErrorBeforeTheRun()
    {
        var scenario = Load(Pools.Replace(", H200-SXM-141GB: 3.5", ""));
        var dir = Path.Combine(_root, "unpriced");
        var ex = Assert.Throws<ScenarioException>(() => ScenarioRunner.Run(scenario, dir))!;
        Assert.That(ex.Message, Does.StartWith("error: s.yaml:").And.Contain(": cost.gpu_hour_usd: no price for H200-SXM-141GB (the pool decode GPU); priced: H100-SXM-80GB"));
        Assert.That(Directory.Exists(dir), Is.False);
    }
}
