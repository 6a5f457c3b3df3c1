namespace Simulator.Hardware.Specs;

/// <summary>
/// GPU presets by name (case-insensitive). Figures are NVIDIA datasheet numbers; tensor rates are
/// DENSE (datasheets print "with sparsity" figures at twice these). A rate of 0 means no native support.
/// </summary>
public static class GpuPresets
{
    private static readonly GpuSpec[] All =
    {
        // NVIDIA A100 Tensor Core GPU datasheet (2021, SXM4 80GB): 80 GB HBM2e at 2,039 GB/s, BF16 312 TFLOPS dense,
        // INT8 624 TOPS dense, FP32 19.5 TFLOPS; no FP8. 108 SMs (A100 whitepaper). NVLink3 600 GB/s total.
        new("A100-SXM-80GB", 80, 2.039, 312, 0, 624, 19.5, "nvlink3", "ib-hdr200", 108,
            "NVIDIA A100 Tensor Core GPU datasheet (SXM4 80GB) and Ampere GA100 whitepaper"),
        // Same datasheet, SXM4 40GB column: 40 GB HBM2 at 1,555 GB/s; compute identical to the 80 GB part.
        new("A100-SXM-40GB", 40, 1.555, 312, 0, 624, 19.5, "nvlink3", "ib-hdr200", 108,
            "NVIDIA A100 Tensor Core GPU datasheet (SXM4 40GB) and Ampere GA100 whitepaper"),
        // NVIDIA H100 Tensor Core GPU datasheet, H100 SXM column: 80 GB HBM3 at 3.35 TB/s, BF16 1,979 TFLOPS and
        // FP8 3,958 TFLOPS with sparsity (989 / 1,979 dense), INT8 1,979 TOPS dense, FP32 67 TFLOPS, 132 SMs.
        new("H100-SXM-80GB", 80, 3.35, 989, 1979, 1979, 67, "nvlink4", "ib-ndr400", 132,
            "NVIDIA H100 Tensor Core GPU datasheet (H100 SXM) and Hopper whitepaper"),
        // Same datasheet, H100 PCIe column: 80 GB HBM2e at 2.0 TB/s, BF16 756 / FP8 1,513 / INT8 1,513 dense,
        // FP32 51 TFLOPS, 114 SMs; PCIe Gen5 x16 host link.
        new("H100-PCIe-80GB", 80, 2.0, 756, 1513, 1513, 51, "pcie5", "ib-ndr400", 114,
            "NVIDIA H100 Tensor Core GPU datasheet (H100 PCIe) and Hopper whitepaper"),
        // NVIDIA H200 Tensor Core GPU datasheet, H200 SXM column: 141 GB HBM3e at 4.8 TB/s; compute as H100 SXM.
        new("H200-SXM-141GB", 141, 4.8, 989, 1979, 1979, 67, "nvlink4", "ib-ndr400", 132,
            "NVIDIA H200 Tensor Core GPU datasheet (H200 SXM)"),
        // NVIDIA DGX B200 / HGX B200 datasheets: 1,440 GB HBM3e for 8 GPUs (180 GB each) at 8 TB/s per GPU;
        // 72 PFLOPS FP8 and 36 PFLOPS BF16 per 8 GPUs with sparsity -> 4.5 / 2.25 PFLOPS dense per GPU;
        // INT8 4.5 POPS dense; FP32 80 TFLOPS; 148 SMs; NVLink5 1.8 TB/s total per GPU.
        new("B200-SXM-180GB", 180, 8.0, 2250, 4500, 4500, 80, "nvlink5", "ib-ndr400", 148,
            "NVIDIA DGX B200 / HGX B200 datasheets (per-GPU share of the 8-GPU figures)"),
        // NVIDIA L40S datasheet: 48 GB GDDR6 at 864 GB/s, BF16 362 TFLOPS dense (733 sparse), FP8 733 dense,
        // INT8 733 TOPS dense, FP32 91.6 TFLOPS, 142 SMs; PCIe Gen4 x16, no NVLink.
        new("L40S-48GB", 48, 0.864, 362, 733, 733, 91.6, "pcie4", "roce400", 142,
            "NVIDIA L40S GPU datasheet and Ada Lovelace whitepaper"),
    };

    private static readonly Dictionary<string, GpuSpec> ByName =
        All.ToDictionary(g => g.Name, StringComparer.OrdinalIgnoreCase);

    /// <summary>The preset names in their canonical spelling, in a fixed order.</summary>
    public static IReadOnlyList<string> Names { get; } = All.Select(g => g.Name).ToArray();

    /// <summary>The preset named <paramref name="name"/> (case-insensitive); throws <see cref="UnknownPresetException"/> listing the allowed names.</summary>
    public static GpuSpec Get(string name) =>
        TryGet(name, out var spec) ? spec : throw new UnknownPresetException("GPU", name, Names);

    public static bool TryGet(string name, out GpuSpec spec)
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
