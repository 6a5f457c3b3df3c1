using NUnit.Framework;
using System.Globalization;
using Simulator.Inference.Cost;
using Simulator.Tests.Shared;

namespace Simulator.Scenarios.Tests;

/// <summary>
/// The serving sets of <c>sim validate</c>: every shipped serving row becomes a generated scenario and three compared
/// points; the closed loop keeps the benchmark's concurrency; the front end's fitted term is what a refit gives.
/// </summary>
[TestFixture]
public sealed class ServingValidationTest
{
    [Test]
    public void EveryShippedServingRow_IsComparedOnTtftItlAndThroughput_TheFitAndHostBoundSetsMarked()
    {
        var sets = ServingValidation.Run(TestPaths.Data());
        var rows = Directory.GetFiles(TestPaths.Data("calibration", "serving"), "*.csv")
            .Select(File.ReadAllLines).Where(l => l[0] == string.Join(",", ServingValidation.Columns)).Sum(l => l.Length - 1);
        Assert.That(sets.Sum(s => s.N), Is.EqualTo(3 * rows));
        Assert.That(sets.Select(s => s.Set.Split('/')[^1]).Distinct(), Is.EquivalentTo(new[] { "ttft", "itl", "throughput" }));
        Assert.That(sets.Where(s => s.Fitted != "no").Select(s => s.Set.Split('/')[1]).Distinct(), Is.EqualTo(new[] { ServingValidation.FrontEndFitSet }));
        Assert.That(sets.Where(s => s.Fitted == "no").Select(s => s.Set.Split('/')[1]).Distinct().Count(), Is.GreaterThanOrEqualTo(2));
        foreach (var s in sets)
            Assert.That(s.Source.StartsWith("HOST-BOUND", StringComparison.Ordinal),
                Is.EqualTo(ServingValidation.HostBoundSets.ContainsKey(s.Set.Split('/')[1])), s.Set);
        foreach (var s in sets)
            TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{s.Set,-48} fitted {s.Fitted,-15} n {s.N,2} median {s.MedianAbsError:P1} bias {s.SignedBias:+0.0%;-0.0%}"));
    }

    [Test]
    public void TrtllmRows_RunTensorRtLlmsSchedulerWithoutChunking_VllmRowsVllmsWithIt()
    {
        var nim = ServingValidation.ScenarioYaml(Row("nim-llama3.3-70b-isl5000", 100), TestPaths.Data());
        Assert.That(nim, Does.Contain("policy: trtllm").And.Contain("enable_chunked_prefill: false"));
        Assert.That(ServingValidation.EngineScheduler("vllm"), Is.EqualTo(("vllm", true)));
    }

    [Test]
    public void ClosedLoop_AtConcurrencyOne_EachRequestRunsAlone()
    {
        var m = Row("nim-llama3.3-70b-isl5000", 1);
        var p = ServingValidation.Predict(m, TestPaths.Data());
        // Alone, a request's E2E is TTFT + (output - 1) x ITL, and one stream completes output tokens per E2E.
        double e2eS = (p.TtftMs + (m.OutputTokens - 1) * p.ItlMs) / 1e3;
        Assert.That(p.OutputTokensPerS, Is.EqualTo(m.OutputTokens / e2eS).Within(0.5).Percent);
    }

    [Test]
    public void ClosedLoop_MoreConcurrency_MoreThroughputAndLongerGaps_UntilTheCacheIsFull()
    {
        var data = TestPaths.Data();
        var p = new[] { 1, 5, 25 }.Select(c => ServingValidation.Predict(Row("nim-llama3.3-70b-isl5000", c), data)).ToList();
        Assert.That(p.Select(x => x.OutputTokensPerS), Is.Ordered.Ascending);
        Assert.That(p.Select(x => x.ItlMs), Is.Ordered.Ascending);
    }

    [Test]
    public void ClosedLoop_StreamsStartTogether_SoTheirPromptsQueueBehindEachOther()
    {
        // genai-perf and `vllm bench serve --max-concurrency` open all C streams at once; with fixed lengths the streams'
        // requests keep arriving in waves, so a wave's prompts wait for each other's prefill (spread starts would hide it).
        var data = TestPaths.Data();
        var alone = ServingValidation.Predict(Row("nim-llama3.3-70b-isl5000", 1), data);
        var five = ServingValidation.Predict(Row("nim-llama3.3-70b-isl5000", 5), data);
        Assert.That(five.TtftMs, Is.GreaterThan(1.5 * alone.TtftMs));
    }

    [Test]
    public void ValidationTable_ABiasThatRoundsToZero_IsWrittenAsZero()
    {
        var dir = Path.Combine(Path.GetTempPath(), "sim-validate-bias-" + Guid.NewGuid().ToString("N"));
        try
        {
            var (_, md) = Validation.Write([new ValidationSet("serving/x/throughput", "no", 2, 0.01, 0.02, 0.02, -0.0002, "src")], dir);
            Assert.That(File.ReadAllText(md), Does.Contain("| 0.0% | src |").And.Not.Contain("-+"));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Test]
    public void TrtllmFrontEnd_PerRequestTerm_IsWhatTheFitGives()
    {
        double fitted = ServingValidation.FitFrontEndPerRequestUs(TestPaths.Data(), FrontEndCost.TrtllmServer);
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"refit per-request front end: {fitted} us (stored {FrontEndCost.TrtllmServer.PerRequestUs} us)"));
        Assert.That(fitted, Is.EqualTo(FrontEndCost.TrtllmServer.PerRequestUs).Within(200));
    }

    [Test]
    public void VllmRows_RunTheDefaultEngineVersion_AnExplicitRelease014OptsIntoAsynchronousScheduling()
    {
        ServingMeasurement At(string version) => new("t.csv", 2, "t", "vllm", version, "llama-3.1-8b", "H100-SXM-80GB", 1, "bf16", "bf16",
            512, 128, "poisson", 2, 60, 0.9, 1024, 8192, "mean", 1, 1, 1, "u");
        var data = TestPaths.Data();
        // The row's release is not passed through: sim validate shows what a user's scenario (engine_version auto) gives.
        foreach (var version in new[] { "0.19.0", "0.13.0", "unstated" })
            Assert.That(ServingValidation.ScenarioYaml(At(version), data), Does.Not.Contain("engine_version"), version);
        Assert.That(ServingValidation.ScenarioYaml(Row("nim-llama3.3-70b-isl5000", 1), data), Does.Not.Contain("engine_version"));
        Assert.That(ServingValidation.Predict(At("0.19.0"), data), Is.EqualTo(ServingValidation.Predict(At("0.13.0"), data)));
        // The same generated scenario with engine_version set: auto and 0.13.0 serial, 0.14 and 0.19.0 overlapped.
        bool Async(string? version)
        {
            var yaml = ServingValidation.ScenarioYaml(At("unstated"), data);
            if (version is not null) yaml = yaml.Replace("engine: vllm\n", $"engine: vllm\nengine_version: {version}\n", StringComparison.Ordinal);
            var built = RunBuilder.Build(new ScenarioLoader(RunBuilder.Catalog).LoadText(yaml, "t.yaml", data));
            return built.Profile.Host!.AsyncScheduling;
        }
        Assert.That(Async(null), Is.False, "default");
        Assert.That(Async("auto"), Is.False);
        Assert.That(Async("0.13.0"), Is.False);
        Assert.That(Async("0.14"), Is.True);
        Assert.That(Async("0.19.0"), Is.True);
    }

    private static ServingMeasurement Row(string set, int concurrency)
    {
        var file = TestPaths.Data("calibration", "serving", "nim-llama3.3-70b-h100.csv");
        var lines = File.ReadAllLines(file);
        int row = Array.FindIndex(lines, l => l.StartsWith(set + ",", StringComparison.Ordinal) && l.Split(',')[11] == concurrency.ToString(CultureInfo.InvariantCulture));
        var f = lines[row].Split(',');
        int I(int i) => int.Parse(f[i], CultureInfo.InvariantCulture);
        double D(int i) => double.Parse(f[i], CultureInfo.InvariantCulture);
        return new ServingMeasurement(file, row + 1, f[0], f[1], f[2], f[3], f[4], I(5), f[6], f[7], I(8), I(9), f[10], D(11), I(12), D(13), I(14), I(15),
            f[16], D(17), D(18), D(19), f[20]);
    }
}
