using System.Globalization;
using System.Text;
using Simulator.Inference.Workload;

namespace Simulator.Scenarios;

/// <summary>
/// Writes a resolved <see cref="Scenario"/> back as YAML with every default filled in, in the schema's key order,
/// deterministically (invariant culture, LF line ends): loading the text again gives an equal scenario.
/// </summary>
public static class ScenarioWriter
{
    /// <summary>The scenario as YAML.</summary>
    /// <param name="scenario">What to write.</param>
    /// <param name="pathsRelativeTo">Write file paths relative to this folder (e.g. where the YAML will be saved);
    /// null writes absolute paths.</param>
    public static string ToYaml(Scenario scenario, string? pathsRelativeTo = null)
    {
        var w = new Writer(pathsRelativeTo);
        var s = scenario;
        w.Line(0, "name", YamlText.String(s.Name));
        w.Line(0, "seed", Int(s.Seed));
        w.Open(0, "cluster");
        w.Preset(1, "gpu", s.Cluster.Gpu);
        w.Line(1, "nodes", Int(s.Cluster.Nodes));
        w.Line(1, "gpus_per_node", Int(s.Cluster.GpusPerNode));
        w.Preset(1, "intra_node", s.Cluster.IntraNode);
        w.Preset(1, "inter_node", s.Cluster.InterNode);
        w.Line(1, "fabric", s.Cluster.Fabric);
        w.Line(1, "oversubscription", Num(s.Cluster.Oversubscription));
        w.Open(0, "network");
        w.Line(1, "model", s.Network.Model);
        if (s.Model.Preset != null) w.Line(0, "model", YamlText.String(s.Model.Preset));
        else if (s.Model.HfConfigPath != null) { w.Open(0, "model"); w.Line(1, "hf_config", w.PathText(s.Model.HfConfigPath)); }
        else w.Spec(0, "model", s.Model.Inline!);
        w.Open(0, "precision");
        w.Line(1, "weights", s.Precision.Weights);
        w.Line(1, "kv_cache", s.Precision.KvCache);
        WriteParallelism(w, 0, s.Parallelism);
        WriteScheduler(w, 0, s.Scheduler);
        if (s.Pools.Count > 0)
        {
            w.Open(0, "pools");
            foreach (var pool in s.Pools)
            {
                w.Open(1, YamlText.String(pool.Name));
                w.Line(2, "role", pool.Role);
                w.Preset(2, "gpu", pool.Gpu);
                w.Line(2, "nodes", Int(pool.Nodes));
                w.Line(2, "gpus_per_node", Int(pool.GpusPerNode));
                w.Preset(2, "intra_node", pool.IntraNode);
                WriteParallelism(w, 2, pool.Parallelism);
                WriteScheduler(w, 2, pool.Scheduler);
                w.Open(2, "precision");
                w.Line(3, "weights", pool.Precision.Weights);
                w.Line(3, "kv_cache", pool.Precision.KvCache);
            }
        }
        // Written with pools, or when set without them (a sweep may add the pools), so that reading back gives the same scenario.
        if (s.Pools.Count > 0 || s.KvTransfer != new KvTransferSpec() || s.DecodeRouter != "least_outstanding")
        {
            w.Open(0, "kv_transfer");
            w.Line(1, "mode", s.KvTransfer.Mode);
            w.Line(0, "decode_router", s.DecodeRouter);
        }
        w.Line(0, "router", s.Router);
        w.Open(0, "router_options");
        w.Line(1, "cache_threshold", Num(s.RouterOptions.CacheThreshold));
        w.Line(1, "balance_abs_threshold", Int(s.RouterOptions.BalanceAbsThreshold));
        w.Line(1, "balance_rel_threshold", Num(s.RouterOptions.BalanceRelThreshold));
        w.Line(0, "engine", s.Engine);
        if (s.EngineVersion != "auto") w.Line(0, "engine_version", s.EngineVersion);
        w.Line(0, "calibration", s.Calibration);
        w.Line(0, "memory_accounting", s.MemoryAccounting);
        w.Line(0, "host_cpu", s.HostCpu);
        if (s.FrontEnd != new FrontEndSpec())
        {
            w.Open(0, "frontend");
            w.Line(1, "model", s.FrontEnd.Model);
            w.Line(1, "api_server_count", Int(s.FrontEnd.ApiServerCount));
            if (s.FrontEnd.PerRequestUs is double pr) w.Line(1, "per_request_us", Num(pr));
            if (s.FrontEnd.PerInputTokenUs is double pi) w.Line(1, "per_input_token_us", Num(pi));
            if (s.FrontEnd.PerOutputTokenUs is double po) w.Line(1, "per_output_token_us", Num(po));
        }
        w.Open(0, "workload");
        if (s.Workload.Trace is { } t)
        {
            w.Open(1, "trace");
            w.Line(2, "path", w.PathText(t.Path));
            w.Line(2, "format", TraceWorkloadSource.FormatName(t.Format));
            w.Line(2, "time_scale", Num(t.TimeScale));
            w.Line(2, "limit", t.Limit is long l ? l.ToString(CultureInfo.InvariantCulture) : "null");
            w.Line(2, "start_s", Num(t.StartS));
            w.Line(2, "end_s", t.EndS is double e ? Num(e) : "null");
            w.Line(2, "zero_output", t.ZeroOutput.ToString().ToLowerInvariant());
        }
        else if (s.Workload.Synthetic is { } syn)
        {
            var a = syn.Arrivals;
            w.Open(1, "arrivals");
            w.Line(2, "process", a.Process.ToString().ToLowerInvariant());
            w.Line(2, "rate_per_s", Num(a.RatePerS));
            if (a.Process == ArrivalProcess.Gamma) w.Line(2, "cv", Num(a.Cv));
            if (a.Process == ArrivalProcess.Burst) w.Line(2, "burst_size", Int(a.BurstSize));
            w.Length(1, "input_tokens", syn.InputTokens);
            w.Length(1, "output_tokens", syn.OutputTokens);
            w.Line(1, "requests", syn.Requests is long n ? n.ToString(CultureInfo.InvariantCulture) : "null");
            w.Line(1, "duration_s", syn.DurationS is double d ? Num(d) : "null");
            w.Open(1, "prefix");
            w.Line(2, "shared_tokens", Int(syn.SharedPrefixTokens));
            if (syn.Sessions is { } ss)
            {
                w.Open(1, "sessions");
                w.Line(2, "turns", Int(ss.Turns));
                w.Line(2, "think_time_s", Num(ss.ThinkTimeS));
            }
        }
        w.Open(0, "slo");
        w.Line(1, "ttft_ms", s.Slo.TtftMs is double ttft ? Num(ttft) : "null");
        w.Line(1, "tpot_ms", s.Slo.TpotMs is double tpot ? Num(tpot) : "null");
        w.Line(1, "percentile", Num(s.Slo.Percentile));
        w.Open(0, "moe");
        w.Line(1, "routing_skew", Num(s.Moe.RoutingSkew));
        if (s.Moe.AllToAll != "nccl") w.Line(1, "all_to_all", s.Moe.AllToAll);
        if (s.Sweep.Axes.Count > 0)
        {
            w.Open(0, "sweep");
            foreach (var axis in s.Sweep.Axes)
            {
                if (axis.IsZip)
                {
                    w.Open(1, "zip");
                    for (int k = 0; k < axis.Keys.Count; k++) w.Line(2, YamlText.String(axis.Keys[k]), new SpecList(axis.Values[k]).ToFlowText());
                }
                else
                {
                    w.Line(1, YamlText.String(axis.Keys[0]), new SpecList(axis.Values[0]).ToFlowText());
                }
            }
        }
        w.Open(0, "output");
        w.Line(1, "timeseries_interval_s", Num(s.Output.TimeseriesIntervalS));
        w.Line(1, "timeline_max_events", Int(s.Output.TimelineMaxEvents));
        w.Line(1, "format", s.Output.Format);
        w.Line(1, "iterations", s.Output.Iterations);
        w.Line(1, "iterations_max_rows", Int(s.Output.IterationsMaxRows));
        if (s.Faults != FaultsSpec.None) WriteFaults(w, s.Faults);
        if (s.Cost.GpuHourUsd.Count > 0)
        {
            w.Open(0, "cost");
            w.Open(1, "gpu_hour_usd");
            foreach (var (gpu, usd) in s.Cost.GpuHourUsd) w.Line(2, YamlText.String(gpu), Num(usd));
        }
        if (s.Plan != new PlanSpec())
        {
            w.Open(0, "plan");
            w.Line(1, "disaggregation", s.Plan.Disaggregation ? "true" : "false");
            w.Line(1, "knobs", s.Plan.Knobs ? "true" : "false");
        }
        return w.ToString();
    }

    /// <summary>faults, random_faults, retry and recovery, every default filled in (written only when one differs from its default).</summary>
    private static void WriteFaults(Writer w, FaultsSpec f)
    {
        if (f.Scripted.Count == 0) w.Line(0, "faults", "[]");
        else w.Open(0, "faults");
        foreach (var x in f.Scripted)
        {
            var parts = new List<string> { "at_s: " + Num(x.AtS), "kind: " + x.Kind };
            if (x.Gpu is int gpu) parts.Add("gpu: " + Int(gpu));
            if (x.Node is int node) parts.Add("node: " + Int(node));
            if (x.Link is { } link) parts.Add("link: " + YamlText.String(link));
            parts.Add("duration_s: " + (x.DurationS is double d ? Num(d) : "null"));
            if (x.Kind == "straggler") parts.Add("slowdown: " + Num(x.Slowdown));
            if (x.Kind == "link_degraded") parts.Add("bandwidth_factor: " + Num(x.BandwidthFactor));
            w.Item(1, "{" + string.Join(", ", parts) + "}");
        }
        if (f.GpuMtbfHours is double mtbf)
        {
            w.Open(0, "random_faults");
            w.Line(1, "gpu_mtbf_hours", Num(mtbf));
            w.Line(1, "repair_s", Num(f.RepairS));
        }
        w.Open(0, "retry");
        w.Line(1, "max_retries", Int(f.MaxRetries));
        w.Open(0, "recovery");
        w.Line(1, "weight_load_gbps", Num(f.WeightLoadGBps));
    }

    private static void WriteParallelism(Writer w, int depth, ParallelismSpec p)
    {
        w.Open(depth, "parallelism");
        int d = depth + 1;
        w.Line(d, "tensor_parallel_size", Int(p.TensorParallelSize));
        w.Line(d, "pipeline_parallel_size", Int(p.PipelineParallelSize));
        w.Line(d, "expert_parallel_size", Int(p.ExpertParallelSize));
        w.Line(d, "context_parallel_size", Int(p.ContextParallelSize));
        w.Line(d, "replicas", Int(p.Replicas));
        w.Line(d, "microbatches", Int(p.Microbatches));
        if (p.DataParallelSize != 1) w.Line(d, "data_parallel_size", Int(p.DataParallelSize));
        if (p.EnableExpertParallel) w.Line(d, "enable_expert_parallel", "true");
        if (p.LayersPerStage is { } split) w.Line(d, "layers_per_stage", "[" + string.Join(", ", split.Select(n => Int(n))) + "]");
    }

    private static void WriteScheduler(Writer w, int depth, SchedulerSpec sc)
    {
        w.Open(depth, "scheduler");
        int d = depth + 1;
        w.Line(d, "policy", sc.Policy);
        w.Line(d, "max_num_seqs", Int(sc.MaxNumSeqs));
        w.Line(d, "max_num_batched_tokens", Int(sc.MaxNumBatchedTokens));
        w.Line(d, "enable_chunked_prefill", sc.EnableChunkedPrefill ? "true" : "false");
        w.Line(d, "block_size", Int(sc.BlockSize));
        w.Line(d, "gpu_memory_utilization", Num(sc.GpuMemoryUtilization));
        w.Line(d, "preemption", sc.Preemption);
        w.Line(d, "chunk_size", sc.ChunkSize is int c ? Int(c) : "null");
        w.Line(d, "enable_prefix_caching", sc.EnablePrefixCaching ? "true" : "false");
        w.Line(d, "kv_offloading_size_gb", sc.KvOffloadingSizeGB is double gb ? Num(gb) : "null");
    }

    private static string Int(long v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>Shortest round-trip text; integral values keep a ".0" so they read back as the same double.</summary>
    private static string Num(double v)
    {
        string text = v.ToString("R", CultureInfo.InvariantCulture);
        return text.Contains('.') || text.Contains('E') ? text : text + ".0";
    }

    private sealed class Writer(string? relativeTo)
    {
        private readonly StringBuilder _sb = new();

        public void Line(int depth, string key, string value) => _sb.Append(' ', depth * 2).Append(key).Append(": ").Append(value).Append('\n');

        public void Open(int depth, string key) => _sb.Append(' ', depth * 2).Append(key).Append(":\n");

        public void Item(int depth, string value) => _sb.Append(' ', depth * 2).Append("- ").Append(value).Append('\n');

        public void Preset(int depth, string key, PresetOrSpec value)
        {
            if (value.Preset != null) Line(depth, key, YamlText.String(value.Preset));
            else Spec(depth, key, value.Inline!);
        }

        public void Spec(int depth, string key, SpecMap map)
        {
            Open(depth, key);
            foreach (var (k, v) in map.Entries)
            {
                if (v is SpecMap inner) Spec(depth + 1, YamlText.Scalar(k, false), inner);
                else Line(depth + 1, YamlText.Scalar(k, false), v.ToFlowText());
            }
        }

        public void Length(int depth, string key, LengthSpec l)
        {
            Open(depth, key);
            int d = depth + 1;
            switch (l.Dist)
            {
                case LengthDistribution.Fixed:
                    Line(d, "dist", "fixed");
                    Line(d, "value", Int(l.Value));
                    break;
                case LengthDistribution.Uniform:
                    Line(d, "dist", "uniform");
                    Line(d, "min", Int(l.Min));
                    Line(d, "max", Int(l.Max));
                    break;
                case LengthDistribution.Normal or LengthDistribution.LogNormal:
                    Line(d, "dist", l.Dist == LengthDistribution.Normal ? "normal" : "lognormal");
                    Line(d, "mean", Num(l.Mean));
                    Line(d, "sigma", Num(l.Sigma));
                    Line(d, "max", l.Max == int.MaxValue ? "null" : Int(l.Max));
                    break;
                case LengthDistribution.Empirical:
                    Line(d, "dist", "empirical");
                    Line(d, "path", PathText(l.TracePath!));
                    Line(d, "format", TraceWorkloadSource.FormatName(l.TraceFormat));
                    break;
            }
        }

        public string PathText(string fullPath)
        {
            string p = relativeTo is null ? fullPath : Path.GetRelativePath(Path.GetFullPath(relativeTo), fullPath);
            return YamlText.String(p.Replace('\\', '/'));
        }

        public override string ToString() => _sb.ToString();
    }
}
