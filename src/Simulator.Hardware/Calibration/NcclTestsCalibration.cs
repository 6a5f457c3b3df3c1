using System.Globalization;
using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.Optimization;
using Simulator.Hardware.Collectives;

namespace Simulator.Hardware.Calibration;

/// <summary>One row of nccl-tests output: <c>bytes</c> is the nccl-tests size, <c>LatencyUs</c> the measured time.</summary>
public sealed record NcclTestsRow(CollectiveOp Op, int Ranks, string Dtype, long Bytes, double LatencyUs, double AlgBwGBps, double BusBwGBps);

/// <summary>The result of fitting one tier: its profile, the per-step latency (a link property) and the fit quality.</summary>
public sealed record NcclTierFit(TierProfile Profile, double StepLatencyUs, double SumSquaredLogError, int Rows);

/// <summary>
/// Fits a <see cref="TierProfile"/> to nccl-tests results measured on one tier (e.g. one NVSwitch node). Model per row
/// (ring for all-reduce / all-gather / reduce-scatter, direct for all-to-all, as NCCL runs them on NVSwitch):
/// T = base + steps x a + switch(S/n) + busFactor x S / (B x peak_op x ramp(S)), with steps 2(n-1) for all-reduce and
/// n-1 otherwise, ramp(S) = 1 / (1 + (half/S)^p), switch a smooth step of height L at per-rank chunk c.
/// Ten parameters for the whole tier (base, a, half, p, c, L, four peaks), fitted by Nelder-Mead on the sum of squared
/// log errors (relative errors, so 512 B and 512 MiB rows weigh alike).
/// </summary>
public static class NcclTestsCalibration
{
    /// <summary>Reads an nccl-tests CSV with columns op, num_gpus, dtype, bytes, latency_us, algbw_GBps, busbw_GBps.</summary>
    public static IReadOnlyList<NcclTestsRow> Load(string path)
    {
        using var reader = new StreamReader(path);
        string header = reader.ReadLine() ?? throw new InvalidDataException($"{path}: empty file");
        var cols = header.Split(',').Select(c => c.Trim()).ToList();
        int Col(string name)
        {
            int i = cols.IndexOf(name);
            return i >= 0 ? i : throw new InvalidDataException($"{path}: missing column '{name}'");
        }
        int op = Col("op"), n = Col("num_gpus"), dt = Col("dtype"), b = Col("bytes"), lat = Col("latency_us"), alg = Col("algbw_GBps"), bus = Col("busbw_GBps");
        var rows = new List<NcclTestsRow>();
        var ci = CultureInfo.InvariantCulture;
        string? line;
        int lineNo = 1;
        while ((line = reader.ReadLine()) != null)
        {
            lineNo++;
            if (line.Length == 0) continue;
            var f = line.Split(',');
            try
            {
                rows.Add(new NcclTestsRow(Names.ParseOp(f[op]), int.Parse(f[n], ci), f[dt], long.Parse(f[b], ci),
                    double.Parse(f[lat], ci), double.Parse(f[alg], ci), double.Parse(f[bus], ci)));
            }
            catch (Exception e) when (e is FormatException or ArgumentException or IndexOutOfRangeException)
            {
                throw new InvalidDataException($"{path}:{lineNo}: {e.Message}", e);
            }
        }
        return rows;
    }

    /// <summary>Closed-form prediction of the fit model for one row (identical to <see cref="AnalyticCollectives"/> on an NVSwitch node).</summary>
    public static double PredictUs(TierProfile profile, double stepLatencyUs, double linkGBps, CollectiveOp op, int ranks, double bytes)
    {
        int steps = op == CollectiveOp.AllReduce ? 2 * (ranks - 1) : ranks - 1;
        double bytesPerUs = linkGBps * 1e3;
        return profile.BaseLatencyUs + steps * stepLatencyUs + profile.ProtocolSwitchUs(op, bytes / ranks)
               + CollectiveEstimate.BusFactor(op, ranks) * bytes / (bytesPerUs * profile.Efficiency(op, bytes));
    }

    /// <summary>Fits the tier profile and per-step latency to <paramref name="rows"/> measured on links of <paramref name="linkGBps"/>.</summary>
    public static NcclTierFit Fit(IReadOnlyList<NcclTestsRow> rows, double linkGBps)
    {
        if (rows.Count == 0) throw new ArgumentException("no rows to fit", nameof(rows));
        // x = [base, a, ln half, p, ln chunk, L, peakAR, peakAG, peakRS, peakA2A]
        double Loss(Vector<double> x)
        {
            if (x[0] < 0 || x[1] < 0 || x[3] <= 0.05 || x[3] > 3 || x[5] < 0) return 1e12;
            for (int i = 6; i < 10; i++) if (x[i] <= 0.02 || x[i] > 1.0) return 1e12;
            var p = ToProfile(x);
            double sum = 0;
            foreach (var r in rows)
            {
                double e = Math.Log(PredictUs(p, x[1], linkGBps, r.Op, r.Ranks, r.Bytes) / r.LatencyUs);
                sum += e * e;
            }
            return sum;
        }
        var guess = Vector<double>.Build.DenseOfArray(new[] { 8.0, 1.0, Math.Log(1e6), 0.7, Math.Log(3e5), 15, 0.7, 0.6, 0.65, 0.65 });
        var step = Vector<double>.Build.DenseOfArray(new[] { 2.0, 0.3, 1.0, 0.2, 0.5, 5, 0.1, 0.1, 0.1, 0.1 });
        var objective = ObjectiveFunction.Value(Loss);
        double best = Loss(guess);
        for (int round = 0; round < 8; round++)
        {
            var solver = new NelderMeadSimplex(1e-12, 4000);
            Vector<double> x;
            try
            {
                x = solver.FindMinimum(objective, guess, step).MinimizingPoint;
            }
            catch (MaximumIterationsException)
            {
                // keep restarting from the best simplex point found by a shorter run
                x = ShortRun(objective, guess, step);
            }
            double v = Loss(x);
            if (v < best - 1e-12)
            {
                best = v;
                guess = x;
            }
            else if (round >= 2) break;
            step = step * 0.5;
        }
        return new NcclTierFit(ToProfile(guess), guess[1], best, rows.Count);
    }

    private static Vector<double> ShortRun(IObjectiveFunction objective, Vector<double> guess, Vector<double> step)
    {
        for (int iters = 2000; iters >= 250; iters /= 2)
        {
            try
            {
                return new NelderMeadSimplex(1e-6, iters).FindMinimum(objective, guess, step).MinimizingPoint;
            }
            catch (MaximumIterationsException)
            {
            }
        }
        return guess;
    }

    private static TierProfile ToProfile(Vector<double> x) => new(
        BaseLatencyUs: x[0], RampHalfBytes: Math.Exp(x[2]), RampExponent: x[3],
        ProtocolSwitchChunkBytes: Math.Exp(x[4]), ProtocolSwitchLatencyUs: x[5],
        AllReducePeakEfficiency: x[6], AllGatherPeakEfficiency: x[7], ReduceScatterPeakEfficiency: x[8], AllToAllPeakEfficiency: x[9]);
}
