namespace Simulator.Inference.Metrics;

/// <summary>
/// Which iteration rows a run writes (scenario keys <c>output.iterations</c>, <c>output.iterations_max_rows</c>).
/// <c>all</c>: every row. <c>none</c>: the header only. <c>auto</c> (the default): every row while the run has at most
/// <see cref="MaxRows"/> of them; beyond that, the first <see cref="MaxRows"/> / 2 rows in full and then a stride sample
/// of at most the other half (see <see cref="IterationSampler"/>).
/// </summary>
public sealed record IterationOutput(string Mode = "auto", long MaxRows = IterationOutput.DefaultMaxRows)
{
    /// <summary>The default bound of <c>auto</c>: runs up to this many iteration rows are written whole.</summary>
    public const long DefaultMaxRows = 100_000;

    /// <summary>The allowed modes.</summary>
    public static readonly IReadOnlyList<string> Modes = ["auto", "all", "none"];

    /// <summary>Every row, as before bounded outputs existed.</summary>
    public static IterationOutput All { get; } = new("all");
}

/// <summary>What iterations.csv kept of a run's iteration rows (summary.json <c>output.iterations</c>; absent when all were kept).</summary>
/// <param name="Mode">The <see cref="IterationOutput.Mode"/>.</param>
/// <param name="Rows">Iteration rows the run produced.</param>
/// <param name="Written">Rows written.</param>
/// <param name="FullRows">Rows written in full at the start (every row up to there).</param>
/// <param name="Stride">After them, only iterations whose per-replica number is a multiple of this were kept (0: none).</param>
public sealed record IterationsKept(string Mode, long Rows, long Written, long FullRows, long Stride);

/// <summary>
/// Decides which iteration rows are written. <c>auto</c>: the first half of the budget passes straight through; the
/// rows after it are held in a bounded buffer as a stride sample: a row is kept when its iteration number (per
/// replica) is a multiple of the stride, and when the buffer holds more than the other half of the budget the stride
/// doubles and the rows off the new stride are dropped. At the end the buffer is written after the head. A run that
/// never overflows the buffer (at most <see cref="IterationOutput.MaxRows"/> rows) is written exactly as with <c>all</c>.
/// </summary>
// Implementation note: sampling by iteration number, not by row, keeps every stage of a sampled iteration together
// (a PP replica's batch appears on each of its stages), and doubling the stride keeps the sample evenly spread over
// the whole run however long it gets, which a fixed stride cannot promise with a fixed budget. The head is what the
// report's stage timeline draws (the first iterations of each replica), so the charts are unchanged. Memory: the
// buffer holds at most MaxRows / 2 records (about 100 bytes each).
public sealed class IterationSampler
{
    private readonly IterationOutput _output;
    private readonly long _head;
    private readonly long _budget;
    // The mode, decided once (Offer runs once per iteration row).
    private readonly bool _all;
    private readonly bool _none;
    // Implementation note: an array and a count, not a List<HeldRow>: the list's methods over this struct are generic
    // instantiations that ReadyToRun does not precompile, so they ran as tier-0 JIT code (about 1.5% of the Azure replay).
    private HeldRow[] _held = [];
    private int _heldCount;
    private long _rows;
    private long _stride = 1;

    public IterationSampler(IterationOutput output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (!IterationOutput.Modes.Contains(output.Mode))
            throw new ArgumentException($"unknown iterations mode {output.Mode}; expected one of {string.Join(", ", IterationOutput.Modes)}", nameof(output));
        if (output.MaxRows < 2) throw new ArgumentException("iterations_max_rows must be at least 2", nameof(output));
        _output = output;
        _head = output.MaxRows / 2;
        _budget = output.MaxRows - _head;
        _all = output.Mode == "all";
        _none = output.Mode == "none";
    }

    /// <summary>Rows seen so far.</summary>
    public long Rows => _rows;

    /// <summary>Takes the next row; true when it is to be written now (the others are dropped or held for <see cref="Held"/>).</summary>
    public bool Offer(in IterationRecord r)
    {
        long index = _rows++;
        if (_all) return true;
        if (_none) return false;
        if (index < _head) return true;
        if (r.Iteration % _stride != 0) return false;
        if (_held.Length == 0) _held = new HeldRow[(int)Math.Min(_budget + 1, 1 << 20)]; // one buffer, grown only past 2^20 rows
        else if (_heldCount == _held.Length) Array.Resize(ref _held, 2 * _held.Length);
        _held[_heldCount++] = HeldRow.Of(r);
        // The stride stops growing once no iteration number could pass it (many replicas at one iteration number).
        while (_heldCount > _budget && _stride < 1L << 40)
        {
            _stride *= 2;
            int kept = 0;
            for (int i = 0; i < _heldCount; i++)
                if (_held[i].Iteration % _stride == 0) _held[kept++] = _held[i]; // in place, order kept
            _heldCount = kept;
        }
        return false;
    }

    /// <summary>The held sample, in the order the rows came (write them after the head, once the run is over).</summary>
    public IEnumerable<IterationRecord> Held
    {
        // Implementation note: an iterator of this assembly (precompiled), not Take/Select over the row structs (JIT-compiled).
        get
        {
            for (int i = 0; i < _heldCount; i++) yield return _held[i].ToRecord();
        }
    }

    /// <summary>What was kept, or null when every row was written.</summary>
    public IterationsKept? Kept()
    {
        long written = _output.Mode switch
        {
            "all" => _rows,
            "none" => 0,
            _ => Math.Min(_rows, _head) + _heldCount,
        };
        if (written == _rows) return null;
        return new IterationsKept(_output.Mode, _rows, written, Math.Min(_rows, _output.Mode == "none" ? 0 : _head), _output.Mode == "none" ? 0 : _stride);
    }
}

/// <summary>
/// An iteration row as held by the sampler: the written fields only, without the cost's breakdown and collectives, so
/// the buffer holds no references (the garbage collector never traces it) and costs about 100 bytes a row.
/// </summary>
internal readonly record struct HeldRow(int Replica, int Stage, long Iteration, int Microbatch, long StartNs, long EndNs,
    int BatchSize, int PrefillTokens, int DecodeTokens, long ComputeNs, long TpCommNs, long EpCommNs, long CpCommNs, long PpCommNs,
    long OverheadNs, int KvBlocksUsed)
{
    private static readonly IReadOnlyDictionary<string, double> NoBreakdown = new Dictionary<string, double>();

    public static HeldRow Of(in IterationRecord r) => new(r.Replica, r.Stage, r.Iteration, r.Microbatch, r.StartNs, r.EndNs,
        r.BatchSize, r.PrefillTokens, r.DecodeTokens, r.Cost.ComputeNs, r.Cost.TpCommNs, r.Cost.EpCommNs, r.Cost.CpCommNs,
        r.Cost.PpCommNs, r.Cost.OverheadNs, r.KvBlocksUsed);

    /// <summary>The row back as a record (its cost without breakdown or collectives: the writer reads neither).</summary>
    public IterationRecord ToRecord() => new(Replica, Stage, Iteration, Microbatch, StartNs, EndNs, BatchSize, PrefillTokens,
        DecodeTokens, new Cost.StageCost(ComputeNs, TpCommNs, EpCommNs, CpCommNs, PpCommNs, OverheadNs, NoBreakdown, []), KvBlocksUsed);
}
