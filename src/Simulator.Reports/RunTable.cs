using System.Globalization;

namespace Simulator.Reports;

/// <summary>
/// A table of a run directory read by header name. Missing columns and empty cells read as NaN / empty,
/// so optional columns never break a report. Cells are kept as invariant-culture text: whatever the file
/// format (CSV or Parquet), a reader fills one of these and every chart reads it the same way.
/// </summary>
public sealed class RunTable
{
    private readonly Dictionary<string, int> _index;
    private readonly IReadOnlyList<string[]> _rows;
    private readonly Dictionary<int, double[]> _numbers = new();
    private IReadOnlyList<int>? _fieldCounts; // fields each CSV row really had (null for other sources)

    /// <summary>A table from its headers and rows (each row one cell per header, invariant-culture text).</summary>
    public RunTable(IReadOnlyList<string> headers, IReadOnlyList<string[]> rows)
    {
        Headers = headers;
        _rows = rows;
        _index = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < headers.Count; i++) _index.TryAdd(headers[i].Trim(), i);
    }

    /// <summary>Column names in file order.</summary>
    public IReadOnlyList<string> Headers { get; }

    /// <summary>Number of data rows.</summary>
    public int RowCount => _rows.Count;

    /// <summary>Reads a CSV or Parquet table file (by its extension); null when it does not exist.</summary>
    public static RunTable? TryReadFile(string path)
    {
        if (!File.Exists(path)) return null;
        // Implementation note: the field counts come from the CSV reader itself; reading the file a second time for
        // them cost a string of twice the file's size (246 MB for a million-request requests.csv) and a pass over it.
        var table = Simulator.Inference.Metrics.RunTables.ReadFile(path);
        var counts = table.FieldCounts;
        return new RunTable(table.Columns, table.Rows) { _fieldCounts = counts?.Count == table.Rows.Count ? counts : null };
    }

    /// <summary>Whether the column exists.</summary>
    public bool Has(string column) => _index.ContainsKey(column);

    /// <summary>
    /// Checks a table the simulator wrote: every cell of a column not in <paramref name="textColumns"/> is a number or
    /// empty, and <paramref name="allowed"/> columns hold one of their values. A corrupt or truncated file throws
    /// <see cref="ReportInputException"/> naming the file, the line (header = line 1) and the column.
    /// </summary>
    public void EnsureWellFormed(string path, IReadOnlyCollection<string> textColumns, IReadOnlyDictionary<string, IReadOnlyList<string>> allowed)
    {
        for (var r = 0; r < RowCount; r++)
        {
            if (_fieldCounts is { } counts && counts[r] != Headers.Count)
                throw new ReportInputException($"{path}:{r + 2}: row: has {counts[r]} fields but the header has {Headers.Count}; expected complete rows (is the file corrupt or cut short?)");
            for (var c = 0; c < Headers.Count; c++)
            {
                string column = Headers[c].Trim(), cell = _rows[r][c];
                if (allowed.TryGetValue(column, out var values))
                {
                    if (!values.Contains(cell))
                        throw new ReportInputException($"{path}:{r + 2}: {column}: got '{cell}'; expected one of {string.Join(" | ", values)} (is the file corrupt or cut short?)");
                }
                else if (!textColumns.Contains(column) && cell.Length > 0
                    && !double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                {
                    throw new ReportInputException($"{path}:{r + 2}: {column}: got '{cell}'; expected a number or an empty cell (is the file corrupt?)");
                }
            }
        }
    }

    /// <summary>Whether the column exists and at least one row has a number in it.</summary>
    public bool HasNumbers(string column) => Has(column) && Numbers(column).Any(double.IsFinite);

    /// <summary>The cell as text ("" when the column is missing).</summary>
    public string Text(int row, string column) => _index.TryGetValue(column, out var i) ? _rows[row][i] : "";

    /// <summary>The cell as a number (NaN when missing, empty or not a number).</summary>
    public double Number(int row, string column) => Has(column) ? Numbers(column)[row] : double.NaN;

    /// <summary>A whole column as numbers (NaN where a cell is not a number); parsed once per column.</summary>
    public double[] Numbers(string column)
    {
        if (!_index.TryGetValue(column, out var i)) return Enumerable.Repeat(double.NaN, RowCount).ToArray();
        if (_numbers.TryGetValue(i, out var cached)) return cached;
        var parsed = new double[RowCount];
        for (var r = 0; r < RowCount; r++)
            parsed[r] = double.TryParse(_rows[r][i], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : double.NaN;
        _numbers[i] = parsed;
        return parsed;
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
    /// as <c>.csv</c> or <c>.parquet</c> (<c>output.format</c>); null when absent.</summary>
    public static RunTable? Open(string runDir, string table) =>
        Simulator.Inference.Metrics.RunTables.Find(runDir, table) is { } path ? RunTable.TryReadFile(path) : null;
}
