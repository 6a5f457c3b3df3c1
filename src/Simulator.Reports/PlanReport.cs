using System.Text;

namespace Simulator.Reports;

/// <summary>One row of plan.csv as the plan report reads it (figures null where the row has none).</summary>
public sealed record PlanRow(int Row, string Layout, string Gpu, string Shape, bool Disaggregated, double? Gpus, bool Fits, double? MaxRatePerS,
    double? GoodputTokensPerSPerGpu, double? TokensPerSPerUser, double? TtftP95Ms, double? TpotP95Ms, double? UsdPerHour,
    double? GoodputTokensPerSPerUsdPerHour, double? UsdPerMillionOutputTokens, string Reason, string VllmCommand, string SglangCommand)
{
    /// <summary>True when the layout sustains some load within the SLO.</summary>
    public bool Feasible => GoodputTokensPerSPerGpu is not null;
}

/// <summary>What <see cref="PlanReport.Build"/> wrote: the report files, the ranked feasible layouts, the rejected ones.</summary>
public sealed record PlanReportResult(ReportResult Report, IReadOnlyList<PlanRow> Ranked, IReadOnlyList<PlanRow> Rejected, bool RankedByCost);

/// <summary>
/// The report of a plan directory (plan.csv): the top K layouts with their figures and deploy commands, the Pareto
/// chart, goodput per GPU by layout, and every rejected layout with its reason, as <c>report.html</c> (self-contained)
/// and <c>report.md</c>. Written by `sim plan`, `sim merge` of a plan, and `sim report PLAN_DIR`. Everything comes from
/// plan.csv, so a merged plan writes the same report as the unsharded one.
/// </summary>
public static class PlanReport
{
    /// <summary>Layouts listed in the top table (with deploy commands) by default.</summary>
    public const int DefaultTop = 5;

    /// <summary>Most bars in the goodput chart.</summary>
    private const int MostBars = 20;

    /// <summary>True when <paramref name="dir"/> is a plan directory (plan.csv, no sweep.csv or summary.json).</summary>
    public static bool IsPlanDirectory(string dir) =>
        File.Exists(Path.Combine(dir, "plan.csv")) && !File.Exists(Path.Combine(dir, "sweep.csv")) && !File.Exists(Path.Combine(dir, "summary.json"));

    /// <summary>Reads plan.csv: rows in file order.</summary>
    public static IReadOnlyList<PlanRow> Rows(RunTable t)
    {
        double? N(int r, string c) => double.IsFinite(t.Number(r, c)) ? t.Number(r, c) : null;
        return Enumerable.Range(0, t.RowCount).Select(r => new PlanRow(r, t.Text(r, "layout"), t.Text(r, "gpu"), ShapeOf(t, r), t.Text(r, "prefill_tp").Length > 0,
            N(r, "gpus"), t.Text(r, "fits") == "true", N(r, "max_rate_per_s"), N(r, "goodput_tokens_per_s_per_gpu"), N(r, "tokens_per_s_per_user"),
            N(r, "ttft_p95_ms"), N(r, "tpot_p95_ms"), N(r, "usd_per_hour"), N(r, "goodput_tokens_per_s_per_usd_per_hour"),
            N(r, "usd_per_million_output_tokens"), t.Text(r, "reason"), t.Text(r, "vllm_command"), t.Text(r, "sglang_command"))).ToList();
    }

    /// <summary>Row <paramref name="r"/>'s layout as a person reads it, as Layout.Shape writes it: <c>TP2 x 2</c>, <c>TP1 DP4 EP4 x 1</c>, <c>1P(TP2)+1D(TP2)</c>.</summary>
    internal static string ShapeOf(RunTable t, int r) => t.Text(r, "prefill_tp").Length > 0
            ? $"{t.Text(r, "prefill_replicas")}P(TP{t.Text(r, "prefill_tp")})+{t.Text(r, "decode_replicas")}D(TP{t.Text(r, "decode_tp")})"
            : "TP" + t.Text(r, "tensor_parallel_size") + (t.Text(r, "pipeline_parallel_size") is var pp && pp != "1" && pp.Length > 0 ? " x PP" + pp : "")
              + (t.Text(r, "data_parallel_size") is var dp && dp != "1" && dp.Length > 0 ? " DP" + dp : "")
              + (t.Text(r, "expert_parallel_size") is var ep && ep != "1" && ep.Length > 0 ? " EP" + ep : "") + " x " + t.Text(r, "replicas");

    /// <summary>
    /// The feasible rows in the plan's order (as `sim plan` ranks them): by goodput per dollar when every feasible row
    /// has a price, else by goodput per GPU; then tokens/s per user; then row order.
    /// </summary>
    public static (IReadOnlyList<PlanRow> Ranked, bool ByCost) Rank(IReadOnlyList<PlanRow> rows)
    {
        var feasible = rows.Where(r => r.Feasible).ToList();
        bool byCost = feasible.Count > 0 && feasible.All(r => r.GoodputTokensPerSPerUsdPerHour is not null);
        var ranked = feasible.OrderByDescending(r => byCost ? r.GoodputTokensPerSPerUsdPerHour!.Value : r.GoodputTokensPerSPerGpu!.Value)
            .ThenByDescending(r => r.TokensPerSPerUser ?? 0).ThenBy(r => r.Row).ToList();
        return (ranked, byCost);
    }

    /// <summary>Builds charts/pareto.*, charts/goodput_per_gpu.*, report.html and report.md in <paramref name="outDir"/> from <paramref name="planDir"/>/plan.csv.</summary>
    public static PlanReportResult Build(string planDir, string outDir, int top = DefaultTop, ReportOptions? options = null)
    {
        options ??= new ReportOptions();
        var csv = Path.Combine(planDir, "plan.csv");
        var table = RunTable.TryReadFile(csv) ?? throw new ReportInputException($"{csv}: no plan.csv");
        var rows = Rows(table);
        var (ranked, byCost) = Rank(rows);
        var rejected = rows.Where(r => !r.Feasible).ToList();
        var sink = new ChartSink();
        var points = PlanCharts.Points(table);
        if (points.Count > 0)
        {
            PlanCharts.AddPareto(points, sink);
            bool oneGpu = rows.Select(r => r.Gpu).Distinct(StringComparer.Ordinal).Count() <= 1;
            PlanCharts.AddGoodputBars(ranked.Select(r => ((oneGpu ? "" : r.Gpu + " ") + r.Shape + KnobSuffix(r), r.GoodputTokensPerSPerGpu!.Value)).ToList(), MostBars, sink);
        }
        else sink.Skip("Pareto and goodput charts", "no layout meets the SLO at any load searched");

        Directory.CreateDirectory(outDir);
        var paths = new List<string>();
        var svgs = new List<string>();
        foreach (var chart in sink.Charts)
        {
            var (png, svg, text) = PlanCharts.WriteChart(chart, outDir, options);
            paths.Add(png);
            paths.Add(svg);
            svgs.Add(text);
        }
        var title = options.Title ?? "Layout plan";
        var verdict = Verdict(rows, ranked, byCost);
        var shown = ranked.Take(Math.Max(1, top)).ToList();
        var html = Path.Combine(outDir, "report.html");
        var md = Path.Combine(outDir, "report.md");
        File.WriteAllText(html, Html(title, verdict, shown, ranked.Count, rejected, byCost, sink, svgs), new UTF8Encoding(false));
        File.WriteAllText(md, Markdown(title, verdict, shown, ranked.Count, rejected, byCost, sink), new UTF8Encoding(false));
        return new PlanReportResult(new ReportResult(html, md, sink.Charts, paths, [], null, verdict, sink.Notes), ranked, rejected, byCost);
    }

    // Layout names carry the knob grid's suffix (-s128-b4096, -m4); the chart labels keep it after the shape.
    private static string KnobSuffix(PlanRow r) => KnobSuffix(r.Layout);

    internal static string KnobSuffix(string layout)
    {
        int at = layout.IndexOf("-s", StringComparison.Ordinal);
        return at >= 0 && layout.Length > at + 2 && char.IsDigit(layout[at + 2]) ? " " + layout[(at + 1)..] : "";
    }

    private static string Verdict(IReadOnlyList<PlanRow> rows, IReadOnlyList<PlanRow> ranked, bool byCost)
    {
        int noFit = rows.Count(r => !r.Fits), misses = rows.Count(r => r.Fits && !r.Feasible);
        var tail = $"{ranked.Count} of {rows.Count} layouts meet the SLO at some load searched, {noFit} do not fit in memory, {misses} miss the SLO at every load.";
        if (ranked.Count == 0) return "No layout meets the SLO. " + tail;
        var b = ranked[0];
        var cost = b.UsdPerMillionOutputTokens is { } m ? $", ${Fmt.Num(b.UsdPerHour)}/h, ${m.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture)} per million output tokens" : "";
        return $"Top layout ({(byCost ? "by goodput per dollar" : "by goodput per GPU")}): {b.Layout} ({b.Shape}): {Fmt.Num(b.GoodputTokensPerSPerGpu)} output tokens/s per GPU within the SLO " +
            $"at {Fmt.Num(b.MaxRatePerS)} req/s, {Fmt.Num(b.TokensPerSPerUser)} tokens/s per user{cost}. " + tail;
    }

    private static readonly string[] TopHeader =
        ["#", "layout", "shape", "GPUs", "max rate (req/s)", "goodput (out tok/s/GPU)", "tok/s/user", "TTFT p95 (ms)", "TPOT p95 (ms)", "$/h", "tok/s per $/h", "$ per M output tokens"];

    private static string[] TopRow(PlanRow r, int i) =>
    [
        (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), r.Layout, r.Shape, r.Gpus is { } g ? g.ToString("0", System.Globalization.CultureInfo.InvariantCulture) : "–", Fmt.Num(r.MaxRatePerS), Fmt.Num(r.GoodputTokensPerSPerGpu),
        Fmt.Num(r.TokensPerSPerUser), Fmt.Num(r.TtftP95Ms), Fmt.Num(r.TpotP95Ms), Fmt.Num(r.UsdPerHour), Fmt.Num(r.GoodputTokensPerSPerUsdPerHour),
        r.UsdPerMillionOutputTokens is { } m ? m.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture) : "–",
    ];

    private static string Html(string title, string verdict, IReadOnlyList<PlanRow> shown, int feasible, IReadOnlyList<PlanRow> rejected, bool byCost,
        ChartSink sink, IReadOnlyList<string> svgs)
    {
        static string H(string s) => ReportDocument.H(s);
        var sb = new StringBuilder();
        ReportDocument.Head(sb, title, "pre{white-space:pre-wrap;font-size:12px;background:#f6f8fa;padding:6px 10px;margin:4px 0}\n");
        sb.Append("<h1>").Append(H(title)).Append("</h1>\n<p class=\"verdict\" id=\"verdict\">").Append(H(verdict)).Append("</p>\n");
        sb.Append("<h2>Top layouts</h2>\n<p class=\"muted\">").Append(H($"The {shown.Count} best of {feasible} feasible layouts, ranked by {(byCost ? "goodput per dollar" : "goodput per GPU")}; figures of the highest load that met the SLO.")).Append("</p>\n");
        sb.Append("<table id=\"top\">\n<tr>");
        foreach (var h in TopHeader) sb.Append("<th>").Append(H(h)).Append("</th>");
        sb.Append("</tr>\n");
        for (int i = 0; i < shown.Count; i++)
        {
            sb.Append(i == 0 ? "<tr class=\"best\">" : "<tr>");
            foreach (var cell in TopRow(shown[i], i)) sb.Append("<td>").Append(H(cell)).Append("</td>");
            sb.Append("</tr>\n");
        }
        sb.Append("</table>\n<h2>Deploy commands</h2>\n<div id=\"deploy\">\n");
        for (int i = 0; i < shown.Count; i++)
            sb.Append("<p><b>#").Append(i + 1).Append(' ').Append(H(shown[i].Layout)).Append("</b></p>\n<pre>").Append(H(shown[i].VllmCommand)).Append("</pre>\n<pre>")
              .Append(H(shown[i].SglangCommand)).Append("</pre>\n");
        sb.Append("</div>\n");
        for (int c = 0; c < sink.Charts.Count; c++)
        {
            var chart = sink.Charts[c];
            sb.Append("<h2>").Append(H(chart.Title)).Append("</h2>\n<figure id=\"").Append(H(chart.Name)).Append("\">\n<figcaption>").Append(H(chart.Question)).Append("</figcaption>\n")
              .Append("<img class=\"chart\" alt=\"").Append(H(chart.Title)).Append("\" src=\"data:image/svg+xml;base64,")
              .Append(Convert.ToBase64String(Encoding.UTF8.GetBytes(svgs[c]))).Append("\"/>\n</figure>\n");
        }
        sb.Append("<h2>Rejected layouts</h2>\n");
        if (rejected.Count == 0) sb.Append("<p class=\"muted\">None: every layout meets the SLO at some load.</p>\n");
        else
        {
            sb.Append("<table id=\"rejected\">\n<tr><th>layout</th><th>shape</th><th>fits</th><th>reason</th></tr>\n");
            foreach (var r in rejected)
                sb.Append("<tr><td>").Append(H(r.Layout)).Append("</td><td>").Append(H(r.Shape)).Append("</td><td>").Append(r.Fits ? "yes" : "no")
                  .Append("</td><td style=\"text-align:left\">").Append(H(r.Reason)).Append("</td></tr>\n");
            sb.Append("</table>\n");
        }
        if (sink.Notes.Count > 0)
        {
            sb.Append("<h2>Notes</h2>\n<ul id=\"notes\">\n");
            foreach (var n in sink.Notes) sb.Append("<li>").Append(H(n)).Append("</li>\n");
            sb.Append("</ul>\n");
        }
        sb.Append("</body>\n</html>\n");
        return sb.ToString();
    }

    private static string Markdown(string title, string verdict, IReadOnlyList<PlanRow> shown, int feasible, IReadOnlyList<PlanRow> rejected, bool byCost, ChartSink sink)
    {
        static string Md(string s) => ReportDocument.Md(s);
        var sb = new StringBuilder();
        sb.Append("# ").Append(title).Append("\n\n**").Append(Md(verdict)).Append("**\n\n");
        sb.Append("## Top layouts\n\nThe ").Append(shown.Count).Append(" best of ").Append(feasible).Append(" feasible layouts, ranked by ")
          .Append(byCost ? "goodput per dollar" : "goodput per GPU").Append(".\n\n| ").Append(string.Join(" | ", TopHeader)).Append(" |\n|");
        foreach (var _ in TopHeader) sb.Append("---|");
        sb.Append('\n');
        for (int i = 0; i < shown.Count; i++) sb.Append("| ").Append(string.Join(" | ", TopRow(shown[i], i).Select(Md))).Append(" |\n");
        sb.Append("\n## Deploy commands\n");
        for (int i = 0; i < shown.Count; i++)
            sb.Append("\n#").Append(i + 1).Append(' ').Append(shown[i].Layout).Append(":\n\n```\n").Append(shown[i].VllmCommand).Append('\n').Append(shown[i].SglangCommand).Append("\n```\n");
        foreach (var chart in sink.Charts)
            sb.Append("\n## ").Append(chart.Title).Append("\n\n").Append(chart.Question).Append("\n\n![").Append(chart.Title).Append("](charts/").Append(chart.PngFile).Append(")\n");
        sb.Append("\n## Rejected layouts\n\n");
        if (rejected.Count == 0) sb.Append("None: every layout meets the SLO at some load.\n");
        else
        {
            sb.Append("| layout | shape | fits | reason |\n|---|---|---|---|\n");
            foreach (var r in rejected) sb.Append("| ").Append(Md(r.Layout)).Append(" | ").Append(Md(r.Shape)).Append(" | ").Append(r.Fits ? "yes" : "no").Append(" | ").Append(Md(r.Reason)).Append(" |\n");
        }
        if (sink.Notes.Count > 0)
        {
            sb.Append("\n## Notes\n\n");
            foreach (var n in sink.Notes) sb.Append("- ").Append(n).Append('\n');
        }
        return sb.ToString();
    }
}
