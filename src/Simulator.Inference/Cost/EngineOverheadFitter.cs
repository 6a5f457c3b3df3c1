using System.Globalization;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.Optimization;
using Simulator.Hardware.Collectives;
using Simulator.Hardware.Specs;
using Simulator.Hardware.Topology;
using Simulator.Inference.Models;
using Simulator.Inference.Parallelism;

namespace Simulator.Inference.Cost;

/// <summary>One measured configuration of Splitwise's DGX-A100 profile (medians over repeated rows).</summary>
public readonly record struct ServingMeasurement(string Model, int Tp, int PromptTokens, int Batch, int OutputTokens, double PromptMs, double TokenMs)
{
    /// <summary>
    /// TP2 batch-64 prompt times are an order of magnitude below TP2 batch-32 (794 ms vs 6,633 ms):
    /// the source flags them as wrong, so prefill fits and accuracy tables skip them.
    /// </summary>
    public bool PromptTimeSuspect => Tp == 2 && Batch == 64;
}

/// <summary>
/// Fits the engine terms of a <see cref="CalibrationProfile"/> (per-iteration overhead, per-sequence
/// and per-token overheads, CPU dispatch floor per layer) to whole-iteration timings
/// (splitwise-a100.csv: prompt_time = prefill of the batch, token_time = one decode iteration), on
/// top of the kernel terms and a collective timer, by least squares on log(predicted / measured).
/// </summary>
public static class EngineOverheadFitter
{
    /// <summary>Reads splitwise-a100.csv and returns one row per distinct configuration of <paramref name="model"/>.</summary>
    public static List<ServingMeasurement> Load(string path, string model = "llama2-70b")
    {
        var lines = File.ReadAllLines(path);
        var header = lines[0].Split(',');
        int Col(string n) { var i = Array.IndexOf(header, n); return i >= 0 ? i : throw new FormatException($"{path}: missing column '{n}'"); }
        int cM = Col("model"), cP = Col("prompt_size"), cB = Col("batch_size"), cT = Col("token_size"),
            cPt = Col("prompt_time"), cTt = Col("token_time"), cTp = Col("tensor_parallel");
        var groups = new SortedDictionary<(int, int, int, int), List<(double, double)>>();
        for (var r = 1; r < lines.Length; r++)
        {
            if (lines[r].Length == 0) continue;
            var f = lines[r].Split(',');
            if (f[cM] != model) continue;
            int I(int c) => int.Parse(f[c], CultureInfo.InvariantCulture);
            double D(int c) => double.Parse(f[c], CultureInfo.InvariantCulture);
            var key = (I(cTp), I(cP), I(cB), I(cT));
            if (!groups.TryGetValue(key, out var list)) groups[key] = list = [];
            list.Add((D(cPt), D(cTt)));
        }
        return groups.Select(g => new ServingMeasurement(model, g.Key.Item1, g.Key.Item2, g.Key.Item3, g.Key.Item4,
            Median(g.Value.Select(v => v.Item1)), Median(g.Value.Select(v => v.Item2)))).ToList();
    }

    /// <summary>
    /// The collective timer the serving path prices a one-node replica with (<c>RunBuilder</c>: NCCL's structure inside an
    /// NVSwitch node), on the 8-GPU node of <paramref name="gpu"/> that Splitwise measured: fits and checks of the engine
    /// terms use it so the terms are the ones the simulator's collectives need.
    /// </summary>
    public static ICollectiveTimer DgxNodeTimer(GpuSpec gpu) => new NcclCollectiveTimer(ClusterTopology.FromPresets(gpu.Name, 1, 8));

    /// <summary>Predicted (prefill ms, decode ms) of a measurement with llama-2-70b on one DGX node.</summary>
    public static (double PrefillMs, double DecodeMs) Predict(ServingMeasurement m, ModelSpec model, GpuSpec gpu,
        CalibrationProfile p, ICollectiveTimer timer)
    {
        var plan = new ParallelPlan(Tp: m.Tp);
        var placement = PlacementTable.Build(plan, new ClusterShape(1, 8));
        var cost = new RooflineStageCostModel(model, Precision.Default, plan, placement, gpu, p, timer);
        var prefill = new SequenceWork[m.Batch];
        var decode = new SequenceWork[m.Batch];
        // token_time averages the decode steps: mean context = prompt + half the output.
        for (var i = 0; i < m.Batch; i++)
        {
            prefill[i] = new SequenceWork(m.PromptTokens, 0);
            decode[i] = new SequenceWork(1, m.PromptTokens + m.OutputTokens / 2);
        }
        return (cost.Estimate(0, prefill).TotalNs / 1e6, cost.Estimate(0, decode).TotalNs / 1e6);
    }

    /// <summary>Fits the engine terms of <paramref name="start"/> (kernel terms kept) to the measurements.</summary>
    public static CalibrationProfile Fit(IReadOnlyList<ServingMeasurement> rows, ModelSpec model, GpuSpec gpu,
        CalibrationProfile start, ICollectiveTimer timer, string name)
    {
        CalibrationProfile Make(Vector<double> x) => start with
        {
            Name = name, IterationOverheadUs = x[0], PerSequenceOverheadUs = x[1], PerTokenOverheadUs = x[2], CpuFloorPerLayerUs = x[3],
        };
        double Objective(Vector<double> x)
        {
            for (var i = 0; i < 4; i++) if (x[i] < 0) return 1e12;
            var p = Make(x);
            double sum = 0;
            foreach (var r in rows)
            {
                var (pre, dec) = Predict(r, model, gpu, p, timer);
                if (!r.PromptTimeSuspect) sum += Sq(Math.Log(pre / r.PromptMs));
                sum += Sq(Math.Log(dec / r.TokenMs));
            }
            return sum;
        }
        var x0 = Vector<double>.Build.DenseOfArray([start.IterationOverheadUs, start.PerSequenceOverheadUs, start.PerTokenOverheadUs, start.CpuFloorPerLayerUs]);
        var best = new NelderMeadSimplex(1e-8, 4000).FindMinimum(ObjectiveFunction.Value(Objective), x0).MinimizingPoint;
        return Make(Vector<double>.Build.DenseOfArray([Math.Round(best[0]), Math.Round(best[1]), Math.Round(best[2], 1), Math.Round(best[3])]));
    }

    private static double Sq(double x) => x * x;

    internal static double Median(IEnumerable<double> values)
    {
        var a = values.OrderBy(v => v).ToArray();
        return a.Length % 2 == 1 ? a[a.Length / 2] : (a[a.Length / 2 - 1] + a[a.Length / 2]) / 2;
    }
}
