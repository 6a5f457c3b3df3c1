namespace Simulator.Hardware.Specs;

/// <summary>
/// A GPU model's datasheet figures. Peak rates are dense (no sparsity). A rate of 0 means the
/// GPU has no native support for that dtype (the cost model then falls back to the next wider one).
/// </summary>
public sealed record GpuSpec(
    string Name,
    double MemoryGB,
    double HbmTBps,
    double Bf16Tflops,
    double Fp8Tflops,
    double Int8Tops,
    double Fp32Tflops,
    string DefaultIntraNodeLink,
    string DefaultInterNodeLink,
    int SmCount,
    string Source)
{
    /// <summary>HBM capacity in bytes (GB = 1e9 bytes, as datasheets count).</summary>
    public double MemoryBytes => MemoryGB * 1e9;

    /// <summary>HBM bandwidth in bytes per second.</summary>
    public double HbmBytesPerSecond => HbmTBps * 1e12;
}
