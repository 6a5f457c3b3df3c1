using NUnit.Framework;
using MathNet.Numerics.Statistics;
using Simulator.Inference.Workload;
using Simulator.Tests.Shared;

namespace Simulator.Inference.Tests.Workload;

public sealed class SyntheticWorkloadSourceTest
{
    private static SyntheticWorkloadSpec Spec(ArrivalSpec arrivals, long requests = 100_000, LengthSpec? input = null, LengthSpec? output = null) =>
        new(arrivals, input ?? LengthSpec.Fixed(100), output ?? LengthSpec.Fixed(10), requests, null);

    private static double[] GapsS(IReadOnlyList<Request> rows) =>
        rows.Zip(rows.Skip(1), (a, b) => (b.ArrivalNs - a.ArrivalNs) / 1e9).ToArray();

    [Test]
    public void Poisson_MeanRateAndExponentialCv_WithinTolerance()
    {
        var rows = new SyntheticWorkloadSource(Spec(new ArrivalSpec(ArrivalProcess.Poisson, 8.0)), seed: 1).Read().ToList();
        var gaps = GapsS(rows);
        // 100k exponential gaps: relative standard error of the mean 1/sqrt(n) = 0.3%
        Assert.That(1.0 / gaps.Mean(), Is.EqualTo(8.0).Within(8.0 * 0.015));
        Assert.That(gaps.StandardDeviation() / gaps.Mean(), Is.EqualTo(1.0).Within(0.02));
        Assert.That(rows[0].ArrivalNs, Is.EqualTo(0));
        // no clipping: some gaps exceed 5 mean gaps (probability e^-5 each, ~670 expected)
        Assert.That(gaps.Count(g => g > 5.0 / 8.0), Is.GreaterThan(400));
    }

    [TestCase(0.5)]
    [TestCase(2.0)]
    [TestCase(4.0)]
    public void Gamma_HasRequestedRateAndCv(double cv)
    {
        var rows = new SyntheticWorkloadSource(Spec(new ArrivalSpec(ArrivalProcess.Gamma, 5.0, Cv: cv)), seed: 3).Read().ToList();
        var gaps = GapsS(rows);
        Assert.That(1.0 / gaps.Mean(), Is.EqualTo(5.0).Within(5.0 * 0.05));
        Assert.That(gaps.StandardDeviation() / gaps.Mean(), Is.EqualTo(cv).Within(cv * 0.08));
    }

    [Test]
    public void Constant_IsEvenlySpaced()
    {
        var rows = new SyntheticWorkloadSource(Spec(new ArrivalSpec(ArrivalProcess.Constant, 4.0), requests: 5), seed: 1).Read().ToList();
        Assert.That(rows.Select(r => r.ArrivalNs), Is.EqualTo(new long[] { 0, 250_000_000, 500_000_000, 750_000_000, 1_000_000_000 }));
    }

    [Test]
    public void Burst_GroupsRequestsAtSameInstant_WithMeanRate()
    {
        var rows = new SyntheticWorkloadSource(Spec(new ArrivalSpec(ArrivalProcess.Burst, 10.0, BurstSize: 4), requests: 10), seed: 1).Read().ToList();
        // period = 4 / 10 req/s = 0.4 s
        Assert.That(rows.Select(r => r.ArrivalNs), Is.EqualTo(new long[] { 0, 0, 0, 0, 400_000_000, 400_000_000, 400_000_000, 400_000_000, 800_000_000, 800_000_000 }));
    }

    [Test]
    public void DurationBound_StopsBeforeDuration()
    {
        var spec = new SyntheticWorkloadSpec(new ArrivalSpec(ArrivalProcess.Poisson, 20.0), LengthSpec.Fixed(1), LengthSpec.Fixed(1), null, 500.0);
        var rows = new SyntheticWorkloadSource(spec, seed: 9).Read().ToList();
        Assert.That(rows.Max(r => r.ArrivalNs), Is.LessThan(500_000_000_000));
        // expected 20 x 500 = 10,000 (+1 at t=0); Poisson sd = 100
        Assert.That(rows, Has.Count.InRange(9_600, 10_400));
    }

    [Test]
    public void SameSeed_SameRequests_OtherSeed_Different()
    {
        var spec = Spec(new ArrivalSpec(ArrivalProcess.Poisson, 3.0), 200, new LengthSpec(LengthDistribution.LogNormal, Mean: 1024, Sigma: 0.8), new LengthSpec(LengthDistribution.Uniform, Min: 1, Max: 500));
        var a = new SyntheticWorkloadSource(spec, 42).Read().ToList();
        var b = new SyntheticWorkloadSource(spec, 42).Read().ToList();
        var c = new SyntheticWorkloadSource(spec, 43).Read().ToList();
        Assert.That(a, Is.EqualTo(b));
        Assert.That(a.Select(r => r.ArrivalNs), Is.Not.EqualTo(c.Select(r => r.ArrivalNs)));
    }

    [Test]
    public void ChangingOutputDistribution_DoesNotChangeArrivalsOrInputs()
    {
        var arrivals = new ArrivalSpec(ArrivalProcess.Gamma, 6.0, Cv: 2.0);
        var input = new LengthSpec(LengthDistribution.Normal, Mean: 500, Sigma: 100);
        var a = new SyntheticWorkloadSource(Spec(arrivals, 1000, input, LengthSpec.Fixed(10)), 7).Read().ToList();
        var b = new SyntheticWorkloadSource(Spec(arrivals, 1000, input, new LengthSpec(LengthDistribution.LogNormal, Mean: 200, Sigma: 1.0)), 7).Read().ToList();
        Assert.That(b.Select(r => r.ArrivalNs), Is.EqualTo(a.Select(r => r.ArrivalNs)));
        Assert.That(b.Select(r => r.InputTokens), Is.EqualTo(a.Select(r => r.InputTokens)));
        Assert.That(b.Select(r => r.OutputTokens), Is.Not.EqualTo(a.Select(r => r.OutputTokens)));
    }

    [Test]
    public void LogNormal_MeanIsTheMeanInTokens()
    {
        var rows = new SyntheticWorkloadSource(Spec(new ArrivalSpec(ArrivalProcess.Poisson, 1.0), 100_000,
            new LengthSpec(LengthDistribution.LogNormal, Mean: 1024, Sigma: 0.8)), 5).Read().ToList();
        var inputs = rows.Select(r => (double)r.InputTokens).ToArray();
        Assert.That(inputs.Mean(), Is.EqualTo(1024).Within(1024 * 0.02));
        // the median of a log-normal is exp(mu) = mean x exp(-sigma^2/2) = 1024 x 0.726 = 743.6
        Assert.That(inputs.Median(), Is.EqualTo(1024 * Math.Exp(-0.32)).Within(15));
    }

    [Test]
    public void Normal_IsClippedToAtLeastOneAndMax()
    {
        var rows = new SyntheticWorkloadSource(Spec(new ArrivalSpec(ArrivalProcess.Poisson, 1.0), 20_000,
            new LengthSpec(LengthDistribution.Normal, Mean: 10, Sigma: 20, Max: 40)), 5).Read().ToList();
        Assert.That(rows.Min(r => r.InputTokens), Is.EqualTo(1));
        Assert.That(rows.Max(r => r.InputTokens), Is.EqualTo(40));
    }

    [Test]
    public void Uniform_CoversBothBoundsInclusive()
    {
        var rows = new SyntheticWorkloadSource(Spec(new ArrivalSpec(ArrivalProcess.Poisson, 1.0), 5_000,
            output: new LengthSpec(LengthDistribution.Uniform, Min: 3, Max: 7)), 5).Read().ToList();
        Assert.That(rows.Select(r => r.OutputTokens).Distinct().OrderBy(x => x), Is.EqualTo(new[] { 3, 4, 5, 6, 7 }));
    }

    [Test]
    public void Empirical_SamplesTheTraceLengths()
    {
        string trace = TestPaths.Data("traces", "azure-llm-2023-code.csv");
        var rows = new SyntheticWorkloadSource(Spec(new ArrivalSpec(ArrivalProcess.Poisson, 1.0), 50_000,
            new LengthSpec(LengthDistribution.Empirical, TracePath: trace), new LengthSpec(LengthDistribution.Empirical, TracePath: trace)), 5).Read().ToList();
        Assert.That(rows.Average(r => r.InputTokens), Is.EqualTo(2048).Within(2048 * 0.03));
        Assert.That(rows.Average(r => r.OutputTokens), Is.EqualTo(28).Within(28 * 0.05));
        var traceInputs = new TraceWorkloadSource(trace).Read().Select(r => r.InputTokens).ToHashSet();
        Assert.That(rows.Count(r => !traceInputs.Contains(r.InputTokens)), Is.Zero);
    }

    [Test]
    public void Spec_WithoutBound_IsRejected()
    {
        var spec = new SyntheticWorkloadSpec(new ArrivalSpec(ArrivalProcess.Poisson, 1.0), LengthSpec.Fixed(1), LengthSpec.Fixed(1), null, null);
        Assert.Throws<ArgumentException>(() => _ = new SyntheticWorkloadSource(spec, 1));
    }

    [Test]
    public void Streams_SameNameRepeats_OtherNamesAndSeedsDiffer()
    {
        var a = WorkloadRandom.Create(1, "workload.arrivals");
        var b = WorkloadRandom.Create(1, "workload.arrivals");
        Assert.That(Enumerable.Range(0, 5).Select(_ => a.Next()).ToList(), Is.EqualTo(Enumerable.Range(0, 5).Select(_ => b.Next()).ToList()));
        Assert.That(WorkloadRandom.DeriveSeed(1, "workload.arrivals"), Is.Not.EqualTo(WorkloadRandom.DeriveSeed(1, "workload.input_tokens")));
        Assert.That(WorkloadRandom.DeriveSeed(1, "workload.arrivals"), Is.Not.EqualTo(WorkloadRandom.DeriveSeed(2, "workload.arrivals")));
        Assert.That(WorkloadRandom.DeriveSeed(-5, "x"), Is.GreaterThanOrEqualTo(0));
    }
}
