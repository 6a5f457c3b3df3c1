using System.Text.Json;

namespace Simulator.Inference.Metrics;

/// <summary>
/// Streams timeline.json, Chrome trace-event JSON (opens in Perfetto and chrome://tracing): one process
/// per replica (pid = replica, named "replica N"), one thread per pipeline stage (tid = stage, named
/// "stage S"), one complete event (<c>ph: "X"</c>, ts and dur in microseconds) per batch per stage,
/// named prefill, decode or mixed. At most <see cref="EventCap"/> batch events are written (the first
/// ones); <c>otherData</c> at the end of the file says how many were written and dropped.
/// </summary>
public sealed class TimelineWriter : IDisposable
{
    private const int FlushEvery = 1024;
    private readonly Stream _stream;
    private readonly Utf8JsonWriter _w;
    private readonly HashSet<(int Replica, int Stage)> _namedThreads = [];
    private readonly HashSet<int> _namedProcesses = [];
    private int _sinceFlush;
    private bool _finished;

    /// <summary>Starts a timeline on <paramref name="stream"/> (which the writer owns and closes).</summary>
    public TimelineWriter(Stream stream, long eventCap)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfNegative(eventCap);
        _stream = stream;
        EventCap = eventCap;
        _w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = false });
        _w.WriteStartObject();
        _w.WriteString("displayTimeUnit", "ms");
        _w.WriteStartArray("traceEvents");
    }

    /// <summary>The most batch events written; later ones are counted in <see cref="Dropped"/>.</summary>
    public long EventCap { get; }

    /// <summary>Batch events written so far.</summary>
    public long Written { get; private set; }

    /// <summary>Batch events not written because the cap was reached.</summary>
    public long Dropped { get; private set; }

    /// <summary>The event name of an iteration: prefill (no decode tokens), decode (no prefill tokens) or mixed.</summary>
    public static string EventName(in IterationRecord r) =>
        r.DecodeTokens == 0 && r.PrefillTokens > 0 ? "prefill" : r.PrefillTokens == 0 ? "decode" : "mixed";

    /// <summary>Adds one batch-on-a-stage event.</summary>
    public void Add(in IterationRecord r)
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        if (Written >= EventCap)
        {
            Dropped++;
            return;
        }
        NameTrack(r.Replica, r.Stage);
        _w.WriteStartObject();
        _w.WriteString("name", EventName(r));
        _w.WriteString("cat", "stage");
        _w.WriteString("ph", "X");
        _w.WriteNumber("pid", r.Replica);
        _w.WriteNumber("tid", r.Stage);
        // Implementation note: whole microseconds (stage iterations last tens of us or more) and decimal ms below:
        // shortest round-trip double formatting made the timeline a third of a large run's time.
        _w.WriteNumber("ts", (r.StartNs + 500) / 1000);
        _w.WriteNumber("dur", Math.Max(1, (r.EndNs - r.StartNs + 500) / 1000));
        _w.WriteStartObject("args");
        _w.WriteNumber("iteration", r.Iteration);
        _w.WriteNumber("microbatch", r.Microbatch);
        _w.WriteNumber("batch", r.BatchSize);
        _w.WriteNumber("prefill_tokens", r.PrefillTokens);
        _w.WriteNumber("decode_tokens", r.DecodeTokens);
        _w.WriteNumber("tokens", r.PrefillTokens + r.DecodeTokens);
        _w.WriteNumber("compute_ms", decimal.Round(r.Cost.ComputeNs / 1_000_000m, 3));
        _w.WriteNumber("comm_ms", decimal.Round((r.Cost.TpCommNs + r.Cost.EpCommNs + r.Cost.CpCommNs + r.Cost.PpCommNs) / 1_000_000m, 3));
        _w.WriteEndObject();
        _w.WriteEndObject();
        Written++;
        if (++_sinceFlush >= FlushEvery)
        {
            _w.Flush();
            _sinceFlush = 0;
        }
    }

    /// <summary>The timeline process (pid) of the faults track, after any replica's.</summary>
    public const int FaultsPid = 1_000_000;

    /// <summary>
    /// Adds a "faults" track (pid <see cref="FaultsPid"/>): one slice per fault from its start for its duration (a
    /// permanent fault lasts to <paramref name="endNs"/>), named "kind target", one thread per target. Not counted
    /// against <see cref="EventCap"/> (a run has few faults).
    /// </summary>
    public void AddFaults(IReadOnlyList<FaultRecord> faults, long endNs)
    {
        ArgumentNullException.ThrowIfNull(faults);
        ObjectDisposedException.ThrowIf(_finished, this);
        if (faults.Count == 0) return;
        Metadata("process_name", FaultsPid, 0, "faults");
        var threads = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var f in faults)
        {
            if (!threads.TryGetValue(f.Target, out int tid))
            {
                threads[f.Target] = tid = threads.Count;
                Metadata("thread_name", FaultsPid, tid, f.Target);
            }
            long end = f.DurationNs is long d ? f.AtNs + d : Math.Max(f.AtNs, endNs);
            _w.WriteStartObject();
            _w.WriteString("name", f.Kind + " " + f.Target);
            _w.WriteString("cat", "fault");
            _w.WriteString("ph", "X");
            _w.WriteNumber("pid", FaultsPid);
            _w.WriteNumber("tid", tid);
            _w.WriteNumber("ts", (f.AtNs + 500) / 1000);
            _w.WriteNumber("dur", Math.Max(1, (end - f.AtNs + 500) / 1000));
            _w.WriteStartObject("args");
            _w.WriteString("kind", f.Kind);
            _w.WriteString("target", f.Target);
            _w.WriteBoolean("permanent", f.DurationNs is null);
            if (f.Factor is double factor) _w.WriteNumber("factor", factor);
            _w.WriteEndObject();
            _w.WriteEndObject();
        }
    }

    /// <summary>Closes the event list, writes <c>otherData</c> (written, dropped, cap) and closes the stream.</summary>
    public void Finish()
    {
        if (_finished) return;
        _w.WriteEndArray();
        _w.WriteStartObject("otherData");
        _w.WriteNumber("events_written", Written);
        _w.WriteNumber("events_dropped", Dropped);
        _w.WriteNumber("event_cap", EventCap);
        _w.WriteEndObject();
        _w.WriteEndObject();
        _w.Flush();
        _stream.WriteByte((byte)'\n');
        _finished = true;
        _w.Dispose();
        _stream.Dispose();
    }

    /// <summary>Releases the stream without completing the JSON (used when a run is aborted).</summary>
    public void Dispose()
    {
        if (_finished) return;
        _finished = true;
        _w.Dispose();
        _stream.Dispose();
    }

    private void NameTrack(int replica, int stage)
    {
        if (_namedProcesses.Add(replica))
            Metadata("process_name", replica, 0, "replica " + MetricFormat.Integer(replica));
        if (_namedThreads.Add((replica, stage)))
            Metadata("thread_name", replica, stage, "stage " + MetricFormat.Integer(stage));
    }

    private void Metadata(string kind, int pid, int tid, string name)
    {
        _w.WriteStartObject();
        _w.WriteString("name", kind);
        _w.WriteString("ph", "M");
        _w.WriteNumber("pid", pid);
        _w.WriteNumber("tid", tid);
        _w.WriteStartObject("args");
        _w.WriteString("name", name);
        _w.WriteEndObject();
        _w.WriteEndObject();
    }
}
