using System.Globalization;
using CsvHelper;

namespace Simulator.Report;

/// <summary>
/// A CSV file read by header name (CsvHelper, invariant culture). Missing columns and empty cells
/// read as NaN / empty, so optional columns never break a report.
/// </summary>
public sealed class CsvTable
{
    private readonly Dictionary<string, int> _index;
    private readonly List<string[]> _rows;

    private CsvTable(string[] headers, List<string[]> rows)
    {
        Headers = headers;
        _rows = rows;
        _index = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < headers.Length; i++) _index.TryAdd(headers[i].Trim(), i);
    }

    /// <summary>Column names in file order.</summary>
    public IReadOnlyList<string> Headers { get; }

    /// <summary>Number of data rows.</summary>
    public int RowCount => _rows.Count;

    /// <summary>Reads a file; null when it does not exist.</summary>
    public static CsvTable? TryRead(string path)
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
        return new CsvTable(headers, rows);
    }

    /// <summary>Whether the column exists.</summary>
    public bool Has(string column) => _index.ContainsKey(column);

    /// <summary>Whether the column exists and at least one row has a number in it.</summary>
    public bool HasNumbers(string column) => Has(column) && Enumerable.Range(0, RowCount).Any(r => double.IsFinite(Number(r, column)));

    /// <summary>The cell as text ("" when the column is missing).</summary>
    public string Text(int row, string column) => _index.TryGetValue(column, out var i) ? _rows[row][i] : "";

    /// <summary>The cell as a number (NaN when missing, empty or not a number).</summary>
    public double Number(int row, string column) =>
        double.TryParse(Text(row, column), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : double.NaN;

    /// <summary>A whole column as numbers.</summary>
    public double[] Numbers(string column) => Enumerable.Range(0, RowCount).Select(r => Number(r, column)).ToArray();
}
