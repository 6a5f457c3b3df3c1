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
/// (numeric columns as the double a reader of the CSV text gets, NaN for an empty cell; text columns as their text).
/// </summary>
public sealed class CapturedTable
{
    private readonly double[]?[] _numbers;
    private readonly string[]?[] _texts;

    internal CapturedTable(IReadOnlyList<string> headers, int rows, double[]?[] numbers, string[]?[] texts)
    {
        Headers = headers;
        RowCount = rows;
        _numbers = numbers;
        _texts = texts;
    }

    /// <summary>Every column name, in file order (kept or not).</summary>
    public IReadOnlyList<string> Headers { get; }

    /// <summary>Rows written.</summary>
    public int RowCount { get; }

    /// <summary>Whether column <paramref name="column"/> (by position) was kept.</summary>
    public bool IsKept(int column) => _numbers[column] is not null || _texts[column] is not null;

    /// <summary>A kept numeric column's values (exactly <see cref="RowCount"/> long); null for a text or dropped column.</summary>
    public double[]? Numbers(int column) => _numbers[column];

    /// <summary>A kept text column's cells (exactly <see cref="RowCount"/> long); null for a numeric or dropped column.</summary>
    public string[]? Texts(int column) => _texts[column];
}

/// <summary>
/// A <see cref="TableWriter"/> that passes every cell on to the writer of the file and keeps the kept columns' values
/// (<see cref="CapturedTable"/>): an integer as itself, nanoseconds and doubles as the value their CSV text denotes, as
/// <see cref="ParquetTableWriter"/> stores them.
/// </summary>
internal sealed class CapturingTableWriter : TableWriter
{
    private readonly TableWriter _file;
    private readonly double[]?[] _numbers;
    private readonly string[]?[] _texts;
    private int _row;

    public CapturingTableWriter(TableWriter file, IReadOnlyCollection<string>? keep) : base(file.Columns)
    {
        _file = file;
        var columns = file.Columns;
        _numbers = new double[]?[columns.Count];
        _texts = new string[]?[columns.Count];
        for (var c = 0; c < columns.Count; c++)
        {
            if (keep is not null && !keep.Contains(columns[c].Name)) continue;
            if (columns[c].Type == ColumnType.String) _texts[c] = new string[64];
            else _numbers[c] = new double[64];
        }
    }

    /// <summary>The values kept so far (all of them once the table is complete).</summary>
    public CapturedTable Captured() =>
        new(Columns.Select(c => c.Name).ToArray(), _row, _numbers.Select(a => a is null ? null : Exact(a, _row)).ToArray(),
            _texts.Select(a => a is null ? null : Exact(a, _row)).ToArray());

    private static T[] Exact<T>(T[] values, int rows) => values.Length == rows ? values : values[..rows];

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
        if (_texts[column] is not { } texts) return;
        if (_row == texts.Length) _texts[column] = texts = Grown(texts);
        texts[_row] = value;
    }

    private void Keep(int column, double value)
    {
        if (_numbers[column] is not { } numbers) return;
        if (_row == numbers.Length) _numbers[column] = numbers = Grown(numbers);
        numbers[_row] = value;
    }

    private static T[] Grown<T>(T[] values)
    {
        var grown = new T[values.Length * 2];
        values.CopyTo(grown, 0);
        return grown;
    }

    private protected override void PutEndRow()
    {
        _file.EndRow();
        _row++;
    }

    public override void Dispose() => _file.Dispose();
}
