using Simulator.Inference.Cost;
using Simulator.Inference.Metrics;
using Simulator.Inference.Serving;
using Simulator.Inference.Workload;
using Simulator.Kernel;
using Request = Simulator.Inference.Workload.Request;

namespace Simulator.Inference.Tests.Serving;

/// <summary>Cost model for tests: each stage takes FixedNs + NsPerToken x tokens + NsPerContextToken x context; each send between stages PpNs.</summary>
internal sealed class LinearCostModel(int stages, long fixedNs, long nsPerToken, long ppNs = 0, long nsPerContextToken = 0) : IStageCostModel
{
    private static readonly IReadOnlyDictionary<string, double> NoBreakdown = new Dictionary<string, double>();

    public int Stages => stages;
    public int Calls { get; private set; }

    public StageCost Estimate(int stage, IReadOnlyList<SequenceWork> batch)
    {
        Calls++;
        long tokens = 0, context = 0;
        foreach (var w in batch) { tokens += w.NewTokens; context += w.ContextTokens; }
        long computeNs = nsPerToken * tokens + nsPerContextToken * context;
        return new StageCost(computeNs, 0, 0, 0, stage < stages - 1 ? ppNs : 0, fixedNs, NoBreakdown, []);
    }
}

/// <summary>An in-memory workload that counts how far it has been read (to prove streaming).</summary>
internal sealed class ListWorkload(IReadOnlyList<Request> requests) : IWorkloadSource
{
    public int Yielded { get; private set; }

    public IEnumerable<Request> Read()
    {
        foreach (var r in requests)
        {
            Yielded++;
            yield return r;
        }
    }

    public string Describe() => $"{requests.Count} test requests";
}

/// <summary>Keeps every record in order.</summary>
internal sealed class ListRecorder : IRunRecorder
{
    public List<IterationRecord> Iterations { get; } = new();
    public List<RequestRecord> Requests { get; } = new();
    public List<ReplicaSample> Samples { get; } = new();
    public List<(long GapNs, int Count)> TokenGaps { get; } = new();

    public void OnIteration(in IterationRecord record) => Iterations.Add(record);
    public void OnRequestFinished(RequestRecord record) => Requests.Add(record);
    public void OnSample(in ReplicaSample sample) => Samples.Add(sample);
    public void OnTokenGaps(long gapNs, int count) => TokenGaps.Add((gapNs, count));
}

internal static class ServingTestKit
{
    public const long Ms = 1_000_000;

    /// <summary>Requests arriving every <paramref name="gapNs"/> with the given lengths.</summary>
    public static List<Request> Uniform(int count, int input, int output, long gapNs = 0, long startNs = 0) =>
        Enumerable.Range(0, count).Select(i => new Request(i, startNs + i * gapNs, input, output)).ToList();

    /// <summary>Random requests from a seeded generator (lengths 1..maxInput / 1..maxOutput, exponential-ish gaps).</summary>
    public static List<Request> Random(int seed, int count, int maxInput, int maxOutput, long meanGapNs)
    {
        var rng = new System.Random(seed);
        var list = new List<Request>(count);
        long t = 0;
        for (int i = 0; i < count; i++)
        {
            t += (long)(-Math.Log(1 - rng.NextDouble()) * meanGapNs);
            list.Add(new Request(i, t, rng.Next(1, maxInput + 1), rng.Next(1, maxOutput + 1)));
        }
        return list;
    }

    public static (ListRecorder Recorder, ServingResult Result, ServingSimulation Serving) Run(
        IReadOnlyList<Request> requests, IReadOnlyList<ReplicaSetup> replicas, ServingOptions? options = null, int seed = 1)
    {
        var sim = new Simulation(seed);
        var recorder = new ListRecorder();
        var serving = new ServingSimulation(sim, new ListWorkload(requests), replicas, options ?? new ServingOptions(SampleIntervalNs: 0), recorder);
        var result = serving.Run();
        return (recorder, result, serving);
    }

    public static (ListRecorder Recorder, ServingResult Result, ServingSimulation Serving) Run(
        IReadOnlyList<Request> requests, ReplicaSetup replica, ServingOptions? options = null) =>
        Run(requests, [replica], options);

    public static ReplicaSetup Setup(SchedulerConfig config, int stages = 1, long fixedNs = 1 * Ms, long nsPerToken = 10_000,
        int microbatches = 1, long ppNs = 0) =>
        new(new LinearCostModel(stages, fixedNs, nsPerToken, ppNs), config, microbatches);
}
