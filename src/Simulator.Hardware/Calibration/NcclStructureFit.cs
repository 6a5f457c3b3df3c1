using MathNet.Numerics.LinearAlgebra;
using Simulator.Hardware.Collectives;
using Simulator.Hardware.Specs;

namespace Simulator.Hardware.Calibration;

/// <summary>The result of <see cref="NcclStructureFit.Fit"/>: the tuning and its sum of squared log errors over the rows.</summary>
public sealed record NcclStructureFitResult(NcclTuning Tuning, double SumSquaredLogError, int Rows);

/// <summary>
/// Fits <see cref="NcclTuning"/> (14 terms: three protocol base costs, three NVLink hop latencies, four Simple link
/// fractions, the ramp's half size and exponent, all-to-all's step exponent, the ring fill share) to nccl-tests rows measured on one node,
/// by Nelder-Mead on the sum of squared log errors of the tuner's pick (<see cref="NcclModel"/>): each row is predicted
/// as the fastest enabled (algorithm, protocol), as NCCL's tuner runs the pair its cost model ranks first, so where LL,
/// LL128 and Simple hand over comes out of the fitted costs of each protocol rather than from a fitted threshold.
/// </summary>
public static class NcclStructureFit
{
    /// <summary>Predicted time of one row under <paramref name="tuning"/> on an NVLink node of <paramref name="link"/>.</summary>
    public static double PredictUs(NcclTuning tuning, LinkSpec link, CollectiveOp op, int ranks, long bytes) =>
        new NcclModel(link, tuning).TimeUs(op, ranks, bytes);

    /// <summary>Fits the tuning to <paramref name="rows"/> measured on a node whose GPUs are joined by <paramref name="link"/>.</summary>
    public static NcclStructureFitResult Fit(IReadOnlyList<NcclTestsRow> rows, LinkSpec link, NcclTuning? start = null)
    {
        if (rows.Count == 0) throw new ArgumentException("no rows to fit", nameof(rows));
        var s = start ?? NcclTuning.A100Fit;

        double Loss(Vector<double> x)
        {
            for (int i = 0; i < 6; i++) if (x[i] < 0 || x[i] > 100) return 1e12;
            // NCCL's protocols trade latency for bandwidth: LL has the lowest fixed cost and hop latency, Simple the highest.
            if (x[0] > x[1] || x[1] > x[2] || x[3] > x[4] || x[4] > x[5]) return 1e12;
            for (int i = 6; i < 10; i++) if (x[i] <= 0.05 || x[i] > 1.0) return 1e12;
            if (x[11] <= 0.1 || x[11] > 3 || x[12] < 0.2 || x[12] > 1.5 || x[13] < 0 || x[13] > 1.5) return 1e12;
            var t = ToTuning(x);
            double sum = 0;
            var model = new NcclModel(link, t);
            foreach (var r in rows)
            {
                double e = Math.Log(model.TimeUs(r.Op, r.Ranks, r.Bytes) / r.LatencyUs);
                sum += e * e;
            }
            return sum;
        }
        var x0 = Vector<double>.Build.DenseOfArray(new[]
        {
            s.LlBaseUs, s.Ll128BaseUs, s.SimpleBaseUs, s.LlHopUs, s.Ll128HopUs, s.SimpleHopUs,
            s.AllReduceLinkFraction, s.AllGatherLinkFraction, s.ReduceScatterLinkFraction, s.AllToAllLinkFraction,
            Math.Log(s.RampHalfBytes), s.RampExponent, s.AllToAllStepExponent, s.RingFillShare,
        });
        var step = Vector<double>.Build.DenseOfArray(new[] { 2.0, 2.0, 2.0, 0.2, 0.3, 0.5, 0.1, 0.1, 0.1, 0.1, 0.7, 0.15, 0.1, 0.15 });
        var x = NcclTestsCalibration.Refine(Loss, x0, step);
        return new NcclStructureFitResult(ToTuning(x), Loss(x), rows.Count);
    }

    private static NcclTuning ToTuning(Vector<double> x) => new(
        LlBaseUs: x[0], Ll128BaseUs: x[1], SimpleBaseUs: x[2], LlHopUs: x[3], Ll128HopUs: x[4], SimpleHopUs: x[5],
        AllReduceLinkFraction: x[6], AllGatherLinkFraction: x[7], ReduceScatterLinkFraction: x[8], AllToAllLinkFraction: x[9],
        RampHalfBytes: Math.Exp(x[10]), RampExponent: x[11], AllToAllStepExponent: x[12], RingFillShare: x[13]);
}
