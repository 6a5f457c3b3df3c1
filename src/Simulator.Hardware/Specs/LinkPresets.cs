namespace Simulator.Hardware.Specs;

/// <summary>
/// Link presets by name (case-insensitive). Bandwidth is per direction (GB/s = 1e9 B/s). Latency is the
/// per-message cost one step of a collective (or one point-to-point message) pays on that tier, as NCCL sees
/// it (software + wire), not the bare wire latency.
/// </summary>
public static class LinkPresets
{
    /// <summary>
    /// Per-step latency on NVLink + NVSwitch, fitted to nccl-tests on 8x A100-SXM4 (see
    /// <c>CalibrationProfiles.NvSwitchNccl</c>); used for every NVLink generation (latency is per tier, not per generation).
    /// </summary>
    public const double NvLinkStepLatencyUs = 0.756;

    private static readonly LinkSpec[] All =
    {
        // NVLink3 (A100): 12 links x 25 GB/s per direction = 300 GB/s per direction (600 GB/s total), A100 datasheet.
        new("nvlink3", LinkKind.NvLink, 300, NvLinkStepLatencyUs, "NVIDIA A100 datasheet: NVLink 600 GB/s bidirectional"),
        // NVLink4 (H100/H200 SXM): 18 links x 25 GB/s = 450 GB/s per direction (900 GB/s total), H100 datasheet.
        // Third-generation NVSwitch: NVLink SHARP (in-switch reduction and multicast, NCCL's NVLS algorithm).
        new("nvlink4", LinkKind.NvLink, 450, NvLinkStepLatencyUs, "NVIDIA H100 datasheet: NVLink 900 GB/s bidirectional; NVLink SHARP", InSwitchReduction: true),
        // NVLink5 (B200): 18 links x 50 GB/s = 900 GB/s per direction (1.8 TB/s total), DGX B200 datasheet.
        new("nvlink5", LinkKind.NvLink, 900, NvLinkStepLatencyUs, "NVIDIA DGX B200 datasheet: NVLink 1.8 TB/s per GPU; NVLink SHARP", InSwitchReduction: true),
        // PCIe Gen4 x16: 31.5 GB/s per direction theoretical (16 GT/s, 128b/130b); GPU peer copies reach ~25 GB/s
        // after TLP overhead, so the preset uses the realistic 25. Latency ~2 us per NCCL step over PCIe/host bridge.
        new("pcie4", LinkKind.Pcie, 25, 2.0, "PCI-SIG Gen4 x16 = 31.5 GB/s theoretical; ~25 GB/s measured peer copies (realistic)"),
        // PCIe Gen5 x16: 63 GB/s per direction theoretical; ~50 GB/s realistic (same ~80% efficiency as Gen4).
        new("pcie5", LinkKind.Pcie, 50, 2.0, "PCI-SIG Gen5 x16 = 63 GB/s theoretical; ~50 GB/s realistic"),
        // InfiniBand HDR 200 Gb/s per GPU NIC (ConnectX-6) = 25 GB/s per direction. ~5 us per NCCL message
        // (wire ~1 us + proxy thread / RDMA setup), the usual small-message inter-node NCCL step cost.
        new("ib-hdr200", LinkKind.InfiniBand, 25, 5.0, "NVIDIA ConnectX-6 HDR 200 Gb/s; NCCL per-message latency ~5 us (assumed)"),
        // InfiniBand NDR 400 Gb/s per GPU NIC (ConnectX-7) = 50 GB/s per direction.
        new("ib-ndr400", LinkKind.InfiniBand, 50, 5.0, "NVIDIA ConnectX-7 NDR 400 Gb/s; NCCL per-message latency ~5 us (assumed)"),
        // RoCE v2 at 400 Gb/s = 50 GB/s per direction; Ethernet switching and congestion control add latency (~8 us assumed).
        new("roce400", LinkKind.Ethernet, 50, 8.0, "400 GbE RoCE v2 (ConnectX-7 / BlueField-3); per-message latency ~8 us (assumed)"),
        // Infinite bandwidth, zero latency: for textbook checks.
        new("ideal", LinkKind.Ideal, double.PositiveInfinity, 0, "idealised link (no cost)"),
    };

    private static readonly Dictionary<string, LinkSpec> ByName =
        All.ToDictionary(l => l.Name, StringComparer.OrdinalIgnoreCase);

    /// <summary>The preset names in a fixed order.</summary>
    public static IReadOnlyList<string> Names { get; } = All.Select(l => l.Name).ToArray();

    /// <summary>The preset named <paramref name="name"/> (case-insensitive); throws <see cref="UnknownPresetException"/> listing the allowed names.</summary>
    public static LinkSpec Get(string name) =>
        TryGet(name, out var spec) ? spec : throw new UnknownPresetException("link", name, Names);

    public static bool TryGet(string name, out LinkSpec spec)
    {
        if (name != null && ByName.TryGetValue(name.Trim(), out var found))
        {
            spec = found;
            return true;
        }
        spec = null!;
        return false;
    }
}
