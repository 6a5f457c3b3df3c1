using Simulator.Inference.Cost;
using Simulator.Inference.Metrics;

namespace Simulator.Scenarios;

/// <summary>
/// The offline-latency sets of <c>sim validate</c>: rows of a CSV under <c>data/calibration/serving</c> with the
/// <see cref="Columns"/> header, each a fixed batch of fixed-length requests handed to the engine at once with no API
/// server in front (vLLM's <c>vllm bench latency</c> / <c>benchmark_latency.py</c>: one <c>LLM.generate</c> call on
/// prompt token ids; its latency is the wall time of the call, i.e. until the batch's last request completes). They
/// check the engine's step times and host terms end to end (prefill, then every decode step of the batch) without any
/// front-end term, one set per source set (<c>serving/&lt;set&gt;/latency</c>, x_label <c>batch</c>, ms; in the serving family of the charts).
/// </summary>
public static class OfflineLatencyValidation
{
    /// <summary>The offline-latency CSV header.</summary>
    public static readonly IReadOnlyList<string> Columns =
    [
        "set", "engine", "engine_version", "model", "gpu", "tp", "weights", "kv_cache", "input_tokens", "output_tokens", "batch",
        "statistic", "latency_ms", "source_url",
    ];

    private static readonly Dictionary<string, int> ColumnIndex = Columns.Select((c, i) => (c, i)).ToDictionary(x => x.c, x => x.i);

    /// <summary>
    /// Scheduler limits of the generated scenario: vLLM V1's defaults for the offline <c>LLM</c> class on a GPU of at
    /// least 70 GiB (<c>EngineArgs.get_batch_defaults</c>: 16,384 batched tokens, 1,024 sequences) and
    /// <c>gpu_memory_utilization</c> 0.9; a batch of a few short requests binds neither.
    /// </summary>
    private const int MaxNumSeqs = 1024, MaxNumBatchedTokens = 16384;

    /// <summary>
    /// The longest prompt and the longest output a row may ask for: 131,072 tokens (a 128K context), so a mistyped row
    /// is a located error, not a simulation of millions of steps.
    /// </summary>
    public const int MaxTokensPerRequest = 131_072;

    /// <summary>Runs every offline-latency CSV under <paramref name="dataRoot"/>/calibration/serving; one set per source set.</summary>
    public static IReadOnlyList<ValidationSet> Run(string dataRoot)
    {
        var dir = Path.Combine(dataRoot, "calibration", "serving");
        if (!Directory.Exists(dir)) throw new ValidationDataException($"error: {dir}: missing; expected serving benchmark CSVs under it");
        var rows = new List<(ServingMeasurement M, double LatencyMs)>();
        foreach (var file in Directory.GetFiles(dir, "*.csv").OrderBy(p => p, StringComparer.Ordinal))
        {
            var lines = Validation.Lines(file);
            if (lines[0] == string.Join(",", Columns)) rows.AddRange(Load(file, lines, dataRoot));
        }
        var sets = new List<ValidationSet>();
        foreach (var group in rows.GroupBy(r => r.M.Set).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var name = $"serving/{group.Key}/latency";
            var points = group.Select(r => new ValidationPoint(name, "batch", r.M.LoadValue, r.LatencyMs, PredictLatencyMs(r.M, dataRoot))).ToList();
            var first = group.First().M;
            var models = string.Join(" / ", group.Select(r => $"{r.M.Model} TP{r.M.Tp}").Distinct());
            sets.Add(Validation.Summarize(name, "no", points,
                $"offline batch latency (no API server): {first.Engine} {first.EngineVersion}, {models} on {first.Gpu}; {first.SourceUrl}"));
        }
        return sets;
    }

    /// <summary>
    /// The predicted latency of one row: the batch arrives at t = 0 and the latency is the last completion, with no
    /// front-end cost (offline: prompts are token ids, nothing is parsed, tokenized or streamed).
    /// </summary>
    /// <remarks>
    /// Implementation note: the offline engine still detokenizes in its output processor unless told not to, but that
    /// work is pipelined with the engine's steps and only the last step's share (a batch of 8 tokens, well under a
    /// millisecond) could reach the measured wall time, so the front end is left out entirely rather than modelled.
    /// </remarks>
    public static double PredictLatencyMs(ServingMeasurement m, string dataRoot)
    {
        var records = ServingValidation.Records(m, dataRoot, new long[(int)m.LoadValue], FrontEndCost.None);
        if (records.Any(r => r.Status != RequestStatus.Completed))
            throw new ValidationDataException($"error: {m.File}:{m.Row}: batch: {m.LoadValue} requests of {m.InputTokens} + {m.OutputTokens} tokens do not all complete on this layout; allowed: a batch the KV cache holds at once");
        return records.Max(r => r.CompletionNs!.Value) / 1e6;
    }

    /// <summary>
    /// Reads one offline-latency CSV: each row as the <see cref="ServingMeasurement"/> its scenario is generated from (load
    /// <c>burst</c> of <c>batch</c> requests; TTFT, ITL and throughput NaN: not reported) and its measured latency.
    /// </summary>
    private static List<(ServingMeasurement M, double LatencyMs)> Load(string file, string[] lines, string dataRoot)
    {
        var list = new List<(ServingMeasurement, double)>();
        for (int row = 1; row < lines.Length; row++)
        {
            var r = new ServingRow(file, row + 1, lines[row].Split(','), ColumnIndex, dataRoot);
            string Col(string name) => r.Col(name);
            int I(string key, int min) => r.Int(key, min);
            var model = r.CheckCommon();
            list.Add((new ServingMeasurement(file, row + 1, Col("set"), Col("engine"), Col("engine_version"), model, Col("gpu"), I("tp", 1),
                Col("weights"), Col("kv_cache"), r.Int("input_tokens", 1, MaxTokensPerRequest, "a 128K context"), r.Int("output_tokens", 1, MaxTokensPerRequest, "a 128K context"), "burst",
                r.Int("batch", 1, MaxNumSeqs, "the generated scenario's max_num_seqs: the batch runs at once"), 0, 0.9, MaxNumSeqs,
                MaxNumBatchedTokens, Col("statistic"), double.NaN, double.NaN, double.NaN, Col("source_url")), r.Positive("latency_ms")));
        }
        return list;
    }
}
