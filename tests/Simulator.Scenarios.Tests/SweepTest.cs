using NUnit.Framework;
using Simulator.Scenarios;
using Simulator.Tests.Shared;

namespace Simulator.Scenarios.Tests;

public sealed class SweepTest
{
    private static readonly ScenarioLoader Loader = new();

    private static IReadOnlyList<SweepPoint> Points(string yaml, params string[] sets) => Loader.LoadSweepText(yaml, "s.yaml", TestPaths.DataRoot, sets);

    [Test]
    public void ContractSweep_HasFivePoints_InListedOrder()
    {
        var points = Points(ScenarioLoaderTest.ContractExample);
        Assert.That(points.Select(p => p.Scenario.Parallelism.Microbatches), Is.EqualTo(new[] { 1, 2, 4, 8, 16 }));
        Assert.That(points.Select(p => p.Index), Is.EqualTo(new[] { 0, 1, 2, 3, 4 }));
        Assert.That(points[2].Labels, Is.EqualTo(new[] { new KeyValuePair<string, string>("parallelism.microbatches", "4") }));
        Assert.That(points[2].Slug, Is.EqualTo("0002-microbatches=4"));
        Assert.That(points.All(p => p.Scenario.Sweep == SweepSpec.None), Is.True);
        Assert.That(points[0].Scenario.Parallelism.TensorParallelSize, Is.EqualTo(4), "unswept keys keep their values");
    }

    [Test]
    public void CartesianProductWithZip_FirstAxisSlowest()
    {
        string yaml = ScenarioLoaderTest.Minimal + """

            sweep:
              scheduler.policy: [vllm, orca]
              zip:
                parallelism.tensor_parallel_size: [1, 2, 4]
                parallelism.replicas: [8, 4, 2]
              seed: [1, 2]
            """;
        var points = Points(yaml);
        Assert.That(points, Has.Count.EqualTo(2 * 3 * 2));
        var tuples = points.Select(p => (p.Scenario.Scheduler.Policy, p.Scenario.Parallelism.TensorParallelSize, p.Scenario.Parallelism.Replicas, p.Scenario.Seed)).ToList();
        Assert.That(tuples[0], Is.EqualTo(("vllm", 1, 8, 1)));
        Assert.That(tuples[1], Is.EqualTo(("vllm", 1, 8, 2)));
        Assert.That(tuples[2], Is.EqualTo(("vllm", 2, 4, 1)));
        Assert.That(tuples[11], Is.EqualTo(("orca", 4, 2, 2)));
        Assert.That(tuples.Distinct().Count(), Is.EqualTo(12));
        Assert.That(points[5].Labels.Select(l => l.Key), Is.EqualTo(new[] { "scheduler.policy", "parallelism.tensor_parallel_size", "parallelism.replicas", "seed" }));
    }

    [Test]
    public void Sweep_ExpandsAfterSetOverrides()
    {
        var points = Points(ScenarioLoaderTest.ContractExample, "sweep.parallelism.microbatches=[1, 3]");
        Assert.That(points.Select(p => p.Scenario.Parallelism.Microbatches), Is.EqualTo(new[] { 1, 3 }));
    }

    [Test]
    public void NoSweep_GivesOnePoint()
    {
        var points = Points(ScenarioLoaderTest.Minimal);
        Assert.That(points, Has.Count.EqualTo(1));
        Assert.That(points[0].Labels, Is.Empty);
        Assert.That(points[0].Slug, Is.EqualTo("0000"));
    }

    [Test]
    public void BadPointValue_IsReportedAtTheListLine_Once()
    {
        string yaml = ScenarioLoaderTest.Minimal + "\nsweep:\n  parallelism.microbatches: [1, 0]\n  seed: [1, 2]\n";
        var ex = Assert.Throws<ScenarioException>(() => Points(yaml))!;
        Assert.That(ex.Errors.Select(e => e.ToString()), Is.EqualTo(new[] { "error: s.yaml:8: parallelism.microbatches: 0 is out of range; expected an integer >= 1" }));
    }

    [Test]
    public void UnknownSweepKey_IsReportedAtTheSweepLine()
    {
        string yaml = ScenarioLoaderTest.Minimal + "\nsweep:\n  parallelism.microbatch: [1, 2]\n";
        var ex = Assert.Throws<ScenarioException>(() => Points(yaml))!;
        Assert.That(ex.Errors.Select(e => e.ToString()).Single(), Does.StartWith("error: s.yaml:8: parallelism.microbatch: unknown key; did you mean 'microbatches'?"));
    }

    [Test]
    public void ZipOfUnequalLengths_IsRejected()
    {
        string yaml = ScenarioLoaderTest.Minimal + "\nsweep:\n  zip:\n    seed: [1, 2]\n    parallelism.replicas: [1, 2, 3]\n";
        var ex = Assert.Throws<ScenarioException>(() => Points(yaml))!;
        Assert.That(ex.Errors.Select(e => e.ToString()), Is.EqualTo(new[] { "error: s.yaml:10: sweep.zip.parallelism.replicas: has 3 values but 'seed' has 2; expected zip lists of equal length" }));
    }

    [Test]
    public void SweepValueNotAList_IsRejected()
    {
        string yaml = ScenarioLoaderTest.Minimal + "\nsweep:\n  seed: 3\n";
        var ex = Assert.Throws<ScenarioException>(() => Loader.LoadText(yaml, "s.yaml", TestPaths.DataRoot))!;
        Assert.That(ex.Errors.Select(e => e.ToString()), Is.EqualTo(new[] { "error: s.yaml:8: sweep.seed: expected a non-empty list of values (e.g. [1, 2, 4]), got '3'" }));
    }

    [Test]
    public void Points_AreIndependentOfEachOther()
    {
        var points = Points(ScenarioLoaderTest.Minimal + "\nsweep:\n  workload.arrivals.rate_per_s: [1, 2]\n");
        Assert.That(points[0].Scenario.Workload.Synthetic!.Arrivals.RatePerS, Is.EqualTo(1));
        Assert.That(points[1].Scenario.Workload.Synthetic!.Arrivals.RatePerS, Is.EqualTo(2));
        Assert.That(points[0].Scenario with { Workload = points[1].Scenario.Workload }, Is.EqualTo(points[1].Scenario));
    }
}
