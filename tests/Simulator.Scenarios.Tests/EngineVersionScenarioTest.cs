using NUnit.Framework;
using Simulator.Scenarios;
using Simulator.Tests.Shared;

namespace Simulator.Scenarios.Tests;

/// <summary>
/// The scenario key <c>engine_version</c> under the one rule it shares with <c>sim step --engine-version</c>
/// (<see cref="Simulator.Inference.Cost.EngineHostProfile.Check"/>): vLLM's real tags bind, <c>auto</c> in any case goes
/// with every engine, a release only with <c>engine: vllm</c>.
/// </summary>
public sealed class EngineVersionScenarioTest
{
    private static readonly ScenarioLoader Loader = new();

    private const string Yaml = """
        name: engine-version
        seed: 1
        cluster: {gpu: H100-SXM-80GB, nodes: 1, gpus_per_node: 8}
        model: llama-3.1-8b
        engine: vllm
        workload:
          arrivals: {process: poisson, rate_per_s: 1}
          input_tokens: {dist: fixed, value: 32}
          output_tokens: {dist: fixed, value: 4}
          requests: 2
        """;

    private static Scenario Load(params string[] sets) => Loader.LoadText(Yaml, "s.yaml", TestPaths.DataRoot, sets);

    [TestCase("0.10.1.1", false)]
    [TestCase("0.6.3.post1", false)]
    [TestCase("0.11.0rc1", false)]
    [TestCase("v0.14.0rc1", true)]
    public void VllmTags_Bind_AndPickTheScheduling(string version, bool async)
    {
        var s = Load($"engine_version={version}");
        Assert.That(s.EngineVersion, Is.EqualTo(version));
        Assert.That(RunBuilder.Build(s).Profile.Host!.AsyncScheduling, Is.EqualTo(async));
    }

    [TestCase("trtllm")]
    [TestCase("splitwise")]
    public void AutoInAnyCase_GoesWithEveryEngine_AndIsReadAsAuto(string engine)
    {
        var s = Load($"engine={engine}", "engine_version=AUTO");
        Assert.That(s.EngineVersion, Is.EqualTo("auto"));
        Assert.That(ScenarioWriter.ToYaml(s, TestPaths.DataRoot), Does.Not.Contain("engine_version"));
    }

    [Test]
    public void ANonRelease_NamesTheAllowedForms()
    {
        var ex = Assert.Throws<ScenarioException>(() => Load("engine_version=0.14.x"))!;
        Assert.That(ex.Message, Does.Contain("engine_version: '0.14.x' is not a release").And.Contain("major.minor[.patch[.build]]"));
    }
}
