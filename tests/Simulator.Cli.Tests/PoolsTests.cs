// FsCheck supplies the arguments of [FsProperty] methods; NUnit's analyzer cannot see that.
#pragma warning disable NUnit1001, NUnit1027
using System.Globalization;
using System.Text.Json;
using FsProperty = FsCheck.NUnit.PropertyAttribute;

namespace Simulator.Cli.Tests;

/// <summary>
/// Pools end to end from scenario files: disaggregated prefill / decode with KV transfer, mixed GPU types, the pool
/// columns of the outputs, and the bad inputs a pool layout can have.
/// </summary>
[TestFixture, NonParallelizable]
public sealed class PoolsTests
{
    /// <summary>A small P/D layout: 2 x TP2 H100 prefill replicas, 1 x TP4 H200 decode replica, one node each.</summary>
    private const string PrefillDecode = """
        name: pd
        seed: 3
        cluster: {inter_node: ib-ndr400}
        model: llama-3.1-8b
        pools:
          prefill: {role: prefill, gpu: H100-SXM-80GB, nodes: 1, gpus_per_node: 8, intra_node: nvlink4,
                    parallelism: {tensor_parallel_size: 2, replicas: 2}}
          decode:  {role: decode, gpu: H200-SXM-141GB, nodes: 1, gpus_per_node: 8, intra_node: nvlink4,
                    parallelism: {tensor_parallel_size: 4, replicas: 1}}
        kv_transfer: {mode: after_prefill}
        router: least_outstanding
        workload:
          arrivals: {process: poisson, rate_per_s: 10}
          input_tokens: {dist: lognormal, mean: 1024, sigma: 0.6}
          output_tokens: {dist: lognormal, mean: 24, sigma: 0.6}
          requests: 150
        slo: {ttft_ms: 500, tpot_ms: 50}
        """;

    private const long Llama8bKvBytesPerToken = 32L * 2 * 8 * 128 * 2; // layers x (K, V) x KV heads x head dim x bf16

    private static CliResult Run(TempDir tmp, string yaml, string outName, params string[] sets)
    {
        var path = tmp.Write(outName + ".yaml", yaml);
        var args = new List<string> { "run", path, "--out", tmp.Sub(outName), "--no-report" };
        foreach (var s in sets) { args.Add("--set"); args.Add(s); }
        return CliHarness.Run(args.ToArray());
    }

    private static CsvTable Csv(TempDir tmp, string run, string file) => CsvTable.Read(tmp.Sub(run, file));

    private static JsonElement Summary(TempDir tmp, string run) =>
        JsonDocument.Parse(File.ReadAllText(tmp.Sub(run, "summary.json"))).RootElement;

    private static double Num(string text) => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);

    private static CliResult RunOk(TempDir tmp, string yaml, string outName, params string[] sets)
    {
        var r = Run(tmp, yaml, outName, sets);
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        return r;
    }

    [Test]
    public void KvTransferBytes_EqualInputTokensTimesKvBytesPerToken_AndAppearOnTheInterPoolLinkRow()
    {
        using var tmp = new TempDir();
        RunOk(tmp, PrefillDecode, "pd");
        var requests = Csv(tmp, "pd", "requests.csv");
        int input = requests.Column("input_tokens"), transfer = requests.Column("kv_transfer_ms"), status = requests.Column("status");
        var handedOff = requests.Rows.Where(r => r[transfer].Length > 0).ToList();
        Assert.That(handedOff, Has.Count.GreaterThan(100), "most requests decode on the decode pool");
        double expected = handedOff.Sum(r => Num(r[input]) * Llama8bKvBytesPerToken);
        var kv = Summary(tmp, "pd").GetProperty("kv_transfer");
        Assert.That(kv.GetProperty("bytes").GetDouble(), Is.EqualTo(expected).Within(1).Percent);
        Assert.That(kv.GetProperty("mean_ms").GetDouble(), Is.GreaterThan(0));

        var links = Csv(tmp, "pd", "links.csv");
        var row = links.Rows.Single(r => r[links.Column("link")] == "kv.prefill->decode");
        Assert.That(Num(row[links.Column("bytes_carried")]), Is.EqualTo(expected).Within(1).Percent);
        Assert.That(row[links.Column("kind")], Is.EqualTo("infiniband"), "the pools sit in different nodes: the KV crosses the fabric");

        int prefill = requests.Column("prefill_replica"), decode = requests.Column("decode_replica");
        Assert.That(handedOff.All(r => r[prefill] is "0" or "1" && r[decode] == "2" && r[status] == "completed"));
    }

    [Test]
    public void FlowMode_KvBytesCrossThePrefillNics()
    {
        using var tmp = new TempDir();
        RunOk(tmp, PrefillDecode, "flow", "network.model=flow");
        double kvBytes = Summary(tmp, "flow").GetProperty("kv_transfer").GetProperty("bytes").GetDouble();
        var links = Csv(tmp, "flow", "links.csv");
        int name = links.Column("link"), bytes = links.Column("bytes_carried");
        // Node 0 is the prefill pool: its NICs carry nothing but the KV (its TP groups stay on NVLink).
        double nicTx = links.Rows.Where(r => r[name].StartsWith("n0.", StringComparison.Ordinal) && r[name].EndsWith(".nic.tx", StringComparison.Ordinal))
            .Sum(r => Num(r[bytes]));
        Assert.That(nicTx, Is.EqualTo(kvBytes).Within(1).Percent);
        Assert.That(links.Rows.Any(r => r[name] == "n1.gpu0.nic.rx"), "the decode ranks receive their shares");
    }

    [Test]
    public void HalvingTheFabricBandwidth_RoughlyDoublesKvTransferTime_AndLeavesPrefillComputeUnchanged()
    {
        using var tmp = new TempDir();
        RunOk(tmp, PrefillDecode, "fast");
        RunOk(tmp, PrefillDecode, "slow", "cluster.inter_node=ib-hdr200");
        double fast = Summary(tmp, "fast").GetProperty("kv_transfer").GetProperty("mean_ms").GetDouble();
        double slow = Summary(tmp, "slow").GetProperty("kv_transfer").GetProperty("mean_ms").GetDouble();
        TestContext.Out.WriteLine($"kv_transfer mean: {fast:F3} ms at 50 GB/s, {slow:F3} ms at 25 GB/s (ratio {slow / fast:F2})");
        Assert.That(slow / fast, Is.InRange(1.6, 2.4));

        double PrefillComputeMs(string run)
        {
            var it = Csv(tmp, run, "iterations.csv");
            return it.Rows.Where(r => r[it.Column("pool")] == "prefill").Sum(r => Num(r[it.Column("compute_ms")]));
        }
        Assert.That(PrefillComputeMs("slow"), Is.EqualTo(PrefillComputeMs("fast")).Within(1e-9).Percent);
    }

    [Test]
    public void Layerwise_GivesLowerTtftPlusTransferThanAfterPrefill()
    {
        using var tmp = new TempDir();
        RunOk(tmp, PrefillDecode, "after");
        RunOk(tmp, PrefillDecode, "layer", "kv_transfer.mode=layerwise");
        double Mean(string run)
        {
            var r = Csv(tmp, run, "requests.csv");
            int ttft = r.Column("ttft_ms"), kv = r.Column("kv_transfer_ms");
            return r.Rows.Where(x => x[kv].Length > 0).Average(x => Num(x[ttft]) + Num(x[kv]));
        }
        double after = Mean("after"), layer = Mean("layer");
        TestContext.Out.WriteLine($"TTFT + transfer: after_prefill {after:F3} ms, layerwise {layer:F3} ms");
        Assert.That(layer, Is.LessThan(after));
    }

    [Test]
    public void H100PrefillAndH200Decode_ShowBothGpuTypesAndPoolsInTheOutputs()
    {
        using var tmp = new TempDir();
        var r = RunOk(tmp, PrefillDecode, "types");
        var gpus = Csv(tmp, "types", "gpus.csv");
        int type = gpus.Column("gpu_type"), pool = gpus.Column("pool");
        Assert.That(gpus.Rows, Has.Count.EqualTo(16));
        Assert.That(gpus.Rows.Take(8).All(g => g[type] == "H100-SXM-80GB" && g[pool] == "prefill"));
        Assert.That(gpus.Rows.Skip(8).All(g => g[type] == "H200-SXM-141GB" && g[pool] == "decode"));
        var it = Csv(tmp, "types", "iterations.csv");
        Assert.That(it.Rows.Select(x => x[it.Column("pool")]).Distinct().OrderBy(x => x), Is.EqualTo(new[] { "decode", "prefill" }));
        // A prefill replica never decodes: its iterations carry prompt tokens only.
        Assert.That(it.Rows.Where(x => x[it.Column("pool")] == "prefill").All(x => x[it.Column("decode_tokens")] == "0"));
        Assert.That(r.StdOut, Does.Contain("KV transfer:"));
    }

    [Test]
    public void MixedPoolsOfDifferentGpus_ShareOneRouter_EachPricedOnItsOwnGpu()
    {
        const string yaml = """
            name: mixed-types
            model: llama-3.1-8b
            pools:
              h100: {gpu: H100-SXM-80GB, gpus_per_node: 8, parallelism: {tensor_parallel_size: 2, replicas: 1}}
              a100: {gpu: A100-SXM-80GB, gpus_per_node: 8, intra_node: nvlink3, parallelism: {tensor_parallel_size: 2, replicas: 1}}
            router: least_outstanding
            workload:
              arrivals: {process: poisson, rate_per_s: 8}
              input_tokens: 1024
              output_tokens: 32
              requests: 120
            """;
        using var tmp = new TempDir();
        RunOk(tmp, yaml, "mixed");
        var requests = Csv(tmp, "mixed", "requests.csv");
        var byReplica = requests.Rows.GroupBy(r => r[requests.Column("replica")]).ToDictionary(g => g.Key, g => g.Count());
        Assert.That(byReplica.Keys.OrderBy(k => k), Is.EqualTo(new[] { "0", "1" }), "both pools serve");
        Assert.That(requests.Rows.All(r => r[requests.Column("kv_transfer_ms")] == ""), "mixed pools hand nothing off");
        var it = Csv(tmp, "mixed", "iterations.csv");
        double PrefillMsPerToken(string pool) => it.Rows.Where(r => r[it.Column("pool")] == pool && r[it.Column("decode_tokens")] == "0")
            .Select(r => Num(r[it.Column("compute_ms")]) / Num(r[it.Column("prefill_tokens")])).Average();
        Assert.That(PrefillMsPerToken("a100"), Is.GreaterThan(1.5 * PrefillMsPerToken("h100")), "the A100 replica is priced on the A100's peak");
        var gpus = Csv(tmp, "mixed", "gpus.csv");
        Assert.That(gpus.Rows.Select(g => g[gpus.Column("gpu_type")]).Distinct(), Is.EquivalentTo(new[] { "H100-SXM-80GB", "A100-SXM-80GB" }));

        RunOk(tmp, yaml, "speed", "router=speed_weighted", "workload.arrivals.rate_per_s=20");
        var speed = Csv(tmp, "speed", "requests.csv");
        int h100 = speed.Rows.Count(r => r[speed.Column("replica")] == "0");
        Assert.That(h100, Is.GreaterThan(speed.Rows.Count - h100), "the speed-aware router sends the H100 replica more than the A100 one");
    }

    [Test]
    public void OneMixedPool_GivesTheNumbersOfTheSameScenarioWithoutPools()
    {
        const string plain = """
            name: same
            model: llama-3.1-8b
            cluster: {gpu: H100-SXM-80GB, nodes: 1, gpus_per_node: 8}
            parallelism: {tensor_parallel_size: 2, replicas: 2}
            router: least_outstanding
            workload:
              arrivals: {process: poisson, rate_per_s: 12}
              input_tokens: {dist: lognormal, mean: 800, sigma: 0.7}
              output_tokens: {dist: lognormal, mean: 40, sigma: 0.7}
              requests: 200
            slo: {ttft_ms: 300, tpot_ms: 30}
            """;
        using var tmp = new TempDir();
        RunOk(tmp, plain, "plain");
        RunOk(tmp, plain + "\npools: {main: {role: mixed}}\n", "pooled");
        Assert.That(File.ReadAllBytes(tmp.Sub("pooled", "summary.json")), Is.EqualTo(File.ReadAllBytes(tmp.Sub("plain", "summary.json"))));
        var a = Csv(tmp, "plain", "requests.csv");
        var b = Csv(tmp, "pooled", "requests.csv");
        Assert.That(b.Rows.Select(r => r.Take(a.Header.Count)), Is.EqualTo(a.Rows), "the pool columns come after the same values");
    }

    [Test]
    public void PoolRuns_AreDeterministic()
    {
        using var tmp = new TempDir();
        RunOk(tmp, PrefillDecode, "a", "network.model=flow");
        RunOk(tmp, PrefillDecode, "b", "network.model=flow");
        foreach (var f in new[] { "summary.json", "requests.csv", "iterations.csv", "gpus.csv", "links.csv" })
            Assert.That(File.ReadAllBytes(tmp.Sub("b", f)), Is.EqualTo(File.ReadAllBytes(tmp.Sub("a", f))), f);
    }

    /// <summary>
    /// Conservation and KV capacity under back-pressure: a decode pool with little KV (low gpu_memory_utilization on a
    /// small GPU budget) makes hand-offs wait for blocks; every request still ends in exactly one row, completed, and no
    /// replica ever uses more KV blocks than it has.
    /// </summary>
    [FsProperty(MaxTest = 6)]
    public void WithPools_EveryRequestHasOneRow_AndKvNeverExceedsCapacity(byte rateSeed, byte outputSeed)
    {
        double rate = 20 + rateSeed % 40;
        int output = 16 + outputSeed % 96;
        using var tmp = new TempDir();
        var r = Run(tmp, PrefillDecode, "prop", $"workload.arrivals.rate_per_s={rate}", $"workload.output_tokens={{dist: fixed, value: {output}}}",
            "workload.requests=120", "pools.decode.scheduler={gpu_memory_utilization: 0.039, max_num_seqs: 64}");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        var requests = Csv(tmp, "prop", "requests.csv");
        var ids = requests.Rows.Select(x => x[requests.Column("request_id")]).ToList();
        Assert.That(ids, Has.Count.EqualTo(120));
        Assert.That(ids.Distinct().Count(), Is.EqualTo(120));
        Assert.That(requests.Rows.All(x => x[requests.Column("status")] == "completed"));

        var it = Csv(tmp, "prop", "iterations.csv");
        var gpus = Csv(tmp, "prop", "gpus.csv");
        int blockTokens = 16;
        foreach (var group in it.Rows.GroupBy(x => x[it.Column("replica")]))
        {
            var gpu = gpus.Rows.First(g => g[gpus.Column("replica")] == group.Key);
            // kv_capacity_gb per GPU over KV bytes per token per GPU gives the replica's token capacity.
            int tp = gpus.Rows.Count(g => g[gpus.Column("replica")] == group.Key);
            double perGpuBytesPerToken = (double)Llama8bKvBytesPerToken / tp;
            double capacityBlocks = Math.Floor(Num(gpu[gpus.Column("kv_capacity_gb")]) * 1e9 / perGpuBytesPerToken / blockTokens) + 2; // kv_capacity_gb is rounded to 1 MB
            Assert.That(group.Max(x => Num(x[it.Column("kv_blocks_used")])), Is.LessThanOrEqualTo(capacityBlocks), $"replica {group.Key}");
        }
    }

    /// <summary>Runs a bad scenario: the exit code, exactly one error line, no run directory left; returns the line.</summary>
    private static string OneError(string yaml, int exitCode, params string[] sets)
    {
        using var tmp = new TempDir();
        var r = Run(tmp, yaml, "bad", sets);
        Assert.That(r.ExitCode, Is.EqualTo(exitCode), r.ToString());
        Assert.That(r.ErrorLines, Has.Count.EqualTo(1), r.ToString());
        Assert.That(Directory.Exists(tmp.Sub("bad")), Is.False, "nothing half-written is left behind");
        return r.ErrorLines[0];
    }

    [Test]
    public void UnknownRole_IsOneLocatedError() =>
        Assert.That(OneError(PrefillDecode.Replace("role: decode", "role: decoder"), 2),
            Does.Match(@"^error: .*bad\.yaml:8: pools\.decode\.role: 'decoder' is not allowed.*prefill \| decode \| mixed"));

    [Test]
    public void PoolsWithNoPrefillSide_AreOneLocatedError() =>
        Assert.That(OneError(PrefillDecode.Replace("role: prefill", "role: decode"), 2),
            Does.Match(@"^error: .*bad\.yaml:6: pools: decode pool\(s\) prefill, decode but no prefill side"));

    [Test]
    public void DecodePoolWhoseKvCannotHoldOneRequest_ExitsWithThree() =>
        Assert.That(OneError(PrefillDecode, 3, "workload.input_tokens=30000", "workload.output_tokens=2000",
                "pools.decode.gpu=L40S-48GB", "pools.decode.scheduler={gpu_memory_utilization: 0.4}", "pools.decode.parallelism={tensor_parallel_size: 1}"),
            Does.Contain("pools.decode.parallelism: decode pool decode's KV cache holds").And.Contain("needs 32000"));

    [Test]
    public void MemoryVerb_ListsEveryPoolsPlan()
    {
        using var tmp = new TempDir();
        var r = CliHarness.Run("memory", tmp.Write("pd.yaml", PrefillDecode), "--json");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        var pools = JsonDocument.Parse(r.StdOut).RootElement.GetProperty("pools");
        Assert.That(pools.EnumerateArray().Select(p => p.GetProperty("gpu").GetString()), Is.EqualTo(new[] { "H100-SXM-80GB", "H200-SXM-141GB" }));
        Assert.That(pools[1].GetProperty("kv_capacity_tokens").GetInt64(), Is.GreaterThan(pools[0].GetProperty("kv_capacity_tokens").GetInt64()),
            "the H200 decode replica (TP4, 141 GB) holds more KV than an H100 TP2 prefill replica");
    }
}
