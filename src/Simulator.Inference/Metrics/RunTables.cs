using System.Globalization;
using CsvHelper;
using Parquet;
using Parquet.Schema;

namespace Simulator.Inference.Metrics;

/// <summary>A run table read back: column names in file order and every row as text, cells as the CSV writes them ("" = no value).</summary>
public sealed record RunTable(string Path, IReadOnlyList<string> Columns, IReadOnlyList<string[]> Rows)
{
    /// <summary>CSV only (null for Parquet): the fields each row really had in the file, before padding to the columns (a
    /// reader can tell a truncated or corrupt row from a complete one without reading the file again).</summary>
    public IReadOnlyList<int>? FieldCounts { get; init; }
}

/// <summary>
/// Reads a run directory's tables whatever format the run wrote (<c>output.format</c>): <c>&lt;name&gt;.csv</c> or
/// <c>&lt;name&gt;.parquet</c>, whichever exists. Parquet cells come back formatted exactly as the CSV of the same
/// run writes them (integers invariant, doubles with the column's decimals, nulls as ""), so a consumer (the
/// report) need not care which format it reads.
/// </summary>
public static class RunTables
{
    /// <summary>The path of table <paramref name="name"/> in <paramref name="runDirectory"/> (the .csv if both exist), or null.</summary>
    public static string? Find(string runDirectory, string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(runDirectory);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        foreach (var format in new[] { TableFormat.Csv, TableFormat.Parquet })
        {
            var path = System.IO.Path.Combine(runDirectory, TableWriter.FileName(name, format));
            if (File.Exists(path)) return path;
        }
        return null;
    }

    /// <summary>Reads table <paramref name="name"/> (e.g. "requests") of a run directory; null when neither file exists.</summary>
    public static RunTable? TryRead(string runDirectory, string name) =>
        Find(runDirectory, name) is { } path ? ReadFile(path) : null;

    /// <summary>Reads one table file, CSV or Parquet by its extension.</summary>
    public static RunTable ReadFile(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var rows = new List<string[]>();
        if (IsParquet(path)) return new RunTable(path, StreamParquet(path, rows.Add), rows);
        var counts = new List<int>();
        return new RunTable(path, StreamCsv(path, rows.Add, counts), rows) { FieldCounts = counts };
    }

    /// <summary>Streams the rows of one table file to <paramref name="onRow"/> without holding them; returns the column names.</summary>
    public static IReadOnlyList<string> Stream(string path, Action<string[]> onRow)
    {
        ArgumentNullException.ThrowIfNull(onRow);
        return IsParquet(path) ? StreamParquet(path, onRow) : StreamCsv(path, onRow, null);
    }

    private static bool IsParquet(string path) => path.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase);

    private static string[] StreamCsv(string path, Action<string[]> onRow, List<int>? fieldCounts)
    {
        var options = CsvReaderOptions.Default with
        {
            MissingField = CsvMissingFieldHandling.ReturnEmpty,
            FieldCountMismatch = CsvFieldCountHandling.Allow,
            FormatProvider = CultureInfo.InvariantCulture,
        };
        using var reader = CsvReader.FromFile(path, options);
        var headers = reader.Headers.ToArray();
        while (reader.Read())
        {
            var row = new string[headers.Length];
            for (var i = 0; i < headers.Length; i++) row[i] = i < reader.FieldCount ? reader.GetString(i) : "";
            fieldCounts?.Add(reader.FieldCount);
            onRow(row);
        }
        return headers;
    }

    private static string[] StreamParquet(string path, Action<string[]> onRow)
    {
        // Implementation note: Parquet.Net is asynchronous; callers here are synchronous tools without a
        // synchronization context, so blocking on its tasks is safe.
        var reader = ParquetReader.CreateAsync(path).GetAwaiter().GetResult();
        try
        {
            var fields = reader.Schema.GetDataFields();
            var decimals = Decimals(reader.CustomMetadata);
            var names = fields.Select(f => f.Name).ToArray();
            for (int g = 0; g < reader.RowGroupCount; g++)
            {
                using var group = reader.OpenRowGroupReader(g);
                var n = checked((int)group.RowCount);
                var cells = new string[fields.Length][];
                for (int c = 0; c < fields.Length; c++)
                    cells[c] = Column(group, fields[c], n, decimals.TryGetValue(fields[c].Name, out var d) ? d : null);
                for (int r = 0; r < n; r++)
                {
                    var row = new string[fields.Length];
                    for (int c = 0; c < fields.Length; c++) row[c] = cells[c][r];
                    onRow(row);
                }
            }
            return names;
        }
        finally
        {
            reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static string[] Column(ParquetRowGroupReader group, DataField field, int n, int? decimals)
    {
        var inv = CultureInfo.InvariantCulture;
        var t = Nullable.GetUnderlyingType(field.ClrType) ?? field.ClrType;
        if (t == typeof(int))
        {
            var values = new int?[n];
            group.ReadAsync<int>(field, values.AsMemory()).GetAwaiter().GetResult();
            return values.Select(v => v is { } x ? MetricFormat.Integer(x) : "").ToArray();
        }
        if (t == typeof(long))
        {
            var values = new long?[n];
            group.ReadAsync<long>(field, values.AsMemory()).GetAwaiter().GetResult();
            return values.Select(v => v is { } x ? MetricFormat.Integer(x) : "").ToArray();
        }
        if (t == typeof(double))
        {
            var values = new double?[n];
            group.ReadAsync<double>(field, values.AsMemory()).GetAwaiter().GetResult();
            return values.Select(v => v is { } x ? (decimals is { } d ? MetricFormat.FixedTrimmed(x, d) : x.ToString("R", inv)) : "").ToArray();
        }
        if (t == typeof(string) || t == typeof(ReadOnlyMemory<char>))
        {
            var values = new string?[n];
            group.ReadAsync(field, values.AsMemory()).GetAwaiter().GetResult();
            return values.Select(v => v ?? "").ToArray();
        }
        throw new InvalidDataException($"{field.Name}: column type {t.Name} is not one the simulator writes (int32, int64, double, string)");
    }

    private static Dictionary<string, int> Decimals(IReadOnlyDictionary<string, string>? metadata)
    {
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        if (metadata is null || !metadata.TryGetValue(ParquetTableWriter.DecimalsKey, out var text)) return result;
        foreach (var entry in text.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = entry.LastIndexOf('=');
            if (eq > 0 && int.TryParse(entry.AsSpan(eq + 1), NumberStyles.Integer, CultureInfo.InvariantCulture, out var d))
                result[entry[..eq]] = d;
        }
        return result;
    }
}
