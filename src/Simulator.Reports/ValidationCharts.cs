using System.Globalization;
using System.Net;
using System.Text;
using ScottPlot;
using Simulator.Hardware.Collectives;

namespace Simulator.Reports;

/// <summary>What <see cref="ValidationCharts.Write"/> drew and wrote: report.html, and charts/NAME.png + .svg per chart.</summary>
public sealed record ValidationReport(string HtmlPath, IReadOnlyList<ChartInfo> Charts, IReadOnlyList<string> ChartPaths);

/// <summary>
/// The charts of <c>sim validate</c>, from its validation_points.csv (set, x_label, size_or_batch, measured, predicted):
/// per family of sets (the part of the set name before the first '/': operators, collectives, steps, memory, serving) a
/// parity chart (predicted against measured, log-log, the y = x line, one colour per set) and an error chart (predicted /
/// measured - 1 against the size or batch of each point, log x; for collectives with dashed lines at the size-band edges
/// 64 KiB and 16 MiB); and report.html with validation.csv's table above them.
/// </summary>
public static class ValidationCharts
{
    /// <summary>Most points a set draws: larger sets (Vidur's 30,276 operator rows) are thinned to every k-th point.</summary>
    public const int MaxPointsPerSet = 1500;

    /// <summary>The columns validation_points.csv must have.</summary>
    public static readonly IReadOnlyList<string> PointColumns = ["set", "x_label", "size_or_batch", "measured", "predicted"];

    private static readonly Dictionary<string, string> Units = new(StringComparer.Ordinal)
    {
        ["operators"] = "ms", ["collectives"] = "us", ["steps"] = "ms", ["memory"] = "GiB", ["serving"] = "ms (TTFT, ITL) or tokens/s",
    };

    /// <summary>The family of a set: <c>serving/nim/ttft</c> -> <c>serving</c>.</summary>
    public static string Family(string set) => set.Split('/')[0];

    /// <summary>The charts of a points table, two per family in order of first appearance (parity, then error).</summary>
    public static IReadOnlyList<ChartInfo> Build(RunTable points)
    {
        foreach (var c in PointColumns)
            if (!points.Has(c)) throw new ReportInputException($"validation_points.csv: missing column '{c}'; expected {string.Join(",", PointColumns)}");
        var rows = Enumerable.Range(0, points.RowCount)
            .Select(r => (Set: points.Text(r, "set"), X: points.Number(r, "size_or_batch"), XLabel: points.Text(r, "x_label"),
                Measured: points.Number(r, "measured"), Predicted: points.Number(r, "predicted")))
            .Where(p => p.X > 0 && p.Measured > 0 && p.Predicted > 0 && double.IsFinite(p.X + p.Measured + p.Predicted)).ToList();
        var sink = new ChartSink();
        foreach (var family in rows.Select(p => Family(p.Set)).Distinct())
        {
            var sets = rows.Where(p => Family(p.Set) == family).GroupBy(p => p.Set)
                .Select(g => (Set: g.Key, Points: Thin(g.ToList()))).ToList();
            string unit = Units.GetValueOrDefault(family, "as measured");

            var parity = Charts.NewPlot();
            var all = sets.SelectMany(s => s.Points).SelectMany(p => new[] { p.Measured, p.Predicted }).ToList();
            double lo = Math.Log10(all.Min()), hi = Math.Log10(all.Max());
            var diagonal = parity.Add.Scatter(new[] { lo, hi }, new[] { lo, hi }, Charts.Gray);
            diagonal.MarkerSize = 0;
            diagonal.LegendText = "y = x";
            for (int i = 0; i < sets.Count; i++)
            {
                var s = parity.Add.ScatterPoints(sets[i].Points.Select(p => Math.Log10(p.Measured)).ToArray(),
                    sets[i].Points.Select(p => Math.Log10(p.Predicted)).ToArray(), Colors.Category10[i % 10]);
                s.MarkerSize = 5;
                s.LegendText = sets[i].Set[(family.Length + 1)..];
            }
            Charts.LogTicks(parity.Axes.Bottom, all);
            Charts.LogTicks(parity.Axes.Left, all);
            parity.XLabel($"measured ({unit})");
            parity.YLabel($"predicted ({unit})");
            parity.ShowLegend(Alignment.UpperLeft);
            sink.Add($"parity_{family}", $"{family}: predicted against measured", "Do the points sit on y = x, and which sets stray?", parity);

            var error = Charts.NewPlot();
            var zero = error.Add.HorizontalLine(0, 1, Charts.Gray);
            for (int i = 0; i < sets.Count; i++)
            {
                var s = error.Add.ScatterPoints(sets[i].Points.Select(p => Math.Log10(p.X)).ToArray(),
                    sets[i].Points.Select(p => (p.Predicted / p.Measured - 1) * 100).ToArray(), Colors.Category10[i % 10]);
                s.MarkerSize = 5;
                s.LegendText = sets[i].Set[(family.Length + 1)..];
            }
            if (family == "collectives")
            {
                // The size bands validation.md reports collectives in (CollectiveSizeBands): small | mid | large.
                Charts.Marker(error.Add.VerticalLine(Math.Log10(CollectiveSizeBands.SmallMaxBytes), 1, Charts.Gray, LinePattern.Dashed),
                    "64 KiB", "band edge 64 KiB");
                Charts.Marker(error.Add.VerticalLine(Math.Log10(CollectiveSizeBands.LargeMinBytes), 1, Charts.Gray, LinePattern.Dashed),
                    "16 MiB", "band edge 16 MiB");
            }
            Charts.LogTicks(error.Axes.Bottom, sets.SelectMany(s => s.Points).Select(p => p.X));
            error.XLabel(string.Join(" / ", sets.SelectMany(s => s.Points).Select(p => p.XLabel).Distinct()));
            error.YLabel("error: predicted / measured - 1 (%)");
            error.ShowLegend(Alignment.UpperRight);
            sink.Add($"error_{family}", $"{family}: error against size or batch", "Where along size or batch does the model drift?", error);
        }
        return sink.Charts;
    }

    /// <summary>Every k-th point of a set, so at most <see cref="MaxPointsPerSet"/> are drawn (first and last kept).</summary>
    private static List<T> Thin<T>(List<T> points)
    {
        if (points.Count <= MaxPointsPerSet) return points;
        int k = (points.Count + MaxPointsPerSet - 1) / MaxPointsPerSet;
        return points.Where((_, i) => i % k == 0).ToList();
    }

    /// <summary>
    /// Reads <paramref name="outDir"/>/validation_points.csv and validation.csv and writes charts/*.png + *.svg and
    /// report.html (the summary table, then each family's two charts, SVG embedded) into <paramref name="outDir"/>.
    /// </summary>
    public static ValidationReport Write(string outDir, ReportOptions? options = null)
    {
        options ??= new ReportOptions();
        var pointsPath = Path.Combine(outDir, "validation_points.csv");
        var points = RunTable.TryReadFile(pointsPath) ?? throw new ReportInputException($"{pointsPath}: missing");
        var summary = RunTable.TryReadFile(Path.Combine(outDir, "validation.csv"));
        var charts = Build(points);
        var (paths, svgs) = ChartSink.WriteAll(charts, Path.Combine(outDir, "charts"), options);
        var html = Path.Combine(outDir, "report.html");
        File.WriteAllText(html, Html(summary, charts, svgs), new UTF8Encoding(false));
        return new ValidationReport(html, charts, paths);
    }

    private static string H(string s) => WebUtility.HtmlEncode(s);

    private static string Html(RunTable? summary, IReadOnlyList<ChartInfo> charts, IReadOnlyList<string> svgs)
    {
        var sb = new StringBuilder("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>sim validate</title>\n<style>\n")
            .Append("body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;margin:24px auto;max-width:1200px;color:#222;padding:0 16px}\n")
            .Append("h1{font-size:24px}h2{font-size:19px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}\n")
            .Append("table{border-collapse:collapse;font-size:13px;margin:8px 0}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}\n")
            .Append("th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}td.no{font-weight:bold}\n")
            .Append("figure{margin:24px 0}figcaption{font-size:14px;margin-bottom:6px}figure img{max-width:100%;height:auto;border:1px solid #eee}\n")
            .Append(".muted{color:#666;font-size:13px}\n</style>\n</head>\n<body>\n<h1>sim validate: every shipped measurement set through the model</h1>\n")
            .Append("<p class=\"muted\">Errors are predicted / measured - 1; bias is their mean (positive: the model predicts too much). ")
            .Append("Sets marked <b>no</b> were kept out of every fit.</p>\n");
        if (summary is not null)
        {
            sb.Append("<table>\n<tr>");
            foreach (var h in summary.Headers) sb.Append("<th>").Append(H(h)).Append("</th>");
            sb.Append("</tr>\n");
            for (int r = 0; r < summary.RowCount; r++)
            {
                sb.Append("<tr>");
                foreach (var h in summary.Headers)
                {
                    var v = summary.Text(r, h);
                    bool share = h.EndsWith("_error", StringComparison.Ordinal) || h == "signed_bias";
                    var text = share && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
                        ? d.ToString(h == "signed_bias" ? "+0.0%;-0.0%" : "0.0%", CultureInfo.InvariantCulture) : v;
                    sb.Append(h == "fitted" && v == "no" ? "<td class=\"no\">" : "<td>").Append(H(text)).Append("</td>");
                }
                sb.Append("</tr>\n");
            }
            sb.Append("</table>\n");
        }
        foreach (var family in charts.Select(c => c.Name[(c.Name.IndexOf('_') + 1)..]).Distinct())
        {
            sb.Append("<h2>").Append(H(family)).Append("</h2>\n");
            for (int i = 0; i < charts.Count; i++)
            {
                if (charts[i].Name[(charts[i].Name.IndexOf('_') + 1)..] != family) continue;
                sb.Append("<figure>\n<figcaption>").Append(H(charts[i].Question)).Append("</figcaption>\n")
                  .Append("<img class=\"chart\" alt=\"").Append(H(charts[i].Title)).Append("\" src=\"data:image/svg+xml;base64,")
                  .Append(Convert.ToBase64String(Encoding.UTF8.GetBytes(svgs[i]))).Append("\"/>\n</figure>\n");
            }
        }
        return sb.Append("</body>\n</html>\n").ToString();
    }
}
