using System.Globalization;
using System.Text.Json;
using NUnit.Framework;
using Simulator.Scenarios;
using Simulator.Tests.Shared;

namespace Simulator.Scenarios.Tests;

/// <summary>The acceptance lines for faults, end to end from scenario files.</summary>
public sealed class FaultScenarioTest
{
    private string _root = "";

    [SetUp]
    public void SetUp() => _root = Directory.CreateTempSubdirectory("sim-faults-").FullName;

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private static List<Dictionary<string, string>> Csv(string path)
    {
        var lines = File.ReadAllLines(path);
        var header = lines[0].Split(',');
        return lines.Skip(1).Select(l => header.Zip(l.Split(',')).ToDictionary(p => p.First, p => p.Second)).ToList();
    }

    private static double D(string text) => double.Parse(text, CultureInfo.InvariantCulture);

    private static double P99(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        double rank = 0.99 * (sorted.Length - 1);
        int lo = (int)Math.Floor(rank);
        return sorted[lo] + (sorted[Math.Min(lo + 1, sorted.Length - 1)] - sorted[lo]) * (rank - lo);
    }

    /// <summary>Loads the YAML parts joined by line breaks (raw string literals end without one).</summary>
    private static Scenario Text(params string[] parts) =>
        new ScenarioLoader(RunBuilder.Catalog).LoadText(string.Join("\n", parts), "f.yaml", TestPaths.DataRoot);

    [Test]
    public void GpuDown_OnOneOfTwoReplicas_AzureReplay_AllRowsKept_Retried_TtftP99Rises_Deterministic()
    {
        var path = Path.Combine(TestPaths.RepoRoot, "scenarios", "faults-gpu-down.yaml");
        var scenario = RunBuilder.Load(path);
        Assert.That(scenario.Faults.Scripted.Single().Kind, Is.EqualTo("gpu_down"));
        var a = ScenarioRunner.Run(scenario, Path.Combine(_root, "a"));
        var b = ScenarioRunner.Run(scenario, Path.Combine(_root, "b"));
        var healthy = ScenarioRunner.Run(scenario with { Faults = FaultsSpec.None }, Path.Combine(_root, "healthy"));

        var rows = Csv(Path.Combine(a.Directory, "requests.csv"));
        Assert.That(rows, Has.Count.EqualTo(3000));
        Assert.That(rows.Select(r => r["request_id"]).Distinct().Count(), Is.EqualTo(3000));
        Assert.That(rows.Count(r => r["status"] == "completed"), Is.GreaterThanOrEqualTo(2970));
        // Every request in replica 1 at 300 s was retried on replica 0.
        var retried = rows.Where(r => r["retries"] != "0").ToList();
        Assert.That(retried, Is.Not.Empty);
        Assert.That(retried.All(r => int.Parse(r["retries"], CultureInfo.InvariantCulture) >= 1 && r["replica"] == "0"), Is.True);
        Assert.That(retried.All(r => D(r["arrival_s"]) < 300 && (r["completion_s"] == "" || D(r["completion_s"]) > 300)), Is.True);
        Assert.That(a.Summary.TtftMs.P99, Is.GreaterThan(healthy.Summary.TtftMs.P99));
        Assert.That(a.Summary.Faults!.Availability, Is.LessThan(1.0));

        foreach (var file in new[] { "requests.csv", "iterations.csv", "timeseries.csv", "summary.json", "timeline.json" })
            Assert.That(File.ReadAllBytes(Path.Combine(b.Directory, file)), Is.EqualTo(File.ReadAllBytes(Path.Combine(a.Directory, file))), file);

        // The fault shows in summary.json, the timeseries' live column and the timeline's faults track.
        using var summary = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(a.Directory, "summary.json")));
        var fault = summary.RootElement.GetProperty("faults")[0];
        Assert.That(fault.GetProperty("kind").GetString(), Is.EqualTo("gpu_down"));
        Assert.That(fault.GetProperty("target").GetString(), Is.EqualTo("gpu5"));
        Assert.That(fault.GetProperty("at_s").GetDouble(), Is.EqualTo(300));
        Assert.That(fault.GetProperty("duration_s").GetDouble(), Is.EqualTo(120));
        var down = Csv(Path.Combine(a.Directory, "timeseries.csv")).Where(r => r["live"] == "0").ToList();
        Assert.That(down.All(r => r["replica"] == "1" && D(r["time_s"]) >= 300 && D(r["time_s"]) < 426), Is.True);
        Assert.That(down, Has.Count.EqualTo(126), "samples at 300..425 s: 120 s down + 5.04 s reloading 35.28 GB at 7 GB/s");
        Assert.That(File.ReadAllText(Path.Combine(a.Directory, "timeline.json")), Does.Contain("\"name\":\"gpu_down gpu5\""));
    }

    private const string OneNode = """
        name: one-node
        cluster: {gpu: H100-SXM-80GB, nodes: 1, gpus_per_node: 2}
        model: llama-3.1-8b
        parallelism: {tensor_parallel_size: 2}
        workload:
          arrivals: {process: poisson, rate_per_s: 10}
          input_tokens: {dist: lognormal, mean: 512, sigma: 0.5}
          output_tokens: {dist: fixed, value: 64}
          requests: 200
        """;

    [Test]
    public void PermanentNodeDown_OfTheOnlyNode_EndsTheRestFailedNoLiveReplica_AndWritesEveryOutput()
    {
        var scenario = Text(OneNode, "faults:\n  - {at_s: 8, kind: node_down, node: 0}\n");
        var run = ScenarioRunner.Run(scenario, Path.Combine(_root, "node"));

        var rows = Csv(Path.Combine(run.Directory, "requests.csv"));
        Assert.That(rows, Has.Count.EqualTo(200));
        var failed = rows.Where(r => r["status"] == "failed").ToList();
        Assert.That(failed, Is.Not.Empty);
        Assert.That(rows.All(r => r["status"] is "completed" or "failed"), Is.True);
        Assert.That(failed.All(r => r["reason"] == "no_live_replica"), Is.True);
        Assert.That(rows.Where(r => D(r["arrival_s"]) >= 8).All(r => r["status"] == "failed"), Is.True);
        Assert.That(run.Summary.Requests.Failed, Is.EqualTo(failed.Count));
        Assert.That(run.Summary.Requests.Reasons!.Items.Single(), Is.EqualTo(new KeyValuePair<string, long>("no_live_replica", failed.Count)));
        foreach (var file in new[] { "scenario.yaml", "summary.json", "perf.json", "requests.csv", "iterations.csv", "gpus.csv", "links.csv", "timeseries.csv", "timeline.json" })
            Assert.That(File.Exists(Path.Combine(run.Directory, file)), Is.True, file);
        Assert.That(run.Summary.Faults!.Faults.Single().DurationNs, Is.Null, "permanent");
        // The scenario as run reproduces the run.
        var again = new ScenarioLoader(RunBuilder.Catalog).Load(Path.Combine(run.Directory, "scenario.yaml"));
        Assert.That(again.Faults, Is.EqualTo(scenario.Faults));
    }

    [Test]
    public void RandomGpuFailures_AreSeededFromTheRunSeed_EveryRequestKept_ScenarioYamlReproducesThem()
    {
        // Two 1-GPU replicas, each GPU failing every 10 s on average for 2 s: many faults in a 20 s run.
        string yaml = OneNode.Replace("{tensor_parallel_size: 2}", "{tensor_parallel_size: 1, replicas: 2}");
        string faults = "random_faults: {gpu_mtbf_hours: 0.0027778, repair_s: 2}\nretry: {max_retries: 5}\n";
        var a = ScenarioRunner.Run(Text(yaml, faults), Path.Combine(_root, "a"));
        var again = new ScenarioLoader(RunBuilder.Catalog).Load(Path.Combine(a.Directory, "scenario.yaml"));
        var b = ScenarioRunner.Run(again, Path.Combine(_root, "b"));
        var c = ScenarioRunner.Run(Text(yaml, "seed: 2", faults), Path.Combine(_root, "c"));

        Assert.That(a.Summary.Faults!.Faults.Count, Is.GreaterThan(1));
        Assert.That(a.Summary.Faults.Faults.All(f => f.Kind == "gpu_down" && f.DurationNs == 2_000_000_000L), Is.True);
        Assert.That(Csv(Path.Combine(a.Directory, "requests.csv")), Has.Count.EqualTo(200));
        Assert.That(File.ReadAllBytes(Path.Combine(b.Directory, "requests.csv")), Is.EqualTo(File.ReadAllBytes(Path.Combine(a.Directory, "requests.csv"))));
        Assert.That(b.Summary.Faults, Is.EqualTo(a.Summary.Faults));
        Assert.That(c.Summary.Faults!.Faults, Is.Not.EqualTo(a.Summary.Faults.Faults), "another seed, other failures");
    }

    [Test]
    public void TwoXStraggler_InOneTpGroup_RoughlyDoublesThatReplicasTpot_AndNoOthers()
    {
        const string twoReplicas = """
            name: straggler
            cluster: {gpu: H100-SXM-80GB, nodes: 1, gpus_per_node: 4}
            model: llama-3.1-8b
            parallelism: {tensor_parallel_size: 2, replicas: 2}
            router: round_robin
            workload:
              arrivals: {process: constant, rate_per_s: 4}
              input_tokens: {dist: fixed, value: 256}
              output_tokens: {dist: fixed, value: 128}
              requests: 120
            """;
        var slow = ScenarioRunner.Run(Text(twoReplicas, "faults:\n  - {at_s: 0, kind: straggler, gpu: 1, slowdown: 2.0}\n"), Path.Combine(_root, "slow"));
        var healthy = ScenarioRunner.Run(Text(twoReplicas), Path.Combine(_root, "healthy"));

        double MeanTpot(string dir, string replica) => Csv(Path.Combine(dir, "requests.csv"))
            .Where(r => r["replica"] == replica && r["tpot_ms"] != "").Average(r => D(r["tpot_ms"]));
        double ratio0 = MeanTpot(slow.Directory, "0") / MeanTpot(healthy.Directory, "0");
        double ratio1 = MeanTpot(slow.Directory, "1") / MeanTpot(healthy.Directory, "1");
        TestContext.Out.WriteLine($"TPOT ratio: straggling replica {ratio0:F3}, other {ratio1:F3}");
        Assert.That(ratio0, Is.InRange(1.6, 2.05), "compute doubles; TP communication and host overheads do not");
        Assert.That(ratio1, Is.EqualTo(1.0).Within(0.01));
    }

    private const string TpPair = """
        name: link
        cluster: {gpu: H100-SXM-80GB, nodes: 1, gpus_per_node: 2}
        model: llama-3.1-8b
        parallelism: {tensor_parallel_size: 2}
        workload:
          arrivals: {process: constant, rate_per_s: 5}
          input_tokens: {dist: fixed, value: 2048}
          output_tokens: {dist: fixed, value: 1}
          requests: 20
        faults:
          - {at_s: 1, kind: link_degraded, link: n0.gpu0.nvswitch, bandwidth_factor: 0.25, duration_s: 1}
        """;

    [TestCase("analytic")]
    [TestCase("flow")]
    public void LinkDegraded_SlowsTheTpGroupsIterations_OnlyWhileItLasts(string network)
    {
        var run = ScenarioRunner.Run(Text(TpPair, $"network: {{model: {network}}}\n"), Path.Combine(_root, network));
        // One 2,048-token prefill every 200 ms, each alone in its batch: the TP all-reduces cross the degraded NVSwitch port.
        var its = Csv(Path.Combine(run.Directory, "iterations.csv"));
        Assert.That(its.All(r => r["batch_size"] == "1"), Is.True);
        double Span(Dictionary<string, string> r) => D(r["end_s"]) - D(r["start_s"]);
        var during = its.Where(r => D(r["start_s"]) >= 1.0 && D(r["end_s"]) <= 2.0).Select(Span).ToList();
        var outside = its.Where(r => D(r["end_s"]) < 1.0 || D(r["start_s"]) >= 2.0).Select(Span).ToList();
        Assert.That(during, Has.Count.EqualTo(5));
        Assert.That(during.Min(), Is.GreaterThan(1.3 * outside.Max()), $"{network}: {during.Min()} vs {outside.Max()}");
        Assert.That(outside.Max() - outside.Min(), Is.LessThan(1e-5), "healthy before, restored after");
    }

    [TestCase("faults:\n  - {at_s: 1, kind: gpu_dwn, gpu: 0}\n", "f.yaml:11: faults[0].kind: 'gpu_dwn' is not allowed (did you mean 'gpu_down'?)")]
    [TestCase("faults:\n  - {at_s: 1, kind: gpu_down, gpu: 9}\n", "faults[0].gpu: 9 is out of range; expected an integer from 0 to 1")]
    [TestCase("faults:\n  - {at_s: 1, kind: node_down, node: 1}\n", "faults[0].node: 1 is out of range; expected an integer from 0 to 0")]
    [TestCase("faults:\n  - {at_s: -5, kind: gpu_down, gpu: 0}\n", "faults[0].at_s: -5 is out of range")]
    [TestCase("faults:\n  - {kind: gpu_down, gpu: 0}\n", "faults[0].at_s: missing")]
    [TestCase("faults:\n  - {at_s: 1, gpu: 0}\n", "faults[0].kind: missing; expected one of gpu_down | node_down | straggler | link_degraded")]
    [TestCase("faults:\n  - {at_s: 1, kind: gpu_down}\n", "faults[0].gpu: missing")]
    [TestCase("faults:\n  - {at_s: 1, kind: gpu_down, gpu: 0, duration_s: 0}\n", "faults[0].duration_s: 0 is out of range; expected a number > 0")]
    [TestCase("faults:\n  - {at_s: 1, kind: straggler, gpu: 0, slowdown: 0.5}\n", "faults[0].slowdown: 0.5 is out of range; expected a number >= 1")]
    [TestCase("faults:\n  - {at_s: 1, kind: straggler, gpu: 0}\n", "faults[0].slowdown: missing")]
    [TestCase("faults:\n  - {at_s: 1, kind: link_degraded, link: n0.gpu0.nvswitch, bandwidth_factor: 1.5}\n", "faults[0].bandwidth_factor: 1.5 is out of range")]
    [TestCase("faults:\n  - {at_s: 1, kind: gpu_down, gpu: 0, node: 0}\n", "faults[0].node: applies only to kind: node_down")]
    [TestCase("faults:\n  - {at_s: 1, kind: gpu_down, gpu: 0, slowdown: 2}\n", "faults[0].slowdown: applies only to kind: straggler")]
    [TestCase("faults: 3\n", "faults: expected a list of")]
    [TestCase("faults:\n  - 3\n", "faults[0]: expected a mapping")]
    [TestCase("random_faults: {repair_s: 60}\n", "random_faults.gpu_mtbf_hours: missing")]
    [TestCase("random_faults: {gpu_mtbf_hours: 0}\n", "random_faults.gpu_mtbf_hours: 0 is out of range")]
    [TestCase("retry: {max_retries: -1}\n", "retry.max_retries: -1 is out of range")]
    [TestCase("retry: {max_retry: 1}\n", "retry.max_retry: unknown key; did you mean 'max_retries'?")]
    [TestCase("recovery: {weight_load_gbps: 0}\n", "recovery.weight_load_gbps: 0 is out of range")]
    public void BadFaultKeys_GiveOneLocatedError(string yaml, string expected)
    {
        var ex = Assert.Throws<ScenarioException>(() => Text(OneNode, yaml))!;
        Assert.That(ex.Errors, Has.Count.EqualTo(1), string.Join("\n", ex.Errors));
        Assert.That(ex.Errors[0].ToString(), Does.StartWith("error: f.yaml:").And.Contain(expected));
    }

    [Test]
    public void UnknownLink_GivesOneLocatedError_ListingTheLinks()
    {
        var scenario = Text(OneNode, "faults:\n  - {at_s: 1, kind: link_degraded, link: n0.gpu0.nic, bandwidth_factor: 0.5}\n");
        var ex = Assert.Throws<ScenarioException>(() => RunBuilder.Build(scenario))!;
        Assert.That(ex.Errors, Has.Count.EqualTo(1));
        Assert.That(ex.Errors[0].ToString(), Does.StartWith("error: f.yaml:11: faults[0].link: no link named 'n0.gpu0.nic' in this cluster")
            .And.Contain("expected one of n0.gpu0.nvswitch, n0.gpu1.nvswitch"));
    }
}
