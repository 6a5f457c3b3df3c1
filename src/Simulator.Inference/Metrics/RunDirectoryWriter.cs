using System.Text;
using CsvHelper;

namespace Simulator.Inference.Metrics;

/// <summary>Options of a <see cref="RunDirectoryWriter"/>.</summary>
/// <param name="TimelineEventCap">Most batch events written to timeline.json (the first ones); 0 writes an empty timeline.</param>
public sealed record RunWriterOptions(long TimelineEventCap = 200_000)
{
    /// <summary>The defaults.</summary>
    public static RunWriterOptions Default { get; } = new();
}

/// <summary>
/// Writes a run directory as the run goes: requests.csv, iterations.csv, timeseries.csv and timeline.json
/// are streamed row by row into a temporary sibling folder; <see cref="Commit"/> adds gpus.csv, links.csv,
/// summary.json and perf.json and moves the folder into place, replacing an older run directory of the
/// same name; <see cref="Abort"/> (or disposing without committing) deletes it, so a failed run leaves
/// nothing half-written. Memory grows with replicas, not requests: no record is kept, only the
/// <see cref="RunMetricsAccumulator"/>'s 16 bytes per completed request.
/// </summary>
public sealed class RunDirectoryWriter : IRunRecorder, IDisposable
{
    /// <summary>requests.csv's header.</summary>
    public static readonly IReadOnlyList<string> RequestColumns =
    [
        "request_id", "arrival_s", "replica", "input_tokens", "output_tokens", "cached_tokens", "status",
        "first_token_s", "completion_s", "ttft_ms", "tpot_ms", "e2e_ms", "queue_ms", "preemptions",
        "generated_tokens", "scheduled_s", "frontend_ms",
    ];

    /// <summary>iterations.csv's header.</summary>
    public static readonly IReadOnlyList<string> IterationColumns =
    [
        "replica", "stage", "iteration", "microbatch", "start_s", "end_s", "batch_size", "prefill_tokens",
        "decode_tokens", "compute_ms", "tp_comm_ms", "ep_comm_ms", "pp_comm_ms", "cp_comm_ms", "overhead_ms",
        "kv_blocks_used",
    ];

    /// <summary>timeseries.csv's header.</summary>
    public static readonly IReadOnlyList<string> TimeseriesColumns =
    [
        "time_s", "replica", "queued", "running", "kv_utilization", "prefill_tokens_per_s", "output_tokens_per_s", "completed",
    ];

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

    private const string MsFormat = "F3";
    private const string FractionFormat = "F4";
    private static readonly CsvWriterOptions CsvOptions = CsvWriterOptions.Default with { NewLine = "\n" };

    private readonly RunMetadata _meta;
    private readonly RunMetricsAccumulator _metrics;
    private readonly CsvWriter _requests;
    private readonly CsvWriter _iterations;
    private readonly CsvWriter _timeseries;
    private readonly TimelineWriter _timeline;
    private readonly Dictionary<int, long> _lastSampleNs = [];
    private bool _closed;

    /// <summary>Starts a run directory that <see cref="Commit"/> will place at <paramref name="outputDirectory"/>.</summary>
    public RunDirectoryWriter(string outputDirectory, RunMetadata metadata, RunWriterOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outputDirectory);
        ArgumentNullException.ThrowIfNull(metadata);
        options ??= RunWriterOptions.Default;
        OutputDirectory = Path.GetFullPath(outputDirectory.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));
        var parent = Path.GetDirectoryName(OutputDirectory) ?? throw new ArgumentException("the output directory needs a parent folder", nameof(outputDirectory));
        Directory.CreateDirectory(parent);
        TempDirectory = Path.Combine(parent, "." + Path.GetFileName(OutputDirectory) + ".partial-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(TempDirectory);
        _meta = metadata;
        _metrics = new RunMetricsAccumulator(metadata.Slo);
        try
        {
            _requests = OpenCsv("requests.csv", RequestColumns);
            _iterations = OpenCsv("iterations.csv", IterationColumns);
            _timeseries = OpenCsv("timeseries.csv", TimeseriesColumns);
            _timeline = new TimelineWriter(OpenFile("timeline.json"), options.TimelineEventCap);
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

    /// <summary>Requests recorded so far.</summary>
    public long RequestsRecorded => _metrics.Count;

    /// <inheritdoc />
    public void OnIteration(in IterationRecord r)
    {
        EnsureOpen();
        var w = _iterations;
        w.WriteField(r.Replica, default);
        w.WriteField(r.Stage, default);
        w.WriteField(r.Iteration, default);
        w.WriteField(r.Microbatch, default);
        WriteSeconds(w, r.StartNs);
        WriteSeconds(w, r.EndNs);
        w.WriteField(r.BatchSize, default);
        w.WriteField(r.PrefillTokens, default);
        w.WriteField(r.DecodeTokens, default);
        WriteMs(w, r.Cost.ComputeNs);
        WriteMs(w, r.Cost.TpCommNs);
        WriteMs(w, r.Cost.EpCommNs);
        WriteMs(w, r.Cost.PpCommNs);
        WriteMs(w, r.Cost.CpCommNs);
        WriteMs(w, r.Cost.OverheadNs);
        w.WriteField(r.KvBlocksUsed, default);
        w.EndRecord();
        _timeline.Add(r);
    }

    /// <inheritdoc />
    public void OnRequestFinished(RequestRecord r)
    {
        ArgumentNullException.ThrowIfNull(r);
        EnsureOpen();
        var l = RequestLatencies.From(r);
        _metrics.Add(r, l);
        var w = _requests;
        w.WriteField(r.RequestId, default);
        WriteSeconds(w, r.ArrivalNs);
        w.WriteField(r.Replica, default);
        w.WriteField(r.InputTokens, default);
        w.WriteField(r.OutputTokens, default);
        w.WriteField(r.CachedTokens, default);
        w.WriteField(MetricFormat.Status(r.Status));
        WriteSeconds(w, r.FirstTokenNs);
        WriteSeconds(w, r.CompletionNs);
        WriteMs(w, r.FirstTokenNs - r.ArrivalNs);                                                   // ttft_ms
        w.WriteField(l.TpotMs, MsFormat);
        WriteMs(w, l.E2eMs is null ? null : r.CompletionNs - r.ArrivalNs);                          // e2e_ms
        WriteMs(w, r.ScheduledNs - r.ArrivalNs);                                                    // queue_ms
        w.WriteField(r.Preemptions, default);
        w.WriteField(r.GeneratedTokens, default);
        WriteSeconds(w, r.ScheduledNs);
        WriteMs(w, r.FrontEndNs);                                                                   // frontend_ms
        w.EndRecord();
    }

    /// <inheritdoc />
    public void OnSample(in ReplicaSample s)
    {
        EnsureOpen();
        var previousNs = _lastSampleNs.TryGetValue(s.Replica, out var p) ? p : 0L;
        _lastSampleNs[s.Replica] = s.TimeNs;
        var intervalS = (s.TimeNs - previousNs) / 1e9;
        double Rate(long count) => intervalS > 0 ? count / intervalS : 0;
        var w = _timeseries;
        WriteSeconds(w, s.TimeNs);
        w.WriteField(s.Replica, default);
        w.WriteField(s.Queued, default);
        w.WriteField(s.Running, default);
        w.WriteField(s.KvUtilization, FractionFormat);
        w.WriteField(Rate(s.PrefillTokensSinceLast), MsFormat);
        w.WriteField(Rate(s.OutputTokensSinceLast), MsFormat);
        w.WriteField(s.CompletedSinceLast, default);
        w.EndRecord();
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
    /// </summary>
    public RunSummary Commit(RunEndInputs end)
    {
        ArgumentNullException.ThrowIfNull(end);
        EnsureOpen();
        try
        {
            var summary = _metrics.Summarize(_meta, end);
            WriteGpus(end.Gpus, end.Simulation.SimulatedNs);
            WriteLinks(end.Links, end.Simulation.SimulatedNs);
            using (var f = OpenFile("summary.json")) SummaryJson.Write(summary, f);
            using (var f = OpenFile("perf.json")) SummaryJson.WritePerf(end.Simulation, f);
            CloseStreams(complete: true);
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
        CloseStreams(complete: false);
        if (Directory.Exists(TempDirectory)) Directory.Delete(TempDirectory, recursive: true);
    }

    /// <summary>Aborts unless committed.</summary>
    public void Dispose() => Abort();

    private void MoveIntoPlace()
    {
        string? old = null;
        if (Directory.Exists(OutputDirectory))
        {
            old = TempDirectory.Replace(".partial-", ".old-", StringComparison.Ordinal);
            Directory.Move(OutputDirectory, old);
        }
        else if (File.Exists(OutputDirectory))
        {
            throw new IOException($"{OutputDirectory} exists and is a file, not a run directory");
        }
        try
        {
            Directory.Move(TempDirectory, OutputDirectory);
        }
        catch
        {
            if (old != null) Directory.Move(old, OutputDirectory);
            throw;
        }
        if (old != null) Directory.Delete(old, recursive: true);
    }

    private void WriteGpus(IReadOnlyList<GpuActivity> gpus, long spanNs)
    {
        using var w = OpenCsv("gpus.csv", GpuColumns);
        foreach (var g in gpus.OrderBy(g => g.Gpu))
        {
            var busy = Fraction(g.BusyNs, spanNs);
            w.WriteField(MetricFormat.Integer(g.Gpu));
            w.WriteField(MetricFormat.Integer(g.Node));
            w.WriteField(MetricFormat.Integer(g.Replica));
            w.WriteField(MetricFormat.Integer(g.Stage));
            w.WriteField(MetricFormat.Fixed(g.WeightsGB, 3));
            w.WriteField(MetricFormat.Fixed(g.KvCapacityGB, 3));
            w.WriteField(MetricFormat.Fraction(busy));
            w.WriteField(MetricFormat.Fraction(1 - busy));
            w.WriteField(MetricFormat.Fraction(Fraction(g.ComputeNs, spanNs)));
            w.WriteField(MetricFormat.Fraction(Fraction(g.CommNs, spanNs)));
            w.WriteField(MetricFormat.Fixed(g.ActivationGB, 3));
            w.WriteField(MetricFormat.Fixed(g.ReserveGB, 3));
            w.WriteField(MetricFormat.Fixed(g.FreeGB, 3));
            w.WriteField(g.ExpertLoad is { } load ? MetricFormat.Fraction(load) : "");
            w.WriteField(MetricFormat.Integer(g.TpRank));
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
            w.WriteField(MetricFormat.Fixed(l.BandwidthGBps, 3));
            w.WriteField(MetricFormat.Integer(l.BytesCarried));
            w.WriteField(MetricFormat.Fraction(Fraction(l.BusyNs, spanNs)));
            w.EndRecord();
        }
    }

    private static double Fraction(long partNs, long spanNs) => spanNs > 0 ? (double)partNs / spanNs : 0;

    private FileStream OpenFile(string name) =>
        new(PathInRun(name), FileMode.CreateNew, FileAccess.Write, FileShare.Read, 1 << 16);

    private CsvWriter OpenCsv(string name, IReadOnlyList<string> header)
    {
        var csv = CsvWriter.Create(OpenFile(name), CsvOptions, leaveOpen: false);
        csv.WriteHeader(header.ToArray());
        return csv;
    }

    private static void WriteSeconds(CsvWriter w, long ns)
    {
        Span<char> buffer = stackalloc char[MetricFormat.MaxNsChars];
        w.WriteField(buffer[..MetricFormat.FormatNs(buffer, ns, 6)]);
    }

    private static void WriteSeconds(CsvWriter w, long? ns)
    {
        if (ns is { } v) WriteSeconds(w, v);
        else w.WriteField("");
    }

    private static void WriteMs(CsvWriter w, long ns)
    {
        Span<char> buffer = stackalloc char[MetricFormat.MaxNsChars];
        w.WriteField(buffer[..MetricFormat.FormatNs(buffer, ns, 3)]);
    }

    private static void WriteMs(CsvWriter w, long? ns)
    {
        if (ns is { } v) WriteMs(w, v);
        else w.WriteField("");
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
