using NUnit.Framework;
using Simulator.Inference.Cost;
using Simulator.Hardware.Collectives;
using Simulator.Kernel;

namespace Simulator.Inference.Tests.Cost;

/// <summary>
/// Issue 15: the cost memos stay bounded. A layout's shared set may remember collective times for batches of up to
/// 16,384 tokens by token count; a model with memos of its own (never shared, or left the shared set when a link
/// degraded) remembers at most 1,024, so 2,048 private sets after one link fault stay small (at 16,384 they could hold
/// about 0.5-1.5 GB). Counted in entries a memo can hold (its array's length), not bytes.
/// </summary>
[TestFixture]
public sealed class CostMemoBoundsTest
{
    private const int SharedTokenBound = 16_384, PrivateTokenBound = 1_024, SizeEntriesBound = 16_384, TermsBound = 256;

    /// <summary>
    /// Batches with a prefill chunk of 1,100 to 16,000 new tokens (above the private bound, below the shared one), and
    /// every third one decodes only (which every bound keeps).
    /// </summary>
    private static List<SequenceWork[]> LargeBatches(ulong seed)
    {
        var random = new StreamRandom(seed);
        var batches = new List<SequenceWork[]>();
        for (int i = 0; i < 60; i++)
        {
            var decodes = Enumerable.Range(0, 1 + random.Next(30)).Select(_ => new SequenceWork(1, 1 + random.Next(4000)));
            batches.Add(i % 3 == 2 ? [.. decodes] : [new SequenceWork(1_100 + random.Next(14_900), random.Next(2000)), .. decodes]);
        }
        return batches;
    }

    private static void PriceEveryStage(RooflineStageCostModel model, IEnumerable<SequenceWork[]> batches)
    {
        foreach (var batch in batches)
            for (int s = 0; s < model.Stages; s++) model.Estimate(s, batch);
    }

    private static void AssertWithin(RooflineStageCostModel model, int tokenBound, string what)
    {
        var (tokens, sizes, terms, bound) = model.MemoCapacity();
        TestContext.Out.WriteLine($"{what}: token-count memo {tokens} entries (bound {bound}), memo by size {sizes}, token terms {terms}");
        Assert.That(bound, Is.EqualTo(tokenBound), what);
        Assert.That(tokens, Is.LessThanOrEqualTo(tokenBound), $"{what}: token-count memo");
        Assert.That(sizes, Is.LessThanOrEqualTo(SizeEntriesBound), $"{what}: memo by size");
        Assert.That(terms, Is.LessThanOrEqualTo(TermsBound), $"{what}: token terms");
    }

    [Test]
    public void AModelThatNeverShares_KeepsItsTokenCountMemoWithinThePrivateBound()
    {
        var topology = SharedCostMemosTest.Topology();
        var timer = new CachingCollectiveTimer(new NcclCollectiveTimer(topology), topology);
        var lone = SharedCostMemosTest.Models(topology, timer)[0];
        PriceEveryStage(lone, LargeBatches(3));
        AssertWithin(lone, PrivateTokenBound, "never shared");
    }

    [Test]
    public void AModelLeavingTheSharedSet_GetsThePrivateBound_WhileTheSetKeepsTheShared()
    {
        var topology = SharedCostMemosTest.Topology();
        var timer = new CachingCollectiveTimer(new NcclCollectiveTimer(topology), topology);
        var models = SharedCostMemosTest.Models(topology, timer);
        RooflineStageCostModel.ShareMemos(models);
        var batches = LargeBatches(5);
        PriceEveryStage(models[1], batches);
        AssertWithin(models[1], SharedTokenBound, "shared");
        Assert.That(models[1].MemoCapacity().TokenEntries, Is.GreaterThan(PrivateTokenBound),
            "the shared set must take prefill-sized batches, or the private bound below proves nothing");

        // Replica 1's node loses half of one GPU's NVLink: replica 1 leaves the set at its next estimate.
        topology.SetPortFactor("n1.gpu0.nvswitch", 0.5);
        PriceEveryStage(models[1], batches);
        Assert.That(models[1].SharesMemosWith(models[0]), Is.False);
        AssertWithin(models[1], PrivateTokenBound, "left the shared set");
        AssertWithin(models[0], SharedTokenBound, "the set it left");
        Assert.That(models[0].MemoCapacity().TokenEntries, Is.GreaterThan(PrivateTokenBound), "the set it left keeps its entries");
    }
}
