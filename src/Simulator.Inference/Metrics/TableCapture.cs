namespace Simulator.Inference.Metrics;

/// <summary>
/// Which columns of the streamed run tables (requests, iterations, timeseries) a <see cref="RunDirectoryWriter"/> keeps in
/// memory while it writes them (<see cref="RunWriterOptions.Capture"/>), so that a reader in the same process (the report
/// of <c>sim run</c>) gets the values without reading the files back. Tables not named are not kept.
/// </summary>
/// <param name="Columns">Kept columns by table name ("requests"); a null list keeps every column of that table.</param>
public sealed record TableCapture(IReadOnlyDictionary<string, IReadOnlyCollection<string>?> Columns)
{
    /// <summary>Whether table <paramref name="table"/> is kept, and which of its columns (null: all).</summary>
    public bool Keeps(string table, out IReadOnlyCollection<string>? columns) => Columns.TryGetValue(table, out columns);
}

/// <summary>
/// A run table as its writer wrote it: every header, and for each kept column the value each cell denotes, row by row
/// (numeric columns as the double a reader of the CSV text gets, NaN for an empty cell; text columns as their text),
/// and the run directory it was written for (<see cref="Directory"/>).
/// </summary>
public sealed class CapturedTable
{
    private readonly IReadOnlyList<TableColumn> _columns;
    private readonly double[]?[] _numbers;
    private readonly string[]?[] _texts;

    internal CapturedTable(IReadOnlyList<TableColumn> columns, string directory, int rows, double[]?[] numbers, string[]?[] texts)
    {
        _columns = columns;
        Headers = columns.Select(c => c.Name).ToArray();
        Directory = directory;
        RowCount = rows;
        _numbers = numbers;
        _texts = texts;
    }

    /// <summary>Every column name, in file order (kept or not).</summary>
    public IReadOnlyList<string> Headers { get; }

    /// <summary>The full path of the run directory whose file holds these values (<see cref="RunDirectoryWriter.OutputDirectory"/>).</summary>
    public string Directory { get; }

    /// <summary>Rows written.</summary>
    public int RowCount { get; }

    /// <summary>Whether column <paramref name="column"/> (by position) was kept.</summary>
    public bool IsKept(int column) => _numbers[column] is not null || _texts[column] is not null;

    /// <summary>A kept numeric column's values (exactly <see cref="RowCount"/> long); null for a text or dropped column.</summary>
    public double[]? Numbers(int column) => _numbers[column];

    /// <summary>A kept text column's cells (exactly <see cref="RowCount"/> long); null for a numeric or dropped column.</summary>
    public string[]? Texts(int column) => _texts[column];

    /// <summary>
    /// The CSV text the writer wrote for value <paramref name="value"/> of numeric column <paramref name="column"/>
    /// ("" for NaN, an empty cell): integers whole, times and doubles to the column's decimals without trailing zeros
    /// ("0.00001", never "1E-05").
    /// </summary>
    public string CellText(int column, double value) =>
        double.IsNaN(value) ? "" : MetricFormat.FixedTrimmed(value, _columns[column].Type == ColumnType.Double ? _columns[column].Decimals : 0);
}

/// <summary>
/// A <see cref="TableWriter"/> that passes every cell on to the writer of the file and keeps the kept columns' values
/// (<see cref="CapturedTable"/>): an integer as itself, nanoseconds and doubles as the value their CSV text denotes, as
/// <see cref="ParquetTableWriter"/> stores them.
/// </summary>
// Implementation note: each kept column grows in chunks of ChunkRows cells (64 KB, below the large-object heap) and is
// copied once, into an array of exactly the rows written, when the table is taken (Take): a column that doubled from 64
// held up to twice its rows, left as much again in dead arrays, and was copied a third time to its exact length (fleet-1m
// with its report: 448 -> 476 MB peak). Take drops each column's chunks as it copies them.
internal sealed class CapturingTableWriter : TableWriter
{
    internal const int ChunkRows = 8192;

    private readonly TableWriter _file;
    private readonly List<double[]>?[] _numbers;
    private readonly List<string[]>?[] _texts;
    private int _row;

    public CapturingTableWriter(TableWriter file, IReadOnlyCollection<string>? keep) : base(file.Columns)
    {
        _file = file;
        var columns = file.Columns;
        _numbers = new List<double[]>?[columns.Count];
        _texts = new List<string[]>?[columns.Count];
        for (var c = 0; c < columns.Count; c++)
        {
            if (keep is not null && !keep.Contains(columns[c].Name)) continue;
            if (columns[c].Type == ColumnType.String) _texts[c] = [];
            else _numbers[c] = [];
        }
    }

    /// <summary>
    /// The values kept (all of them once the table is complete), for run directory <paramref name="directory"/>; the
    /// writer lets go of them (a second call throws).
    /// </summary>
    public CapturedTable Take(string directory)
    {
        if (_taken) throw new InvalidOperationException("the captured table was already taken");
        _taken = true;
        var numbers = new double[]?[_numbers.Length];
        var texts = new string[]?[_texts.Length];
        for (var c = 0; c < _numbers.Length; c++)
        {
            if (_numbers[c] is { } n) numbers[c] = Joined(n, _row);
            if (_texts[c] is { } t) texts[c] = Joined(t, _row);
            _numbers[c] = null;
            _texts[c] = null;
        }
        return new CapturedTable(Columns, directory, _row, numbers, texts);
    }

    private bool _taken;

    private static T[] Joined<T>(List<T[]> chunks, int rows)
    {
        var all = new T[rows];
        for (var i = 0; i < chunks.Count; i++)
        {
            var start = i * ChunkRows;
            Array.Copy(chunks[i], 0, all, start, Math.Min(ChunkRows, rows - start));
            chunks[i] = null!;
        }
        chunks.Clear();
        return all;
    }

    private protected override void PutInt(int column, long value)
    {
        _file.Int(value);
        Keep(column, value);
    }

    // Integer microseconds / 10^decimals: the double nearest the CSV's decimal text (as ParquetTableWriter.PutNs).
    private protected override void PutNs(int column, long? ns, int decimals)
    {
        _file.Ns(ns);
        Keep(column, ns is { } v ? MetricFormat.RoundedMicros(v) / (decimals == 6 ? 1e6 : 1e3) : double.NaN);
    }

    private protected override void PutDouble(int column, double? value)
    {
        _file.Double(value);
        Keep(column, value is { } v ? MetricFormat.AsWritten(v, Columns[column].Decimals) : double.NaN);
    }

    private protected override void PutText(int column, string value)
    {
        _file.Text(value);
        if (_texts[column] is { } texts) Slot(texts) = value;
    }

    private void Keep(int column, double value)
    {
        if (_numbers[column] is { } numbers) Slot(numbers) = value;
    }

    /// <summary>The cell of the current row in a column's chunks (a new chunk at each <see cref="ChunkRows"/>).</summary>
    private ref T Slot<T>(List<T[]> chunks)
    {
        var (chunk, at) = Math.DivRem(_row, ChunkRows);
        if (chunk == chunks.Count) chunks.Add(new T[ChunkRows]);
        return ref chunks[chunk][at];
    }

    private protected override void PutEndRow()
    {
        _file.EndRow();
        _row++;
    }

    public override void Dispose() => _file.Dispose();
}
