using NUnit.Framework;
using Simulator.Hardware.Collectives;
using Simulator.Hardware.Specs;
using Simulator.Hardware.Topology;
using Simulator.Inference.Cost;
using Simulator.Inference.Models;
using Simulator.Inference.Parallelism;
using Simulator.Kernel;

namespace Simulator.Inference.Tests.Cost;

/// <summary>
/// Issue 15: the roofline's fast path for a batch of clocked decodes alone (what nearly every iteration of a decoding
/// replica asks) and its rounding to nanoseconds must give exactly the general path's bits: the same times as pricing the
/// same decodes listed one by one, on dense, MoE and MLA models, TP 1-8, PP 1-2, with and without asynchronous host
/// scheduling and a CPU floor, for batch sizes inside and beyond the token-terms memo.
/// </summary>
[TestFixture]
public sealed class CostModelFastPathTest
{
    private static IEnumerable<TestCaseData> Layouts()
    {
        var profiles = new (string Name, CalibrationProfile Profile)[]
        {
            ("h100", CalibrationProfile.H100),
            ("vllm-async", CalibrationProfile.H100.WithEngine("vllm", engineVersion: "0.14")),
            ("splitwise-floor", CalibrationProfile.H100.WithEngine("splitwise")),
        };
        var layouts = new (string Model, ParallelPlan Plan)[]
        {
            ("llama-3.1-8b", new ParallelPlan(Tp: 1)),
            ("llama-3.1-70b", new ParallelPlan(Tp: 4, Pp: 2)),
            ("mixtral-8x7b", new ParallelPlan(Tp: 4, Ep: 4)),
            ("deepseek-v3", new ParallelPlan(Tp: 8, Pp: 2)),
        };
        foreach (var (model, plan) in layouts)
            foreach (var (name, profile) in profiles)
                yield return new TestCaseData(model, plan, profile).SetName($"ClockedDecodes_PriceAsListedDecodes({model}, tp{plan.Tp} pp{plan.Pp} ep{plan.Ep}, {name})");
    }

    [TestCaseSource(nameof(Layouts))]
    public void ClockedDecodes_PriceAsListedDecodes(string modelName, ParallelPlan plan, CalibrationProfile profile)
    {
        if (profile.Host is { } host && profile.Name.Contains("vllm", StringComparison.Ordinal))
            Assert.That(host.AsyncScheduling, Is.True, "the async case must reach the async branch");
        var topology = new ClusterTopology(TestGpus.H100, 2, 8, LinkPresets.Get("nvlink4"), LinkPresets.Get("ib-ndr400"));
        var timer = new CachingCollectiveTimer(new NcclCollectiveTimer(topology), topology);
        var placement = PlacementTable.Build(plan, new ClusterShape(topology.Nodes, topology.GpusPerNode));
        var model = new RooflineStageCostModel(ModelPresets.Get(modelName), Precision.Default, plan, placement, TestGpus.H100,
            profile, timer, 0, new CostModelOptions { Conditions = topology });
        var random = new StreamRandom(11);
        // Decode counts inside the memo, at its edge and beyond it (the terms are then computed, not kept).
        int[] counts = [1, 2, 3, 7, 31, 64, 128, 255, 256, 257, 300, 511, 1024];
        for (int round = 0; round < 3; round++)
            foreach (int decodes in counts)
            {
                var listed = Enumerable.Range(0, decodes).Select(_ => new SequenceWork(1, 1 + random.Next(random.Next(2) == 0 ? 200 : 30_000))).ToArray();
                long context = listed.Sum(w => (long)w.ContextTokens);
                for (int s = 0; s < model.Stages; s++)
                {
                    var expected = model.Estimate(s, listed);
                    var fast = model.EstimateTimes(s, [], decodes, context);
                    string what = $"{decodes} decodes, context {context}, stage {s}, round {round}";
                    Assert.That((fast.ComputeNs, fast.TpCommNs, fast.EpCommNs, fast.CpCommNs, fast.PpCommNs, fast.OverheadNs, fast.NewTokens),
                        Is.EqualTo((expected.ComputeNs, expected.TpCommNs, expected.EpCommNs, expected.CpCommNs, expected.PpCommNs, expected.OverheadNs, expected.NewTokens)), what);
                    Assert.That(fast.Comms, Is.EqualTo(expected.Comms), what);
                }
            }
    }

    [Test]
    public void PositivePart_IsMathMaxWithZero_BitForBit()
    {
        double[] values = [0.0, -0.0, 1e-300, -1e-300, double.Epsilon, -double.Epsilon, 3.5, -3.5, double.NaN, double.PositiveInfinity, double.NegativeInfinity];
        foreach (var v in values)
            Assert.That(BitConverter.DoubleToInt64Bits(RooflineStageCostModel.PositivePart(v)), Is.EqualTo(BitConverter.DoubleToInt64Bits(Math.Max(0, v))), $"{v:R}");
    }

    [Test]
    public void RoundHalfEven_IsMathRoundOnTiesAndRandomValues()
    {
        var random = new StreamRandom(5);
        var values = new List<double> { 0, -0.0, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999999999999994, 4503599627370495.5,
            4503599627370496, -4503599627370495.5, 9007199254740993, -9007199254740993, 1e18, -1e18, double.Epsilon, -double.Epsilon };
        for (int i = 0; i < 200_000; i++)
        {
            double magnitude = Math.Pow(10, random.NextDouble() * 16 - 3);
            double v = (random.Next(2) == 0 ? -1 : 1) * magnitude * random.NextDouble();
            values.Add(v);
            values.Add(Math.Floor(v) + 0.5); // a tie
            values.Add(BitConverter.Int64BitsToDouble(BitConverter.DoubleToInt64Bits(Math.Floor(v) + 0.5) + (random.Next(2) == 0 ? 1 : -1)));
        }
        foreach (var v in values)
            Assert.That(RooflineStageCostModel.RoundHalfEven(v), Is.EqualTo((long)Math.Round(v)), $"{v:R}");
    }
}
