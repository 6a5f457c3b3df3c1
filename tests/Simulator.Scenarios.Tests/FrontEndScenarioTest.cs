using System.Globalization;
using System.Text.Json;
using NUnit.Framework;
using Simulator.Scenarios;
using Simulator.Tests.Shared;

namespace Simulator.Scenarios.Tests;

/// <summary>
/// `frontend.model: queue` end to end: Qwen3-0.6B on one H100 behind vLLM's API server (the engine profile's
/// front-end terms), light and heavy Poisson load; the server's totals in summary.json, TTFT rising with load where
/// the delay model's stays flat, the scenario keys written back, byte-identical reruns.
/// </summary>
[TestFixture, NonParallelizable]
public sealed class FrontEndScenarioTest
{
    private static readonly ScenarioLoader Loader = new(RunBuilder.Catalog);
    private string _root = "";

    private static string Yaml(string model, int ratePerS, string extra = "") => $$"""
        name: fe-{{model}}-{{ratePerS}}
        cluster: {gpu: H100-SXM-80GB, nodes: 1, gpus_per_node: 8}
        model: {hf_config: "{{TestPaths.Data("models", "Qwen--Qwen3-0.6B_config.json").Replace("\\", "/", StringComparison.Ordinal)}}"}
        engine: vllm
        frontend: {model: {{model}}{{extra}}}
        workload: {arrivals: {process: poisson, rate_per_s: {{ratePerS}}}, input_tokens: 256, output_tokens: 64, requests: 400}
        """;

    private string Run(string model, int ratePerS, string extra = "", string? name = null) =>
        ScenarioRunner.Run(Loader.LoadText(Yaml(model, ratePerS, extra), "s.yaml", TestPaths.DataRoot),
            Path.Combine(_root, name ?? $"{model}-{ratePerS}")).Directory;

    [OneTimeSetUp]
    public void SetUp() => _root = Path.Combine(Path.GetTempPath(), "sim-frontend-tests", Guid.NewGuid().ToString("N"));

    [OneTimeTearDown]
    public void TearDown()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private static JsonElement Summary(string dir) => JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "summary.json"))).RootElement;

    private static double TtftP50(string dir) => Summary(dir).GetProperty("ttft_ms").GetProperty("p50").GetDouble();

    [Test]
    public void QueuedFrontEnd_TtftRisesUnderLoad_WhereFixedDelaysDoNot()
    {
        // 256 prompt + 64 streamed tokens: 1 ms + 0.38 ms + 64 x 30 us = 3.3 ms of API-server work per request.
        string light = Run("queue", 50), heavy = Run("queue", 400);
        string lightDelay = Run("delay", 50), heavyDelay = Run("delay", 400);
        Assert.That(TtftP50(light), Is.EqualTo(TtftP50(lightDelay)).Within(0.5), "at 15% utilization the queue costs little");
        Assert.That(TtftP50(heavy), Is.GreaterThan(TtftP50(light) * 5));
        Assert.That(TtftP50(heavy) - TtftP50(heavyDelay), Is.GreaterThan(30.0), "the requests wait for the server");

        var fe = Summary(heavy).GetProperty("front_end");
        Assert.That(fe.GetProperty("model").GetString(), Is.EqualTo("queue"));
        Assert.That(fe.GetProperty("api_server_count").GetInt32(), Is.EqualTo(1));
        Assert.That(fe.GetProperty("utilization").GetDouble(), Is.GreaterThan(Summary(light).GetProperty("front_end").GetProperty("utilization").GetDouble() * 3));
        Assert.That(fe.GetProperty("input_wait_mean_ms").GetDouble(), Is.GreaterThan(10.0));
        Assert.That(Summary(heavyDelay).TryGetProperty("front_end", out _), Is.False, "the delay model writes no front_end block");

        var requests = File.ReadAllLines(Path.Combine(heavy, "requests.csv"));
        int col = Array.IndexOf(requests[0].Split(','), "frontend_ms");
        var frontEndMs = requests.Skip(1).Select(l => double.Parse(l.Split(',')[col], CultureInfo.InvariantCulture)).ToList();
        Assert.That(frontEndMs.Max(), Is.GreaterThan(30.0), "frontend_ms carries the wait");
    }

    [Test]
    public void MoreApiServers_TakeTheBacklogAway()
    {
        double one = TtftP50(Run("queue", 400, name: "one"));
        double four = TtftP50(Run("queue", 400, ", api_server_count: 4", "four"));
        Assert.That(four, Is.LessThan(one / 3));
    }

    [Test]
    public void CostKeys_OverrideTheEngineProfile_AndAreWrittenBack()
    {
        string dir = Run("queue", 50, ", per_request_us: 5000, per_input_token_us: 0, per_output_token_us: 100", "override");
        var written = Loader.Load(Path.Combine(dir, "scenario.yaml"));
        Assert.That(written.FrontEnd, Is.EqualTo(new FrontEndSpec { Model = "queue", PerRequestUs = 5000, PerInputTokenUs = 0, PerOutputTokenUs = 100 }));
        var requests = File.ReadAllLines(Path.Combine(dir, "requests.csv"));
        int col = Array.IndexOf(requests[0].Split(','), "frontend_ms");
        var frontEndMs = requests.Skip(1).Select(l => double.Parse(l.Split(',')[col], CultureInfo.InvariantCulture)).ToList();
        Assert.That(frontEndMs.Min(), Is.GreaterThanOrEqualTo(5.1), "5 ms per request + at least one 0.1 ms token");
    }

    [Test]
    public void SameScenarioAndSeed_GiveByteIdenticalOutputs()
    {
        string a = Run("queue", 400, ", api_server_count: 2", "a"), b = Run("queue", 400, ", api_server_count: 2", "b");
        foreach (var file in new[] { "summary.json", "requests.csv", "iterations.csv", "timeseries.csv" })
            Assert.That(File.ReadAllBytes(Path.Combine(b, file)), Is.EqualTo(File.ReadAllBytes(Path.Combine(a, file))), file);
    }
}
