using System.Globalization;
using System.Text;

namespace Simulator.Reports.Tests;

/// <summary>Writes small but complete run and sweep directories with the columns of docs/outputs.md.</summary>
internal static class Fixtures
{
    private static string F(double v) => v.ToString("0.######", CultureInfo.InvariantCulture);

    /// <summary>A temporary folder deleted by <see cref="IDisposable.Dispose"/>.</summary>
    public sealed class TempDir : IDisposable
    {
        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "report-test-" + Guid.NewGuid().ToString("N"));

        public TempDir() => Directory.CreateDirectory(Path);

        public string Sub(params string[] parts) => System.IO.Path.Combine(new[] { Path }.Concat(parts).ToArray());

        public void Dispose()
        {
            if (Directory.Exists(Path)) Directory.Delete(Path, true);
        }
    }

    /// <summary>Shape of a fixture run: a latency scale and a throughput make runs differ in a known way.</summary>
    public sealed record RunSpec(string Name, int Tp = 2, int Pp = 2, int Microbatches = 2, double LatencyScale = 1.0,
        double OutputTokensPerS = 1500, bool Moe = true, double? SloTtftMs = 2000, double? SloTpotMs = 100, int Requests = 200);

    private sealed class Lcg(ulong seed)
    {
        private ulong _s = seed;

        public double Next()
        {
            _s = _s * 6364136223846793005UL + 1442695040888963407UL;
            return (_s >> 11) * (1.0 / (1UL << 53));
        }
    }

    private static void Write(string path, StringBuilder sb) => File.WriteAllText(path, sb.ToString(), new UTF8Encoding(false));

    public static string WriteRun(string dir, RunSpec spec)
    {
        Directory.CreateDirectory(dir);
        var rng = new Lcg((ulong)spec.Name.Length * 7919 + (ulong)(spec.LatencyScale * 1000));
        var replicas = 2;
        var ttfts = new List<double>();
        var tpots = new List<double>();

        var req = new StringBuilder("request_id,arrival_s,replica,input_tokens,output_tokens,cached_tokens,status,first_token_s,completion_s,ttft_ms,tpot_ms,e2e_ms,queue_ms,preemptions\n");
        for (var i = 0; i < spec.Requests; i++)
        {
            var arrival = i * 0.05;
            var input = (int)(64 * Math.Pow(2, (int)(rng.Next() * 7)));
            var output = 16 + (int)(rng.Next() * 200);
            var queue = rng.Next() * 300 * spec.LatencyScale;
            var ttft = queue + input * 0.15 * spec.LatencyScale + 20;
            var tpot = (20 + rng.Next() * 30) * spec.LatencyScale;
            var e2e = ttft + tpot * (output - 1);
            if (i % 50 == 49)
            {
                req.Append($"{i},{F(arrival)},{i % replicas},{input},{output},0,rejected,,,,,,,0\n");
                continue;
            }
            ttfts.Add(ttft);
            tpots.Add(tpot);
            req.Append($"{i},{F(arrival)},{i % replicas},{input},{output},0,completed,{F(arrival + ttft / 1000)},{F(arrival + e2e / 1000)},{F(ttft)},{F(tpot)},{F(e2e)},{F(queue)},0\n");
        }
        Write(Path.Combine(dir, "requests.csv"), req);

        var it = new StringBuilder("replica,stage,iteration,microbatch,start_s,end_s,batch_size,prefill_tokens,decode_tokens,compute_ms,tp_comm_ms,ep_comm_ms,pp_comm_ms,cp_comm_ms,overhead_ms,kv_blocks_used\n");
        for (var r = 0; r < replicas; r++)
            for (var s = 0; s < spec.Pp; s++)
                for (var k = 0; k < 120; k++)
                {
                    // Stage s starts one stage-time later than stage s-1 (fill), and every M iterations waits for the last stage (bubble).
                    const double stageMs = 12;
                    var start = (s * stageMs + k * stageMs + (k / spec.Microbatches) * (spec.Pp - 1) * stageMs * 0.5) / 1000;
                    it.Append($"{r},{s},{k},{k % spec.Microbatches},{F(start)},{F(start + stageMs / 1000)},8,0,8,{F(9.0)},{F(1.5)},{F(spec.Moe ? 0.8 : 0)},{F(0.4)},0,{F(0.3)},{100 + k}\n");
                }
        Write(Path.Combine(dir, "iterations.csv"), it);

        var gpus = new StringBuilder("gpu,node,replica,stage,weights_gb,kv_capacity_gb,busy_fraction,idle_fraction,compute_fraction,comm_fraction,activation_gb,reserve_gb,free_gb" + (spec.Moe ? ",expert_load" : "") + "\n");
        var n = replicas * spec.Tp * spec.Pp;
        for (var g = 0; g < n; g++)
        {
            var busy = 0.6 + 0.03 * (g % 4);
            gpus.Append($"{g},{g / 8},{g / (spec.Tp * spec.Pp)},{g / spec.Tp % spec.Pp},{F(70.0 / spec.Tp / spec.Pp)},{F(40 - g * 0.2)},{F(busy)},{F(1 - busy)},{F(busy * 0.8)},{F(busy * 0.2)},{F(2.5)},{F(8)},{F(3 + g * 0.2)}");
            if (spec.Moe) gpus.Append(',').Append(F(1000 + 400 * (g % 3)));
            gpus.Append('\n');
        }
        Write(Path.Combine(dir, "gpus.csv"), gpus);

        var links = new StringBuilder("link,kind,from,to,bandwidth_gbps,bytes_carried,busy_fraction\n");
        for (var l = 0; l < 6; l++)
            links.Append($"l{l},{(l < 4 ? "nvlink" : "ib")},gpu{l},gpu{l + 1},{(l < 4 ? 450 : 50)},{1000000 * (l + 1)},{F(0.1 * (l + 1))}\n");
        Write(Path.Combine(dir, "links.csv"), links);

        var ts = new StringBuilder("time_s,replica,queued,running,kv_utilization,prefill_tokens_per_s,output_tokens_per_s,completed\n");
        for (var k = 0; k <= 20; k++)
            for (var r = 0; r < replicas; r++)
                ts.Append($"{F(k * 0.5)},{r},{(k * 3 + r) % 7},{20 + (k + r) % 5},{F(0.3 + 0.02 * k)},{F(4000 + 100 * r)},{F(spec.OutputTokensPerS / replicas + 20 * Math.Sin(k + r))},{k}\n");
        Write(Path.Combine(dir, "timeseries.csv"), ts);

        double P(List<double> v, double p) => Percentiles.Of(v, p);
        var slo = new List<string>();
        if (spec.SloTtftMs is { } st) slo.Add($"\"ttft_ms\": {F(st)}");
        if (spec.SloTpotMs is { } sp) slo.Add($"\"tpot_ms\": {F(sp)}");
        slo.Add("\"percentile\": 95");
        slo.Add("\"attainment\": 0.97");
        slo.Add($"\"goodput_requests_per_s\": {F(spec.OutputTokensPerS / 120)}");
        string Stats(List<double> v) =>
            $"{{\"mean\": {F(v.Average())}, \"p50\": {F(P(v, 50))}, \"p90\": {F(P(v, 90))}, \"p95\": {F(P(v, 95))}, \"p99\": {F(P(v, 99))}, \"max\": {F(v.Max())}}}";
        var bubble = 1 - (double)spec.Microbatches / (spec.Microbatches + spec.Pp - 1) * 0.95;
        var summary = "{\"scenario\": \"" + spec.Name + "\", \"seed\": 1,\n"
            + $" \"requests\": {{\"total\": {spec.Requests}, \"completed\": {ttfts.Count}, \"rejected\": {spec.Requests - ttfts.Count}, \"failed\": 0, \"unfinished\": 0}},\n"
            + $" \"ttft_ms\": {Stats(ttfts)},\n \"tpot_ms\": {Stats(tpots)},\n"
            + " \"e2e_ms\": {\"mean\": 0, \"p50\": 0, \"p90\": 0, \"p95\": 0, \"p99\": 0, \"max\": 0},\n"
            + $" \"throughput\": {{\"requests_per_s\": 19.6, \"input_tokens_per_s\": 9000, \"output_tokens_per_s\": {F(spec.OutputTokensPerS)}}},\n"
            + " \"slo\": {" + string.Join(", ", slo) + "},\n"
            + $" \"pipeline\": {{\"stages\": {spec.Pp}, \"microbatches\": {spec.Microbatches}, \"bubble_fraction\": {F(bubble)}}},\n"
            + " \"simulation\": {\"events\": 1000, \"wall_s\": 0.1, \"events_per_s\": 10000, \"simulated_s\": 10}}\n";
        File.WriteAllText(Path.Combine(dir, "summary.json"), summary, new UTF8Encoding(false));

        var yaml = $"""
            name: {spec.Name}
            seed: 1
            cluster:
              gpu: H100-SXM-80GB
              nodes: 1
              gpus_per_node: 8
            model: {(spec.Moe ? "mixtral-8x7b" : "llama-3.1-70b")}
            parallelism:
              tensor_parallel_size: {spec.Tp}
              pipeline_parallel_size: {spec.Pp}
              replicas: 2
              microbatches: {spec.Microbatches}
            slo: {"{"}ttft_ms: 2000, tpot_ms: 100, percentile: 95{"}"}
            """;
        File.WriteAllText(Path.Combine(dir, "scenario.yaml"), yaml + "\n", new UTF8Encoding(false));
        return dir;
    }

    /// <summary>A microbatch sweep over M = 1, 2, 4, 8 with P = 4, plus a fifth point that failed.</summary>
    public static string WriteMicrobatchSweep(string dir)
    {
        Directory.CreateDirectory(dir);
        var sb = new StringBuilder("parallelism.microbatches,completed,ttft_p50_ms,ttft_p95_ms,tpot_p50_ms,tpot_p95_ms,output_tokens_per_s,bubble_fraction,slo_attainment,goodput_requests_per_s,status,error\n");
        int[] ms = { 1, 2, 4, 8 };
        for (var i = 0; i < ms.Length; i++)
        {
            var m = ms[i];
            var pointDir = Path.Combine(dir, "points", $"{i}-mb{m}");
            // Latency falls and throughput rises with M; M = 1 misses the TPOT SLO.
            var scale = 2.2 / (1 + i * 0.5);
            WriteRun(pointDir, new RunSpec("mb-sweep", Tp: 2, Pp: 4, Microbatches: m, LatencyScale: scale, OutputTokensPerS: 1000 + 400 * i));
            var run = RunData.Load(pointDir);
            sb.Append(string.Join(",", m, run.Get("requests.completed"), F(run.Get("ttft_ms.p50")!.Value), F(run.Get("ttft_ms.p95")!.Value),
                F(run.Get("tpot_ms.p50")!.Value), F(run.Get("tpot_ms.p95")!.Value), F(1000 + 400 * i), F(run.Get("pipeline.bubble_fraction")!.Value),
                "0.97", F((1000 + 400 * i) / 120.0), "ok", "")).Append('\n');
        }
        sb.Append("16,,,,,,,,,,failed,\"does not fit: KV cache needs 91.2 GB, 80 GB available\"\n");
        File.WriteAllText(Path.Combine(dir, "sweep.csv"), sb.ToString(), new UTF8Encoding(false));
        return dir;
    }
}
