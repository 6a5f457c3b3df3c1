#pragma warning disable NUnit1027 // FsCheck generates the arguments of [FsCheckProperty] methods
using FsCheckProperty = FsCheck.NUnit.PropertyAttribute;
using Simulator.Hardware.Calibration;
using Simulator.Hardware.Collectives;
using Simulator.Tests.Shared;

namespace Simulator.Hardware.Tests;

/// <summary>nccl-tests' host floor: a thread driving g GPUs prints at least g x the host issue cost, fitted on A100 only.</summary>
public sealed class NcclTestsHarnessTest
{
    [Test]
    public void HostIssueCost_IsWhatTheSingleThreadA100TableGives()
    {
        var rows = PublicNcclTests.Load(TestPaths.Data("calibration", "network", "nccl-tests", "a100_single_thread.csv"));
        double fitted = NcclTestsHarness.FitHostIssueUsPerGpu(rows);
        TestContext.Out.WriteLine($"host issue cost per GPU refitted on nccl-tests#123: {fitted:F3} us (stored {NcclTestsHarness.HostIssueUsPerGpu} us)");
        Assert.That(fitted, Is.EqualTo(NcclTestsHarness.HostIssueUsPerGpu).Within(0.005));
    }

    [Test]
    public void SmallCollective_OnOneThreadForEightGpus_PrintsTheHostFloor_OneGpuPerThreadItsOwnTime()
    {
        Assert.That(NcclTestsHarness.TimeUs(20.0, gpusPerThread: 8), Is.EqualTo(8 * NcclTestsHarness.HostIssueUsPerGpu));
        Assert.That(NcclTestsHarness.TimeUs(20.0, gpusPerThread: 1), Is.EqualTo(20.0));
        Assert.That(NcclTestsHarness.TimeUs(40_000.0, gpusPerThread: 8), Is.EqualTo(40_000.0), "a large collective is longer than the floor");
        Assert.Throws<ArgumentOutOfRangeException>(() => NcclTestsHarness.TimeUs(1, 0));
    }

    [FsCheckProperty(MaxTest = 200)]
    public bool PrintedTime_IsTheLargerOfTheCollectiveAndTheHostFloor(byte gpus, uint tenthsUs)
    {
        int g = gpus % 64 + 1;
        double t = tenthsUs % 10_000_000 / 10.0, printed = NcclTestsHarness.TimeUs(t, g);
        return printed == Math.Max(t, g * NcclTestsHarness.HostIssueUsPerGpu);
    }

    [Test]
    public void Fit_WithoutRowsWhereTheHostBounds_SaysSo()
    {
        var two = new PublicNcclRow(2, CollectiveOp.AllReduce, 2, 1, 8, 10, CollectiveAlgorithm.Ring, NcclProtocol.Auto, "s");
        var e = Assert.Throws<ArgumentException>(() => NcclTestsHarness.FitHostIssueUsPerGpu([two]))!;
        Assert.That(e.Message, Does.Contain("4 or more GPUs"));
    }
}
