using NUnit.Framework;
using Simulator.Inference.Metrics;
using static Simulator.Inference.Tests.Metrics.MetricsTestData;

namespace Simulator.Inference.Tests.Metrics;

public sealed class RecordPipelineTest
{
    /// <summary>Logs every call it receives as one line; throws <see cref="Failure"/> at call number <see cref="FailAt"/>.</summary>
    private sealed class LoggingSink : IRunRecorder
    {
        public readonly List<string> Calls = [];
        public int FailAt { get; init; } = -1;
        public Exception Failure { get; init; } = new IOException("No space left on device");

        private void Log(string call)
        {
            if (Calls.Count == FailAt) throw Failure;
            Calls.Add(call);
        }

        public void OnIteration(in IterationRecord r) => Log($"it {r.Replica} {r.Iteration} {r.StartNs} {r.Cost.ComputeNs}");
        public void OnRequestFinished(RequestRecord r) => Log($"req {r.RequestId} {r.Status}");
        public void OnSample(in ReplicaSample s) => Log($"sample {s.TimeNs} {s.Replica} {s.KvUtilization}");
        public void OnTokenGaps(long gapNs, int count) => Log($"gaps {gapNs} {count}");
        public void OnFault(FaultRecord f) => Log($"fault {f.AtNs} {f.Kind}");
    }

    /// <summary>A seeded mix of every kind of record, as a run interleaves them.</summary>
    private static void Feed(IRunRecorder rec, int records, int seed)
    {
        var rng = new Random(seed);
        for (int i = 0; i < records; i++)
        {
            switch (rng.Next(5))
            {
                case 0: rec.OnIteration(new IterationRecord(rng.Next(8), 0, i, 0, i * Ms, (i + 1) * Ms, 4, 10, 4, StageCostOf(rng.Next(1, 999_999)), 3)); break;
                case 1: rec.OnRequestFinished(Completed(i, i * Ms, (i + 2) * Ms, (i + 9) * Ms, 5)); break;
                case 2: rec.OnSample(new ReplicaSample(i * Ms, rng.Next(8), 1, 2, rng.NextDouble(), 10, 20, 1)); break;
                case 3: rec.OnTokenGaps(rng.Next(1, 50) * Ms, rng.Next(1, 64)); break;
                default: rec.OnFault(new FaultRecord(i * Ms, "gpu_down", "gpu" + rng.Next(8), null)); break;
            }
        }
    }

    [TestCase(1, 2, 0)]
    [TestCase(3, 2, 1000)]
    [TestCase(7, 4, 1)]
    [TestCase(2048, 4, 10_000)]
    [TestCase(64, 3, 20_000)]
    public void Sink_SeesEveryRecordInTheOrderTheyCame(int batchRecords, int batches, int records)
    {
        var direct = new LoggingSink();
        Feed(direct, records, seed: records);
        var piped = new LoggingSink();
        using (var pipeline = new RecordPipeline(piped, batchRecords, batches))
        {
            Feed(pipeline, records, seed: records);
            pipeline.Complete();
        }
        Assert.That(piped.Calls, Is.EqualTo(direct.Calls));
    }

    [TestCase(0)]
    [TestCase(5)]
    [TestCase(999)]
    public void SinkFailure_IsRethrownUnchangedOnTheProducersThread(int failAt)
    {
        var failure = new IOException("No space left on device : '/tmp/x/requests.csv'");
        var sink = new LoggingSink { FailAt = failAt, Failure = failure };
        using var pipeline = new RecordPipeline(sink, batchRecords: 8, batches: 2);
        // The failure surfaces at a later hand-off or at the latest at Complete; the producer never blocks on a dead writer.
        var thrown = Assert.Catch<IOException>(() =>
        {
            Feed(pipeline, 5_000, seed: 1);
            pipeline.Complete();
        });
        Assert.That(thrown, Is.SameAs(failure));
        Assert.That(sink.Calls, Has.Count.EqualTo(failAt), "nothing is written after the first failure");
    }

    [Test]
    public void Dispose_WithoutComplete_StopsTheWriterAndDropsWhatIsQueued()
    {
        var sink = new LoggingSink();
        var pipeline = new RecordPipeline(sink, batchRecords: 4, batches: 2);
        Feed(pipeline, 3, seed: 2);
        pipeline.Dispose();
        pipeline.Dispose();
        Assert.That(sink.Calls, Is.Empty, "a batch never handed over is dropped");
        Assert.Throws<InvalidOperationException>(() => Feed(pipeline, 10, seed: 3));
    }
}
