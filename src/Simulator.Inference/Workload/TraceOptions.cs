namespace Simulator.Inference.Workload;

/// <summary>The request-trace file formats the simulator replays.</summary>
public enum TraceFormat
{
    /// <summary>Detect the format from the header (CSV) or the first line (JSONL).</summary>
    Auto,

    /// <summary>Azure LLM inference trace 2023: <c>TIMESTAMP,ContextTokens,GeneratedTokens</c>.</summary>
    Azure,

    /// <summary>Vidur request trace: <c>arrived_at</c> (s), <c>num_prefill_tokens</c>, <c>num_decode_tokens</c>.</summary>
    Vidur,

    /// <summary>Mooncake JSONL: <c>timestamp</c> (ms), <c>input_length</c>, <c>output_length</c>, <c>hash_ids</c>.</summary>
    Mooncake,

    /// <summary>BurstGPT CSV: <c>Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type</c>.</summary>
    BurstGpt,
}

/// <summary>What a trace reader does with a row whose output length is 0 (BurstGPT marks failed requests so).</summary>
public enum ZeroOutputPolicy
{
    /// <summary>Drop the row: a request that generated nothing is not served work (the default).</summary>
    Skip,

    /// <summary>Serve it as a request that generates one token (prefill plus the first token).</summary>
    One,

    /// <summary>Stop with a <see cref="WorkloadFormatException"/> naming the row.</summary>
    Error,
}

/// <summary>
/// How a trace is replayed. Times are measured from the trace's first row (offset 0). Rows with offset in
/// [<see cref="StartS"/>, <see cref="EndS"/>) are kept; a kept row arrives at
/// <c>(offset - StartS) x TimeScale</c>, so <see cref="TimeScale"/> multiplies inter-arrival times:
/// 2.0 replays twice as slowly (half the rate), 0.5 twice as fast. <see cref="Limit"/> caps the rows yielded.
/// </summary>
public sealed record TraceOptions
{
    /// <summary>Multiplies every inter-arrival time (0.5 = twice the request rate). Must be &gt; 0.</summary>
    public double TimeScale { get; init; } = 1.0;

    /// <summary>The most requests to yield (after the time window); null = all.</summary>
    public long? Limit { get; init; }

    /// <summary>Start of the window in trace seconds from the first row (inclusive).</summary>
    public double StartS { get; init; }

    /// <summary>End of the window in trace seconds from the first row (exclusive); null = to the end.</summary>
    public double? EndS { get; init; }

    /// <summary>What to do with rows that have 0 output tokens.</summary>
    public ZeroOutputPolicy ZeroOutput { get; init; } = ZeroOutputPolicy.Skip;

    /// <summary>The defaults: whole trace, real time, zero-output rows skipped.</summary>
    public static TraceOptions Default { get; } = new();
}
