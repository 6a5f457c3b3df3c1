using System.Text;

namespace Simulator.Reports;

/// <summary>
/// Writes the report as self-contained HTML (each chart's SVG embedded as a data URI, inline CSS) and as
/// Markdown linking <c>charts/*.png</c>.
/// </summary>
internal sealed class ReportDocument(
    string title,
    IReadOnlyList<string> inputs,
    IReadOnlyList<ConfigurationResult> configs,
    Slo slo,
    string verdict,
    IReadOnlyList<ChartInfo> charts,
    IReadOnlyList<string> svgs,
    IReadOnlyList<string> notes,
    bool comparing,
    string? detailName,
    IReadOnlyList<(string Key, List<string> Values)> differences)
{
    /// <summary>Escapes markup characters only; the file is UTF-8, so other characters stay readable.</summary>
    internal static string H(string s) =>
        s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("\"", "&quot;").Replace("'", "&#39;");

    internal static string Md(string s) => s.Replace("|", "\\|").Replace("\n", " ");

    // Implementation note: the cost column appears only when some run was priced, so reports of unpriced runs keep their table.
    private bool Priced => configs.Any(c => c.UsdPerMillionOutputTokens is not null);

    private string[] TableHeader => new[]
    {
        "configuration", "status", "completed", "TTFT p50 (ms)", $"TTFT {slo.PercentileName} (ms)", "TPOT p50 (ms)",
        $"TPOT {slo.PercentileName} (ms)", "output tokens/s", "goodput (req/s)", "SLO attainment", "bubble", "meets SLO",
    }.Concat(Priced ? ["$ per million output tokens"] : Array.Empty<string>()).ToArray();

    private string[] Row(ConfigurationResult c) => new[]
    {
        c.Label, c.Status, Fmt.Num(c.Completed), Fmt.Num(c.TtftP50Ms), Fmt.Num(c.TtftAtPercentileMs), Fmt.Num(c.TpotP50Ms),
        Fmt.Num(c.TpotAtPercentileMs), Fmt.Num(c.OutputTokensPerS), Fmt.Num(c.GoodputRequestsPerS), Fmt.Pct(c.SloAttainment),
        Fmt.Pct(c.BubbleFraction), c.MeetsSlo switch { true => "yes", false => "no", _ => "–" },
    }.Concat(Priced ? [Fmt.Num(c.UsdPerMillionOutputTokens)] : Array.Empty<string>()).ToArray();

    private List<ConfigurationResult> Failed => configs.Where(c => !c.Succeeded).ToList();

    private string InputsLine => string.Join(", ", inputs);

    private IEnumerable<(string Heading, IReadOnlyList<ChartInfo> Charts)> ChartGroups()
    {
        if (!comparing)
        {
            yield return ("Charts", charts);
            yield break;
        }
        yield return ("Comparison charts", charts.Where(c => !c.Name.StartsWith("detail_", StringComparison.Ordinal)).ToList());
        var detail = charts.Where(c => c.Name.StartsWith("detail_", StringComparison.Ordinal)).ToList();
        if (detail.Count > 0) yield return ($"Detail of {detailName}", detail);
    }

    public string Html()
    {
        var sb = new StringBuilder();
        Head(sb, title);
        sb.Append("<h1>").Append(H(title)).Append("</h1>\n");
        sb.Append("<p class=\"muted\">Inputs: ").Append(H(InputsLine)).Append(". SLO: ").Append(H(slo.Describe())).Append(".</p>\n");
        sb.Append("<p class=\"verdict\" id=\"verdict\">").Append(H(verdict)).Append("</p>\n");
        return Body(sb);
    }

    /// <summary>The document head with the report's inline style, up to and including <c>&lt;body&gt;</c> (shared with the plan report).</summary>
    internal static void Head(StringBuilder sb, string title, string extraStyle = "")
    {
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
        sb.Append("<title>").Append(H(title)).Append("</title>\n<style>\n")
          .Append("body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;margin:24px auto;max-width:1200px;color:#222;padding:0 16px}\n")
          .Append("h1{font-size:24px}h2{font-size:19px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}\n")
          .Append("table{border-collapse:collapse;font-size:13px;margin:8px 0}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}\n")
          .Append("th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}tr.best td{background:#e8f5e9;font-weight:bold}\n")
          .Append(".verdict{font-size:16px;background:#f6f8fa;border-left:4px solid #2ca02c;padding:10px 14px}\n")
          .Append("figure{margin:24px 0}figcaption{font-size:14px;margin-bottom:6px}figure img{max-width:100%;height:auto;border:1px solid #eee}\n")
          .Append(".muted{color:#666;font-size:13px}\n").Append(extraStyle).Append("</style>\n</head>\n<body>\n");
    }

    private string Body(StringBuilder sb)
    {

        sb.Append("<h2>Configurations</h2>\n<table id=\"configurations\">\n<tr>");
        foreach (var h in TableHeader) sb.Append("<th>").Append(H(h)).Append("</th>");
        sb.Append("</tr>\n");
        var bestLabel = verdict.StartsWith("Best configuration: ", StringComparison.Ordinal) || configs.Count == 1 ? BestLabel() : null;
        foreach (var c in configs)
        {
            sb.Append(c.Label == bestLabel ? "<tr class=\"best\">" : "<tr>");
            foreach (var cell in Row(c)) sb.Append("<td>").Append(H(cell)).Append("</td>");
            sb.Append("</tr>\n");
        }
        sb.Append("</table>\n");

        if (Failed.Count > 0)
        {
            sb.Append("<h2>Failed configurations</h2>\n<table id=\"failed\">\n<tr><th>configuration</th><th>status</th><th>reason</th></tr>\n");
            foreach (var c in Failed)
                sb.Append("<tr><td>").Append(H(c.Label)).Append("</td><td>").Append(H(c.Status)).Append("</td><td style=\"text-align:left\">")
                  .Append(H(c.Error.Length > 0 ? c.Error : "(no reason given)")).Append("</td></tr>\n");
            sb.Append("</table>\n");
        }

        if (differences.Count > 0)
        {
            var withScenario = configs.Where(c => c.Run is { Scenario.Count: > 0 }).ToList();
            sb.Append("<h2>Scenario differences</h2>\n<p class=\"muted\">Keys of scenario.yaml whose values differ; every other key is the same.</p>\n<table id=\"differences\">\n<tr><th>key</th>");
            foreach (var c in withScenario) sb.Append("<th>").Append(H(c.Label)).Append("</th>");
            sb.Append("</tr>\n");
            foreach (var (key, values) in differences)
            {
                sb.Append("<tr><td>").Append(H(key)).Append("</td>");
                foreach (var v in values) sb.Append("<td>").Append(H(v)).Append("</td>");
                sb.Append("</tr>\n");
            }
            sb.Append("</table>\n");
        }

        foreach (var (heading, group) in ChartGroups())
        {
            if (group.Count == 0) continue;
            sb.Append("<h2>").Append(H(heading)).Append("</h2>\n");
            foreach (var chart in group)
            {
                // Implementation note: an <img> with a data URI keeps each SVG in its own document, so the clip-path
                // ids that every ScottPlot SVG numbers from the same start never collide between charts.
                var svg = svgs[IndexOf(chart)];
                sb.Append("<figure id=\"").Append(H(chart.Name)).Append("\">\n<figcaption><b>")
                  .Append(H(chart.Title)).Append("</b>: ").Append(H(chart.Question)).Append("</figcaption>\n")
                  .Append("<img class=\"chart\" alt=\"").Append(H(chart.Title)).Append("\" src=\"data:image/svg+xml;base64,")
                  .Append(Convert.ToBase64String(Encoding.UTF8.GetBytes(svg))).Append("\"/>\n</figure>\n");
            }
        }
        if (notes.Count > 0)
        {
            sb.Append("<h2>Notes</h2>\n<ul id=\"notes\">\n");
            foreach (var n in notes) sb.Append("<li>").Append(H(n)).Append("</li>\n");
            sb.Append("</ul>\n");
        }
        sb.Append("</body>\n</html>\n");
        return sb.ToString();
    }

    private int IndexOf(ChartInfo chart)
    {
        for (var i = 0; i < charts.Count; i++)
            if (ReferenceEquals(charts[i], chart)) return i;
        throw new InvalidOperationException("chart is not part of this report");
    }

    private string? BestLabel()
    {
        if (configs.Count == 1) return configs[0].MeetsSlo == true ? configs[0].Label : null;
        const string prefix = "Best configuration: ";
        return configs.Select(c => c.Label).Where(l => verdict.StartsWith(prefix + l + ",", StringComparison.Ordinal))
            .OrderByDescending(l => l.Length).FirstOrDefault();
    }

    public string Markdown()
    {
        var sb = new StringBuilder();
        sb.Append("# ").Append(title).Append("\n\n");
        sb.Append("Inputs: ").Append(InputsLine).Append(". SLO: ").Append(slo.Describe()).Append(".\n\n");
        sb.Append("**").Append(Md(verdict)).Append("**\n\n");
        sb.Append("## Configurations\n\n| ").Append(string.Join(" | ", TableHeader)).Append(" |\n|");
        foreach (var _ in TableHeader) sb.Append("---|");
        sb.Append('\n');
        foreach (var c in configs) sb.Append("| ").Append(string.Join(" | ", Row(c).Select(Md))).Append(" |\n");
        if (Failed.Count > 0)
        {
            sb.Append("\n## Failed configurations\n\n| configuration | status | reason |\n|---|---|---|\n");
            foreach (var c in Failed) sb.Append("| ").Append(Md(c.Label)).Append(" | ").Append(Md(c.Status)).Append(" | ").Append(Md(c.Error.Length > 0 ? c.Error : "(no reason given)")).Append(" |\n");
        }
        if (differences.Count > 0)
        {
            var withScenario = configs.Where(c => c.Run is { Scenario.Count: > 0 }).ToList();
            sb.Append("\n## Scenario differences\n\n| key | ").Append(string.Join(" | ", withScenario.Select(c => Md(c.Label)))).Append(" |\n|---|");
            foreach (var _ in withScenario) sb.Append("---|");
            sb.Append('\n');
            foreach (var (key, values) in differences) sb.Append("| ").Append(Md(key)).Append(" | ").Append(string.Join(" | ", values.Select(Md))).Append(" |\n");
        }
        foreach (var (heading, group) in ChartGroups())
        {
            if (group.Count == 0) continue;
            sb.Append("\n## ").Append(heading).Append("\n");
            foreach (var chart in group)
                sb.Append("\n### ").Append(chart.Title).Append("\n\n").Append(chart.Question).Append("\n\n![").Append(chart.Title).Append("](charts/").Append(chart.PngFile).Append(")\n");
        }
        if (notes.Count > 0)
        {
            sb.Append("\n## Notes\n\n");
            foreach (var n in notes) sb.Append("- ").Append(n).Append('\n');
        }
        return sb.ToString();
    }
}
