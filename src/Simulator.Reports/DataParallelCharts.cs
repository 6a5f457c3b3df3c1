using ScottPlot;

namespace Simulator.Reports;

/// <summary>
/// Charts of runs with DP-attention engines (iterations.csv has <c>engine, dp_rank</c>): how evenly the engine's balancer
/// spread the attention work over its ranks. In lockstep the busiest rank sets every step's pace, so an uneven spread
/// costs the whole engine.
/// </summary>
internal static class DataParallelCharts
{
    /// <summary>Stacked bars of the prefill and decode tokens each DP rank processed, with the mean rank's total.</summary>
    public static void RankLoad(RunData run, ChartSink sink, string prefix)
    {
        var t = run.Iterations;
        if (t is null || !t.HasNumbers("dp_rank") || !t.HasNumbers("engine")) return; // no DP-attention engines: nothing to say
        var engine = t.Numbers("engine");
        var rank = t.Numbers("dp_rank");
        var prefill = t.Numbers("prefill_tokens");
        var decode = t.Numbers("decode_tokens");
        var totals = new SortedDictionary<(int Engine, int Rank), (double Prefill, double Decode)>();
        for (var r = 0; r < t.RowCount; r++)
        {
            if (!double.IsFinite(engine[r]) || !double.IsFinite(rank[r])) continue;
            var key = ((int)engine[r], (int)rank[r]);
            var (p, d) = totals.TryGetValue(key, out var v) ? v : (0, 0);
            totals[key] = (p + (double.IsFinite(prefill[r]) ? prefill[r] : 0), d + (double.IsFinite(decode[r]) ? decode[r] : 0));
        }
        if (totals.Count == 0) return;
        var keys = totals.Keys.ToList();
        var positions = Enumerable.Range(0, keys.Count).Select(i => (double)i).ToArray();
        var plot = new Plot();
        Charts.StackedBars(plot, positions, new (string, double[], Color?)[]
        {
            ("prefill tokens", keys.Select(k => totals[k].Prefill).ToArray(), Charts.Blue),
            ("decode tokens", keys.Select(k => totals[k].Decode).ToArray(), Charts.Orange),
        });
        var sums = keys.Select(k => totals[k].Prefill + totals[k].Decode).ToArray();
        double mean = sums.Average();
        Charts.Marker(plot.Add.HorizontalLine(mean, 2, Colors.DarkGray, LinePattern.Dashed), "mean", $"mean {Fmt.Num(mean)}");
        bool oneEngine = keys.Select(k => k.Engine).Distinct().Count() == 1;
        var every = Math.Max(1, (int)Math.Ceiling(keys.Count / 32.0));
        var ticks = Enumerable.Range(0, keys.Count).Where(i => i % every == 0).ToList();
        Charts.CategoryTicks(plot, ticks.Select(i => positions[i]).ToArray(),
            ticks.Select(i => oneEngine ? $"{keys[i].Rank}" : $"e{keys[i].Engine}.{keys[i].Rank}").ToArray());
        plot.XLabel(oneEngine ? "DP rank" : "engine.DP rank");
        plot.YLabel("tokens processed");
        Charts.BarsFromZero(plot);
        Charts.LegendOutsideRight(plot);
        double ratio = mean > 0 ? sums.Max() / mean : double.NaN;
        sink.Add($"{prefix}dp_rank_load", "Attention load per DP rank",
            $"Did the engine's balancer spread the work evenly over its DP ranks? Busiest / mean = {Fmt.Num(ratio)}; in lockstep the busiest rank sets every step's pace.",
            plot);
    }
}
