using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Simulator.Inference.Workload;

/// <summary>
/// Replays a request trace file (<see cref="TraceFormat"/>) as a stream of <see cref="Request"/>s: the file is read
/// row by row while the caller iterates, never loaded whole. Rows must be in non-decreasing time order; a malformed
/// or out-of-order row stops the replay with a <see cref="WorkloadFormatException"/> naming the file, line and column.
/// Input lengths must be at least 1 token; zero output lengths follow <see cref="TraceOptions.ZeroOutput"/>.
/// </summary>
public sealed class TraceWorkloadSource : IWorkloadSource
{
    /// <summary>Tokens covered by one Mooncake hash id.</summary>
    public const int MooncakeBlockTokens = 512;

    private readonly string _path;
    private readonly string _displayPath;

    /// <param name="path">The file to read.</param>
    /// <param name="format">Its format, or <see cref="TraceFormat.Auto"/> to detect it.</param>
    /// <param name="options">Replay options (null = <see cref="TraceOptions.Default"/>).</param>
    /// <param name="displayPath">How errors and <see cref="Describe"/> name the file (default: <paramref name="path"/>).</param>
    public TraceWorkloadSource(string path, TraceFormat format = TraceFormat.Auto, TraceOptions? options = null, string? displayPath = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        _path = path;
        _displayPath = displayPath ?? path;
        Options = options ?? TraceOptions.Default;
        if (!(Options.TimeScale > 0) || double.IsInfinity(Options.TimeScale))
            throw new ArgumentOutOfRangeException(nameof(options), Options.TimeScale, "time_scale must be a finite number > 0");
        if (Options.Limit is < 0) throw new ArgumentOutOfRangeException(nameof(options), Options.Limit, "limit must be >= 0");
        if (Options.StartS < 0 || (Options.EndS is double end && end < Options.StartS))
            throw new ArgumentOutOfRangeException(nameof(options), "the window needs 0 <= start_s <= end_s");
        Format = format == TraceFormat.Auto ? DetectFormat(path, _displayPath) : format;
    }

    /// <summary>The trace's format (resolved when constructed with <see cref="TraceFormat.Auto"/>).</summary>
    public TraceFormat Format { get; }

    /// <summary>The replay options.</summary>
    public TraceOptions Options { get; }

    /// <summary>
    /// Detects a trace's format: a first line starting with <c>{</c> is Mooncake JSONL; otherwise the CSV header
    /// decides (<c>ContextTokens</c> = azure, <c>arrived_at</c> = vidur, <c>Request tokens</c> = burstgpt).
    /// </summary>
    public static TraceFormat DetectFormat(string path, string? displayPath = null)
    {
        string shown = displayPath ?? path;
        string? first = null;
        using (var reader = new StreamReader(path, Encoding.UTF8))
        {
            string? line;
            while ((line = reader.ReadLine()) != null)
            {
                if (line.Trim().Length > 0) { first = line.Trim(); break; }
            }
        }
        if (first == null) throw new WorkloadFormatException(shown, 1, "header", "the file is empty; expected a CSV header or a JSON line");
        if (first.StartsWith('{')) return TraceFormat.Mooncake;
        var headers = first.Split(',').Select(h => h.Trim().Trim('"')).ToList();
        bool Has(string name) => headers.Any(h => string.Equals(h, name, StringComparison.OrdinalIgnoreCase));
        if (Has("ContextTokens") && Has("GeneratedTokens")) return TraceFormat.Azure;
        if (Has("arrived_at")) return TraceFormat.Vidur;
        if (Has("Request tokens") && Has("Response tokens")) return TraceFormat.BurstGpt;
        throw new WorkloadFormatException(shown, 1, "header",
            $"unknown trace format (header '{first}'); expected azure (TIMESTAMP,ContextTokens,GeneratedTokens), " +
            "vidur (arrived_at,num_prefill_tokens,num_decode_tokens), burstgpt (Timestamp,Model,Request tokens,Response tokens,...) " +
            "or mooncake (JSON lines with timestamp, input_length, output_length, hash_ids)");
    }

    /// <summary>
    /// Checks that the trace holds at least one request (a CSV header alone, or an empty file, is an error naming
    /// the file); reads at most two non-empty lines.
    /// </summary>
    public static void EnsureHasRows(string path, TraceFormat format, string? displayPath = null)
    {
        string shown = displayPath ?? path;
        int needed = format == TraceFormat.Mooncake ? 1 : 2;
        int seen = 0;
        using (var reader = new StreamReader(path, Encoding.UTF8))
        {
            string? line;
            while (seen < needed && (line = reader.ReadLine()) != null)
                if (line.Trim().Length > 0) seen++;
        }
        if (seen == 0) throw new WorkloadFormatException(shown, 1, "header", $"{shown} is empty; expected a CSV header and at least one request row, or JSON lines");
        if (seen < needed) throw new WorkloadFormatException(shown, 1, "header", $"{shown} has a header but no requests; expected at least one row after the header");
    }

    /// <summary>The format's name as scenarios spell it (azure, vidur, mooncake, burstgpt, auto).</summary>
    public static string FormatName(TraceFormat format) => format switch
    {
        TraceFormat.Auto => "auto",
        TraceFormat.Azure => "azure",
        TraceFormat.Vidur => "vidur",
        TraceFormat.Mooncake => "mooncake",
        TraceFormat.BurstGpt => "burstgpt",
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, null),
    };

    /// <inheritdoc />
    public string Describe()
    {
        var sb = new StringBuilder();
        sb.Append(FormatName(Format)).Append(" trace ").Append(_displayPath);
        if (Options.TimeScale != 1.0) sb.Append(", time_scale ").Append(Options.TimeScale.ToString("R", CultureInfo.InvariantCulture));
        if (Options.StartS > 0 || Options.EndS.HasValue)
        {
            sb.Append(", window [").Append(Options.StartS.ToString("R", CultureInfo.InvariantCulture)).Append(" s, ")
              .Append(Options.EndS?.ToString("R", CultureInfo.InvariantCulture) ?? "end").Append(Options.EndS.HasValue ? " s)" : ")");
        }
        if (Options.Limit.HasValue) sb.Append(", limit ").Append(Options.Limit.Value.ToString(CultureInfo.InvariantCulture));
        return sb.ToString();
    }

    /// <inheritdoc />
    public IEnumerable<Request> Read()
    {
        long startNs = SecondsToNs(Options.StartS);
        long? endNs = Options.EndS is double e ? SecondsToNs(e) : null;
        long yielded = 0;
        long? firstNs = null;
        long previousNs = long.MinValue;
        if (Options.Limit == 0) yield break;
        foreach (var row in RawRows())
        {
            if (row.TimeNs < previousNs)
            {
                throw new WorkloadFormatException(_displayPath, row.Line, row.TimeColumn,
                    $"rows must be in non-decreasing time order; this row is {FormatS(previousNs - row.TimeNs)} s earlier than the row before it");
            }
            previousNs = row.TimeNs;
            firstNs ??= row.TimeNs;
            long offsetNs = row.TimeNs - firstNs.Value;
            if (offsetNs < startNs) continue;
            if (endNs is long end && offsetNs >= end) yield break;

            int output = row.OutputTokens;
            if (output == 0)
            {
                switch (Options.ZeroOutput)
                {
                    case ZeroOutputPolicy.Skip: continue;
                    case ZeroOutputPolicy.One: output = 1; break;
                    default:
                        throw new WorkloadFormatException(_displayPath, row.Line, row.OutputColumn,
                            "0 output tokens; expected >= 1 (or set zero_output: skip | one)");
                }
            }
            long arrivalNs = Options.TimeScale == 1.0
                ? offsetNs - startNs
                : (long)Math.Round((offsetNs - startNs) * Options.TimeScale, MidpointRounding.ToEven);
            yield return new Request(yielded, arrivalNs, row.InputTokens, output,
                row.HashIds, row.HashIds == null ? 0 : MooncakeBlockTokens);
            yielded++;
            if (Options.Limit is long limit && yielded >= limit) yield break;
        }
    }

    private readonly record struct RawRow(long Line, long TimeNs, int InputTokens, int OutputTokens, IReadOnlyList<long>? HashIds,
        string TimeColumn, string OutputColumn);

    private IEnumerable<RawRow> RawRows() => Format switch
    {
        TraceFormat.Azure => CsvRows("TIMESTAMP", "ContextTokens", "GeneratedTokens", azureTime: true),
        TraceFormat.Vidur => CsvRows("arrived_at", "num_prefill_tokens", "num_decode_tokens", azureTime: false),
        TraceFormat.BurstGpt => CsvRows("Timestamp", "Request tokens", "Response tokens", azureTime: false),
        TraceFormat.Mooncake => JsonRows(),
        _ => throw new InvalidOperationException("format not resolved"),
    };

    private IEnumerable<RawRow> CsvRows(string timeColumn, string inputColumn, string outputColumn, bool azureTime)
    {
        using var reader = new StreamReader(_path, Encoding.UTF8);
        long line = 0;
        string? text;
        string[]? header = null;
        while ((text = reader.ReadLine()) != null)
        {
            line++;
            if (text.Trim().Length > 0) { header = SplitCsvLine(text, line, "header"); break; }
        }
        if (header == null) throw new WorkloadFormatException(_displayPath, 1, "header", $"the file is empty; expected the header {timeColumn},{inputColumn},{outputColumn}");
        long headerLine = line;
        int Find(string name)
        {
            for (int i = 0; i < header.Length; i++)
                if (string.Equals(header[i].Trim(), name, StringComparison.OrdinalIgnoreCase)) return i;
            throw new WorkloadFormatException(_displayPath, headerLine, name,
                $"column missing from the header '{string.Join(",", header)}'; expected {timeColumn},{inputColumn},{outputColumn}");
        }
        int t = Find(timeColumn), inp = Find(inputColumn), outp = Find(outputColumn);
        int needed = Math.Max(t, Math.Max(inp, outp)) + 1;
        while ((text = reader.ReadLine()) != null)
        {
            line++;
            if (text.Trim().Length == 0) continue;
            var rec = SplitCsvLine(text, line, "row");
            if (rec.Length < needed)
                throw new WorkloadFormatException(_displayPath, line, "row", $"{rec.Length} columns; expected at least {needed} ({string.Join(",", header)})");
            long timeNs = azureTime ? ParseTimestampNs(rec[t], line, timeColumn) : ParseSecondsNs(rec[t], 1_000_000_000m, line, timeColumn, "seconds");
            int input = ParseTokens(rec[inp], line, inputColumn, minimum: 1);
            int output = ParseTokens(rec[outp], line, outputColumn, minimum: 0);
            yield return new RawRow(line, timeNs, input, output, null, timeColumn, outputColumn);
        }
    }

    /// <summary>Splits one CSV line: commas separate fields; a field in double quotes may hold commas and "" for a quote.</summary>
    private string[] SplitCsvLine(string text, long line, string what)
    {
        if (text.IndexOf('"') < 0) return text.Split(',');
        var fields = new List<string>();
        var field = new StringBuilder();
        int i = 0;
        while (true)
        {
            field.Clear();
            if (i < text.Length && text[i] == '"')
            {
                i++;
                while (true)
                {
                    if (i >= text.Length) throw new WorkloadFormatException(_displayPath, line, what, "unterminated quoted field; expected a closing \"");
                    if (text[i] == '"')
                    {
                        if (i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i += 2; continue; }
                        i++;
                        break;
                    }
                    field.Append(text[i++]);
                }
                if (i < text.Length && text[i] != ',') throw new WorkloadFormatException(_displayPath, line, what, "text after a closing quote; expected a comma");
            }
            else
            {
                while (i < text.Length && text[i] != ',') field.Append(text[i++]);
            }
            fields.Add(field.ToString());
            if (i >= text.Length) break;
            i++; // the comma
        }
        return fields.ToArray();
    }

    private IEnumerable<RawRow> JsonRows()
    {
        using var reader = new StreamReader(_path, Encoding.UTF8);
        string? text;
        long line = 0;
        while ((text = reader.ReadLine()) != null)
        {
            line++;
            if (text.Trim().Length == 0) continue;
            yield return ParseJsonRow(text, line);
        }
    }

    private RawRow ParseJsonRow(string text, long line)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(text); }
        catch (JsonException ex)
        {
            throw new WorkloadFormatException(_displayPath, line, "row", $"not a JSON object ({ex.Message}); expected {{\"timestamp\":..,\"input_length\":..,\"output_length\":..,\"hash_ids\":[..]}}");
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new WorkloadFormatException(_displayPath, line, "row", "not a JSON object; expected one object per line");
            JsonElement Field(string name)
            {
                if (!root.TryGetProperty(name, out var v)) throw new WorkloadFormatException(_displayPath, line, name, "missing; expected a number");
                return v;
            }
            var ts = Field("timestamp");
            if (ts.ValueKind != JsonValueKind.Number) throw new WorkloadFormatException(_displayPath, line, "timestamp", $"got {ts.GetRawText()}; expected milliseconds as a number");
            long timeNs = ParseSecondsNs(ts.GetRawText(), 1_000_000m, line, "timestamp", "milliseconds");
            int input = JsonTokens(Field("input_length"), line, "input_length", 1);
            int output = JsonTokens(Field("output_length"), line, "output_length", 0);
            List<long>? ids = null;
            if (root.TryGetProperty("hash_ids", out var h))
            {
                if (h.ValueKind != JsonValueKind.Array) throw new WorkloadFormatException(_displayPath, line, "hash_ids", $"got {h.ValueKind}; expected an array of integers");
                ids = new List<long>(h.GetArrayLength());
                foreach (var item in h.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out long id))
                        throw new WorkloadFormatException(_displayPath, line, "hash_ids", $"element {item.GetRawText()}; expected an integer");
                    ids.Add(id);
                }
            }
            return new RawRow(line, timeNs, input, output, ids, "timestamp", "output_length");
        }
    }

    private int JsonTokens(JsonElement v, long line, string column, int minimum)
    {
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int n) || n < minimum)
            throw new WorkloadFormatException(_displayPath, line, column, $"got {v.GetRawText()}; expected an integer >= {minimum}");
        return n;
    }

    private int ParseTokens(string text, long line, string column, int minimum)
    {
        if (!int.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int n))
        {
            // Some exports write counts as floats ("12.0"): accept an exact integer value.
            if (!decimal.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out decimal d) || d != decimal.Truncate(d) || d > int.MaxValue || d < int.MinValue)
                throw new WorkloadFormatException(_displayPath, line, column, $"got '{text}'; expected an integer >= {minimum}");
            n = (int)d;
        }
        if (n < minimum) throw new WorkloadFormatException(_displayPath, line, column, $"got {n}; expected an integer >= {minimum}");
        return n;
    }

    private static readonly string[] TimestampFormats =
    [
        "yyyy-MM-dd HH:mm:ss.FFFFFFF", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-ddTHH:mm:ss.FFFFFFF", "yyyy-MM-ddTHH:mm:ss",
    ];

    /// <summary>Parses an Azure timestamp (<c>2023-11-16 18:17:03.9799600</c>, up to 7 fractional digits) exactly to ns since year 1.</summary>
    private long ParseTimestampNs(string text, long line, string column)
    {
        if (TraceTimestamp.TryParseTicks(text.AsSpan().Trim(), out long ticks)) return ticks * 100;
        if (!DateTime.TryParseExact(text.Trim(), TimestampFormats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var t))
            throw new WorkloadFormatException(_displayPath, line, column, $"got '{text}'; expected a timestamp like 2023-11-16 18:17:03.9799600");
        return t.Ticks * 100; // a tick is 100 ns: 7 fractional digits convert exactly
    }

    /// <summary>Parses a decimal number of <paramref name="unit"/> exactly (decimal arithmetic) to ns.</summary>
    private long ParseSecondsNs(string text, decimal nsPerUnit, long line, string column, string unit)
    {
        if (!decimal.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out decimal value))
            throw new WorkloadFormatException(_displayPath, line, column, $"got '{text}'; expected a number of {unit}");
        decimal ns = decimal.Round(value * nsPerUnit, 0, MidpointRounding.ToEven);
        if (ns > long.MaxValue / 4 || ns < long.MinValue / 4)
            throw new WorkloadFormatException(_displayPath, line, column, $"got '{text}'; expected a number of {unit} within +-1e8 s");
        return (long)ns;
    }

    private static long SecondsToNs(double seconds) => (long)Math.Round(seconds * 1e9, MidpointRounding.ToEven);

    private static string FormatS(long ns) => (ns / 1e9).ToString("0.#########", CultureInfo.InvariantCulture);
}
