// FsCheck supplies the arguments of [FsProperty] methods; NUnit's analyzer cannot see that.
#pragma warning disable NUnit1001, NUnit1027
using System.Globalization;
using NUnit.Framework;
using Simulator.Scenarios;
using Simulator.Tests.Shared;
using FsProperty = FsCheck.NUnit.PropertyAttribute;

namespace Simulator.Scenarios.Tests;

/// <summary>
/// Parallel replicas (run.threads, issue 15): a run directory is the same, byte for byte (every file but perf.json), for
/// 1, 2, 3 or 4 threads, with state-reading and blind routers, prefix caching, the front end and time series; runs that
/// cannot be split say why and use one thread.
/// </summary>
[TestFixture, NonParallelizable]
public sealed class ParallelReplicasTest
{
    /// <summary>Eight TP1 replicas of Llama-3.1-8B on one node, the vLLM engine (front end on), every iteration row kept.</summary>
    private const string Small = """
        name: parallel-test
        seed: 4
        cluster: {gpu: H100-SXM-80GB, nodes: 1, gpus_per_node: 8}
        model: llama-3.1-8b
        parallelism: {tensor_parallel_size: 1, replicas: 8}
        scheduler: {max_num_seqs: 32, max_num_batched_tokens: 2048}
        router: least_outstanding
        workload:
          arrivals: {process: poisson, rate_per_s: 80}
          input_tokens: {dist: lognormal, mean: 600, sigma: 0.8}
          output_tokens: {dist: lognormal, mean: 60, sigma: 0.7}
          requests: 300
        output: {timeseries_interval_s: 0.25, iterations: all}
        """;

    private static readonly ScenarioLoader Loader = new();
    private string _root = "";

    [SetUp]
    public void SetUp() => _root = Path.Combine(Path.GetTempPath(), "sim-parallel-tests", Guid.NewGuid().ToString("N"));

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private static Dictionary<string, byte[]> Files(string dir) =>
        Directory.GetFiles(dir).Select(Path.GetFileName).OfType<string>()
            .Where(f => f != "perf.json" && !f.StartsWith('.')).Order(StringComparer.Ordinal)
            .ToDictionary(f => f, f => File.ReadAllBytes(Path.Combine(dir, f)));

    private RunResult RunText(string yaml, string label, params string[] sets) =>
        ScenarioRunner.Run(Loader.LoadText(yaml, "parallel.yaml", TestPaths.DataRoot, sets), Path.Combine(_root, label));

    private RunResult RunShipped(string file, string label, params string[] sets) =>
        ScenarioRunner.Run(RunBuilder.Load(Path.Combine(TestPaths.RepoRoot, "scenarios", file), sets), Path.Combine(_root, label));

    private static void AssertSameAsOneThread(Func<int, RunResult> run, params int[] threads)
    {
        var one = run(1);
        Assert.That(one.Perf.Threads, Is.EqualTo(1));
        var expected = Files(one.Directory);
        Assert.That(expected.Keys, Does.Contain("iterations.csv").And.Contain("requests.csv").And.Contain("timeseries.csv"));
        foreach (int n in threads)
        {
            var many = run(n);
            Assert.That(many.Perf.Threads, Is.EqualTo(n), "the run was split");
            Assert.That(many.Perf.SerialReason, Is.Null);
            Assert.That(many.Perf.Events, Is.EqualTo(one.Perf.Events), $"{n} threads: events");
            var actual = Files(many.Directory);
            Assert.That(actual.Keys, Is.EqualTo(expected.Keys), $"{n} threads: files");
            foreach (var (file, bytes) in expected)
                Assert.That(actual[file].AsSpan().SequenceEqual(bytes), Is.True, $"{n} threads: {file} differs from one thread");
        }
    }

    [TestCase("least_outstanding")]
    [TestCase("round_robin")]
    [TestCase("least_kv")]
    [TestCase("random")]
    public void RunDirectory_IsTheSameForOneToFourThreads(string router) =>
        AssertSameAsOneThread(n => RunText(Small, $"{router}-{n}", $"router={router}", $"run.threads={n}"), 2, 3, 4);

    [Test]
    public void PrefixAwareRouter_OnConversationTraffic_IsTheSameForOneToFourThreads() =>
        AssertSameAsOneThread(n => RunShipped("prefix-caching.yaml", $"prefix-{n}", "workload.trace.limit=400",
            "output.timeseries_interval_s=0.5", "output.iterations=all", $"run.threads={n}"), 2, 3, 4);

    [Test]
    public void Fleet_OfTwoHundredFiftySixReplicas_IsTheSameForOneToFourThreads() =>
        AssertSameAsOneThread(n => RunShipped("fleet-1m.yaml", $"fleet-{n}", "workload.requests=1200", "output.iterations=all",
            $"run.threads={n}"), 2, 4);

    [Test]
    public void EngineWithoutFrontEnd_UnderHeavyLoad_IsTheSameForOneToThreeThreads() =>
        AssertSameAsOneThread(n => RunText(Small, $"end-{n}", "engine=none", "workload.requests=2000", "workload.arrivals.rate_per_s=400",
            $"run.threads={n}"), 3);

    [FsProperty(MaxTest = 8)]
    public void RandomSmallRuns_GiveTheSameOutputsAsOneThread(byte replicasSeed, byte rateSeed, byte seed, byte threadsSeed)
    {
        int replicas = 2 + replicasSeed % 7;
        double rate = 10 + rateSeed % 120;
        int threads = 2 + threadsSeed % Math.Min(3, replicas - 1);
        string[] sets = [$"parallelism.replicas={replicas}", $"workload.arrivals.rate_per_s={rate.ToString(CultureInfo.InvariantCulture)}",
            $"seed={seed}", "workload.requests=120"];
        var root = _root = Path.Combine(Path.GetTempPath(), "sim-parallel-tests", Guid.NewGuid().ToString("N"));
        try
        {
            AssertSameAsOneThread(n => RunText(Small, $"p-{n}", [.. sets, $"run.threads={n}"]), threads);
        }
        finally
        {
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        }
    }

    [Test]
    public void Auto_UsesOneThreadPerEightReplicasAtMost_AndASweepPointOne()
    {
        var auto = RunText(Small, "auto", "parallelism.replicas=7");
        Assert.That(auto.Perf.Threads, Is.EqualTo(1), "7 replicas: too few for a second thread");
        Assert.That(auto.Perf.SerialReason, Is.Null, "nothing asked for more");
        var scenario = Loader.LoadText(Small, "parallel.yaml", TestPaths.DataRoot, []);
        Assert.That(scenario.Run.Threads, Is.EqualTo(0), "auto");
        Assert.That(ScenarioRunner.OneThreadUnlessNamed(scenario).Run.Threads, Is.EqualTo(1));
        var named = Loader.LoadText(Small, "parallel.yaml", TestPaths.DataRoot, ["run.threads=3"]);
        Assert.That(ScenarioRunner.OneThreadUnlessNamed(named).Run.Threads, Is.EqualTo(3));
    }

    [TestCase("faults-gpu-down.yaml", new[] { "workload.trace.limit=100" }, "faults")]
    [TestCase("disaggregation-decode-failure.yaml", new[] { "workload.requests=60" }, "disaggregated pools")]
    public void IneligibleShippedScenario_RunsOnOneThread_AndSaysWhy(string file, string[] sets, string reason)
    {
        var r = RunShipped(file, "fallback", [.. sets, "run.threads=2"]);
        Assert.That(r.Perf.Threads, Is.EqualTo(1));
        Assert.That(r.Perf.SerialReason, Does.StartWith(reason));
        Assert.That(File.ReadAllText(Path.Combine(r.Directory, "perf.json")), Does.Contain("\"serial_reason\": \"" + reason));
        Assert.That(File.ReadAllText(Path.Combine(r.Directory, "summary.json")), Does.Not.Contain("serial_reason"));
    }

    [Test]
    public void FlowNetwork_RunsOnOneThread_AndSaysWhy()
    {
        var r = RunText(Small, "flow", "network.model=flow", "workload.requests=40", "run.threads=2");
        Assert.That(r.Perf.Threads, Is.EqualTo(1));
        Assert.That(r.Perf.SerialReason, Does.StartWith("network.model flow"));
    }

    [Test]
    public void DataParallelAttention_RunsOnOneThread_AndSaysWhy()
    {
        var r = RunText(Small, "dp", "model=qwen3-30b-a3b", "parallelism.replicas=1", "parallelism.data_parallel_size=2",
            "parallelism.enable_expert_parallel=true", "scheduler.gpu_memory_utilization=0.45", "workload.requests=20", "run.threads=2");
        Assert.That(r.Perf.Threads, Is.EqualTo(1));
        Assert.That(r.Perf.SerialReason, Does.StartWith("DP-attention"));
    }
}
