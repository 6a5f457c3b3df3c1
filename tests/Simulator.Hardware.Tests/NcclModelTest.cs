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

    [Test]
    public void TunerOnEightH100s_RunsRingUpTo1MiBAndNvlsFrom2MiB_AsNcclLogged_LlAtTheSmallestSizes()
    {
        // NVIDIA/nccl-tests#309: on one 8x H100 HGX node NCCL ran all-reduce as RING/LL from 8 B to 1 MiB, NVLS/SIMPLE from 2 MiB.
        var model = On("nvlink4");
        foreach (var c in PublicNcclTests.LoadChoices(TestPaths.Data("calibration", "network", "nccl-tests", "h100_tuner_choices.csv")))
        {
            for (long b = c.BytesFrom; b <= c.BytesTo; b *= 4)
            {
                var e = model.Estimate(c.Op, c.Ranks, b);
                TestContext.Out.WriteLine($"{b,12} B: {Names.Of(e.Algorithm)}/{Names.Of(e.Protocol)} (NCCL: {Names.Of(c.Algorithm)}/{Names.Of(c.Protocol)})");
                Assert.That(e.Algorithm, Is.EqualTo(c.Algorithm), $"{b} B");
            }
            // The protocol matches where each range starts and, for NVLS (Simple only), everywhere; from 32 KiB to 1 MiB
            // the A100 fit prices LL128 below LL where NCCL still runs LL (README, "Collectives from NCCL's structure").
            Assert.That(model.Estimate(c.Op, c.Ranks, c.BytesFrom).Protocol, Is.EqualTo(c.Protocol));
        }
    }

    [Test]
    public void Nvls_IsACandidateOnlyWhereTheSwitchReduces()
    {
        Assert.That(On("nvlink3").Algorithms(CollectiveOp.AllReduce), Is.EqualTo(new[] { CollectiveAlgorithm.Ring }));
        Assert.That(On("nvlink4").Algorithms(CollectiveOp.AllReduce), Does.Contain(CollectiveAlgorithm.Nvls));
        Assert.That(On("nvlink5").Algorithms(CollectiveOp.ReduceScatter), Does.Contain(CollectiveAlgorithm.Nvls));
        Assert.That(On("nvlink4").Algorithms(CollectiveOp.AllToAll), Is.EqualTo(new[] { CollectiveAlgorithm.Direct }));
        Assert.Throws<ArgumentException>(() => On("nvlink3").Estimate(CollectiveOp.AllReduce, 8, 1 << 20, CollectiveAlgorithm.Nvls));
    }

    [Test]
    public void Pcie_HasNoLl128_AndPaysNcclsPcieHopLatency()
    {
        var pcie = On("pcie4");
        Assert.That(pcie.Protocols(CollectiveAlgorithm.Ring), Is.EqualTo(new[] { NcclProtocol.LL, NcclProtocol.Simple }));
        var e = Assert.Throws<ArgumentException>(() => pcie.Estimate(CollectiveOp.AllReduce, 4, 1024, protocol: NcclProtocol.LL128))!;
        Assert.That(e.Message, Does.Contain("ring/ll").And.Contain("ring/simple"));
        var t = NcclTuning.A100Fit;
        // 2(n-1) = 6 ring steps at NCCL's PCIe LL hop latency (1.0 us) on top of LL's fixed cost; 1 byte moves in no time.
        Assert.That(pcie.Estimate(CollectiveOp.AllReduce, 4, 1, protocol: NcclProtocol.LL).LatencyUs,
            Is.EqualTo(t.LlBaseUs + 6 * NcclTuning.PcieHopUs.Ll).Within(1e-9));
    }

    [Test]
    public void ForcedProtocols_OrderAsNcclsTradeOff_LlFastestSmall_SimpleFastestLarge()
    {
        var m = On("nvlink4");
        double Us(long bytes, NcclProtocol p) => m.Estimate(CollectiveOp.AllGather, 8, bytes, CollectiveAlgorithm.Ring, p).TimeUs;
        Assert.That(Us(1024, NcclProtocol.LL), Is.LessThan(Us(1024, NcclProtocol.Simple)));
        Assert.That(Us(1L << 30, NcclProtocol.Simple), Is.LessThan(Us(1L << 30, NcclProtocol.LL128)));
        Assert.That(Us(1L << 30, NcclProtocol.LL128), Is.LessThan(Us(1L << 30, NcclProtocol.LL)));
        // LL's bus bandwidth is half of Simple's, capped at NCCL's Hopper LL ceiling (141 GB/s).
        var ll = m.Estimate(CollectiveOp.AllGather, 8, 1L << 34, CollectiveAlgorithm.Ring, NcclProtocol.LL);
        Assert.That(ll.BusBwGBps, Is.LessThanOrEqualTo(NcclGeneration.Hopper.LlMaxBusBwGBps));
        Assert.That(ll.BusBwGBps, Is.GreaterThan(0.95 * NcclGeneration.Hopper.LlMaxBusBwGBps));
    }

    [Test]
    public void AutoIsTheFastestEnabledPair_AndBandwidthsFollowNcclTestsDefinitions()
    {
        var m = On("nvlink5");
        foreach (var op in new[] { CollectiveOp.AllReduce, CollectiveOp.AllGather, CollectiveOp.ReduceScatter, CollectiveOp.AllToAll, CollectiveOp.Broadcast })
            foreach (long bytes in new[] { 512L, 1L << 16, 1L << 22, 1L << 28 })
            {
                var auto = m.Estimate(op, 8, bytes);
                foreach (var a in m.Algorithms(op))
                    foreach (var p in m.Protocols(a))
                        Assert.That(auto.TimeUs, Is.LessThanOrEqualTo(m.Estimate(op, 8, bytes, a, p).TimeUs * (1 + 1e-12)));
                Assert.That(auto.AlgBwGBps, Is.EqualTo(bytes / auto.TimeUs / 1e3).Within(1e-9).Percent);
                Assert.That(auto.BusBwGBps, Is.EqualTo(auto.AlgBwGBps * CollectiveEstimate.BusFactor(op, 8)).Within(1e-9).Percent);
                Assert.That(auto.LatencyUs + auto.TransferUs, Is.EqualTo(auto.TimeUs).Within(1e-9).Percent);
            }
    }

    [Test]
    public void TimeUs_AllocatesNothing()
    {
        var m = On("nvlink4");
        double Loop(int calls)
        {
            double sum = 0;
            for (int i = 0; i < calls; i++) sum += m.TimeUs(CollectiveOp.AllReduce, 8, 1L << (i % 30));
            return sum;
        }
        Loop(100); // first calls JIT-compile (one-time allocations)
        long before = GC.GetAllocatedBytesForCurrentThread();
        double total = Loop(10_000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(total, Is.GreaterThan(0));
        Assert.That(allocated, Is.LessThan(10_000), "less than a byte per call: one-time JIT allocations only, nothing per call");
    }

    [Test]
    public void OneRankOrNoBytes_CostNothing()
    {
        Assert.That(On("nvlink4").TimeUs(CollectiveOp.AllReduce, 1, 1 << 20), Is.Zero);
        Assert.That(On("nvlink4").TimeUs(CollectiveOp.AllGather, 8, 0), Is.Zero);
    }
}
