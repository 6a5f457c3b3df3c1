using System.Globalization;
using Simulator.Inference.Models;

namespace Simulator.Inference.Cost;

/// <summary>
/// Measured per-layer operator times in Vidur's <c>mlp.csv</c> format (columns
/// <c>time_stats.&lt;op&gt;.median</c> in ms per (num_tokens, num_tensor_parallel_workers), plus the model
/// shape). Where a model matches the table's shape, the cost model uses these times instead of the
/// roofline; between measured token counts it interpolates linearly, beyond the largest it scales
/// proportionally with tokens.
/// </summary>
public sealed class MeasuredOperatorTable
{
    public const string AttnPreProj = "attn_pre_proj";
    public const string AttnPostProj = "attn_post_proj";
    public const string MlpUpProj = "mlp_up_proj";
    public const string MlpDownProj = "mlp_down_proj";

    /// <summary>The operators read from a file.</summary>
    public static readonly string[] Operators = [AttnPreProj, AttnPostProj, MlpUpProj, MlpDownProj];

    // (op, tp) -> sorted token counts and median ms (duplicate rows averaged)
    private readonly SortedDictionary<(string Op, int Tp), (double[] Tokens, double[] Ms)> _series = new();

    public int Heads { get; }
    public int KvHeads { get; }
    public int Hidden { get; }
    public int Ffn { get; }
    public bool GatedMlp { get; }
    public string SourcePath { get; }

    /// <summary>Raw rows: (op, tokens, tp, median ms), for calibration.</summary>
    public IReadOnlyList<(string Op, int Tokens, int Tp, double Ms)> Samples { get; }

    private MeasuredOperatorTable(string path, int heads, int kvHeads, int hidden, int ffn, bool gated,
        List<(string, int, int, double)> samples)
    {
        SourcePath = path; Heads = heads; KvHeads = kvHeads; Hidden = hidden; Ffn = ffn; GatedMlp = gated; Samples = samples;
        foreach (var g in samples.GroupBy(s => (s.Item1, s.Item3)))
        {
            var pts = g.GroupBy(s => s.Item2).OrderBy(x => x.Key).Select(x => (T: (double)x.Key, Ms: x.Average(y => y.Item4))).ToArray();
            _series[(g.Key.Item1, g.Key.Item2)] = (pts.Select(p => p.T).ToArray(), pts.Select(p => p.Ms).ToArray());
        }
    }

    /// <summary>Reads a Vidur mlp.csv; errors name the file, row and column.</summary>
    public static MeasuredOperatorTable Load(string path)
    {
        var lines = File.ReadAllLines(path);
        if (lines.Length < 2) throw new FormatException($"{path}: no data rows");
        var header = lines[0].Split(',');
        int Col(string name)
        {
            var i = Array.IndexOf(header, name);
            return i >= 0 ? i : throw new FormatException($"{path}: missing column '{name}'");
        }
        var opCols = Operators.Select(op => (op, Col($"time_stats.{op}.median"))).ToArray();
        int cTok = Col("num_tokens"), cTp = Col("num_tensor_parallel_workers"), cHead = Col("n_head"), cKv = Col("n_kv_head"),
            cEmb = Col("n_embd"), cFfn = Col("n_expanded_embd"), cGated = Col("use_gated_mlp");
        var samples = new List<(string, int, int, double)>();
        int heads = 0, kv = 0, hidden = 0, ffn = 0; var gated = false;
        for (var r = 1; r < lines.Length; r++)
        {
            if (lines[r].Length == 0) continue;
            var f = lines[r].Split(',');
            if (f.Length != header.Length) throw new FormatException($"{path}:{r + 1}: expected {header.Length} fields, got {f.Length}");
            int I(int c) => int.TryParse(f[c], NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v
                : throw new FormatException($"{path}:{r + 1}: column '{header[c]}' is not an integer: '{f[c]}'");
            heads = I(cHead); kv = I(cKv); hidden = I(cEmb); ffn = I(cFfn);
            gated = string.Equals(f[cGated], "True", StringComparison.OrdinalIgnoreCase);
            int tok = I(cTok), tp = I(cTp);
            foreach (var (op, c) in opCols)
            {
                if (!double.TryParse(f[c], NumberStyles.Float, CultureInfo.InvariantCulture, out var ms))
                    throw new FormatException($"{path}:{r + 1}: column '{header[c]}' is not a number: '{f[c]}'");
                samples.Add((op, tok, tp, ms));
            }
        }
        return new MeasuredOperatorTable(path, heads, kv, hidden, ffn, gated, samples);
    }

    /// <summary>True when the table was measured on <paramref name="m"/>'s dense layer shape.</summary>
    public bool Matches(ModelSpec m) =>
        m.Mla is null && m.HiddenSize == Hidden && m.Heads == Heads && m.KvHeads == KvHeads && m.FfnSize == Ffn && m.GatedMlp == GatedMlp;

    /// <summary>True when every operator was measured at this TP degree.</summary>
    public bool HasTp(int tp) => Operators.All(op => _series.ContainsKey((op, tp)));

    /// <summary>Interpolated time in seconds of <paramref name="op"/> over <paramref name="tokens"/> tokens at TP <paramref name="tp"/>.</summary>
    public double Seconds(string op, int tp, double tokens)
    {
        if (tokens <= 0) return 0;
        var (ts, ms) = _series[(op, tp)];
        if (tokens <= ts[0]) return ms[0] * 1e-3;
        var last = ts.Length - 1;
        if (tokens >= ts[last]) return ms[last] * tokens / ts[last] * 1e-3;
        var i = Array.BinarySearch(ts, tokens);
        if (i >= 0) return ms[i] * 1e-3;
        i = ~i;
        var w = (tokens - ts[i - 1]) / (ts[i] - ts[i - 1]);
        return (ms[i - 1] + w * (ms[i] - ms[i - 1])) * 1e-3;
    }
}
