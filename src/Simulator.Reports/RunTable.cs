using System.Globalization;
using CsvHelper;

namespace Simulator.Reports;

/// <summary>
/// A table of a run directory read by header name. Missing columns and empty cells read as NaN / empty,
/// so optional columns never break a report. Cells are kept as invariant-culture text: whatever the file
/// format (CSV today), a reader fills one of these and every chart reads it the same way.
/// </summary>
public sealed class RunTable
{
    private readonly Dictionary<string, int> _index;
    private readonly IReadOnlyList<string[]> _rows;
    private readonly Dictionary<int, double[]> _numbers = new();

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

    /// <summary>Reads a CSV file (CsvHelper, invariant culture); null when it does not exist.</summary>
    public static RunTable? TryReadCsv(string path)
    {
        if (!File.Exists(path)) return null;
        // CsvHelper 34: rows shorter than the header read as empty cells; ragged rows are allowed.
        var options = CsvReaderOptions.Default with
        {
            MissingField = CsvMissingFieldHandling.ReturnEmpty,
            FieldCountMismatch = CsvFieldCountHandling.Allow,
            TrimWhitespace = true,
            FormatProvider = CultureInfo.InvariantCulture,
        };
        using var reader = CsvReader.FromFile(path, options);
        var headers = reader.Headers.ToArray();
        var rows = new List<string[]>();
        while (reader.Read())
        {
            var row = new string[headers.Length];
            for (var i = 0; i < headers.Length; i++) row[i] = i < reader.FieldCount ? reader.GetString(i) : "";
            rows.Add(row);
        }
        return new RunTable(headers, rows);
    }

    /// <summary>Whether the column exists.</summary>
    public bool Has(string column) => _index.ContainsKey(column);

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
    /// <summary>The file names a table may have in a run directory, in the order they are tried.</summary>
    public static IReadOnlyList<string> FileNames(string table) => new[] { table + ".csv" };

    /// <summary>The table named <paramref name="table"/> ("requests", "iterations", "timeseries") of a run directory; null when absent.</summary>
    public static RunTable? Open(string runDir, string table)
    {
        foreach (var name in FileNames(table))
        {
            var path = Path.Combine(runDir, name);
            if (!File.Exists(path)) continue;
            if (name.EndsWith(".csv", StringComparison.Ordinal)) return RunTable.TryReadCsv(path);
        }
        return null;
    }
}
