using Simulator.Hardware.Network;
using Simulator.Inference.Cost;
using Simulator.Inference.Metrics;
using Simulator.Inference.Serving;
using Simulator.Kernel;
using MetricsSlo = Simulator.Inference.Metrics.SloSpec;

namespace Simulator.Scenarios;

/// <summary>
/// Runs a scenario with <c>pools:</c>: every pool's replicas (numbered pool by pool) behind one router that sees the
/// mixed and prefill pools, each replica priced by its own pool's cost model (its GPU, plan, precision); with
/// prefill and decode pools, prefilled requests hand their KV to a decode replica over <see cref="KvTransport"/>.
/// Outputs are a single run directory with pool columns (requests.csv, iterations.csv, gpus.csv) and the KV
/// transfer in summary.json and links.csv.
/// </summary>
internal static class PoolRunner
{
    public static RunResult Run(Scenario scenario, string outDir, TableCapture? capture = null, Action<StagedRun>? beforePublish = null)
    {
        var pools = PoolBuilder.Build(scenario);
        if (pools.Disaggregated) PoolBuilder.CheckDecodeCapacity(pools, LongestRequestTokens(scenario));
        var slo = new MetricsSlo(scenario.Slo.TtftMs, scenario.Slo.TpotMs, scenario.Slo.Percentile);
        var meta = new RunMetadata(scenario.Name, scenario.Seed, slo, pools.Pools.Max(p => p.Built.Plan.Pp),
            pools.Pools.Max(p => p.Built.Plan.Microbatches), pools.Disaggregated, RunCost.UsdPerHour(scenario, pools.Pools.Select(p => p.Built)));
        var replicaPools = Enumerable.Range(0, pools.Replicas).Select(r => new ReplicaPool(pools.PoolOf(r).Spec.Name, pools.PoolOf(r).Spec.Role)).ToList();

        using var writer = new RunDirectoryWriter(outDir, meta, new RunWriterOptions(scenario.Output.TimelineMaxEvents,
            scenario.Output.Format == "parquet" ? TableFormat.Parquet : TableFormat.Csv, Layout: null, Pools: replicaPools,
            Engines: DataParallelOutputs.Engines(pools.Pools.Select(p => p.Built.Plan)), Iterations: scenario.Output.IterationRows,
            WriterThread: ScenarioRunner.UsesWriterThread(scenario), Capture: capture));
        writer.WriteText("scenario.yaml", ScenarioWriter.ToYaml(scenario, Path.GetFullPath(outDir)));

        var sim = new Simulation(scenario.Seed);
        var recorder = new PoolRecorder(writer, pools);
        FlowNetwork? network = scenario.Network.Model == "flow" ? new FlowNetwork(sim, pools.Topology) : null;
        var executor = network is null ? null : new PoolStageExecutor(sim, pools, network);
        var setups = new List<ReplicaSetup>();
        foreach (var p in pools.Pools)
        {
            setups.AddRange(p.Built.ReplicaSetups(p.Built.SchedulerConfig(), p.Role, p.KvBytesPerToken, p.Built.Model.Layers));
        }
        var transport = new KvTransport(sim, pools, network);
        var disaggregation = pools.Disaggregated
            ? new DisaggregationOptions(scenario.DecodeRouter, RandomStreams.DeriveSeed(scenario.Seed, "decode_router"),
                scenario.KvTransfer.Mode == "layerwise" ? KvTransferMode.Layerwise : KvTransferMode.AfterPrefill, transport)
            : null;
        // Implementation note: in analytic mode a degraded link slows what crosses the joined topology (the KV transfers);
        // each pool's own collectives are priced on its pool's topology. In flow mode every flow shares the one network.
        var faults = FaultPlanning.Settings(pools, network is null ? pools.Topology.SetPortFactor : network.SetPortFactor);
        var serving = new ServingSimulation(sim, scenario.Workload.CreateSource(scenario.Seed), setups,
            ScenarioRunner.ServingOptionsOf(scenario, pools.Pools[0].Built) with { Faults = faults, Threads = scenario.Run.Threads }, recorder, executor, disaggregation);
        var (result, perf) = ScenarioRunner.Simulate(serving);

        var gpus = pools.Pools.SelectMany(p => ScenarioRunner.GpuRows(p.Built, result.Replicas, p.FirstGpu, p.FirstReplica,
            scenario.Cluster.GpusPerNode, p.Spec.Name)).ToList();
        var links = network is null ? recorder.LinkRows().Concat(transport.LinkRows()).ToList() : FlowStageExecutor.LinkRows(network);
        var dpPlan = pools.Pools.Select(p => p.Built.Plan).FirstOrDefault(p => p.IsDataParallelAttention);
        var summary = writer.Commit(new RunEndInputs(perf, ScenarioRunner.Pipelines(result), gpus, links, ScenarioRunner.PrefixCacheTotals(result),
            faults is null ? null : ScenarioRunner.Availability(result), DataParallel: dpPlan is null ? null : DataParallelOutputs.Summary(serving.DataParallelEngines, dpPlan), FrontEnd: serving.FrontEndTotals), beforePublish);
        return new RunResult(writer.OutputDirectory, summary, perf, pools.Pools[0].Built, pools) { Tables = writer.TakeCapturedTables() };
    }

    /// <summary>The workload's longest request (prompt + output tokens), read once before the run (sources stream).</summary>
    private static long LongestRequestTokens(Scenario scenario)
    {
        long longest = 0;
        foreach (var r in scenario.Workload.CreateSource(scenario.Seed).Read())
            longest = Math.Max(longest, (long)r.InputTokens + Math.Max(0, r.OutputTokens));
        return longest;
    }

    /// <summary>Forwards every record to the writer and feeds each pool's analytic link accounting its own iterations.</summary>
    private sealed class PoolRecorder : IRunRecorder
    {
        private readonly IRunRecorder _inner;
        private readonly BuiltPools _pools;
        private readonly CommAccounting[] _accounting;

        public PoolRecorder(IRunRecorder inner, BuiltPools pools)
        {
            _inner = inner;
            _pools = pools;
            _accounting = pools.Pools.Select(p => new CommAccounting(NullRecorder.Instance, p.Built)).ToArray();
        }

        public void OnIteration(in IterationRecord record)
        {
            int index = _pools.PoolIndexOf(record.Replica);
            _accounting[index].OnIteration(record with { Replica = record.Replica - _pools.Pools[index].FirstReplica });
            _inner.OnIteration(record);
        }

        public void OnRequestFinished(RequestRecord record) => _inner.OnRequestFinished(record);

        public void OnSample(in ReplicaSample sample) => _inner.OnSample(sample);

        public void OnTokenGaps(long gapNs, int count) => _inner.OnTokenGaps(gapNs, count);

        /// <summary>Each pool's group rows, named <c>POOL.rN...</c> with run-wide replica and GPU numbers.</summary>
        public IEnumerable<LinkActivity> LinkRows()
        {
            for (int i = 0; i < _pools.Pools.Count; i++)
            {
                var p = _pools.Pools[i];
                foreach (var row in _accounting[i].LinkRows(p.FirstReplica, p.FirstGpu))
                    yield return row with { Link = p.Spec.Name + "." + row.Link };
            }
        }

    }

    /// <summary>Flow mode: each pool's stages play on the one shared network, at the pool's global GPU ids.</summary>
    private sealed class PoolStageExecutor : IStageExecutor
    {
        private readonly BuiltPools _pools;
        private readonly FlowStageExecutor[] _byPool;

        public PoolStageExecutor(Simulation sim, BuiltPools pools, FlowNetwork network)
        {
            _pools = pools;
            _byPool = pools.Pools.Select(p => new FlowStageExecutor(sim, p.Built, network, p.FirstGpu)).ToArray();
        }

        public void Execute(int replica, int stage, StageCost cost, IEventHandler done, long token)
        {
            var (executor, local) = Of(replica);
            executor.Execute(local, stage, cost, done, token);
        }

        public void Send(int replica, int fromStage, StageCost cost, IEventHandler arrived, long token)
        {
            var (executor, local) = Of(replica);
            executor.Send(local, fromStage, cost, arrived, token);
        }

        private (FlowStageExecutor Executor, int Local) Of(int replica)
        {
            int i = _pools.PoolIndexOf(replica);
            return (_byPool[i], replica - _pools.Pools[i].FirstReplica);
        }
    }

    private sealed class NullRecorder : IRunRecorder
    {
        public static readonly NullRecorder Instance = new();
        public void OnIteration(in IterationRecord record) { }
        public void OnRequestFinished(RequestRecord record) { }
        public void OnSample(in ReplicaSample sample) { }
        public void OnTokenGaps(long gapNs, int count) { }
    }
}
