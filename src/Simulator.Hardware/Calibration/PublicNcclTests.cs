using System.Globalization;
using Simulator.Hardware.Collectives;

namespace Simulator.Hardware.Calibration;

/// <summary>
/// One published nccl-tests figure (data/calibration/network/nccl-tests/*_public.csv): a time or a bus bandwidth at one
/// size, with the algorithm / protocol when the source states them (auto otherwise) and the source's address.
/// </summary>
/// <param name="Line">1-based line in the file.</param>
/// <param name="Op">The collective.</param>
/// <param name="Ranks">GPUs in the group.</param>
/// <param name="Nodes">Nodes they span.</param>
/// <param name="Bytes">The nccl-tests size.</param>
/// <param name="MeasuredUs">The time, us: <c>time_us</c>, or bytes x bus factor / <c>busbw_GBps</c> when only the bandwidth is published.</param>
/// <param name="Algorithm">The algorithm the source states (Auto: not stated, the tuner's pick).</param>
/// <param name="Protocol">The protocol the source states (Auto: not stated).</param>
/// <param name="Source">The source's address.</param>
public sealed record PublicNcclRow(int Line, CollectiveOp Op, int Ranks, int Nodes, long Bytes, double MeasuredUs,
    CollectiveAlgorithm Algorithm, NcclProtocol Protocol, string Source);

/// <summary>A published statement of which (algorithm, protocol) NCCL ran over a size range (data/.../*_tuner_choices.csv).</summary>
/// <param name="Line">1-based line in the file.</param>
/// <param name="Op">The collective.</param>
/// <param name="Ranks">GPUs in the group.</param>
/// <param name="Nodes">Nodes they span.</param>
/// <param name="BytesFrom">Smallest nccl-tests size of the range.</param>
/// <param name="BytesTo">Largest size of the range.</param>
/// <param name="Algorithm">The algorithm NCCL logged.</param>
/// <param name="Protocol">The protocol NCCL logged.</param>
/// <param name="Source">The source's address.</param>
public sealed record TunerChoiceRow(int Line, CollectiveOp Op, int Ranks, int Nodes, long BytesFrom, long BytesTo,
    CollectiveAlgorithm Algorithm, NcclProtocol Protocol, string Source);

/// <summary>Reads the public nccl-tests figures; a bad row throws <see cref="InvalidDataException"/> naming file, line and column.</summary>
public static class PublicNcclTests
{
    /// <summary>Columns of a <c>*_public.csv</c> file.</summary>
    public static readonly IReadOnlyList<string> Columns =
        ["op", "num_gpus", "nodes", "bytes", "time_us", "busbw_GBps", "algo", "proto", "nccl_version", "note", "source"];

    /// <summary>Columns of a <c>*_tuner_choices.csv</c> file.</summary>
    public static readonly IReadOnlyList<string> ChoiceColumns = ["op", "num_gpus", "nodes", "bytes_from", "bytes_to", "algo", "proto", "source"];

    /// <summary>Reads a <c>*_public.csv</c> file.</summary>
    public static IReadOnlyList<PublicNcclRow> Load(string path) => Read(path, Columns, (f, line) =>
    {
        var op = Parse(path, line, "op", f["op"], Names.ParseOp);
        int n = Int(path, line, "num_gpus", f["num_gpus"], 2);
        long bytes = Long(path, line, "bytes", f["bytes"]);
        double us;
        if (f["time_us"].Length > 0) us = Positive(path, line, "time_us", f["time_us"]);
        else if (f["busbw_GBps"].Length > 0)
            us = bytes * CollectiveEstimate.BusFactor(op, n) / (Positive(path, line, "busbw_GBps", f["busbw_GBps"]) * 1e3);
        else throw Bad(path, line, "time_us", "empty, and so is busbw_GBps; give one of them");
        return new PublicNcclRow(line, op, n, Int(path, line, "nodes", f["nodes"], 1), bytes, us,
            Parse(path, line, "algo", f["algo"], Names.ParseAlgorithm), Parse(path, line, "proto", f["proto"], Names.ParseProtocol), f["source"]);
    });

    /// <summary>Reads a <c>*_tuner_choices.csv</c> file.</summary>
    public static IReadOnlyList<TunerChoiceRow> LoadChoices(string path) => Read(path, ChoiceColumns, (f, line) =>
        new TunerChoiceRow(line, Parse(path, line, "op", f["op"], Names.ParseOp), Int(path, line, "num_gpus", f["num_gpus"], 2),
            Int(path, line, "nodes", f["nodes"], 1), Long(path, line, "bytes_from", f["bytes_from"]), Long(path, line, "bytes_to", f["bytes_to"]),
            Parse(path, line, "algo", f["algo"], Names.ParseAlgorithm), Parse(path, line, "proto", f["proto"], Names.ParseProtocol), f["source"]));

    private static IReadOnlyList<T> Read<T>(string path, IReadOnlyList<string> columns, Func<Dictionary<string, string>, int, T> row)
    {
        if (!File.Exists(path)) throw new InvalidDataException($"error: {path}: missing");
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0) throw new InvalidDataException($"error: {path}:1: empty file; expected the header {string.Join(",", columns)}");
        var header = lines[0].Split(',').Select(c => c.Trim()).ToArray();
        foreach (var c in columns)
            if (!header.Contains(c)) throw Bad(path, 1, c, $"missing column; the header must hold {string.Join(",", columns)}");
        var rows = new List<T>();
        for (int i = 1; i < lines.Length; i++)
        {
            if (lines[i].Trim().Length == 0) continue;
            var f = lines[i].Split(',');
            if (f.Length != header.Length) throw Bad(path, i + 1, "row", $"{f.Length} fields; the header has {header.Length} (no commas inside a field)");
            var byName = new Dictionary<string, string>(StringComparer.Ordinal);
            for (int k = 0; k < header.Length; k++) byName[header[k]] = f[k].Trim();
            rows.Add(row(byName, i + 1));
        }
        if (rows.Count == 0) throw new InvalidDataException($"error: {path}: no data rows");
        return rows;
    }

    private static InvalidDataException Bad(string path, int line, string column, string what) => new($"error: {path}:{line}: {column}: {what}");

    private static T Parse<T>(string path, int line, string column, string text, Func<string, T> parse)
    {
        try
        {
            return parse(text);
        }
        catch (ArgumentException e)
        {
            throw Bad(path, line, column, e.Message);
        }
    }

    private static int Int(string path, int line, string column, string text, int min) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= min && v <= CollectiveProbe.MaxRanks
            ? v : throw Bad(path, line, column, $"'{text}' is not a whole number from {min} to {CollectiveProbe.MaxRanks}");

    private static long Long(string path, int line, string column, string text) =>
        long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) && v > 0 && v <= CollectiveProbe.MaxBytes
            ? v : throw Bad(path, line, column, $"'{text}' is not a byte count from 1 to {CollectiveProbe.MaxBytes}");

    private static double Positive(string path, int line, string column, string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v > 0 && double.IsFinite(v)
            ? v : throw Bad(path, line, column, $"'{text}' is not a positive number");
}
