using System.Text.RegularExpressions;
using Simulator.Tests.Shared;

namespace Simulator.Cli.Tests;

/// <summary>
/// A corpus of inputs that must fail, one line each: scenario keys, YAML syntax, traces, flags, probes, report inputs
/// and output targets. Every one must give exactly one `error:` line naming its file:line:key, flag or row, exit 2
/// (3 for a plan that does not fit), no .NET type name, no stack trace, nothing left behind and no user file touched.
/// </summary>
[TestFixture, NonParallelizable]
public sealed partial class BadInputCorpusTests
{
    /// <summary>The scenario each edit starts from: small, valid, with every section present so one line can be broken.</summary>
    private const string Base = """
        name: corpus
        seed: 1
        cluster:
          gpu: H100-SXM-80GB
          nodes: 1
          gpus_per_node: 8
          intra_node: nvlink4
        network: {model: analytic}
        model: llama-3.1-8b
        precision: {weights: bf16, kv_cache: bf16}
        parallelism:
          tensor_parallel_size: 2
          replicas: 1
        scheduler:
          policy: vllm
          max_num_seqs: 256
          block_size: 16
          enable_chunked_prefill: true
          gpu_memory_utilization: 0.90
          preemption: recompute
        router: least_outstanding
        engine: vllm
        workload:
          arrivals: {process: poisson, rate_per_s: 4}
          input_tokens: {dist: lognormal, mean: 512, sigma: 0.8}
          output_tokens: {dist: fixed, value: 16}
          requests: 20
        slo: {ttft_ms: 400, tpot_ms: 55, percentile: 95}
        output: {timeseries_interval_s: 1.0}
        moe: {routing_skew: 0}
        """;

    private const string Synthetic = """
          arrivals: {process: poisson, rate_per_s: 4}
          input_tokens: {dist: lognormal, mean: 512, sigma: 0.8}
          output_tokens: {dist: fixed, value: 16}
          requests: 20
        """;

    private const string InlineModel = """
        model:
          hidden_size: 4096
          num_attention_heads: 32
          num_key_value_heads: 8
          num_hidden_layers: 4
          vocab_size: 32000
          intermediate_size: 14336

        """;

    /// <summary>A small P/D scenario (8 prefill GPUs on node 0, 8 decode GPUs on node 1) with one fault to break.</summary>
    private const string PoolsWithFault = """
        name: corpus-pools
        seed: 1
        cluster: {gpus_per_node: 8, inter_node: ib-ndr400}
        model: llama-3.1-8b
        pools:
          prefill: {role: prefill, gpu: H100-SXM-80GB, nodes: 1, gpus_per_node: 8, parallelism: {tensor_parallel_size: 2, replicas: 4}}
          decode: {role: decode, gpu: H200-SXM-141GB, nodes: 1, gpus_per_node: 8, parallelism: {tensor_parallel_size: 4, replicas: 2}}
        workload:
          arrivals: {process: poisson, rate_per_s: 4}
          input_tokens: {dist: fixed, value: 256}
          output_tokens: {dist: fixed, value: 16}
          requests: 20
        faults:
          - {at_s: 1, kind: gpu_down, gpu: 15}

        """;

    private const string AzureHeader = "TIMESTAMP,ContextTokens,GeneratedTokens\n";

    /// <summary>One must-fail input: files to write, the command, the exit code and the text its one error line must hold.</summary>
    /// <param name="Name">Shown as the test name.</param>
    /// <param name="Files">File name -> content, written into the case's folder ({dir} in content and args is that folder).</param>
    /// <param name="Args">The command; {dir} is the case folder, {out} a fresh output path inside it.</param>
    /// <param name="Exit">Expected exit code.</param>
    /// <param name="Names">The error line must contain this ("bad.yaml:@: key" puts the line of <paramref name="Locate"/> at @).</param>
    /// <param name="Locate">Text whose first line in bad.yaml is the line the error must name (^text: a line starting with it).</param>
    /// <param name="Prepare">Runs in the case folder after the files are written (e.g. a real run to corrupt).</param>
    public sealed record BadInput(string Name, IReadOnlyDictionary<string, string> Files, string[] Args, int Exit, string Names, string? Locate = null,
        Action<string>? Prepare = null)
    {
        public override string ToString() => Name;

        /// <summary>Writes the case's files into <paramref name="dir"/> and runs <see cref="Prepare"/> there.</summary>
        public void SetUp(string dir)
        {
            foreach (var (name, content) in Files)
            {
                var path = Path.Combine([dir, .. name.Split('/')]);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.WriteAllText(path, content.Replace("{dir}", dir));
            }
            Prepare?.Invoke(dir);
        }

        /// <summary>The command with {dir} and {out} (<paramref name="dir"/>/out) filled in.</summary>
        public string[] ArgsIn(string dir) => Args.Select(a => a.Replace("{dir}", dir).Replace("{out}", Path.Combine(dir, "out"))).ToArray();
    }

    private static Dictionary<string, string> Scenario(string text, params (string Name, string Content)[] more)
    {
        var d = new Dictionary<string, string> { ["bad.yaml"] = text };
        foreach (var (n, c) in more) d[n] = c;
        return d;
    }

    private static string Edited(string oldText, string newText)
    {
        if (!Base.Contains(oldText, StringComparison.Ordinal)) throw new ArgumentException($"'{oldText}' is not in the base scenario");
        return Base.Replace(oldText, newText) + "\n";
    }

    /// <summary>`sim memory` (checks everything but simulates nothing) on the base scenario with one edit.</summary>
    private static BadInput Key(string name, string oldText, string newText, string key, string? locate = null, int exit = 2,
        (string Old, string New)? edit2 = null) =>
        new(name, Scenario(edit2 is { } e ? Edited(oldText, newText).Replace(e.Old, e.New) : Edited(oldText, newText)), ["memory", "{dir}/bad.yaml"], exit,
            $"bad.yaml:@: {key}", locate ?? newText.Trim().Split('\n')[0]);

    /// <summary>`sim run --out {out}` on the base scenario with one edit.</summary>
    private static BadInput Run(string name, string oldText, string newText, string names, string? locate = null, int exit = 2, params string[] extra) =>
        new(name, Scenario(Edited(oldText, newText)), ["run", "{dir}/bad.yaml", "--out", "{out}", "--no-report", .. extra], exit, names, locate);

    /// <summary>`sim run` of a trace replay whose file is <paramref name="trace"/>.</summary>
    private static BadInput Trace(string name, string trace, string names, string format = "azure") =>
        new(name, Scenario(Edited(Synthetic, $"  trace: {{path: trace.csv, format: {format}}}\n"), ("trace.csv", trace)),
            ["run", "{dir}/bad.yaml", "--out", "{out}", "--no-report"], 2, names, names.Contains('@') ? "trace:" : null);

    private static BadInput Flags(string name, string names, params string[] args) =>
        new(name, Scenario(Base + "\n"), args, 2, names);

    private static readonly string[] Step = ["step", "--model", "llama-3.1-8b", "--gpu", "H100-SXM-80GB", "--tp", "1", "--phase", "decode", "--prompt", "128"];
    private static readonly string[] Coll = ["collective", "--gpu", "H100-SXM-80GB", "--op", "all_reduce", "--ranks", "8", "--bytes", "1M"];

    private static string[] With(string[] args, params string[] changes)
    {
        var list = args.ToList();
        for (int i = 0; i < changes.Length; i += 2)
        {
            int at = list.IndexOf(changes[i]);
            if (changes[i + 1] == "<drop>") { list.RemoveRange(at, 2); continue; }
            if (at >= 0) list[at + 1] = changes[i + 1];
            else list.AddRange([changes[i], changes[i + 1]]);
        }
        return list.ToArray();
    }

    private const string ServingRow =
        "s,trtllm,1,llama-3.1-70b,H100-SXM-80GB,2,fp8,fp8,500,100,concurrency,1,0,0.9,256,8192,mean,50,19,52,u";

    /// <summary>`sim validate` over a copy of data/ whose serving folder holds one serving CSV with <paramref name="row"/>.</summary>
    private static BadInput ValidateServing(string name, string row, string names) =>
        ValidateWith(name, "data/calibration/serving/bad.csv", string.Join(",", Simulator.Scenarios.ServingValidation.Columns), row, names, LinkData);

    private const string OfflineLatencyRow = "s,vllm,1,llama-3.1-8b,H200-SXM-141GB,1,bf16,bf16,32,128,8,mean,833.4,u";

    /// <summary>`sim validate` over a copy of data/ whose serving folder holds one offline-latency CSV with <paramref name="row"/>.</summary>
    private static BadInput ValidateOfflineLatency(string name, string row, string names) =>
        ValidateWith(name, "data/calibration/serving/bad.csv", string.Join(",", Simulator.Scenarios.OfflineLatencyValidation.Columns), row, names, LinkData);

    /// <summary>`sim validate --data {dir}/data` with one data file, <paramref name="header"/> and <paramref name="row"/>, the rest linked by <paramref name="prepare"/>.</summary>
    private static BadInput ValidateWith(string name, string file, string header, string row, string names, Action<string> prepare) =>
        new(name, new Dictionary<string, string> { [file] = header + "\n" + row + "\n" },
            ["validate", "--data", "{dir}/data", "--out", "{out}"], 2, names, Prepare: prepare);

    /// <summary>Links every shipped data folder but the serving one (and the step-time file in it) into {dir}/data.</summary>
    private static void LinkData(string dir)
    {
        var cal = Path.Combine(dir, "data", "calibration");
        foreach (var d in new[] { "compute", "measured", "network", "memory" })
            Directory.CreateSymbolicLink(Path.Combine(cal, d), TestPaths.Data("calibration", d));
        Directory.CreateSymbolicLink(Path.Combine(dir, "data", "models"), TestPaths.Data("models"));
        File.CreateSymbolicLink(Path.Combine(cal, "serving", "splitwise-a100.csv"), TestPaths.Data("calibration", "serving", "splitwise-a100.csv"));
    }

    private const string PublicNcclRow = "all_reduce,8,1,8,36.22,,auto,auto,2.26.2,n,https://example.org/x";

    /// <summary>`sim validate` over a copy of data/ whose h100_public.csv holds one row, <paramref name="row"/>.</summary>
    private static BadInput ValidatePublicCollective(string name, string row, string names) =>
        ValidateWith(name, "data/calibration/network/nccl-tests/h100_public.csv", string.Join(",", Simulator.Hardware.Calibration.PublicNcclTests.Columns),
            row, names, LinkDataButH100Collectives);

    /// <summary>Links every shipped data folder and nccl-tests file but h100_public.csv into {dir}/data.</summary>
    private static void LinkDataButH100Collectives(string dir)
    {
        var cal = Path.Combine(dir, "data", "calibration");
        foreach (var d in new[] { "compute", "measured", "serving", "memory" })
            Directory.CreateSymbolicLink(Path.Combine(cal, d), TestPaths.Data("calibration", d));
        Directory.CreateSymbolicLink(Path.Combine(dir, "data", "models"), TestPaths.Data("models"));
        foreach (var f in Directory.GetFiles(TestPaths.Data("calibration", "network", "nccl-tests")).Where(f => !f.EndsWith("h100_public.csv")))
            File.CreateSymbolicLink(Path.Combine(cal, "network", "nccl-tests", Path.GetFileName(f)), f);
    }

    public static IEnumerable<BadInput> Corpus()
    {
        // ---- sim validate: public nccl-tests rows
        yield return ValidatePublicCollective("validate: public collective time negative", PublicNcclRow.Replace(",36.22,", ",-3,"),
            "h100_public.csv:2: time_us: '-3' is not a positive number");
        yield return ValidatePublicCollective("validate: public collective size zero", PublicNcclRow.Replace(",1,8,", ",1,0,"),
            "h100_public.csv:2: bytes: '0' is not a byte count");
        yield return ValidatePublicCollective("validate: public collective one GPU", PublicNcclRow.Replace("all_reduce,8,", "all_reduce,1,"),
            "h100_public.csv:2: num_gpus: '1' is not a whole number from 2");
        yield return ValidatePublicCollective("validate: public collective across nodes", PublicNcclRow.Replace(",8,1,8,", ",8,2,8,"),
            "h100_public.csv:2: nodes: 2; only single-node figures are replayed");
        yield return ValidatePublicCollective("validate: public collective algorithm unknown", PublicNcclRow.Replace(",auto,auto,", ",ringx,auto,"),
            "h100_public.csv:2: algo:");
        // ---- sim validate: serving benchmark files
        yield return ValidateServing("validate: serving load not allowed", ServingRow.Replace(",concurrency,", ",closed,"), "serving/bad.csv:2: load: 'closed'");
        yield return ValidateServing("validate: serving ttft not a number", ServingRow.Replace(",50,19,", ",fast,19,"), "serving/bad.csv:2: ttft_ms: 'fast'");
        yield return ValidateServing("validate: serving model unknown", ServingRow.Replace(",llama-3.1-70b,", ",llama-9-70b,"), "serving/bad.csv:2: model: 'llama-9-70b'");
        yield return ValidateServing("validate: serving row short", "s,trtllm,1", "serving/bad.csv:2: 3 fields");
        yield return ValidateServing("validate: serving layout does not fit", ServingRow.Replace(",2,fp8,fp8,", ",1,bf16,bf16,"), "serving/bad.csv:2: tp: the plan does not fit in GPU memory");
        yield return ValidateServing("validate: serving prompt over trtllm's token budget", ServingRow.Replace(",500,100,", ",9000,100,"), "serving/bad.csv:2: input_tokens: 9000-token prompts never run under the trtllm scheduler");
        yield return ValidateOfflineLatency("validate: offline latency not a number", OfflineLatencyRow.Replace(",833.4,", ",slow,"), "serving/bad.csv:2: latency_ms: 'slow'");
        yield return ValidateOfflineLatency("validate: offline latency batch zero", OfflineLatencyRow.Replace(",128,8,", ",128,0,"), "serving/bad.csv:2: batch: '0' is not allowed; allowed an integer from 1 to 1,024");
        yield return ValidateOfflineLatency("validate: offline latency batch huge", OfflineLatencyRow.Replace(",128,8,", ",128,80000000,"), "serving/bad.csv:2: batch: '80000000' is not allowed; allowed an integer from 1 to 1,024 (the generated scenario's max_num_seqs");
        yield return ValidateOfflineLatency("validate: offline latency prompt huge", OfflineLatencyRow.Replace(",32,128,", ",2000000000,128,"), "serving/bad.csv:2: input_tokens: '2000000000' is not allowed; allowed an integer from 1 to 131,072");
        yield return ValidateOfflineLatency("validate: offline latency output huge", OfflineLatencyRow.Replace(",32,128,", ",32,500000,"), "serving/bad.csv:2: output_tokens: '500000' is not allowed; allowed an integer from 1 to 131,072");
        // A GPU as the source's table spells it: the generated scenario's error, told as the row's column (no YAML line).
        yield return ValidateOfflineLatency("validate: offline latency GPU as the source spells it", OfflineLatencyRow.Replace(",H200-SXM-141GB,", ",A100-SXM4-80GB,"),
            "serving/bad.csv:2: gpu: unknown GPU preset 'A100-SXM4-80GB' (did you mean 'A100-SXM-80GB'?)");
        yield return ValidateOfflineLatency("validate: offline latency layout does not fit", OfflineLatencyRow.Replace(",llama-3.1-8b,H200-SXM-141GB,1,", ",mixtral-8x7b,H100-SXM-80GB,1,"),
            "serving/bad.csv:2: tp: the plan does not fit in GPU memory");
        yield return ValidateOfflineLatency("validate: offline latency engine unknown", OfflineLatencyRow.Replace(",vllm,", ",vllm2,"), "serving/bad.csv:2: engine: 'vllm2'");

        // ---- scenario keys
        yield return Key("unknown key", "  max_num_seqs: 256", "  max_num_sqes: 256", "scheduler.max_num_sqes");
        yield return Key("unknown top-level key", "router: least_outstanding", "routr: least_outstanding", "routr");
        yield return Key("duplicate key", "  block_size: 16", "  block_size: 16\n  block_size: 32", "yaml", "block_size: 32");
        yield return Key("integer given a word", "  max_num_seqs: 256", "  max_num_seqs: lots", "scheduler.max_num_seqs");
        yield return Key("integer given a fraction", "  block_size: 16", "  block_size: 1.5", "scheduler.block_size");
        yield return Key("memory utilization above 1", "  gpu_memory_utilization: 0.90", "  gpu_memory_utilization: 1.5", "scheduler.gpu_memory_utilization");
        yield return Key("memory utilization 0", "  gpu_memory_utilization: 0.90", "  gpu_memory_utilization: 0", "scheduler.gpu_memory_utilization");
        yield return Key("block size 0", "  block_size: 16", "  block_size: 0", "scheduler.block_size");
        yield return Key("batched tokens below max_num_seqs", "  max_num_seqs: 256", "  max_num_seqs: 256\n  max_num_batched_tokens: 100", "scheduler.max_num_batched_tokens", "max_num_batched_tokens");
        yield return Key("boolean given maybe", "  enable_chunked_prefill: true", "  enable_chunked_prefill: maybe", "scheduler.enable_chunked_prefill");
        yield return Key("misspelt policy", "  policy: vllm", "  policy: sarati", "scheduler.policy");
        yield return Key("unknown preemption", "  preemption: recompute", "  preemption: drop", "scheduler.preemption");
        yield return Key("unknown router", "router: least_outstanding", "router: fastest", "router");
        yield return Key("unknown engine", "engine: vllm", "engine: tensorrt", "engine");
        yield return Key("engine version not a release", "engine: vllm", "engine: vllm\nengine_version: latest", "engine_version", "engine_version: latest");
        yield return Key("engine version on another engine", "engine: vllm", "engine: trtllm\nengine_version: 0.11.0", "engine_version", "engine_version: 0.11.0");
        yield return Key("engine version with a fifth part", "engine: vllm", "engine: vllm\nengine_version: 0.10.1.1.1", "engine_version: '0.10.1.1.1' is not a release; expected auto or a vLLM release: major.minor[.patch[.build]]", "engine_version: 0.10.1.1.1");
        yield return Key("engine version rc release on another engine", "engine: vllm", "engine: trtllm\nengine_version: 0.11.0rc1", "engine_version: a release applies only to engine vllm (got engine trtllm)", "engine_version: 0.11.0rc1");
        yield return Key("unknown front-end model", "engine: vllm", "engine: vllm\nfrontend: {model: mm1}", "frontend.model", "frontend: {model: mm1}");
        yield return Key("zero API servers", "engine: vllm", "engine: vllm\nfrontend: {model: queue, api_server_count: 0}", "frontend.api_server_count", "frontend: {model: queue, api_server_count: 0}");
        yield return Key("API server count a fraction", "engine: vllm", "engine: vllm\nfrontend: {model: queue, api_server_count: 1.5}", "frontend.api_server_count", "frontend: {model: queue, api_server_count: 1.5}");
        yield return Key("API servers under the delay model", "engine: vllm", "engine: vllm\nfrontend: {api_server_count: 2}", "frontend.api_server_count", "frontend: {api_server_count: 2}");
        yield return Key("negative per-request front-end cost", "engine: vllm", "engine: vllm\nfrontend: {per_request_us: -1}", "frontend.per_request_us", "frontend: {per_request_us: -1}");
        yield return Key("per-token front-end cost a word", "engine: vllm", "engine: vllm\nfrontend: {per_output_token_us: fast}", "frontend.per_output_token_us", "frontend: {per_output_token_us: fast}");
        yield return Key("per-request front-end cost past a second", "engine: vllm", "engine: vllm\nfrontend: {per_request_us: 1e16}", "frontend.per_request_us", "frontend: {per_request_us: 1e16}");
        yield return Key("per-input-token front-end cost past a second", "engine: vllm", "engine: vllm\nfrontend: {per_input_token_us: 2e6}", "frontend.per_input_token_us", "frontend: {per_input_token_us: 2e6}");
        yield return Key("per-output-token front-end cost past a second", "engine: vllm", "engine: vllm\nfrontend: {model: queue, per_output_token_us: 1e12}", "frontend.per_output_token_us", "frontend: {model: queue, per_output_token_us: 1e12}");
        yield return Key("a billion API servers", "engine: vllm", "engine: vllm\nfrontend: {model: queue, api_server_count: 1000000000}", "frontend.api_server_count", "frontend: {model: queue, api_server_count: 1000000000}");
        yield return Key("unknown front-end key", "engine: vllm", "engine: vllm\nfrontend: {servers: 2}", "frontend.servers", "frontend: {servers: 2}");
        yield return Key("unknown network model", "network: {model: analytic}", "network: {model: packet}", "network.model");
        yield return Key("unknown weight precision", "precision: {weights: bf16, kv_cache: bf16}", "precision: {weights: fp4, kv_cache: bf16}", "precision.weights");
        yield return Key("int4 KV cache", "precision: {weights: bf16, kv_cache: bf16}", "precision: {weights: bf16, kv_cache: int4}", "precision.kv_cache");
        yield return Key("unknown GPU preset", "  gpu: H100-SXM-80GB", "  gpu: H900-XYZ", "cluster.gpu");
        yield return Key("unknown link preset", "  intra_node: nvlink4", "  intra_node: nvlink9", "cluster.intra_node");
        yield return Key("zero nodes", "  nodes: 1", "  nodes: 0", "cluster.nodes");
        yield return new BadInput("fault naming a GPU beyond the pools' cluster", Scenario(PoolsWithFault.Replace("gpu: 15}", "gpu: 16}")),
            ["run", "{dir}/bad.yaml", "--out", "{out}", "--no-report"], 2, "bad.yaml:@: faults[0].gpu: 16 is out of range; expected an integer from 0 to 15", "  - {at_s");
        yield return new BadInput("fault naming a node beyond the pools' cluster", Scenario(PoolsWithFault.Replace("kind: gpu_down, gpu: 15}", "kind: node_down, node: 2}")),
            ["run", "{dir}/bad.yaml", "--out", "{out}", "--no-report"], 2, "bad.yaml:@: faults[0].node: 2 is out of range; expected an integer from 0 to 1", "  - {at_s");
        yield return Key("negative gpus per node", "  gpus_per_node: 8", "  gpus_per_node: -1", "cluster.gpus_per_node");
        yield return Key("unknown model preset", "model: llama-3.1-8b", "model: llama-9-1b", "model");
        yield return Key("TP not dividing heads", "  tensor_parallel_size: 2", "  tensor_parallel_size: 3", "parallelism.tensor_parallel_size");
        yield return Key("TP 0", "  tensor_parallel_size: 2", "  tensor_parallel_size: 0", "parallelism.tensor_parallel_size");
        yield return Key("more GPUs than the cluster", "  replicas: 1", "  replicas: 5", "parallelism.replicas");
        yield return Key("DP attention with a dense model", "  replicas: 1", "  replicas: 1\n  data_parallel_size: 2", "parallelism.data_parallel_size", "data_parallel_size");
        yield return Key("enable_expert_parallel with a dense model", "  replicas: 1", "  replicas: 1\n  data_parallel_size: 2\n  enable_expert_parallel: true",
            "parallelism.enable_expert_parallel", "enable_expert_parallel");
        yield return Key("EP = TP x DP not dividing the experts", "model: llama-3.1-8b\n", "model: mixtral-8x7b\n",
            "parallelism.data_parallel_size", "data_parallel_size", edit2: ("  tensor_parallel_size: 2\n  replicas: 1", "  tensor_parallel_size: 1\n  replicas: 1\n  data_parallel_size: 3\n  enable_expert_parallel: true"));
        yield return Key("DP attention with pipeline stages", "model: llama-3.1-8b\n", "model: mixtral-8x7b\n",
            "parallelism.data_parallel_size", "data_parallel_size", edit2: ("  tensor_parallel_size: 2\n  replicas: 1", "  tensor_parallel_size: 1\n  pipeline_parallel_size: 2\n  replicas: 1\n  data_parallel_size: 2\n  enable_expert_parallel: true"));
        yield return Key("data_parallel_size 0", "  replicas: 1", "  replicas: 1\n  data_parallel_size: 0", "parallelism.data_parallel_size", "data_parallel_size");
        yield return Key("unknown all-to-all kernels", "moe: {routing_skew: 0}", "moe: {routing_skew: 0, all_to_all: deepep}", "moe.all_to_all");
        yield return Key("negative seed", "seed: 1", "seed: -1", "seed");
        yield return Key("fractional seed", "seed: 1", "seed: 1.5", "seed");
        yield return Key("invalid name", "name: corpus", "name: 'my run!'", "name");
        yield return Key("percentile above 100", "slo: {ttft_ms: 400, tpot_ms: 55, percentile: 95}", "slo: {ttft_ms: 400, tpot_ms: 55, percentile: 101}", "slo.percentile");
        yield return Key("negative TTFT bound", "slo: {ttft_ms: 400, tpot_ms: 55, percentile: 95}", "slo: {ttft_ms: -5, tpot_ms: 55, percentile: 95}", "slo.ttft_ms");
        yield return Key("sample interval 0", "output: {timeseries_interval_s: 1.0}", "output: {timeseries_interval_s: 0}", "output.timeseries_interval_s");
        yield return Key("unknown iterations mode", "output: {timeseries_interval_s: 1.0}", "output: {timeseries_interval_s: 1.0, iterations: some}", "output.iterations");
        yield return Key("iterations budget of one row", "output: {timeseries_interval_s: 1.0}", "output: {timeseries_interval_s: 1.0, iterations_max_rows: 1}", "output.iterations_max_rows");
        yield return Key("run.threads 0", "moe: {routing_skew: 0}", "moe: {routing_skew: 0}\nrun: {threads: 0}", "run.threads", "run: {threads");
        yield return Key("run.threads -1", "moe: {routing_skew: 0}", "moe: {routing_skew: 0}\nrun: {threads: -1}", "run.threads", "run: {threads");
        yield return Key("run.threads many", "moe: {routing_skew: 0}", "moe: {routing_skew: 0}\nrun: {threads: many}", "run.threads", "run: {threads");
        yield return Key("negative routing skew", "moe: {routing_skew: 0}", "moe: {routing_skew: -1}", "moe.routing_skew");
        yield return Key("rate 0", "arrivals: {process: poisson, rate_per_s: 4}", "arrivals: {process: poisson, rate_per_s: 0}", "workload.arrivals.rate_per_s");
        yield return Key("misspelt distribution, one error", "input_tokens: {dist: lognormal, mean: 512, sigma: 0.8}", "input_tokens: {dist: lognormall, mean: 512, sigma: 0.8}", "workload.input_tokens.dist");
        yield return Key("misspelt process with its cv, one error", "arrivals: {process: poisson, rate_per_s: 4}", "arrivals: {process: gama, rate_per_s: 4, cv: 2}", "workload.arrivals.process");
        yield return Key("cv on a poisson process", "arrivals: {process: poisson, rate_per_s: 4}", "arrivals: {process: poisson, rate_per_s: 4, cv: 2}", "workload.arrivals.cv");
        yield return Key("input tokens 0", "  input_tokens: {dist: lognormal, mean: 512, sigma: 0.8}", "  input_tokens: 0", "workload.input_tokens");
        yield return Key("uniform max below min", "output_tokens: {dist: fixed, value: 16}", "output_tokens: {dist: uniform, min: 10, max: 5}", "workload.output_tokens.max");
        yield return Key("zero requests", "  requests: 20", "  requests: 0", "workload.requests");
        yield return Key("missing model", "model: llama-3.1-8b\n", "", "model", "name: corpus");
        yield return Key("workload with no bound", "  requests: 20\n", "", "workload", "workload:");
        yield return Key("trace and generator together", "  requests: 20", "  requests: 20\n  trace: {path: bad.yaml}", "workload.trace", "trace:");
        yield return Key("hidden_size 0", "model: llama-3.1-8b\n", InlineModel.Replace("hidden_size: 4096", "hidden_size: 0"), "model.hidden_size", "hidden_size");
        yield return Key("negative hidden_size", "model: llama-3.1-8b\n", InlineModel.Replace("hidden_size: 4096", "hidden_size: -4096"), "model.hidden_size", "hidden_size");
        yield return Key("5 KV heads for 32 heads", "model: llama-3.1-8b\n", InlineModel.Replace("num_key_value_heads: 8", "num_key_value_heads: 5"), "model.num_key_value_heads", "num_key_value_heads");
        yield return Key("zero layers", "model: llama-3.1-8b\n", InlineModel.Replace("num_hidden_layers: 4", "num_hidden_layers: 0"), "model.num_hidden_layers", "num_hidden_layers");
        yield return Key("inline model missing vocab", "model: llama-3.1-8b\n", InlineModel.Replace("  vocab_size: 32000\n", ""), "model.vocab_size", "^model:");
        yield return Key("negative GPU memory", "  gpu: H100-SXM-80GB", "  gpu: {memory_gb: -80, hbm_tbps: 3.35, bf16_tflops: 989}", "cluster.gpu.memory_gb", "gpu:");
        yield return Key("zero GPU memory", "  gpu: H100-SXM-80GB", "  gpu:\n    hbm_tbps: 3.35\n    memory_gb: 0\n    bf16_tflops: 989", "cluster.gpu.memory_gb", "memory_gb");
        yield return Key("negative link bandwidth", "  intra_node: nvlink4", "  intra_node: {kind: nvlink, bandwidth_gbps: -1, latency_us: 1}", "cluster.intra_node.bandwidth_gbps", "intra_node");
        yield return Key("missing hf_config file", "model: llama-3.1-8b", "model: {hf_config: nothere.json}", "model.hf_config");
        yield return Key("empty sweep", "moe: {routing_skew: 0}", "moe: {routing_skew: 0}\nsweep: {}", "sweep", "sweep:");
        yield return Key("sweep value not a list", "moe: {routing_skew: 0}", "moe: {routing_skew: 0}\nsweep: {parallelism.microbatches: 4}", "sweep.parallelism.microbatches", "sweep:");
        yield return new BadInput("bad value in a sweep list", Scenario(Edited("moe: {routing_skew: 0}", "moe: {routing_skew: 0}\nsweep:\n  scheduler.policy: [vllm, sarati]")),
            ["sweep", "{dir}/bad.yaml", "--out", "{out}", "--no-report"], 2, "bad.yaml:@: scheduler.policy", "sarati");
        yield return Key("plan does not fit", "model: llama-3.1-8b", "model: llama-3.1-405b", "parallelism", "parallelism:", exit: 3);
        yield return Run("plan does not fit, run", "model: llama-3.1-8b", "model: llama-3.1-405b", "bad.yaml:@: parallelism", "parallelism:", exit: 3);
        yield return Key("cost for an unknown GPU", "moe: {routing_skew: 0}", "moe: {routing_skew: 0}\ncost:\n  gpu_hour_usd: {H100-SXM-80GB: 2.5, H900: 9}", "cost.gpu_hour_usd.H900", "gpu_hour_usd");
        yield return Key("cost price zero", "moe: {routing_skew: 0}", "moe: {routing_skew: 0}\ncost:\n  gpu_hour_usd:\n    H100-SXM-80GB: 0", "cost.gpu_hour_usd.H100-SXM-80GB", "    H100-SXM-80GB: 0");
        yield return Key("cost prices not a map", "moe: {routing_skew: 0}", "moe: {routing_skew: 0}\ncost:\n  gpu_hour_usd: 2.5", "cost.gpu_hour_usd", "gpu_hour_usd");
        yield return Key("misspelt plan key", "moe: {routing_skew: 0}", "moe: {routing_skew: 0}\nplan: {disagregation: true}", "plan.disagregation", "plan:");
        yield return new BadInput("plan on a GPU without a price", Scenario(Edited("moe: {routing_skew: 0}", "moe: {routing_skew: 0}\ncost: {gpu_hour_usd: {H100-SXM-80GB: 2.5}}")),
            ["plan", "{dir}/bad.yaml", "--gpus", "1", "--gpu", "H200-SXM-141GB", "--out", "{out}"], 2, "--gpu H200-SXM-141GB: no price in cost.gpu_hour_usd");
        yield return Run("run on a GPU without a price", "moe: {routing_skew: 0}", "moe: {routing_skew: 0}\ncost: {gpu_hour_usd: {H200-SXM-141GB: 3.5}}",
            "bad.yaml:@: cost.gpu_hour_usd", "cost:");
        yield return Key("trace time_scale 0", Synthetic, "  trace: {path: bad.yaml, format: azure, time_scale: 0}\n", "workload.trace.time_scale", "trace:");
        yield return Key("trace end before start", Synthetic, "  trace: {path: bad.yaml, format: azure, start_s: 10, end_s: 5}\n", "workload.trace.end_s", "trace:");
        yield return Key("misspelt trace format", Synthetic, "  trace: {path: bad.yaml, format: azur}\n", "workload.trace.format", "trace:");

        // ---- YAML syntax
        yield return Key("unclosed brace followed by more lines", "precision: {weights: bf16, kv_cache: bf16}", "precision: {weights: bf16, kv_cache: bf16", "yaml", "precision:");
        yield return Key("unclosed bracket followed by more lines", "moe: {routing_skew: 0}", "moe: {routing_skew: 0}\nsweep: {seed: [1, 2}", "yaml", "sweep:");
        yield return new BadInput("tab on line 9", Scenario(Edited("model: llama-3.1-8b", "model:\tllama-3.1-8b").Replace("  nodes: 1", "\tnodes: 1")),
            ["memory", "{dir}/bad.yaml"], 2, "bad.yaml:@: yaml", "\tnodes");
        yield return Key("second YAML document", "moe: {routing_skew: 0}", "moe: {routing_skew: 0}\n---\nname: other", "yaml", "---");
        yield return new BadInput("empty file", Scenario(""), ["memory", "{dir}/bad.yaml"], 2, "bad.yaml:1: scenario");
        yield return new BadInput("a list at the top", Scenario("- name: x\n- model: y\n"), ["memory", "{dir}/bad.yaml"], 2, "bad.yaml:1: scenario");
        yield return Key("mapping value in a plain scalar", "engine: vllm", "engine: vllm: fast", "yaml");
        yield return new BadInput("missing scenario file", Scenario(Base), ["run", "{dir}/nothere.yaml", "--out", "{out}"], 2, "nothere.yaml:1: file");

        // ---- traces
        yield return Trace("header-only trace", AzureHeader, "trace.csv has a header but no requests");
        yield return Trace("empty trace", "", "trace.csv is empty");
        yield return Trace("word in a token column", AzureHeader + "2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:50.9951690,abc,109\n", "trace.csv:3: ContextTokens");
        yield return Trace("negative token count", AzureHeader + "2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:50.9951690,-5,109\n", "trace.csv:3: ContextTokens");
        yield return Trace("rows out of time order", AzureHeader + "2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:40.0000000,20,10\n", "trace.csv:3:");
        yield return Trace("unknown trace header", "when,in,out\n1,2,3\n", "bad.yaml:@: workload.trace.path", format: "auto");
        yield return Trace("bad timestamp", AzureHeader + "yesterday,374,44\n", "trace.csv:2: TIMESTAMP");
        yield return Run("missing trace file", Synthetic, "  trace: {path: nothere.csv}\n", "bad.yaml:@: workload.trace.path", "trace:");

        // ---- flags of run, sweep, memory
        yield return Flags("negative --seed", "error: --seed:", "run", "{dir}/bad.yaml", "--seed", "-3", "--out", "{out}");
        yield return Flags("--threads 0", "error: --threads:", "run", "{dir}/bad.yaml", "--threads", "0", "--out", "{out}");
        yield return Flags("word for --threads", "error: --threads:", "run", "{dir}/bad.yaml", "--threads", "many", "--out", "{out}");
        yield return Flags("word for --seed", "error: --seed:", "run", "{dir}/bad.yaml", "--seed", "x", "--out", "{out}");
        yield return Flags("trailing --set with no value", "error: --set:", "run", "{dir}/bad.yaml", "--out", "{out}", "--set");
        yield return Flags("--set without =", "--set:1: parallelism", "run", "{dir}/bad.yaml", "--out", "{out}", "--set", "parallelism");
        yield return Flags("--set of an unknown key", "--set:1: scheduler.max_num_sqes", "run", "{dir}/bad.yaml", "--out", "{out}", "--set", "scheduler.max_num_sqes=8");
        yield return Flags("--set of invalid YAML", "--set:1: model", "run", "{dir}/bad.yaml", "--out", "{out}", "--set", "model={");
        yield return Flags("--set out of range", "--set:2: parallelism.microbatches", "run", "{dir}/bad.yaml", "--out", "{out}", "--set", "seed=2", "--set", "parallelism.microbatches=0");
        yield return Flags("unknown option", "error: --bogus:", "run", "{dir}/bad.yaml", "--bogus");
        yield return Flags("unknown verb", "error: frobnicate:", "frobnicate");
        yield return Flags("run without a scenario", "error: scenario:", "run");
        yield return Flags("two scenarios", "error: {dir}/other.yaml:", "run", "{dir}/bad.yaml", "{dir}/other.yaml");
        yield return Flags("--jobs 0", "error: --jobs:", "sweep", "{dir}/bad.yaml", "--jobs", "0", "--out", "{out}");
        yield return Flags("sweep without a sweep block", "bad.yaml:1: sweep", "sweep", "{dir}/bad.yaml", "--out", "{out}");
        yield return Flags("memory with an extra argument", "error: maybe:", "memory", "{dir}/bad.yaml", "--json", "maybe");

        // ---- probes
        yield return Flags("step --tp not a number", "error: --tp:", With(Step, "--tp", "x"));
        yield return Flags("step without --prompt", "error: --prompt:", With(Step, "--prompt", "<drop>"));
        yield return Flags("step --prompt 0", "error: --prompt:", With(Step, "--prompt", "0"));
        yield return Flags("step --engine-version not a release", "error: --engine-version:", With(Step, "--engine-version", "latest"));
        yield return Flags("step --engine-version on another engine", "error: --engine-version:", With(Step, "--engine", "trtllm", "--engine-version", "0.11.0"));
        yield return Flags("step --engine misspelt with --engine-version", "error: --engine: ", With(Step, "--engine", "foo", "--engine-version", "0.14"));
        yield return Flags("step --engine-version a fifth part", "error: --engine-version: '0.10.1.1.1' is not a release; expected auto or a vLLM release: major.minor[.patch[.build]]", With(Step, "--engine-version", "0.10.1.1.1"));
        yield return Flags("step --prompt huge", "error: --prompt:", With(Step, "--prompt", "2000000000"));
        yield return Flags("step --batch huge", "error: --batch:", With(Step, "--batch", "100000000"));
        yield return Flags("step --context negative", "error: --context:", With(Step, "--context", "-1"));
        yield return Flags("step --tp not dividing heads", "error: --tp:", With(Step, "--tp", "3"));
        yield return Flags("step --phase misspelt", "error: --phase:", With(Step, "--phase", "dec"));
        yield return Flags("step --model unknown", "error: --model:", With(Step, "--model", "llama-9"));
        yield return Flags("step --gpu unknown", "error: --gpu:", With(Step, "--gpu", "H100"));
        yield return Flags("step --precision unknown", "error: --precision:", With(Step, "--precision", "fp4"));
        yield return Flags("step --calibration unknown", "error: --calibration:", With(Step, "--calibration", "b200"));
        yield return Flags("step --engine unknown", "error: --engine:", With(Step, "--engine", "trt"));
        yield return Flags("collective --ranks 100000000", "error: --ranks:", With(Coll, "--ranks", "100000000"));
        yield return Flags("collective --ranks 100000", "error: --ranks:", With(Coll, "--ranks", "100000"));
        yield return Flags("collective too many ranks on one node", "error: --ranks:", With(Coll, "--ranks", "4096"));
        yield return Flags("collective all_to_all too large", "error: --ranks:", With(Coll, "--op", "all_to_all", "--ranks", "8192", "--nodes", "8"));
        yield return Flags("collective ranks not a multiple of nodes", "error: --ranks:", With(Coll, "--nodes", "3"));
        yield return Flags("collective --bytes 1e30", "error: --bytes:", With(Coll, "--bytes", "1e30"));
        yield return Flags("collective --bytes negative", "error: --bytes:", With(Coll, "--bytes", "-5"));
        yield return Flags("collective --bytes 2TiB", "error: --bytes:", With(Coll, "--bytes", "2048GiB"));
        yield return Flags("collective --op misspelt", "error: --op:", With(Coll, "--op", "allred"));
        yield return Flags("collective --algorithm unknown", "error: --algorithm:", With(Coll, "--algorithm", "zigzag"));
        yield return Flags("collective --proto unknown", "error: --proto:", With(Coll, "--proto", "fast"));
        yield return Flags("collective --proto across nodes", "error: --proto:", With(Coll, "--ranks", "16", "--nodes", "2", "--proto", "ll"));
        yield return Flags("collective --proto not for the op", "error: --proto:", With(Coll, "--op", "all_to_all", "--proto", "ll128"));
        yield return Flags("collective --nodes 0", "error: --nodes:", With(Coll, "--nodes", "0"));
        yield return Flags("collective without --gpu", "error: --gpu:", With(Coll, "--gpu", "<drop>"));

        // ---- report inputs
        yield return new BadInput("report over a folder that is no run", Scenario(Base, ("plain/notes.txt", "hello")), ["report", "{dir}/plain", "--out", "{out}"], 2, "plain");
        yield return new BadInput("report over a corrupt summary.json", Scenario(Base, ("run/summary.json", "{not json"), ("run/.sim-run", "")), ["report", "{dir}/run", "--out", "{out}"], 2, "summary.json");

        yield return new BadInput("report over a requests.csv with a word for a number", Scenario(Base), ["report", "{dir}/run", "--out", "{out}"], 2, "run/requests.csv:3: arrival_s",
            Prepare: dir => CorruptRequests(dir, lines => lines[2] = string.Join(',', lines[2].Split(',').Select((f, i) => i == 1 ? "abc" : f))));
        yield return new BadInput("report over a cut-short requests.csv", Scenario(Base), ["report", "{dir}/run", "--out", "{out}"], 2, "run/requests.csv:4: row",
            Prepare: dir => CorruptRequests(dir, lines => lines[3] = lines[3][..(lines[3].Length / 3)]));
        yield return new BadInput("report over a requests.csv that ends in the middle of a row", Scenario(Base), ["report", "{dir}/run", "--out", "{out}"], 2, "run/requests.csv:4: row",
            Prepare: dir => CorruptRequests(dir, lines =>
            {
                lines[3] = lines[3][..(lines[3].Length / 2)];
                for (var i = 4; i < lines.Length; i++) lines[i] = "";
            }));
        yield return new BadInput("report over a requests.csv with a word in a column the report does not draw", Scenario(Base), ["report", "{dir}/run", "--out", "{out}"], 2, "run/requests.csv:3: output_tokens",
            Prepare: dir => CorruptRequests(dir, lines =>
            {
                var column = Array.IndexOf(lines[0].Split(','), "output_tokens");
                lines[2] = string.Join(',', lines[2].Split(',').Select((f, i) => i == column ? "many" : f));
            }));
        yield return new BadInput("report over a requests.csv with an unknown status", Scenario(Base), ["report", "{dir}/run", "--out", "{out}"], 2, "run/requests.csv:2: status",
            Prepare: dir => CorruptRequests(dir, lines => lines[1] = lines[1].Replace(",completed,", ",done,", StringComparison.Ordinal)));

        yield return new BadInput("report --out a user file", Scenario(Base, ("notes.txt", "precious")), ["report", "{dir}/run", "--out", "{dir}/notes.txt"], 2, "error: --out: {dir}/notes.txt is a file",
            Prepare: dir => CorruptRequests(dir, _ => { }));
        yield return new BadInput("report --out under /proc", Scenario(Base), ["report", "{dir}/run", "--out", "/proc/sim-report"], 2, "error: --out: /proc/sim-report is under /proc",
            Prepare: dir => CorruptRequests(dir, _ => { }));

        // ---- output targets
        yield return new BadInput("--out a folder of user files", Scenario(Base, ("mine/thesis.txt", "precious")), ["run", "{dir}/bad.yaml", "--out", "{dir}/mine", "--no-report"], 2, "error: --out: {dir}/mine holds 1");
        yield return new BadInput("--out a user file", Scenario(Base, ("notes.txt", "precious")), ["run", "{dir}/bad.yaml", "--out", "{dir}/notes.txt", "--no-report"], 2, "error: --out: {dir}/notes.txt is a file");
        yield return new BadInput("--out inside a user file", Scenario(Base, ("notes.txt", "precious")), ["run", "{dir}/bad.yaml", "--out", "{dir}/notes.txt/run", "--no-report"], 2, "error: --out:");
        yield return new BadInput("--out under /proc", Scenario(Base), ["run", "{dir}/bad.yaml", "--out", "/proc/sim-corpus", "--no-report"], 2, "error: --out: /proc/sim-corpus is under /proc");
        yield return new BadInput("--out under /sys", Scenario(Base), ["run", "{dir}/bad.yaml", "--out", "/sys/sim-corpus", "--no-report"], 2, "error: --out: /sys/sim-corpus is under /sys");
        yield return new BadInput("--out empty", Scenario(Base), ["run", "{dir}/bad.yaml", "--out", "", "--no-report"], 2, "error: --out:");
        yield return new BadInput("sweep --out a folder of user files",
            Scenario(Base + "\nsweep: {seed: [1, 2]}\n", ("mine/thesis.txt", "precious"), ("mine/data/x.csv", "1,2")),
            ["sweep", "{dir}/bad.yaml", "--out", "{dir}/mine", "--no-report"], 2, "error: --out: {dir}/mine holds 2");
        yield return new BadInput("sweep --shard of no point --out a folder of user files",
            Scenario(Base + "\nsweep: {seed: [1, 2]}\n", ("mine/thesis.txt", "precious")),
            ["sweep", "{dir}/bad.yaml", "--shard", "5/9", "--out", "{dir}/mine"], 2, "error: --out: {dir}/mine holds 1 file(s) or folder(s) that are not a sweep directory");
        yield return new BadInput("plan --out a folder of user files", Scenario(Base, ("mine/thesis.txt", "precious")),
            ["plan", "{dir}/bad.yaml", "--gpus", "1", "--out", "{dir}/mine"], 2, "error: --out: {dir}/mine holds 1 file(s) or folder(s) that are not a plan directory");
        yield return new BadInput("plan --shard --out a run directory", Scenario(Base),
            ["plan", "{dir}/bad.yaml", "--gpus", "1", "--shard", "0/2", "--out", "{dir}/run"], 2, "error: --out: {dir}/run holds",
            Prepare: dir => CorruptRequests(dir, _ => { }));
        yield return new BadInput("validate --out a folder of user files", Scenario(Base, ("mine/thesis.txt", "precious")),
            ["validate", "--out", "{dir}/mine"], 2, "error: --out: {dir}/mine holds 1 file(s) or folder(s) that are not a validate directory");
        yield return new BadInput("merge --out a folder of user files", Scenario(Base + "\nsweep: {seed: [1]}\n", ("mine/thesis.txt", "precious")),
            ["merge", "{dir}/shard", "--out", "{dir}/mine"], 2, "error: --out: {dir}/mine holds 1 file(s) or folder(s) that are not a sweep directory",
            Prepare: dir => Assert.That(CliHarness.Run("sweep", Path.Combine(dir, "bad.yaml"), "--shard", "0/1", "--out", Path.Combine(dir, "shard"), "--jobs", "1").ExitCode, Is.EqualTo(0)));
    }

    /// <summary>Runs the base scenario into {dir}/run (no report) and edits its requests.csv lines.</summary>
    private static void CorruptRequests(string dir, Action<string[]> edit)
    {
        var r = CliHarness.Run("run", Path.Combine(dir, "bad.yaml"), "--out", Path.Combine(dir, "run"), "--no-report");
        Assert.That(r.ExitCode, Is.EqualTo(0), "setup run\n" + r);
        var path = Path.Combine(dir, "run", "requests.csv");
        var lines = File.ReadAllText(path).Split('\n');
        edit(lines);
        File.WriteAllText(path, string.Join('\n', lines));
    }

    [GeneratedRegex(@"\bSystem\.[A-Z]|Exception\b|`1")]
    private static partial Regex DotNetName();

    [TestCaseSource(nameof(Corpus))]
    public void MustFail_OneLocatedErrorLine_NothingLeftBehind(BadInput c)
    {
        using var tmp = new TempDir();
        c.SetUp(tmp.Path);
        var before = Snapshot(tmp.Path);
        string outDir = tmp.Sub("out");
        var args = c.ArgsIn(tmp.Path);

        var r = CliHarness.Run(args);

        string names = c.Names.Replace("{dir}", tmp.Path);
        if (c.Locate is { } locate)
        {
            bool AtStart(string l) => locate.StartsWith('^') && l.StartsWith(locate[1..], StringComparison.Ordinal);
            int line = File.ReadAllLines(tmp.Sub("bad.yaml")).Select((l, i) => (l, i))
                .First(x => AtStart(x.l) || (!locate.StartsWith('^') && x.l.Contains(locate, StringComparison.Ordinal))).i + 1;
            names = names.Replace("@", line.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        Assert.That(r.ExitCode, Is.EqualTo(c.Exit), r.ToString());
        Assert.That(r.ErrorLines, Has.Count.EqualTo(1), "one mistake, one error line\n" + r);
        Assert.That(r.ErrorLines[0], Does.StartWith("error: "), r.ToString());
        Assert.That(r.ErrorLines[0], Does.Contain(names), "the line names the file:line:key, flag or row\n" + r);
        Assert.That(r.StdErr, Does.Not.Contain("   at "), "no stack trace\n" + r);
        Assert.That(DotNetName().IsMatch(r.StdErr), Is.False, "no .NET type names\n" + r);
        Assert.That(Directory.Exists(outDir), Is.False, "no output folder is left behind");
        Assert.That(Snapshot(tmp.Path), Is.EqualTo(before), "no file added, changed or deleted (no .partial- folder left)");
    }

    [Test]
    public void Corpus_HoldsMoreThanSixtyCases() =>
        Assert.That(Corpus().Count(), Is.GreaterThan(60));

    /// <summary>Every file under <paramref name="root"/> (hidden ones included) with its content.</summary>
    private static Dictionary<string, string> Snapshot(string root) =>
        Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories)
            .ToDictionary(p => Path.GetRelativePath(root, p), p => File.Exists(p) ? File.ReadAllText(p) : "<dir>");
}
