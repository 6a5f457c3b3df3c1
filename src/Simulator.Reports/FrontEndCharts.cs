using ScottPlot;

namespace Simulator.Reports;

/// <summary>
/// Charts of runs with a queued front end (summary.json <c>front_end</c>, <c>frontend.model: queue</c>): whether the
/// API servers keep up. A saturated server shows as a front-end time that climbs through the run.
/// </summary>
internal static class FrontEndCharts
{
    /// <summary>Each completed request's front-end time (requests.csv <c>frontend_ms</c>) against its arrival.</summary>
    public static void OverTime(RunData run, ChartSink sink, string prefix)
    {
        if (!run.Summary.TryGetValue("front_end.utilization", out var utilization)) return; // fixed delays: nothing to say
        const string title = "Front-end time over the run";
        var t = run.Requests;
        if (t is null || !t.HasNumbers("frontend_ms") || !t.HasNumbers("arrival_s")) { sink.Skip(title, "requests.csv has no frontend_ms values"); return; }
        double[] arrivals = t.Numbers("arrival_s"), frontEnd = t.Numbers("frontend_ms");
        var xs = new List<double>();
        var ys = new List<double>();
        for (var r = 0; r < t.RowCount; r++)
        {
            if (!RunCharts.IsCompleted(t, r) || !double.IsFinite(arrivals[r]) || !double.IsFinite(frontEnd[r])) continue;
            xs.Add(arrivals[r]);
            ys.Add(frontEnd[r]);
        }
        if (xs.Count == 0) { sink.Skip(title, "no request completed"); return; }
        var plot = new Plot();
        var (points, thinned) = RunCharts.RequestPoints(plot, xs.ToArray(), ys.ToArray(), sink, "front-end time");
        points.LegendText = $"{run.Name}: each completed request";
        plot.XLabel("arrival time (s)");
        plot.YLabel("front-end time (ms)");
        Charts.LegendOutsideRight(plot);
        sink.Add($"{prefix}frontend_over_time", title,
            $"Do the API servers keep up, or does each request wait longer for them than the last? Utilization {Fmt.Num(utilization)}; mean wait for a server {Fmt.Num(run.Summary.GetValueOrDefault("front_end.input_wait_mean_ms", double.NaN))} ms." + thinned,
            plot);
    }
}
