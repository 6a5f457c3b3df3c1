using NUnit.Framework;
using Simulator.Scenarios;
using Simulator.Tests.Shared;

namespace Simulator.Scenarios.Tests;

public sealed class LayersPerStageTest
{
    private const string TwoStages = """
        model: llama-3.1-8b
        cluster: {nodes: 1, gpus_per_node: 8}
        parallelism: {tensor_parallel_size: 2, pipeline_parallel_size: 2, layers_per_stage: [12, 20]}
        workload:
          arrivals: {process: poisson, rate_per_s: 8}
          input_tokens: 128
          output_tokens: 8
          requests: 20
        """;

    private static Scenario Load(string yaml, params string[] sets) => new ScenarioLoader(RunBuilder.Catalog).LoadText(yaml, "s.yaml", TestPaths.DataRoot, sets);

    [Test]
    public void UnevenStages_ReachThePlanMemoryAndCostModel()
    {
        var built = RunBuilder.Build(Load(TwoStages));
        Assert.That(built.Plan.StageLayerCounts(32), Is.EqualTo(new[] { 12, 20 }));
        Assert.That(built.Memory.Stages[1].WeightsGB, Is.GreaterThan(built.Memory.Stages[0].WeightsGB));
        var cost = built.CostModel(0);
        var work = new[] { new Simulator.Inference.Cost.SequenceWork(1, 512) };
        Assert.That(cost.Estimate(1, work).ComputeNs, Is.GreaterThan(cost.Estimate(0, work).ComputeNs));
    }

    [Test]
    public void UnevenStages_RoundTripThroughTheWrittenScenario()
    {
        var s = Load(TwoStages);
        var again = new ScenarioLoader(RunBuilder.Catalog).LoadText(ScenarioWriter.ToYaml(s), "s.yaml", TestPaths.DataRoot);
        Assert.That(again.Parallelism.LayersPerStage, Is.EqualTo(new[] { 12, 20 }));
        Assert.That(again, Is.EqualTo(s));
    }

    [Test]
    public void WrongLength_IsOneLocatedError()
    {
        var ex = Assert.Throws<ScenarioException>(() => Load(TwoStages, "parallelism.layers_per_stage=[10, 10, 12]"))!;
        Assert.That(ex.Errors.Single().ToString(), Does.Contain("parallelism.layers_per_stage").And.Contain("pipeline_parallel_size is 2"));
    }

    [Test]
    public void ZeroLayerStage_IsRejected()
    {
        var ex = Assert.Throws<ScenarioException>(() => Load(TwoStages, "parallelism.layers_per_stage=[0, 32]"))!;
        Assert.That(ex.Errors.Single().ToString(), Does.Contain("each >= 1"));
    }

    [Test]
    public void MisspeltKey_WithoutTheKeyWritten_SuggestsLayersPerStage()
    {
        const string OneStage = "model: llama-3.1-8b\nworkload: {arrivals: {process: poisson, rate_per_s: 8}, input_tokens: 128, output_tokens: 8, requests: 20}\n";
        var ex = Assert.Throws<ScenarioException>(() => Load(OneStage, "parallelism.layer_per_stage=[32]"))!;
        Assert.That(ex.Errors.Single().ToString(),
            Does.Contain("parallelism.layer_per_stage: unknown key; did you mean 'layers_per_stage'?").And.Contain("layers_per_stage, microbatches"));
    }

    [Test]
    public void WrongSum_IsLocatedAtTheKeyWhenTheRunIsBuilt()
    {
        var s = Load(TwoStages, "parallelism.layers_per_stage=[12, 12]");
        var ex = Assert.Throws<ScenarioException>(() => RunBuilder.Build(s))!;
        var e = ex.Errors.Single();
        Assert.That(e.ToString(), Does.Contain("parallelism.layers_per_stage").And.Contain("sum to 24").And.Contain("32 layers"));
    }
}
