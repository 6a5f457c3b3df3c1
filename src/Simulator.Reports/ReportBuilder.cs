using System.Globalization;
using System.Net;
using System.Text;

namespace Simulator.Reports;

/// <summary>
/// Turns run and sweep directories into <c>charts/*.png</c> and <c>charts/*.svg</c> (ScottPlot), a self-contained
/// <c>report.html</c> and <c>report.md</c>. Called by <c>sim run</c>, <c>sim sweep</c> and <c>sim report</c>.
/// </summary>
public static class ReportBuilder
{
    private static readonly Lock WarmUpLock = new();
    private static Task? _warmUp;

    /// <summary>
    /// Starts, on the thread pool, the report's one-time costs of a process (the font lookup, and compiling the chart code
    /// by building and drawing, small, the charts of a made-up run: <c>RunCharts.WarmUp</c>), so that a caller that will build a report after
    /// other work (<c>sim run</c>: the simulation) pays them beside that work. <see cref="Build"/> waits for it.
    /// Calling it more than once starts it once.
    /// </summary>
    // Implementation note: the simulation's event loop runs on one thread, so on a 2-core machine the other core idles
    // while it runs; the first chart a process draws costs some 0.1-0.2 s more than the next ones (JIT of ScottPlot's and
    // SkiaSharp's generic code over their value types, which ReadyToRun cannot precompile outside their own assemblies,
    // and Skia's font scan). The warm-up reads and writes no file and leaves no state a report depends on: the SVG clip ids it
    // consumes are renumbered per file (Charts.NumberSvgIds), and labels are regular weight (Charts.ApplyStyle).
    public static void WarmUp()
    {
        lock (WarmUpLock) _warmUp ??= Task.Run(() => RunWarmUp(() => RunCharts.WarmUp()));
    }

    /// <summary>
    /// Runs <paramref name="warmUp"/> and never throws: the warm-up only saves time, so a failure of its made-up run costs
    /// the report nothing but that time (the report's own charts then fail or not on their own), noted only under
    /// <c>SIM_REPORT_PHASES</c>.
    /// </summary>
    internal static void RunWarmUp(Action warmUp)
    {
        ReportPhases.Mark("warm-up start");
        try
        {
            warmUp();
            ReportPhases.Mark("warm-up done");
        }
        catch (Exception e)
        {
            ReportPhases.Mark($"warm-up failed ({e.GetType().Name}: {e.Message}); the report goes on without it");
        }
    }

    /// <summary>Starts <paramref name="warmUp"/> as the process's warm-up, in place of <see cref="RunCharts.WarmUp"/> (tests).</summary>
    internal static void WarmUp(Action warmUp)
    {
        lock (WarmUpLock) _warmUp = Task.Run(() => RunWarmUp(warmUp));
    }

    /// <summary>
    /// The table columns a run keeps in memory for its report (<c>ScenarioRunner.Run</c>'s capture): pass the kept tables
    /// to <see cref="Build"/> as <c>runTables</c> and the report does not read requests, iterations and timeseries back.
    /// </summary>
    public static Simulator.Inference.Metrics.TableCapture TableCapture => RunData.Capture;

    /// <summary>
    /// Builds the report. Each input is a run directory (summary.json) or a sweep directory (sweep.csv);
    /// missing optional files or columns skip their chart and the report says so.
    /// <paramref name="runTables"/>: with a single run directory, the tables its writer kept in memory (<see cref="TableCapture"/>),
    /// read instead of their files; the report is the same.
    /// <paramref name="inputNames"/>: what the report prints for each input (its "Inputs:" line, and where a label needs a
    /// folder's name), one per input; the input paths themselves without it. A caller that builds the report in an
    /// unpublished folder (<c>sim run</c>, <c>sim sweep</c>) passes the folder it will be published at.
    /// Throws <see cref="ReportInputException"/> for an input that is neither.
    /// </summary>
    public static ReportResult Build(IReadOnlyList<string> inputDirs, string outDir, ReportOptions? options = null,
        IReadOnlyDictionary<string, Simulator.Inference.Metrics.CapturedTable>? runTables = null, IReadOnlyList<string>? inputNames = null)
    {
        options ??= new ReportOptions();
        ReportPhases.Mark("build start");
        Task? warmUp;
        lock (WarmUpLock) warmUp = _warmUp;
        warmUp?.GetAwaiter().GetResult();
        ReportPhases.Mark("warm-up awaited");
        if (inputDirs.Count == 0) throw new ReportInputException("no input directory given");
        if (inputNames is not null && inputNames.Count != inputDirs.Count)
            throw new ArgumentException($"{inputNames.Count} input name(s) for {inputDirs.Count} input(s); expected one per input", nameof(inputNames));
        var shown = inputNames ?? inputDirs;
        if (inputDirs.Count == 1 && PlanReport.IsPlanDirectory(inputDirs[0])) return PlanReport.Build(inputDirs[0], outDir, options: options).Report;
        var runs = new List<RunData>();
        var sweeps = new List<SweepData>();
        for (var i = 0; i < inputDirs.Count; i++)
        {
            var dir = inputDirs[i];
            if (!Directory.Exists(dir)) throw new ReportInputException($"{dir}: directory does not exist");
            if (File.Exists(Path.Combine(dir, "sweep.csv"))) sweeps.Add(SweepData.Load(dir, shown[i]));
            else if (File.Exists(Path.Combine(dir, "summary.json"))) runs.Add(RunData.Load(dir, inputDirs.Count == 1 ? runTables : null, shown[i]));
            else throw new ReportInputException($"{dir}: neither a run directory (summary.json), a sweep directory (sweep.csv) nor, given alone, a plan directory (plan.csv)");
        }

        ReportPhases.Mark("loaded");
        var slo = ResolveSlo(runs.Concat(sweeps.SelectMany(s => s.Points).OfType<RunData>()), options);
        var configs = Configurations(runs, sweeps, slo);
        var comparing = configs.Count > 1 || sweeps.Count > 0;
        var (best, verdict) = Verdict(configs, slo, comparing);

        var sink = new ChartSink { LineColumns = options.ChartWidth, PointRows = options.ChartHeight, RenderAsAdded = options };
        if (comparing)
        {
            CompareCharts.All(configs, sweeps, slo, sink);
            var detail = best?.Run ?? configs.FirstOrDefault(c => c.Run is not null)?.Run;
            if (detail is not null) RunCharts.All(detail, slo, options, sink, "detail_");
        }
        else RunCharts.All(runs[0], slo, options, sink, "");

        ReportPhases.Mark("models built");
        Directory.CreateDirectory(outDir);
        var (chartPaths, svgs) = sink.Write(Path.Combine(outDir, "charts"), options);

        ReportPhases.Mark("charts written");
        var title = options.Title ?? (runs.Count == 1 && sweeps.Count == 0 ? $"Simulation report: {runs[0].Name}" : "Simulation comparison report");
        var detailName = comparing ? (best ?? configs.FirstOrDefault(c => c.Run is not null))?.Label : null;
        var doc = new ReportDocument(title, shown, configs, slo, verdict, sink.Charts, svgs, sink.Notes, comparing, detailName,
            ScenarioDifferences(configs));
        var htmlPath = Path.Combine(outDir, "report.html");
        var mdPath = Path.Combine(outDir, "report.md");
        File.WriteAllText(htmlPath, doc.Html(), new UTF8Encoding(false));
        File.WriteAllText(mdPath, doc.Markdown(), new UTF8Encoding(false));
        ReportPhases.Mark("html written");
        return new ReportResult(htmlPath, mdPath, sink.Charts, chartPaths, configs, best, verdict, sink.Notes);
    }

    private static Slo ResolveSlo(IEnumerable<RunData> runs, ReportOptions options)
    {
        var found = runs.Select(r => r.Slo).FirstOrDefault(s => s.IsSet) ?? new Slo(null, null, 95);
        return new Slo(options.SloTtftMs ?? found.TtftMs, options.SloTpotMs ?? found.TpotMs, options.SloPercentile ?? found.Percentile);
    }

    private static double? Finite(double v) => double.IsFinite(v) ? v : null;

    /// <summary>A metric at the SLO percentile: summary.json's pNN field, else the requests themselves.</summary>
    private static double? AtPercentile(RunData? run, string metric, Slo slo, double? fallback)
    {
        if (run is null) return fallback;
        var key = $"{metric}.{slo.PercentileName}";
        if (run.Get(key) is { } v) return v;
        if (run.Get($"slo.{metric.Replace("_ms", "")}_at_percentile_ms") is { } atPct && run.Get("slo.percentile") == slo.Percentile) return atPct;
        if (run.Requests?.HasNumbers(metric) == true) return Finite(Percentiles.Of(RunCharts.CompletedValues(run, metric), slo.Percentile));
        return fallback;
    }

    private static bool? Meets(Slo slo, double? ttft, double? tpot, double? attainment)
    {
        if (!slo.IsSet) return null;
        if ((slo.TtftMs is not null && ttft is null) || (slo.TpotMs is not null && tpot is null))
            return attainment is { } a ? a >= slo.Percentile / 100 : null;
        return (slo.TtftMs is not { } t || ttft <= t) && (slo.TpotMs is not { } p || tpot <= p);
    }

    private static List<ConfigurationResult> Configurations(List<RunData> runs, List<SweepData> sweeps, Slo slo)
    {
        var configs = new List<ConfigurationResult>();
        var runLabels = RunLabels(runs);
        for (var i = 0; i < runs.Count; i++)
        {
            var r = runs[i];
            var ttft = AtPercentile(r, "ttft_ms", slo, null);
            var tpot = AtPercentile(r, "tpot_ms", slo, null);
            var attainment = r.Get("slo.attainment");
            configs.Add(new ConfigurationResult
            {
                Label = runLabels[i], Run = r,
                Completed = r.Get("requests.completed"),
                TtftP50Ms = r.Get("ttft_ms.p50"), TtftAtPercentileMs = ttft,
                TpotP50Ms = r.Get("tpot_ms.p50"), TpotAtPercentileMs = tpot,
                OutputTokensPerS = r.Get("throughput.output_tokens_per_s"),
                GoodputRequestsPerS = r.Get("slo.goodput_requests_per_s"),
                SloAttainment = attainment,
                BubbleFraction = r.Get("pipeline.bubble_fraction"),
                UsdPerMillionOutputTokens = r.Get("cost.usd_per_million_output_tokens"),
                MeetsSlo = Meets(slo, ttft, tpot, attainment),
            });
        }
        for (var si = 0; si < sweeps.Count; si++)
        {
            var s = sweeps[si];
            var t = s.Table;
            var sweepPrefix = sweeps.Count > 1 || runs.Count > 0 ? Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(s.ShownDir))) + ": " : "";
            for (var r = 0; r < t.RowCount; r++)
            {
                var swept = new SortedDictionary<string, string>(StringComparer.Ordinal);
                foreach (var k in s.Keys) swept[k] = t.Text(r, k);
                var status = t.Has("status") ? t.Text(r, "status") : "ok";
                var point = s.Points[r];
                double? Col(string c) => Finite(t.Number(r, c));
                var pctCol = slo.PercentileName;
                var ttft = AtPercentile(point, "ttft_ms", slo, Col($"ttft_{pctCol}_ms"));
                var tpot = AtPercentile(point, "tpot_ms", slo, Col($"tpot_{pctCol}_ms"));
                var attainment = Col("slo_attainment");
                var ok = status is "ok" or "completed" or "success" or "";
                configs.Add(new ConfigurationResult
                {
                    Label = sweepPrefix + (s.Keys.Count == 0 ? $"point {r}" : string.Join(", ", s.Keys.Select(k => $"{CompareCharts.Short(k)}={t.Text(r, k)}"))),
                    Run = point, SweptValues = swept,
                    Status = status.Length == 0 ? "ok" : status, Error = t.Text(r, "error"),
                    Completed = Col("completed"),
                    TtftP50Ms = Col("ttft_p50_ms"), TtftAtPercentileMs = ttft,
                    TpotP50Ms = Col("tpot_p50_ms"), TpotAtPercentileMs = tpot,
                    OutputTokensPerS = Col("output_tokens_per_s"),
                    GoodputRequestsPerS = Col("goodput_requests_per_s"),
                    SloAttainment = attainment,
                    BubbleFraction = Col("bubble_fraction"),
                    MeetsSlo = ok ? Meets(slo, ttft, tpot, attainment) : false,
                });
            }
        }
        return configs;
    }

    /// <summary>Runs are named by the scenario keys that differ between them (at most three), else by scenario name.</summary>
    private static List<string> RunLabels(List<RunData> runs)
    {
        var labels = runs.Select(r => r.Name).ToList();
        if (runs.Count > 1)
        {
            var keys = runs.SelectMany(r => r.Scenario.Keys).Distinct(StringComparer.Ordinal).OrderBy(k => k, StringComparer.Ordinal)
                .Where(k => k != "name" && runs.Select(r => r.Scenario.GetValueOrDefault(k, "")).Distinct(StringComparer.Ordinal).Count() > 1).ToList();
            if (keys.Count is > 0 and <= 3)
                labels = runs.Select(r => string.Join(", ", keys.Select(k => $"{CompareCharts.Short(k)}={r.Scenario.GetValueOrDefault(k, "–")}"))).ToList();
        }
        // Keep labels unique: append the directory name where two coincide.
        for (var i = 0; i < labels.Count; i++)
            if (labels.Count(l => l == labels[i]) > 1)
                labels = labels.Select((l, j) => labels.Count(x => x == l) > 1 ? $"{l} ({Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(runs[j].ShownDir)))})" : l).ToList();
        return labels;
    }

    private static (ConfigurationResult? Best, string Verdict) Verdict(List<ConfigurationResult> configs, Slo slo, bool comparing)
    {
        var ok = configs.Where(c => c.Succeeded && c.OutputTokensPerS is not null).ToList();
        if (!comparing)
        {
            var c = configs[0];
            if (!slo.IsSet) return (null, $"{c.Label}: {Fmt.Num(c.OutputTokensPerS)} output tokens/s; no SLO given.");
            return (c.MeetsSlo == true ? c : null, c.MeetsSlo switch
            {
                true => $"{c.Label} meets the SLO ({slo.Describe()}) at {Fmt.Num(c.OutputTokensPerS)} output tokens/s.",
                false => $"{c.Label} misses the SLO ({slo.Describe()}): TTFT {slo.PercentileName} {Fmt.Num(c.TtftAtPercentileMs)} ms, TPOT {slo.PercentileName} {Fmt.Num(c.TpotAtPercentileMs)} ms.",
                _ => $"{c.Label}: not enough figures to check the SLO ({slo.Describe()}).",
            });
        }
        if (!slo.IsSet)
        {
            var top = ok.OrderByDescending(c => c.OutputTokensPerS).FirstOrDefault();
            return top is null
                ? (null, "No configuration reports throughput; no best configuration.")
                : (top, $"Best configuration: {top.Label}, with the highest throughput ({Fmt.Num(top.OutputTokensPerS)} output tokens/s); no SLO was given.");
        }
        var meeting = ok.Where(c => c.MeetsSlo == true).OrderByDescending(c => c.OutputTokensPerS).ToList();
        if (meeting.Count == 0)
            return (null, $"No configuration meets the SLO ({slo.Describe()}); {configs.Count - ok.Count} of {configs.Count} failed or report no throughput.");
        var best = meeting[0];
        return (best, $"Best configuration: {best.Label}, with the highest throughput among the {meeting.Count} of {configs.Count} configurations that meet the SLO " +
                      $"({Fmt.Num(best.OutputTokensPerS)} output tokens/s; TTFT {slo.PercentileName} {Fmt.Num(best.TtftAtPercentileMs)} ms, TPOT {slo.PercentileName} {Fmt.Num(best.TpotAtPercentileMs)} ms; {slo.Describe()}).");
    }

    /// <summary>Scenario keys whose values differ between configurations that have a scenario.yaml (sorted by key).</summary>
    private static List<(string Key, List<string> Values)> ScenarioDifferences(List<ConfigurationResult> configs)
    {
        var withScenario = configs.Where(c => c.Run is { Scenario.Count: > 0 }).ToList();
        if (withScenario.Count < 2) return new List<(string, List<string>)>();
        return withScenario.SelectMany(c => c.Run!.Scenario.Keys).Distinct(StringComparer.Ordinal).OrderBy(k => k, StringComparer.Ordinal)
            .Select(k => (k, withScenario.Select(c => c.Run!.Scenario.GetValueOrDefault(k, "–")).ToList()))
            .Where(x => x.Item2.Distinct(StringComparer.Ordinal).Count() > 1)
            .ToList();
    }
}
