using NUnit.Framework;
using Simulator.Inference.Workload;
using Simulator.Scenarios;
using Simulator.Tests.Shared;

namespace Simulator.Scenarios.Tests;

public sealed class ScenarioLoaderTest
{
    /// <summary>CONTRACT.md's example scenario, verbatim (the trace path resolves against the repository data folder).</summary>
    internal const string ContractExample = """
        name: llama70b-tp4-azure-conv
        seed: 1
        cluster:
          gpu: H100-SXM-80GB            # preset name, or an inline spec (memory_gb, hbm_tbps, tflops per dtype, ...)
          nodes: 2
          gpus_per_node: 8
          intra_node: nvlink4           # nvlink3 | nvlink4 | nvlink5 | pcie4 | pcie5 | inline spec
          inter_node: ib-ndr400         # per-GPU NIC: ib-hdr200 | ib-ndr400 | roce400 | inline spec
        network:
          model: analytic               # analytic | flow
        model: llama-3.1-70b            # preset name | {hf_config: path/to/config.json} | inline spec
        precision: {weights: bf16, kv_cache: bf16}
        parallelism:
          tensor_parallel_size: 4
          pipeline_parallel_size: 1
          expert_parallel_size: 1
          context_parallel_size: 1
          replicas: 4                   # data-parallel copies behind the router
          microbatches: 1               # batches in flight per replica's pipeline
        scheduler:
          policy: vllm                  # vllm | sarathi | orca | static | trtllm
          max_num_seqs: 256
          max_num_batched_tokens: 8192
          enable_chunked_prefill: true
          block_size: 16
          gpu_memory_utilization: 0.90
          preemption: recompute         # recompute | swap
        router: least_outstanding       # round_robin | random | least_outstanding | least_kv | power_of_two
        workload:
          trace: {path: traces/azure-llm-2023-conv.csv, format: auto, time_scale: 1.0, limit: 5000}
          # or synthetic:
          # arrivals: {process: poisson, rate_per_s: 8}          # poisson | gamma (cv) | constant | burst
          # input_tokens: {dist: lognormal, mean: 1024, sigma: 0.8}
          # output_tokens: {dist: fixed, value: 256}
          # requests: 5000
        slo: {ttft_ms: 2000, tpot_ms: 200, percentile: 95}
        sweep:                          # cartesian product of the listed values
          parallelism.microbatches: [1, 2, 4, 8, 16]
        """;

    internal const string Minimal = """
        model: llama-3.1-8b
        workload:
          arrivals: {process: poisson, rate_per_s: 8}
          input_tokens: {dist: lognormal, mean: 1024, sigma: 0.8}
          output_tokens: 256
          requests: 100
        """;

    private static readonly ScenarioLoader Loader = new();

    private static Scenario Load(string yaml, params string[] sets) => Loader.LoadText(yaml, "s.yaml", TestPaths.DataRoot, sets);

    private static IReadOnlyList<string> Errors(string yaml, params string[] sets) => Errors(Loader, yaml, sets);

    private static IReadOnlyList<string> Errors(ScenarioLoader loader, string yaml, params string[] sets)
    {
        var ex = Assert.Throws<ScenarioException>(() => loader.LoadText(yaml, "s.yaml", TestPaths.DataRoot, sets))!;
        return ex.Errors.Select(e => e.ToString()).ToList();
    }

    [Test]
    public void ContractExample_Parses_WithEveryValue()
    {
        var s = Load(ContractExample);
        Assert.That(s.Name, Is.EqualTo("llama70b-tp4-azure-conv"));
        Assert.That(s.Cluster.Gpu, Is.EqualTo(PresetOrSpec.Of("H100-SXM-80GB")));
        Assert.That(s.Cluster.TotalGpus, Is.EqualTo(16));
        Assert.That(s.Model, Is.EqualTo(ModelRef.Of("llama-3.1-70b")));
        Assert.That(s.Parallelism.TensorParallelSize, Is.EqualTo(4));
        Assert.That(s.Parallelism.Replicas, Is.EqualTo(4));
        Assert.That(s.Scheduler.GpuMemoryUtilization, Is.EqualTo(0.90));
        Assert.That(s.Router, Is.EqualTo("least_outstanding"));
        var trace = s.Workload.Trace!;
        Assert.That(trace.Path, Is.EqualTo(TestPaths.Data("traces", "azure-llm-2023-conv.csv")));
        Assert.That(trace.Format, Is.EqualTo(TraceFormat.Azure), "auto resolves from the header");
        Assert.That(trace.Limit, Is.EqualTo(5000));
        Assert.That(s.Slo, Is.EqualTo(new SloSpec { TtftMs = 2000, TpotMs = 200, Percentile = 95 }));
        Assert.That(s.Sweep.PointCount, Is.EqualTo(5));
        Assert.That(s.Workload.CreateSource(s.Seed).Read().Count(), Is.EqualTo(5000));
    }

    [Test]
    public void Minimal_FillsDefaults()
    {
        var s = Load(Minimal);
        Assert.That(s.Name, Is.EqualTo("s"), "default name is the file name");
        Assert.That(s.Seed, Is.EqualTo(1));
        Assert.That(s.Cluster, Is.EqualTo(new ClusterSpec()));
        Assert.That(s.Scheduler, Is.EqualTo(new SchedulerSpec()));
        Assert.That(s.Precision, Is.EqualTo(new PrecisionSpec { Weights = "bf16", KvCache = "bf16" }));
        var syn = s.Workload.Synthetic!;
        Assert.That(syn.OutputTokens, Is.EqualTo(LengthSpec.Fixed(256)));
        Assert.That(syn.InputTokens, Is.EqualTo(new LengthSpec(LengthDistribution.LogNormal, Mean: 1024, Sigma: 0.8)));
        Assert.That(s.Workload.CreateSource(s.Seed).Read().Count(), Is.EqualTo(100));
    }

    [Test]
    public void EngineTrtllm_DefaultsToTensorRtLlmsScheduler_KeysTheScenarioSetsStillWin()
    {
        var s = Load(Minimal + "\nengine: trtllm\n");
        Assert.That(s.Scheduler, Is.EqualTo(new SchedulerSpec { Policy = "trtllm", EnableChunkedPrefill = false }));
        var chunked = Load(Minimal + "\nengine: trtllm\nscheduler: {enable_chunked_prefill: true, max_num_seqs: 64}\n");
        Assert.That((chunked.Scheduler.Policy, chunked.Scheduler.EnableChunkedPrefill, chunked.Scheduler.MaxNumSeqs), Is.EqualTo(("trtllm", true, 64)));
        Assert.That(Load(Minimal + "\nengine: trtllm\nscheduler: {policy: vllm}\n").Scheduler.Policy, Is.EqualTo("vllm"));
        Assert.That(Load(Minimal + "\nengine: splitwise\n").Scheduler, Is.EqualTo(new SchedulerSpec()));
    }

    [Test]
    public void UnknownKey_SuggestsClosest_AtItsLine()
    {
        var errors = Errors(Minimal + "\nscheduler:\n  max_num_seq: 12\n");
        Assert.That(errors, Has.Count.EqualTo(1));
        Assert.That(errors[0], Does.StartWith("error: s.yaml:8: scheduler.max_num_seq: unknown key; did you mean 'max_num_seqs'? allowed: "));
    }

    [Test]
    public void WrongType_NamesLineKeyAndExpectation()
    {
        var errors = Errors(Minimal + "\nparallelism:\n  tensor_parallel_size: four\n");
        Assert.That(errors, Is.EqualTo(new[] { "error: s.yaml:8: parallelism.tensor_parallel_size: expected an integer >= 1, got 'four'" }));
    }

    [Test]
    public void MappingWhereScalarExpected_IsWrongType()
    {
        var errors = Errors(Minimal + "\nseed: {a: 1}\n");
        Assert.That(errors, Is.EqualTo(new[] { "error: s.yaml:7: seed: expected an integer >= 0, got a mapping" }));
    }

    [Test]
    public void OutOfRange_NamesAllowedRange()
    {
        var errors = Errors(Minimal + "\nscheduler:\n  gpu_memory_utilization: 1.5\n");
        Assert.That(errors, Is.EqualTo(new[] { "error: s.yaml:8: scheduler.gpu_memory_utilization: 1.5 is out of range; expected a number > 0 and <= 1" }));
    }

    [Test]
    public void EnumValue_NotAllowed_ListsAllowedValues()
    {
        var errors = Errors(Minimal + "\nscheduler:\n  policy: sarati\n");
        Assert.That(errors, Is.EqualTo(new[] { "error: s.yaml:8: scheduler.policy: 'sarati' is not allowed (did you mean 'sarathi'?); expected one of vllm | sarathi | orca | static | trtllm" }));
    }

    [Test]
    public void MissingFile_ResolvedAgainstScenarioFolder()
    {
        var errors = Errors("model: x\nworkload:\n  trace:\n    path: traces/nope.csv\n");
        string full = Path.Combine(TestPaths.DataRoot, "traces", "nope.csv");
        Assert.That(errors, Is.EqualTo(new[] { $"error: s.yaml:4: workload.trace.path: file not found: {full}; expected the path of a request trace (relative paths resolve against the scenario file's folder)" }));
    }

    [Test]
    public void AllProblems_AreCollected_InLineOrder()
    {
        const string yaml = """
            model: llama-3.1-8b
            seed: -1
            cluster:
              nodez: 2
            parallelism:
              replicas: 0
            router: fastest
            workload:
              arrivals: {process: poisson}
              input_tokens: 10
              output_tokens: 0
            """;
        var errors = Errors(yaml);
        Assert.That(errors, Is.EqualTo(new[]
        {
            "error: s.yaml:2: seed: -1 is out of range; expected an integer >= 0",
            "error: s.yaml:4: cluster.nodez: unknown key; did you mean 'nodes'? allowed: fabric, gpu, gpus_per_node, inter_node, intra_node, nodes, oversubscription",
            "error: s.yaml:6: parallelism.replicas: 0 is out of range; expected an integer >= 1",
            "error: s.yaml:7: router: 'fastest' is not allowed; expected one of round_robin | random | least_outstanding | least_kv | power_of_two | prefix_aware | session_affinity | speed_weighted",
            "error: s.yaml:8: workload: a synthetic workload needs a bound; expected requests: N and/or duration_s: S",
            "error: s.yaml:9: workload.arrivals.rate_per_s: missing; expected a number > 0",
            "error: s.yaml:11: workload.output_tokens: expected a token count >= 1 or {dist: ...}, got '0'",
        }));
    }

    [Test]
    public void MissingModelAndWorkload_AreReported()
    {
        var errors = Errors("seed: 3\n");
        Assert.That(errors, Has.Count.EqualTo(2));
        Assert.That(errors[0], Does.StartWith("error: s.yaml:1: model: missing; expected a model preset name"));
        Assert.That(errors[1], Does.StartWith("error: s.yaml:1: workload: missing"));
    }

    [Test]
    public void KeyOfAnotherVariant_SaysWhereItApplies()
    {
        var errors = Errors(Minimal.Replace("process: poisson, rate_per_s: 8", "process: poisson, rate_per_s: 8, cv: 2"));
        Assert.That(errors, Is.EqualTo(new[] { "error: s.yaml:3: workload.arrivals.cv: applies only to process: gamma" }));
    }

    [Test]
    public void TraceAndSynthetic_Together_AreRejected()
    {
        var errors = Errors("model: m\nworkload:\n  trace: {path: traces/azure-llm-2023-code.csv}\n  requests: 10\n");
        Assert.That(errors, Is.EqualTo(new[] { "error: s.yaml:3: workload.trace: cannot be combined with requests; a workload is a trace or a synthetic generator (bound a trace with trace.limit or trace.end_s)" }));
    }

    [Test]
    public void YamlSyntaxError_IsLocated()
    {
        var errors = Errors("model: m\nworkload: [1, 2\n");
        Assert.That(errors, Has.Count.EqualTo(1));
        Assert.That(errors[0], Does.Match(@"^error: s\.yaml:\d+: yaml: .+; expected valid YAML$"));
    }

    [Test]
    public void PresetCatalog_ChecksNamesCaseInsensitively_AndCanonicalizes()
    {
        var loader = new ScenarioLoader(new PresetCatalog(["H100-SXM-80GB", "A100-SXM-80GB"], ["nvlink4", "ib-ndr400"], ["llama-3.1-8b"]));
        var s = loader.LoadText(Minimal.Replace("llama-3.1-8b", "LLAMA-3.1-8B") + "\ncluster: {gpu: h100-sxm-80gb}\n", "s.yaml", TestPaths.DataRoot);
        Assert.That(s.Model.Preset, Is.EqualTo("llama-3.1-8b"));
        Assert.That(s.Cluster.Gpu.Preset, Is.EqualTo("H100-SXM-80GB"));
        var errors = Errors(loader, Minimal + "\ncluster: {gpu: H100-SXM-80G, intra_node: nvlink9}\n");
        Assert.That(errors, Is.EqualTo(new[]
        {
            "error: s.yaml:7: cluster.gpu: unknown GPU preset 'H100-SXM-80G' (did you mean 'H100-SXM-80GB'?); expected one of H100-SXM-80GB, A100-SXM-80GB, or an inline spec map",
            "error: s.yaml:7: cluster.intra_node: unknown link preset 'nvlink9' (did you mean 'nvlink4'?); expected one of nvlink4, ib-ndr400, or an inline spec map",
        }));
    }

    [Test]
    public void InlineSpecs_AreKeptAsWritten()
    {
        var s = Load(Minimal.Replace("model: llama-3.1-8b", "model:\n  hidden_size: 4096\n  num_layers: 32") + "\ncluster:\n  gpu: {memory_gb: 80, hbm_tbps: 3.35}\n");
        Assert.That(s.Model.Inline!.GetDouble("hidden_size"), Is.EqualTo(4096));
        Assert.That(s.Cluster.Gpu.Inline!.GetDouble("hbm_tbps"), Is.EqualTo(3.35));
    }

    [Test]
    public void HfConfig_ResolvesPath()
    {
        string models = TestPaths.Data("models");
        string config = Directory.GetFiles(models, "*.json", SearchOption.AllDirectories).OrderBy(p => p, StringComparer.Ordinal).First();
        string rel = Path.GetRelativePath(TestPaths.DataRoot, config).Replace('\\', '/');
        var s = Load(Minimal.Replace("model: llama-3.1-8b", $"model: {{hf_config: {rel}}}"));
        Assert.That(s.Model.HfConfigPath, Is.EqualTo(config));
    }

    [Test]
    public void Locations_PointLaterErrorsAtTheKeysLine()
    {
        var s = Load(ContractExample);
        Assert.That(s.Locations.ErrorAt("parallelism.tensor_parallel_size", "4 does not divide 64 heads").ToString(),
            Is.EqualTo("error: s.yaml:14: parallelism.tensor_parallel_size: 4 does not divide 64 heads"));
        Assert.That(s.Locations.Find("scheduler.chunk_size"), Is.EqualTo(("s.yaml", 20)), "an unwritten key falls back to its parent");
    }

    // ------------------------------------------------------------ overrides

    [Test]
    public void Set_OverridesExistingAndNewKeys()
    {
        var s = Load(ContractExample, "parallelism.microbatches=4", "workload.trace.limit=100", "scheduler.chunk_size=256", "slo.ttft_ms=null");
        Assert.That(s.Parallelism.Microbatches, Is.EqualTo(4));
        Assert.That(s.Workload.Trace!.Limit, Is.EqualTo(100));
        Assert.That(s.Scheduler.ChunkSize, Is.EqualTo(256));
        Assert.That(s.Slo.TtftMs, Is.Null);
    }

    [Test]
    public void Set_CreatesMissingSections_AndAcceptsFlowValues()
    {
        var s = Load(Minimal, "output.timeseries_interval_s=0.5", "cluster.gpu={memory_gb: 40}");
        Assert.That(s.Output.TimeseriesIntervalS, Is.EqualTo(0.5));
        Assert.That(s.Cluster.Gpu.Inline!.GetDouble("memory_gb"), Is.EqualTo(40));
    }

    [Test]
    public void Set_Errors_NameSetAsTheSource()
    {
        var errors = Errors(Minimal, "parallelism.microbatches=0", "scheduler.polcy=vllm", "novalue", "model.x=1");
        Assert.That(errors, Is.EqualTo(new[]
        {
            "error: --set:1: parallelism.microbatches: 0 is out of range; expected an integer >= 1",
            "error: --set:2: scheduler.polcy: unknown key; did you mean 'policy'? allowed: block_size, chunk_size, enable_chunked_prefill, enable_prefix_caching, gpu_memory_utilization, kv_offloading_size_gb, max_num_batched_tokens, max_num_seqs, policy, preemption",
            "error: --set:3: novalue: expected key.path=value (e.g. parallelism.microbatches=4)",
            "error: --set:4: model.x: 'model' is 'llama-3.1-8b', not a mapping; set it as a whole instead",
        }));
    }

    // ------------------------------------------------------------ writing back

    [Test]
    public void WrittenScenario_LoadsBackEqual()
    {
        foreach (var yaml in new[]
                 {
                     ContractExample, Minimal,
                     Minimal.Replace("output_tokens: 256", "output_tokens: {dist: uniform, min: 2, max: 9}\n  duration_s: 60") + "\nscheduler: {policy: sarathi}\nsweep:\n  zip:\n    parallelism.tensor_parallel_size: [1, 2]\n    parallelism.replicas: [8, 4]\n  seed: [1, 2]\n",
                     Minimal.Replace("model: llama-3.1-8b", "model:\n  hidden_size: 4096\n  name: \"7b\"") + "\ncluster: {gpu: {memory_gb: 80, tflops: {bf16: 989.5}}, fabric: fat_tree, oversubscription: 2}\n",
                     Minimal + "\ncost: {gpu_hour_usd: {H200-SXM-141GB: 3.5, H100-SXM-80GB: 2.25}}\nplan: {disaggregation: true}\n",
                 })
        {
            var first = Load(yaml);
            string text = ScenarioWriter.ToYaml(first, TestPaths.DataRoot);
            var second = Loader.LoadText(text, "s.yaml", TestPaths.DataRoot);
            Assert.That(second, Is.EqualTo(first), text);
            Assert.That(ScenarioWriter.ToYaml(second, TestPaths.DataRoot), Is.EqualTo(text));
        }
    }

    [Test]
    public void WrittenScenario_FillsEveryDefault()
    {
        string text = ScenarioWriter.ToYaml(Load(Minimal));
        foreach (var key in new[] { "seed: 1", "gpu: H100-SXM-80GB", "tensor_parallel_size: 1", "microbatches: 1", "policy: vllm", "max_num_seqs: 256",
                     "gpu_memory_utilization: 0.9", "router: round_robin", "kv_cache: bf16", "percentile: 95.0", "timeseries_interval_s: 1.0" })
            Assert.That(text, Does.Contain(key));
    }

    [Test]
    public void WrittenPaths_AreRelativeToTheRequestedFolder()
    {
        string text = ScenarioWriter.ToYaml(Load(ContractExample), Path.Combine(TestPaths.DataRoot, "results"));
        Assert.That(text, Does.Contain("path: ../traces/azure-llm-2023-conv.csv"));
    }
}
