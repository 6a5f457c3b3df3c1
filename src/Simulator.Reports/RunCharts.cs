using System.Globalization;
using ScottPlot;
using ScottPlot.Plottables;

namespace Simulator.Reports;

/// <summary>Collects the report's charts (as ScottPlot models) and the reasons charts were skipped.</summary>
internal sealed class ChartSink
{
    public List<ChartInfo> Charts { get; } = new();
    public List<string> Notes { get; } = new();

    /// <summary>Columns a line over time is thinned to (<see cref="Simulator.Reports.Charts.Envelope"/>): the chart's width in SVG pixels.</summary>
    public int LineColumns { get; init; } = new ReportOptions().ChartWidth;

    /// <summary>Rows of the grid a scatter is thinned on (<see cref="Simulator.Reports.Charts.OnePerCell"/>): the chart's height in SVG pixels.</summary>
    public int PointRows { get; init; } = new ReportOptions().ChartHeight;

    /// <summary>
    /// When set, each chart starts rendering with these options on the thread pool as soon as it is added, and
    /// <see cref="Write"/> collects the results; the charts still to come are built meanwhile.
    /// </summary>
    // Implementation note: reading the run's tables and building the chart models runs on one thread (some 0.3 s of the
    // Azure conversation report); rendering each finished chart meanwhile puts the second core to work. A chart's Plot is
    // complete when it is added (nothing changes it afterwards), so rendering it then draws what rendering it at the end
    // would; Build_RenderingChartsConcurrentlyWithTheirModels_WritesTheBytesOfASerialRender and the rerun tests check the bytes.
    public ReportOptions? RenderAsAdded { get; init; }

    private readonly List<Task<(byte[] Png, string Svg)>> _renders = new();

    /// <summary>Adds a chart named <paramref name="name"/> (its files are charts/NAME.png and charts/NAME.svg).</summary>
    public void Add(string name, string title, string question, Plot plot)
    {
        plot.Title(title);
        Simulator.Reports.Charts.ApplyStyle(plot);
        var chart = new ChartInfo(name, title, question, plot);
        Charts.Add(chart);
        ReportPhases.Mark($"chart {name} built");
        if (RenderAsAdded is { } options) _renders.Add(Task.Run(() => Render(chart, options)));
    }

    /// <summary>Writes this sink's charts into <paramref name="chartDir"/> (as <see cref="WriteAll"/>), from the renders already started when <see cref="RenderAsAdded"/> is set.</summary>
    public (List<string> Paths, List<string> Svgs) Write(string chartDir, ReportOptions options)
    {
        if (RenderAsAdded is null) return WriteAll(Charts, chartDir, options);
        if (!ReferenceEquals(options, RenderAsAdded)) throw new ArgumentException("the charts were rendered with other options", nameof(options));
        // GetResult, not Result: a failed render throws its own exception, as a serial render would.
        return WriteFiles(Charts, _renders.Select(r => r.GetAwaiter().GetResult()).ToArray(), chartDir);
    }

    public void Skip(string chart, string why) => Notes.Add($"{chart}: skipped, {why}.");

    /// <summary>Renders every chart into <paramref name="chartDir"/> as NAME.png and NAME.svg; returns the paths written and the SVG texts.</summary>
    public static (List<string> Paths, List<string> Svgs) WriteAll(IEnumerable<ChartInfo> charts, string chartDir, ReportOptions options)
    {
        Directory.CreateDirectory(chartDir);
        var list = charts.ToList();
        // Implementation note: each chart is its own Plot and renders onto its own Skia surface, and ScottPlot's typeface
        // cache is a concurrent one (ScottPlot issue 3940), so the charts render on all cores; the SVG clip ids ScottPlot
        // generates are renumbered per file (Charts.NumberSvgIds), and the files are written afterwards in chart order,
        // so the output is byte for byte that of a serial render (ReportBuilderTests checks it).
        var rendered = new (byte[] Png, string Svg)[list.Count];
        Parallel.For(0, list.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount },
            i => rendered[i] = Render(list[i], options));
        return WriteFiles(list, rendered, chartDir);
    }

    /// <summary>Writes rendered charts as NAME.png and NAME.svg in chart order; returns the paths written and the SVG texts.</summary>
    private static (List<string> Paths, List<string> Svgs) WriteFiles(IReadOnlyList<ChartInfo> list, (byte[] Png, string Svg)[] rendered, string chartDir)
    {
        Directory.CreateDirectory(chartDir);
        var paths = new List<string>();
        var svgs = new List<string>();
        for (var i = 0; i < list.Count; i++)
        {
            var chart = list[i];
            var (png, svg) = rendered[i];
            var pngPath = Path.Combine(chartDir, chart.PngFile);
            var svgPath = Path.Combine(chartDir, chart.SvgFile);
            File.WriteAllBytes(pngPath, png);
            File.WriteAllText(svgPath, svg, new System.Text.UTF8Encoding(false));
            paths.Add(pngPath);
            paths.Add(svgPath);
            svgs.Add(svg);
        }
        return (paths, svgs);
    }

    /// <summary>Renders a chart as PNG bytes (<see cref="ReportOptions.PngScale"/> times the size) and as SVG text.</summary>
    public static (byte[] Png, string Svg) Render(ChartInfo chart, ReportOptions options)
    {
        var cpuMs = ReportPhases.On ? ReportPhases.ThreadCpuMs() : 0;
        var (png, svg) = Simulator.Reports.Charts.Images(chart.Plot, options.ChartWidth, options.ChartHeight, Math.Max(1, options.PngScale));
        var result = (png, Simulator.Reports.Charts.NumberSvgIds(svg));
        if (ReportPhases.On)
            ReportPhases.Mark(string.Create(CultureInfo.InvariantCulture, $"chart {chart.Name} rendered in {ReportPhases.ThreadCpuMs() - cpuMs:0.0} ms of thread CPU"));
        return result;
    }
}

/// <summary>The charts of one run directory.</summary>
internal static class RunCharts
{
    private static readonly Color SloColor = Simulator.Reports.Charts.Red;

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
        PrefixCharts.HitRatioOverTime(run, sink, prefix);
        TtftOverTime(run, sink, prefix);
        FrontEndCharts.OverTime(run, sink, prefix);
        ItlCdf(run, sink, prefix);
        KvTransferCdf(run, sink, prefix);
        StageTimeline(run, options, sink, prefix);
        Memory(run, sink, prefix);
        GpuFractions(run, sink, prefix);
        Links(run, sink, prefix);
        ExpertLoad(run, sink, prefix);
        DataParallelCharts.RankLoad(run, sink, prefix);
    }

    /// <summary>
    /// Builds every chart of <see cref="All"/> that a plain serving run gets (latency CDFs and breakdown,
    /// the four lines over time, ITL CDF, stage timeline, memory, GPU split, links) from a made-up run of a few rows held
    /// in memory, renders them (the first to PNG and SVG) and drops them: the chart code a report runs, compiled and warmed before the report needs it.
    /// </summary>
    // Implementation note: the report's model building and drawing is generic code over ScottPlot's, SkiaSharp's and our
    // value types (LINQ, dictionaries and lists of tuples), which ReadyToRun cannot precompile outside their assemblies; a
    // process compiles some 1,500 such methods the first time it draws a report. Drawing one chart of each form compiled
    // only the drawing's share; running the same model builders on a small run compiles the rest too. Only the first chart
    // is drawn (at a quarter of the pixels and 1x), so the warm-up costs little beyond the compilation itself.
    internal static IReadOnlyList<ChartInfo> WarmUp()
    {
        var options = new ReportOptions { ChartWidth = 430, ChartHeight = 230, PngScale = 1 };
        var sink = new ChartSink { LineColumns = 8 };
        All(WarmUpRun(), new Slo(2000, 200, 95), options, sink, "");
        // The first chart goes all the way to PNG and SVG; the others only through ScottPlot's render, onto a canvas that
        // draws nothing: what is compiled is ScottPlot's code, Skia's drawing is native and needs no warming.
        for (var i = 0; i < sink.Charts.Count; i++)
        {
            if (i == 0) ChartSink.Render(sink.Charts[i], options);
            else
                using (var canvas = new SkiaSharp.SKNoDrawCanvas(options.ChartWidth, options.ChartHeight))
                    sink.Charts[i].Plot.Render(canvas, options.ChartWidth, options.ChartHeight);
        }
        return sink.Charts;
    }

    /// <summary>A made-up run of two replicas, a few dozen rows per table, with every column the plain run charts draw.</summary>
    private static RunData WarmUpRun()
    {
        static string N(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        static RunTable Table(string header, int rows, Func<int, double[]> row, Func<int, string[]>? text = null) =>
            new(header.Split(','), Enumerable.Range(0, rows).Select(r => (text?.Invoke(r) ?? []).Concat(row(r).Select(N)).ToArray()).ToList());
        var requests = Table("status,arrival_s,input_tokens,ttft_ms,tpot_ms,e2e_ms,queue_ms", 40,
            r => [r * 0.5, 100 + 300 * (r % 7), 50 + 40 * (r % 9), 20 + r % 5, 900 + 37 * r, 3 * (r % 4)], _ => ["completed"]);
        var timeseries = Table("time_s,replica,queued,running,kv_utilization,output_tokens_per_s,completed,live", 48,
            r => [r / 2, r % 2, r % 3, 4 + r % 5, (r % 10) / 10.0, 100 + 7 * (r % 11), r % 4, 1]);
        var iterations = Table("replica,stage,start_s,end_s,compute_ms,tp_comm_ms,ep_comm_ms,pp_comm_ms,cp_comm_ms,overhead_ms", 30,
            r => [0, r % 2, r * 0.01, r * 0.01 + 0.008, 6, 1, 0, 0.5, 0, 0.3]);
        var gpus = Table("gpu,weights_gb,kv_capacity_gb,activation_gb,reserve_gb,free_gb,busy_fraction,idle_fraction,compute_fraction,comm_fraction", 4,
            r => [r, 35, 39, 1.3, 9, 0.5, 0.8, 0.2, 0.7, 0.1]);
        var links = Table("link,kind,busy_fraction", 3, r => [0.1 * (r + 1)], r => ["link " + N(r), r == 0 ? "nvlink" : "ib"]);
        var itl = Table("itl_ms_lo,itl_ms_hi,count", 6, r => [1 << r, 2 << r, 10 + r]);
        return new RunData
        {
            Dir = "", Name = "warm-up", Scenario = new Dictionary<string, string>(),
            Summary = new Dictionary<string, double> { ["itl_ms.p50"] = 4, ["itl_ms.p95"] = 20, ["itl_ms.p99"] = 40 },
            Requests = requests, Timeseries = timeseries, Iterations = iterations, Gpus = gpus, Links = links, ItlHistogram = itl,
            Slo = new Slo(2000, 200, 95),
        };
    }

    internal static double[] CompletedValues(RunData run, string column)
    {
        var t = run.Requests!;
        var values = new List<double>();
        var numbers = t.Numbers(column);
        for (var r = 0; r < t.RowCount; r++)
        {
            if (!IsCompleted(t, r)) continue;
            var v = numbers[r];
            if (double.IsFinite(v)) values.Add(v);
        }
        return values.ToArray();
    }

    /// <summary>Whether request row <paramref name="r"/> completed (an empty or absent status counts as completed).</summary>
    internal static bool IsCompleted(RunTable t, int r)
    {
        var status = t.Text(r, "status");
        return status.Length == 0 || status.Equals("completed", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Heavy tails read better on a log axis: use one when the spread is over 50x.</summary>
    internal static bool WantsLog(IEnumerable<double> values) => WantsLogSorted(Percentiles.SortedFinite(values));

    /// <summary><see cref="WantsLog"/> of values already sorted by <see cref="Percentiles.SortedFinite"/>: the positive ones are its tail.</summary>
    // Implementation note: the positive values that are not finite (+inf) are dropped by the percentiles either way, and
    // fewer than two finite positive values give a ratio of at most 1 (or NaN): the same answer as counting them first.
    internal static bool WantsLogSorted(double[] sorted)
    {
        var first = 0;
        while (first < sorted.Length && !(sorted[first] > 0)) first++;
        var positive = sorted.AsSpan(first);
        if (positive.Length < 2) return false;
        return Percentiles.OfSorted(positive, 99.5) / Math.Max(Percentiles.OfSorted(positive, 0.5), 1e-9) > 50;
    }

    private static void LatencyCdf(RunData run, Slo slo, ChartSink sink, string prefix, string column, string metric, double? sloMs)
    {
        var chart = $"{metric} CDF";
        if (run.Requests is null) { sink.Skip(chart, "requests.csv is missing"); return; }
        if (!run.Requests.HasNumbers(column)) { sink.Skip(chart, $"requests.csv has no {column} values"); return; }
        // The completed requests' finite values, sorted once for the curve, the log-axis choice and the percentile (the
        // same numbers as sorting for each: the axes and ticks take the minimum and maximum of the same values).
        var values = Percentiles.SortedFinite(CompletedValues(run, column));
        var plot = new Plot();
        var x = new Charts.Scale(WantsLogSorted(values));
        var cdf = Charts.CdfOfSorted(plot, values, x);
        cdf.LegendText = $"{run.Name} (n={values.Length.ToString(CultureInfo.InvariantCulture)})";
        AddSloLines(plot, slo, sloMs, metric, x);
        FinishCdfAxes(plot, x, values.Append(sloMs ?? double.NaN), $"{metric} (ms)", "fraction of completed requests");
        var p = Percentiles.OfSorted(values, slo.Percentile);
        sink.Add($"{prefix}{column.Replace("_ms", "")}_cdf", $"{metric} distribution",
            $"What share of requests get their {(metric == "TTFT" ? "first token" : "next tokens")} within a given time? {slo.PercentileName} = {Fmt.Num(p)} ms" +
            (sloMs is { } s ? $" against an SLO of {Fmt.Num(s)} ms." : "."), plot);
    }

    internal static void AddSloLines(Plot plot, Slo slo, double? sloMs, string metric, Charts.Scale x)
    {
        if (sloMs is { } s && double.IsFinite(x.Map(s)))
        {
            Charts.Marker(plot.Add.VerticalLine(x.Map(s), 2, SloColor, LinePattern.Dashed), $"SLO {Fmt.Num(s)} ms", $"{metric} SLO");
        }
        if (slo.IsSet)
            Charts.Marker(plot.Add.HorizontalLine(slo.Percentile / 100, 1, Charts.Gray, LinePattern.Dotted), slo.PercentileName, $"{slo.PercentileName} level");
    }

    /// <summary>The axes every CDF shares: shares 0..1 up the side, the value (log when it spans decades) along the bottom.</summary>
    internal static void FinishCdfAxes(Plot plot, Charts.Scale x, IEnumerable<double> xValues, string xLabel, string yLabel)
    {
        var shown = xValues.Select(x.Map).Where(double.IsFinite).ToList();
        if (x.Log) Charts.LogTicks(plot.Axes.Bottom, xValues);
        if (shown.Count > 0)
        {
            // Room beyond the largest value (often the SLO line) for the marker labels drawn at the top.
            double lo = shown.Min(), hi = shown.Max(), pad = Math.Max(hi - lo, Math.Abs(hi) * 0.1 + 1e-9) * 0.05;
            plot.Axes.SetLimitsX(lo - pad, hi + pad);
        }
        plot.Axes.SetLimitsY(0, 1.02);
        plot.XLabel(x.Log ? xLabel + ", log scale" : xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend(Alignment.LowerRight);
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
        double[] inputs = t.Numbers("input_tokens"), ttfts = t.Numbers("ttft_ms"), e2es = t.Numbers("e2e_ms"), queues = t.Numbers("queue_ms");
        for (var r = 0; r < t.RowCount; r++)
        {
            if (!IsCompleted(t, r)) continue;
            double input = inputs[r], ttft = ttfts[r], e2e = e2es[r];
            var queue = hasQueue ? queues[r] : 0;
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
        string[] parts = { "queue", "prefill (TTFT − queue)", "decode (E2E − TTFT)" };
        Charts.StackedBars(plot, positions, Enumerable.Range(0, 3).Select(k =>
            (parts[k], used.Select(b => sums[b, k] / counts[b]).ToArray(), (Color?)null)));
        Charts.CategoryTicks(plot, positions, used.Select(b => $"{InputBuckets[b].Label} (n={counts[b].ToString(CultureInfo.InvariantCulture)})").ToArray());
        Charts.BarsFromZero(plot);
        plot.XLabel("input length (tokens)");
        plot.YLabel("mean time per request (ms)");
        Charts.LegendOutsideRight(plot);
        sink.Add($"{prefix}latency_breakdown", "Where request time goes, by input length",
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
        double[] replicas = t.Numbers("replica"), times = t.Numbers("time_s"), values = t.Numbers(column);
        for (var r = 0; r < t.RowCount; r++)
        {
            var rep = replicas[r];
            var key = double.IsFinite(rep) ? (int)rep : 0;
            if (!byReplica.TryGetValue(key, out var list)) byReplica[key] = list = new List<(double, double)>();
            list.Add((times[r], values[r]));
        }
        var plot = new Plot();
        var scale = column == "kv_utilization" && byReplica.Values.SelectMany(l => l).Select(p => p.V).Where(double.IsFinite).DefaultIfEmpty(0).Max() <= 1.0 ? 100.0 : 1.0;
        if (byReplica.Count <= 8)
            foreach (var (rep, list) in byReplica)
            {
                var ordered = list.OrderBy(p => p.T).ToList();
                var s = Charts.Line(plot, ordered.Select(p => p.T).ToArray(), ordered.Select(p => p.V * scale).ToArray(), sink.LineColumns);
                s.LineWidth = 1.5f;
                s.LegendText = $"replica {rep.ToString(CultureInfo.InvariantCulture)}";
            }
        if (byReplica.Count > 1)
        {
            var combined = byReplica.Values.SelectMany(l => l).Where(p => double.IsFinite(p.T)).GroupBy(p => p.T).OrderBy(g => g.Key).ToList();
            var s = Charts.Line(plot, combined.Select(g => g.Key).ToArray(),
                combined.Select(g => (sum ? g.Sum(p => p.V) : g.Average(p => p.V)) * scale).ToArray(), sink.LineColumns, Colors.Black);
            s.LineWidth = 2.5f;
            s.LegendText = sum ? "all replicas (sum)" : "all replicas (mean)";
        }
        if (file == "throughput_over_time") ShadeDown(plot, DownIntervals(run));
        plot.XLabel("simulated time (s)");
        plot.YLabel(scale == 100 ? "KV blocks in use (%)" : yLabel);
        Charts.LegendOutsideRight(plot);
        sink.Add($"{prefix}{file}", title, question + (byReplica.Count > 8 ? $" ({byReplica.Count} replicas: only the aggregate is drawn)" : ""), plot);
    }

    /// <summary>
    /// When each replica was down or reloading its weights after a fault: runs of timeseries.csv rows with <c>live</c> = 0,
    /// from the first such sample to the replica's next sample (or its last one). Empty without the column.
    /// </summary>
    internal static List<(int Replica, double StartS, double EndS)> DownIntervals(RunData run)
    {
        var result = new List<(int, double, double)>();
        var t = run.Timeseries;
        if (t is null || !t.HasNumbers("live") || !t.HasNumbers("time_s")) return result;
        var byReplica = new SortedDictionary<int, List<(double T, bool Live)>>();
        double[] replicas = t.Numbers("replica"), times = t.Numbers("time_s"), live = t.Numbers("live");
        for (var r = 0; r < t.RowCount; r++)
        {
            var rep = replicas[r];
            var key = double.IsFinite(rep) ? (int)rep : 0;
            if (!byReplica.TryGetValue(key, out var list)) byReplica[key] = list = new List<(double, bool)>();
            list.Add((times[r], live[r] != 0));
        }
        foreach (var (rep, list) in byReplica)
        {
            var ordered = list.Where(p => double.IsFinite(p.T)).OrderBy(p => p.T).ToList();
            for (var i = 0; i < ordered.Count; i++)
            {
                if (ordered[i].Live) continue;
                var j = i;
                while (j + 1 < ordered.Count && !ordered[j + 1].Live) j++;
                result.Add((rep, ordered[i].T, j + 1 < ordered.Count ? ordered[j + 1].T : ordered[j].T));
                i = j;
            }
        }
        return result;
    }

    /// <summary>Shades every down interval (one legend entry per replica).</summary>
    internal static void ShadeDown(Plot plot, IReadOnlyList<(int Replica, double StartS, double EndS)> down)
    {
        var named = new HashSet<int>();
        foreach (var (rep, start, end) in down)
        {
            var span = plot.Add.HorizontalSpan(start, Math.Max(end, start + 1e-3), Charts.Red.WithAlpha(0.15));
            span.LineStyle.Width = 0;
            if (named.Add(rep)) span.LegendText = $"replica {rep.ToString(CultureInfo.InvariantCulture)} down";
        }
    }

    /// <summary>
    /// With faults only: every completed request's TTFT at its arrival time, with the down intervals shaded, so the
    /// latency a failure costs shows where it happened (retried requests keep their first token, so a spike follows).
    /// </summary>
    private static void TtftOverTime(RunData run, ChartSink sink, string prefix)
    {
        var down = DownIntervals(run);
        if (down.Count == 0) return;
        const string title = "TTFT over time";
        var t = run.Requests;
        if (t is null || !t.HasNumbers("ttft_ms") || !t.HasNumbers("arrival_s")) { sink.Skip(title, "requests.csv has no ttft_ms values"); return; }
        var xs = new List<double>();
        var ys = new List<double>();
        double[] arrivals = t.Numbers("arrival_s"), ttfts = t.Numbers("ttft_ms");
        for (var r = 0; r < t.RowCount; r++)
        {
            double x = arrivals[r], y = ttfts[r];
            if (!IsCompleted(t, r)) continue;
            if (!double.IsFinite(x) || !double.IsFinite(y)) continue;
            xs.Add(x);
            ys.Add(y);
        }
        var plot = new Plot();
        ShadeDown(plot, down);
        var (points, thinned) = RequestPoints(plot, xs.ToArray(), ys.ToArray(), sink, "TTFT");
        points.LegendText = $"{run.Name}: TTFT of each completed request";
        plot.XLabel("arrival time (s)");
        plot.YLabel("TTFT (ms)");
        Charts.LegendOutsideRight(plot);
        sink.Add($"{prefix}ttft_over_time", title,
            "How much first-token latency does a failure cost, and how long until the survivors catch up? (shaded: replica down or reloading weights)" + thinned, plot);
    }

    /// <summary>
    /// One marker (3 px) per request at (<paramref name="xs"/>, <paramref name="ys"/>), drawn from <see cref="Charts.OnePerCell"/>
    /// on the sink's grid, and the sentence for the caption that says how many were drawn ("" when all were).
    /// </summary>
    internal static (ScottPlot.Plottables.Scatter Points, string Note) RequestPoints(Plot plot, double[] xs, double[] ys, ChartSink sink, string metric)
    {
        var kept = Charts.OnePerCell(xs, ys, sink.LineColumns, sink.PointRows);
        var points = plot.Add.ScatterPoints(kept.Select(i => xs[i]).ToArray(), kept.Select(i => ys[i]).ToArray(), Charts.Blue);
        points.MarkerSize = 3;
        var note = kept.Length < xs.Length
            ? string.Create(CultureInfo.InvariantCulture, $" Drawn: one point per pixel, {kept.Length} of {xs.Length} requests, the highest and the lowest {metric} among them.")
            : "";
        return (points, note);
    }

    /// <summary>
    /// The inter-token latency CDF from itl_histogram.csv (pooled over requests; each row a bucket with the smallest
    /// and largest gap in it, itl_ms_lo / itl_ms_hi, and its count): the share of gaps rises across each bucket from
    /// lo to hi and stays flat between buckets, exact wherever lo = hi; summary.json's itl_ms p50 / p95 / p99 are
    /// marked. A run without the file gets no chart and no note (older run directories).
    /// </summary>
    private static void ItlCdf(RunData run, ChartSink sink, string prefix)
    {
        var t = run.ItlHistogram;
        if (t is null || !t.HasNumbers("itl_ms_hi") || !t.HasNumbers("count")) return;
        var buckets = Enumerable.Range(0, t.RowCount)
            .Select(r => (Lo: t.Number(r, "itl_ms_lo"), Hi: t.Number(r, "itl_ms_hi"), Count: t.Number(r, "count")))
            .Where(b => double.IsFinite(b.Hi) && double.IsFinite(b.Count) && b.Count > 0)
            .Select(b => (Lo: double.IsFinite(b.Lo) ? Math.Min(b.Lo, b.Hi) : b.Hi, b.Hi, b.Count))
            .OrderBy(b => b.Hi).ToList();
        var total = buckets.Sum(b => b.Count);
        if (total <= 0) return;
        var edges = new List<double>();
        var shares = new List<double>();
        void Point(double ms, double share)
        {
            if (edges.Count > 0 && edges[^1] == ms && shares[^1] == share) return;
            edges.Add(ms);
            shares.Add(share);
        }
        double cumulative = 0;
        foreach (var b in buckets)
        {
            Point(b.Lo, cumulative / total);
            cumulative += b.Count;
            Point(b.Hi, cumulative / total);
        }
        // A million-request run has thousands of buckets; every k-th point (and the last) draws the same curve.
        var every = Math.Max(1, (int)Math.Ceiling(edges.Count / (double)Charts.MaxLinePoints));
        var picked = Enumerable.Range(0, edges.Count).Where(i => i % every == 0 || i == edges.Count - 1).ToList();
        edges = picked.Select(i => edges[i]).ToList();
        shares = picked.Select(i => shares[i]).ToList();
        var marks = new[] { ("p50", run.Get("itl_ms.p50")), ("p95", run.Get("itl_ms.p95")), ("p99", run.Get("itl_ms.p99")) }
            .Where(m => m.Item2 is not null).Select(m => (Name: m.Item1, Ms: m.Item2!.Value)).ToList();
        var positive = edges.Where(e => e > 0).ToArray();
        var x = new Charts.Scale(positive.Length > 1 && positive.Max() / positive.Min() > 50);
        var plot = new Plot();
        var keep = Enumerable.Range(0, edges.Count).Where(i => double.IsFinite(x.Map(edges[i]))).ToList();
        var line = plot.Add.ScatterLine(keep.Select(i => x.Map(edges[i])).ToArray(), keep.Select(i => shares[i]).ToArray(), Charts.Blue);
        line.LineWidth = 2;
        line.LegendText = $"{run.Name} ({Fmt.Num(total)} gaps)";
        var markColors = new[] { Charts.Green, Charts.Orange, Charts.Red };
        for (var i = 0; i < marks.Count; i++)
        {
            if (!double.IsFinite(x.Map(marks[i].Ms))) continue;
            Charts.Marker(plot.Add.VerticalLine(x.Map(marks[i].Ms), 1.5f, markColors[i], LinePattern.Dashed),
                marks[i].Name, $"{marks[i].Name} {Fmt.Num(marks[i].Ms)} ms");
        }
        FinishCdfAxes(plot, x, edges.Concat(marks.Select(m => m.Ms)), "inter-token latency (ms)", "fraction of token gaps");
        sink.Add($"{prefix}itl_cdf", "Inter-token latency distribution",
            "How long do users wait between consecutive output tokens (every gap of every request, vLLM's ITL)?" +
            (marks.Count > 0 ? $" {marks[^1].Name} = {Fmt.Num(marks[^1].Ms)} ms." : ""), plot);
    }

    /// <summary>
    /// Disaggregated pools: how long each hand-off's KV took to reach its decode replica (requests.csv kv_transfer_ms),
    /// one curve per decode pool when the run has pools (requests.csv decode_replica, gpus.csv replica -> pool).
    /// </summary>
    private static void KvTransferCdf(RunData run, ChartSink sink, string prefix)
    {
        const string chart = "KV transfer CDF";
        var t = run.Requests;
        if (t is null || !t.Has("kv_transfer_ms")) return; // not a disaggregated run: no chart, nothing to say
        if (!t.HasNumbers("kv_transfer_ms")) { sink.Skip(chart, "no request was handed off to a decode pool"); return; }
        var poolOf = new Dictionary<string, string>(StringComparer.Ordinal);
        if (run.Gpus is { } g && g.Has("pool"))
            for (var r = 0; r < g.RowCount; r++)
                if (g.Text(r, "replica") is { Length: > 0 } rep && rep != "-1") poolOf[rep] = g.Text(r, "pool");
        var byPool = new SortedDictionary<string, List<double>>(StringComparer.Ordinal);
        for (var r = 0; r < t.RowCount; r++)
        {
            var v = t.Number(r, "kv_transfer_ms");
            if (!double.IsFinite(v)) continue;
            var pool = poolOf.TryGetValue(t.Text(r, "decode_replica"), out var p) ? p : "all";
            (byPool.TryGetValue(pool, out var list) ? list : byPool[pool] = new List<double>()).Add(v);
        }
        var plot = new Plot();
        var all = byPool.Values.SelectMany(v => v).ToArray();
        var x = new Charts.Scale(WantsLog(all));
        var colors = new[] { Charts.Blue, Charts.Orange, Charts.Green, Charts.Purple };
        int i = 0;
        foreach (var (pool, values) in byPool)
        {
            var cdf = Charts.Cdf(plot, values, x, colors[i++ % colors.Length]);
            cdf.LegendText = $"to {pool} (n={values.Count.ToString(CultureInfo.InvariantCulture)})";
        }
        FinishCdfAxes(plot, x, all, "first token -> KV on the decode replica (ms)", "fraction of handed-off requests");
        sink.Add($"{prefix}kv_transfer_cdf", "KV transfer time",
            $"How long does a prefilled request wait for its KV to reach the decode side (transfer plus any wait for decode blocks)? p95 = {Fmt.Num(Percentiles.Of(all, 95))} ms.", plot);
    }

    private static void StageTimeline(RunData run, ReportOptions options, ChartSink sink, string prefix)
    {
        const string chart = "Stage timeline";
        var t = run.Iterations;
        if (t is null) { sink.Skip(chart, "iterations.csv is missing"); return; }
        if (!t.HasNumbers("start_s") || !t.HasNumbers("end_s")) { sink.Skip(chart, "iterations.csv has no start_s / end_s"); return; }
        // Whole columns, not cells by name: a run has tens of thousands of iterations and the window sorts them.
        double[] starts = t.Numbers("start_s"), ends = t.Numbers("end_s"), replicas = t.Numbers("replica"), stages = t.Numbers("stage");
        var rows = new SortedDictionary<(int Replica, int Stage), List<int>>();
        for (var r = 0; r < t.RowCount; r++)
        {
            if (!double.IsFinite(starts[r]) || !double.IsFinite(ends[r])) continue;
            var rep = replicas[r]; var st = stages[r];
            var key = (double.IsFinite(rep) ? (int)rep : 0, double.IsFinite(st) ? (int)st : 0);
            if (!rows.TryGetValue(key, out var list)) rows[key] = list = new List<int>();
            list.Add(r);
        }
        if (rows.Count == 0) { sink.Skip(chart, "iterations.csv has no rows"); return; }
        const int maxRows = 16;
        var shown = rows.Take(maxRows).ToList();
        foreach (var (_, list) in shown) list.Sort((a, b) => starts[a].CompareTo(starts[b]));
        var start = shown.Min(kv => starts[kv.Value[0]]);
        // The window ends at the given length or when the busiest row has shown its share of iterations.
        var end = start + options.TimelineWindowS;
        foreach (var (_, list) in shown)
            if (list.Count > options.TimelineMaxIterationsPerRow)
                end = Math.Min(end, ends[list[options.TimelineMaxIterationsPerRow - 1]]);

        var plot = new Plot();
        var g = new Gantt();
        g.Category("compute", Charts.Blue);
        g.Category("communication", Charts.Orange);
        var hasOverhead = t.HasNumbers("overhead_ms");
        if (hasOverhead) g.Category("overhead", Charts.Purple);
        g.Category("idle (bubble)", Charts.IdleGray);
        double busyMs = 0, spanMs = 0;
        foreach (var ((rep, st), list) in shown)
        {
            var row = $"r{rep.ToString(CultureInfo.InvariantCulture)} stage {st.ToString(CultureInfo.InvariantCulture)}";
            var cursor = start;
            foreach (var r in list)
            {
                double s = starts[r], e = ends[r];
                if (s >= end) break;
                e = Math.Min(e, end);
                if (s > cursor) g.Span(row, cursor * 1000, s * 1000, "idle (bubble)");
                var durMs = (e - s) * 1000;
                var full = (ends[r] - s) * 1000;
                double Part(string c) { var v = t.Number(r, c); return double.IsFinite(v) ? v : 0; }
                var compute = Part("compute_ms");
                var comm = Part("tp_comm_ms") + Part("ep_comm_ms") + Part("pp_comm_ms") + Part("cp_comm_ms");
                var overhead = hasOverhead ? Part("overhead_ms") : 0;
                var total = compute + comm + overhead;
                // Parts are drawn in proportion to the measured iteration length: compute, then communication, then overhead.
                var f = total > 0 && full > 0 ? durMs / Math.Max(total, full) : 0;
                var x = s * 1000;
                if (total <= 0) { g.Span(row, x, x + durMs, "compute"); }
                else
                {
                    g.Span(row, x, x + compute * f, "compute"); x += compute * f;
                    g.Span(row, x, x + comm * f, "communication"); x += comm * f;
                    if (overhead > 0) { g.Span(row, x, x + overhead * f, "overhead"); x += overhead * f; }
                    if (x < e * 1000) g.Span(row, x, e * 1000, "idle (bubble)");
                }
                busyMs += durMs;
                cursor = Math.Max(cursor, e);
            }
            if (cursor < end) g.Span(row, cursor * 1000, end * 1000, "idle (bubble)");
            spanMs += (end - start) * 1000;
        }
        g.AddTo(plot);
        plot.Axes.SetLimitsX(start * 1000, end * 1000);
        plot.XLabel("simulated time (ms)");
        Charts.LegendOutsideRight(plot);
        var note = rows.Count > maxRows ? $" Showing the first {maxRows} of {rows.Count} stages." : "";
        sink.Add($"{prefix}stage_timeline", $"Stage timeline, first {Fmt.Num((end - start) * 1000)} ms",
            $"Where do pipeline stages wait (bubbles) and how much of each iteration is communication? Busy {Fmt.Pct(spanMs > 0 ? busyMs / spanMs : 0)} of the window.{note}", plot);
    }

    /// <summary>Labels every GPU's bar ("gpu 3"), or every n-th when more than 24 would crowd the axis.</summary>
    private static void GpuTicks(Plot plot, RunTable t, double[] positions)
    {
        var every = Math.Max(1, (int)Math.Ceiling(t.RowCount / 24.0));
        var idx = Enumerable.Range(0, t.RowCount).Where(i => i % every == 0).ToList();
        Charts.CategoryTicks(plot, idx.Select(i => positions[i]).ToArray(),
            idx.Select(i => t.Text(i, "gpu") is { Length: > 0 } id ? "gpu " + id : "gpu " + i.ToString(CultureInfo.InvariantCulture)).ToArray());
    }

    private static void Memory(RunData run, ChartSink sink, string prefix)
    {
        const string chart = "Memory per GPU";
        var t = run.Gpus;
        if (t is null) { sink.Skip(chart, "gpus.csv is missing"); return; }
        (string Column, string Label, Color? Color)[] layers =
        {
            ("weights_gb", "weights", null), ("kv_capacity_gb", "KV cache", null), ("activation_gb", "activations", null),
            ("reserve_gb", "reserve", null), ("free_gb", "free", Charts.LightGray),
        };
        var present = layers.Where(l => t.HasNumbers(l.Column)).ToList();
        if (present.Count == 0) { sink.Skip(chart, "gpus.csv has no memory columns"); return; }
        var plot = new Plot();
        var positions = Enumerable.Range(0, t.RowCount).Select(i => (double)i).ToArray();
        Charts.StackedBars(plot, positions, present.Select(l => (l.Label, t.Numbers(l.Column), l.Color)));
        GpuTicks(plot, t, positions);
        Charts.BarsFromZero(plot);
        plot.YLabel("memory (GB)");
        Charts.LegendOutsideRight(plot);
        var missing = layers.Except(present).Select(l => l.Column).ToList();
        sink.Add($"{prefix}memory_per_gpu", chart,
            "How is each GPU's memory split between weights, KV cache, activations and reserve, and how much is left?" +
            (missing.Count > 0 ? $" (gpus.csv lacks {string.Join(", ", missing)})" : ""), plot);
    }

    private static void GpuFractions(RunData run, ChartSink sink, string prefix)
    {
        const string chart = "GPU time split";
        var t = run.Gpus;
        if (t is null) { sink.Skip(chart, "gpus.csv is missing"); return; }
        (string Column, string Label, Color Color)[] layers = t.HasNumbers("compute_fraction") || t.HasNumbers("comm_fraction")
            ? new[] { ("compute_fraction", "compute", Charts.Blue), ("comm_fraction", "communication", Charts.Orange), ("idle_fraction", "idle", Charts.LightGray) }
            : new[] { ("busy_fraction", "busy", Charts.Blue), ("idle_fraction", "idle", Charts.LightGray) };
        var present = layers.Where(l => t.HasNumbers(l.Column)).ToList();
        if (present.Count == 0) { sink.Skip(chart, "gpus.csv has no busy / idle fractions"); return; }
        var plot = new Plot();
        var positions = Enumerable.Range(0, t.RowCount).Select(i => (double)i).ToArray();
        Charts.StackedBars(plot, positions, present.Select(l => (l.Label, t.Numbers(l.Column).Select(v => v * 100).ToArray(), (Color?)l.Color)));
        GpuTicks(plot, t, positions);
        plot.Axes.SetLimitsY(0, 100);
        plot.YLabel("share of simulated time (%)");
        Charts.LegendOutsideRight(plot);
        var busy = t.HasNumbers("busy_fraction") ? t.Numbers("busy_fraction").Where(double.IsFinite).DefaultIfEmpty(double.NaN).Average() : double.NaN;
        sink.Add($"{prefix}gpu_time_split", chart,
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
        for (var k = 0; k < kinds.Count; k++)
        {
            var kind = kinds[k];
            var idx = Enumerable.Range(0, order.Count).Where(i => t.Text(order[i], "kind") == kind).ToList();
            var bars = plot.Add.Bars(idx.Select(i => positions[i]).ToArray(), idx.Select(i => t.Number(order[i], "busy_fraction") * 100).ToArray());
            bars.Color = Colors.Category10[k % Colors.Category10.Length];
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
        Charts.CategoryTicks(plot, tickIdx.Select(i => positions[i]).ToArray(), tickIdx.Select(i => LinkLabel(order[i])).ToArray());
        plot.Axes.SetLimitsY(0, 100);
        plot.YLabel("busy (% of simulated time)");
        Charts.LegendOutsideRight(plot);
        sink.Add($"{prefix}link_utilization", chart,
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
        var bars = plot.Add.Bars(positions, values.Select(v => double.IsFinite(v) ? v : 0).ToArray());
        bars.Color = Charts.Blue;
        bars.LegendText = "routed load";
        var finite = values.Where(double.IsFinite).ToArray();
        var mean = finite.Average();
        Charts.Marker(plot.Add.HorizontalLine(mean, 2, Colors.DarkGray, LinePattern.Dashed), "mean", $"mean {Fmt.Num(mean)}");
        GpuTicks(plot, t, positions);
        Charts.BarsFromZero(plot);
        plot.YLabel("expert load (routed tokens)");
        Charts.LegendOutsideRight(plot);
        var ratio = mean > 0 ? finite.Max() / mean : double.NaN;
        sink.Add($"{prefix}expert_load", "Expert load per GPU",
            $"Is MoE routing balanced across devices? Hottest / mean = {Fmt.Num(ratio)}.", plot);
    }
}
