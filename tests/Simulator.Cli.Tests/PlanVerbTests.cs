namespace Simulator.Cli.Tests;

/// <summary>`sim plan`: the seeds' TP decision found by search, memory rejections with reasons, determinism, shards, bad input.</summary>
[TestFixture, NonParallelizable]
public sealed class PlanVerbTests
{
    // Probe simulations replay at most this many requests, so a 9-layout plan stays a few seconds.
    private const string MaxRequests = "120";

    [Test]
    public void Plan_DesignReviewOnFourGpus_RejectsTp1ForMemoryAndRanksATp2LayoutFirst()
    {
        using var tmp = new TempDir();
        var r = CliHarness.Run("plan", CliHarness.Scenario("design-review-tp.yaml"), "--gpus", "4", "--out", tmp.Path, "--jobs", "2", "--max-requests", MaxRequests);
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());

        var table = CsvTable.Read(tmp.Sub("plan.csv"));
        Assert.That(table.Rows, Has.Count.GreaterThanOrEqualTo(3));
        int tp = table.Column("tensor_parallel_size"), pp = table.Column("pipeline_parallel_size"), fits = table.Column("fits"), reason = table.Column("reason");
        int dp = table.Column("data_parallel_size");
        var tp1 = table.Rows.Single(row => row[tp] == "1" && row[pp] == "1" && row[dp] == "1");
        Assert.That(tp1[fits], Is.EqualTo("false"));
        Assert.That(tp1[reason], Does.StartWith("does not fit: weights 68.26 GB"));
        Assert.That(tp1[table.Column("vllm_command")], Does.StartWith("vllm serve qwen3.6-35b-a3b --tensor-parallel-size 1 --data-parallel-size 4 --max-num-seqs 256"));
        Assert.That(tp1[table.Column("sglang_command")], Does.StartWith("python -m sglang.launch_server --model-path qwen3.6-35b-a3b --tp-size 1 --dp-size 4 --max-running-requests 256"));
        Assert.That(tp1[table.Column("usd_per_hour")], Is.Empty, "no cost: block, no cost columns");
        Assert.That(table.Rows.Where(row => row[fits] == "true").Select(row => row[table.Column("gpus")]), Has.All.EqualTo("4"));

        int goodput = table.Column("goodput_tokens_per_s_per_gpu");
        var best = table.Rows.Where(row => row[goodput] != "")
            .OrderByDescending(row => double.Parse(row[goodput], System.Globalization.CultureInfo.InvariantCulture)).First();
        Assert.That(best[tp], Is.EqualTo("2"), "the seeds chose TP=2 by hand; the planner agrees");
        Assert.That(best[dp], Is.EqualTo("1"), "DP attention (EP over the engine) does not beat 2 x TP2 for this model: see README");
        Assert.That(best[table.Column("vllm_command")], Does.Contain("--tensor-parallel-size 2").And.Contain("--enable-prefix-caching").And.Contain("--max-num-batched-tokens 8192"));
        Assert.That(best[table.Column("sglang_command")], Does.Contain("--tp-size 2").And.Contain("--chunked-prefill-size 8192"));
        Assert.That(double.Parse(best[table.Column("tpot_p95_ms")], System.Globalization.CultureInfo.InvariantCulture), Is.LessThanOrEqualTo(55), "within the TPOT SLO");
        Assert.That(r.StdOut, Does.Contain("#1 H100-SXM-80GB-tp2-"));
        Assert.That(Directory.Exists(tmp.Sub("points", "0000-H100-SXM-80GB-tp1-pp1-ep1-r4")), Is.False, "a layout that does not fit has no run");

        // The MoE model also gets DP-attention engines (EP = TP x DP): they fit (experts split), run, and print wide-EP commands.
        var dpRows = table.Rows.Where(row => row[dp] != "1").ToList();
        Assert.That(dpRows.Select(row => (row[table.Column("layout")], row[table.Column("expert_parallel_size")], row[fits])), Is.EqualTo(new[]
        {
            ("H100-SXM-80GB-tp1-pp1-ep2-r2-dp2", "2", "true"), ("H100-SXM-80GB-tp1-pp1-ep4-r1-dp4", "4", "true"), ("H100-SXM-80GB-tp2-pp1-ep4-r1-dp2", "4", "true"),
        }));
        Assert.That(dpRows.Select(row => row[goodput]), Has.None.Empty, "every DP-attention layout meets the SLO at some load");
        Assert.That(dpRows[0][table.Column("vllm_command")], Does.StartWith("each of 2 engines: vllm serve qwen3.6-35b-a3b --tensor-parallel-size 1 --data-parallel-size 2 --enable-expert-parallel"));
        Assert.That(dpRows[1][table.Column("sglang_command")], Does.Contain("--tp-size 4 --dp-size 4 --enable-dp-attention --ep-size 4"));
        Assert.That(File.ReadAllText(tmp.Sub("points", "0010-H100-SXM-80GB-tp1-pp1-ep4-r1-dp4", "summary.json")), Does.Contain("\"data_parallel\""),
            "the best passing run of the DP4 engine is a DP-attention run");

        var html = File.ReadAllText(tmp.Sub("report.html"));
        Assert.That(html, Does.Contain("TP1 DP2 EP2 x 2"), "the report names DP-attention layouts by their shape");
        Assert.That(html, Does.Contain("Top layout (by goodput per GPU): H100-SXM-80GB-tp2-").And.Contain("does not fit: weights 68.26 GB")
            .And.Contain("python -m sglang.launch_server"));
        Assert.That(File.Exists(tmp.Sub("charts", "goodput_per_gpu.png")) && File.Exists(tmp.Sub("charts", "pareto.png")), Is.True);
        var again = CliHarness.Run("report", tmp.Path, "--out", tmp.Sub("again"));
        Assert.That(again.ExitCode, Is.EqualTo(0), again.ToString());
        Assert.That(File.ReadAllText(tmp.Sub("again", "report.html")), Is.EqualTo(html), "sim report PLAN_DIR writes the same plan report");
    }

    [Test]
    public void Plan_SameScenarioTwice_AndShardedThenMerged_GivesTheSamePlanCsv()
    {
        using var tmp = new TempDir();
        var scenario = CliHarness.Scenario("design-review-tp.yaml");
        string[] Common(string outDir, params string[] more) =>
            new[] { "plan", scenario, "--gpus", "2", "--max-requests", MaxRequests, "--jobs", "2", "--out", outDir }.Concat(more).ToArray();

        foreach (var run in new[] { "a", "b" }) Assert.That(CliHarness.Run(Common(tmp.Sub(run))).ExitCode, Is.EqualTo(0));
        var whole = File.ReadAllBytes(tmp.Sub("a", "plan.csv"));
        Assert.That(File.ReadAllBytes(tmp.Sub("b", "plan.csv")), Is.EqualTo(whole), "same scenario, same plan.csv");

        for (int i = 0; i < 2; i++) Assert.That(CliHarness.Run(Common(tmp.Sub($"s{i}"), "--shard", $"{i}/2")).ExitCode, Is.EqualTo(0));
        var merged = CliHarness.Run("merge", tmp.Sub("s0"), tmp.Sub("s1"), "--out", tmp.Sub("m"));
        Assert.That(merged.ExitCode, Is.EqualTo(0), merged.ToString());
        Assert.That(File.ReadAllBytes(tmp.Sub("m", "plan.csv")), Is.EqualTo(whole), "two shards merged = the unsharded plan");
    }

    [Test]
    public void Plan_WithGpuHourPrices_RanksByGoodputPerDollarAndPricesEveryLayout()
    {
        using var tmp = new TempDir();
        // H200 at 3x the H100's price: its TP1 x 2 has the most goodput per GPU but not per dollar.
        var r = CliHarness.Run("plan", CliHarness.Scenario("design-review-tp.yaml"), "--gpus", "2", "--gpu", "H100-SXM-80GB", "--gpu", "H200-SXM-141GB",
            "--out", tmp.Path, "--jobs", "2", "--max-requests", MaxRequests,
            "--set", "cost.gpu_hour_usd.H100-SXM-80GB=2.5", "--set", "cost.gpu_hour_usd.h200-sxm-141gb=7.5");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        var table = CsvTable.Read(tmp.Sub("plan.csv"));
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        double Num(IReadOnlyList<string> row, string column) => double.Parse(row[table.Column(column)], inv);
        foreach (var row in table.Rows)
        {
            double price = row[table.Column("gpu")] == "H100-SXM-80GB" ? 2.5 : 7.5;
            Assert.That(Num(row, "usd_per_hour"), Is.EqualTo(price * Num(row, "gpus")).Within(0.005), "GPUs x USD per GPU-hour, fitting or not");
            if (row[table.Column("goodput_tokens_per_s_per_gpu")] == "") { Assert.That(row[table.Column("usd_per_million_output_tokens")], Is.Empty); continue; }
            double goodput = Num(row, "goodput_tokens_per_s_per_gpu") * Num(row, "gpus");
            Assert.That(Num(row, "goodput_tokens_per_s_per_usd_per_hour"), Is.EqualTo(goodput / Num(row, "usd_per_hour")).Within(0.01));
            Assert.That(Num(row, "usd_per_million_output_tokens"), Is.EqualTo(Num(row, "usd_per_hour") / (goodput * 3600) * 1e6).Within(0.002));
        }
        var feasible = table.Rows.Where(row => row[table.Column("goodput_tokens_per_s_per_gpu")] != "").ToList();
        var perDollar = feasible.OrderByDescending(row => Num(row, "goodput_tokens_per_s_per_usd_per_hour")).First();
        var perGpu = feasible.OrderByDescending(row => Num(row, "goodput_tokens_per_s_per_gpu")).First();
        Assert.That(perGpu[table.Column("gpu")], Is.EqualTo("H200-SXM-141GB"));
        Assert.That(perDollar[table.Column("gpu")], Is.EqualTo("H100-SXM-80GB"), "at 3x the price the H100 layout wins per dollar");
        Assert.That(r.StdOut, Does.Contain("ranked by goodput per dollar"));
        Assert.That(r.StdOut, Does.Contain("#1 " + perDollar[table.Column("layout")] + " "));
        Assert.That(r.StdOut, Does.Match(@"#1 .*; \$5\.00/h, \$[0-9.]+ per million output tokens"));
    }

    [Test]
    public void Plan_WithKnobs_AddsTheSchedulerGridPerLayout_AndShardsMergeToTheSamePlan()
    {
        using var tmp = new TempDir();
        var scenario = CliHarness.Scenario("design-review-tp.yaml");
        string[] Common(string outDir, params string[] more) =>
            new[] { "plan", scenario, "--gpus", "2", "--knobs", "--max-requests", "60", "--jobs", "2", "--out", outDir }.Concat(more).ToArray();
        var r = CliHarness.Run(Common(tmp.Sub("a")));
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        var table = CsvTable.Read(tmp.Sub("a", "plan.csv"));
        int layout = table.Column("layout"), seqs = table.Column("max_num_seqs"), tokens = table.Column("max_num_batched_tokens"), mb = table.Column("microbatches");
        var tp2 = table.Rows.Where(row => row[layout].StartsWith("H100-SXM-80GB-tp2-pp1-ep1-r1", StringComparison.Ordinal)).ToList();
        Assert.That(tp2.Select(row => (row[seqs], row[tokens])), Is.EqualTo(new[] { ("256", "8192"), ("128", "8192"), ("512", "8192"), ("256", "4096"), ("256", "16384") }),
            "the scenario's knobs, then max_num_seqs and max_num_batched_tokens halved and doubled");
        Assert.That(tp2.Select(row => row[layout]), Does.Contain("H100-SXM-80GB-tp2-pp1-ep1-r1-s128-b8192"));
        Assert.That(tp2.Single(row => row[seqs] == "128")[table.Column("vllm_command")], Does.Contain("--max-num-seqs 128"));
        Assert.That(tp2.Single(row => row[tokens] == "4096")[table.Column("sglang_command")], Does.Contain("--max-prefill-tokens 4096"));
        var pp2 = table.Rows.Where(row => row[table.Column("pipeline_parallel_size")] == "2").Select(row => row[mb]).ToList();
        Assert.That(pp2.Distinct(), Is.EquivalentTo(new[] { "1", "2", "4" }), "PP2 also tries 2 and 4 microbatches");

        for (int i = 0; i < 2; i++) Assert.That(CliHarness.Run(Common(tmp.Sub($"s{i}"), "--shard", $"{i}/2")).ExitCode, Is.EqualTo(0));
        Assert.That(CliHarness.Run("merge", tmp.Sub("s0"), tmp.Sub("s1"), "--out", tmp.Sub("m")).ExitCode, Is.EqualTo(0));
        Assert.That(File.ReadAllBytes(tmp.Sub("m", "plan.csv")), Is.EqualTo(File.ReadAllBytes(tmp.Sub("a", "plan.csv"))));
    }

    [Test]
    public void Plan_WithPd_SimulatesPrefillDecodeSplits_RejectsThoseThatDoNotFit_AndPrintsBothSidesCommands()
    {
        using var tmp = new TempDir();
        var r = CliHarness.Run("plan", CliHarness.Scenario("design-review-tp.yaml"), "--gpus", "4", "--pd", "--max-requests", "60", "--jobs", "2", "--out", tmp.Path);
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        var table = CsvTable.Read(tmp.Sub("plan.csv"));
        int ptp = table.Column("prefill_tp"), pr = table.Column("prefill_replicas"), dtp = table.Column("decode_tp"), dr = table.Column("decode_replicas");
        var pd = table.Rows.Where(row => row[ptp] != "").ToList();
        Assert.That(pd, Has.Count.EqualTo(6));
        Assert.That(pd.Select(row => row[table.Column("tensor_parallel_size")]), Has.All.Empty);
        var tp1 = pd.First(row => row[ptp] == "1");
        Assert.That(tp1[table.Column("fits")], Is.EqualTo("false"));
        Assert.That(tp1[table.Column("reason")], Does.StartWith("prefill pool does not fit: weights 68.26 GB"));
        var both2 = pd.Single(row => (row[ptp], row[pr], row[dtp], row[dr]) == ("2", "1", "2", "1"));
        Assert.That(both2[table.Column("layout")], Is.EqualTo("H100-SXM-80GB-1p-tp2-1d-tp2"));
        Assert.That(both2[table.Column("fits")], Is.EqualTo("true"));
        Assert.That(both2[table.Column("goodput_tokens_per_s_per_gpu")], Is.Not.Empty, both2[table.Column("reason")]);
        Assert.That(both2[table.Column("vllm_command")], Does.StartWith("prefill: vllm serve qwen3.6-35b-a3b --tensor-parallel-size 2").And.Contain(" ; decode: vllm serve")
            .And.Contain("--kv-transfer-config"));
        Assert.That(both2[table.Column("sglang_command")], Does.Contain("--disaggregation-mode prefill").And.Contain("--disaggregation-mode decode"));
        Assert.That(File.ReadAllText(Directory.GetFiles(tmp.Sub("points"), "summary.json", SearchOption.AllDirectories)
            .Single(f => f.Contains("1p-tp2-1d-tp2", StringComparison.Ordinal))), Does.Contain("kv_transfer"), "the P/D run moved KV between its pools");
    }

    [Test]
    public void Plan_LegalSummarizer70bOnOneNode_RanksTp4TimesTwoFirstAsTheSeedsChose_WithTp8FasterPerUser()
    {
        using var tmp = new TempDir();
        var r = CliHarness.Run("plan", CliHarness.Scenario("legal-summarizer-70b.yaml"), "--gpus", "8", "--out", tmp.Path, "--jobs", "2", "--max-requests", "100");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        var table = CsvTable.Read(tmp.Sub("plan.csv"));
        var tp1 = table.Rows.Single(row => row[table.Column("layout")] == "H100-SXM-80GB-tp1-pp1-ep1-r8");
        Assert.That(tp1[table.Column("reason")], Does.StartWith("does not fit: weights 141.11 GB"));
        Assert.That(table.Rows.Select(row => row[table.Column("data_parallel_size")]), Has.All.EqualTo("1"), "Llama is dense: no DP-attention layout");
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var ranked = table.Rows.Where(row => row[table.Column("goodput_tokens_per_s_per_usd_per_hour")] != "")
            .OrderByDescending(row => double.Parse(row[table.Column("goodput_tokens_per_s_per_usd_per_hour")], inv)).ToList();
        Assert.That(ranked[0][table.Column("layout")], Is.EqualTo("H100-SXM-80GB-tp4-pp1-ep1-r2"), "the seeds chose TP4 x 2 on the 8-GPU node; the planner agrees");
        Assert.That(ranked[1][table.Column("layout")], Is.EqualTo("H100-SXM-80GB-tp8-pp1-ep1-r1"));
        double User(int i) => double.Parse(ranked[i][table.Column("tokens_per_s_per_user")], inv);
        Assert.That(User(1), Is.GreaterThan(User(0)), "TP8 is the faster layout per user, the slower per dollar");
        Assert.That(r.StdOut, Does.Contain("ranked by goodput per dollar"));
    }

    [Test]
    public void Plan_ZeroGpus_OneErrorLineExit2()
    {
        var r = CliHarness.Run("plan", CliHarness.Scenario("design-review-tp.yaml"), "--gpus", "0");
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.ErrorLines, Is.EqualTo(new[] { "error: --gpus 0: must be at least 1" }));
    }

    [Test]
    public void Plan_ModelThatFitsNoLayout_Exit3WithTheClosestLayoutsMemoryBuckets()
    {
        using var tmp = new TempDir();
        var r = CliHarness.Run("plan", CliHarness.Scenario("design-review-tp.yaml"), "--gpus", "1", "--out", tmp.Path);
        Assert.That(r.ExitCode, Is.EqualTo(3), r.ToString());
        Assert.That(r.ErrorLines, Has.Count.EqualTo(1), r.ToString());
        Assert.That(r.ErrorLines[0], Does.Match(@"^error: .*design-review-tp\.yaml:\d+: parallelism: the plan does not fit in GPU memory; .*weights 68\.26 GB"));
        Assert.That(File.Exists(tmp.Sub("plan.csv")), Is.False, "nothing fits: no plan.csv");
    }
}
