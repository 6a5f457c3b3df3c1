namespace Simulator.Inference.Cost;

/// <summary>
/// Kernel-level roofline formulas shared by the cost model and its calibration: a kernel takes the
/// larger of its compute time and its memory time, plus a launch overhead.
/// </summary>
public static class Roofline
{
    /// <summary>
    /// Seconds for a GEMM of <paramref name="tokens"/> rows through an in x out weight matrix:
    /// FLOPs = 2 x T x in x out at peak x eta_c(T); bytes = weights + activations in and out (16-bit)
    /// at HBM x eta_m; plus one kernel launch.
    /// </summary>
    public static double LinearSeconds(double tokens, double inDim, double outDim, double weightBytes,
        double peakFlops, double hbmBytesPerSecond, CalibrationProfile p)
    {
        if (tokens <= 0) return 0;
        var flops = 2.0 * tokens * inDim * outDim;
        var bytes = inDim * outDim * weightBytes + tokens * (inDim + outDim) * 2.0;
        var compute = flops / (peakFlops * p.EtaCompute(tokens));
        var memory = bytes / (hbmBytesPerSecond * p.EtaMemory);
        return Math.Max(compute, memory) + p.KernelLaunchUs * 1e-6;
    }

    /// <summary>Seconds of a kernel given its FLOPs, bytes and compute efficiency (plus one launch).</summary>
    public static double KernelSeconds(double flops, double bytes, double peakFlops, double etaCompute,
        double hbmBytesPerSecond, CalibrationProfile p) =>
        Math.Max(flops / (peakFlops * etaCompute), bytes / (hbmBytesPerSecond * p.EtaMemory)) + p.KernelLaunchUs * 1e-6;
}
