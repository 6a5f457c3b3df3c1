namespace Simulator.Cli.Tests;

/// <summary>
/// Bad input: exit 2, one `error:` line per problem on stderr that names the file, line and key, never a
/// stack trace, and no run directory left behind.
/// </summary>
[TestFixture, NonParallelizable]
public sealed class BadInputTests
{
    // A small synthetic scenario written into each test's temp folder; each test edits one line of it.
    private const string BaseScenario = """
        name: bad-input
        seed: 1
        cluster:
          gpu: H100-SXM-80GB
          nodes: 1
          gpus_per_node: 8
          intra_node: nvlink4
          inter_node: ib-ndr400
        model: qwen3.6-35b-a3b
        precision: {weights: bf16, kv_cache: bf16}
        parallelism:
          tensor_parallel_size: 2
          replicas: 1
        scheduler:
          policy: vllm
          max_num_seqs: 256
          gpu_memory_utilization: 0.90
        router: least_outstanding
        workload:
          arrivals: {process: poisson, rate_per_s: 4}
          input_tokens: {dist: lognormal, mean: 512, sigma: 0.8}
          output_tokens: {dist: fixed, value: 16}
          requests: 50
        slo: {ttft_ms: 400, tpot_ms: 55, percentile: 95}
        """;

    private const string SyntheticWorkload = """
          arrivals: {process: poisson, rate_per_s: 4}
          input_tokens: {dist: lognormal, mean: 512, sigma: 0.8}
          output_tokens: {dist: fixed, value: 16}
          requests: 50
        """;

    /// <summary>The workload block replacing <see cref="SyntheticWorkload"/> to replay a trace (TRACE is its path).</summary>
    private const string TraceWorkload = "  trace: {path: TRACE, format: azure}";

    private sealed record Case(string Scenario, string OutDir, CliResult Result);

    /// <summary>Writes BaseScenario with one line replaced, runs it, and checks the rules every bad input obeys.</summary>
    private static Case RunEdited(TempDir tmp, string oldLine, string newLine, params string[] extra)
    {
        if (!BaseScenario.Contains(oldLine, StringComparison.Ordinal))
            throw new ArgumentException($"test setup: '{oldLine}' is not a line of the base scenario", nameof(oldLine));
        var scenario = tmp.Write("bad.yaml", BaseScenario.Replace(oldLine, newLine) + "\n");
        var outDir = tmp.Sub("out");
        var r = CliHarness.Run(new[] { "run", scenario, "--out", outDir, "--no-report" }.Concat(extra).ToArray());
        AssertRejected(r, outDir);
        return new Case(scenario, outDir, r);
    }

    private static void AssertRejected(CliResult r, string outDir)
    {
        Assert.That(r.StdErr, Does.Not.Contain("   at "), "no stack trace\n" + r);
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.ErrorLines, Has.Count.EqualTo(1), "each case holds one problem, reported on one line\n" + r);
        Assert.That(r.ErrorLines, Has.All.StartWith("error:"), r.ToString());
        Assert.That(Directory.Exists(outDir), Is.False, "no run directory is left behind");
    }

    /// <summary>1-based line number of the first line of the file containing text.</summary>
    private static int LineOf(string path, string text) =>
        File.ReadAllLines(path).Select((l, i) => (l, i)).First(x => x.l.Contains(text, StringComparison.Ordinal)).i + 1;

    private static string Location(Case c, string text) => $"{Path.GetFileName(c.Scenario)}:{LineOf(c.Scenario, text)}";

    [Test]
    public void UnknownKey_NamesFileLineAndKeyAndSuggestsTheCloseKey()
    {
        using var tmp = new TempDir();
        var c = RunEdited(tmp, "  max_num_seqs: 256", "  max_num_sqes: 256");

        var line = c.Result.ErrorLines.Single(l => l.Contains("max_num_sqes", StringComparison.Ordinal));
        Assert.That(line, Does.Contain(Location(c, "max_num_sqes")));
        Assert.That(line, Does.Contain("max_num_seqs"), "suggests the close key");
    }

    [Test]
    public void UnknownKeyInSetOverride_IsRejected()
    {
        using var tmp = new TempDir();
        var scenario = tmp.Write("ok.yaml", BaseScenario + "\n");
        var outDir = tmp.Sub("out");

        var r = CliHarness.Run("run", scenario, "--out", outDir, "--no-report", "--set", "scheduler.max_num_sqes=8");

        AssertRejected(r, outDir);
        Assert.That(r.StdErr, Does.Contain("max_num_sqes").And.Contain("max_num_seqs"));
    }

    [Test]
    public void WrongType_NamesFileLineAndKey()
    {
        using var tmp = new TempDir();
        var c = RunEdited(tmp, "  max_num_seqs: 256", "  max_num_seqs: lots");

        Assert.That(c.Result.StdErr, Does.Contain(Location(c, "max_num_seqs")));
        Assert.That(c.Result.StdErr, Does.Contain("max_num_seqs").And.Contain("lots"));
    }

    [Test]
    public void ValueOutOfRange_NamesFileLineAndKey()
    {
        using var tmp = new TempDir();
        var c = RunEdited(tmp, "  gpu_memory_utilization: 0.90", "  gpu_memory_utilization: 1.5");

        Assert.That(c.Result.StdErr, Does.Contain(Location(c, "gpu_memory_utilization")));
        Assert.That(c.Result.StdErr, Does.Contain("gpu_memory_utilization").And.Contain("1.5"));
    }

    [Test]
    public void UnknownGpuPreset_ListsTheAllowedPresets()
    {
        using var tmp = new TempDir();
        var c = RunEdited(tmp, "  gpu: H100-SXM-80GB", "  gpu: H900-XYZ");

        Assert.That(c.Result.StdErr, Does.Contain(Location(c, "H900-XYZ")));
        Assert.That(c.Result.StdErr, Does.Contain("H900-XYZ"));
        foreach (var preset in new[] { "A100-SXM-80GB", "H100-SXM-80GB", "H200-SXM-141GB", "B200-SXM-180GB", "L40S-48GB" })
            Assert.That(c.Result.StdErr, Does.Contain(preset), "the allowed presets are listed");
    }

    [Test]
    public void UnknownModelPreset_ListsTheAllowedPresets()
    {
        using var tmp = new TempDir();
        var c = RunEdited(tmp, "model: qwen3.6-35b-a3b", "model: llama-9-1b");

        Assert.That(c.Result.StdErr, Does.Contain("llama-9-1b"));
        Assert.That(c.Result.StdErr, Does.Contain("llama-3.1-70b").And.Contain("mixtral-8x7b"));
    }

    [Test]
    public void MissingTraceFile_NamesThePath()
    {
        using var tmp = new TempDir();
        var c = RunEdited(tmp, SyntheticWorkload, TraceWorkload.Replace("TRACE", "nothere.csv"));

        Assert.That(c.Result.StdErr, Does.Contain("nothere.csv"));
        Assert.That(c.Result.StdErr, Does.Contain(Location(c, "nothere.csv")));
    }

    [Test]
    public void MalformedTraceRow_NamesTheRow()
    {
        using var tmp = new TempDir();
        tmp.Write("bad-trace.csv", """
            TIMESTAMP,ContextTokens,GeneratedTokens
            2023-11-16 18:15:46.6805900,374,44
            2023-11-16 18:15:50.9951690,abc,109
            2023-11-16 18:15:51.5000000,120,10
            """ + "\n");
        var c = RunEdited(tmp, SyntheticWorkload, TraceWorkload.Replace("TRACE", "bad-trace.csv"));

        var line = c.Result.ErrorLines.Single(l => l.Contains("bad-trace.csv", StringComparison.Ordinal));
        Assert.That(line, Does.Contain("bad-trace.csv:3"), "the bad row is named by its line in the file");
        Assert.That(line, Does.Contain("abc"));
    }

    [Test]
    public void TensorParallelThatDoesNotDivideHeads_IsRejected()
    {
        using var tmp = new TempDir();
        var c = RunEdited(tmp, "  tensor_parallel_size: 2", "  tensor_parallel_size: 3");

        Assert.That(c.Result.StdErr, Does.Contain("tensor_parallel_size"));
        Assert.That(c.Result.StdErr, Does.Contain(Location(c, "tensor_parallel_size")));
        Assert.That(c.Result.StdErr, Does.Contain("head"), "the reason (attention heads) is given");
    }

    [Test]
    public void PlanNeedingMoreGpusThanTheCluster_IsRejected()
    {
        using var tmp = new TempDir();
        var c = RunEdited(tmp, "  replicas: 1", "  replicas: 5");

        Assert.That(c.Result.StdErr, Does.Contain("parallelism"));
        Assert.That(c.Result.StdErr, Does.Contain("10").And.Contain("8"), "names the 10 GPUs needed and the 8 available");
    }
}
