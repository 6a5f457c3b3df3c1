using NUnit.Framework;
using Simulator.Inference.Metrics;
using static Simulator.Inference.Tests.Metrics.MetricsTestData;

namespace Simulator.Inference.Tests.Metrics;

/// <summary>summary.json's prefix_cache block and the console line.</summary>
public sealed class PrefixCacheSummaryTest
{
    private static RunSummary Summary(PrefixCacheSummary? prefix)
    {
        var acc = new RunMetricsAccumulator(Meta().Slo);
        foreach (var r in SmallRun()) acc.Add(r, RequestLatencies.From(r));
        return acc.Summarize(Meta(), End() with { PrefixCache = prefix });
    }

    [Test]
    public void HitRatio_IsHitTokensOverPromptTokensLookedUp_RoundedToFourDecimals()
    {
        var p = PrefixCacheSummary.From(true, promptTokens: 3000, hbmHitTokens: 700, cpuHitTokens: 384, evictedBlocks: 12);
        Assert.That(p.HitRatioTokens, Is.EqualTo(0.3613));
        Assert.That(PrefixCacheSummary.From(true, 0, 0, 0, 0).HitRatioTokens, Is.Zero);
    }

    [Test]
    public void SummaryJson_WritesAndReadsThePrefixCacheBlock()
    {
        var s = Summary(PrefixCacheSummary.From(true, 3000, 700, 384, 12));
        var text = System.Text.Encoding.UTF8.GetString(SummaryJson.ToBytes(s));
        Assert.That(text, Does.Contain("\"prefix_cache\": {\n    \"enabled\": true,\n    \"hit_ratio_tokens\": 0.3613,\n    \"hbm_hit_tokens\": 700,\n    \"cpu_hit_tokens\": 384,\n    \"evicted_blocks\": 12,\n    \"prompt_tokens\": 3000\n  }"));
        Assert.That(SummaryJson.Read(SummaryJson.ToBytes(s)).PrefixCache, Is.EqualTo(s.PrefixCache));
        Assert.That(System.Text.Encoding.UTF8.GetString(SummaryJson.ToBytes(Summary(null))), Does.Not.Contain("prefix_cache"));
    }

    [Test]
    public void ConsoleLine_OnlyWhenTheCacheDidSomething()
    {
        var line = ConsoleSummary.Lines(Summary(PrefixCacheSummary.From(true, 3000, 700, 384, 12))).Single(l => l.StartsWith("Prefix cache", StringComparison.Ordinal));
        Assert.That(line, Is.EqualTo("Prefix cache: hit ratio 36.13 % of 3000 prompt tokens (GPU 700, CPU tier 384 tokens), 12 blocks evicted from GPU memory"));
        Assert.That(ConsoleSummary.Lines(Summary(PrefixCacheSummary.From(true, 3000, 0, 0, 0))).Any(l => l.StartsWith("Prefix cache", StringComparison.Ordinal)), Is.False);
        Assert.That(ConsoleSummary.Lines(Summary(PrefixCacheSummary.From(false, 0, 0, 0, 0))).Any(l => l.StartsWith("Prefix cache", StringComparison.Ordinal)), Is.False);
    }
}
