using NUnit.Framework;
using Simulator.Tests.Shared;
using Simulator.Scenarios.Planning;

namespace Simulator.Scenarios.Tests;

/// <summary>What `sim plan` enumerates beyond TP / PP / EP / replicas: DP-attention engines, prefill/decode splits and the scheduler knob grid.</summary>
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
    private static string Scenario(string name) => Path.Combine(TestPaths.RepoRoot, "scenarios", name);

    [Test]
    public void DpAttentionShapes_ArePowerOfTwoTpTimesDpAtLeastTwo_WithEpDividingTheExperts()
    {
        // Qwen3.6-35B-A3B: 16 heads, 256 experts; 4 GPUs: DP 3 is left out (EP 3 does not divide 256), TP4 leaves no room for DP 2.
        Assert.That(Planner.DpAttentionShapes(heads: 16, experts: 256, gpusPerNode: 8, gpus: 4), Is.EqualTo(new[] { (1, 2), (1, 4), (2, 2) }));
        // Mixtral: 8 experts, so no engine of more than 8 GPUs even on 16; TP 8 would leave DP 1.
        Assert.That(Planner.DpAttentionShapes(heads: 32, experts: 8, gpusPerNode: 8, gpus: 16),
            Is.EqualTo(new[] { (1, 2), (1, 4), (1, 8), (2, 2), (2, 4), (4, 2) }));
    }

    [Test]
    public void Enumerate_MoeOnFourGpus_AddsDpAttentionEngines_WithEpTpTimesDp_TheirSetsAndCommands()
    {
        var path = Scenario("design-review-tp.yaml");
        var layouts = Planner.Enumerate(path, [], new PlanOptions(4, []));
        var dp = layouts.Where(l => l.Dp > 1).ToList();
        Assert.That(dp.Select(l => l.Slug), Is.EqualTo(new[]
        {
            "0009-H100-SXM-80GB-tp1-pp1-ep2-r2-dp2", "0010-H100-SXM-80GB-tp1-pp1-ep4-r1-dp4", "0011-H100-SXM-80GB-tp2-pp1-ep4-r1-dp2",
        }), "after the TP/PP/EP layouts, in TP then DP order; r counts engines");
        Assert.That(dp.Select(l => (l.Ep, l.Gpus, l.Shape)), Is.EqualTo(new[] { (2, 4, "TP1 DP2 EP2 x 2"), (4, 4, "TP1 DP4 EP4 x 1"), (4, 4, "TP2 DP2 EP4 x 1") }));
        Assert.That(layouts.Select(l => l.Index), Is.EqualTo(Enumerable.Range(0, layouts.Count)), "indices stay dense for shards");

        var tp1dp2 = dp[0];
        Assert.That(tp1dp2.Sets(8), Does.Contain("parallelism.data_parallel_size=2").And.Contain("parallelism.enable_expert_parallel=true")
            .And.Contain("parallelism.replicas=2").And.Contain("parallelism.microbatches=1"));
        var scenario = RunBuilder.Load(path, tp1dp2.Sets(8));
        var built = RunBuilder.Build(scenario, requireFit: false);
        var tp1 = RunBuilder.Build(RunBuilder.Load(path, layouts[0].Sets(8)), requireFit: false);
        Assert.That(tp1.Memory.Fits, Is.False, "TP1 with every expert on each GPU does not fit");
        Assert.That(built.Memory.Fits, Is.True, "TP1 DP2: half the experts per GPU (EP2) leaves KV room");
        double w = built.Memory.Stages[0].WeightsGB, w1 = tp1.Memory.Stages[0].WeightsGB;
        Assert.That(w, Is.LessThan(w1).And.GreaterThan(w1 / 2), "attention stays whole per rank; only the experts split");

        Assert.That(DeployCommands.Vllm(scenario, built.Model.Name, tp1dp2),
            Does.StartWith("each of 2 engines: vllm serve qwen3.6-35b-a3b --tensor-parallel-size 1 --data-parallel-size 2 --enable-expert-parallel --max-num-seqs 256"));
        Assert.That(DeployCommands.Sglang(scenario, built.Model.Name, tp1dp2),
            Does.StartWith("each of 2 engines: python -m sglang.launch_server --model-path qwen3.6-35b-a3b --tp-size 2 --dp-size 2 --enable-dp-attention --ep-size 2 "));
        var one = dp[2];
        var s2 = RunBuilder.Load(path, one.Sets(8));
        Assert.That(DeployCommands.Vllm(s2, "m", one), Does.StartWith("vllm serve qwen3.6-35b-a3b --tensor-parallel-size 2 --data-parallel-size 2 --enable-expert-parallel "));
        Assert.That(DeployCommands.Sglang(s2, "m", one), Does.Contain("--tp-size 4 --dp-size 2 --enable-dp-attention --ep-size 4 "), "SGLang's --tp-size counts the engine's GPUs");
    }

    [Test]
    public void Enumerate_DenseModel_ListsNoDpAttentionLayout()
    {
        var layouts = Planner.Enumerate(Scenario("legal-summarizer-70b.yaml"), [], new PlanOptions(8, []));
        Assert.That(layouts, Is.Not.Empty);
        Assert.That(layouts.Select(l => l.Dp), Has.All.EqualTo(1));
    }
}
