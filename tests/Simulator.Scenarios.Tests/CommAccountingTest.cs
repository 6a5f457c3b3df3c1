using NUnit.Framework;
using Simulator.Inference.Cost;
using Simulator.Inference.Metrics;
using Simulator.Scenarios;
using Simulator.Tests.Shared;

namespace Simulator.Scenarios.Tests;

/// <summary>
/// Link accounting (links.csv in the analytic network mode) decides an op's wire factor once per op name instance; these
/// tests hold it to the factor of the op each demand names, whatever string instance carries the name and however a
/// group kind's ops alternate.
/// </summary>
public sealed class CommAccountingTest
{
    private static readonly ScenarioLoader Loader = new();

    private const string Yaml = """
        name: comm-accounting
        seed: 1
        cluster: {gpu: H100-SXM-80GB, nodes: 1, gpus_per_node: 8}
        model: llama-3.1-8b
        parallelism: {tensor_parallel_size: 4, pipeline_parallel_size: 2}
        workload:
          arrivals: {process: poisson, rate_per_s: 1}
          input_tokens: {dist: fixed, value: 32}
          output_tokens: {dist: fixed, value: 4}
          requests: 2
        """;

    private sealed class Sink : IRunRecorder
    {
        public int Iterations;
        public void OnIteration(in IterationRecord record) => Iterations++;
        public void OnRequestFinished(RequestRecord record) { }
        public void OnSample(in ReplicaSample sample) { }
        public void OnTokenGaps(long gapNs, int count) { }
    }

    private static IterationRecord Iteration(int stage, IReadOnlyList<CommDemand> comms) => new(
        Replica: 0, Stage: stage, Iteration: 0, Microbatch: 0, StartNs: 0, EndNs: 1, BatchSize: 1, PrefillTokens: 0,
        DecodeTokens: 1, Cost: new StageCost(ComputeNs: 1, TpCommNs: 0, EpCommNs: 0, CpCommNs: 0, PpCommNs: 0, OverheadNs: 0,
            BreakdownMs: new Dictionary<string, double>(), Comms: comms), KvBlocksUsed: 0);

    [Test]
    public void WireBytes_FollowEachDemandsOp_WhenOpsAlternateWithinAGroupAndNamesAreFreshStrings()
    {
        var built = RunBuilder.Build(Loader.LoadText(Yaml, "s.yaml", TestPaths.DataRoot));
        var sink = new Sink();
        var accounting = new CommAccounting(sink, built);
        // A name built at run time is another instance than the cost model's literal: compared by reference it misses.
        string freshAllReduce = new("all_reduce".AsSpan());
        CommDemand Tp(string op, long bytes, int count) => new(CommGroupKind.Tensor, op, bytes, count, AnalyticNsEach: 10);
        accounting.OnIteration(Iteration(0, [Tp("all_reduce", 1000, 2), Tp("all_gather", 400, 1)]));
        accounting.OnIteration(Iteration(0, new List<CommDemand> { Tp(freshAllReduce, 1000, 1), Tp("reduce_scatter", 800, 3) }));
        accounting.OnIteration(Iteration(1, [Tp("broadcast", 100, 1), Tp("all_reduce", 1000, 1)]));
        accounting.OnIteration(Iteration(0, [new CommDemand(CommGroupKind.Pipeline, "send_recv", 300, 1, AnalyticNsEach: 7)]));

        Assert.That(sink.Iterations, Is.EqualTo(4), "every record goes on to the writer");
        var rows = accounting.LinkRows().ToDictionary(r => r.Link);
        // TP = 4: all-reduce 2(n-1)/n = 1.5 per rank, all-gather and reduce-scatter (n-1)/n = 0.75, others 1; times n ranks.
        Assert.That(rows["r0.stage0.tp"].BytesCarried, Is.EqualTo((long)Math.Round(1000 * 2 * 4 * 1.5 + 400 * 4 * 0.75 + 1000 * 4 * 1.5 + 800 * 3 * 4 * 0.75)));
        Assert.That(rows["r0.stage0.tp"].BusyNs, Is.EqualTo(10 * (2 + 1 + 1 + 3)));
        Assert.That(rows["r0.stage1.tp"].BytesCarried, Is.EqualTo((long)Math.Round(100 * 4 * 1.0 + 1000 * 4 * 1.5)));
        Assert.That(rows["r0.stage0->stage1"].BytesCarried, Is.EqualTo(300));
        Assert.That(rows["r0.stage0->stage1"].BusyNs, Is.EqualTo(7));
    }
}
