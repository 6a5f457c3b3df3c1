using System.Globalization;
using CsvHelper;

namespace Simulator.Reports;

/// <summary>
/// A table of a run directory read by header name. Missing columns and empty cells read as NaN / empty,
/// so optional columns never break a report. A small table (gpus.csv, links.csv, sweep.csv, plan.csv...) keeps its
/// cells as invariant-culture text; a large one (requests, iterations, timeseries: <see cref="RunTables.Open"/>) keeps
/// each numeric column as one <c>double[]</c> parsed once while the file is read, and only its text columns as text
/// (one string per distinct value), so a million-request run costs 8 bytes a cell, not a string.
/// </summary>
public sealed class RunTable
{
    private readonly Dictionary<string, int> _index;
    private readonly IReadOnlyList<string[]>? _rows;   // text tables: every cell
    private readonly double[]?[]? _typed;               // typed tables: a numeric column's values (null for a text column)
    private readonly string[]?[]? _texts;               // typed tables: a text column's cells (null for a numeric column)
    private readonly bool[]? _skipped;                  // typed tables: columns checked but not kept (TableSchema.Keep)
    private readonly Dictionary<int, double[]> _numbers = new();
    private readonly Dictionary<int, bool> _hasNumbers = new();
    private IReadOnlyList<int>? _fieldCounts; // fields each CSV row really had (null for other sources)

    /// <summary>A table from its headers and rows (each row one cell per header, invariant-culture text).</summary>
    public RunTable(IReadOnlyList<string> headers, IReadOnlyList<string[]> rows)
    {
        Headers = headers;
        _rows = rows;
        RowCount = rows.Count;
        _index = Index(headers);
    }

    private RunTable(IReadOnlyList<string> headers, int rowCount, double[]?[] typed, string[]?[] texts, bool[] skipped)
    {
        Headers = headers;
        RowCount = rowCount;
        _typed = typed;
        _texts = texts;
        _skipped = skipped;
        _index = Index(headers);
    }

    private static Dictionary<string, int> Index(IReadOnlyList<string> headers)
    {
        var index = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < headers.Count; i++) index.TryAdd(headers[i].Trim(), i);
        return index;
    }

    /// <summary>Column names in file order.</summary>
    public IReadOnlyList<string> Headers { get; }

    /// <summary>Number of data rows.</summary>
    public int RowCount { get; }

    /// <summary>Reads a CSV or Parquet table file (by its extension) as text cells; null when it does not exist.</summary>
    public static RunTable? TryReadFile(string path)
    {
        if (!File.Exists(path)) return null;
        // Implementation note: the field counts come from the CSV reader itself; reading the file a second time for
        // them cost a string of twice the file's size (246 MB for a million-request requests.csv) and a pass over it.
        var table = Simulator.Inference.Metrics.RunTables.ReadFile(path);
        var counts = table.FieldCounts;
        return new RunTable(table.Columns, table.Rows) { _fieldCounts = counts?.Count == table.Rows.Count ? counts : null };
    }

    /// <summary>
    /// Reads a CSV or Parquet table file (by its extension) into typed columns: the columns named in
    /// <paramref name="schema"/>'s text columns, and any column with a cell that is not a number, keep text; every other
    /// column becomes a <c>double[]</c> (NaN for an empty cell). With <see cref="TableSchema.Check"/> set, every row is
    /// checked as <see cref="EnsureWellFormed"/> does, while it is read. Null when the file does not exist.
    /// </summary>
    public static RunTable? TryReadTyped(string path, TableSchema schema)
    {
        if (!File.Exists(path)) return null;
        return path.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase) ? ReadTypedRows(path, schema) : ReadTypedCsv(path, schema);
    }

    private static RunTable ReadTypedCsv(string path, TableSchema schema)
    {
        var options = CsvReaderOptions.Default with
        {
            MissingField = CsvMissingFieldHandling.ReturnEmpty,
            FieldCountMismatch = CsvFieldCountHandling.Allow,
            FormatProvider = CultureInfo.InvariantCulture,
            PoolStrings = true,
        };
        var capacity = Math.Max(0, LineCount(path) - 1);
        using var reader = CsvReader.FromFile(path, options);
        var headers = reader.Headers.ToArray();
        var columns = TypedColumns(headers, schema, capacity);
        var row = 0;
        while (reader.Read())
        {
            var fields = reader.FieldCount;
            if (schema.Check && fields != headers.Length) throw TableSchema.IncompleteRow(path, row, fields, headers.Length);
            for (var c = 0; c < columns.Length; c++)
            {
                var column = columns[c];
                if (column.Skipped && !schema.Check) continue; // neither kept nor checked: not even parsed
                if (column.IsText) column.AddText(path, row, c < fields ? reader.GetString(c) : "");
                else if (c >= fields) column.AddEmpty();
                else
                {
                    var span = reader.GetSpan(c);
                    if (span.Length == 0) column.AddEmpty();
                    else if (double.TryParse(span, NumberStyles.Float, CultureInfo.InvariantCulture, out var v)) column.AddNumber(v);
                    else column.AddText(path, row, reader.GetString(c));
                }
            }
            row++;
        }
        return Build(headers, row, columns);
    }

    /// <summary>
    /// The lines of a file (line feeds, plus a last line without one): at least its CSV records plus the header, so the
    /// columns are allocated once at their final length.
    /// </summary>
    // Implementation note: growing each column by doubling and trimming it at the end left twice the table's size of
    // dead arrays on the large-object heap (fleet-1m's report peaked at 0.60 GB); counting line feeds first costs one
    // read of the file from the page cache (a few tens of ms for 123 MB) and no strings. A quoted line break only
    // makes the count larger: the column is trimmed then.
    private static int LineCount(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16, FileOptions.SequentialScan);
        var buffer = new byte[1 << 16];
        long lines = 0;
        var last = (byte)'\n';
        int read;
        while ((read = stream.Read(buffer)) > 0)
        {
            lines += buffer.AsSpan(0, read).Count((byte)'\n');
            last = buffer[read - 1];
        }
        if (last != '\n') lines++;
        return (int)Math.Min(lines, Array.MaxLength);
    }

    /// <summary>Parquet: the rows come as the CSV text of the same run (<see cref="Simulator.Inference.Metrics.RunTables.Stream"/>),
    /// so a report reads the same numbers from either format; each row's strings are dropped once parsed.</summary>
    private static RunTable ReadTypedRows(string path, TableSchema schema)
    {
        var columns = TypedColumns(ParquetColumnNames(path), schema);
        var row = 0;
        var headers = Simulator.Inference.Metrics.RunTables.Stream(path, cells =>
        {
            for (var c = 0; c < columns.Length; c++) columns[c].Add(path, row, c < cells.Length ? cells[c] : "");
            row++;
        });
        return Build(headers, row, columns);
    }

    /// <summary>The column names of a Parquet file, from its footer (before any row is read).</summary>
    private static string[] ParquetColumnNames(string path)
    {
        // Implementation note: Parquet.Net is asynchronous; the report runs without a synchronization context, so
        // blocking on its tasks is safe (as Simulator.Inference.Metrics.RunTables does).
        var reader = Parquet.ParquetReader.CreateAsync(path).GetAwaiter().GetResult();
        try
        {
            return reader.Schema.GetDataFields().Select(f => f.Name).ToArray();
        }
        finally
        {
            reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>
    /// A table its writer kept in memory (<see cref="Simulator.Inference.Metrics.CapturedTable"/>), read as
    /// <see cref="TryReadTyped"/> reads the file it wrote: the same columns, numbers and text, each cell through the same
    /// typed column (text cells checked by <paramref name="schema"/>, errors naming <paramref name="path"/>). Null when the
    /// capture lacks a column the schema keeps, or was not captured for the run directory holding <paramref name="path"/>
    /// (the caller then reads the file).
    /// </summary>
    public static RunTable? FromCaptured(Simulator.Inference.Metrics.CapturedTable table, TableSchema schema, string path)
    {
        if (!SameDirectory(table.Directory, Path.GetDirectoryName(Path.GetFullPath(path)))) return null;
        // A numeric column takes the kept array itself (AddNumbers): room is allocated only for the text columns.
        var columns = table.Headers.Select((h, c) => new TypedColumn(h.Trim(), schema,
            table.Numbers(c) is null || TypedColumn.IsDeclaredText(h.Trim(), schema) ? table.RowCount : 0)).ToArray();
        for (var c = 0; c < columns.Length; c++)
            if (!columns[c].Skipped && !table.IsKept(c)) return null;
        for (var c = 0; c < columns.Length; c++)
        {
            var column = columns[c];
            if (column.Skipped) continue;
            if (table.Numbers(c) is { } numbers)
            {
                // A numeric column the schema reads as text gets the writer's text of each value ("0.00001"), as from the
                // file, never the double's round-trip text ("1E-05").
                if (column.IsText)
                    for (var r = 0; r < numbers.Length; r++) column.Add(path, r, table.CellText(c, numbers[r]));
                else column.AddNumbers(numbers);
            }
            else
            {
                var texts = table.Texts(c)!;
                for (var r = 0; r < texts.Length; r++) column.Add(path, r, texts[r]);
            }
        }
        return Build(table.Headers, table.RowCount, columns);
    }

    private static bool SameDirectory(string a, string? b) =>
        b is not null && string.Equals(Path.TrimEndingDirectorySeparator(Path.GetFullPath(a)), Path.TrimEndingDirectorySeparator(b),
            OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);

    private static TypedColumn[] TypedColumns(IReadOnlyList<string> headers, TableSchema schema, int capacity = 1024) =>
        headers.Select(h => new TypedColumn(h.Trim(), schema, capacity)).ToArray();

    private static RunTable Build(IReadOnlyList<string> headers, int rows, TypedColumn[] columns) =>
        new(headers, rows, columns.Select(c => c.Numbers(rows)).ToArray(), columns.Select(c => c.Texts(rows)).ToArray(),
            columns.Select(c => c.Skipped).ToArray());

    /// <summary>Whether the column exists.</summary>
    public bool Has(string column) => _index.ContainsKey(column);

    /// <summary>
    /// Checks a table the simulator wrote: every cell of a column not in <paramref name="textColumns"/> is a number or
    /// empty, and <paramref name="allowed"/> columns hold one of their values. A corrupt or truncated file throws
    /// <see cref="ReportInputException"/> naming the file, the line (header = line 1) and the column.
    /// </summary>
    public void EnsureWellFormed(string path, IReadOnlyCollection<string> textColumns, IReadOnlyDictionary<string, IReadOnlyList<string>> allowed)
    {
        var schema = new TableSchema(textColumns, allowed, Check: true);
        var columns = Headers.Select(h => h.Trim()).ToArray();
        for (var r = 0; r < RowCount; r++)
        {
            if (_fieldCounts is { } counts && counts[r] != Headers.Count) throw TableSchema.IncompleteRow(path, r, counts[r], Headers.Count);
            for (var c = 0; c < Headers.Count; c++)
                schema.CheckCell(path, r, columns[c], CellText(r, c));
        }
    }

    /// <summary>Whether the column exists and at least one row has a number in it.</summary>
    public bool HasNumbers(string column)
    {
        if (!_index.TryGetValue(column, out var i)) return false;
        if (!_hasNumbers.TryGetValue(i, out var has)) _hasNumbers[i] = has = Numbers(column).Any(double.IsFinite);
        return has;
    }

    /// <summary>
    /// The cell as text ("" when the column is missing). A typed table's numeric column gives its number back in
    /// invariant round-trip form ("" for an empty cell): for the integers and trimmed decimals the simulator writes,
    /// the text of the file.
    /// </summary>
    public string Text(int row, string column) => _index.TryGetValue(column, out var i) ? CellText(row, i) : "";

    private string CellText(int row, int column)
    {
        if (_rows is not null) return _rows[row][column];
        EnsureKept(column);
        if (_texts![column] is { } texts) return texts[row];
        var v = _typed![column]![row];
        return double.IsNaN(v) ? "" : v.ToString("R", CultureInfo.InvariantCulture);
    }

    /// <summary>A column the schema did not keep is a mistake in the report's code, not in the file: say which list to add it to.</summary>
    private void EnsureKept(int column)
    {
        if (_skipped?[column] == true)
            throw new InvalidOperationException($"column {Headers[column]} was checked but not kept: add it to the columns this table's TableSchema keeps");
    }

    /// <summary>The cell as a number (NaN when missing, empty or not a number).</summary>
    public double Number(int row, string column) => _index.TryGetValue(column, out var i) ? Numbers(i)[row] : double.NaN;

    /// <summary>A whole column as numbers (NaN where a cell is not a number); parsed once per column.</summary>
    public double[] Numbers(string column) =>
        _index.TryGetValue(column, out var i) ? Numbers(i) : Enumerable.Repeat(double.NaN, RowCount).ToArray();

    private double[] Numbers(int i)
    {
        if (_typed?[i] is { } typed) return typed;
        EnsureKept(i);
        if (_numbers.TryGetValue(i, out var cached)) return cached;
        var parsed = new double[RowCount];
        for (var r = 0; r < RowCount; r++)
            parsed[r] = double.TryParse(CellText(r, i), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : double.NaN;
        _numbers[i] = parsed;
        return parsed;
    }
}

/// <summary>
/// What a typed read of a table expects: the columns kept as text, the values some columns may hold, whether each
/// row is checked (<see cref="RunTable.EnsureWellFormed"/>'s rules and messages) as it is read, and the columns kept in
/// memory (<see cref="Keep"/>; null keeps all): a column left out is still checked, and reading it throws.
/// </summary>
public sealed record TableSchema(IReadOnlyCollection<string> TextColumns, IReadOnlyDictionary<string, IReadOnlyList<string>> Allowed, bool Check)
{
    /// <summary>The columns held after the read (null: every column).</summary>
    public IReadOnlyCollection<string>? Keep { get; init; }

    /// <summary>No text columns declared, nothing checked: columns are numbers unless a cell says otherwise.</summary>
    public static readonly TableSchema Loose = new(Array.Empty<string>(), new Dictionary<string, IReadOnlyList<string>>(), Check: false);

    /// <summary>The error for data row <paramref name="row"/> (0 = line 2) with a field count other than the header's.</summary>
    public static ReportInputException IncompleteRow(string path, int row, int fields, int headerFields) =>
        new($"{path}:{row + 2}: row: has {fields} fields but the header has {headerFields}; expected complete rows (is the file corrupt or cut short?)");

    /// <summary>Throws <see cref="ReportInputException"/> for a cell the schema does not allow (row 0 = line 2).</summary>
    public void CheckCell(string path, int row, string column, string cell)
    {
        if (Allowed.TryGetValue(column, out var values))
        {
            if (!values.Contains(cell))
                throw new ReportInputException($"{path}:{row + 2}: {column}: got '{cell}'; expected one of {string.Join(" | ", values)} (is the file corrupt or cut short?)");
        }
        else if (!TextColumns.Contains(column) && cell.Length > 0
            && !double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
        {
            throw new ReportInputException($"{path}:{row + 2}: {column}: got '{cell}'; expected a number or an empty cell (is the file corrupt?)");
        }
    }
}

/// <summary>One column of a typed read while the file streams by: numbers until a cell is text (or the schema says text).</summary>
internal sealed class TypedColumn
{
    private readonly string _name;
    private readonly TableSchema _schema;
    private double[] _numbers;
    private string[]? _texts;
    private Dictionary<string, string>? _pool;
    private int _count;
    private readonly bool _declaredText;

    /// <summary>A column named <paramref name="name"/> with room for <paramref name="capacity"/> cells (it grows past them).</summary>
    public TypedColumn(string name, TableSchema schema, int capacity)
    {
        _name = name;
        _schema = schema;
        Skipped = schema.Keep is { } keep && !keep.Contains(name);
        _declaredText = IsDeclaredText(name, schema);
        _numbers = Skipped ? [] : new double[Math.Max(capacity, 16)];
        if (!Skipped && _declaredText) StartText();
    }

    /// <summary>Whether the column is only checked, not kept (<see cref="TableSchema.Keep"/>).</summary>
    public bool Skipped { get; }

    internal static bool IsDeclaredText(string name, TableSchema schema) => schema.TextColumns.Contains(name) || schema.Allowed.ContainsKey(name);

    /// <summary>Whether the column reads its cells as text (a declared text column is checked as one even when not kept).</summary>
    public bool IsText => _texts is not null || (Skipped && _declaredText);

    /// <summary>Adds a cell given as text.</summary>
    public void Add(string path, int row, string cell)
    {
        if (IsText) AddText(path, row, cell);
        else if (cell.Length == 0) AddEmpty();
        else if (double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out var v)) AddNumber(v);
        else AddText(path, row, cell);
    }

    public void AddEmpty() => AddNumber(double.NaN);

    /// <summary>Adds a run of numbers; a numeric column still empty takes the array itself (it must not change afterwards).</summary>
    public void AddNumbers(double[] values)
    {
        if (Skipped) return;
        if (_count == 0 && !IsText)
        {
            _numbers = values;
            _count = values.Length;
            return;
        }
        foreach (var v in values) AddNumber(v);
    }

    public void AddNumber(double v)
    {
        if (Skipped) return;
        if (IsText) { AddTextCell(double.IsNaN(v) ? "" : v.ToString("R", CultureInfo.InvariantCulture)); return; }
        if (_count == _numbers.Length) Array.Resize(ref _numbers, _numbers.Length * 2);
        _numbers[_count++] = v;
    }

    /// <summary>Adds a text cell, checked against the schema; a numeric column turns into a text column.</summary>
    public void AddText(string path, int row, string cell)
    {
        if (_schema.Check) _schema.CheckCell(path, row, _name, cell);
        if (Skipped) return;
        if (!IsText) StartText();
        AddTextCell(cell);
    }

    private void AddTextCell(string cell)
    {
        if (_count == _texts!.Length) Array.Resize(ref _texts, _texts.Length * 2);
        if (!_pool!.TryGetValue(cell, out var pooled)) _pool[cell] = pooled = cell;
        _texts[_count++] = pooled;
    }

    // Implementation note: a column the schema does not name as text turns text at its first non-number; the numbers
    // before it become their round-trip text. The simulator's own text columns are declared, so this only happens
    // to a column added since (the report then still reads it, as before, through Text and Number).
    private void StartText()
    {
        _pool = new Dictionary<string, string>(StringComparer.Ordinal);
        var texts = new string[Math.Max(_numbers.Length, 16)];
        var count = _count;
        _texts = texts;
        _count = 0;
        for (var r = 0; r < count; r++) AddTextCell(double.IsNaN(_numbers[r]) ? "" : _numbers[r].ToString("R", CultureInfo.InvariantCulture));
        _numbers = [];
    }

    /// <summary>The numbers (null for a text column), exactly <paramref name="rows"/> long.</summary>
    public double[]? Numbers(int rows) => IsText || Skipped ? null : Exact(_numbers, rows, double.NaN);

    /// <summary>The text cells (null for a numeric column), exactly <paramref name="rows"/> long.</summary>
    public string[]? Texts(int rows) => _texts is not null ? Exact(_texts, rows, "") : null;

    private static T[] Exact<T>(T[] values, int rows, T missing)
    {
        if (values.Length == rows) return values;
        var exact = new T[rows];
        Array.Copy(values, exact, Math.Min(rows, values.Length));
        for (var r = Math.Min(rows, values.Length); r < rows; r++) exact[r] = missing;
        return exact;
    }
}

/// <summary>
/// Opens the per-request, per-iteration and per-interval tables of a run directory. Every read of
/// <c>requests</c>, <c>iterations</c> and <c>timeseries</c> goes through <see cref="Open"/>, so another
/// file format (e.g. <c>output.format: parquet</c>) is one more branch here and nowhere else.
/// </summary>
public static class RunTables
{
    /// <summary>The table named <paramref name="table"/> ("requests", "iterations", "timeseries") of a run directory,
    /// as <c>.csv</c> or <c>.parquet</c> (<c>output.format</c>), in typed columns; null when absent.</summary>
    public static RunTable? Open(string runDir, string table, TableSchema? schema = null) =>
        Simulator.Inference.Metrics.RunTables.Find(runDir, table) is { } path ? RunTable.TryReadTyped(path, schema ?? TableSchema.Loose) : null;
}
