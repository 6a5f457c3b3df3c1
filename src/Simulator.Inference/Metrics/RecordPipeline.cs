using System.Runtime.ExceptionServices;

namespace Simulator.Inference.Metrics;

/// <summary>
/// A recorder that hands every record to another recorder (the sink) on one writer thread, in the order they came:
/// the simulation's thread only copies each record into a batch, and the writer thread formats and writes them
/// while the simulation goes on, so a run's outputs cost the event loop almost nothing on a machine with a second core.
/// The sink sees the calls it would have seen directly, in the same order, so the files are byte-identical; an
/// iteration's cost reaches it without its breakdown and collectives (see <see cref="HeldRow"/>: no run table or the
/// timeline reads them).
/// </summary>
/// <remarks>
/// The first exception the sink throws (disk full, permission) stops the writing; the next hand-off, or
/// <see cref="Complete"/>, rethrows it on the simulation's thread unchanged, so callers report it as they would have
/// without the pipeline. <see cref="Dispose"/> without <see cref="Complete"/> drops what is still queued and stops the thread.
/// </remarks>
public sealed class RecordPipeline : IRunRecorder, IDisposable
{
    /// <summary>Records per batch unless told otherwise.</summary>
    public const int DefaultBatchRecords = 4096;

    /// <summary>Batches in flight unless told otherwise: one being filled, the rest queued or being written.</summary>
    public const int DefaultBatches = 4;

    private readonly IRunRecorder _sink;
    private readonly Batch[] _ring;
    private readonly SemaphoreSlim _free;
    private readonly SemaphoreSlim _filled = new(0);
    private readonly Thread _thread;
    private Batch _current;
    private long _produced;
    private volatile Exception? _failure;
    private volatile bool _abandoned;
    private bool _ended;

    /// <summary>Starts the writer thread that forwards records to <paramref name="sink"/>.</summary>
    public RecordPipeline(IRunRecorder sink, int batchRecords = DefaultBatchRecords, int batches = DefaultBatches)
    {
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchRecords, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batches, 2);
        _sink = sink;
        _ring = new Batch[batches];
        for (int i = 0; i < batches; i++) _ring[i] = new Batch(batchRecords);
        _free = new SemaphoreSlim(batches - 1);
        _current = _ring[0];
        _thread = new Thread(Consume) { IsBackground = true, Name = "run-writer" };
        _thread.Start();
    }

    /// <inheritdoc />
    public void OnIteration(in IterationRecord record)
    {
        var b = _current;
        b.Iterations[b.IterationCount++] = HeldRow.Of(record);
        Added(b, Kind.Iteration);
    }

    /// <inheritdoc />
    public void OnRequestFinished(RequestRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var b = _current;
        b.Requests[b.RequestCount++] = record;
        Added(b, Kind.Request);
    }

    /// <inheritdoc />
    public void OnSample(in ReplicaSample sample)
    {
        var b = _current;
        b.Samples[b.SampleCount++] = sample;
        Added(b, Kind.Sample);
    }

    /// <inheritdoc />
    public void OnTokenGaps(long gapNs, int count)
    {
        var b = _current;
        b.Gaps[b.GapCount++] = (gapNs, count);
        Added(b, Kind.TokenGaps);
    }

    /// <inheritdoc />
    public void OnFault(FaultRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var b = _current;
        b.Faults.Add(record);
        Added(b, Kind.Fault);
    }

    /// <summary>
    /// Hands over what is left, waits until the sink has seen every record and stops the thread; rethrows the sink's
    /// failure, if any. After it the sink may be used directly again (its state is visible to this thread).
    /// </summary>
    public void Complete()
    {
        End(abandon: false);
        if (_failure is { } failure) ExceptionDispatchInfo.Throw(failure);
    }

    /// <summary>Stops the thread; records not yet written are dropped (use <see cref="Complete"/> to keep them).</summary>
    public void Dispose()
    {
        End(abandon: true);
        _free.Dispose();
        _filled.Dispose();
    }

    private void End(bool abandon)
    {
        if (_ended) return;
        _ended = true;
        if (abandon) _abandoned = true;
        _current.Last = true;
        _filled.Release();
        _thread.Join();
    }

    private void Added(Batch b, Kind kind)
    {
        b.Kinds[b.Count++] = kind;
        if (b.Count == b.Kinds.Length) HandOver();
    }

    // Implementation note: the ring's batches are filled and written in the same order, so a single-producer,
    // single-consumer queue needs no more than two counting semaphores: _filled counts batches ready to write,
    // _free batches the producer may fill (the one it fills is not counted). A semaphore release and the matching
    // wait order the memory accesses, so the consumer sees a batch's records and the producer sees it emptied.
    private void HandOver()
    {
        if (_ended) throw new InvalidOperationException("the record pipeline has ended");
        _filled.Release();
        _produced++;
        _free.Wait();
        _current = _ring[_produced % _ring.Length];
        if (_failure is { } failure) ExceptionDispatchInfo.Throw(failure);
    }

    private void Consume()
    {
        for (long consumed = 0; ; consumed++)
        {
            _filled.Wait();
            var b = _ring[consumed % _ring.Length];
            if (_failure is null && !_abandoned)
            {
                try
                {
                    Write(b);
                }
                catch (Exception ex)
                {
                    _failure = ex;
                }
            }
            bool last = b.Last;
            b.Clear();
            if (last) return;
            _free.Release();
        }
    }

    private void Write(Batch b)
    {
        int iteration = 0, request = 0, sample = 0, gap = 0, fault = 0;
        for (int i = 0; i < b.Count; i++)
        {
            switch (b.Kinds[i])
            {
                case Kind.Iteration: _sink.OnIteration(b.Iterations[iteration++].ToRecord()); break;
                case Kind.Request: _sink.OnRequestFinished(b.Requests[request++]!); break;
                case Kind.Sample: _sink.OnSample(b.Samples[sample++]); break;
                case Kind.TokenGaps:
                    var (gapNs, count) = b.Gaps[gap++];
                    _sink.OnTokenGaps(gapNs, count);
                    break;
                default: _sink.OnFault(b.Faults[fault++]); break;
            }
        }
    }

    private enum Kind : byte { Iteration, Request, Sample, TokenGaps, Fault }

    // One batch: the kind of each record in arrival order, and the records in one array per kind (no boxing; the arrays
    // are reused batch after batch).
    // Implementation note: iterations are queued as HeldRow, their written fields without the cost object, and the
    // writer thread rebuilds the record with a bare cost (one small object that dies at once). Queuing the record
    // itself kept each iteration's cost, breakdown and collectives reachable from a long-lived array across
    // collections, so they were promoted instead of dying young: fleet-1m took some 8 s more CPU that way.
    private sealed class Batch(int records)
    {
        public readonly Kind[] Kinds = new Kind[records];
        public readonly HeldRow[] Iterations = new HeldRow[records];
        public readonly RequestRecord?[] Requests = new RequestRecord?[records];
        public readonly ReplicaSample[] Samples = new ReplicaSample[records];
        public readonly (long GapNs, int Count)[] Gaps = new (long, int)[records];
        public readonly List<FaultRecord> Faults = [];
        public int Count, IterationCount, RequestCount, SampleCount, GapCount;
        public bool Last;

        public void Clear()
        {
            // The requests are let go so the collector can take them; the value arrays are simply overwritten.
            Array.Clear(Requests, 0, RequestCount);
            Faults.Clear();
            Count = IterationCount = RequestCount = SampleCount = GapCount = 0;
            Last = false;
        }
    }
}
