using System.Text;
using CsvHelper;

namespace Simulator.Inference.Metrics;

/// <summary>Options of a <see cref="RunDirectoryWriter"/>.</summary>
/// <param name="TimelineEventCap">Most events written to timeline.json (the first ones); 0 writes an empty timeline.</param>
/// <param name="Format">The format of requests, iterations and timeseries (CSV or Parquet).</param>
/// <param name="Layout">What the timeline's track names say about replicas and stages (null: plain names).</param>
/// <param name="Pools">With pools: each replica's pool and role, by replica index. Adds <see cref="RunDirectoryWriter.PoolRequestTable"/>
/// to requests, <c>pool</c> to iterations and <c>pool, gpu_type</c> to gpus.csv (null: no pool columns).</param>
/// <param name="Iterations">Which iteration rows are written (null: all of them; see <see cref="IterationSampler"/>).</param>
/// <param name="Engines">With DP-attention engines: each replica's engine and DP rank, by replica index. Adds <c>engine, dp_rank</c>
/// to requests and iterations (null: no such columns).</param>
/// <param name="WriterThread">Whether the rows are formatted and written on a writer thread of their own (a
/// <see cref="RecordPipeline"/>) rather than on the caller's; the files are the same either way.</param>
/// <param name="Capture">The table columns kept in memory as they are written (<see cref="RunDirectoryWriter.TakeCapturedTables"/>);
/// null keeps none. The files are the same either way.</param>
public sealed record RunWriterOptions(long TimelineEventCap = 200_000, TableFormat Format = TableFormat.Csv, TimelineLayout? Layout = null,
    IReadOnlyList<ReplicaPool>? Pools = null, IReadOnlyList<ReplicaEngine>? Engines = null, IterationOutput? Iterations = null,
    bool WriterThread = false, TableCapture? Capture = null)
{
    /// <summary>The defaults.</summary>
    public static RunWriterOptions Default { get; } = new();
}

/// <summary>The pool a replica belongs to and the phases it serves (<c>prefill</c>, <c>decode</c>, <c>mixed</c>).</summary>
public sealed record ReplicaPool(string Pool, string Role);

/// <summary>
/// The engine a replica belongs to and its DP rank there (DP attention: one replica per rank; a plain replica is an
/// engine of one rank). Given to the writer, requests.csv and iterations.csv gain <c>engine, dp_rank</c> columns.
/// </summary>
public readonly record struct ReplicaEngine(int Engine, int DpRank);

/// <summary>
/// Writes a run directory as the run goes: requests, iterations and timeseries (CSV or Parquet, see
/// <see cref="RunWriterOptions.Format"/>) and timeline.json are streamed row by row into a temporary sibling
/// folder; <see cref="Commit"/> adds gpus.csv, links.csv, itl_histogram.csv, summary.json and perf.json and
/// moves the folder into place, replacing an older run directory of the same name (never a folder holding
/// other files: see <see cref="OutputTarget"/>); <see cref="Abort"/> (or disposing without committing) deletes it, so a failed run leaves
/// nothing half-written. Memory grows with replicas, not requests: no record is kept, only the
/// <see cref="RunMetricsAccumulator"/>'s 16 bytes per completed request.
/// </summary>
public sealed class RunDirectoryWriter : IRunRecorder, IDisposable
{
    /// <summary>requests' columns and types (the CSV header, and the Parquet schema).</summary>
    public static readonly IReadOnlyList<TableColumn> RequestTable =
    [
        TableColumn.Long("request_id"), TableColumn.Seconds("arrival_s"), TableColumn.Int("replica"), TableColumn.Int("input_tokens"),
        TableColumn.Int("output_tokens"), TableColumn.Int("cached_tokens"), TableColumn.Text("status"), TableColumn.Seconds("first_token_s"),
        TableColumn.Seconds("completion_s"), TableColumn.Ms("ttft_ms"), TableColumn.Ms("tpot_ms"), TableColumn.Ms("e2e_ms"),
        TableColumn.Ms("queue_ms"), TableColumn.Int("preemptions"), TableColumn.Int("generated_tokens"), TableColumn.Seconds("scheduled_s"),
        TableColumn.Int("cpu_cached_tokens"), TableColumn.Text("session_id"),
        TableColumn.Text("reason"), TableColumn.Int("retries"), TableColumn.Ms("frontend_ms"),
    ];

    /// <summary>iterations' columns and types.</summary>
    public static readonly IReadOnlyList<TableColumn> IterationTable =
    [
        TableColumn.Int("replica"), TableColumn.Int("stage"), TableColumn.Long("iteration"), TableColumn.Int("microbatch"),
        TableColumn.Seconds("start_s"), TableColumn.Seconds("end_s"), TableColumn.Int("batch_size"), TableColumn.Int("prefill_tokens"),
        TableColumn.Int("decode_tokens"), TableColumn.Ms("compute_ms"), TableColumn.Ms("tp_comm_ms"), TableColumn.Ms("ep_comm_ms"),
        TableColumn.Ms("pp_comm_ms"), TableColumn.Ms("cp_comm_ms"), TableColumn.Ms("overhead_ms"), TableColumn.Int("kv_blocks_used"),
    ];

    /// <summary>requests' extra columns with pools: where the request was prefilled and decoded, and its KV transfer.</summary>
    public static readonly IReadOnlyList<TableColumn> PoolRequestTable =
    [
        TableColumn.Int("prefill_replica"), TableColumn.Int("decode_replica"), TableColumn.Ms("kv_transfer_ms"), TableColumn.Long("kv_transfer_bytes"),
    ];

    /// <summary>timeseries' columns and types.</summary>
    public static readonly IReadOnlyList<TableColumn> TimeseriesTable =
    [
        TableColumn.Seconds("time_s"), TableColumn.Int("replica"), TableColumn.Int("queued"), TableColumn.Int("running"),
        TableColumn.Fixed("kv_utilization", 4), TableColumn.Fixed("prefill_tokens_per_s", 3), TableColumn.Fixed("output_tokens_per_s", 3),
        TableColumn.Long("completed"), TableColumn.Fixed("prefix_hit_ratio", 4), TableColumn.Int("live"),
    ];

    /// <summary>requests.csv's header.</summary>
    public static readonly IReadOnlyList<string> RequestColumns = RequestTable.Select(c => c.Name).ToArray();

    /// <summary>iterations.csv's header.</summary>
    public static readonly IReadOnlyList<string> IterationColumns = IterationTable.Select(c => c.Name).ToArray();

    /// <summary>timeseries.csv's header.</summary>
    public static readonly IReadOnlyList<string> TimeseriesColumns = TimeseriesTable.Select(c => c.Name).ToArray();

    /// <summary>gpus.csv's header.</summary>
    public static readonly IReadOnlyList<string> GpuColumns =
    [
        "gpu", "node", "replica", "stage", "weights_gb", "kv_capacity_gb", "busy_fraction", "idle_fraction",
        "compute_fraction", "comm_fraction", "activation_gb", "reserve_gb", "free_gb", "expert_load", "tp_rank",
    ];

    /// <summary>links.csv's header.</summary>
    public static readonly IReadOnlyList<string> LinkColumns =
    [
        "link", "kind", "from", "to", "bandwidth_gbps", "bytes_carried", "busy_fraction",
    ];

    private static readonly CsvWriterOptions CsvOptions = CsvWriterOptions.Default with { NewLine = "\n" };

    private readonly RunMetadata _meta;
    private readonly RunMetricsAccumulator _metrics;
    private readonly TableWriter _requests;
    private readonly TableWriter _iterations;
    private readonly TableWriter _timeseries;
    private readonly TimelineWriter _timeline;
    private readonly Dictionary<int, long> _lastSampleNs = [];
    private readonly IDisposable _partial;
    private readonly string? _createdParent;
    private readonly IReadOnlyList<ReplicaPool>? _pools;
    private readonly IterationSampler _iterationRows;
    private readonly IReadOnlyList<ReplicaEngine>? _engines;
    private readonly IRunRecorder _rows;
    private readonly RecordPipeline? _pipeline;
    private readonly TableCapture? _capture;
    private readonly List<(string Name, CapturingTableWriter Table)> _captured = [];
    private bool _closed;

    /// <summary>Starts a run directory that <see cref="Commit"/> will place at <paramref name="outputDirectory"/>.</summary>
    public RunDirectoryWriter(string outputDirectory, RunMetadata metadata, RunWriterOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outputDirectory);
        ArgumentNullException.ThrowIfNull(metadata);
        options ??= RunWriterOptions.Default;
        OutputDirectory = OutputTarget.Full(outputDirectory);
        OutputTarget.CheckRunTarget(OutputDirectory);
        var parent = Path.GetDirectoryName(OutputDirectory) ?? throw new OutputTargetException($"{OutputDirectory} has no parent folder; expected a folder path such as results/my-run");
        _createdParent = PartialOutputs.FirstMissing(parent);
        Directory.CreateDirectory(parent);
        TempDirectory = PartialOutputs.TempSibling(OutputDirectory);
        _partial = PartialOutputs.Create(TempDirectory);
        _meta = metadata;
        _metrics = new RunMetricsAccumulator(metadata.Slo);
        _pools = options.Pools;
        _iterationRows = new IterationSampler(options.Iterations ?? IterationOutput.All);
        _engines = options.Engines;
        _capture = options.Capture;
        try
        {
            File.WriteAllBytes(Path.Combine(TempDirectory, OutputTarget.RunMarker), []);
            TableColumn[] engineColumns = _engines is null ? [] : [TableColumn.Int("engine"), TableColumn.Int("dp_rank")];
            _requests = OpenTable("requests", options.Format, [.. _pools is null ? RequestTable : [.. RequestTable, .. PoolRequestTable], .. engineColumns]);
            _iterations = OpenTable("iterations", options.Format, [.. _pools is null ? IterationTable : [.. IterationTable, TableColumn.Text("pool")], .. engineColumns]);
            _timeseries = OpenTable("timeseries", options.Format, TimeseriesTable);
            _timeline = new TimelineWriter(OpenFile("timeline.json"), options.TimelineEventCap, options.Layout);
            var direct = new DirectRows(this);
            _pipeline = options.WriterThread ? new RecordPipeline(direct) : null;
            _rows = (IRunRecorder?)_pipeline ?? direct;
        }
        catch
        {
            Abort();
            throw;
        }
    }

    /// <summary>Where the run directory will be after <see cref="Commit"/>.</summary>
    public string OutputDirectory { get; }

    /// <summary>The temporary sibling folder being written (deleted or renamed at the end).</summary>
    public string TempDirectory { get; }

    /// <summary>Whether <see cref="Commit"/> has moved the directory into place.</summary>
    public bool Committed { get; private set; }

    /// <summary>Requests recorded so far (with <see cref="RunWriterOptions.WriterThread"/>: written so far; all of them after <see cref="Commit"/>).</summary>
    public long RequestsRecorded => _metrics.Count;

    /// <summary>Whether rows are written on a writer thread of their own (<see cref="RunWriterOptions.WriterThread"/>).</summary>
    public bool UsesWriterThread => _pipeline is not null;

    /// <inheritdoc />
    public void OnIteration(in IterationRecord r)
    {
        EnsureOpen();
        _rows.OnIteration(r);
    }

    /// <inheritdoc />
    public void OnRequestFinished(RequestRecord r)
    {
        ArgumentNullException.ThrowIfNull(r);
        EnsureOpen();
        _rows.OnRequestFinished(r);
    }

    /// <inheritdoc />
    public void OnTokenGaps(long gapNs, int count)
    {
        EnsureOpen();
        // Implementation note: gaps go into the ITL histogram on the caller's thread even with a writer thread: they
        // are a count per bucket (the order does not matter), the histogram is touched by nothing the writer thread
        // does (it folds requests into other fields), and a hand-off would cost more than the addition (fleet-1m
        // reports some 14M of them).
        _metrics.AddTokenGaps(gapNs, count);
    }

    /// <inheritdoc />
    public void OnSample(in ReplicaSample s)
    {
        EnsureOpen();
        _rows.OnSample(s);
    }

    // Implementation note: the rows are written by DirectRows, called either here on the simulation's thread or by the
    // RecordPipeline's writer thread, never both: the pipeline owns the accumulator, the sampler, the tables and the
    // timeline until Commit or Abort has stopped it (Thread.Join makes their state visible again to this thread).
    private sealed class DirectRows(RunDirectoryWriter w) : IRunRecorder
    {
        public void OnIteration(in IterationRecord record) => w.RecordIteration(record);
        public void OnRequestFinished(RequestRecord record) => w.RecordRequest(record);
        public void OnSample(in ReplicaSample sample) => w.RecordSample(sample);
        public void OnTokenGaps(long gapNs, int count) => w._metrics.AddTokenGaps(gapNs, count);  // not called: see OnTokenGaps
    }

    private void RecordIteration(in IterationRecord r)
    {
        if (_iterationRows.Offer(r)) WriteIteration(r);
        _timeline.Add(r);
    }

    // The bytes a row written whole may take: its cells' bounds (CsvCellWriter.Row) plus a comma each.
    private const int IterationRowBytes = 8 * (CsvCellWriter.MaxIntegerBytes + 1) + 8 * (MetricFormat.MaxNsChars + 1);
    private const int RequestRowBytes = 9 * (CsvCellWriter.MaxIntegerBytes + 1) + 8 * (MetricFormat.MaxNsChars + 1) + (MetricFormat.MaxFixedChars + 1); // and its three texts
    private const int TimeseriesRowBytes = 5 * (CsvCellWriter.MaxIntegerBytes + 1) + (MetricFormat.MaxNsChars + 1) + 4 * (MetricFormat.MaxFixedChars + 1);

    // Implementation note: a table of the plain layout (no pool or engine columns) in CSV, not captured, is written a
    // whole row at a time (CsvCellWriter.Row: one capacity check per row, no per-cell type check or virtual call); any
    // other goes cell by cell through TableWriter. The cells and their order are those of the cell path below, which
    // RunDirectoryWriterTest compares byte for byte (a captured table takes the cell path).
    private CsvCellWriter? DirectCsv(TableWriter w) => _pools is null && _engines is null ? w.DirectCsv : null;

    private void WriteIteration(in IterationRecord r)
    {
        var w = _iterations;
        if (DirectCsv(w) is { } csv)
        {
            var row = csv.BeginRow(IterationRowBytes);
            row.Integer(r.Replica);
            row.Integer(r.Stage);
            row.Integer(r.Iteration);
            row.Integer(r.Microbatch);
            row.Ns(r.StartNs, 6);
            row.Ns(r.EndNs, 6);
            row.Integer(r.BatchSize);
            row.Integer(r.PrefillTokens);
            row.Integer(r.DecodeTokens);
            row.Ns(r.Cost.ComputeNs, 3);
            row.Ns(r.Cost.TpCommNs, 3);
            row.Ns(r.Cost.EpCommNs, 3);
            row.Ns(r.Cost.PpCommNs, 3);
            row.Ns(r.Cost.CpCommNs, 3);
            row.Ns(r.Cost.OverheadNs, 3);
            row.Integer(r.KvBlocksUsed);
            csv.EndRow(ref row);
            w.CountRow();
            return;
        }
        w.Int(r.Replica);
        w.Int(r.Stage);
        w.Int(r.Iteration);
        w.Int(r.Microbatch);
        w.Ns(r.StartNs);
        w.Ns(r.EndNs);
        w.Int(r.BatchSize);
        w.Int(r.PrefillTokens);
        w.Int(r.DecodeTokens);
        w.Ns(r.Cost.ComputeNs);
        w.Ns(r.Cost.TpCommNs);
        w.Ns(r.Cost.EpCommNs);
        w.Ns(r.Cost.PpCommNs);
        w.Ns(r.Cost.CpCommNs);
        w.Ns(r.Cost.OverheadNs);
        w.Int(r.KvBlocksUsed);
        if (_pools is not null) w.Text(_pools[r.Replica].Pool);
        if (_engines is not null) WriteEngine(w, r.Replica);
        w.EndRow();
    }

    private void RecordRequest(RequestRecord r)
    {
        var l = RequestLatencies.From(r);
        _metrics.Add(r, l);
        var w = _requests;
        if (DirectCsv(w) is { } csv)
        {
            var status = MetricFormat.Status(r.Status);
            var session = r.SessionId ?? "";
            var reason = r.Reason ?? "";
            var row = csv.BeginRow(RequestRowBytes + CsvCellWriter.TextBound(status.Length) + CsvCellWriter.TextBound(session.Length)
                + CsvCellWriter.TextBound(reason.Length) + 3);
            row.Integer(r.RequestId);
            row.Ns(r.ArrivalNs, 6);
            row.Integer(r.Replica);
            row.Integer(r.InputTokens);
            row.Integer(r.OutputTokens);
            row.Integer(r.CachedTokens);
            row.Text(status);
            row.Ns(r.FirstTokenNs, 6);
            row.Ns(r.CompletionNs, 6);
            row.Ns(r.FirstTokenNs - r.ArrivalNs, 3);                                              // ttft_ms
            row.Fixed(l.TpotMs, 3);
            row.Ns(l.E2eMs is null ? null : r.CompletionNs - r.ArrivalNs, 3);                     // e2e_ms
            row.Ns(r.ScheduledNs - r.ArrivalNs, 3);                                               // queue_ms
            row.Integer(r.Preemptions);
            row.Integer(r.GeneratedTokens);
            row.Ns(r.ScheduledNs, 6);
            row.Integer(r.CpuCachedTokens);
            row.Text(session);
            row.Text(reason);
            row.Integer(r.Retries);
            row.Ns(r.FrontEndNs, 3);                                                              // frontend_ms
            csv.EndRow(ref row);
            w.CountRow();
            _timeline.AddRequest(r);
            return;
        }
        w.Int(r.RequestId);
        w.Ns(r.ArrivalNs);
        w.Int(r.Replica);
        w.Int(r.InputTokens);
        w.Int(r.OutputTokens);
        w.Int(r.CachedTokens);
        w.Text(MetricFormat.Status(r.Status));
        w.Ns(r.FirstTokenNs);
        w.Ns(r.CompletionNs);
        w.Ns(r.FirstTokenNs - r.ArrivalNs);                                                   // ttft_ms
        w.Double(l.TpotMs);
        w.Ns(l.E2eMs is null ? null : r.CompletionNs - r.ArrivalNs);                          // e2e_ms
        w.Ns(r.ScheduledNs - r.ArrivalNs);                                                    // queue_ms
        w.Int(r.Preemptions);
        w.Int(r.GeneratedTokens);
        w.Ns(r.ScheduledNs);
        w.Int(r.CpuCachedTokens);
        w.Text(r.SessionId ?? "");
        w.Text(r.Reason ?? "");
        w.Int(r.Retries);
        w.Ns(r.FrontEndNs);                                                                   // frontend_ms
        if (_pools is not null) WritePoolFields(w, r);
        if (_engines is not null) WriteEngine(w, r.Replica);
        w.EndRow();
        _timeline.AddRequest(r);
    }

    private void WriteEngine(TableWriter w, int replica)
    {
        bool known = replica >= 0 && replica < _engines!.Count;
        w.Int(known ? _engines![replica].Engine : -1);
        w.Int(known ? _engines![replica].DpRank : -1);
    }

    private void WritePoolFields(TableWriter w, RequestRecord r)
    {
        bool handedOff = r.PrefillReplica >= 0;
        bool prefillOnly = r.Replica >= 0 && _pools![r.Replica].Role == "prefill";
        w.Int(handedOff ? r.PrefillReplica : r.Replica);
        w.Int(handedOff || (r.Replica >= 0 && !prefillOnly) ? r.Replica : -1);
        w.Ns(r.KvTransferNs);
        w.Int(r.KvTransferBytes);
    }

    private void RecordSample(in ReplicaSample s)
    {
        var previousNs = _lastSampleNs.TryGetValue(s.Replica, out var p) ? p : 0L;
        _lastSampleNs[s.Replica] = s.TimeNs;
        var intervalS = (s.TimeNs - previousNs) / 1e9;
        double Rate(long count) => intervalS > 0 ? count / intervalS : 0;
        var w = _timeseries;
        double? hitRatio = s.PromptTokensLookedUpSinceLast > 0 ? (double)s.PrefixHitTokensSinceLast / s.PromptTokensLookedUpSinceLast : null;
        if (w.DirectCsv is { } csv)
        {
            var row = csv.BeginRow(TimeseriesRowBytes);
            row.Ns(s.TimeNs, 6);
            row.Integer(s.Replica);
            row.Integer(s.Queued);
            row.Integer(s.Running);
            row.Fixed(s.KvUtilization, 4);
            row.Fixed(Rate(s.PrefillTokensSinceLast), 3);
            row.Fixed(Rate(s.OutputTokensSinceLast), 3);
            row.Integer(s.CompletedSinceLast);
            row.Fixed(hitRatio, 4);
            row.Integer(s.Live ? 1 : 0);
            csv.EndRow(ref row);
            w.CountRow();
            _timeline.AddSample(s);
            return;
        }
        w.Ns(s.TimeNs);
        w.Int(s.Replica);
        w.Int(s.Queued);
        w.Int(s.Running);
        w.Double(s.KvUtilization);
        w.Double(Rate(s.PrefillTokensSinceLast));
        w.Double(Rate(s.OutputTokensSinceLast));
        w.Int(s.CompletedSinceLast);
        w.Double(hitRatio);
        w.Int(s.Live ? 1 : 0);
        w.EndRow();
        _timeline.AddSample(s);
    }

    /// <summary>Writes a text file (e.g. scenario.yaml) into the run directory; <paramref name="fileName"/> is a plain name.</summary>
    public void WriteText(string fileName, string content)
    {
        ArgumentNullException.ThrowIfNull(content);
        EnsureOpen();
        File.WriteAllText(PathInRun(fileName), content, new UTF8Encoding(false));
    }

    /// <summary>The path of <paramref name="fileName"/> (a plain name) inside the temporary folder, for other writers.</summary>
    public string PathInRun(string fileName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(fileName);
        if (fileName != Path.GetFileName(fileName) || fileName is "." or "..")
            throw new ArgumentException($"'{fileName}' must be a plain file name", nameof(fileName));
        return Path.Combine(TempDirectory, fileName);
    }

    /// <summary>
    /// Completes the run: writes gpus.csv, links.csv, summary.json and perf.json, closes every file and
    /// moves the folder to <see cref="OutputDirectory"/> (replacing what was there). Returns the summary.
    /// On any failure the temporary folder is deleted and the exception rethrown.
    /// <paramref name="beforePublish"/>, when given, runs once every file is closed and before the move: it may add files
    /// (the report) to the unpublished folder, and it receives the captured tables (<see cref="TakeCapturedTables"/> is then empty).
    /// </summary>
    public RunSummary Commit(RunEndInputs end, Action<StagedRun>? beforePublish = null)
    {
        ArgumentNullException.ThrowIfNull(end);
        EnsureOpen();
        try
        {
            _pipeline?.Complete();
            foreach (var r in _iterationRows.Held) WriteIteration(r);
            var summary = _metrics.Summarize(_meta, end) with { Iterations = _iterationRows.Kept() };
            WriteGpus(end.Gpus, end.Simulation.SimulatedNs);
            WriteLinks(end.Links, end.Simulation.SimulatedNs);
            WriteItlHistogram(_metrics.Itl);
            using (var f = OpenFile("summary.json")) SummaryJson.Write(summary, f);
            using (var f = OpenFile("perf.json")) SummaryJson.WritePerf(end.Simulation, f);
            if (end.Faults is { } faults) _timeline.AddFaults(faults.Faults, end.Simulation.SimulatedNs);
            CloseStreams(complete: true);
            if (beforePublish is not null)
            {
                var tables = TakeTables(TempDirectory);
                beforePublish(new StagedRun(TempDirectory, OutputDirectory, summary, tables));
                _capturedTaken = false; // handed over: TakeCapturedTables finds none left
            }
            MoveIntoPlace();
            Committed = true;
            return summary;
        }
        catch
        {
            Abort();
            throw;
        }
    }

    /// <summary>Abandons the run: closes the files and deletes the temporary folder (nothing is left behind).</summary>
    public void Abort()
    {
        if (Committed) return;
        _pipeline?.Dispose();
        CloseStreams(complete: false);
        PartialOutputs.DeleteWithRetries(TempDirectory);
        _partial.Dispose();
        PartialOutputs.RemoveCreatedParents(Path.GetDirectoryName(TempDirectory)!, _createdParent);
    }

    /// <summary>Aborts unless committed.</summary>
    public void Dispose() => Abort();

    // Implementation note: the folder at --out is moved aside and deleted only when it is empty or a run
    // directory this tool wrote (its .sim-run marker); anything else is refused, so a user's files are never
    // deleted. The rename happens under PartialOutputs' lock, so an interrupt either sees it published or removes it.
    private void MoveIntoPlace()
    {
        PartialOutputs.Publish(TempDirectory, OutputDirectory, () => OutputTarget.CheckRunTarget(OutputDirectory));
        _partial.Dispose();
    }

    // Implementation note: the per-GPU, per-link and histogram rows format straight into the CSV writer's buffer
    // (invariant culture: InvariantGlobalization), one fixed format per column, as the MetricFormat strings did.
    private void WriteGpus(IReadOnlyList<GpuActivity> gpus, long spanNs)
    {
        using var w = OpenCsv("gpus.csv", _pools is null ? GpuColumns : [.. GpuColumns, "pool", "gpu_type"]);
        foreach (var g in gpus.OrderBy(g => g.Gpu))
        {
            var busy = Fraction(g.BusyNs, spanNs);
            w.WriteField(g.Gpu, default);
            w.WriteField(g.Node, default);
            w.WriteField(g.Replica, default);
            w.WriteField(g.Stage, default);
            w.WriteField(g.WeightsGB, "F3");
            w.WriteField(g.KvCapacityGB, "F3");
            w.WriteField(busy, "F4");
            w.WriteField(1 - busy, "F4");
            w.WriteField(Fraction(g.ComputeNs, spanNs), "F4");
            w.WriteField(Fraction(g.CommNs, spanNs), "F4");
            w.WriteField(g.ActivationGB, "F3");
            w.WriteField(g.ReserveGB, "F3");
            w.WriteField(g.FreeGB, "F3");
            if (g.ExpertLoad is { } load) w.WriteField(load, "F4");
            else w.WriteField("");
            w.WriteField(g.TpRank, default);
            if (_pools is not null)
            {
                w.WriteField(g.Pool ?? "");
                w.WriteField(g.GpuType ?? "");
            }
            w.EndRecord();
        }
    }

    private void WriteLinks(IReadOnlyList<LinkActivity> links, long spanNs)
    {
        using var w = OpenCsv("links.csv", LinkColumns);
        foreach (var l in links)
        {
            w.WriteField(l.Link);
            w.WriteField(l.Kind);
            w.WriteField(l.From);
            w.WriteField(l.To);
            w.WriteField(l.BandwidthGBps, "F3");
            w.WriteField(l.BytesCarried, default);
            w.WriteField(Fraction(l.BusyNs, spanNs), "F4");
            w.EndRecord();
        }
    }

    /// <summary>itl_histogram.csv's header.</summary>
    public static readonly IReadOnlyList<string> ItlHistogramColumns = ["itl_ms_lo", "itl_ms_hi", "count"];

    // One row per non-empty bucket, ascending: the smallest and largest gap in it (ms to the ns) and how many gaps.
    private void WriteItlHistogram(GapHistogram itl)
    {
        using var w = OpenCsv("itl_histogram.csv", ItlHistogramColumns);
        Span<char> buffer = stackalloc char[MetricFormat.MaxNsChars];
        foreach (var (lo, hi, count) in itl.Buckets())
        {
            w.WriteField(buffer[..MetricFormat.FormatNsAsMs(buffer, lo)]);
            w.WriteField(buffer[..MetricFormat.FormatNsAsMs(buffer, hi)]);
            w.WriteField(count, default);
            w.EndRecord();
        }
    }

    private static double Fraction(long partNs, long spanNs) => spanNs > 0 ? (double)partNs / spanNs : 0;

    // Implementation note: a CSV table buffers its own bytes (CsvCellWriter, 64 KiB), so its file has no buffer of its own
    // (bufferBytes 0): each block goes to the file once instead of being copied into a second buffer first.
    private FileStream OpenFile(string name, int bufferBytes = 1 << 16) =>
        new(PathInRun(name), FileMode.CreateNew, FileAccess.Write, FileShare.Read, bufferBytes);

    private TableWriter OpenTable(string name, TableFormat format, IReadOnlyList<TableColumn> columns)
    {
        var file = TableWriter.Open(OpenFile(TableWriter.FileName(name, format), format == TableFormat.Csv ? 0 : 1 << 16), format, columns);
        if (_capture is null || !_capture.Keeps(name, out var keep)) return file;
        var capturing = new CapturingTableWriter(file, keep);
        _captured.Add((name, capturing));
        return capturing;
    }

    /// <summary>
    /// After <see cref="Commit"/>: the columns <see cref="RunWriterOptions.Capture"/> named, by table name, with the values
    /// the files of <see cref="OutputDirectory"/> hold (empty without a capture). Computed once: the writer drops its
    /// references to them, and a second call throws. Empty when <see cref="Commit"/> handed them to its <c>beforePublish</c>.
    /// </summary>
    public IReadOnlyDictionary<string, CapturedTable> TakeCapturedTables()
    {
        if (!Committed) throw new InvalidOperationException("the run directory is not committed yet");
        if (_capturedTaken) throw new InvalidOperationException("the captured tables were already taken");
        return TakeTables(OutputDirectory);
    }

    private Dictionary<string, CapturedTable> TakeTables(string directory)
    {
        _capturedTaken = true;
        var tables = new Dictionary<string, CapturedTable>(_captured.Count);
        foreach (var (name, table) in _captured) tables[name] = table.Take(directory);
        _captured.Clear();
        return tables;
    }

    private bool _capturedTaken;

    private CsvWriter OpenCsv(string name, IReadOnlyList<string> header)
    {
        var csv = CsvWriter.Create(OpenFile(name), CsvOptions, leaveOpen: false);
        csv.WriteHeader(header.ToArray());
        return csv;
    }

    private void CloseStreams(bool complete)
    {
        if (_closed) return;
        _closed = true;
        // Fields are null only when the constructor failed part-way.
        _requests?.Dispose();
        _iterations?.Dispose();
        _timeseries?.Dispose();
        if (complete) _timeline?.Finish();
        else _timeline?.Dispose();
    }

    private void EnsureOpen()
    {
        if (_closed) throw new InvalidOperationException("the run directory is already committed or aborted");
    }
}
