using System.Globalization;
using ScottPlot;

namespace Simulator.Reports;

/// <summary>Prefix-caching charts of one run.</summary>
internal static class PrefixCharts
{
    /// <summary>
    /// timeseries.csv's prefix_hit_ratio per replica over time, in percent: the share of the prompt tokens first admitted
    /// in each interval that the prefix cache (GPU or CPU tier) served. Intervals that admitted nothing have no value and
    /// are left out. Absent or empty column (caching off, older runs, traces without prefix ids): no chart, no note.
    /// </summary>
    public static void HitRatioOverTime(RunData run, ChartSink sink, string prefix)
    {
        var t = run.Timeseries;
        // A workload without prefix ids (most traces, plain generators) looks every prompt up and never hits: no chart.
        if (t is null || !t.HasNumbers("prefix_hit_ratio") || !t.HasNumbers("time_s")
            || !t.Numbers("prefix_hit_ratio").Any(v => v > 0)) return;
        var byReplica = new SortedDictionary<int, List<(double T, double V)>>();
        for (var r = 0; r < t.RowCount; r++)
        {
            double v = t.Number(r, "prefix_hit_ratio"), time = t.Number(r, "time_s");
            if (!double.IsFinite(v) || !double.IsFinite(time)) continue;
            var rep = t.Number(r, "replica");
            var key = double.IsFinite(rep) ? (int)rep : 0;
            if (!byReplica.TryGetValue(key, out var list)) byReplica[key] = list = new List<(double, double)>();
            list.Add((time, v * 100));
        }
        var plot = new Plot();
        foreach (var (rep, list) in byReplica.Take(8))
        {
            var ordered = list.OrderBy(p => p.T).ToList();
            var s = Charts.Line(plot, ordered.Select(p => p.T).ToArray(), ordered.Select(p => p.V).ToArray(), sink.LineColumns);
            s.LineWidth = 1.5f;
            s.LegendText = $"replica {rep.ToString(CultureInfo.InvariantCulture)}";
        }
        plot.Axes.SetLimitsY(0, 100);
        plot.XLabel("simulated time (s)");
        plot.YLabel("prompt tokens served from the prefix cache (%)");
        Charts.LegendOutsideRight(plot);
        sink.Add($"{prefix}prefix_hit_ratio", "Prefix-cache hit ratio over time",
            "How much of each replica's prompt traffic does the prefix cache serve, and does it hold up as the run goes on?" +
            (byReplica.Count > 8 ? $" ({byReplica.Count} replicas: the first 8 are drawn)" : ""), plot);
    }

    /// <summary>The sweep key that turns prefix caching on and off.</summary>
    public const string CachingKey = "scheduler.enable_prefix_caching";

    /// <summary>
    /// When a sweep varies <see cref="CachingKey"/>: the TTFT CDF of the configurations without caching pooled into one
    /// line (they differ only in what caching would use), against one line per configuration with caching, labelled by
    /// its other swept values. Otherwise no chart.
    /// </summary>
    public static void TtftWithAndWithoutCaching(IReadOnlyList<ConfigurationResult> configs, Slo slo, ChartSink sink)
    {
        var usable = configs.Where(c => c.Run?.Requests?.HasNumbers("ttft_ms") == true && c.SweptValues.ContainsKey(CachingKey)).ToList();
        var off = usable.Where(c => c.SweptValues[CachingKey] == "false").ToList();
        var on = usable.Where(c => c.SweptValues[CachingKey] == "true").ToList();
        if (off.Count == 0 || on.Count == 0) return;
        var offValues = off.SelectMany(c => RunCharts.CompletedValues(c.Run!, "ttft_ms")).ToArray();
        var onValues = on.Select(c => RunCharts.CompletedValues(c.Run!, "ttft_ms")).ToList();
        var all = offValues.Concat(onValues.SelectMany(v => v)).ToList();
        var x = new Charts.Scale(RunCharts.WantsLog(all));
        var plot = new Plot();
        var baseline = Charts.Cdf(plot, offValues, x, Colors.Black);
        baseline.LegendText = off.Count == 1 ? "prefix caching off" : $"prefix caching off ({off.Count.ToString(CultureInfo.InvariantCulture)} configurations pooled)";
        for (var i = 0; i < on.Count; i++)
        {
            var s = Charts.Cdf(plot, onValues[i], x, Colors.Category10[i % Colors.Category10.Length]);
            var others = on[i].SweptValues.Where(kv => kv.Key != CachingKey).Select(kv => $"{kv.Key[(kv.Key.LastIndexOf('.') + 1)..]}={kv.Value}");
            s.LegendText = string.Join(", ", new[] { "caching on" }.Concat(others));
        }
        RunCharts.AddSloLines(plot, slo, slo.TtftMs, "TTFT", x);
        RunCharts.FinishCdfAxes(plot, x, all.Append(slo.TtftMs ?? double.NaN), "TTFT (ms)", "fraction of completed requests");
        sink.Add("compare_ttft_cdf_prefix_caching", "TTFT with and without prefix caching",
            "How much of the TTFT distribution does prefix caching move, and which caching configuration moves it most?", plot);
    }
}
