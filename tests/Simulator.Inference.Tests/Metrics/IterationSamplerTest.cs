using NUnit.Framework;
using Simulator.Inference.Metrics;
using Simulator.Tests.Shared;
using static Simulator.Inference.Tests.Metrics.MetricsTestData;

namespace Simulator.Inference.Tests.Metrics;

public sealed class IterationSamplerTest
{
    /// <summary>Rows of <paramref name="replicas"/> replicas taking turns, <paramref name="iterations"/> iterations each.</summary>
    private static IEnumerable<IterationRecord> Rows(int replicas, int iterations)
    {
        for (int i = 0; i < iterations; i++)
            for (int r = 0; r < replicas; r++)
                yield return new IterationRecord(r, 0, i, 0, i * Ms, (i + 1) * Ms, 1, 0, 1, StageCostOf(Ms), 1);
    }

    /// <summary>What a writer would write (the fields it writes): the rows passed through, then the held sample.</summary>
    private static List<Row> Written(IterationSampler s, IEnumerable<IterationRecord> rows)
    {
        var now = rows.Where(r => s.Offer(r)).ToList();
        return [.. now.Select(Row.Of), .. s.Held.Select(Row.Of)];
    }

    private static List<Row> Written(IEnumerable<IterationRecord> rows) => rows.Select(Row.Of).ToList();

    /// <summary>The fields of a row that the writer writes (the cost's parts, not its breakdown or collectives).</summary>
    private readonly record struct Row(int Replica, int Stage, long Iteration, int Microbatch, long StartNs, long EndNs, int BatchSize,
        long ComputeNs, long TpCommNs, long OverheadNs, int KvBlocksUsed)
    {
        public static Row Of(IterationRecord r) => new(r.Replica, r.Stage, r.Iteration, r.Microbatch, r.StartNs, r.EndNs, r.BatchSize,
            r.Cost.ComputeNs, r.Cost.TpCommNs, r.Cost.OverheadNs, r.KvBlocksUsed);
    }

    [Test]
    public void Auto_RunWithinTheBudget_WritesEveryRowInOrder()
    {
        var rows = Rows(4, 250).ToList();
        var s = new IterationSampler(new IterationOutput("auto", MaxRows: 1000));
        Assert.That(Written(s, rows), Is.EqualTo(Written(rows)));
        Assert.That(s.Kept(), Is.Null);
    }

    [Test]
    public void Auto_LongRun_KeepsTheHeadWholeThenAnEvenStrideSampleWithinTheBudget()
    {
        var rows = Rows(4, 10_000).ToList();
        var s = new IterationSampler(new IterationOutput("auto", MaxRows: 1000));
        var written = Written(s, rows);
        var kept = s.Kept()!;
        Assert.That(written, Has.Count.LessThanOrEqualTo(1000));
        Assert.That(written.Take(500), Is.EqualTo(Written(rows.Take(500))), "the first half of the budget is every row");
        var tail = written.Skip(500).ToList();
        Assert.That(tail.All(r => r.Iteration % kept.Stride == 0), Is.True);
        Assert.That(tail.Select(r => r.StartNs), Is.Ordered, "the sample is in time order");
        Assert.That(tail[^1].Iteration, Is.GreaterThan(10_000 - kept.Stride - 1), "the sample reaches the end of the run");
        Assert.That(tail.GroupBy(r => r.Iteration).All(g => g.Count() == 4), Is.True, "a sampled iteration keeps all its rows");
        Assert.That(kept, Is.EqualTo(new IterationsKept("auto", 40_000, written.Count, 500, kept.Stride)));
        Assert.That(kept.Stride, Is.GreaterThan(1));
    }

    [Test]
    public void All_WritesEveryRow_None_WritesNone()
    {
        var rows = Rows(2, 600).ToList();
        var all = new IterationSampler(new IterationOutput("all", MaxRows: 10));
        Assert.That(Written(all, rows), Is.EqualTo(Written(rows)));
        Assert.That(all.Kept(), Is.Null);
        var none = new IterationSampler(new IterationOutput("none"));
        Assert.That(Written(none, rows), Is.Empty);
        Assert.That(none.Kept(), Is.EqualTo(new IterationsKept("none", 1200, 0, 0, 0)));
    }

    [Test]
    public void Auto_ManyRowsOfOneIterationNumber_Terminates()
    {
        var rows = Rows(3000, 1).ToList();
        var s = new IterationSampler(new IterationOutput("auto", MaxRows: 100));
        Assert.That(Written(s, rows), Has.Count.EqualTo(3000), "iteration 0 passes every stride");
    }

    [Test]
    public void Writer_LongRun_SaysWhatItKeptInSummaryAndConsole()
    {
        var root = Path.Combine(Path.GetTempPath(), "sim-sampler-tests", Guid.NewGuid().ToString("N"));
        try
        {
            var w = new RunDirectoryWriter(Path.Combine(root, "run"), Meta(), new RunWriterOptions(Iterations: new IterationOutput("auto", 100)));
            foreach (var r in Rows(2, 500)) w.OnIteration(r);
            foreach (var r in SmallRun()) w.OnRequestFinished(r);
            var summary = w.Commit(End());
            var lines = File.ReadAllLines(Path.Combine(root, "run", "iterations.csv"));
            Assert.That(lines, Has.Length.EqualTo(1 + summary.Iterations!.Written));
            Assert.That(summary.Iterations.Rows, Is.EqualTo(1000));
            var json = SummaryJson.Read(File.ReadAllBytes(Path.Combine(root, "run", "summary.json")));
            Assert.That(json.Iterations, Is.EqualTo(summary.Iterations));
            Assert.That(ConsoleSummary.Lines(summary), Has.Some.StartsWith($"Iterations: {summary.Iterations.Written} of 1000 rows written: the first 50 in full"));
        }
        finally
        {
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        }
    }
}
