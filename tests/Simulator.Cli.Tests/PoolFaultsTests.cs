// FsCheck supplies the arguments of [FsProperty] methods; NUnit's analyzer cannot see that.
#pragma warning disable NUnit1001, NUnit1027
using System.Globalization;
using System.Text.Json;
using FsProperty = FsCheck.NUnit.PropertyAttribute;

namespace Simulator.Cli.Tests;

/// <summary>
/// Faults inside pools, end to end from scenarios/disaggregation-decode-failure.yaml: a decode or prefill GPU that
/// fails mid-run, the retries and reasons it leaves in requests.csv, the availability and live columns, determinism
/// and conservation under random faults, and a fault naming a GPU beyond the pools' cluster.
/// </summary>
[TestFixture, NonParallelizable]
public sealed class PoolFaultsTests
{
    private static readonly string Scenario = CliHarness.Scenario("disaggregation-decode-failure.yaml");

    /// <summary>The prefill side made the bottleneck (2 x TP2 replicas, 3k-token prompts) so that a prefill failure holds requests.</summary>
    private static readonly string[] TightPrefill =
        ["workload.requests=1200", "pools.prefill.parallelism={tensor_parallel_size: 2, replicas: 2}",
         "workload.input_tokens={dist: lognormal, mean: 3072, sigma: 0.6}"];

    private const string NoFaults = "faults=[]";

    private static void RunOk(TempDir tmp, string outName, params string[] sets)
    {
        var args = new List<string> { "run", Scenario, "--out", tmp.Sub(outName), "--no-report" };
        foreach (var s in sets) { args.Add("--set"); args.Add(s); }
        var r = CliHarness.Run(args.ToArray());
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
    }

    private static CsvTable Csv(TempDir tmp, string run, string file) => CsvTable.Read(tmp.Sub(run, file));

    private static JsonElement Summary(TempDir tmp, string run) =>
        JsonDocument.Parse(File.ReadAllText(tmp.Sub(run, "summary.json"))).RootElement;

    private static double TtftP99(TempDir tmp, string run) => Summary(tmp, run).GetProperty("ttft_ms").GetProperty("p99").GetDouble();

    private static double Num(string text) => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);

    /// <summary>Every request one row; each ends completed (all its tokens) or not completed with a reason; returns the retried rows.</summary>
    private static List<IReadOnlyList<string>> AssertConserved(CsvTable requests, int expected)
    {
        int id = requests.Column("request_id"), status = requests.Column("status"), reason = requests.Column("reason");
        int generated = requests.Column("generated_tokens"), output = requests.Column("output_tokens"), retries = requests.Column("retries");
        Assert.That(requests.Rows, Has.Count.EqualTo(expected));
        Assert.That(requests.Rows.Select(r => r[id]).Distinct().Count(), Is.EqualTo(expected), "one row per request");
        foreach (var r in requests.Rows)
        {
            if (r[status] == "completed")
            {
                Assert.That(r[generated], Is.EqualTo(r[output]), $"request {r[id]} completed with all its tokens");
                Assert.That(r[reason], Is.Empty);
            }
            else
            {
                Assert.That(r[status], Is.EqualTo("failed").Or.EqualTo("rejected"), $"request {r[id]}");
                Assert.That(r[reason], Is.Not.Empty, $"request {r[id]} ended {r[status]} with a reason");
            }
        }
        return requests.Rows.Where(r => Num(r[retries]) >= 1).ToList();
    }

    [Test]
    public void DecodeGpuFailure_RetriesItsRequests_SendsNewHandOffsToTheLiveReplica_AndRaisesTtftP99()
    {
        using var tmp = new TempDir();
        RunOk(tmp, "fault");
        RunOk(tmp, "clean", NoFaults);
        var requests = Csv(tmp, "fault", "requests.csv");
        var retried = AssertConserved(requests, 2400);
        Assert.That(retried, Has.Count.GreaterThan(10), "the requests decoding on replica 5 at 20 s are retried");
        int prefill = requests.Column("prefill_replica"), decode = requests.Column("decode_replica"), arrival = requests.Column("arrival_s");
        Assert.That(retried.All(r => Num(r[prefill]) is >= 0 and <= 3), "a retry starts again on the prefill pool");
        Assert.That(requests.Rows.Where(r => Num(r[arrival]) is > 20.1 and < 45).Select(r => r[decode]).Distinct(), Is.EqualTo(new[] { "4" }),
            "while replica 5 is down every hand-off goes to replica 4");
        Assert.That(Csv(tmp, "clean", "requests.csv").Rows.All(r => r[requests.Column("retries")] == "0"));

        Assert.That(TtftP99(tmp, "fault"), Is.GreaterThan(TtftP99(tmp, "clean")),
            "re-prefills and the back-pressure of one decode replica delay first tokens");
        var summary = Summary(tmp, "fault");
        Assert.That(summary.GetProperty("availability").GetDouble(), Is.LessThan(1.0).And.GreaterThan(0.85));
        var fault = summary.GetProperty("faults").EnumerateArray().Single();
        Assert.That(fault.GetProperty("target").GetString(), Is.EqualTo("gpu12"));

        var ts = Csv(tmp, "fault", "timeseries.csv");
        int time = ts.Column("time_s"), replica = ts.Column("replica"), live = ts.Column("live");
        var down = ts.Rows.Where(r => r[live] == "0").ToList();
        Assert.That(down.Select(r => r[replica]).Distinct(), Is.EqualTo(new[] { "5" }), "only decode replica 5 (GPUs 12-15) goes down");
        Assert.That(down.Min(r => Num(r[time])), Is.EqualTo(21).Within(1));
        Assert.That(down.Max(r => Num(r[time])), Is.EqualTo(50).Within(1.01), "30 s down, then about 0.6 s of weight reload");
    }

    /// <summary>
    /// Re-pointing: with decode replicas 4 and 5 down from 5 s, hand-offs queue for replica 6's and 7's blocks; when
    /// replica 6 fails too at 15 s, the hand-offs then bound for it (same run up to 15 s without that fault) end on
    /// replica 7 without a retry, since their KV was still on the prefill side.
    /// </summary>
    [Test]
    public void HandOffsBoundForAFailedDecodeReplica_AreRepointedToALiveOne_WithoutARetry()
    {
        using var tmp = new TempDir();
        string[] layout = ["workload.requests=1200", "pools.decode.parallelism={tensor_parallel_size: 2, replicas: 4}",
            "pools.decode.scheduler={gpu_memory_utilization: 0.1}"];
        const string twoDown = "{at_s: 5, kind: gpu_down, gpu: 8, duration_s: 40}, {at_s: 5, kind: gpu_down, gpu: 10, duration_s: 40}";
        RunOk(tmp, "two", [.. layout, $"faults=[{twoDown}]"]);
        RunOk(tmp, "three", [.. layout, $"faults=[{twoDown}, {{at_s: 15, kind: gpu_down, gpu: 12, duration_s: 40}}]"]);
        var two = Csv(tmp, "two", "requests.csv");
        int id = two.Column("request_id"), decode = two.Column("decode_replica"), retries = two.Column("retries");
        int first = two.Column("first_token_s"), transfer = two.Column("kv_transfer_ms");
        var boundFor6 = two.Rows.Where(r => r[decode] == "6" && r[retries] == "0" && Num(r[first]) < 15 && Num(r[first]) + Num(r[transfer]) / 1000 > 15)
            .Select(r => r[id]).ToHashSet();
        Assert.That(boundFor6, Has.Count.GreaterThan(10), "back-pressure keeps hand-offs waiting for replica 6 at 15 s");
        var three = Csv(tmp, "three", "requests.csv");
        var after = three.Rows.Where(r => boundFor6.Contains(r[id])).ToList();
        Assert.That(after, Has.Count.EqualTo(boundFor6.Count));
        Assert.That(after.All(r => r[decode] == "7" && r[retries] == "0" && r[three.Column("status")] == "completed"));
        AssertConserved(three, 1200);
    }

    [Test]
    public void PrefillGpuFailure_RetriesItsQueuedRequests_OnTheOtherPrefillReplica_AndRaisesTtftP99()
    {
        using var tmp = new TempDir();
        string fault = "faults=[{at_s: 10, kind: gpu_down, gpu: 2, duration_s: 20}]";
        RunOk(tmp, "fault", [.. TightPrefill, fault]);
        RunOk(tmp, "clean", [.. TightPrefill, NoFaults]);
        var requests = Csv(tmp, "fault", "requests.csv");
        var retried = AssertConserved(requests, 1200);
        Assert.That(retried, Has.Count.GreaterThan(10), "the requests queued on prefill replica 1 at 10 s are retried");
        Assert.That(retried.All(r => r[requests.Column("prefill_replica")] is "0" or "1"));
        Assert.That(TtftP99(tmp, "fault"), Is.GreaterThan(TtftP99(tmp, "clean")));
        var ts = Csv(tmp, "fault", "timeseries.csv");
        Assert.That(ts.Rows.Where(r => r[ts.Column("live")] == "0").Select(r => r[ts.Column("replica")]).Distinct(), Is.EqualTo(new[] { "1" }));
    }

    [Test]
    public void PoolRunsWithFaults_AreDeterministic()
    {
        using var tmp = new TempDir();
        string[] sets = ["workload.requests=800", "faults=[{at_s: 5, kind: gpu_down, gpu: 9, duration_s: 8}, {at_s: 7, kind: node_down, node: 0, duration_s: 2}]"];
        RunOk(tmp, "a", sets);
        RunOk(tmp, "b", sets);
        foreach (var f in new[] { "summary.json", "requests.csv", "iterations.csv", "timeseries.csv", "gpus.csv", "links.csv" })
            Assert.That(File.ReadAllBytes(tmp.Sub("b", f)), Is.EqualTo(File.ReadAllBytes(tmp.Sub("a", f))), f);
    }

    /// <summary>
    /// Conservation under a fault anywhere in the pools: any GPU (prefill or decode side) or node, at any time, any
    /// retry budget, in either transfer mode: every request ends in exactly one row, completed with all its tokens or
    /// not completed with a reason.
    /// </summary>
    [FsProperty(MaxTest = 6)]
    public void WithPoolsAndFaults_EveryRequestHasOneRow_CompletedOrWithAReason(byte gpuSeed, byte atSeed, byte retrySeed, bool node)
    {
        int gpu = gpuSeed % 16;
        double at = 0.5 + atSeed % 10;
        string fault = node
            ? $"{{at_s: {at.ToString(CultureInfo.InvariantCulture)}, kind: node_down, node: {gpu % 2}, duration_s: 3}}"
            : $"{{at_s: {at.ToString(CultureInfo.InvariantCulture)}, kind: gpu_down, gpu: {gpu}, duration_s: 4}}";
        using var tmp = new TempDir();
        RunOk(tmp, "prop", "workload.requests=400", $"faults=[{fault}]", $"retry.max_retries={retrySeed % 3}",
            $"kv_transfer.mode={(atSeed % 2 == 0 ? "layerwise" : "after_prefill")}");
        AssertConserved(Csv(tmp, "prop", "requests.csv"), 400);
    }
}
