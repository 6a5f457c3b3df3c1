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
        if (t is null || !t.HasNumbers("prefix_hit_ratio") || !t.HasNumbers("time_s")) return;
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
            var s = plot.Add.ScatterLine(ordered.Select(p => p.T).ToArray(), ordered.Select(p => p.V).ToArray());
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
}
