using System.Text.Json;

namespace Simulator.Inference.Metrics;

/// <summary>
/// Writes and reads summary.json: indented UTF-8, LF line ends, a fixed property order, numbers in their
/// shortest round-trip form (already rounded by <see cref="RunMetricsAccumulator"/>), null for statistics
/// of no values. The same summary always gives the same bytes. Also writes perf.json (wall-clock figures).
/// </summary>
public static class SummaryJson
{
    private static readonly JsonWriterOptions WriterOptions = new() { Indented = true, NewLine = "\n" };

    /// <summary>summary.json's bytes for <paramref name="s"/>.</summary>
    public static byte[] ToBytes(RunSummary s)
    {
        using var ms = new MemoryStream();
        Write(s, ms);
        return ms.ToArray();
    }

    /// <summary>Writes summary.json for <paramref name="s"/> to <paramref name="stream"/> (with a final newline).</summary>
    public static void Write(RunSummary s, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(s);
        using (var w = new Utf8JsonWriter(stream, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("scenario", s.Scenario);
            w.WriteNumber("seed", s.Seed);

            w.WriteStartObject("requests");
            w.WriteNumber("total", s.Requests.Total);
            w.WriteNumber("completed", s.Requests.Completed);
            w.WriteNumber("rejected", s.Requests.Rejected);
            w.WriteNumber("failed", s.Requests.Failed);
            w.WriteNumber("unfinished", s.Requests.Unfinished);
            if (s.Requests.Reasons is { } reasons)
            {
                w.WriteStartObject("reasons");
                foreach (var (reason, n) in reasons.Items) w.WriteNumber(reason, n);
                w.WriteEndObject();
            }
            w.WriteEndObject();

            WriteStats(w, "ttft_ms", s.TtftMs);
            WriteStats(w, "tpot_ms", s.TpotMs);
            WriteStats(w, "e2e_ms", s.E2eMs);
            WriteStats(w, "queue_ms", s.QueueMs);
            WriteStats(w, "itl_ms", s.ItlMs ?? LatencyStats.Empty);

            w.WriteStartObject("throughput");
            w.WriteNumber("requests_per_s", s.Throughput.RequestsPerS);
            w.WriteNumber("input_tokens_per_s", s.Throughput.InputTokensPerS);
            w.WriteNumber("output_tokens_per_s", s.Throughput.OutputTokensPerS);
            w.WriteNumber("window_s", s.Throughput.WindowS);
            w.WriteNumber("input_tokens", s.Throughput.InputTokens);
            w.WriteNumber("output_tokens", s.Throughput.OutputTokens);
            w.WriteEndObject();

            w.WriteStartObject("slo");
            w.WriteNumber("attainment", s.Slo.Attainment);
            w.WriteNumber("goodput_requests_per_s", s.Slo.GoodputRequestsPerS);
            w.WriteNumber("met", s.Slo.Met);
            WriteNullable(w, "ttft_ms", s.Slo.TtftMs);
            WriteNullable(w, "tpot_ms", s.Slo.TpotMs);
            w.WriteNumber("percentile", s.Slo.Percentile);
            WriteNullable(w, "ttft_at_percentile_ms", s.Slo.TtftAtPercentileMs);
            WriteNullable(w, "tpot_at_percentile_ms", s.Slo.TpotAtPercentileMs);
            w.WriteBoolean("percentile_met", s.Slo.PercentileMet);
            w.WriteEndObject();

            w.WriteStartObject("pipeline");
            w.WriteNumber("stages", s.Pipeline.Stages);
            w.WriteNumber("microbatches", s.Pipeline.Microbatches);
            w.WriteNumber("bubble_fraction", s.Pipeline.BubbleFraction);
            w.WriteEndObject();

            w.WriteStartObject("simulation");
            w.WriteNumber("events", s.Simulation.Events);
            w.WriteNumber("simulated_s", s.Simulation.SimulatedS);
            w.WriteEndObject();

            if (s.Memory is { } m)
            {
                w.WriteStartObject("memory");
                w.WriteNumber("gpus", m.Gpus);
                w.WriteNumber("gpu", m.Gpu);
                w.WriteNumber("weights_gb", m.WeightsGB);
                w.WriteNumber("kv_capacity_gb", m.KvCapacityGB);
                w.WriteNumber("activation_gb", m.ActivationGB);
                w.WriteNumber("reserve_gb", m.ReserveGB);
                w.WriteNumber("free_gb", m.FreeGB);
                w.WriteEndObject();
            }
            if (s.Experts is { } e)
            {
                w.WriteStartObject("experts");
                w.WriteNumber("hotspot_ratio", e.HotspotRatio);
                w.WriteEndObject();
            }
            if (s.PrefixCache is { } pc)
            {
                w.WriteStartObject("prefix_cache");
                w.WriteBoolean("enabled", pc.Enabled);
                w.WriteNumber("hit_ratio_tokens", pc.HitRatioTokens);
                w.WriteNumber("hbm_hit_tokens", pc.HbmHitTokens);
                w.WriteNumber("cpu_hit_tokens", pc.CpuHitTokens);
                w.WriteNumber("evicted_blocks", pc.EvictedBlocks);
                w.WriteNumber("prompt_tokens", pc.PromptTokens);
                w.WriteEndObject();
            }
            if (s.Faults is { } f) WriteFaults(w, f);
            if (s.KvTransfer is { } kv)
            {
                w.WriteStartObject("kv_transfer");
                w.WriteNumber("bytes", kv.Bytes);
                w.WriteNumber("transfers", kv.Transfers);
                WriteNullable(w, "mean_ms", kv.MeanMs);
                WriteNullable(w, "p95_ms", kv.P95Ms);
                w.WriteEndObject();
            }
            if (s.Iterations is { } it) WriteIterationsKept(w, it);
            if (s.DataParallel is { } dp)
            {
                w.WriteStartObject("data_parallel");
                w.WriteNumber("engines", dp.Engines);
                w.WriteNumber("ranks_per_engine", dp.RanksPerEngine);
                w.WriteNumber("expert_parallel_size", dp.ExpertParallelSize);
                w.WriteNumber("steps", dp.Steps);
                w.WriteNumber("ep_comm_ms", dp.EpCommMs);
                w.WriteNumber("expert_ms", dp.ExpertMs);
                w.WriteNumber("rank_token_imbalance", dp.RankTokenImbalance);
                w.WriteEndObject();
            }
            if (s.Cost is { } cost)
            {
                w.WriteStartObject("cost");
                w.WriteNumber("usd_per_hour", cost.UsdPerHour);
                w.WriteNumber("usd_total", cost.UsdTotal);
                WriteNullable(w, "usd_per_million_output_tokens", cost.UsdPerMillionOutputTokens);
                w.WriteEndObject();
            }
            if (s.FrontEnd is { } fe)
            {
                w.WriteStartObject("front_end");
                w.WriteString("model", fe.Model);
                w.WriteNumber("api_server_count", fe.ApiServerCount);
                w.WriteNumber("utilization", fe.Utilization);
                w.WriteNumber("input_wait_mean_ms", fe.InputWaitMeanMs);
                w.WriteNumber("input_wait_max_ms", fe.InputWaitMaxMs);
                w.WriteNumber("token_lag_max_ms", fe.TokenLagMaxMs);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        stream.WriteByte((byte)'\n');
    }

    /// <summary>Reads a summary.json written by <see cref="Write"/> back into a <see cref="RunSummary"/>.</summary>
    public static RunSummary Read(ReadOnlySpan<byte> utf8Json)
    {
        var reader = new Utf8JsonReader(utf8Json);
        using var doc = JsonDocument.ParseValue(ref reader);
        var r = doc.RootElement;
        var req = r.GetProperty("requests");
        var th = r.GetProperty("throughput");
        var slo = r.GetProperty("slo");
        var pipe = r.GetProperty("pipeline");
        var sim = r.GetProperty("simulation");
        MemorySummary? memory = null;
        if (r.TryGetProperty("memory", out var m))
            memory = new MemorySummary(m.GetProperty("gpus").GetInt32(), m.GetProperty("gpu").GetInt32(),
                m.GetProperty("weights_gb").GetDouble(), m.GetProperty("kv_capacity_gb").GetDouble(),
                m.GetProperty("activation_gb").GetDouble(), m.GetProperty("reserve_gb").GetDouble(), m.GetProperty("free_gb").GetDouble());
        ExpertSummary? experts = r.TryGetProperty("experts", out var e) ? new ExpertSummary(e.GetProperty("hotspot_ratio").GetDouble()) : null;
        PrefixCacheSummary? prefix = r.TryGetProperty("prefix_cache", out var pc)
            ? new PrefixCacheSummary(pc.GetProperty("enabled").GetBoolean(), pc.GetProperty("hit_ratio_tokens").GetDouble(),
                pc.GetProperty("hbm_hit_tokens").GetInt64(), pc.GetProperty("cpu_hit_tokens").GetInt64(),
                pc.GetProperty("evicted_blocks").GetInt64(), pc.GetProperty("prompt_tokens").GetInt64())
            : null;
        ReasonCounts? reasons = req.TryGetProperty("reasons", out var rs)
            ? new ReasonCounts(rs.EnumerateObject().Select(p => new KeyValuePair<string, long>(p.Name, p.Value.GetInt64())).ToList())
            : null;
        FaultSummary? faults = r.TryGetProperty("availability", out var av) ? ReadFaults(av.GetDouble(), r.GetProperty("faults")) : null;
        KvTransferSummary? kvTransfer = r.TryGetProperty("kv_transfer", out var kv)
            ? new KvTransferSummary(kv.GetProperty("bytes").GetInt64(), kv.GetProperty("transfers").GetInt64(), ReadNullable(kv, "mean_ms"), ReadNullable(kv, "p95_ms"))
            : null;
        DataParallelSummary? dataParallel = r.TryGetProperty("data_parallel", out var dpe)
            ? new DataParallelSummary(dpe.GetProperty("engines").GetInt32(), dpe.GetProperty("ranks_per_engine").GetInt32(),
                dpe.GetProperty("expert_parallel_size").GetInt32(), dpe.GetProperty("steps").GetInt64(), dpe.GetProperty("ep_comm_ms").GetDouble(),
                dpe.GetProperty("expert_ms").GetDouble(), dpe.GetProperty("rank_token_imbalance").GetDouble())
            : null;
        CostSummary? cost = r.TryGetProperty("cost", out var c)
            ? new CostSummary(c.GetProperty("usd_per_hour").GetDouble(), c.GetProperty("usd_total").GetDouble(), ReadNullable(c, "usd_per_million_output_tokens"))
            : null;
        FrontEndSummary? frontEnd = r.TryGetProperty("front_end", out var fe)
            ? new FrontEndSummary(fe.GetProperty("model").GetString() ?? "", fe.GetProperty("api_server_count").GetInt32(),
                fe.GetProperty("utilization").GetDouble(), fe.GetProperty("input_wait_mean_ms").GetDouble(),
                fe.GetProperty("input_wait_max_ms").GetDouble(), fe.GetProperty("token_lag_max_ms").GetDouble())
            : null;
        return new RunSummary(
            r.GetProperty("scenario").GetString() ?? "",
            r.GetProperty("seed").GetInt64(),
            new RequestCounts(req.GetProperty("total").GetInt64(), req.GetProperty("completed").GetInt64(),
                req.GetProperty("rejected").GetInt64(), req.GetProperty("failed").GetInt64(), req.GetProperty("unfinished").GetInt64(), reasons),
            ReadStats(r.GetProperty("ttft_ms")), ReadStats(r.GetProperty("tpot_ms")),
            ReadStats(r.GetProperty("e2e_ms")), ReadStats(r.GetProperty("queue_ms")),
            new ThroughputSummary(th.GetProperty("requests_per_s").GetDouble(), th.GetProperty("input_tokens_per_s").GetDouble(),
                th.GetProperty("output_tokens_per_s").GetDouble(), th.GetProperty("window_s").GetDouble(),
                th.GetProperty("input_tokens").GetInt64(), th.GetProperty("output_tokens").GetInt64()),
            new SloSummary(slo.GetProperty("attainment").GetDouble(), slo.GetProperty("goodput_requests_per_s").GetDouble(),
                slo.GetProperty("met").GetInt64(), ReadNullable(slo, "ttft_ms"), ReadNullable(slo, "tpot_ms"),
                slo.GetProperty("percentile").GetDouble(), ReadNullable(slo, "ttft_at_percentile_ms"),
                ReadNullable(slo, "tpot_at_percentile_ms"), slo.GetProperty("percentile_met").GetBoolean()),
            new PipelineSummary(pipe.GetProperty("stages").GetInt32(), pipe.GetProperty("microbatches").GetInt32(),
                pipe.GetProperty("bubble_fraction").GetDouble()),
            new SimulationSummary(sim.GetProperty("events").GetInt64(), sim.GetProperty("simulated_s").GetDouble()),
            memory, experts, r.TryGetProperty("itl_ms", out var itl) ? ReadStats(itl) : null, prefix, faults, kvTransfer, ReadIterationsKept(r), dataParallel, cost, frontEnd);
    }

    // Only when iterations.csv does not hold every row (output.iterations), so runs that keep them all are unchanged.
    private static void WriteIterationsKept(Utf8JsonWriter w, IterationsKept it)
    {
        w.WriteStartObject("output");
        w.WriteStartObject("iterations");
        w.WriteString("mode", it.Mode);
        w.WriteNumber("rows", it.Rows);
        w.WriteNumber("written", it.Written);
        w.WriteNumber("full_rows", it.FullRows);
        w.WriteNumber("stride", it.Stride);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static IterationsKept? ReadIterationsKept(JsonElement root) =>
        root.TryGetProperty("output", out var o) && o.TryGetProperty("iterations", out var it)
            ? new IterationsKept(it.GetProperty("mode").GetString() ?? "", it.GetProperty("rows").GetInt64(), it.GetProperty("written").GetInt64(),
                it.GetProperty("full_rows").GetInt64(), it.GetProperty("stride").GetInt64())
            : null;

    private static void WriteFaults(Utf8JsonWriter w, FaultSummary f)
    {
        w.WriteNumber("availability", f.Availability);
        w.WriteStartArray("faults");
        foreach (var x in f.Faults)
        {
            w.WriteStartObject();
            w.WriteNumber("at_s", MetricFormat.Round(x.AtNs / 1e9, 6));
            w.WriteString("kind", x.Kind);
            w.WriteString("target", x.Target);
            WriteNullable(w, "duration_s", x.DurationNs is long d ? MetricFormat.Round(d / 1e9, 6) : null);
            if (x.Factor is double factor) w.WriteNumber("factor", factor);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static FaultSummary ReadFaults(double availability, JsonElement list) =>
        new(availability, list.EnumerateArray().Select(x => new FaultRecord(
            (long)Math.Round(x.GetProperty("at_s").GetDouble() * 1e9), x.GetProperty("kind").GetString() ?? "",
            x.GetProperty("target").GetString() ?? "",
            ReadNullable(x, "duration_s") is double d ? (long)Math.Round(d * 1e9) : null,
            x.TryGetProperty("factor", out var factor) ? factor.GetDouble() : null)).ToList());

    /// <summary>Writes perf.json: the run's wall-clock figures, kept out of summary.json so that file is reproducible.</summary>
    public static void WritePerf(SimulationStats sim, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(sim);
        using (var w = new Utf8JsonWriter(stream, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteNumber("events", sim.Events);
            w.WriteNumber("simulated_s", MetricFormat.Round(sim.SimulatedNs / 1e9, 6));
            w.WriteNumber("wall_s", MetricFormat.Round(sim.WallSeconds, 4));
            w.WriteNumber("events_per_s", sim.WallSeconds > 0 ? Math.Round(sim.Events / sim.WallSeconds) : 0);
            w.WriteNumber("simulated_s_per_wall_s", sim.WallSeconds > 0 ? MetricFormat.Round(sim.SimulatedNs / 1e9 / sim.WallSeconds, 4) : 0);
            w.WriteNumber("threads", sim.Threads);
            if (sim.SerialReason is { } why) w.WriteString("serial_reason", why);
            if (sim.Windows > 0) w.WriteNumber("windows", sim.Windows);
            if (sim.Threads > 1) w.WriteNumber("worker_share", MetricFormat.Round(sim.WorkerShare, 4));
            if (sim.NoLookaheadReason is { } noLookahead) w.WriteString("no_lookahead_reason", noLookahead);
            w.WriteEndObject();
        }
        stream.WriteByte((byte)'\n');
    }

    private static void WriteStats(Utf8JsonWriter w, string name, LatencyStats s)
    {
        w.WriteStartObject(name);
        var any = s.Count > 0;
        WriteNullable(w, "mean", any ? s.Mean : null);
        WriteNullable(w, "p50", any ? s.P50 : null);
        WriteNullable(w, "p90", any ? s.P90 : null);
        WriteNullable(w, "p95", any ? s.P95 : null);
        WriteNullable(w, "p99", any ? s.P99 : null);
        WriteNullable(w, "max", any ? s.Max : null);
        w.WriteNumber("count", s.Count);
        w.WriteEndObject();
    }

    private static LatencyStats ReadStats(JsonElement e)
    {
        var count = e.GetProperty("count").GetInt64();
        if (count == 0) return LatencyStats.Empty;
        return new LatencyStats(count, e.GetProperty("mean").GetDouble(), e.GetProperty("p50").GetDouble(),
            e.GetProperty("p90").GetDouble(), e.GetProperty("p95").GetDouble(), e.GetProperty("p99").GetDouble(),
            e.GetProperty("max").GetDouble());
    }

    private static void WriteNullable(Utf8JsonWriter w, string name, double? value)
    {
        if (value is { } v) w.WriteNumber(name, v);
        else w.WriteNull(name);
    }

    private static double? ReadNullable(JsonElement parent, string name) =>
        parent.GetProperty(name) is { ValueKind: JsonValueKind.Number } v ? v.GetDouble() : null;
}
