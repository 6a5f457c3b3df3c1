using Simulator.Hardware.Calibration;

namespace Simulator.Hardware.Collectives;

/// <summary>
/// How nccl-tests' printed time relates to a collective's own time. In eager mode (no <c>-G</c>) every iteration of the
/// benchmark loop is issued by the host: one NCCL call (enqueue and kernel launch) per GPU that the thread drives, so a
/// thread driving g GPUs (<c>-g g</c>; <c>-t n -g 1</c> gives one GPU per thread) cannot finish an iteration faster than
/// g x <see cref="HostIssueUsPerGpu"/>. The printed time is therefore max(collective time, g x host issue cost). It matters
/// only at small sizes (tens of us); from about 1 MiB up the collective itself is longer.
/// </summary>
/// <remarks>
/// Implementation note: the floor is the benchmark's, not the hardware's, so <see cref="NcclModel"/> and the serving path
/// do not pay it: an engine runs one process per GPU and counts its host launch costs in its own engine terms. It is
/// what separates two public nccl-tests tables of the same DGX-A100: one thread per GPU (aiconfigurator, <c>-t 8</c>,
/// the fit's table) prints 21 us for an 8-GPU all-reduce of 512 B, one thread for all GPUs (nccl-tests#123, <c>-g 8</c>)
/// 33.7 us, growing by about 4.2 us per GPU from 4 GPUs up while the ring's own latency grows by under 2 us per GPU.
/// The constant is fitted on that A100 thread only (<see cref="FitHostIssueUsPerGpu"/>, data file
/// <c>a100_single_thread.csv</c>); the H100 tables in <c>h100_public.csv</c> check it.
/// </remarks>
public static class NcclTestsHarness
{
    /// <summary>
    /// Host time to issue one NCCL collective for one GPU in nccl-tests' eager loop, us: the slope through the origin of
    /// the single-thread DGX-A100 times of nccl-tests#123 over 4-8 GPUs (where the host bounds them), 4.20 us per GPU.
    /// </summary>
    public const double HostIssueUsPerGpu = 4.20;

    /// <summary>Fewest GPUs per thread at which <see cref="FitHostIssueUsPerGpu"/> takes a row (below, the ring's own latency is longer).</summary>
    public const int FitMinGpus = 4;

    /// <summary>The time nccl-tests prints for a collective of <paramref name="collectiveUs"/> issued by a thread driving <paramref name="gpusPerThread"/> GPUs.</summary>
    public static double TimeUs(double collectiveUs, int gpusPerThread)
    {
        if (gpusPerThread < 1) throw new ArgumentOutOfRangeException(nameof(gpusPerThread), "gpusPerThread must be >= 1");
        return Math.Max(collectiveUs, gpusPerThread * HostIssueUsPerGpu);
    }

    /// <summary>
    /// The host issue cost per GPU (us) from single-thread nccl-tests rows (one thread drove all <c>num_gpus</c>): least squares
    /// through the origin, time = g x c, over the rows with at least <see cref="FitMinGpus"/> GPUs.
    /// </summary>
    public static double FitHostIssueUsPerGpu(IReadOnlyList<PublicNcclRow> rows)
    {
        double xy = 0, xx = 0;
        foreach (var r in rows)
        {
            if (r.Ranks < FitMinGpus) continue;
            xy += r.Ranks * r.MeasuredUs;
            xx += (double)r.Ranks * r.Ranks;
        }
        if (xx == 0) throw new ArgumentException($"no row with {FitMinGpus} or more GPUs to fit", nameof(rows));
        return xy / xx;
    }
}
