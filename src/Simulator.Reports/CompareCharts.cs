using System.Globalization;
using ScottPlot;

namespace Simulator.Reports;

/// <summary>Charts that compare configurations: overlaid distributions, sweep metrics, latency against throughput.</summary>
internal static class CompareCharts
{
    public static void All(IReadOnlyList<ConfigurationResult> configs, IReadOnlyList<SweepData> sweeps, Slo slo, ChartSink sink)
    {
        var withRuns = configs.Where(c => c.Run is not null).ToList();
        OverlaidCdf(withRuns, slo, sink, "ttft_ms", "TTFT", slo.TtftMs);
        PrefixCharts.TtftWithAndWithoutCaching(withRuns, slo, sink);
        OverlaidCdf(withRuns, slo, sink, "tpot_ms", "TPOT", slo.TpotMs);
        OverlaidThroughput(withRuns, sink);
        ThroughputBars(configs, sink);
        LatencyVsThroughput(configs, slo, sink, "TTFT", c => c.TtftAtPercentileMs, slo.TtftMs);
        LatencyVsThroughput(configs, slo, sink, "TPOT", c => c.TpotAtPercentileMs, slo.TpotMs);
        for (var i = 0; i < sweeps.Count; i++)
        {
            var prefix = sweeps.Count > 1 ? $"sweep{(i + 1).ToString(CultureInfo.InvariantCulture)}_" : "sweep_";
            SweepMetrics(sweeps[i], sink, prefix);
            Microbatches(sweeps[i], sink, prefix);
        }
    }

    private static void OverlaidCdf(List<ConfigurationResult> configs, Slo slo, ChartSink sink, string column, string metric, double? sloMs)
    {
        var chart = $"{metric} CDF per configuration";
        var usable = configs.Where(c => c.Run!.Requests?.HasNumbers(column) == true).ToList();
        if (usable.Count == 0) { sink.Skip(chart, $"no configuration has requests.csv with {column}"); return; }
        var plot = new Plot();
        var perConfig = usable.Select(c => RunCharts.CompletedValues(c.Run!, column)).ToList();
        var all = perConfig.SelectMany(v => v).ToList();
        var x = new Charts.Scale(RunCharts.WantsLog(all));
        for (var i = 0; i < usable.Count; i++)
        {
            var s = Charts.Cdf(plot, perConfig[i], x, Colors.Category10[i % Colors.Category10.Length]);
            s.LegendText = usable[i].Label;
        }
        RunCharts.AddSloLines(plot, slo, sloMs, metric, x);
        RunCharts.FinishCdfAxes(plot, x, all.Append(sloMs ?? double.NaN), $"{metric} (ms)", "fraction of completed requests");
        sink.Add($"compare_{column.Replace("_ms", "")}_cdf", $"{metric} distribution per configuration",
            $"Which configuration gives the lower {metric} across the whole distribution, not just at one percentile?", plot);
    }

    private static void OverlaidThroughput(List<ConfigurationResult> configs, ChartSink sink)
    {
        const string chart = "Throughput over time per configuration";
        var usable = configs.Where(c => c.Run!.Timeseries?.HasNumbers("output_tokens_per_s") == true).ToList();
        if (usable.Count == 0) { sink.Skip(chart, "no configuration has timeseries.csv with output_tokens_per_s"); return; }
        var plot = new Plot();
        foreach (var c in usable)
        {
            var t = c.Run!.Timeseries!;
            var byTime = Enumerable.Range(0, t.RowCount)
                .Select(r => (T: t.Number(r, "time_s"), V: t.Number(r, "output_tokens_per_s")))
                .Where(p => double.IsFinite(p.T)).GroupBy(p => p.T).OrderBy(g => g.Key).ToList();
            var s = Charts.Line(plot, byTime.Select(g => g.Key).ToArray(), byTime.Select(g => g.Where(p => double.IsFinite(p.V)).Sum(p => p.V)).ToArray(), sink.LineColumns);
            s.LineWidth = 1.5f;
            s.LegendText = c.Label;
        }
        plot.XLabel("simulated time (s)");
        plot.YLabel("output tokens/s (all replicas)");
        Charts.LegendOutsideRight(plot);
        sink.Add("compare_throughput_over_time", chart, "Does any configuration sustain more output tokens per second over the run?", plot);
    }

    private static void ThroughputBars(IReadOnlyList<ConfigurationResult> configs, ChartSink sink)
    {
        var ok = configs.Where(c => c.OutputTokensPerS is not null).ToList();
        if (ok.Count == 0) { sink.Skip("Throughput per configuration", "no configuration reports output_tokens_per_s"); return; }
        var plot = new Plot();
        var positions = Enumerable.Range(0, ok.Count).Select(i => (double)i).ToArray();
        var meets = positions.Where(i => ok[(int)i].MeetsSlo == true).ToArray();
        var misses = positions.Where(i => ok[(int)i].MeetsSlo != true).ToArray();
        void Group(double[] at, Color color, string legend)
        {
            if (at.Length == 0) return;
            var b = plot.Add.Bars(at, at.Select(i => ok[(int)i].OutputTokensPerS!.Value).ToArray());
            b.Color = color;
            b.LegendText = legend;
            foreach (var bar in b.Bars) bar.Label = Fmt.Num(bar.Value);
        }
        Group(meets, Charts.Green, "meets SLO");
        Group(misses, Charts.Gray, ok.Any(c => c.MeetsSlo is not null) ? "misses SLO" : "no SLO given");
        Charts.CategoryTicks(plot, positions, ok.Select(c => c.Label).ToArray());
        Charts.BarsFromZero(plot);
        plot.YLabel("output tokens/s");
        Charts.LegendOutsideRight(plot);
        sink.Add("compare_throughput", "Output throughput per configuration",
            "Which configuration serves the most tokens per second, and does it also meet the SLO?", plot);
    }

    private static void LatencyVsThroughput(IReadOnlyList<ConfigurationResult> configs, Slo slo, ChartSink sink, string metric,
        Func<ConfigurationResult, double?> latency, double? sloMs)
    {
        var chart = $"{metric} against throughput";
        var pts = configs.Where(c => c.OutputTokensPerS is not null && latency(c) is not null).ToList();
        if (pts.Count == 0) { sink.Skip(chart, $"no configuration has both throughput and {metric} {slo.PercentileName}"); return; }
        var plot = new Plot();
        var latencies = pts.Select(c => latency(c)!.Value).Append(sloMs ?? double.NaN).ToList();
        var y = new Charts.Scale(RunCharts.WantsLog(latencies));
        var all = plot.Add.ScatterPoints(pts.Select(c => c.OutputTokensPerS!.Value).ToArray(), pts.Select(c => y.Map(latency(c)!.Value)).ToArray(), Charts.Gray);
        all.LegendText = "configuration";
        all.MarkerSize = 8;
        var good = pts.Where(c => c.MeetsSlo == true).ToList();
        if (good.Count > 0)
        {
            var g = plot.Add.ScatterPoints(good.Select(c => c.OutputTokensPerS!.Value).ToArray(), good.Select(c => y.Map(latency(c)!.Value)).ToArray(), Charts.Green);
            g.MarkerShape = MarkerShape.FilledDiamond;
            g.MarkerSize = 14;
            g.LegendText = "meets SLO";
        }
        if (pts.Count <= 16)
        {
            // Room right of the rightmost point for its label.
            double lo = pts.Min(c => c.OutputTokensPerS!.Value), hi = pts.Max(c => c.OutputTokensPerS!.Value);
            var span = Math.Max(hi - lo, Math.Max(Math.Abs(hi) * 0.1, 1));
            plot.Axes.SetLimitsX(lo - span * 0.06, hi + span * 0.22);
        }
        if (pts.Count <= 16)
            foreach (var c in pts)
            {
                var label = plot.Add.Text(c.Label, c.OutputTokensPerS!.Value, y.Map(latency(c)!.Value));
                label.LabelFontSize = 10;
                label.LabelFontColor = Colors.DarkGray;
                label.OffsetX = 6;
            }
        if (sloMs is { } s && double.IsFinite(y.Map(s)))
        {
            Charts.Marker(plot.Add.HorizontalLine(y.Map(s), 2, Charts.Red, LinePattern.Dashed), $"SLO {Fmt.Num(s)} ms", $"{metric} SLO");
        }
        if (y.Log) Charts.LogTicks(plot.Axes.Left, latencies);
        plot.XLabel("output tokens/s");
        plot.YLabel($"{metric} {slo.PercentileName} (ms)" + (y.Log ? ", log scale" : ""));
        Charts.LegendOutsideRight(plot);
        sink.Add($"compare_{metric.ToLowerInvariant()}_vs_throughput", $"{metric} {slo.PercentileName} against throughput",
            $"Which configurations trade latency for throughput, and which stay under the {metric} SLO?", plot);
    }

    private static bool IsNumeric(RunTable t, string column) =>
        Enumerable.Range(0, t.RowCount).All(r => t.Text(r, column).Length == 0 || double.IsFinite(t.Number(r, column)));

    private static readonly Dictionary<string, string> MetricTitles = new(StringComparer.Ordinal)
    {
        ["completed"] = "completed requests",
        ["ttft_p50_ms"] = "TTFT p50 (ms)",
        ["ttft_p95_ms"] = "TTFT p95 (ms)",
        ["tpot_p50_ms"] = "TPOT p50 (ms)",
        ["tpot_p95_ms"] = "TPOT p95 (ms)",
        ["output_tokens_per_s"] = "output tokens/s",
        ["bubble_fraction"] = "pipeline bubble fraction",
        ["slo_attainment"] = "SLO attainment",
        ["goodput_requests_per_s"] = "goodput (requests/s)",
    };

    private static void SweepMetrics(SweepData sweep, ChartSink sink, string prefix)
    {
        var t = sweep.Table;
        if (sweep.Keys.Count == 0) { sink.Skip("Sweep metric charts", $"{sweep.ShownDir}/sweep.csv names no swept key column"); return; }
        var xKey = sweep.Keys[0];
        var numeric = IsNumeric(t, xKey);
        var xs = Enumerable.Range(0, t.RowCount).Select(r => numeric ? t.Number(r, xKey) : double.NaN).ToArray();
        var categories = numeric ? new List<string>() : Enumerable.Range(0, t.RowCount).Select(r => t.Text(r, xKey)).Distinct(StringComparer.Ordinal).ToList();
        if (!numeric) xs = Enumerable.Range(0, t.RowCount).Select(r => (double)categories.IndexOf(t.Text(r, xKey))).ToArray();
        var positive = xs.Where(double.IsFinite).ToArray();
        var x = new Charts.Scale(numeric && positive.Length > 2 && positive.All(v => v > 0) && positive.Max() / positive.Min() >= 8);
        var otherKeys = sweep.Keys.Skip(1).ToList();
        var groups = Enumerable.Range(0, t.RowCount)
            .GroupBy(r => string.Join(", ", otherKeys.Select(k => $"{Short(k)}={t.Text(r, k)}")), StringComparer.Ordinal)
            .OrderBy(g => g.Min()).ToList();
        var metrics = t.Headers.Where(h => !sweep.Keys.Contains(h) && h is not ("status" or "error" or "point" or "dir" or "directory" or "label" or "index") && t.HasNumbers(h)).ToList();
        foreach (var metric in metrics)
        {
            var plot = new Plot();
            for (var gi = 0; gi < groups.Count; gi++)
            {
                var rows = groups[gi].Where(r => double.IsFinite(t.Number(r, metric))).OrderBy(r => xs[r]).ToList();
                var s = plot.Add.Scatter(rows.Select(r => x.Map(xs[r])).ToArray(), rows.Select(r => t.Number(r, metric)).ToArray(),
                    Colors.Category10[gi % Colors.Category10.Length]);
                s.LineWidth = 2;
                s.MarkerSize = 7;
                if (otherKeys.Count > 0) s.LegendText = groups[gi].Key;
            }
            if (!numeric) Charts.CategoryTicks(plot, Enumerable.Range(0, categories.Count).Select(i => (double)i).ToArray(), categories);
            else if (positive.Distinct().Count() <= 12)
            {
                var distinct = positive.Distinct().OrderBy(v => v).ToArray();
                plot.Axes.Bottom.SetTicks(distinct.Select(x.Map).ToArray(), distinct.Select(Fmt.Inv).ToArray());
            }
            else if (x.Log) Charts.LogTicks(plot.Axes.Bottom, positive);
            var label = MetricTitles.TryGetValue(metric, out var title) ? title : metric;
            plot.XLabel(x.Log ? xKey + ", log scale" : xKey);
            plot.YLabel(label);
            if (otherKeys.Count > 0) Charts.LegendOutsideRight(plot);
            var failed = Enumerable.Range(0, t.RowCount).Count(r => !double.IsFinite(t.Number(r, metric)));
            sink.Add($"{prefix}{Safe(metric)}", $"{label} against {Short(xKey)}",
                $"How does {label} change with {xKey}?" + (failed > 0 ? $" {failed} point(s) without a value are left out." : ""), plot);
        }
    }

    private static void Microbatches(SweepData sweep, ChartSink sink, string prefix)
    {
        const string key = "parallelism.microbatches";
        var t = sweep.Table;
        if (!t.Has(key)) return;
        const string chart = "Stage utilization against microbatches";
        if (!t.HasNumbers("bubble_fraction")) { sink.Skip(chart, "sweep.csv has no bubble_fraction values"); return; }
        var rows = new List<(double M, double P, double Measured)>();
        for (var r = 0; r < t.RowCount; r++)
        {
            var m = t.Number(r, key);
            var bubble = t.Number(r, "bubble_fraction");
            var p = t.Number(r, "parallelism.pipeline_parallel_size");
            var point = sweep.Points.Count > r ? sweep.Points[r] : null;
            if (!double.IsFinite(p) && point is not null) p = point.Get("pipeline.stages") ?? double.NaN;
            if (!double.IsFinite(p) && point is not null && point.Scenario.TryGetValue("parallelism.pipeline_parallel_size", out var ps))
                p = double.TryParse(ps, NumberStyles.Float, CultureInfo.InvariantCulture, out var pv) ? pv : double.NaN;
            if (double.IsFinite(m) && double.IsFinite(bubble) && double.IsFinite(p) && m >= 1 && p >= 1) rows.Add((m, p, 1 - bubble));
        }
        if (rows.Count == 0) { sink.Skip(chart, "the pipeline depth P is unknown (no parallelism.pipeline_parallel_size column and no point summary.json with pipeline.stages)"); return; }
        var plot = new Plot();
        var allM = rows.Select(r => r.M).Distinct().OrderBy(v => v).ToArray();
        var x = new Charts.Scale(allM.Length > 2 && allM.Max() / allM.Min() >= 8);
        var gi = 0;
        foreach (var group in rows.GroupBy(r => r.P).OrderBy(g => g.Key))
        {
            var color = Colors.Category10[gi++ % Colors.Category10.Length];
            var pts = group.OrderBy(r => r.M).ToList();
            var pName = Fmt.Inv(group.Key);
            var measured = plot.Add.Scatter(pts.Select(r => x.Map(r.M)).ToArray(), pts.Select(r => r.Measured).ToArray(), color);
            measured.LineWidth = 2;
            measured.MarkerSize = 8;
            measured.LegendText = $"measured (P={pName})";
            var ms = pts.Select(r => r.M).Distinct().ToList();
            var lo = ms.Min();
            var hi = ms.Max();
            var curveM = Enumerable.Range(0, 41).Select(i => lo * Math.Pow(hi / lo, i / 40.0)).ToArray();
            var textbook = plot.Add.ScatterLine(curveM.Select(x.Map).ToArray(), curveM.Select(mm => mm / (mm + group.Key - 1)).ToArray(), color);
            textbook.LinePattern = LinePattern.Dashed;
            textbook.LineWidth = 1.5f;
            textbook.LegendText = $"M/(M+P−1), P={pName}";
        }
        plot.Axes.Bottom.SetTicks(allM.Select(x.Map).ToArray(), allM.Select(Fmt.Inv).ToArray());
        plot.Axes.SetLimitsY(0, 1.05);
        plot.XLabel(x.Log ? "microbatches M, log scale" : "microbatches M");
        plot.YLabel("stage utilization (1 − bubble fraction)");
        Charts.LegendOutsideRight(plot);
        sink.Add($"{prefix}microbatch_utilization", chart,
            "Does the simulated pipeline follow the textbook fill-and-drain utilization M/(M+P−1)? Gaps show what the textbook leaves out (decode dependencies, communication).", plot);
    }

    internal static string Short(string key) => key.Contains('.') ? key[(key.LastIndexOf('.') + 1)..] : key;

    internal static string Safe(string s) => new(s.Select(c => char.IsLetterOrDigit(c) || c is '_' or '-' ? c : '_').ToArray());
}
