using Simulator.Charts;

namespace Simulator.Charts.Tests;

/// <summary>Deterministic example plots used by the snapshot and validity tests.</summary>
internal static class SampleCharts
{
    /// <summary>A tiny deterministic generator (64-bit LCG) so test data never depends on System.Random's algorithm.</summary>
    private sealed class Lcg(ulong seed)
    {
        private ulong _state = seed;

        public double Next()
        {
            _state = _state * 6364136223846793005UL + 1442695040888963407UL;
            return (_state >> 11) * (1.0 / (1UL << 53));
        }

        /// <summary>A lognormal-ish positive sample with the given median.</summary>
        public double Skewed(double median) => median * Math.Exp(0.6 * (Next() + Next() + Next() - 1.5) * 2);
    }

    public static IReadOnlyDictionary<string, Func<Plot>> All { get; } = new SortedDictionary<string, Func<Plot>>(StringComparer.Ordinal)
    {
        ["scatter_two_series"] = ScatterTwoSeries,
        ["cdf_with_slo"] = CdfWithSlo,
        ["log_axes"] = LogAxes,
        ["bars_categories"] = BarsCategories,
        ["stacked_memory"] = StackedMemory,
        ["heatmap"] = HeatmapGrid,
        ["gantt_timeline"] = GanttTimeline,
        ["nan_and_empty"] = NanAndEmpty,
        ["escaped_text"] = EscapedText,
    };

    public static Plot ScatterTwoSeries()
    {
        var plot = new Plot();
        double[] qps = { 1, 2, 4, 8, 12, 16, 20 };
        var a = plot.Add.Scatter(qps, new double[] { 110, 118, 131, 170, 260, 480, 910 });
        a.LegendText = "TP=2, replicas=4";
        var b = plot.Add.Scatter(qps, new double[] { 95, 99, 104, 121, 150, 205, 330 });
        b.LegendText = "TP=4, replicas=2";
        plot.Title("TTFT p95 against offered load");
        plot.XLabel("arrival rate (requests/s)");
        plot.YLabel("TTFT p95 (ms)");
        plot.ShowLegend();
        return plot;
    }

    public static Plot CdfWithSlo()
    {
        var plot = new Plot();
        var rng = new Lcg(7);
        var fast = plot.Add.Cdf(Enumerable.Range(0, 400).Select(_ => rng.Skewed(300)).ToArray());
        fast.LegendText = "microbatches=4";
        var slow = plot.Add.Cdf(Enumerable.Range(0, 400).Select(_ => rng.Skewed(900)).ToArray());
        slow.LegendText = "microbatches=1";
        plot.Add.VerticalLine(2000, "SLO 2000 ms", Colors.Red);
        plot.Add.HorizontalLine(0.95, "p95", Colors.Gray);
        plot.Axes.SetLimitsY(0, 1);
        plot.Title("TTFT distribution");
        plot.XLabel("TTFT (ms)");
        plot.YLabel("fraction of requests");
        plot.ShowLegend();
        return plot;
    }

    public static Plot LogAxes()
    {
        var plot = new Plot();
        var batch = Enumerable.Range(0, 11).Select(i => Math.Pow(2, i)).ToArray();
        var decode = plot.Add.Scatter(batch, batch.Select(b => 6.5 + 0.02 * b + 0.0004 * b * b).ToArray());
        decode.LegendText = "decode";
        var prefill = plot.Add.Scatter(batch, batch.Select(b => 0.9 * b).ToArray());
        prefill.LegendText = "prefill (512 tokens)";
        plot.Axes.LogX();
        plot.Axes.LogY();
        plot.Title("Iteration time against batch size");
        plot.XLabel("batch size (sequences)");
        plot.YLabel("iteration time (ms)");
        plot.ShowLegend();
        return plot;
    }

    public static Plot BarsCategories()
    {
        var plot = new Plot();
        string[] names = { "tp1-pp1-r8", "tp2-pp1-r4", "tp4-pp1-r2", "tp8-pp1-r1", "tp4-pp2-r1", "tp2-pp4-r1" };
        var bars = plot.Add.Bars(new double[] { 3120.5, 4410.25, 5230, 4875.75, 3990, 2480 });
        bars.ValueLabelFormat = "0";
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, names.Length).Select(i => (double)i).ToArray(), names);
        plot.Title("Output throughput per layout");
        plot.YLabel("output tokens/s");
        return plot;
    }

    public static Plot StackedMemory()
    {
        var plot = new Plot();
        var gpus = Enumerable.Range(0, 8).Select(i => (double)i).ToArray();
        var stack = plot.Add.StackedBars(gpus);
        stack.AddLayer("weights", gpus.Select(_ => 35.3).ToArray());
        stack.AddLayer("KV cache", gpus.Select(g => 31.2 - g * 0.1).ToArray());
        stack.AddLayer("activations", gpus.Select(_ => 2.5).ToArray());
        stack.AddLayer("reserve", gpus.Select(_ => 8.0).ToArray());
        stack.AddLayer("free", gpus.Select(g => 3.0 + g * 0.1).ToArray(), Colors.LightGray);
        plot.Axes.Bottom.SetTicks(gpus, gpus.Select(g => "gpu " + g.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray());
        plot.Title("Memory per GPU");
        plot.YLabel("memory (GB)");
        plot.ShowLegend();
        return plot;
    }

    public static Plot HeatmapGrid()
    {
        var plot = new Plot();
        var values = new double[4, 6];
        for (var r = 0; r < 4; r++)
            for (var c = 0; c < 6; c++) values[r, c] = (r + 1) * 900 + c * 310 - r * c * 60;
        values[2, 3] = double.NaN;
        var hm = plot.Add.Heatmap(values);
        hm.ColorBarLabel = "output tokens/s";
        hm.CellLabelFormat = "0";
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, 6).Select(c => c + 0.5).ToArray(), new[] { "1", "2", "4", "8", "16", "32" });
        plot.Axes.Left.SetTicks(Enumerable.Range(0, 4).Select(r => 3 - r + 0.5).ToArray(), new[] { "TP=1", "TP=2", "TP=4", "TP=8" });
        plot.Title("Throughput by TP and microbatches");
        plot.XLabel("microbatches");
        return plot;
    }

    public static Plot GanttTimeline()
    {
        var plot = new Plot();
        var g = plot.Add.Gantt();
        g.SetCategoryColor("compute", Colors.Blue);
        g.SetCategoryColor("communication", Colors.Orange);
        g.SetCategoryColor("idle", Color.FromHex("#e8e8e8"));
        const int stages = 4, microbatches = 4;
        const double compute = 10, comm = 2;
        for (var s = 0; s < stages; s++)
        {
            var row = $"replica 0 / stage {s}";
            g.AddRow(row);
            double t = 0;
            for (var m = 0; m < microbatches; m++)
            {
                var start = (s + m) * (compute + comm);
                if (start > t) g.AddSpan(row, t, start, "idle");
                g.AddSpan(row, start, start + compute, "compute");
                g.AddSpan(row, start + compute, start + compute + comm, "communication");
                t = start + compute + comm;
            }
            var end = (stages + microbatches - 1) * (compute + comm);
            if (t < end) g.AddSpan(row, t, end, "idle");
        }
        plot.Title("Pipeline fill and drain (P=4, M=4)");
        plot.XLabel("time (ms)");
        plot.ShowLegend(LegendPosition.OutsideRight);
        return plot;
    }

    public static Plot NanAndEmpty()
    {
        var plot = new Plot();
        var s = plot.Add.Scatter(new double[] { 0, 1, 2, 3, 4, 5, 6 }, new[] { 1, 2, double.NaN, 4, 3, double.PositiveInfinity, 2 });
        s.LegendText = "with gaps";
        var empty = plot.Add.Scatter(Array.Empty<double>(), Array.Empty<double>());
        empty.LegendText = "no data";
        plot.Add.Cdf(Array.Empty<double>());
        plot.Title("Missing values break the line");
        plot.ShowLegend();
        return plot;
    }

    public static Plot EscapedText()
    {
        var plot = new Plot();
        var s = plot.Add.ScatterLine(new double[] { 0, 1 }, new double[] { 0, 1 });
        s.LegendText = "a < b & \"c\" > 'd'";
        plot.Title("Tom & Jerry's <chart>");
        plot.XLabel("x <ms>");
        plot.YLabel("y & z");
        plot.ShowLegend();
        return plot;
    }
}
