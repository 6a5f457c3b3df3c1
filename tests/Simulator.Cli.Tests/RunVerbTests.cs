using System.Text.Json;

namespace Simulator.Cli.Tests;

/// <summary>`sim run`: the run directory's files, columns and summary fields, determinism, reruns, the report.</summary>
[TestFixture, NonParallelizable]
public sealed class RunVerbTests
{
    private static readonly string Quickstart = CliHarness.Scenario("quickstart.yaml");

    private static readonly string[] RequestColumns =
    {
        "request_id", "arrival_s", "replica", "input_tokens", "output_tokens", "cached_tokens", "status",
        "first_token_s", "completion_s", "ttft_ms", "tpot_ms", "e2e_ms", "queue_ms", "preemptions",
    };

    private static readonly string[] IterationColumns =
    {
        "replica", "stage", "iteration", "microbatch", "start_s", "end_s", "batch_size", "prefill_tokens",
        "decode_tokens", "compute_ms", "tp_comm_ms", "ep_comm_ms", "pp_comm_ms",
    };

    private static readonly string[] GpuColumns =
        { "gpu", "node", "replica", "stage", "weights_gb", "kv_capacity_gb", "busy_fraction", "idle_fraction" };

    // docs/outputs.md (CONTRACT lists no required columns for these two).
    private static readonly string[] LinkColumns = { "link", "kind", "bandwidth_gbps", "bytes_carried", "busy_fraction" };
    private static readonly string[] TimeseriesColumns = { "time_s", "replica", "queued", "running", "kv_utilization" };

    private static readonly string[] SummaryFields =
    {
        "scenario", "seed",
        "requests.total", "requests.completed", "requests.rejected", "requests.failed", "requests.unfinished",
        "ttft_ms.mean", "ttft_ms.p50", "ttft_ms.p90", "ttft_ms.p95", "ttft_ms.p99", "ttft_ms.max",
        "tpot_ms.mean", "tpot_ms.p50", "tpot_ms.p90", "tpot_ms.p95", "tpot_ms.p99", "tpot_ms.max",
        "e2e_ms.mean", "e2e_ms.p50", "e2e_ms.p90", "e2e_ms.p95", "e2e_ms.p99", "e2e_ms.max",
        "itl_ms.mean", "itl_ms.p50", "itl_ms.p90", "itl_ms.p95", "itl_ms.p99",
        "throughput.requests_per_s", "throughput.input_tokens_per_s", "throughput.output_tokens_per_s",
        "slo.attainment", "slo.goodput_requests_per_s",
        "pipeline.stages", "pipeline.microbatches", "pipeline.bubble_fraction",
        "simulation.events", "simulation.simulated_s",
    };

    // Implementation note: CONTRACT also lists simulation.wall_s and simulation.events_per_s in summary.json,
    // but wall-clock figures there would make summary.json differ between identical runs (the determinism
    // rule); the product writes them to perf.json beside it (README.md, "Run outputs and metrics"), so that is where they are checked.
    private static readonly string[] WallClockFields = { "wall_s", "events_per_s" };

    private static CliResult RunQuickstart(string outDir, params string[] extra) =>
        CliHarness.Run(new[] { "run", Quickstart, "--set", "workload.requests=60", "--out", outDir, "--no-report" }.Concat(extra).ToArray());

    private static JsonElement? Find(JsonElement root, string dotted)
    {
        var e = root;
        foreach (var part in dotted.Split('.'))
        {
            if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(part, out var next)) return null;
            e = next;
        }
        return e;
    }

    [Test]
    public void Run_Quickstart_WritesEveryRunDirectoryFileWithTheContractColumns()
    {
        using var tmp = new TempDir();
        var dir = tmp.Sub("run");
        var r = RunQuickstart(dir);

        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        foreach (var f in new[] { "scenario.yaml", "summary.json", "requests.csv", "iterations.csv", "gpus.csv", "links.csv", "timeseries.csv", "timeline.json" })
            Assert.That(File.Exists(Path.Combine(dir, f)), Is.True, $"{f} missing from the run directory");

        var requests = CsvTable.Read(Path.Combine(dir, "requests.csv"));
        Assert.That(requests.Header, Is.SupersetOf(RequestColumns));
        Assert.That(requests.Rows, Has.Count.EqualTo(60), "one row per request of the workload");
        int status = requests.Column("status");
        Assert.That(requests.Rows.Select(row => row[status]), Has.All.AnyOf("completed", "rejected", "failed", "unfinished"));
        int id = requests.Column("request_id");
        Assert.That(requests.Rows.Select(row => row[id]), Is.Unique, "each request has exactly one row");

        var iterations = CsvTable.Read(Path.Combine(dir, "iterations.csv"));
        Assert.That(iterations.Header, Is.SupersetOf(IterationColumns));
        Assert.That(iterations.Rows, Is.Not.Empty);
        var gpus = CsvTable.Read(Path.Combine(dir, "gpus.csv"));
        Assert.That(gpus.Header, Is.SupersetOf(GpuColumns));
        Assert.That(gpus.Rows, Is.Not.Empty);
        Assert.That(CsvTable.Read(Path.Combine(dir, "links.csv")).Header, Is.SupersetOf(LinkColumns));
        Assert.That(CsvTable.Read(Path.Combine(dir, "timeseries.csv")).Header, Is.SupersetOf(TimeseriesColumns));

        using var timeline = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "timeline.json")));
        var root = timeline.RootElement;
        var events = root.ValueKind == JsonValueKind.Array ? root : root.GetProperty("traceEvents");
        Assert.That(events.EnumerateArray().Any(e => e.TryGetProperty("ph", out var ph) && ph.GetString() == "X"), Is.True,
            "the Chrome trace holds complete (ph X) stage events");
    }

    [Test]
    public void Run_Quickstart_SummaryJsonHasEveryContractField()
    {
        using var tmp = new TempDir();
        var dir = tmp.Sub("run");
        var r = RunQuickstart(dir);
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());

        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")));
        var root = summary.RootElement;
        var missing = SummaryFields.Where(f => Find(root, f) is null).ToList();
        Assert.That(missing, Is.Empty, "summary.json lacks CONTRACT fields");
        Assert.That(Find(root, "scenario")!.Value.GetString(), Is.EqualTo("quickstart"));
        Assert.That(Find(root, "requests.total")!.Value.GetInt32(), Is.EqualTo(60));

        var wallClockHome = File.Exists(Path.Combine(dir, "perf.json"))
            ? JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "perf.json"))).RootElement
            : root.GetProperty("simulation");
        foreach (var f in WallClockFields)
            Assert.That(Find(wallClockHome, f), Is.Not.Null, $"{f} is in neither summary.json's simulation block nor perf.json");
    }

    [Test]
    public void Run_SameSeedTwice_GivesByteIdenticalRequestsAndSummary()
    {
        using var tmp = new TempDir();
        Assert.That(RunQuickstart(tmp.Sub("a")).ExitCode, Is.EqualTo(0));
        Assert.That(RunQuickstart(tmp.Sub("b")).ExitCode, Is.EqualTo(0));

        Assert.That(File.ReadAllBytes(tmp.Sub("b", "requests.csv")), Is.EqualTo(File.ReadAllBytes(tmp.Sub("a", "requests.csv"))));
        Assert.That(File.ReadAllBytes(tmp.Sub("b", "summary.json")), Is.EqualTo(File.ReadAllBytes(tmp.Sub("a", "summary.json"))));
    }

    [Test]
    public void Run_WithThreads_SaysSoAndWritesTheSameFilesAsOneThread()
    {
        using var tmp = new TempDir();
        string[] sets = ["--set", "workload.requests=300", "--no-report"];
        var one = CliHarness.Run(["run", CliHarness.Scenario("fleet-1m.yaml"), "--out", tmp.Sub("one"), "--threads", "1", .. sets]);
        var two = CliHarness.Run(["run", CliHarness.Scenario("fleet-1m.yaml"), "--out", tmp.Sub("two"), "--threads", "2", .. sets]);
        Assert.That(one.ExitCode, Is.EqualTo(0), one.ToString());
        Assert.That(two.ExitCode, Is.EqualTo(0), two.ToString());
        Assert.That(two.StdOut, Does.Contain(" on 2 threads"));
        Assert.That(one.StdOut, Does.Not.Contain(" threads"));
        using var perf = JsonDocument.Parse(File.ReadAllText(tmp.Sub("two", "perf.json")));
        Assert.That(perf.RootElement.GetProperty("threads").GetInt32(), Is.EqualTo(2));
        foreach (var file in new[] { "requests.csv", "iterations.csv", "timeseries.csv", "summary.json", "scenario.yaml" })
            Assert.That(File.ReadAllBytes(tmp.Sub("two", file)), Is.EqualTo(File.ReadAllBytes(tmp.Sub("one", file))), file);
    }

    [Test]
    public void Run_WithTheDefaultReport_WritesTheSameReportBytesOnTwoThreadsAsOnOne()
    {
        // sim run draws the report by default, warming the chart code up beside the simulation: neither the warm-up nor
        // the threads may change a byte of it.
        using var tmp = new TempDir();
        string[] sets = ["--set", "workload.requests=60"];
        var one = CliHarness.Run(["run", Quickstart, "--out", tmp.Sub("one"), "--threads", "1", .. sets]);
        var two = CliHarness.Run(["run", Quickstart, "--out", tmp.Sub("two"), "--threads", "2", .. sets]);
        Assert.That(one.ExitCode, Is.EqualTo(0), one.ToString());
        Assert.That(two.ExitCode, Is.EqualTo(0), two.ToString());
        foreach (var page in new[] { "report.html", "report.md" }) // they name the run directory, the one difference allowed
            Assert.That(File.ReadAllText(tmp.Sub("two", page)).Replace(tmp.Sub("two"), "RUN"),
                Is.EqualTo(File.ReadAllText(tmp.Sub("one", page)).Replace(tmp.Sub("one"), "RUN")), page);
        var charts = Directory.GetFiles(tmp.Sub("one", "charts")).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.That(charts, Has.Count.GreaterThan(10), "the charts were drawn");
        foreach (var chart in charts)
            Assert.That(File.ReadAllBytes(tmp.Sub("two", "charts", chart!)), Is.EqualTo(File.ReadAllBytes(tmp.Sub("one", "charts", chart!))), chart);
    }

    [TestCase("quickstart.yaml", "workload.requests=60")]
    [TestCase("disaggregation.yaml", "workload.trace.limit=150")]
    [TestCase("faults-gpu-down.yaml", "workload.trace.limit=400")]
    public void Run_WithTheDefaultReport_DrawsFromMemoryTheReportSimReportDrawsFromTheFiles(string scenario, string set)
    {
        // sim run hands its report the tables it kept while writing them; sim report reads them back from the files.
        using var tmp = new TempDir();
        var run = CliHarness.Run("run", CliHarness.Scenario(scenario), "--set", set, "--out", tmp.Sub("run"));
        Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
        var report = CliHarness.Run("report", tmp.Sub("run"), "--out", tmp.Sub("again"));
        Assert.That(report.ExitCode, Is.EqualTo(0), report.ToString());
        Assert.That(File.ReadAllText(tmp.Sub("again", "report.md")).Replace(tmp.Sub("run"), "RUN"),
            Is.EqualTo(File.ReadAllText(tmp.Sub("run", "report.md")).Replace(tmp.Sub("run"), "RUN")), "report.md");
        var charts = Directory.GetFiles(tmp.Sub("run", "charts")).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.That(Directory.GetFiles(tmp.Sub("again", "charts")).Select(Path.GetFileName).Order(StringComparer.Ordinal), Is.EqualTo(charts));
        Assert.That(charts, Has.Count.GreaterThan(10), "the charts were drawn");
        foreach (var chart in charts)
            Assert.That(File.ReadAllBytes(tmp.Sub("again", "charts", chart!)), Is.EqualTo(File.ReadAllBytes(tmp.Sub("run", "charts", chart!))), chart);
    }

    [Test]
    public void Run_OutputFormatParquet_WritesParquetTablesAndTheSameSummary()
    {
        using var tmp = new TempDir();
        Assert.That(RunQuickstart(tmp.Sub("csv")).ExitCode, Is.EqualTo(0));
        Assert.That(RunQuickstart(tmp.Sub("parquet"), "--set", "output.format=parquet").ExitCode, Is.EqualTo(0));
        foreach (var table in new[] { "requests", "iterations", "timeseries" })
        {
            Assert.That(File.Exists(tmp.Sub("parquet", table + ".parquet")), Is.True, table);
            Assert.That(File.Exists(tmp.Sub("parquet", table + ".csv")), Is.False, table);
            // Parquet files start and end with the magic bytes PAR1.
            var bytes = File.ReadAllBytes(tmp.Sub("parquet", table + ".parquet"));
            Assert.That(System.Text.Encoding.ASCII.GetString(bytes, 0, 4) + System.Text.Encoding.ASCII.GetString(bytes, bytes.Length - 4, 4), Is.EqualTo("PAR1PAR1"), table);
        }
        Assert.That(File.ReadAllBytes(tmp.Sub("parquet", "summary.json")), Is.EqualTo(File.ReadAllBytes(tmp.Sub("csv", "summary.json"))));
    }

    [Test]
    public void Run_DifferentSeed_ChangesRequests()
    {
        using var tmp = new TempDir();
        Assert.That(RunQuickstart(tmp.Sub("a"), "--seed", "1").ExitCode, Is.EqualTo(0));
        Assert.That(RunQuickstart(tmp.Sub("b"), "--seed", "2").ExitCode, Is.EqualTo(0));

        Assert.That(File.ReadAllBytes(tmp.Sub("b", "requests.csv")), Is.Not.EqualTo(File.ReadAllBytes(tmp.Sub("a", "requests.csv"))));
    }

    [Test]
    public void Run_WrittenScenarioYaml_RerunsToByteIdenticalRequests()
    {
        using var tmp = new TempDir();
        Assert.That(RunQuickstart(tmp.Sub("first")).ExitCode, Is.EqualTo(0));

        var again = CliHarness.Run("run", tmp.Sub("first", "scenario.yaml"), "--out", tmp.Sub("again"), "--no-report");

        Assert.That(again.ExitCode, Is.EqualTo(0), again.ToString());
        Assert.That(File.ReadAllBytes(tmp.Sub("again", "requests.csv")), Is.EqualTo(File.ReadAllBytes(tmp.Sub("first", "requests.csv"))));
    }

    [Test]
    public void Run_TraceScenario_ReadsTheTraceUpToItsLimit()
    {
        using var tmp = new TempDir();
        var yaml = File.ReadAllText(CliHarness.Scenario("azure-conv-llama70b.yaml"))
            .Replace("../data/traces/azure-llm-2023-conv.csv", CliHarness.AzureConvTrace.Replace('\\', '/'));
        var scenario = tmp.Write("trace.yaml", yaml);

        var r = CliHarness.Run("run", scenario, "--set", "workload.trace.limit=200", "--out", tmp.Sub("run"), "--no-report");

        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(CsvTable.Read(tmp.Sub("run", "requests.csv")).Rows, Has.Count.EqualTo(200));
    }

    [Test]
    public void Run_WithReport_WritesReportHtmlAndPngAndSvgCharts()
    {
        using var tmp = new TempDir();
        var dir = tmp.Sub("run");
        var r = CliHarness.Run("run", Quickstart, "--set", "workload.requests=60", "--out", dir);

        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(File.Exists(Path.Combine(dir, "report.html")), Is.True, "report.html missing");
        var chartDir = Path.Combine(dir, "charts");
        var svgs = Directory.Exists(chartDir) ? Directory.GetFiles(chartDir, "*.svg") : Array.Empty<string>();
        Assert.That(svgs, Is.Not.Empty, "no charts/*.svg");
        Assert.That(svgs.Select(File.ReadAllText), Has.All.Contain("<svg"));
        var pngs = Directory.GetFiles(chartDir, "*.png");
        Assert.That(pngs.Select(Path.GetFileNameWithoutExtension), Is.EquivalentTo(svgs.Select(Path.GetFileNameWithoutExtension)), "every chart as PNG and SVG");
        Assert.That(pngs.Select(p => File.ReadAllBytes(p).Take(4).ToArray()), Has.All.EqualTo(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }));
        Assert.That(r.StdOut, Does.Contain($"({svgs.Length} charts as PNG and SVG in "));
    }

    [Test]
    public void Report_OnAParquetRun_DrawsTheSameChartsAsOnTheCsvRun()
    {
        using var tmp = new TempDir();
        Assert.That(CliHarness.Run("run", Quickstart, "--set", "workload.requests=60", "--out", tmp.Sub("csv")).ExitCode, Is.EqualTo(0));
        var r = CliHarness.Run("run", Quickstart, "--set", "workload.requests=60", "--set", "output.format=parquet", "--out", tmp.Sub("parquet"));

        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(File.Exists(tmp.Sub("parquet", "requests.csv")), Is.False, "a Parquet run writes no requests.csv");
        static string[] Charts(string dir) => Directory.GetFiles(Path.Combine(dir, "charts"), "*.png").Select(Path.GetFileName).Order().ToArray()!;
        Assert.That(Charts(tmp.Sub("parquet")), Is.EqualTo(Charts(tmp.Sub("csv"))).And.Not.Empty);
        Assert.That(File.ReadAllText(tmp.Sub("parquet", "report.md")), Does.Not.Contain("is missing"), "every table was read from Parquet");
        // Same data, same pictures: a chart drawn from Parquet is the one drawn from CSV, byte for byte.
        Assert.That(File.ReadAllText(tmp.Sub("parquet", "charts", "ttft_cdf.svg")), Is.EqualTo(File.ReadAllText(tmp.Sub("csv", "charts", "ttft_cdf.svg"))));
    }

    [Test]
    public void Report_WithSloFlags_JudgesTheRunAgainstThem()
    {
        using var tmp = new TempDir();
        var dir = tmp.Sub("run");
        Assert.That(CliHarness.Run("run", Quickstart, "--set", "workload.requests=40", "--out", dir, "--no-report").ExitCode, Is.EqualTo(0));
        var r = CliHarness.Run("report", dir, "--out", tmp.Sub("report"), "--slo-ttft-ms", "0.001", "--title", "Tight SLO");

        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.StdOut, Does.Contain("misses the SLO (TTFT p95 ≤ 0.001 ms"));
        Assert.That(File.ReadAllText(tmp.Sub("report", "report.html")), Does.Contain("<h1>Tight SLO</h1>"));
        var bad = CliHarness.Run("report", dir, "--out", tmp.Sub("report2"), "--slo-percentile", "120");
        Assert.That(bad.ExitCode, Is.EqualTo(2), bad.ToString());
        Assert.That(bad.ErrorLines, Has.Count.EqualTo(1));
        Assert.That(bad.ErrorLines[0], Does.StartWith("error: --slo-percentile 120: must be in (0, 100]"));
    }

    [Test]
    public void NoArguments_RunsQuickstartFromTheWorkingDirectory()
    {
        using var tmp = new TempDir();
        Directory.CreateDirectory(tmp.Sub("scenarios"));
        File.Copy(Quickstart, tmp.Sub("scenarios", "quickstart.yaml"));
        var oldCwd = Directory.GetCurrentDirectory();
        CliResult r;
        try
        {
            Directory.SetCurrentDirectory(tmp.Path);
            r = CliHarness.Run();
        }
        finally
        {
            Directory.SetCurrentDirectory(oldCwd);
        }

        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(File.Exists(tmp.Sub("results", "quickstart", "summary.json")), Is.True, r.ToString());
    }
}
