using Parquet;
using Parquet.Schema;

namespace Simulator.Inference.Metrics;

/// <summary>The file format of the streamed run tables requests, iterations and timeseries (scenario key <c>output.format</c>).</summary>
public enum TableFormat
{
    /// <summary>Comma-separated text (<c>&lt;name&gt;.csv</c>), the default.</summary>
    Csv,

    /// <summary>Apache Parquet (<c>&lt;name&gt;.parquet</c>), typed columns, streamed in row groups.</summary>
    Parquet,
}

/// <summary>The stored type of a column: integers, doubles (written with a fixed number of decimals) or text.</summary>
public enum ColumnType { Int32, Int64, Double, String }

/// <summary>
/// One column of a run table. <see cref="Decimals"/> is the resolution of a <see cref="ColumnType.Double"/> column: the
/// decimals it is rounded to (6 for absolute times in s, 3 for durations in ms, 4 for fractions), which the CSV writes
/// without trailing zeros; a Parquet file stores the value the CSV text denotes, and <see cref="RunTables"/> formats it
/// back as the CSV does.
/// </summary>
public sealed record TableColumn(string Name, ColumnType Type, int Decimals = 0)
{
    /// <summary>An int32 column.</summary>
    public static TableColumn Int(string name) => new(name, ColumnType.Int32);

    /// <summary>An int64 column.</summary>
    public static TableColumn Long(string name) => new(name, ColumnType.Int64);

    /// <summary>An absolute time in seconds (6 decimals, from integer ns).</summary>
    public static TableColumn Seconds(string name) => new(name, ColumnType.Double, 6);

    /// <summary>A duration in milliseconds (3 decimals, from integer ns or a double).</summary>
    public static TableColumn Ms(string name) => new(name, ColumnType.Double, 3);

    /// <summary>A double with <paramref name="decimals"/> decimals.</summary>
    public static TableColumn Fixed(string name, int decimals) => new(name, ColumnType.Double, decimals);

    /// <summary>A text column.</summary>
    public static TableColumn Text(string name) => new(name, ColumnType.String);
}

/// <summary>
/// Streams one run table row by row, cell by cell in column order, as CSV or Parquet (<see cref="Open"/>).
/// Both formats hold the same values: the CSV text, and in Parquet the typed value that text denotes
/// (null where the CSV cell is empty). Memory is bounded: Parquet buffers one row group at a time.
/// </summary>
public abstract class TableWriter : IDisposable
{
    private int _cell;

    // Implementation note: the columns once more as arrays of their types and decimals, so the per-cell checks (Next,
    // Ns) index them directly instead of calling through IReadOnlyList and the column records for every cell; the
    // messages of the checks that fail are built out of line.
    private readonly TableColumn[] _columns;
    private readonly ColumnType[] _types;
    /// <summary>Each column's decimals (<see cref="TableColumn.Decimals"/>), by column index.</summary>
    private protected readonly int[] ColumnDecimals;

    /// <summary>Starts a table of <paramref name="columns"/>.</summary>
    protected TableWriter(IReadOnlyList<TableColumn> columns)
    {
        ArgumentNullException.ThrowIfNull(columns);
        if (columns.Count == 0) throw new ArgumentException("a table needs at least one column", nameof(columns));
        Columns = columns;
        _columns = columns.ToArray();
        _types = _columns.Select(c => c.Type).ToArray();
        ColumnDecimals = _columns.Select(c => c.Decimals).ToArray();
    }

    /// <summary>The columns, in file order.</summary>
    public IReadOnlyList<TableColumn> Columns { get; }

    /// <summary>Rows completed so far.</summary>
    public long Rows { get; private set; }

    /// <summary>The file name of table <paramref name="name"/> in <paramref name="format"/> (requests.csv, requests.parquet).</summary>
    public static string FileName(string name, TableFormat format) => name + (format == TableFormat.Parquet ? ".parquet" : ".csv");

    /// <summary>Opens a writer of <paramref name="format"/> on <paramref name="stream"/> (which it owns and closes).</summary>
    public static TableWriter Open(Stream stream, TableFormat format, IReadOnlyList<TableColumn> columns, int parquetRowGroupRows = ParquetTableWriter.DefaultRowGroupRows) =>
        format == TableFormat.Parquet ? OpenParquet(stream, columns, parquetRowGroupRows) : new CsvTableWriter(stream, columns);

    // Implementation note: a separate, never-inlined method, so a CSV run does not load Parquet.Net at all.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static TableWriter OpenParquet(Stream stream, IReadOnlyList<TableColumn> columns, int rowGroupRows) =>
        new ParquetTableWriter(stream, columns, rowGroupRows);

    /// <summary>The next cell: an integer (int32 or int64 column).</summary>
    public void Int(long value) => PutInt(Next(ColumnType.Int32, ColumnType.Int64), value);

    /// <summary>The next cell: nanoseconds written as seconds or ms to the microsecond (a double column of 6 or 3 decimals); null = empty.</summary>
    public void Ns(long? ns)
    {
        var i = Next(ColumnType.Double, ColumnType.Double);
        var decimals = ColumnDecimals[i];
        if (decimals is not (3 or 6)) ThrowNotNs(i);
        PutNs(i, ns, decimals);
    }

    /// <summary>The next cell: a double written with the column's decimals; null = empty.</summary>
    public void Double(double? value) => PutDouble(Next(ColumnType.Double, ColumnType.Double), value);

    /// <summary>The next cell: text.</summary>
    public void Text(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        PutText(Next(ColumnType.String, ColumnType.String), value);
    }

    /// <summary>Ends the row (every column must have been written).</summary>
    public void EndRow()
    {
        if (_cell != _columns.Length) throw new InvalidOperationException($"row {Rows} has {_cell} cells; the table has {_columns.Length} columns");
        _cell = 0;
        PutEndRow();
        Rows++;
    }

    /// <summary>
    /// The CSV cell writer under a plain CSV table, for rows written whole (<see cref="CsvCellWriter.BeginRow"/>, then
    /// <see cref="CountRow"/>): null for Parquet and for a table whose cells are also captured. The caller writes the
    /// table's columns in order, as the cell methods would.
    /// </summary>
    internal virtual CsvCellWriter? DirectCsv => null;

    /// <summary>Counts a row written whole through <see cref="DirectCsv"/>.</summary>
    internal void CountRow()
    {
        if (_cell != 0) throw new InvalidOperationException($"row {Rows} was started cell by cell and not ended");
        Rows++;
    }

    /// <summary>Completes the file (Parquet: the last row group and the footer) and closes the stream.</summary>
    public abstract void Dispose();

    private protected abstract void PutInt(int column, long value);
    private protected abstract void PutNs(int column, long? ns, int decimals);
    private protected abstract void PutDouble(int column, double? value);
    private protected abstract void PutText(int column, string value);
    private protected abstract void PutEndRow();

    private int Next(ColumnType a, ColumnType b)
    {
        var cell = _cell;
        if ((uint)cell >= (uint)_types.Length) ThrowTooManyCells();
        var type = _types[cell];
        if (type != a && type != b) ThrowWrongType(cell, a);
        _cell = cell + 1;
        return cell;
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void ThrowTooManyCells() => throw new InvalidOperationException($"row {Rows} has more cells than the table's {_columns.Length} columns");

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void ThrowWrongType(int cell, ColumnType expected) =>
        throw new InvalidOperationException($"column {_columns[cell].Name} is {_columns[cell].Type}, not {expected}");

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void ThrowNotNs(int cell) =>
        throw new InvalidOperationException($"column {_columns[cell].Name} has {ColumnDecimals[cell]} decimals; ns need 3 (ms) or 6 (s)");
}

/// <summary>
/// CSV: header row, LF line ends, invariant numbers (see <see cref="MetricFormat"/>), empty cells for nulls. Doubles are
/// rounded to the column's decimals and written without trailing zeros (<see cref="MetricFormat.TrimFraction"/>),
/// formatted straight into the output buffer as UTF-8 (<see cref="CsvCellWriter"/>): no string per cell.
/// </summary>
internal sealed class CsvTableWriter : TableWriter
{
    private readonly CsvCellWriter _csv;

    public CsvTableWriter(Stream stream, IReadOnlyList<TableColumn> columns) : base(columns)
    {
        _csv = new CsvCellWriter(stream);
        foreach (var c in columns) _csv.Text(c.Name);
        _csv.EndRecord();
    }

    private protected override void PutInt(int column, long value) => _csv.Integer(value);

    private protected override void PutNs(int column, long? ns, int decimals)
    {
        if (ns is { } v) _csv.Ns(v, decimals);
        else _csv.Empty();
    }

    private protected override void PutDouble(int column, double? value)
    {
        if (value is { } v) _csv.Fixed(v, ColumnDecimals[column]);
        else _csv.Empty();
    }

    private protected override void PutText(int column, string value) => _csv.Text(value);

    private protected override void PutEndRow() => _csv.EndRecord();

    internal override CsvCellWriter? DirectCsv => _csv;

    public override void Dispose() => _csv.Dispose();
}

/// <summary>
/// Parquet (Parquet.Net): one typed, nullable column per table column (int32, int64, double, UTF-8 string), rows
/// buffered into row groups of <see cref="RowGroupRows"/> and written as each fills, so memory does not grow with
/// the rows. The key-value metadata <see cref="DecimalsKey"/> records each double column's decimals, so a reader
/// can print cells exactly as the CSV does. No timestamp is written: the same rows give the same bytes.
/// </summary>
internal sealed class ParquetTableWriter : TableWriter
{
    /// <summary>Rows per row group unless told otherwise.</summary>
    public const int DefaultRowGroupRows = 65_536;

    /// <summary>The key-value metadata entry listing the decimals of the double columns ("name=6,other=3").</summary>
    public const string DecimalsKey = "simulator.decimals";

    private readonly Stream _stream;
    private readonly ParquetWriter _writer;
    private readonly DataField[] _fields;
    private readonly Array[] _buffers;
    private int _capacity;
    private int _row;
    private bool _disposed;

    public ParquetTableWriter(Stream stream, IReadOnlyList<TableColumn> columns, int rowGroupRows) : base(columns)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfLessThan(rowGroupRows, 1);
        RowGroupRows = rowGroupRows;
        _stream = stream;
        _fields = columns.Select(Field).ToArray();
        // Buffers start small and double up to a row group, so a short table costs little memory.
        _capacity = Math.Min(rowGroupRows, 1024);
        _buffers = columns.Select(c => Buffer(c.Type, _capacity)).ToArray();
        // Implementation note: Parquet.Net's API is asynchronous; the run writer is called from the simulation's
        // single thread, which has no synchronization context, so waiting on its tasks cannot deadlock.
        _writer = ParquetWriter.CreateAsync(new ParquetSchema(_fields), stream).GetAwaiter().GetResult();
        _writer.CustomMetadata = new Dictionary<string, string>
        {
            [DecimalsKey] = string.Join(",", columns.Where(c => c.Type == ColumnType.Double).Select(c => c.Name + "=" + MetricFormat.Integer(c.Decimals))),
        };
    }

    /// <summary>Rows per row group.</summary>
    public int RowGroupRows { get; }

    private static DataField Field(TableColumn c) => c.Type switch
    {
        ColumnType.Int32 => new DataField<int?>(c.Name),
        ColumnType.Int64 => new DataField<long?>(c.Name),
        ColumnType.Double => new DataField<double?>(c.Name),
        _ => new DataField<string>(c.Name, nullable: true),
    };

    private static Array Buffer(ColumnType type, int rows) => type switch
    {
        ColumnType.Int32 => new int?[rows],
        ColumnType.Int64 => new long?[rows],
        ColumnType.Double => new double?[rows],
        _ => new string?[rows],
    };

    private protected override void PutInt(int column, long value)
    {
        if (_buffers[column] is int?[] ints) ints[_row] = checked((int)value);
        else ((long?[])_buffers[column])[_row] = value;
    }

    // Integer microseconds / 10^decimals: the double nearest the CSV's decimal text (division is correctly rounded).
    private protected override void PutNs(int column, long? ns, int decimals) =>
        ((double?[])_buffers[column])[_row] = ns is { } v ? MetricFormat.RoundedMicros(v) / (decimals == 6 ? 1e6 : 1e3) : null;

    // The value the CSV's fixed-decimal text denotes, rounded as the text is.
    private protected override void PutDouble(int column, double? value) =>
        ((double?[])_buffers[column])[_row] = value is { } v ? MetricFormat.AsWritten(v, Columns[column].Decimals) : null;

    private protected override void PutText(int column, string value) => ((string?[])_buffers[column])[_row] = value;

    private protected override void PutEndRow()
    {
        if (++_row == RowGroupRows) Flush();
        else if (_row == _capacity) Grow(Math.Min(RowGroupRows, 2 * _capacity));
    }

    private void Grow(int capacity)
    {
        for (int i = 0; i < _buffers.Length; i++)
        {
            var grown = Buffer(Columns[i].Type, capacity);
            Array.Copy(_buffers[i], grown, _row);
            _buffers[i] = grown;
        }
        _capacity = capacity;
    }

    private void Flush()
    {
        if (_row == 0) return;
        using (var group = _writer.CreateRowGroup())
        {
            for (int i = 0; i < _fields.Length; i++)
            {
                var f = _fields[i];
                var task = _buffers[i] switch
                {
                    int?[] a => group.WriteAsync<int>(f, new ReadOnlyMemory<int?>(a, 0, _row)),
                    long?[] a => group.WriteAsync<long>(f, new ReadOnlyMemory<long?>(a, 0, _row)),
                    double?[] a => group.WriteAsync<double>(f, new ReadOnlyMemory<double?>(a, 0, _row)),
                    string?[] a => group.WriteAsync(f, new ArraySegment<string>(a!, 0, _row)),
                    _ => throw new InvalidOperationException("unknown column buffer"),
                };
                task.GetAwaiter().GetResult();
            }
            group.CompleteValidate();
        }
        _row = 0;
    }

    public override void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try
        {
            Flush();
        }
        finally
        {
            _writer.DisposeAsync().AsTask().GetAwaiter().GetResult();
            _stream.Dispose();
        }
    }
}
