using System.Text.Json;
using NUnit.Framework;
using Simulator.Inference.Metrics;
using Simulator.Scenarios;
using Simulator.Tests.Shared;

namespace Simulator.Scenarios.Tests;

/// <summary>
/// The acceptance on the Mooncake conversation trace, end to end from scenarios/prefix-caching.yaml
/// (Llama-3.1-8B, TP1 replicas of H100): cache hits against a count made directly from the trace's hash_ids,
/// HBM-only and caching-off bounds, TTFT, cache-aware routing, determinism.
/// </summary>
public sealed class PrefixCachingTest
{
    private const int BlockSize = 16;
    private static string Study => Path.Combine(TestPaths.RepoRoot, "scenarios", "prefix-caching.yaml");
    private static string Trace => TestPaths.Data("traces", "mooncake-fast25-conversation.jsonl");
    private string _root = "";

    [OneTimeSetUp]
    public void CreateRoot() => _root = Path.Combine(Path.GetTempPath(), "prefix-caching-test-" + Guid.NewGuid().ToString("N")[..8]);

    [OneTimeTearDown]
    public void DeleteRoot()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private RunResult Run(string name, int limit, params string[] sets)
    {
        var all = new List<string> { $"workload.trace.limit={limit}" };
        all.AddRange(sets);
        var scenario = RunBuilder.Load(Study, all);
        return ScenarioRunner.Run(scenario, Path.Combine(_root, name));
    }

    /// <summary>
    /// Leading-prefix reuse as a cache that never forgets would see it, counted from the trace alone: a trie over the
    /// hash_ids, each node remembering the deepest KV block of 16 tokens an earlier prompt covered under it. A prompt's
    /// block j (wholly inside its ids' coverage) is reusable when an earlier prompt had the same ids up to j's id and
    /// covered block j; the run of leading reusable blocks stops before the last prompt token (vLLM recomputes it).
    /// </summary>
    private static double UnboundedReuseShare(int requests)
    {
        var trie = new Dictionary<(int Parent, long Id), int>();
        var deepest = new List<int> { -1 };
        long reused = 0, total = 0;
        foreach (var line in File.ReadLines(Trace).Take(requests))
        {
            using var doc = JsonDocument.Parse(line);
            int input = doc.RootElement.GetProperty("input_length").GetInt32();
            var ids = doc.RootElement.GetProperty("hash_ids").EnumerateArray().Select(e => e.GetInt64()).ToList();
            int cacheable = (int)(Math.Min(input, ids.Count * 512L) / BlockSize);
            int maxHit = Math.Min(cacheable, (input - 1) / BlockSize);
            var nodes = new int[ids.Count];
            var existed = new bool[ids.Count];
            int parent = 0;
            for (int k = 0; k < ids.Count; k++)
            {
                existed[k] = trie.TryGetValue((parent, ids[k]), out int node);
                if (!existed[k]) { node = deepest.Count; deepest.Add(-1); trie[(parent, ids[k])] = node; }
                nodes[k] = parent = node;
            }
            int hit = 0;
            while (hit < maxHit)
            {
                int k = ((hit + 1) * BlockSize - 1) / 512;
                if (!existed[k] || deepest[nodes[k]] < hit) break;
                hit++;
            }
            for (int j = 0; j < cacheable; j++)
            {
                int k = ((j + 1) * BlockSize - 1) / 512;
                deepest[nodes[k]] = Math.Max(deepest[nodes[k]], j);
            }
            reused += (long)hit * BlockSize;
            total += input;
        }
        return (double)reused / total;
    }

    private static List<Dictionary<string, string>> Rows(string dir, string file)
    {
        var lines = File.ReadAllLines(Path.Combine(dir, file));
        var header = lines[0].Split(',');
        return lines.Skip(1).Select(l => header.Zip(l.Split(',')).ToDictionary(p => p.First, p => p.Second)).ToList();
    }

    [Test]
    public void OneReplica_CpuTierThatNeverEvicts_ServesTheTracesUnboundedReuse()
    {
        double expected = UnboundedReuseShare(2000);
        var run = Run("unbounded", 2000, "parallelism.replicas=1", "scheduler.kv_offloading_size_gb=100000");
        var pc = run.Summary.PrefixCache!;
        TestContext.Out.WriteLine($"trace count {expected:P2}, simulated {pc.HitRatioTokens:P2} (GPU {pc.HbmHitTokens}, CPU {pc.CpuHitTokens} tokens)");
        Assert.That(expected, Is.InRange(0.25, 0.35), "the count itself");
        Assert.That(pc.HitRatioTokens, Is.EqualTo(expected).Within(0.01));
        var rows = Rows(run.Directory, "requests.csv");
        double fromRows = rows.Sum(r => long.Parse(r["cached_tokens"]) + long.Parse(r["cpu_cached_tokens"])) / (double)rows.Sum(r => long.Parse(r["input_tokens"]));
        Assert.That(fromRows, Is.EqualTo(pc.HitRatioTokens).Within(1e-4));
        Assert.That(pc.CpuHitTokens, Is.GreaterThan(0));
    }

    [Test]
    public void HbmOnly_HitsSomeButNoMoreThanUnbounded_CachingOffHitsNothing_AndCachingLowersMeanTtft()
    {
        double unbounded = UnboundedReuseShare(2000);
        var hbm = Run("hbm", 2000, "scheduler.kv_offloading_size_gb=null");
        var off = Run("off", 2000, "scheduler.kv_offloading_size_gb=null", "scheduler.enable_prefix_caching=false");
        var pc = hbm.Summary.PrefixCache!;
        TestContext.Out.WriteLine($"HBM only {pc.HitRatioTokens:P2}, unbounded {unbounded:P2}; TTFT mean {hbm.Summary.TtftMs.Mean} ms with, {off.Summary.TtftMs.Mean} ms without");
        Assert.That(pc.HitRatioTokens, Is.GreaterThan(0).And.LessThanOrEqualTo(unbounded + 1e-4));
        Assert.That(pc.CpuHitTokens, Is.Zero);
        Assert.That(Rows(off.Directory, "requests.csv").All(r => r["cached_tokens"] == "0" && r["cpu_cached_tokens"] == "0"), Is.True);
        Assert.That(off.Summary.PrefixCache, Is.EqualTo(PrefixCacheSummary.From(false, 0, 0, 0, 0)));
        Assert.That(hbm.Summary.TtftMs.Mean, Is.LessThan(off.Summary.TtftMs.Mean));
        Assert.That(hbm.Summary.Requests.Completed, Is.EqualTo(off.Summary.Requests.Completed));
    }

    [Test]
    public void FourReplicas_PrefixAwareRouter_HitsMoreThanRoundRobin()
    {
        var rr = Run("rr", 2000, "router=round_robin", "scheduler.kv_offloading_size_gb=null");
        var pa = Run("pa", 2000, "router=prefix_aware", "scheduler.kv_offloading_size_gb=null");
        TestContext.Out.WriteLine($"round_robin {rr.Summary.PrefixCache!.HitRatioTokens:P2}, prefix_aware {pa.Summary.PrefixCache!.HitRatioTokens:P2}");
        Assert.That(pa.Summary.PrefixCache!.HitRatioTokens, Is.GreaterThan(rr.Summary.PrefixCache!.HitRatioTokens));
    }

    [Test]
    public void SameSeed_ByteIdenticalOutputs_WithCachingCpuTierAndPrefixRouter()
    {
        var a = Run("det-a", 400, "router=prefix_aware", "scheduler.kv_offloading_size_gb=5");
        var b = Run("det-b", 400, "router=prefix_aware", "scheduler.kv_offloading_size_gb=5");
        Assert.That(a.Summary.PrefixCache!.CpuHitTokens, Is.GreaterThan(0), "the CPU tier is exercised");
        foreach (var file in new[] { "summary.json", "requests.csv", "iterations.csv", "timeseries.csv" })
            Assert.That(File.ReadAllBytes(Path.Combine(b.Directory, file)), Is.EqualTo(File.ReadAllBytes(Path.Combine(a.Directory, file))), file);
        var ts = Rows(a.Directory, "timeseries.csv");
        Assert.That(ts.Any(r => r["prefix_hit_ratio"] is { Length: > 0 } v && double.Parse(v, System.Globalization.CultureInfo.InvariantCulture) > 0), Is.True);
    }
}
