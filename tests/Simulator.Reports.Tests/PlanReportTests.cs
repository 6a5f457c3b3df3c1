namespace Simulator.Reports.Tests;

/// <summary>The plan report: ranking as the plan ranks, the top table with deploy commands, rejected layouts with reasons, its charts.</summary>
public sealed class PlanReportTests
{
    private const string Header = "layout,gpu,tensor_parallel_size,pipeline_parallel_size,expert_parallel_size,replicas,prefill_tp,prefill_replicas,decode_tp,decode_replicas," +
        "gpus,fits,max_rate_per_s,goodput_tokens_per_s_per_gpu,tokens_per_s_per_user,ttft_p95_ms,tpot_p95_ms,usd_per_hour,goodput_tokens_per_s_per_usd_per_hour," +
        "usd_per_million_output_tokens,reason,vllm_command,sglang_command\n";

    private static string Row(string layout, string gpu, string shape, string gpus, string fits, string goodput, string user, string usdPerHour, string perUsd, string perM, string reason) =>
        $"{layout},{gpu},{shape},{gpus},{fits},{(goodput == "" ? "" : "10")},{goodput},{user},{(goodput == "" ? "" : "300")},{(goodput == "" ? "" : "40")},{usdPerHour},{perUsd},{perM},{reason},vllm serve m --x {layout},python -m sglang.launch_server --y {layout}\n";

    private static string WritePlan(string dir, bool withCost)
    {
        string C(string v) => withCost ? v : "";
        File.WriteAllText(Path.Combine(dir, "plan.csv"), Header
            + Row("H100-tp1-pp1-ep1-r4", "H100", "1,1,1,4,,,,", "4", "false", "", "", C("10.00"), "", "", "does not fit: weights 68.26 GB")
            + Row("H100-tp2-pp1-ep1-r2", "H100", "2,1,1,2,,,,", "4", "true", "800", "30", C("10.00"), C("320"), C("0.868"), "ok")
            + Row("H200-tp1-pp1-ep1-r4", "H200", "1,1,1,4,,,,", "4", "true", "1000", "45", C("30.00"), C("133"), C("2.083"), "ok")
            + Row("H100-2p-tp2-1d-tp2", "H100", ",,,,2,1,2,1", "4", "true", "500", "20", C("10.00"), C("200"), C("1.389"), "ok")
            + Row("H100-tp4-pp1-ep1-r1", "H100", "4,1,1,1,,,,", "4", "true", "", "", C("10.00"), "", "", "misses the SLO even at 0.1 req/s"));
        return dir;
    }

    [TestCase(false, new[] { "H200-tp1-pp1-ep1-r4", "H100-tp2-pp1-ep1-r2", "H100-2p-tp2-1d-tp2" })]
    [TestCase(true, new[] { "H100-tp2-pp1-ep1-r2", "H100-2p-tp2-1d-tp2", "H200-tp1-pp1-ep1-r4" })]
    public void Build_RanksByGoodputPerGpu_OrPerDollarWhenPriced_AndListsEveryRejectedLayoutWithItsReason(bool withCost, string[] order)
    {
        using var tmp = new Fixtures.TempDir();
        var r = PlanReport.Build(WritePlan(tmp.Path, withCost), tmp.Path, top: 2);
        Assert.That(r.RankedByCost, Is.EqualTo(withCost));
        Assert.That(r.Ranked.Select(x => x.Layout), Is.EqualTo(order));
        Assert.That(r.Rejected.Select(x => (x.Layout, x.Fits)), Is.EqualTo(new[] { ("H100-tp1-pp1-ep1-r4", false), ("H100-tp4-pp1-ep1-r1", true) }));
        var html = File.ReadAllText(r.Report.HtmlPath);
        var md = File.ReadAllText(r.Report.MarkdownPath);
        Assert.That(r.Report.Verdict, Does.StartWith($"Top layout (by goodput per {(withCost ? "dollar" : "GPU")}): {order[0]} "));
        foreach (var text in new[] { html, md })
        {
            Assert.That(text, Does.Contain("vllm serve m --x " + order[0]).And.Contain("python -m sglang.launch_server --y " + order[1]), "deploy commands of the top 2");
            Assert.That(text, Does.Not.Contain("--x " + order[2]), "only the top 2 are listed with commands");
            Assert.That(text, Does.Contain("does not fit: weights 68.26 GB").And.Contain("misses the SLO even at 0.1 req/s"));
        }
        Assert.That(r.Ranked.Single(x => x.Disaggregated).Shape, Is.EqualTo("1P(TP2)+1D(TP2)"));
        Assert.That(r.Ranked.Single(x => x.Layout == "H100-tp2-pp1-ep1-r2").Shape, Is.EqualTo("TP2 x 2"));
        Assert.That(r.Report.Charts.Select(c => c.Name), Is.EqualTo(new[] { "pareto", "goodput_per_gpu" }));
        Assert.That(File.Exists(Path.Combine(tmp.Path, "charts", "goodput_per_gpu.png")), Is.True);
        var bars = r.Report.Charts[1].Plot.GetPlottables<ScottPlot.Plottables.BarPlot>().Single().Bars.Select(b => b.Value);
        Assert.That(bars, Is.EqualTo(r.Ranked.Select(x => x.GoodputTokensPerSPerGpu!.Value)), "one bar per feasible layout, in rank order");
    }

    [Test]
    public void Build_WithNoFeasibleLayout_SaysSoAndDrawsNoChart()
    {
        using var tmp = new Fixtures.TempDir();
        File.WriteAllText(Path.Combine(tmp.Path, "plan.csv"), Header + Row("H100-tp1-pp1-ep1-r1", "H100", "1,1,1,1,,,,", "1", "false", "", "", "", "", "", "does not fit: weights"));
        var r = PlanReport.Build(tmp.Path, tmp.Path);
        Assert.That(r.Report.Charts, Is.Empty);
        Assert.That(r.Report.Verdict, Does.StartWith("No layout meets the SLO. 0 of 1 layouts"));
        Assert.That(File.ReadAllText(r.Report.HtmlPath), Does.Contain("does not fit: weights"));
    }

    [Test]
    public void ReportBuilder_GivenAPlanDirectory_WritesThePlanReport()
    {
        using var tmp = new Fixtures.TempDir();
        var r = ReportBuilder.Build([WritePlan(tmp.Path, withCost: false)], Path.Combine(tmp.Path, "out"));
        Assert.That(r.Verdict, Does.StartWith("Top layout (by goodput per GPU): H200-tp1-pp1-ep1-r4"));
        Assert.That(File.ReadAllText(r.HtmlPath), Does.Contain("<h2>Rejected layouts</h2>"));
    }
}
