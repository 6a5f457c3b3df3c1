using System.Globalization;
using System.Text.Json;
using DuckDB.NET.Data;
using NUnit.Framework;
using Simulator.Inference.Metrics;
using Simulator.Scenarios;
using Simulator.Tests.Shared;

namespace Simulator.Scenarios.Tests;

/// <summary>
/// The run directory of a real run (PP = 2, TP = 2, two microbatches, two replicas): Parquet tables that an independent
/// reader (DuckDB) reads with the same rows as the CSV of the same seed, a Perfetto timeline whose slices never
/// overlap on a track, and ITL in summary.json.
/// </summary>
[TestFixture, NonParallelizable]
public sealed class RunOutputsTest
{
    private const string Yaml = """
        name: outputs-test
        seed: 3
        cluster: {gpu: H100-SXM-80GB, nodes: 1, gpus_per_node: 8}
        model: llama-3.1-8b
        parallelism: {tensor_parallel_size: 2, pipeline_parallel_size: 2, microbatches: 2, replicas: 2}
        scheduler: {max_num_seqs: 32, max_num_batched_tokens: 2048}
        workload:
          arrivals: {process: poisson, rate_per_s: 40}
          input_tokens: {dist: lognormal, mean: 700, sigma: 0.8}
          output_tokens: {dist: lognormal, mean: 40, sigma: 0.7}
          requests: 150
        output: {timeseries_interval_s: 0.25}
        """;

    private static readonly ScenarioLoader Loader = new();
    private static readonly string[] Tables = ["requests", "iterations", "timeseries"];
    private string _root = "";
    private string _csv = "";
    private string _parquet = "";

    [OneTimeSetUp]
    public void RunBothFormats()
    {
        _root = Path.Combine(Path.GetTempPath(), "sim-outputs-tests", Guid.NewGuid().ToString("N"));
        _csv = Run("csv", Path.Combine(_root, "csv"));
        _parquet = Run("parquet", Path.Combine(_root, "parquet"));
    }

    [OneTimeTearDown]
    public void TearDown()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private static string Run(string format, string dir, params string[] sets)
    {
        var scenario = Loader.LoadText(Yaml, "outputs.yaml", TestPaths.DataRoot, [$"output.format={format}", .. sets]);
        return ScenarioRunner.Run(scenario, dir).Directory;
    }

    [Test]
    public void ParquetRun_WritesParquetTablesInsteadOfCsv()
    {
        foreach (var t in Tables)
        {
            Assert.That(File.Exists(Path.Combine(_parquet, t + ".parquet")), Is.True, t);
            Assert.That(File.Exists(Path.Combine(_parquet, t + ".csv")), Is.False, t);
            Assert.That(File.Exists(Path.Combine(_csv, t + ".csv")), Is.True, t);
        }
        Assert.That(File.ReadAllText(Path.Combine(_parquet, "scenario.yaml")), Does.Contain("format: parquet"));
    }

    [TestCase("requests")]
    [TestCase("iterations")]
    [TestCase("timeseries")]
    public void DuckDb_ReadsTheParquetTable_WithTheCsvRowsOfTheSameSeed(string table)
    {
        var csv = RunTables.ReadFile(Path.Combine(_csv, table + ".csv"));
        using var connection = new DuckDBConnection("Data Source=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT * FROM read_parquet('{Path.Combine(_parquet, table + ".parquet").Replace("'", "''")}')";
        using var reader = command.ExecuteReader();
        var names = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToArray();
        Assert.That(names, Is.EqualTo(csv.Columns), "same columns, same order");
        int row = 0;
        while (reader.Read())
        {
            Assert.That(row, Is.LessThan(csv.Rows.Count), "more rows than the CSV");
            var cells = csv.Rows[row];
            for (int c = 0; c < names.Length; c++)
            {
                var text = cells[c];
                var where = $"{table} row {row + 1} {names[c]}";
                if (reader.IsDBNull(c))
                {
                    Assert.That(text, Is.Empty, where);
                    continue;
                }
                var value = reader.GetValue(c);
                switch (value)
                {
                    case int or long:
                        Assert.That(Convert.ToInt64(value, CultureInfo.InvariantCulture), Is.EqualTo(long.Parse(text, CultureInfo.InvariantCulture)), where);
                        break;
                    case double d:
                        Assert.That(d, Is.EqualTo(double.Parse(text, CultureInfo.InvariantCulture)), where);   // bit for bit
                        break;
                    case string s:
                        Assert.That(s, Is.EqualTo(text), where);
                        break;
                    default:
                        Assert.Fail($"{where}: unexpected DuckDB type {value.GetType().Name}");
                        break;
                }
            }
            row++;
        }
        Assert.That(row, Is.EqualTo(csv.Rows.Count), "same number of rows");
        Assert.That(row, Is.GreaterThan(0));
    }

    [Test]
    public void DuckDb_SeesTypedColumns()
    {
        using var connection = new DuckDBConnection("Data Source=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('{Path.Combine(_parquet, "requests.parquet")}'))";
        using var reader = command.ExecuteReader();
        var types = new Dictionary<string, string>();
        while (reader.Read()) types[reader.GetString(0)] = reader.GetString(1);
        Assert.Multiple(() =>
        {
            Assert.That(types["request_id"], Is.EqualTo("BIGINT"));
            Assert.That(types["replica"], Is.EqualTo("INTEGER"));
            Assert.That(types["status"], Is.EqualTo("VARCHAR"));
            Assert.That(types["ttft_ms"], Is.EqualTo("DOUBLE"));
            Assert.That(types["arrival_s"], Is.EqualTo("DOUBLE"));
        });
    }

    [Test]
    public void RunTables_ParquetCellsAreTheCsvCells()
    {
        foreach (var t in Tables)
        {
            var a = RunTables.TryRead(_csv, t)!;
            var b = RunTables.TryRead(_parquet, t)!;
            Assert.That(b.Path, Does.EndWith(".parquet"));
            Assert.That(b.Columns, Is.EqualTo(a.Columns), t);
            Assert.That(b.Rows, Is.EqualTo(a.Rows), t);
        }
        Assert.That(RunTables.TryRead(_csv, "no_such_table"), Is.Null);
    }

    [Test]
    public void ParquetRun_Rerun_ByteIdenticalFiles()
    {
        var again = Run("parquet", Path.Combine(_root, "parquet-again"));
        foreach (var f in new[] { "requests.parquet", "iterations.parquet", "timeseries.parquet", "summary.json", "timeline.json", "itl_histogram.csv" })
            Assert.That(File.ReadAllBytes(Path.Combine(again, f)), Is.EqualTo(File.ReadAllBytes(Path.Combine(_parquet, f))), f);
        Assert.That(File.ReadAllBytes(Path.Combine(_csv, "summary.json")), Is.EqualTo(File.ReadAllBytes(Path.Combine(_parquet, "summary.json"))),
            "the format changes no figure");
    }

    [Test]
    public void UnknownFormat_IsALocatedErrorListingTheFormats()
    {
        var ex = Assert.Throws<ScenarioException>(() => Loader.LoadText(Yaml, "outputs.yaml", TestPaths.DataRoot, ["output.format=orc"]))!;
        var line = ex.Errors.Select(e => e.ToString()).Single();
        Assert.That(line, Does.StartWith("error: --set:1: output.format: 'orc' is not allowed"));
        Assert.That(line, Does.Contain("csv | parquet"));
    }

    // ------------------------------------------------------------------ timeline

    private static List<JsonElement> TraceEvents(string dir, out JsonElement otherData)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "timeline.json")));
        otherData = doc.RootElement.GetProperty("otherData").Clone();
        return doc.RootElement.GetProperty("traceEvents").EnumerateArray().Select(e => e.Clone()).ToList();
    }

    [Test]
    public void Timeline_EveryEventHasTheFieldsPerfettoRequires()
    {
        var events = TraceEvents(_csv, out var other);
        Assert.That(other.GetProperty("events_dropped").GetInt64(), Is.EqualTo(0), "the run is under the cap");
        foreach (var e in events)
        {
            foreach (var field in new[] { "name", "ph", "ts", "pid", "tid" })
                Assert.That(e.TryGetProperty(field, out _), Is.True, $"{field} in {e}");
            var ph = e.GetProperty("ph").GetString();
            Assert.That(ph, Is.AnyOf("X", "b", "e", "C", "M"), e.ToString());
            if (ph == "X") Assert.That(e.GetProperty("dur").GetInt64(), Is.GreaterThan(0), e.ToString());
            if (ph is "b" or "e") Assert.That(e.TryGetProperty("id", out _) && e.TryGetProperty("cat", out _), Is.True, e.ToString());
            if (ph is "M" or "C") Assert.That(e.TryGetProperty("args", out _), Is.True, e.ToString());
        }
        Assert.That(events.Count(e => e.GetProperty("ph").GetString() != "M"), Is.EqualTo(other.GetProperty("events_written").GetInt64()));
    }

    [Test]
    public void Timeline_NoTwoSlicesOverlapOnAnyTrack()
    {
        var events = TraceEvents(_csv, out _);
        var tracks = events.Where(e => e.GetProperty("ph").GetString() == "X")
            .GroupBy(e => (e.GetProperty("pid").GetInt32(), e.GetProperty("tid").GetInt32()));
        int checkedTracks = 0;
        foreach (var track in tracks)
        {
            var slices = track.Select(e => (Ts: e.GetProperty("ts").GetInt64(), End: e.GetProperty("ts").GetInt64() + e.GetProperty("dur").GetInt64()))
                .OrderBy(s => s.Ts).ToList();
            for (int i = 1; i < slices.Count; i++)
                Assert.That(slices[i].Ts, Is.GreaterThanOrEqualTo(slices[i - 1].End), $"track {track.Key}: slice {i} starts before the previous one ends");
            checkedTracks++;
        }
        Assert.That(checkedTracks, Is.GreaterThanOrEqualTo(2 * 2 * 2), "compute and TP tracks for 2 replicas x 2 stages at least");
    }

    [Test]
    public void Timeline_AsyncRequestSlicesPairAndNest()
    {
        var events = TraceEvents(_csv, out _);
        var stacks = new Dictionary<(int, string, string), Stack<(string Name, long Ts)>>();
        int pairs = 0;
        foreach (var e in events)
        {
            var ph = e.GetProperty("ph").GetString();
            if (ph is not ("b" or "e")) continue;
            var key = (e.GetProperty("pid").GetInt32(), e.GetProperty("cat").GetString()!, e.GetProperty("id").GetString()!);
            var name = e.GetProperty("name").GetString()!;
            var ts = e.GetProperty("ts").GetInt64();
            if (!stacks.TryGetValue(key, out var stack)) stacks[key] = stack = new();
            if (ph == "b")
            {
                if (stack.Count > 0) Assert.That(ts, Is.GreaterThanOrEqualTo(stack.Peek().Ts), $"{key}: {name} begins before its parent");
                stack.Push((name, ts));
                continue;
            }
            Assert.That(stack, Is.Not.Empty, $"{key}: end of {name} without a begin");
            var open = stack.Pop();
            Assert.That(open.Name, Is.EqualTo(name), $"{key}: ends {name} while {open.Name} is open");
            Assert.That(ts, Is.GreaterThanOrEqualTo(open.Ts));
            pairs++;
        }
        Assert.That(stacks.Values.All(s => s.Count == 0), Is.True, "every begin has its end");
        var completed = RunTables.ReadFile(Path.Combine(_csv, "requests.csv")).Rows.Count(r => r[6] == "completed");
        Assert.That(stacks.Count, Is.EqualTo(completed), "one async track per completed request");
        Assert.That(pairs, Is.GreaterThanOrEqualTo(3 * completed), "request, queued or prefill, and decode at least");
    }

    [Test]
    public void Timeline_NamesReplicasStagesGpusAndCommunicationTracks()
    {
        var events = TraceEvents(_csv, out _);
        string[] Names(string kind) => events.Where(e => e.GetProperty("ph").GetString() == "M" && e.GetProperty("name").GetString() == kind)
            .Select(e => e.GetProperty("args").GetProperty("name").GetString()!).ToArray();
        Assert.That(Names("process_name"), Is.EquivalentTo(new[] { "replica 0 (TP2 x PP2, H100-SXM-80GB)", "replica 1 (TP2 x PP2, H100-SXM-80GB)" }));
        var threads = Names("thread_name");
        Assert.That(threads, Does.Contain("stage 0 compute (GPUs 0-1)"));
        Assert.That(threads, Does.Contain("stage 1 compute (GPUs 2-3)"));
        Assert.That(threads, Does.Contain("stage 0 TP comm"));
        Assert.That(threads, Does.Contain("stage 1 TP comm"));
        Assert.That(threads, Does.Contain("stage 0 -> 1 PP send"));
        Assert.That(events.Count(e => e.GetProperty("ph").GetString() == "M" && e.GetProperty("name").GetString() == "thread_sort_index"), Is.EqualTo(threads.Length));
        var counters = events.Where(e => e.GetProperty("ph").GetString() == "C").Select(e => e.GetProperty("name").GetString()).Distinct().Order();
        Assert.That(counters, Is.EqualTo(new[] { "KV utilization", "queue depth", "running batch" }));
    }

    // ------------------------------------------------------------------ ITL

    [Test]
    public void Summary_HasItl_WhoseTotalIsTheDecodeTimeOfCompletedRequests()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(_csv, "summary.json")));
        var itl = doc.RootElement.GetProperty("itl_ms");
        foreach (var f in new[] { "mean", "p50", "p90", "p95", "p99", "max" })
            Assert.That(itl.GetProperty(f).ValueKind, Is.EqualTo(JsonValueKind.Number), f);
        var requests = RunTables.ReadFile(Path.Combine(_csv, "requests.csv"));
        int Col(string name) => requests.Columns.ToList().IndexOf(name);
        var completed = requests.Rows.Where(r => r[Col("status")] == "completed").ToList();
        long gaps = completed.Sum(r => long.Parse(r[Col("generated_tokens")], CultureInfo.InvariantCulture) - 1);
        double decodeMs = completed.Sum(r => (double.Parse(r[Col("completion_s")], CultureInfo.InvariantCulture) - double.Parse(r[Col("first_token_s")], CultureInfo.InvariantCulture)) * 1000);
        Assert.That(itl.GetProperty("count").GetInt64(), Is.EqualTo(gaps));
        // requests.csv times are rounded to the microsecond, the mean to 0.1 us.
        Assert.That(itl.GetProperty("mean").GetDouble() * gaps, Is.EqualTo(decodeMs).Within(0.001 * completed.Count + 0.0001 * gaps));
        Assert.That(itl.GetProperty("p50").GetDouble(), Is.LessThanOrEqualTo(itl.GetProperty("p99").GetDouble()));
        var histogram = File.ReadAllLines(Path.Combine(_csv, "itl_histogram.csv"));
        Assert.That(histogram[0], Is.EqualTo("itl_ms_lo,itl_ms_hi,count"));
        Assert.That(histogram.Skip(1).Sum(l => long.Parse(l.Split(',')[2], CultureInfo.InvariantCulture)), Is.EqualTo(gaps));
    }
}
