namespace Simulator.Reports.Tests;

/// <summary>The plan's Pareto chart: which layouts are on the front, and the PNG and SVG it writes.</summary>
public sealed class PlanChartsTests
{
    private static RunTable Plan(params (string Layout, string User, string Gpu)[] rows) =>
        new(new[] { "layout", "tokens_per_s_per_user", "goodput_tokens_per_s_per_gpu" },
            rows.Select(r => new[] { r.Layout, r.User, r.Gpu }).ToList());

    [Test]
    public void Points_MarkOnlyUndominatedLayoutsAsTheFront_AndLeaveOutInfeasibleOnes()
    {
        var points = PlanCharts.Points(Plan(("fast", "60", "300"), ("dense", "30", "800"), ("worse", "25", "700"), ("tie", "60", "250"), ("nofit", "", "")));
        Assert.That(points.Select(p => p.Layout), Is.EqualTo(new[] { "fast", "dense", "worse", "tie" }), "the layout without figures is not drawn");
        Assert.That(points.Where(p => p.OnFront).Select(p => p.Layout), Is.EqualTo(new[] { "fast", "dense" }),
            "'worse' is beaten on both axes by 'dense'; 'tie' equals 'fast' on speed and is below it");
    }

    [Test]
    public void Points_LabelDpAttentionRowsByTheirShape_AndTheChartDrawsThatLabel()
    {
        using var tmp = new Fixtures.TempDir();
        var csv = Path.Combine(tmp.Path, "plan.csv");
        File.WriteAllText(csv, "layout,gpu,tensor_parallel_size,pipeline_parallel_size,expert_parallel_size,replicas,data_parallel_size,prefill_tp,tokens_per_s_per_user,goodput_tokens_per_s_per_gpu\n" +
            "H100-tp2-pp1-ep1-r2,H100,2,1,1,2,1,,30,800\nH100-tp1-pp1-ep4-r1-dp4,H100,1,1,4,1,4,,20,900\nH100-tp1-pp1-ep2-r2-dp2-s128-b8192,H100,1,1,2,2,2,,40,100\n");
        var chart = PlanCharts.WritePareto(csv, tmp.Path)!;
        Assert.That(chart.Points.Select(p => p.Label), Is.EqualTo(new[] { "tp2-pp1-ep1-r2", "TP1 DP4 EP4 x 1", "TP1 DP2 EP2 x 2 s128-b8192" }));
        Assert.That(chart.Points.Select(p => p.Layout), Is.EqualTo(new[] { "tp2-pp1-ep1-r2", "tp1-pp1-ep4-r1-dp4", "tp1-pp1-ep2-r2-dp2-s128-b8192" }));
        Assert.That(File.ReadAllText(chart.SvgPath), Does.Contain("TP1 DP4 EP4 x 1"), "all three are on the front, so all are labelled");
    }

    [Test]
    public void Points_MarkPrefillDecodeRows_AndTheChartNamesThemInItsLegend()
    {
        var dir = Path.Combine(Path.GetTempPath(), "sim-pareto-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            var csv = Path.Combine(dir, "plan.csv");
            File.WriteAllText(csv, "layout,gpu,prefill_tp,tokens_per_s_per_user,goodput_tokens_per_s_per_gpu\n" +
                "H100-tp4-pp1-ep1-r4,H100,,10,400\nH100-2p-tp4-2d-tp4,H100,4,20,300\nH100-1p-tp8-1d-tp8,H100,8,15,100\n");
            var chart = PlanCharts.WritePareto(csv, dir)!;
            Assert.That(chart.Points.Select(p => (p.Layout, p.Disaggregated, p.OnFront)), Is.EqualTo(new[]
                { ("tp4-pp1-ep1-r4", false, true), ("2p-tp4-2d-tp4", true, true), ("1p-tp8-1d-tp8", true, false) }));
            Assert.That(File.ReadAllText(chart.SvgPath), Does.Contain("prefill/decode split"));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Test]
    public void WritePareto_WritesPngAndSvgNamingTheAxes()
    {
        var dir = Path.Combine(Path.GetTempPath(), "sim-pareto-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            var csv = Path.Combine(dir, "plan.csv");
            File.WriteAllText(csv, "layout,tokens_per_s_per_user,goodput_tokens_per_s_per_gpu\ntp2,40,820\ntp4,45,700\ntp1,20,300\n");
            var chart = PlanCharts.WritePareto(csv, dir);
            Assert.That(chart, Is.Not.Null);
            Assert.That(chart!.Points.Count(p => p.OnFront), Is.EqualTo(2));
            var png = File.ReadAllBytes(chart.PngPath);
            Assert.That(png.Take(4), Is.EqualTo(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }));
            Assert.That(File.ReadAllText(chart.SvgPath), Does.Contain("tokens/s per user").And.Contain("Pareto front"));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
