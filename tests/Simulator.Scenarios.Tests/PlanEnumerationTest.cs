using NUnit.Framework;
using Simulator.Tests.Shared;
using Simulator.Scenarios.Planning;

namespace Simulator.Scenarios.Tests;

/// <summary>What `sim plan` enumerates beyond TP / PP / EP / replicas: prefill/decode splits and the scheduler knob grid.</summary>
public sealed class PlanEnumerationTest
{
    [Test]
    public void PdSplits_OnFourGpus_AreTheRatiosThatTileTheNodeAtTheirLargestScale()
    {
        var splits = Planner.PdSplits([1, 2, 4], gpus: 4, gpusPerNode: 8).Select(s => s.Name).ToList();
        // 1P1D of TP1 scales to 2P2D; 1P2D(TP1) would start a 2-GPU decode pool on GPU 1 (straddles its share); TP4 sides leave no room.
        Assert.That(splits, Is.EqualTo(new[] { "2P(TP1)+2D(TP1)", "2P(TP1)+1D(TP1)", "2P(TP1)+1D(TP2)", "1P(TP2)+1D(TP1)", "1P(TP2)+2D(TP1)", "1P(TP2)+1D(TP2)" }));
    }

    [Test]
    public void PdSplits_StayWithinTheBudget_AndPoolsTileWholeNodesOrDivideOne()
    {
        foreach (var s in Planner.PdSplits([1, 2, 4, 8], gpus: 16, gpusPerNode: 8))
        {
            Assert.That(s.Gpus, Is.LessThanOrEqualTo(16), s.Name);
            foreach (var g in new[] { s.PrefillGpus, s.DecodeGpus })
                Assert.That(g <= 8 ? 8 % g == 0 : g % 8 == 0, Is.True, s.Name);
        }
        Assert.That(Planner.PdSplits([1, 2, 4, 8], 16, 8).Select(s => s.Name), Does.Contain("2P(TP4)+2D(TP4)").And.Contain("1P(TP8)+1D(TP8)"));
    }

    [Test]
    public void KnobGrid_VariesOneKnobAtATimeAroundTheScenario_KeepingTokensAtLeastSeqs()
    {
        var scenario = new ScenarioLoader().LoadText(ScenarioLoaderTest.Minimal + "\nscheduler: {max_num_seqs: 256, max_num_batched_tokens: 512}\n", "s.yaml", TestPaths.DataRoot);
        Assert.That(Planner.KnobGrid(scenario, pp: 1), Is.EqualTo(new[]
        {
            new SchedulerKnobs(128, 512, 1), new SchedulerKnobs(512, 512, 1),  // max_num_seqs x1/2, x2 (both <= 512 tokens)
            new SchedulerKnobs(256, 256, 1), new SchedulerKnobs(256, 1024, 1), // max_num_batched_tokens x1/2, x2 (both >= 256 seqs)
        }));
        var scenario2 = new ScenarioLoader().LoadText(ScenarioLoaderTest.Minimal + "\nscheduler: {max_num_seqs: 256, max_num_batched_tokens: 256}\n", "s.yaml", TestPaths.DataRoot);
        Assert.That(Planner.KnobGrid(scenario2, pp: 1).Select(k => (k.MaxNumSeqs, k.MaxNumBatchedTokens)), Is.EqualTo(new[] { (128, 256), (256, 512) }),
            "512 seqs would exceed 256 tokens and 128 tokens would be fewer than 256 seqs: vLLM refuses both");
        Assert.That(Planner.KnobGrid(scenario, pp: 4).Skip(4).Select(k => k.Microbatches), Is.EqualTo(new[] { 4, 8 }), "PP 4: microbatches 4 and 8 beside the scenario's 1");
    }
}
