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
/// T = base + steps x a + switch(op, n, S/n) + busFactor x S / (B x peak_op x ramp(S)), with steps 2(n-1) for
/// all-reduce, n-1 for all-gather / reduce-scatter and (n-1)^q for all-to-all (its sends overlap),
/// ramp(S) = 1 / (1 + (half/S)^p), and switch a smooth step of height L x n^delta at per-rank chunk
/// c x n^gamma (x r for all-reduce): NCCL's tuner leaves LL/LL128 for Simple at a chunk that shrinks with the rank
/// count, and Simple's extra latency shrinks as more ranks spread it over more channels.
/// Fourteen parameters for the whole tier (base, a, half, p, c, gamma, L, delta, four peaks, q, r), fitted by
/// Nelder-Mead on the sum of squared log errors (relative errors, so 512 B and 512 MiB rows weigh alike).
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
        double steps = profile.LatencySteps(op, op == CollectiveOp.AllReduce ? 2 * (ranks - 1) : ranks - 1);
        double bytesPerUs = linkGBps * 1e3;
        return profile.BaseLatencyUs + steps * stepLatencyUs + profile.ProtocolSwitchUs(op, ranks, bytes / ranks)
               + CollectiveEstimate.BusFactor(op, ranks) * bytes / (bytesPerUs * profile.Efficiency(op, bytes));
    }

    /// <summary>Fits the tier profile and per-step latency to <paramref name="rows"/> measured on links of <paramref name="linkGBps"/>.</summary>
    public static NcclTierFit Fit(IReadOnlyList<NcclTestsRow> rows, double linkGBps)
    {
        if (rows.Count == 0) throw new ArgumentException("no rows to fit", nameof(rows));
        // x = [base, a, ln half, p, ln chunk, L, peakAR, peakAG, peakRS, peakA2A, gamma, delta, q, ln r]
        double Loss(Vector<double> x)
        {
            if (x[0] < 0 || x[1] < 0 || x[3] <= 0.05 || x[3] > 3 || x[5] < 0) return 1e12;
            for (int i = 6; i < 10; i++) if (x[i] <= 0.02 || x[i] > 1.0) return 1e12;
            if (Math.Abs(x[10]) > 2 || Math.Abs(x[11]) > 2 || x[12] < 0.2 || x[12] > 1.5 || Math.Abs(x[13]) > 2) return 1e12;
            var p = ToProfile(x);
            double sum = 0;
            foreach (var r in rows)
            {
                double e = Math.Log(PredictUs(p, x[1], linkGBps, r.Op, r.Ranks, r.Bytes) / r.LatencyUs);
                sum += e * e;
            }
            return sum;
        }
        // The protocol step makes the loss rugged along its threshold: start from a few thresholds and keep the best.
        Vector<double>? bestX = null;
        double bestLoss = double.PositiveInfinity;
        foreach (double chunk0 in new[] { 3e5, 7e5, 1.5e6 })
        {
            var start = Vector<double>.Build.DenseOfArray(new[] { 8.0, 1.0, Math.Log(1e6), 0.7, Math.Log(chunk0), 15, 0.7, 0.6, 0.65, 0.65, -0.3, -0.3, 1, 0 });
            var x = Refine(Loss, start);
            double v = Loss(x);
            if (v < bestLoss)
            {
                bestLoss = v;
                bestX = x;
            }
        }
        return new NcclTierFit(ToProfile(bestX!), bestX![1], bestLoss, rows.Count);
    }

    internal static Vector<double> Refine(Func<Vector<double>, double> loss, Vector<double> guess, Vector<double>? firstStep = null)
    {
        var objective = ObjectiveFunction.Value(loss);
        var step = firstStep ?? Vector<double>.Build.DenseOfArray(new[] { 2.0, 0.3, 1.0, 0.2, 0.5, 5, 0.1, 0.1, 0.1, 0.1, 0.2, 0.2, 0.1, 0.2 });
        double best = loss(guess);
        // Restarted Nelder-Mead: every round starts a fresh simplex around the best point so far (sized from the
        // parameters themselves, then finer), until two rounds in a row bring nothing.
        int stale = 0;
        for (int round = 0; round < 30 && stale < 2; round++)
        {
            double scale = round < 6 ? 0.2 : 0.06;
            var g = guess;
            var roundStep = round == 0 ? step : Vector<double>.Build.Dense(g.Count, i => Math.Max(0.05, Math.Abs(g[i]) * scale));
            Vector<double> x;
            try
            {
                x = new NelderMeadSimplex(1e-10, 20000).FindMinimum(objective, guess, roundStep).MinimizingPoint;
            }
            catch (MaximumIterationsException)
            {
                x = ShortRun(objective, guess, roundStep);
            }
            double v = loss(x);
            if (v < best - 1e-6)
            {
                best = v;
                guess = x;
                stale = 0;
            }
            else stale++;
        }
        return guess;
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
        AllReducePeakEfficiency: x[6], AllGatherPeakEfficiency: x[7], ReduceScatterPeakEfficiency: x[8], AllToAllPeakEfficiency: x[9],
        ProtocolSwitchRankExponent: x[10], ProtocolSwitchLatencyRankExponent: x[11], AllToAllStepExponent: x[12], AllReduceSwitchScale: Math.Exp(x[13]));
}
