using System.Text.Json;

namespace Simulator.Inference.Metrics;

/// <summary>
/// What the timeline's track names say about the cluster: the replica's layout (e.g. "TP4 x PP2, H100-SXM-80GB")
/// and, per replica and stage, the GPUs it runs on (e.g. "GPUs 0-3").
/// </summary>
/// <param name="Shape">The layout of every replica, shown in the process name.</param>
/// <param name="StageGpus">[replica][stage] -> the GPUs of that stage, shown in its compute track's name; may be shorter than the run.</param>
public sealed record TimelineLayout(string Shape, IReadOnlyList<IReadOnlyList<string>> StageGpus)
{
    /// <summary>No layout information: tracks are named "replica N", "stage S compute", ...</summary>
    public static TimelineLayout None { get; } = new("", []);

    /// <summary>The GPU label of a stage, or null when unknown.</summary>
    public string? GpusOf(int replica, int stage) =>
        replica < StageGpus.Count && stage < StageGpus[replica].Count ? StageGpus[replica][stage] : null;

    /// <summary>"GPU 5", "GPUs 0-3" or "GPUs 0,2,4" for a set of GPU indices.</summary>
    public static string GpuLabel(IEnumerable<int> gpus)
    {
        var sorted = gpus.Distinct().Order().ToArray();
        if (sorted.Length == 1) return "GPU " + MetricFormat.Integer(sorted[0]);
        bool contiguous = sorted.Length > 1 && sorted[^1] - sorted[0] == sorted.Length - 1;
        return "GPUs " + (contiguous
            ? MetricFormat.Integer(sorted[0]) + "-" + MetricFormat.Integer(sorted[^1])
            : string.Join(",", sorted.Select(g => MetricFormat.Integer(g))));
    }
}

/// <summary>
/// Streams timeline.json, Chrome trace-event JSON for Perfetto (ui.perfetto.dev) and chrome://tracing. One process
/// per replica (pid = replica); per pipeline stage S one compute track (tid = 100 S) with one complete event
/// (<c>ph: "X"</c>) per batch named prefill, decode or mixed, then, inside the same busy interval and after the
/// compute (the order the cost model and the flow executor run them in), one track each for the stage's TP, EP and
/// CP collectives (tid = 100 S + 1, 2, 3), and tracks for the pipeline send to the next stage (tid = 100 S + 4 + lane;
/// a send that starts before the previous one ended goes to the next lane). Per completed request, nested async
/// slices (<c>ph: "b"/"e"</c>, id = request id): request, and inside it queued, prefill, decode. Counter tracks
/// (<c>ph: "C"</c>) per replica at every sample: running batch, queue depth, KV utilization.
/// Implementation note: every time is converted from integer ns to whole microseconds once per endpoint (half up)
/// and a slice's dur is end_us - start_us, so slices that touch in ns touch in the file and never overlap;
/// a slice shorter than half a microsecond rounds to nothing and is not written.
/// At most <see cref="EventCap"/> events (every kind but the name metadata counts) are written: the first
/// ones, whole groups at a time (a batch's slices, a request's slices, a sample's counters); once a group does not
/// fit, every later one is dropped and counted by kind in <c>otherData</c>.
/// </summary>
public sealed class TimelineWriter : IDisposable
{
    /// <summary>Track ids per stage: stage S uses 100 S to 100 S + 99.</summary>
    public const int TidsPerStage = 100;

    private const int ComputeTid = 0, TpTid = 1, EpTid = 2, CpTid = 3, PpTid = 4;
    private const int FlushEvery = 1024;
    private static readonly string[] CommNames = ["TP comm", "EP comm", "CP comm"];
    private readonly Stream _stream;
    private readonly Utf8JsonWriter _w;
    private readonly TimelineLayout _layout;
    private readonly HashSet<(int Pid, int Tid)> _namedThreads = [];
    private readonly HashSet<int> _namedProcesses = [];
    private readonly Dictionary<(int Replica, int Stage), List<long>> _ppLaneEndsUs = [];
    private readonly long[] _dropped = new long[3];
    private readonly Slice[] _slices = new Slice[8];
    private int _sinceFlush;
    private bool _full;
    private bool _finished;

    /// <summary>Starts a timeline on <paramref name="stream"/> (which the writer owns and closes).</summary>
    public TimelineWriter(Stream stream, long eventCap, TimelineLayout? layout = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfNegative(eventCap);
        _stream = stream;
        EventCap = eventCap;
        _layout = layout ?? TimelineLayout.None;
        _w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = false });
        _w.WriteStartObject();
        _w.WriteString("displayTimeUnit", "ms");
        _w.WriteStartArray("traceEvents");
    }

    /// <summary>The most events written; later ones are counted in <see cref="Dropped"/>.</summary>
    public long EventCap { get; }

    /// <summary>Events written so far (name metadata not counted).</summary>
    public long Written { get; private set; }

    /// <summary>Events not written because the cap was reached.</summary>
    public long Dropped => _dropped.Sum();

    /// <summary>The event name of an iteration: prefill (no decode tokens), decode (no prefill tokens) or mixed.</summary>
    public static string EventName(in IterationRecord r) => IterationNameTexts[EventKind(r)];

    private static readonly string[] IterationNameTexts = ["prefill", "decode", "mixed"];

    private static int EventKind(in IterationRecord r) => r.DecodeTokens == 0 && r.PrefillTokens > 0 ? 0 : r.PrefillTokens == 0 ? 1 : 2;

    /// <summary>Trace microseconds of a simulation time in ns (rounded half up, the same for every endpoint).</summary>
    public static long Us(long ns) => MetricFormat.RoundedMicros(ns);

    /// <summary>The tid of a stage's track: <paramref name="offset"/> 0 compute, 1 TP, 2 EP, 3 CP, 4 + lane PP send.</summary>
    public static int Tid(int stage, int offset) => stage * TidsPerStage + offset;

    /// <summary>Adds one batch on a stage: its compute slice, its TP / EP / CP slices, and its pipeline send.</summary>
    public void Add(in IterationRecord r)
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        var c = r.Cost;
        long computeEnd = Math.Min(r.EndNs, r.StartNs + c.ComputeNs + c.OverheadNs);
        int n = 0;
        AddSlice(ref n, ComputeTid, r.StartNs, computeEnd);
        // Communication fills the rest of the busy interval in the cost model's order; in flow mode contention may
        // stretch it beyond the analytic times, so each part keeps its share of the measured interval.
        Span<long> comm = [c.TpCommNs, c.EpCommNs, c.CpCommNs];
        long total = comm[0] + comm[1] + comm[2];
        long window = r.EndNs - computeEnd, cumulative = 0, from = computeEnd;
        for (int k = 0; k < comm.Length && total > 0; k++)
        {
            if (comm[k] <= 0) continue;
            cumulative += comm[k];
            long to = computeEnd + ShareOf(window, cumulative, total);
            AddSlice(ref n, TpTid + k, from, to);
            from = to;
        }
        int lane = -1;
        if (c.PpCommNs > 0 && Us(r.EndNs + c.PpCommNs) > Us(r.EndNs))
        {
            lane = PpLane(r.Replica, r.Stage, Us(r.EndNs), peek: true);
            if (lane < TidsPerStage - PpTid) AddSlice(ref n, PpTid + lane, r.EndNs, r.EndNs + c.PpCommNs);
            else lane = -1; // more sends in flight than a stage has tracks for: this one is not drawn
        }
        if (!Fits(n, kind: 0)) return;
        WriteSlices(r, n, lane);
    }

    // Writes the n slices Add found (lane: the PP send's lane, -1 for none).
    // Implementation note: out of line, so Add's frame stays small: the JSON writing's struct temporaries made a
    // 552-byte frame that every call zeroed (~50 instructions), and past the event cap (nearly every batch of a fleet
    // run: 20,000 events are kept of millions) Add only counts the slices it would have drawn.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void WriteSlices(in IterationRecord r, int n, int lane)
    {
        var c = r.Cost;
        if (lane >= 0) PpLane(r.Replica, r.Stage, Us(r.EndNs), peek: false, endUs: Us(r.EndNs + c.PpCommNs));
        NameProcess(r.Replica);
        for (int i = 0; i < n; i++)
        {
            var s = _slices[i];
            var tid = Tid(r.Stage, s.Offset);
            NameThread(r.Replica, tid, TrackName(r.Replica, r.Stage, s.Offset));
            Begin(s.Offset == ComputeTid ? IterationNames[EventKind(r)] : s.Offset >= PpTid ? PpSendName : CommNamesEncoded[s.Offset - TpTid],
                s.Offset == ComputeTid ? StageCat : CommCat, CompletePh, r.Replica, tid, s.StartUs);
            _w.WriteNumber(DurKey, s.EndUs - s.StartUs);
            _w.WriteStartObject(ArgsKey);
            _w.WriteNumber(IterationKey, r.Iteration);
            _w.WriteNumber(MicrobatchKey, r.Microbatch);
            if (s.Offset == ComputeTid)
            {
                _w.WriteNumber(BatchKey, r.BatchSize);
                _w.WriteNumber(PrefillTokensKey, r.PrefillTokens);
                _w.WriteNumber(DecodeTokensKey, r.DecodeTokens);
                _w.WriteNumber(TokensKey, r.PrefillTokens + r.DecodeTokens);
                WriteMs(ComputeMsKey, c.ComputeNs);
                WriteMs(OverheadMsKey, c.OverheadNs);
                WriteMs(CommMsKey, c.TpCommNs + c.EpCommNs + c.CpCommNs + c.PpCommNs);
            }
            else
            {
                WriteMs(AnalyticMsKey, s.Offset switch { TpTid => c.TpCommNs, EpTid => c.EpCommNs, CpTid => c.CpCommNs, _ => c.PpCommNs });
            }
            _w.WriteEndObject();
            End();
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
        Metadata("process_name", FaultsPid, 0, "name", "faults");
        Metadata("process_sort_index", FaultsPid, 0, "sort_index", null, FaultsPid);
        var threads = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var f in faults)
        {
            if (!threads.TryGetValue(f.Target, out int tid))
            {
                threads[f.Target] = tid = threads.Count;
                NameThread(FaultsPid, tid, f.Target);
            }
            long end = f.DurationNs is long d ? f.AtNs + d : Math.Max(f.AtNs, endNs);
            Begin(f.Kind + " " + f.Target, "fault", "X", FaultsPid, tid, Us(f.AtNs));
            _w.WriteNumber("dur", Math.Max(1, Us(end) - Us(f.AtNs)));
            _w.WriteStartObject("args");
            _w.WriteString("kind", f.Kind);
            _w.WriteString("target", f.Target);
            _w.WriteBoolean("permanent", f.DurationNs is null);
            if (f.Factor is double factor) _w.WriteNumber("factor", factor);
            _w.WriteEndObject();
            End();
        }
    }

    /// <summary>
    /// Adds a finished request's async slices (completed requests only): request (arrival to completion) with
    /// queued (arrival to first scheduled), prefill (first scheduled to first token) and decode (first token to
    /// completion) nested inside it; phases that round to nothing are left out.
    /// </summary>
    public void AddRequest(RequestRecord r)
    {
        ArgumentNullException.ThrowIfNull(r);
        ObjectDisposedException.ThrowIf(_finished, this);
        if (r.Status != RequestStatus.Completed || r.CompletionNs is not { } done || r.FirstTokenNs is not { } first) return;
        long scheduled = r.ScheduledNs ?? r.ArrivalNs;
        int n = 0;
        AddSlice(ref n, 0, r.ArrivalNs, done);
        if (n == 0) return;
        AddSlice(ref n, 1, r.ArrivalNs, scheduled);
        AddSlice(ref n, 2, scheduled, first);
        AddSlice(ref n, 3, first, done);
        if (!Fits(2 * n, kind: 1)) return;
        NameProcess(r.Replica);
        var id = MetricFormat.Integer(r.RequestId);
        var names = RequestPhaseNames;
        var outer = _slices[0];
        Async(BeginPh, names[0], id, r.Replica, outer.StartUs, r);
        for (int i = 1; i < n; i++)
        {
            Async(BeginPh, names[_slices[i].Offset], id, r.Replica, _slices[i].StartUs, null);
            Async(EndPh, names[_slices[i].Offset], id, r.Replica, _slices[i].EndUs, null);
        }
        Async(EndPh, names[0], id, r.Replica, outer.EndUs, null);
    }

    /// <summary>Adds a replica's counters at a sampling instant: running batch (sequences), queue depth (requests), KV utilization.</summary>
    public void AddSample(in ReplicaSample s)
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        if (!Fits(3, kind: 2)) return;
        NameProcess(s.Replica);
        var ts = Us(s.TimeNs);
        Counter(RunningBatchName, SequencesKey, s.Replica, ts, s.Running);
        Counter(QueueDepthName, RequestsKey, s.Replica, ts, s.Queued);
        Counter(KvUtilizationName, FractionKey, s.Replica, ts, Math.Round(s.KvUtilization, 4));
    }

    /// <summary>Closes the event list, writes <c>otherData</c> (written, dropped in all and by kind, cap) and closes the stream.</summary>
    public void Finish()
    {
        if (_finished) return;
        _w.WriteEndArray();
        _w.WriteStartObject("otherData");
        _w.WriteNumber("events_written", Written);
        _w.WriteNumber("events_dropped", Dropped);
        _w.WriteNumber("event_cap", EventCap);
        _w.WriteStartObject("dropped_by_kind");
        _w.WriteNumber("stage_slices", _dropped[0]);
        _w.WriteNumber("request_slices", _dropped[1]);
        _w.WriteNumber("counters", _dropped[2]);
        _w.WriteEndObject();
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

    private readonly record struct Slice(int Offset, long StartUs, long EndUs);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private void AddSlice(ref int n, int offset, long startNs, long endNs)
    {
        long a = Us(startNs), b = Us(endNs);
        if (b > a) _slices[n++] = new Slice(offset, a, b);
    }

    /// <summary><paramref name="window"/> * <paramref name="part"/> / <paramref name="total"/>, truncated (all >= 0, total > 0).</summary>
    // Implementation note: in 64 bits when the product fits (every iteration: nanoseconds of one pass), else in 128;
    // both truncate the same exact quotient, so the slices are the same. Int128 division ran as tier-0 JIT code
    // (not precompiled by ReadyToRun), about 0.5% of the Azure replay.
    private static long ShareOf(long window, long part, long total) =>
        window <= long.MaxValue / Math.Max(1, part) ? window * part / total : (long)((Int128)window * part / total);

    private bool Fits(int events, int kind)
    {
        if (events == 0) return false;
        if (!_full && Written + events <= EventCap)
        {
            Written += events;
            return true;
        }
        _full = true;
        _dropped[kind] += events;
        return false;
    }

    // The first PP lane of (replica, stage) free at startUs; unless peeking, marks it busy until endUs.
    private int PpLane(int replica, int stage, long startUs, bool peek, long endUs = 0)
    {
        if (!_ppLaneEndsUs.TryGetValue((replica, stage), out var ends)) _ppLaneEndsUs[(replica, stage)] = ends = [];
        int lane = 0;
        while (lane < ends.Count && ends[lane] > startUs) lane++;
        if (!peek)
        {
            if (lane == ends.Count) ends.Add(endUs);
            else ends[lane] = endUs;
        }
        return lane;
    }

    private string TrackName(int replica, int stage, int offset)
    {
        var prefix = "stage " + MetricFormat.Integer(stage);
        if (offset == ComputeTid)
            return _layout.GpusOf(replica, stage) is { } gpus ? $"{prefix} compute ({gpus})" : prefix + " compute";
        if (offset < PpTid) return prefix + " " + CommNames[offset - TpTid];
        var lane = offset - PpTid;
        return $"{prefix} -> {MetricFormat.Integer(stage + 1)} PP send" + (lane > 0 ? $" ({MetricFormat.Integer(lane + 1)})" : "");
    }

    private void NameProcess(int replica)
    {
        if (!_namedProcesses.Add(replica)) return;
        var name = "replica " + MetricFormat.Integer(replica) + (_layout.Shape.Length > 0 ? $" ({_layout.Shape})" : "");
        Metadata("process_name", replica, 0, "name", name);
        Metadata("process_sort_index", replica, 0, "sort_index", null, replica);
    }

    private void NameThread(int pid, int tid, string name)
    {
        if (!_namedThreads.Add((pid, tid))) return;
        Metadata("thread_name", pid, tid, "name", name);
        Metadata("thread_sort_index", pid, tid, "sort_index", null, tid);
    }

    // A name (text) or sort index (number) metadata event.
    private void Metadata(string kind, int pid, int tid, string arg, string? text, long number = 0)
    {
        Begin(kind, null, "M", pid, tid, 0);
        _w.WriteStartObject("args");
        if (text != null) _w.WriteString(arg, text);
        else _w.WriteNumber(arg, number);
        _w.WriteEndObject();
        End();
    }

    private void Async(JsonEncodedText ph, JsonEncodedText name, string id, int pid, long ts, RequestRecord? args)
    {
        Begin(name, RequestCat, ph, pid, 0, ts);
        _w.WriteString(IdKey, id);
        if (args != null)
        {
            _w.WriteStartObject(ArgsKey);
            _w.WriteNumber(RequestIdKey, args.RequestId);
            _w.WriteNumber(InputTokensKey, args.InputTokens);
            _w.WriteNumber(GeneratedTokensKey, args.GeneratedTokens);
            _w.WriteNumber(PreemptionsKey, args.Preemptions);
            _w.WriteEndObject();
        }
        End();
    }

    private void Counter(JsonEncodedText name, JsonEncodedText series, int pid, long ts, double value)
    {
        Begin(name, CounterCat, CounterPh, pid, 0, ts);
        _w.WriteStartObject(ArgsKey);
        _w.WriteNumber(series, value);
        _w.WriteEndObject();
        End();
    }

    // Implementation note: the keys every event starts with, encoded once (the same bytes; the writer then neither
    // validates nor escapes them per event).
    private static readonly JsonEncodedText NameKey = JsonEncodedText.Encode("name");
    private static readonly JsonEncodedText CatKey = JsonEncodedText.Encode("cat");
    private static readonly JsonEncodedText PhKey = JsonEncodedText.Encode("ph");
    private static readonly JsonEncodedText PidKey = JsonEncodedText.Encode("pid");
    private static readonly JsonEncodedText TidKey = JsonEncodedText.Encode("tid");
    private static readonly JsonEncodedText TsKey = JsonEncodedText.Encode("ts");

    // The names, categories, phases and argument keys of the events written per batch, request and sample, encoded once
    // too (JsonEncodedText escapes as the writer does: the same bytes).
    private static JsonEncodedText E(string text) => JsonEncodedText.Encode(text);
    private static readonly JsonEncodedText[] IterationNames = IterationNameTexts.Select(E).ToArray();
    private static readonly JsonEncodedText[] CommNamesEncoded = CommNames.Select(E).ToArray();
    private static readonly JsonEncodedText[] RequestPhaseNames = [E("request"), E("queued"), E("prefill"), E("decode")];
    private static readonly JsonEncodedText PpSendName = E("PP send"), RunningBatchName = E("running batch"), QueueDepthName = E("queue depth"),
        KvUtilizationName = E("KV utilization");
    private static readonly JsonEncodedText StageCat = E("stage"), CommCat = E("comm"), RequestCat = E("request"), CounterCat = E("counter");
    private static readonly JsonEncodedText CompletePh = E("X"), BeginPh = E("b"), EndPh = E("e"), CounterPh = E("C");
    private static readonly JsonEncodedText DurKey = E("dur"), ArgsKey = E("args"), IterationKey = E("iteration"), MicrobatchKey = E("microbatch"),
        BatchKey = E("batch"), PrefillTokensKey = E("prefill_tokens"), DecodeTokensKey = E("decode_tokens"), TokensKey = E("tokens"),
        IdKey = E("id"), RequestIdKey = E("request_id"), InputTokensKey = E("input_tokens"), GeneratedTokensKey = E("generated_tokens"),
        PreemptionsKey = E("preemptions"), SequencesKey = E("sequences"), RequestsKey = E("requests"), FractionKey = E("fraction");

    // The events written once per track or per fault.
    private void Begin(string name, string? cat, string ph, int pid, int tid, long ts) =>
        Begin(E(name), cat is null ? null : E(cat), E(ph), pid, tid, ts);

    private void Begin(JsonEncodedText name, JsonEncodedText? cat, JsonEncodedText ph, int pid, int tid, long ts)
    {
        _w.WriteStartObject();
        _w.WriteString(NameKey, name);
        if (cat is { } c) _w.WriteString(CatKey, c);
        _w.WriteString(PhKey, ph);
        _w.WriteNumber(PidKey, pid);
        _w.WriteNumber(TidKey, tid);
        _w.WriteNumber(TsKey, ts);
    }

    private void End()
    {
        _w.WriteEndObject();
        if (++_sinceFlush >= FlushEvery)
        {
            _w.Flush();
            _sinceFlush = 0;
        }
    }

    private static readonly JsonEncodedText ComputeMsKey = JsonEncodedText.Encode("compute_ms");
    private static readonly JsonEncodedText OverheadMsKey = JsonEncodedText.Encode("overhead_ms");
    private static readonly JsonEncodedText CommMsKey = JsonEncodedText.Encode("comm_ms");
    private static readonly JsonEncodedText AnalyticMsKey = JsonEncodedText.Encode("analytic_ms");

    private void WriteMs(JsonEncodedText name, long ns)
    {
        Span<byte> text = stackalloc byte[MetricFormat.MaxNsChars];
        _w.WritePropertyName(name);
        _w.WriteRawValue(text[..FormatMs(text, ns)], skipInputValidation: true);
    }

    /// <summary>
    /// Nanoseconds as the JSON number <c>decimal.Round(ns / 1_000_000m, 3)</c> writes (the timeline's ms arguments):
    /// a whole number of microseconds without trailing zeros ("1.5", "2"); otherwise rounded to the microsecond, half
    /// to even, with exactly 3 decimals ("1.230", "0.000"). Returns the bytes written (<paramref name="destination"/>
    /// at least <see cref="MetricFormat.MaxNsChars"/> long).
    /// </summary>
    // Implementation note: the decimal division and rounding cost 43 M instructions of the Azure replay (the timeline's
    // 200,000 events); the integer arithmetic below writes the same text (the quotient of a decimal division has the
    // fewest decimals that hold it exactly; rounding to 3 decimals keeps 3). Negative durations do not occur; they take
    // the decimal path, which also settles how it writes a negative zero.
    internal static int FormatMs(Span<byte> destination, long ns)
    {
        if (ns < 0)
        {
            decimal.Round(ns / 1_000_000m, 3).TryFormat(destination, out var written, default, System.Globalization.CultureInfo.InvariantCulture);
            return written;
        }
        var belowMicro = ns % 1000;
        if (belowMicro == 0) return MetricFormat.FormatNsTrimmed(destination, ns, 3);
        var micros = ns / 1000;
        if (belowMicro > 500 || (belowMicro == 500 && (micros & 1) == 1)) micros++;
        (micros / 1000).TryFormat(destination, out var n, default, System.Globalization.CultureInfo.InvariantCulture);
        destination[n++] = (byte)'.';
        var fraction = (int)(micros % 1000);
        destination[n++] = (byte)('0' + fraction / 100);
        destination[n++] = (byte)('0' + fraction / 10 % 10);
        destination[n++] = (byte)('0' + fraction % 10);
        return n;
    }
}
