using System.Globalization;
using Simulator.Hardware.Calibration;
using Simulator.Hardware.Collectives;
using Simulator.Hardware.Specs;
using Simulator.Tests.Shared;

namespace Simulator.Hardware.Tests;

public sealed class NcclModelTest
{
    private static string A100Csv => TestPaths.Data("calibration", "network", "nccl-tests", "a100_sxm.csv");

    private static NcclModel On(string link) => new(LinkPresets.Get(link));

    private static string Describe(NcclTuning t) => string.Create(CultureInfo.InvariantCulture,
        $"base LL {t.LlBaseUs:F3} LL128 {t.Ll128BaseUs:F3} Simple {t.SimpleBaseUs:F3} us; hop LL {t.LlHopUs:F4} LL128 {t.Ll128HopUs:F4} Simple {t.SimpleHopUs:F4} us; " +
        $"fraction AR {t.AllReduceLinkFraction:F4} AG {t.AllGatherLinkFraction:F4} RS {t.ReduceScatterLinkFraction:F4} A2A {t.AllToAllLinkFraction:F4}; " +
        $"half {t.RampHalfBytes:E4} B p {t.RampExponent:F4}; a2a q {t.AllToAllStepExponent:F4}; fill {t.RingFillShare:F4}");

    private static (double Median, double Max) A100Errors(NcclTuning tuning)
    {
        var rows = NcclTestsCalibration.Load(A100Csv);
        var model = new NcclModel(LinkPresets.Get("nvlink3"), tuning);
        var abs = rows.Select(r => Math.Abs(model.TimeUs(r.Op, r.Ranks, r.Bytes) / r.LatencyUs - 1)).OrderBy(e => e).ToArray();
        return (abs[abs.Length / 2], abs[^1]);
    }

    [Test]
    public void Refit_FromTheA100Table_DoesNotBeatTheShippedTuningByMuch()
    {
        var rows = NcclTestsCalibration.Load(A100Csv);
        var fit = NcclStructureFit.Fit(rows, LinkPresets.Get("nvlink3"));
        TestContext.Out.WriteLine("refit:   " + Describe(fit.Tuning) + string.Create(CultureInfo.InvariantCulture, $"; SSE {fit.SumSquaredLogError:F3}"));
        TestContext.Out.WriteLine("shipped: " + Describe(NcclTuning.A100Fit));
        var (refitMedian, _) = A100Errors(fit.Tuning);
        var (shippedMedian, _) = A100Errors(NcclTuning.A100Fit);
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"median |error| refit {refitMedian:P2} (max {A100Errors(fit.Tuning).Max:P2}), shipped {shippedMedian:P2} (max {A100Errors(NcclTuning.A100Fit).Max:P2})"));
        Assert.That(shippedMedian, Is.LessThanOrEqualTo(refitMedian + 0.005));
    }

    [Test]
    public void ShippedTuning_OnTheA100Table_MedianBelow5Percent_PrintsTheWorstRows()
    {
        var rows = NcclTestsCalibration.Load(A100Csv);
        var model = new NcclModel(LinkPresets.Get("nvlink3"));
        var scored = rows.Select(r => (Row: r, Est: model.Estimate(r.Op, r.Ranks, r.Bytes)))
            .Select(x => (x.Row, x.Est, Error: x.Est.TimeUs / x.Row.LatencyUs - 1)).OrderByDescending(x => Math.Abs(x.Error)).ToList();
        foreach (var (r, e, err) in scored.Take(15))
            TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{Names.Of(r.Op),-15} {r.Ranks} {r.Dtype,-5} {r.Bytes,10} measured {r.LatencyUs,9:F2} us predicted {e.TimeUs,9:F2} us ({Names.Of(e.Algorithm)}/{Names.Of(e.Protocol)}) {err,8:P1}"));
        var (median, max) = A100Errors(NcclTuning.A100Fit);
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"median {median:P2}, max {max:P2}"));
        Assert.That(median, Is.LessThan(0.05));
    }
}
