namespace Simulator.Hardware.Calibration;

/// <summary>The shipped calibration profiles.</summary>
public static class CalibrationProfiles
{
    /// <summary>
    /// NCCL over NVLink + NVSwitch, fitted to nccl-tests out-of-place results on one 8x A100-SXM4-80GB node
    /// (data/calibration/network/nccl-tests/a100_sxm.csv: all_reduce, all_gather, reduce_scatter, alltoall;
    /// 2/4/8 GPUs; half and int8; 512 B .. 512 MiB; 504 rows; NVIDIA ai-dynamo/aiconfigurator, Apache-2.0).
    /// Fit: <see cref="NcclTestsCalibration.Fit"/> (Nelder-Mead on squared log error of every row) of
    /// T = base + steps x a + switch(op, n, S/n) + busFactor x S / (B x peak_op x ramp(S)) with B = 300 GB/s (NVLink3);
    /// the LL/LL128 -> Simple switch sits at a per-rank chunk of 690 KB x n^-0.326 (550 / 439 / 350 KB on 2 / 4 / 8
    /// GPUs for all-gather / reduce-scatter; x 0.835 for all-reduce) and costs 25.6 us x n^-0.549 (17.5 / 11.9 / 8.2 us); all-to-all pays (n-1)^0.805 step latencies. The per-step latency a = 0.756 us is shipped as the NVLink
    /// presets' latency (<see cref="Specs.LinkPresets.NvLinkStepLatencyUs"/>). Accuracy on that file: median |error|
    /// 7.0%, max 25.3%, none above 30% (README.md, "Hardware and network").
    /// </summary>
    public static TierProfile NvSwitchNccl { get; } = new(
        BaseLatencyUs: 9.253,
        RampHalfBytes: 3.335e6,
        RampExponent: 0.551,
        ProtocolSwitchChunkBytes: 6.895e5,
        ProtocolSwitchLatencyUs: 25.58,
        AllReducePeakEfficiency: 0.765,
        AllGatherPeakEfficiency: 0.645,
        ReduceScatterPeakEfficiency: 0.685,
        AllToAllPeakEfficiency: 0.614,
        ProtocolSwitchRankExponent: -0.326,
        ProtocolSwitchLatencyRankExponent: -0.549,
        AllReduceSwitchScale: 0.835,
        AllToAllStepExponent: 0.805,
        NvlsPeakEfficiency: NvlsPeakEfficiencyFromNccl);

    /// <summary>
    /// NVLS (NVLink SHARP all-reduce, H100/H200/B200 NVSwitch) is not in the A100 file. NCCL's maintainers give its peak
    /// on 8x H100 as ~480 GB/s bus bandwidth (algbw ~275 GB/s; NVIDIA/nccl-tests#212, nccl-tests#290). Its traffic is
    /// (n+1)/n x S per direction, so 480 / (2 x 7/8) x (9/8) / 450 GB/s = 0.686 of the link. Not fitted: a published
    /// figure, applied with the same launch, latency and ramp as the fitted ring.
    /// </summary>
    public const double NvlsPeakEfficiencyFromNccl = 0.686;

    /// <summary>
    /// NCCL over per-GPU InfiniBand / RoCE NICs. NOT fitted (no multi-node nccl-tests data here): the NVSwitch
    /// profile's fixed costs and ramp, with peak efficiencies of 0.90 of NIC line rate, the bus bandwidth NCCL
    /// typically reaches on a non-blocking rail-optimised fabric. Treat cross-node figures as estimates.
    /// </summary>
    public static TierProfile InfiniBandNccl { get; } = NvSwitchNccl with
    {
        AllReducePeakEfficiency = 0.90,
        AllGatherPeakEfficiency = 0.90,
        ReduceScatterPeakEfficiency = 0.90,
        AllToAllPeakEfficiency = 0.90,
    };

    /// <summary>The default: <see cref="NvSwitchNccl"/> inside a node, <see cref="InfiniBandNccl"/> across nodes.</summary>
    public static CalibrationProfile Nccl { get; } = new("nccl", NvSwitchNccl, InfiniBandNccl,
        "intra-node fitted to nccl-tests a100_sxm.csv; inter-node assumed (see InfiniBandNccl)");

    /// <summary>No overheads, full efficiency: collectives follow the textbook alpha-beta forms with link latency and bandwidth.</summary>
    public static CalibrationProfile Textbook { get; } = new("textbook", TierProfile.Textbook, TierProfile.Textbook,
        "alpha-beta closed forms, no calibration");
}
