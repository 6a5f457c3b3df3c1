using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.Optimization;
using Simulator.Hardware.Specs;

namespace Simulator.Inference.Cost;

/// <summary>One measured operator time with the GEMM shape it ran (per GPU).</summary>
public readonly record struct OperatorSample(string Source, string Op, int Tokens, int Tp, double InDim, double OutDim, double MeasuredMs);

/// <summary>
/// Fits the kernel terms of a <see cref="CalibrationProfile"/> (eta_c max, the token count at half
/// efficiency, eta_m, launch overhead) to Vidur operator tables by least squares on the log of
/// predicted / measured time (so a 10% miss weighs the same on a 10 us and a 10 ms kernel), with
/// MathNet's Nelder-Mead minimizer.
/// </summary>
public static class CalibrationFitter
{
    /// <summary>The GEMM shapes of the four linear operators of a table's model, per GPU at TP <paramref name="tp"/>.</summary>
    public static (double In, double Out) Shape(MeasuredOperatorTable t, string op, int tp)
    {
        double h = t.Hidden, hd = (double)t.Hidden / t.Heads;
        double heads = (double)t.Heads / tp, kv = Math.Max(1.0, (double)t.KvHeads / tp), f = (double)t.Ffn / tp;
        return op switch
        {
            MeasuredOperatorTable.AttnPreProj => (h, (heads + 2 * kv) * hd),
            MeasuredOperatorTable.AttnPostProj => (heads * hd, h),
            MeasuredOperatorTable.MlpUpProj => (h, (t.GatedMlp ? 2 : 1) * f),
            MeasuredOperatorTable.MlpDownProj => (f, h),
            _ => throw new ArgumentException($"unknown operator '{op}'"),
        };
    }

    /// <summary>Samples of the four linear operators of every table, up to <paramref name="maxTokens"/> tokens.</summary>
    public static List<OperatorSample> Samples(IEnumerable<MeasuredOperatorTable> tables, int maxTokens = 4096)
    {
        var list = new List<OperatorSample>();
        foreach (var t in tables)
            foreach (var s in t.Samples)
            {
                if (s.Tokens > maxTokens) continue;
                var (i, o) = Shape(t, s.Op, s.Tp);
                list.Add(new OperatorSample(t.SourcePath, s.Op, s.Tokens, s.Tp, i, o, s.Ms));
            }
        return list;
    }

    /// <summary>Roofline prediction (ms) of one sample with bf16 weights.</summary>
    public static double PredictMs(OperatorSample s, GpuSpec gpu, CalibrationProfile p) =>
        Roofline.LinearSeconds(s.Tokens, s.InDim, s.OutDim, 2, gpu.Bf16Tflops * 1e12, gpu.HbmBytesPerSecond, p) * 1e3;

    /// <summary>Fits the kernel terms of <paramref name="start"/> (engine terms kept) to <paramref name="samples"/>.</summary>
    public static CalibrationProfile Fit(IReadOnlyList<OperatorSample> samples, GpuSpec gpu, CalibrationProfile start, string name) =>
        Fit(new[] { (samples, gpu) }, start, name);

    /// <summary>
    /// Fits one set of kernel terms to several measurement sets at once, each on its own GPU's datasheet peaks and
    /// each weighing the same whatever its size (the objective is the sum over sets of each set's mean squared log
    /// error), so a large file cannot drown a small one measured another way.
    /// </summary>
    public static CalibrationProfile Fit(IReadOnlyList<(IReadOnlyList<OperatorSample> Samples, GpuSpec Gpu)> sets, CalibrationProfile start, string name)
    {
        if (sets.Count == 0 || sets.Any(s => s.Samples.Count == 0)) throw new ArgumentException("no samples to fit");
        CalibrationProfile Make(Vector<double> x) => start with
        {
            Name = name, EtaComputeMax = x[0], ComputeHalfTokens = x[1], EtaMemory = x[2], KernelLaunchUs = x[3],
        };
        double Objective(Vector<double> x)
        {
            if (x[0] <= 0.05 || x[0] > 1 || x[1] < 0 || x[2] <= 0.05 || x[2] > 1 || x[3] < 0) return 1e12;
            var p = Make(x);
            double total = 0;
            foreach (var (samples, gpu) in sets)
            {
                double sum = 0;
                foreach (var s in samples)
                {
                    var r = Math.Log(PredictMs(s, gpu, p) / s.MeasuredMs);
                    sum += r * r;
                }
                total += sum / samples.Count;
            }
            return total;
        }
        var best = Vector<double>.Build.DenseOfArray([start.EtaComputeMax, start.ComputeHalfTokens, start.EtaMemory, start.KernelLaunchUs]);
        // Nelder-Mead restarted from its own answer until it stops moving (a fresh simplex escapes a collapsed one).
        double bestValue = Objective(best);
        for (int round = 0; round < 4; round++)
        {
            var result = new NelderMeadSimplex(1e-10, 20000).FindMinimum(ObjectiveFunction.Value(Objective), best);
            double value = result.FunctionInfoAtMinimum.Value;
            bool moved = bestValue - value > 1e-9;
            best = result.MinimizingPoint;
            bestValue = Math.Min(bestValue, value);
            if (!moved) break;
        }
        return Make(Vector<double>.Build.DenseOfArray([Math.Round(best[0], 3), Math.Round(best[1], 1), Math.Round(best[2], 3), Math.Round(best[3], 2)]));
    }

    /// <summary>Median of |predicted / measured - 1| over the samples.</summary>
    public static double MedianAbsRelError(IReadOnlyList<OperatorSample> samples, GpuSpec gpu, CalibrationProfile p)
    {
        var errs = samples.Select(s => Math.Abs(PredictMs(s, gpu, p) / s.MeasuredMs - 1)).OrderBy(e => e).ToArray();
        return errs.Length % 2 == 1 ? errs[errs.Length / 2] : (errs[errs.Length / 2 - 1] + errs[errs.Length / 2]) / 2;
    }
}
