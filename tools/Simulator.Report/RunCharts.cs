using System.Globalization;
using Simulator.Charts;

namespace Simulator.Report;

/// <summary>Collects rendered charts and the reasons charts were skipped.</summary>
internal sealed class ChartSink(ReportOptions options)
{
    public List<ChartInfo> Charts { get; } = new();
    public List<string> Notes { get; } = new();

    public void Add(string fileName, string title, string question, Plot plot)
    {
        plot.Title(title);
        Charts.Add(new ChartInfo(fileName, title, question, plot.GetSvg(options.ChartWidth, options.ChartHeight)));
    }

    public void Skip(string chart, string why) => Notes.Add($"{chart}: skipped, {why}.");
}

/// <summary>The charts of one run directory.</summary>
internal static class RunCharts
{
    private static readonly Color SloColor = Colors.Red;

    public static void All(RunData run, Slo slo, ReportOptions options, ChartSink sink, string prefix)
    {
        LatencyCdf(run, slo, sink, prefix, "ttft_ms", "TTFT", slo.TtftMs);
        LatencyCdf(run, slo, sink, prefix, "tpot_ms", "TPOT", slo.TpotMs);
        LatencyBreakdown(run, sink, prefix);
        OverTime(run, sink, prefix, "output_tokens_per_s", "throughput_over_time", "Output throughput over time", "output tokens/s",
            "Is throughput steady, or does it sag as queues build?", sum: true);
        OverTime(run, sink, prefix, "queued", "queue_depth", "Queue depth over time", "queued requests",
            "Does the queue stay bounded (stable) or grow without end (overloaded)?", sum: true);
        OverTime(run, sink, prefix, "running", "running_batch", "Running batch over time", "running sequences",
            "How full are the batches each replica runs?", sum: true);
        OverTime(run, sink, prefix, "kv_utilization", "kv_utilization", "KV cache utilization over time", "KV blocks in use (fraction)",
            "Is admission limited by KV cache capacity?", sum: false);
        StageTimeline(run, options, sink, prefix);
        Memory(run, sink, prefix);
        GpuFractions(run, sink, prefix);
        Links(run, sink, prefix);
        ExpertLoad(run, sink, prefix);
    }

    internal static double[] CompletedValues(RunData run, string column)
    {
        var t = run.Requests!;
        var values = new List<double>();
        for (var r = 0; r < t.RowCount; r++)
        {
            var status = t.Text(r, "status");
            if (status.Length > 0 && !status.Equals("completed", StringComparison.OrdinalIgnoreCase)) continue;
            var v = t.Number(r, column);
            if (double.IsFinite(v)) values.Add(v);
        }
        return values.ToArray();
    }

    /// <summary>Heavy tails read better on a log axis: use one when the spread is over 50x.</summary>
    internal static bool WantsLog(IEnumerable<double> values)
    {
        var v = values.Where(x => x > 0).ToArray();
        if (v.Length < 2) return false;
        return Percentiles.Of(v, 99.5) / Math.Max(Percentiles.Of(v, 0.5), 1e-9) > 50;
    }

    private static void LatencyCdf(RunData run, Slo slo, ChartSink sink, string prefix, string column, string metric, double? sloMs)
    {
        var chart = $"{metric} CDF";
        if (run.Requests is null) { sink.Skip(chart, "requests.csv is missing"); return; }
        if (!run.Requests.HasNumbers(column)) { sink.Skip(chart, $"requests.csv has no {column} values"); return; }
        var values = CompletedValues(run, column);
        var plot = new Plot();
        var cdf = plot.Add.Cdf(values);
        cdf.LegendText = $"{run.Name} (n={values.Length.ToString(CultureInfo.InvariantCulture)})";
        AddSloLines(plot, slo, sloMs, metric);
        if (WantsLog(values)) plot.Axes.LogX();
        plot.Axes.SetLimitsY(0, 1.02);
        plot.XLabel($"{metric} (ms)");
        plot.YLabel("fraction of completed requests");
        plot.ShowLegend();
        var p = Percentiles.Of(values, slo.Percentile);
        sink.Add($"{prefix}{column.Replace("_ms", "")}_cdf.svg", $"{metric} distribution",
            $"What share of requests get their {(metric == "TTFT" ? "first token" : "next tokens")} within a given time? {slo.PercentileName} = {Fmt.Num(p)} ms" +
            (sloMs is { } s ? $" against an SLO of {Fmt.Num(s)} ms." : "."), plot);
    }

    internal static void AddSloLines(Plot plot, Slo slo, double? sloMs, string metric)
    {
        if (sloMs is { } s)
        {
            var line = plot.Add.VerticalLine(s, $"SLO {Fmt.Num(s)} ms", SloColor);
            line.LegendText = $"{metric} SLO";
        }
        if (slo.IsSet) plot.Add.HorizontalLine(slo.Percentile / 100, slo.PercentileName, Colors.Gray);
    }

    private static readonly (string Label, double Max)[] InputBuckets =
    {
        ("≤256", 256), ("257–1024", 1024), ("1025–4096", 4096), ("4097–16384", 16384), (">16384", double.PositiveInfinity),
    };

    private static void LatencyBreakdown(RunData run, ChartSink sink, string prefix)
    {
        const string chart = "Latency breakdown by input length";
        var t = run.Requests;
        if (t is null) { sink.Skip(chart, "requests.csv is missing"); return; }
        foreach (var c in new[] { "input_tokens", "ttft_ms", "e2e_ms" })
            if (!t.HasNumbers(c)) { sink.Skip(chart, $"requests.csv has no {c} values"); return; }
        var hasQueue = t.HasNumbers("queue_ms");
        var sums = new double[InputBuckets.Length, 3];
        var counts = new int[InputBuckets.Length];
        for (var r = 0; r < t.RowCount; r++)
        {
            var status = t.Text(r, "status");
            if (status.Length > 0 && !status.Equals("completed", StringComparison.OrdinalIgnoreCase)) continue;
            double input = t.Number(r, "input_tokens"), ttft = t.Number(r, "ttft_ms"), e2e = t.Number(r, "e2e_ms");
            var queue = hasQueue ? t.Number(r, "queue_ms") : 0;
            if (!double.IsFinite(input) || !double.IsFinite(ttft) || !double.IsFinite(e2e)) continue;
            if (!double.IsFinite(queue)) queue = 0;
            var b = Array.FindIndex(InputBuckets, x => input <= x.Max);
            counts[b]++;
            sums[b, 0] += Math.Min(queue, ttft);
            sums[b, 1] += Math.Max(0, ttft - queue);
            sums[b, 2] += Math.Max(0, e2e - ttft);
        }
        var used = Enumerable.Range(0, InputBuckets.Length).Where(b => counts[b] > 0).ToList();
        if (used.Count == 0) { sink.Skip(chart, "no completed requests"); return; }
        var plot = new Plot();
        var positions = Enumerable.Range(0, used.Count).Select(i => (double)i).ToArray();
        var stack = plot.Add.StackedBars(positions);
        string[] parts = { "queue", "prefill (TTFT − queue)", "decode (E2E − TTFT)" };
        for (var k = 0; k < 3; k++)
        {
            var kk = k;
            stack.AddLayer(parts[k], used.Select(b => sums[b, kk] / counts[b]).ToArray());
        }
        plot.Axes.Bottom.SetTicks(positions, used.Select(b => $"{InputBuckets[b].Label} (n={counts[b].ToString(CultureInfo.InvariantCulture)})").ToArray());
        plot.XLabel("input length (tokens)");
        plot.YLabel("mean time per request (ms)");
        plot.ShowLegend();
        sink.Add($"{prefix}latency_breakdown.svg", "Where request time goes, by input length",
            "Is latency spent waiting in the queue, in prefill, or in decode, and how does that change with prompt length?" +
            (hasQueue ? "" : " (requests.csv has no queue_ms: queue time counted as zero)"), plot);
    }

    private static void OverTime(RunData run, ChartSink sink, string prefix, string column, string file, string title, string yLabel,
        string question, bool sum)
    {
        var t = run.Timeseries;
        if (t is null) { sink.Skip(title, "timeseries.csv is missing"); return; }
        if (!t.HasNumbers(column) || !t.HasNumbers("time_s")) { sink.Skip(title, $"timeseries.csv has no {column} values"); return; }
        var byReplica = new SortedDictionary<int, List<(double T, double V)>>();
        for (var r = 0; r < t.RowCount; r++)
        {
            var rep = t.Number(r, "replica");
            var key = double.IsFinite(rep) ? (int)rep : 0;
            if (!byReplica.TryGetValue(key, out var list)) byReplica[key] = list = new List<(double, double)>();
            list.Add((t.Number(r, "time_s"), t.Number(r, column)));
        }
        var plot = new Plot();
        var scale = column == "kv_utilization" && byReplica.Values.SelectMany(l => l).Select(p => p.V).Where(double.IsFinite).DefaultIfEmpty(0).Max() <= 1.0 ? 100.0 : 1.0;
        if (byReplica.Count <= 8)
            foreach (var (rep, list) in byReplica)
            {
                var ordered = list.OrderBy(p => p.T).ToList();
                var s = plot.Add.ScatterLine(ordered.Select(p => p.T).ToArray(), ordered.Select(p => p.V * scale).ToArray());
                s.LineWidth = 1.5;
                s.LegendText = $"replica {rep.ToString(CultureInfo.InvariantCulture)}";
            }
        if (byReplica.Count > 1)
        {
            var combined = byReplica.Values.SelectMany(l => l).Where(p => double.IsFinite(p.T)).GroupBy(p => p.T).OrderBy(g => g.Key).ToList();
            var s = plot.Add.ScatterLine(combined.Select(g => g.Key).ToArray(),
                combined.Select(g => (sum ? g.Sum(p => p.V) : g.Average(p => p.V)) * scale).ToArray(), Colors.Black);
            s.LineWidth = 2.5;
            s.LegendText = sum ? "all replicas (sum)" : "all replicas (mean)";
        }
        plot.XLabel("simulated time (s)");
        plot.YLabel(scale == 100 ? "KV blocks in use (%)" : yLabel);
        plot.ShowLegend();
        sink.Add($"{prefix}{file}.svg", title, question + (byReplica.Count > 8 ? $" ({byReplica.Count} replicas: only the aggregate is drawn)" : ""), plot);
    }

    private static void StageTimeline(RunData run, ReportOptions options, ChartSink sink, string prefix)
    {
        const string chart = "Stage timeline";
        var t = run.Iterations;
        if (t is null) { sink.Skip(chart, "iterations.csv is missing"); return; }
        if (!t.HasNumbers("start_s") || !t.HasNumbers("end_s")) { sink.Skip(chart, "iterations.csv has no start_s / end_s"); return; }
        var rows = new SortedDictionary<(int Replica, int Stage), List<int>>();
        for (var r = 0; r < t.RowCount; r++)
        {
            if (!double.IsFinite(t.Number(r, "start_s")) || !double.IsFinite(t.Number(r, "end_s"))) continue;
            var rep = t.Number(r, "replica"); var st = t.Number(r, "stage");
            var key = (double.IsFinite(rep) ? (int)rep : 0, double.IsFinite(st) ? (int)st : 0);
            if (!rows.TryGetValue(key, out var list)) rows[key] = list = new List<int>();
            list.Add(r);
        }
        if (rows.Count == 0) { sink.Skip(chart, "iterations.csv has no rows"); return; }
        const int maxRows = 16;
        var shown = rows.Take(maxRows).ToList();
        foreach (var (_, list) in shown) list.Sort((a, b) => t.Number(a, "start_s").CompareTo(t.Number(b, "start_s")));
        var start = shown.Min(kv => t.Number(kv.Value[0], "start_s"));
        // The window ends at the given length or when the busiest row has shown its share of iterations.
        var end = start + options.TimelineWindowS;
        foreach (var (_, list) in shown)
            if (list.Count > options.TimelineMaxIterationsPerRow)
                end = Math.Min(end, t.Number(list[options.TimelineMaxIterationsPerRow - 1], "end_s"));

        var plot = new Plot();
        var g = plot.Add.Gantt();
        g.SetCategoryColor("compute", Colors.Blue);
        g.SetCategoryColor("communication", Colors.Orange);
        var hasOverhead = t.HasNumbers("overhead_ms");
        if (hasOverhead) g.SetCategoryColor("overhead", Color.FromHex("#9467bd"));
        g.SetCategoryColor("idle (bubble)", Color.FromHex("#e6e6e6"));
        double busyMs = 0, spanMs = 0;
        foreach (var ((rep, st), list) in shown)
        {
            var row = $"r{rep.ToString(CultureInfo.InvariantCulture)} stage {st.ToString(CultureInfo.InvariantCulture)}";
            var cursor = start;
            foreach (var r in list)
            {
                double s = t.Number(r, "start_s"), e = t.Number(r, "end_s");
                if (s >= end) break;
                e = Math.Min(e, end);
                if (s > cursor) g.AddSpan(row, cursor * 1000, s * 1000, "idle (bubble)");
                var durMs = (e - s) * 1000;
                var full = (t.Number(r, "end_s") - s) * 1000;
                double Part(string c) { var v = t.Number(r, c); return double.IsFinite(v) ? v : 0; }
                var compute = Part("compute_ms");
                var comm = Part("tp_comm_ms") + Part("ep_comm_ms") + Part("pp_comm_ms") + Part("cp_comm_ms");
                var overhead = hasOverhead ? Part("overhead_ms") : 0;
                var total = compute + comm + overhead;
                // Parts are drawn in proportion to the measured iteration length: compute, then communication, then overhead.
                var f = total > 0 && full > 0 ? durMs / Math.Max(total, full) : 0;
                var x = s * 1000;
                if (total <= 0) { g.AddSpan(row, x, x + durMs, "compute"); }
                else
                {
                    g.AddSpan(row, x, x + compute * f, "compute"); x += compute * f;
                    g.AddSpan(row, x, x + comm * f, "communication"); x += comm * f;
                    if (overhead > 0) { g.AddSpan(row, x, x + overhead * f, "overhead"); x += overhead * f; }
                    if (x < e * 1000) g.AddSpan(row, x, e * 1000, "idle (bubble)");
                }
                busyMs += durMs;
                cursor = Math.Max(cursor, e);
            }
            if (cursor < end) g.AddSpan(row, cursor * 1000, end * 1000, "idle (bubble)");
            spanMs += (end - start) * 1000;
        }
        plot.Axes.SetLimitsX(start * 1000, end * 1000);
        plot.XLabel("simulated time (ms)");
        plot.ShowLegend(LegendPosition.OutsideRight);
        var note = rows.Count > maxRows ? $" Showing the first {maxRows} of {rows.Count} stages." : "";
        sink.Add($"{prefix}stage_timeline.svg", $"Stage timeline, first {Fmt.Num((end - start) * 1000)} ms",
            $"Where do pipeline stages wait (bubbles) and how much of each iteration is communication? Busy {Fmt.Pct(spanMs > 0 ? busyMs / spanMs : 0)} of the window.{note}", plot);
    }

    private static IReadOnlyList<string> GpuLabels(CsvTable t, double[] positions, out double[] tickPositions)
    {
        var every = Math.Max(1, (int)Math.Ceiling(t.RowCount / 24.0));
        var idx = Enumerable.Range(0, t.RowCount).Where(i => i % every == 0).ToList();
        tickPositions = idx.Select(i => positions[i]).ToArray();
        return idx.Select(i => t.Text(i, "gpu") is { Length: > 0 } id ? "gpu " + id : "gpu " + i.ToString(CultureInfo.InvariantCulture)).ToList();
    }

    private static void Memory(RunData run, ChartSink sink, string prefix)
    {
        const string chart = "Memory per GPU";
        var t = run.Gpus;
        if (t is null) { sink.Skip(chart, "gpus.csv is missing"); return; }
        (string Column, string Label, Color? Color)[] layers =
        {
            ("weights_gb", "weights", null), ("kv_capacity_gb", "KV cache", null), ("activation_gb", "activations", null),
            ("reserve_gb", "reserve", null), ("free_gb", "free", Colors.LightGray),
        };
        var present = layers.Where(l => t.HasNumbers(l.Column)).ToList();
        if (present.Count == 0) { sink.Skip(chart, "gpus.csv has no memory columns"); return; }
        var plot = new Plot();
        var positions = Enumerable.Range(0, t.RowCount).Select(i => (double)i).ToArray();
        var stack = plot.Add.StackedBars(positions);
        foreach (var (column, label, color) in present) stack.AddLayer(label, t.Numbers(column), color);
        var labels = GpuLabels(t, positions, out var tickPos);
        plot.Axes.Bottom.SetTicks(tickPos, labels.ToArray());
        plot.YLabel("memory (GB)");
        plot.ShowLegend(LegendPosition.OutsideRight);
        var missing = layers.Except(present).Select(l => l.Column).ToList();
        sink.Add($"{prefix}memory_per_gpu.svg", chart,
            "How is each GPU's memory split between weights, KV cache, activations and reserve, and how much is left?" +
            (missing.Count > 0 ? $" (gpus.csv lacks {string.Join(", ", missing)})" : ""), plot);
    }

    private static void GpuFractions(RunData run, ChartSink sink, string prefix)
    {
        const string chart = "GPU time split";
        var t = run.Gpus;
        if (t is null) { sink.Skip(chart, "gpus.csv is missing"); return; }
        (string Column, string Label, Color Color)[] layers = t.HasNumbers("compute_fraction") || t.HasNumbers("comm_fraction")
            ? new[] { ("compute_fraction", "compute", Colors.Blue), ("comm_fraction", "communication", Colors.Orange), ("idle_fraction", "idle", Color.FromHex("#d9d9d9")) }
            : new[] { ("busy_fraction", "busy", Colors.Blue), ("idle_fraction", "idle", Color.FromHex("#d9d9d9")) };
        var present = layers.Where(l => t.HasNumbers(l.Column)).ToList();
        if (present.Count == 0) { sink.Skip(chart, "gpus.csv has no busy / idle fractions"); return; }
        var plot = new Plot();
        var positions = Enumerable.Range(0, t.RowCount).Select(i => (double)i).ToArray();
        var stack = plot.Add.StackedBars(positions);
        foreach (var (column, label, color) in present) stack.AddLayer(label, t.Numbers(column).Select(v => v * 100).ToArray(), color);
        var labels = GpuLabels(t, positions, out var tickPos);
        plot.Axes.Bottom.SetTicks(tickPos, labels.ToArray());
        plot.Axes.SetLimitsY(0, 100);
        plot.YLabel("share of simulated time (%)");
        plot.ShowLegend(LegendPosition.OutsideRight);
        var busy = t.HasNumbers("busy_fraction") ? t.Numbers("busy_fraction").Where(double.IsFinite).DefaultIfEmpty(double.NaN).Average() : double.NaN;
        sink.Add($"{prefix}gpu_time_split.svg", chart,
            "Which GPUs are busy computing, which wait on communication, and which sit idle?" +
            (double.IsFinite(busy) ? $" Mean busy fraction {Fmt.Pct(busy)}." : ""), plot);
    }

    private static void Links(RunData run, ChartSink sink, string prefix)
    {
        const string chart = "Link utilization";
        var t = run.Links;
        if (t is null) { sink.Skip(chart, "links.csv is missing"); return; }
        if (!t.HasNumbers("busy_fraction")) { sink.Skip(chart, "links.csv has no busy_fraction values"); return; }
        const int maxLinks = 40;
        var order = Enumerable.Range(0, t.RowCount).Where(r => double.IsFinite(t.Number(r, "busy_fraction"))).ToList();
        if (order.Count > maxLinks)
            order = order.OrderByDescending(r => t.Number(r, "busy_fraction")).ThenBy(r => r).Take(maxLinks).OrderBy(r => r).ToList();
        var plot = new Plot();
        var kinds = order.Select(r => t.Text(r, "kind")).Distinct(StringComparer.Ordinal).ToList();
        var positions = new List<double>();
        for (var i = 0; i < order.Count; i++) positions.Add(i);
        foreach (var kind in kinds)
        {
            var idx = Enumerable.Range(0, order.Count).Where(i => t.Text(order[i], "kind") == kind).ToList();
            var bars = plot.Add.Bars(idx.Select(i => positions[i]).ToArray(), idx.Select(i => t.Number(order[i], "busy_fraction") * 100).ToArray());
            bars.LegendText = kind.Length > 0 ? kind : "link";
        }
        string LinkLabel(int r)
        {
            var name = t.Text(r, "link");
            if (name.Length > 0) return name;
            return $"{t.Text(r, "from")}→{t.Text(r, "to")}";
        }
        var every = Math.Max(1, (int)Math.Ceiling(order.Count / 24.0));
        var tickIdx = Enumerable.Range(0, order.Count).Where(i => i % every == 0).ToList();
        plot.Axes.Bottom.SetTicks(tickIdx.Select(i => positions[i]).ToArray(), tickIdx.Select(i => LinkLabel(order[i])).ToArray());
        plot.Axes.SetLimitsY(0, 100);
        plot.YLabel("busy (% of simulated time)");
        plot.ShowLegend();
        sink.Add($"{prefix}link_utilization.svg", chart,
            "Which links carry the traffic and are any close to saturation?" +
            (t.RowCount > maxLinks ? $" Showing the {maxLinks} busiest of {t.RowCount} links." : ""), plot);
    }

    private static void ExpertLoad(RunData run, ChartSink sink, string prefix)
    {
        var t = run.Gpus;
        if (t is null || !t.HasNumbers("expert_load")) return; // dense models have no expert load: nothing to say
        var values = t.Numbers("expert_load");
        var plot = new Plot();
        var positions = Enumerable.Range(0, t.RowCount).Select(i => (double)i).ToArray();
        plot.Add.Bars(positions, values);
        var finite = values.Where(double.IsFinite).ToArray();
        var mean = finite.Average();
        plot.Add.HorizontalLine(mean, "mean", Colors.DarkGray);
        var labels = GpuLabels(t, positions, out var tickPos);
        plot.Axes.Bottom.SetTicks(tickPos, labels.ToArray());
        plot.YLabel("expert load (routed tokens)");
        var ratio = mean > 0 ? finite.Max() / mean : double.NaN;
        sink.Add($"{prefix}expert_load.svg", "Expert load per GPU",
            $"Is MoE routing balanced across devices? Hottest / mean = {Fmt.Num(ratio)}.", plot);
    }
}
