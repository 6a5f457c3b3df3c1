using System.Globalization;
using System.Text;
using Simulator.Hardware.Calibration;
using Simulator.Hardware.Collectives;
using Simulator.Hardware.Specs;
using Simulator.Hardware.Topology;
using Simulator.Tests.Shared;

namespace Simulator.Hardware.Tests;

public sealed class CalibrationTest
{
    private static string NcclTestsCsv => TestPaths.Data("calibration", "network", "nccl-tests", "a100_sxm.csv");

    [Test]
    public void Load_ReadsEveryRowOfTheA100File()
    {
        var rows = NcclTestsCalibration.Load(NcclTestsCsv);
        Assert.That(rows, Has.Count.EqualTo(504));
        Assert.That(rows.Select(r => r.Op).Distinct(), Is.EquivalentTo(new[]
            { CollectiveOp.AllReduce, CollectiveOp.AllGather, CollectiveOp.ReduceScatter, CollectiveOp.AllToAll }));
    }

    [Test]
    public void Refit_FromCsv_IsCloseToTheShippedProfile()
    {
        var rows = NcclTestsCalibration.Load(NcclTestsCsv);
        var fit = NcclTestsCalibration.Fit(rows, LinkPresets.Get("nvlink3").BandwidthGBps);
        var shipped = CalibrationProfiles.NvSwitchNccl;
        var p = fit.Profile;
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"fit: base {p.BaseLatencyUs:F3} us, step {fit.StepLatencyUs:F3} us, half {p.RampHalfBytes:E3} B, p {p.RampExponent:F3}, " +
            $"switch {p.ProtocolSwitchChunkBytes:E3} B x n^{p.ProtocolSwitchRankExponent:F3} (AR x {p.AllReduceSwitchScale:F3}) / {p.ProtocolSwitchLatencyUs:F2} us x n^{p.ProtocolSwitchLatencyRankExponent:F3}, a2a steps^{p.AllToAllStepExponent:F3}, peaks AR {p.AllReducePeakEfficiency:F3} " +
            $"AG {p.AllGatherPeakEfficiency:F3} RS {p.ReduceScatterPeakEfficiency:F3} A2A {p.AllToAllPeakEfficiency:F3}, SSE {fit.SumSquaredLogError:F3}"));
        Assert.That(fit.StepLatencyUs, Is.EqualTo(LinkPresets.NvLinkStepLatencyUs).Within(10).Percent);
        Assert.That(p.BaseLatencyUs, Is.EqualTo(shipped.BaseLatencyUs).Within(10).Percent);
        Assert.That(p.AllReducePeakEfficiency, Is.EqualTo(shipped.AllReducePeakEfficiency).Within(5).Percent);
        Assert.That(p.AllGatherPeakEfficiency, Is.EqualTo(shipped.AllGatherPeakEfficiency).Within(5).Percent);
        Assert.That(p.ReduceScatterPeakEfficiency, Is.EqualTo(shipped.ReduceScatterPeakEfficiency).Within(5).Percent);
        Assert.That(p.AllToAllPeakEfficiency, Is.EqualTo(shipped.AllToAllPeakEfficiency).Within(5).Percent);
        Assert.That(p.ProtocolSwitchLatencyUs, Is.EqualTo(shipped.ProtocolSwitchLatencyUs).Within(15).Percent);
        Assert.That(p.ProtocolSwitchChunkBytes, Is.EqualTo(shipped.ProtocolSwitchChunkBytes).Within(15).Percent);
        Assert.That(p.RampExponent, Is.EqualTo(shipped.RampExponent).Within(10).Percent);
        Assert.That(p.RampHalfBytes, Is.EqualTo(shipped.RampHalfBytes).Within(25).Percent);
        Assert.That(p.ProtocolSwitchRankExponent, Is.EqualTo(shipped.ProtocolSwitchRankExponent).Within(0.05));
        Assert.That(p.ProtocolSwitchLatencyRankExponent, Is.EqualTo(shipped.ProtocolSwitchLatencyRankExponent).Within(0.05));
        Assert.That(p.AllReduceSwitchScale, Is.EqualTo(shipped.AllReduceSwitchScale).Within(5).Percent);
        Assert.That(p.AllToAllStepExponent, Is.EqualTo(shipped.AllToAllStepExponent).Within(5).Percent);
    }

    [Test]
    public void ShippedProfile_PredictsEveryA100Row_MedianWithin10Percent_NoneAbove30()
    {
        var rows = NcclTestsCalibration.Load(NcclTestsCsv);
        var model = new AnalyticCollectives(ClusterTopology.FromPresets("A100-SXM-80GB", 1, 8));
        var errors = new List<(double Abs, NcclTestsRow Row, CollectiveEstimate Est)>();
        var table = new StringBuilder();
        table.AppendLine("op              n dtype        bytes   measured_us  predicted_us   error");
        foreach (var r in rows)
        {
            var group = Enumerable.Range(0, r.Ranks).ToArray();
            var algo = r.Op == CollectiveOp.AllToAll ? CollectiveAlgorithm.Direct : CollectiveAlgorithm.Ring;
            var est = model.Estimate(r.Op, group, r.Bytes, algo);
            double err = est.TimeUs / r.LatencyUs - 1;
            errors.Add((Math.Abs(err), r, est));
            table.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"{Names.Of(r.Op),-14} {r.Ranks,2} {r.Dtype,-5} {r.Bytes,12} {r.LatencyUs,12:F2} {est.TimeUs,13:F2} {err,8:P1}"));
        }
        var sorted = errors.OrderBy(e => e.Abs).ToList();
        double median = sorted[sorted.Count / 2].Abs;
        double max = sorted[^1].Abs;
        int over30 = sorted.Count(e => e.Abs > 0.30), over20 = sorted.Count(e => e.Abs > 0.20);
        TestContext.Out.WriteLine(table.ToString());
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"rows {sorted.Count}: median |error| {median:P2}, max {max:P2}, >20%: {over20}, >30%: {over30}"));
        foreach (var e in sorted.TakeLast(5))
            TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"worst: {Names.Of(e.Row.Op)} n={e.Row.Ranks} {e.Row.Dtype} {e.Row.Bytes} B: measured {e.Row.LatencyUs} us, predicted {e.Est.TimeUs:F2} us"));
        Assert.That(median, Is.LessThanOrEqualTo(0.10));
        Assert.That(max, Is.LessThanOrEqualTo(0.30), "no row may miss by more than 30%");
        Assert.That(over30, Is.Zero);
    }

    [Test]
    public void AnalyticModel_OnOneNvSwitchNode_EqualsTheFitsClosedForm()
    {
        var model = new AnalyticCollectives(ClusterTopology.FromPresets("A100-SXM-80GB", 1, 8));
        foreach (var op in new[] { CollectiveOp.AllReduce, CollectiveOp.AllGather, CollectiveOp.ReduceScatter, CollectiveOp.AllToAll })
            foreach (int n in new[] { 2, 4, 8 })
                foreach (long s in new[] { 512L, 1L << 20, 1L << 29 })
                {
                    var algo = op == CollectiveOp.AllToAll ? CollectiveAlgorithm.Direct : CollectiveAlgorithm.Ring;
                    double closed = NcclTestsCalibration.PredictUs(CalibrationProfiles.NvSwitchNccl, LinkPresets.NvLinkStepLatencyUs, 300, op, n, s);
                    Assert.That(model.TimeUs(op, Enumerable.Range(0, n).ToArray(), s, algo), Is.EqualTo(closed).Within(1e-9).Percent);
                }
    }

    [Test]
    public void VidurDgxAllReduce_SingleNodeRows_AreWithinAFactorOfTheModel()
    {
        // Cross-check on independent data (vidur, A100 DGX, torch.distributed all-reduce incl. framework overhead):
        // the model must stay within 2x of the median measurement for every single-node size >= 1 MiB.
        string path = TestPaths.Data("calibration", "network", "vidur", "a100_dgx", "all_reduce.csv");
        var lines = File.ReadAllLines(path);
        var head = lines[0].Split(',');
        int iMed = Array.IndexOf(head, "time_stats.all_reduce.median"), iN = Array.IndexOf(head, "num_workers"),
            iSize = Array.IndexOf(head, "size"), iDev = Array.IndexOf(head, "devices_per_node");
        var model = new AnalyticCollectives(ClusterTopology.FromPresets("A100-SXM-80GB", 1, 8));
        int checkedRows = 0;
        foreach (var line in lines.Skip(1))
        {
            var f = line.Split(',');
            int n = int.Parse(f[iN], CultureInfo.InvariantCulture);
            long size = long.Parse(f[iSize], CultureInfo.InvariantCulture);
            int perNode = int.Parse(f[iDev], CultureInfo.InvariantCulture);
            if (perNode != n || n < 2 || n > 8 || size < (1L << 20)) continue;
            double measuredUs = double.Parse(f[iMed], CultureInfo.InvariantCulture) * 1e3;
            double predicted = model.TimeUs(CollectiveOp.AllReduce, Enumerable.Range(0, n).ToArray(), size);
            Assert.That(predicted / measuredUs, Is.InRange(0.5, 2.0), $"n={n} size={size}");
            checkedRows++;
        }
        Assert.That(checkedRows, Is.GreaterThan(10));
    }
}
