using NUnit.Framework;
using Simulator.Inference.Workload;
using Simulator.Scenarios;
using Simulator.Tests.Shared;

namespace Simulator.Scenarios.Tests;

/// <summary>The prefix-caching keys: defaults, values, errors, writing back, and what the run builder makes of them.</summary>
public sealed class PrefixCachingKeysTest
{
    private static readonly ScenarioLoader Loader = new();
    private const string Minimal = ScenarioLoaderTest.Minimal;

    private static Scenario Load(string yaml, params string[] sets) => Loader.LoadText(yaml, "s.yaml", TestPaths.DataRoot, sets);

    private static IReadOnlyList<string> Errors(string yaml, params string[] sets) =>
        Assert.Throws<ScenarioException>(() => Loader.LoadText(yaml, "s.yaml", TestPaths.DataRoot, sets))!.Errors.Select(e => e.ToString()).ToList();

    [Test]
    public void Defaults_CachingOnAsVllmV1_NoCpuTier_NoStructure()
    {
        var s = Load(Minimal);
        Assert.That(s.Scheduler.EnablePrefixCaching, Is.True);
        Assert.That(s.Scheduler.KvOffloadingSizeGB, Is.Null);
        Assert.That(s.Workload.Synthetic!.SharedPrefixTokens, Is.Zero);
        Assert.That(s.Workload.Synthetic.Sessions, Is.Null);
        var config = RunBuilder.Build(s).SchedulerConfig();
        Assert.That(config.EnablePrefixCaching, Is.True);
        Assert.That(config.CpuOffloadBlocks, Is.Zero);
    }

    [Test]
    public void Keys_Parse_RoundTrip_AndSizeTheCpuTierInBlocks()
    {
        var s = Load(Minimal + "\n  prefix: {shared_tokens: 512}\n  sessions: {turns: 3, think_time_s: 12.5}\nrouter: session_affinity\n",
            "scheduler.kv_offloading_size_gb=100", "parallelism.tensor_parallel_size=2");
        Assert.That(s.Workload.Synthetic!.SharedPrefixTokens, Is.EqualTo(512));
        Assert.That(s.Workload.Synthetic.Sessions, Is.EqualTo(new SessionSpec(3, 12.5)));
        Assert.That(s.Router, Is.EqualTo("session_affinity"));
        Assert.That(Loader.LoadText(ScenarioWriter.ToYaml(s, TestPaths.DataRoot), "s.yaml", TestPaths.DataRoot), Is.EqualTo(s));
        // Llama-3.1-8B bf16 at TP2: 32 layers x 4 KV heads x 128 x 2 (K, V) x 2 B = 65,536 B per token per GPU;
        // a 16-token block on both GPUs is 2 MiB, so 100 GB hold 47,683 blocks.
        var config = RunBuilder.Build(s).SchedulerConfig();
        Assert.That(config.KvBytesPerTokenPerGpu, Is.EqualTo(65_536));
        Assert.That(config.CpuOffloadBlocks, Is.EqualTo((long)(100e9 / (16 * 65_536 * 2))));
        Assert.That(s.Workload.CreateSource(1).Read().First().PrefixBlockIds, Is.Not.Null);
    }

    [Test]
    public void RouterOptions_DefaultToSglangs_AndParse()
    {
        Assert.That(Load(Minimal).RouterOptions, Is.EqualTo(new RouterOptionsSpec { CacheThreshold = 0.3, BalanceAbsThreshold = 64, BalanceRelThreshold = 1.5 }));
        var s = Load(Minimal + "\nrouter: prefix_aware\nrouter_options: {cache_threshold: 0.5, balance_abs_threshold: 8, balance_rel_threshold: 1.2}\n");
        Assert.That(s.RouterOptions, Is.EqualTo(new RouterOptionsSpec { CacheThreshold = 0.5, BalanceAbsThreshold = 8, BalanceRelThreshold = 1.2 }));
        Assert.That(Loader.LoadText(ScenarioWriter.ToYaml(s, TestPaths.DataRoot), "s.yaml", TestPaths.DataRoot), Is.EqualTo(s));
        Assert.That(Errors(Minimal + "\nrouter_options: {cache_threshold: 2}\n"), Has.One.Contains("router_options.cache_threshold"));
    }

    [Test]
    public void BadValues_AreReportedAtTheirLines()
    {
        var errors = Errors(Minimal + "\nscheduler:\n  enable_prefix_caching: false\n  kv_offloading_size_gb: 10\n");
        Assert.That(errors, Has.One.Contains("s.yaml:9: scheduler.kv_offloading_size_gb: a CPU KV tier").And.Contains("enable_prefix_caching: true"));
        Assert.That(Errors(Minimal, "scheduler.kv_offloading_size_gb=0"), Has.One.Contains("scheduler.kv_offloading_size_gb"));
        Assert.That(Errors(Minimal + "\n  sessions: {turns: 0}\n"), Has.One.Contains("workload.sessions.turns"));
        Assert.That(Errors(Minimal + "\n  prefix: {shared: 5}\n"), Has.One.Contains("workload.prefix.shared: unknown key"));
        Assert.That(Errors(Minimal, "router=prefix_awar"), Has.One.Contains("prefix_aware"));
        var trace = "model: llama-3.1-8b\nworkload:\n  trace: {path: traces/mooncake-fast25-conversation.jsonl}\n  sessions: {turns: 2}\n";
        Assert.That(Errors(trace), Has.One.Contains("workload.trace: cannot be combined with sessions"), "one error at the trace, as for any generator key next to a trace");
    }
}
