using System.Globalization;
using System.Text;
using NcclTestsCalibration = Simulator.Hardware.Calibration.NcclTestsCalibration;
using PublicNcclTests = Simulator.Hardware.Calibration.PublicNcclTests;
using PublicNcclRow = Simulator.Hardware.Calibration.PublicNcclRow;
using Simulator.Hardware.Collectives;
using Simulator.Hardware.Specs;
using Simulator.Hardware.Topology;
using Simulator.Inference.Cost;
using Simulator.Inference.Memory;
using Simulator.Inference.Models;
using Simulator.Inference.Parallelism;

namespace Simulator.Scenarios;

/// <summary>One measurement set replayed through the model: relative errors (predicted / measured - 1).</summary>
/// <param name="Set">What was measured, e.g. <c>operators/h200-measured</c>.</param>
/// <param name="Fitted">How the model relates to it: <c>yes</c>, <c>jointly</c>, <c>engine terms</c>, <c>no</c>.</param>
/// <param name="N">Points compared.</param>
/// <param name="MedianAbsError">Median of |predicted / measured - 1|.</param>
/// <param name="P90AbsError">90th percentile of the same (numpy's linear rule).</param>
/// <param name="MaxAbsError">Largest of the same.</param>
/// <param name="SignedBias">Mean of predicted / measured - 1 (positive: the model predicts too much).</param>
/// <param name="Source">The data the set comes from.</param>
public sealed record ValidationSet(string Set, string Fitted, int N, double MedianAbsError, double P90AbsError, double MaxAbsError,
    double SignedBias, string Source)
{
    /// <summary>The compared points, one per measurement (validation_points.csv).</summary>
    public IReadOnlyList<ValidationPoint> Points { get; init; } = [];
}

/// <summary>
/// One measurement and the model's prediction of it (a row of validation_points.csv): <paramref name="XLabel"/> names what
/// <paramref name="SizeOrBatch"/> counts (tokens of an operator, bytes of a collective, sequences of a step, concurrency of
/// a serving point); <paramref name="Measured"/> and <paramref name="Predicted"/> share the set's unit (ms, us, GiB, tokens/s).
/// </summary>
public sealed record ValidationPoint(string Set, string XLabel, double SizeOrBatch, double Measured, double Predicted)
{
    /// <summary>predicted / measured - 1.</summary>
    public double Error => Predicted / Measured - 1;
}

/// <summary>A missing or malformed data file: names the file and, when known, the row (1-based line).</summary>
public sealed class ValidationDataException(string message) : Exception(message);

/// <summary>
/// <c>sim validate</c>: replays every measurement set shipped under <c>data/calibration</c> that the model can predict
/// (operators per GPU, collectives, whole iterations, engine memory budgets) and summarizes each set's error.
/// </summary>
public static class Validation
{
    /// <summary>validation.csv's header.</summary>
    public static readonly IReadOnlyList<string> Columns =
        ["set", "fitted", "n", "median_abs_error", "p90_abs_error", "max_abs_error", "signed_bias", "source"];

    /// <summary>validation_points.csv's header.</summary>
    public static readonly IReadOnlyList<string> PointColumns = ["set", "x_label", "size_or_batch", "measured", "predicted"];

    /// <summary>Runs every set under <paramref name="dataRoot"/> (the repository's <c>data/</c>).</summary>
    public static IReadOnlyList<ValidationSet> Run(string dataRoot)
    {
        string Cal(params string[] parts) => Path.Combine(new[] { dataRoot, "calibration" }.Concat(parts).ToArray());
        var a100 = GpuPresets.Get("A100-SXM-80GB");
        var h100 = GpuPresets.Get("H100-SXM-80GB");
        var h200 = GpuPresets.Get("H200-SXM-141GB");
        List<ValidationSet> sets =
        [
            Operators("operators/a100-vidur", "yes", MlpFiles(Cal("compute", "a100")), a100, CalibrationProfile.A100, "Vidur A100 mlp.csv"),
            Operators("operators/h100-vidur", "jointly", MlpFiles(Cal("compute", "h100")), h100, CalibrationProfile.H100, "Vidur H100 mlp.csv"),
            Operators("operators/h100-measured", "jointly", MlpFiles(Cal("measured", "h100", "meta-llama")), h100, CalibrationProfile.H100,
                "this project's H100 SXM measurements"),
            Operators("operators/h200-measured", "no", MlpFiles(Cal("measured", "h200", "meta-llama")), h200, CalibrationProfile.H100,
                "this project's H200 measurements, H100 profile + H200 datasheet"),
            .. CollectiveSets(dataRoot),
            Steps(Cal("serving", "splitwise-a100.csv"), a100),
            CudaGraphDecodeSteps("steps/h100-cuda-graph", Cal("measured", "h100", "decode_step.csv"), h100),
            CudaGraphDecodeSteps("steps/h200-cuda-graph", Cal("measured", "h200", "decode_step.csv"), h200),
            Memory(Cal("memory", "vllm-h100-memory-profile.csv")),
        ];
        sets.AddRange(ServingValidation.Run(dataRoot));
        sets.AddRange(OfflineLatencyValidation.Run(dataRoot));
        return sets;
    }

    /// <summary>
    /// The collective sets of <see cref="Run"/>: the A100 table the NCCL-structured model is fitted on, then the public
    /// H100 / H200 / B200 nccl-tests figures (in no fit), each followed by its rows per message-size band.
    /// </summary>
    public static List<ValidationSet> CollectiveSets(string dataRoot)
    {
        string Nccl(string file) => Path.Combine(dataRoot, "calibration", "network", "nccl-tests", file);
        return CollectiveBandSets.WithBands(
        [
            Collectives(Nccl("a100_sxm.csv")),
            PublicCollectives("collectives/h100-public", Nccl("h100_public.csv"), "nvlink4",
                "published nccl-tests figures on 2-8x H100 SXM: 8 B-8 GiB sweeps (Together AI; waynehacking8) and peaks (NCCL/nccl-tests issues; vpbenchmarking)"),
            PublicCollectives("collectives/h200-public", Nccl("h200_public.csv"), "nvlink4",
                "published nccl-tests figure on 8x H200 (nccl-tests#272)"),
            PublicCollectives("collectives/b200-public", Nccl("b200_public.csv"), "nvlink5",
                "published nccl-tests peaks on 8x B200 (nccl#1807; Together AI)"),
        ]);
    }

    /// <summary>Writes validation.csv and validation.md into <paramref name="outDir"/>; returns their paths.</summary>
    public static (string Csv, string Markdown) Write(IReadOnlyList<ValidationSet> sets, string outDir)
    {
        Directory.CreateDirectory(outDir);
        var csv = new StringBuilder(string.Join(",", Columns)).Append('\n');
        var md = new StringBuilder("| set | fitted on it? | n | median abs error | p90 | max | signed bias | data |\n|---|---|---|---|---|---|---|---|\n");
        foreach (var s in sets)
        {
            csv.Append(string.Create(CultureInfo.InvariantCulture,
                $"{s.Set},{s.Fitted},{s.N},{s.MedianAbsError:F4},{s.P90AbsError:F4},{s.MaxAbsError:F4},{s.SignedBias:F4},{s.Source.Replace(',', ';')}\n"));
            md.Append(string.Create(CultureInfo.InvariantCulture,
                $"| {s.Set} | {s.Fitted} | {s.N} | {s.MedianAbsError:0.0%} | {s.P90AbsError:0.0%} | {s.MaxAbsError:0.0%} | {s.SignedBias:+0.0%;-0.0%;0.0%} | {s.Source} |\n"));
        }
        string csvPath = Path.Combine(outDir, "validation.csv"), mdPath = Path.Combine(outDir, "validation.md");
        File.WriteAllText(csvPath, csv.ToString());
        File.WriteAllText(mdPath, md.ToString());
        File.WriteAllText(Path.Combine(outDir, "validation_points.csv"), PointsCsv(sets));
        return (csvPath, mdPath);
    }

    /// <summary>validation_points.csv: one row per compared point of every set, in set order ("R" round-trip numbers).</summary>
    public static string PointsCsv(IReadOnlyList<ValidationSet> sets)
    {
        var sb = new StringBuilder(string.Join(",", PointColumns)).Append('\n');
        foreach (var p in sets.SelectMany(s => s.Points))
            sb.Append(string.Create(CultureInfo.InvariantCulture, $"{p.Set},{p.XLabel},{p.SizeOrBatch:R},{p.Measured:R},{p.Predicted:R}\n"));
        return sb.ToString();
    }

    private static List<string> MlpFiles(string dir)
    {
        if (!Directory.Exists(dir)) throw new ValidationDataException($"error: {dir}: missing; expected Vidur-format mlp.csv files under it");
        var files = Directory.GetFiles(dir, "mlp.csv", SearchOption.AllDirectories).OrderBy(p => p, StringComparer.Ordinal).ToList();
        if (files.Count == 0) throw new ValidationDataException($"error: {dir}: no mlp.csv files");
        return files;
    }

    private static ValidationSet Operators(string set, string fitted, List<string> files, GpuSpec gpu, CalibrationProfile p, string source)
    {
        var tables = files.Select(f => Load(f, MeasuredOperatorTable.Load)).ToList();
        var points = CalibrationFitter.Samples(tables)
            .Select(s => new ValidationPoint(set, "tokens", s.Tokens, s.MeasuredMs, CalibrationFitter.PredictMs(s, gpu, p))).ToList();
        return Summarize(set, fitted, points, source);
    }

    private static ValidationSet Collectives(string path)
    {
        const string set = "collectives/a100-nccl-tests";
        var rows = Load(path, NcclTestsCalibration.Load);
        var model = new NcclModel(LinkPresets.Get("nvlink3"));
        var points = rows.Select(r => new ValidationPoint(set, "bytes", r.Bytes, r.LatencyUs, model.TimeUs(r.Op, r.Ranks, r.Bytes))).ToList();
        return Summarize(set, "yes", points, "nccl-tests on 8 x A100 NVSwitch (aiconfigurator collection), NCCL-structured model");
    }

    /// <summary>
    /// A public nccl-tests set on one node: each figure through <see cref="NcclModel"/> on the GPU generation's link,
    /// with the source's algorithm / protocol when it states them (the tuner's pick otherwise). Nothing here was fitted on it.
    /// </summary>
    private static ValidationSet PublicCollectives(string set, string path, string link, string source)
    {
        IReadOnlyList<PublicNcclRow> rows;
        try
        {
            rows = PublicNcclTests.Load(path);
        }
        catch (InvalidDataException ex)
        {
            throw new ValidationDataException(ex.Message);
        }
        var model = new NcclModel(LinkPresets.Get(link));
        var points = new List<ValidationPoint>();
        foreach (var r in rows)
        {
            if (r.Nodes != 1) throw new ValidationDataException($"error: {path}:{r.Line}: nodes: {r.Nodes}; only single-node figures are replayed (1)");
            double us;
            try
            {
                us = model.Estimate(r.Op, r.Ranks, r.Bytes, r.Algorithm, r.Protocol).TimeUs;
            }
            catch (ArgumentException ex)
            {
                string what = System.Text.RegularExpressions.Regex.Replace(ex.Message, @" \(Parameter '[^']*'\)", "");
                throw new ValidationDataException($"error: {path}:{r.Line}: {(ex.ParamName == "protocol" ? "proto" : "algo")}: {what}");
            }
            // Implementation note: replayed as nccl-tests' single-thread runs (one thread drives all num_gpus, -g N), as every
            // public row below 1 MiB is; above, the host floor is far below the collective and changes nothing.
            points.Add(new ValidationPoint(set, "bytes", r.Bytes, r.MeasuredUs, NcclTestsHarness.TimeUs(us, gpusPerThread: r.Ranks)));
        }
        return Summarize(set, "no", points, source);
    }

    private static ValidationSet Steps(string path, GpuSpec gpu)
    {
        var rows = Load(path, p => EngineOverheadFitter.Load(p));
        var model = ModelPresets.Get("llama-2-70b");
        var timer = EngineOverheadFitter.DgxNodeTimer(gpu);
        var profile = CalibrationProfile.A100.WithEngine("splitwise", HostCpu.Epyc7742);
        const string set = "steps/splitwise-a100";
        var points = new List<ValidationPoint>();
        foreach (var r in rows)
        {
            var (pre, dec) = EngineOverheadFitter.Predict(r, model, gpu, profile, timer);
            if (!r.PromptTimeSuspect) points.Add(new ValidationPoint(set, "batch", r.Batch, r.PromptMs, pre));
            points.Add(new ValidationPoint(set, "batch", r.Batch, r.TokenMs, dec));
        }
        return Summarize(set, "engine terms", points, "Splitwise DGX-A100 Llama-2-70B TP 2/4/8, prefill and decode (NCCL-structured collective timer)");
    }

    /// <summary>
    /// Whole decode steps of a Llama-3.1-8B-shaped decoder captured in a CUDA graph and replayed on one GPU
    /// (tools/gpu-measure/measure_decode.py), never fitted, against the kernel terms under <c>engine: vllm</c> (per-kernel
    /// time capped for graph replay); the host-side engine terms are left out, since the measurement has no scheduler.
    /// </summary>
    private static ValidationSet CudaGraphDecodeSteps(string set, string path, GpuSpec gpu)
    {
        var lines = Lines(path);
        var header = lines[0].Split(',');
        int Col(string name) =>
            Array.IndexOf(header, name) is var i and >= 0 ? i : throw new ValidationDataException($"error: {path}:1: {name}: missing column");
        int cModel = Col("model"), cBatch = Col("batch"), cContext = Col("context"), cMedian = Col("median_ms");
        var timer = new NcclCollectiveTimer(ClusterTopology.FromPresets(gpu.Name, 1, 8));
        var profile = CalibrationProfile.For(gpu).WithEngine("vllm");
        var points = new List<ValidationPoint>();
        for (int row = 1; row < lines.Length; row++)
        {
            var f = lines[row].Split(',');
            try
            {
                int batch = int.Parse(f[cBatch], CultureInfo.InvariantCulture), context = int.Parse(f[cContext], CultureInfo.InvariantCulture);
                double measured = double.Parse(f[cMedian], CultureInfo.InvariantCulture);
                var r = StepProbe.Run(ModelPresets.Get(f[cModel]), gpu, 1, 1, 1, StepPhase.Decode, batch, context, null, timer, profile);
                points.Add(new ValidationPoint(set, "batch", batch, measured, r.TimeMs - r.BreakdownMs.GetValueOrDefault("engine_overhead")));
            }
            catch (Exception ex) when (ex is FormatException or ArgumentException or KeyNotFoundException)
            {
                throw new ValidationDataException($"error: {path}:{row + 1}: {ex.Message}");
            }
        }
        return Summarize(set, "no", points, $"this project's {gpu.Name} CUDA-graph decode steps, Llama-3.1-8B shape, kernel terms only");
    }

    private static ValidationSet Memory(string path)
    {
        var lines = Lines(path);
        var header = lines[0].Split(',');
        int Col(string name) =>
            Array.IndexOf(header, name) is var i and >= 0 ? i : throw new ValidationDataException($"error: {path}:1: {name}: missing column");
        const string set = "memory/vllm-h100";
        var points = new List<ValidationPoint>();
        for (int row = 1; row < lines.Length; row++)
        {
            var f = lines[row].Split(',');
            if (!ModelPresets.TryGet(f[Col("model")], out var model)) continue;
            try
            {
                double D(string c) => double.Parse(f[Col(c)], CultureInfo.InvariantCulture);
                int I(string c) => int.Parse(f[Col(c)], CultureInfo.InvariantCulture);
                var weights = f[Col("weights_precision")];
                var plan = MemoryPlanner.Plan(model, Precision.Parse(weights, weights == "fp8" ? "fp8" : "bf16"),
                    new ParallelPlan(Tp: I("tp")), GpuPresets.Get(f[Col("gpu")]),
                    new MemorySettings(I("max_num_batched_tokens"), I("max_num_seqs"), D("gpu_memory_utilization"), 16, MemoryAccounting.Vllm));
                points.Add(new ValidationPoint(set, "tp", I("tp"), D("kv_cache_gib"), plan.Stages[0].KvBytes / MemoryArithmetic.BytesPerGiB));
            }
            catch (Exception ex) when (ex is FormatException or ArgumentException or KeyNotFoundException)
            {
                throw new ValidationDataException($"error: {path}:{row + 1}: {ex.Message}");
            }
        }
        return Summarize(set, "terms set from it", points, "vLLM 0.11 KV budget on H100 (llm-d logs), rows with a preset model");
    }

    /// <summary>Reads a CSV's lines, checking that every row has the header's field count (the files hold no quotes).</summary>
    internal static string[] Lines(string path)
    {
        if (!File.Exists(path)) throw new ValidationDataException($"error: {path}: missing");
        var lines = File.ReadAllLines(path).Where(l => l.Length > 0).ToArray();
        if (lines.Length < 2) throw new ValidationDataException($"error: {path}: no data rows");
        int fields = lines[0].Split(',').Length;
        for (int i = 1; i < lines.Length; i++)
        {
            int n = lines[i].Split(',').Length;
            if (n != fields) throw new ValidationDataException($"error: {path}:{i + 1}: {n} fields; the header has {fields}");
        }
        return lines;
    }

    private static T Load<T>(string path, Func<string, T> load)
    {
        Lines(path);
        try
        {
            return load(path);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or KeyNotFoundException or InvalidDataException or IndexOutOfRangeException)
        {
            throw new ValidationDataException($"error: {path}: {ex.Message}");
        }
    }

    /// <summary>The set's row: n, median / p90 / max of |error| and the mean signed error over <paramref name="points"/>.</summary>
    public static ValidationSet Summarize(string set, string fitted, List<ValidationPoint> points, string source)
    {
        if (points.Count == 0) throw new ValidationDataException($"error: {set}: no comparable points in {source}");
        var errors = points.Select(p => p.Error).ToList();
        var abs = errors.Select(Math.Abs).OrderBy(e => e).ToArray();
        double Quantile(double q)
        {
            double pos = q * (abs.Length - 1);
            int lo = (int)Math.Floor(pos), hi = (int)Math.Ceiling(pos);
            return abs[lo] + (abs[hi] - abs[lo]) * (pos - lo);
        }
        return new ValidationSet(set, fitted, abs.Length, Quantile(0.5), Quantile(0.9), abs[^1], errors.Average(), source) { Points = points };
    }
}
