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

    /// <summary>
    /// Total device memory as CUDA reports it (<c>cudaMemGetInfo</c> / <c>torch.cuda.mem_get_info</c>), bytes, which is
    /// what engines budget against: the datasheet's "80 GB" is 80 GiB of HBM, of which the driver reports about 99%
    /// (vLLM logs total_gpu_memory 79.15-79.22 GiB on A100- and H100-80GB, 139.72 GiB on H200-141GB;
    /// vllm-project/vllm#10511, #10702). Taken as <see cref="CudaVisibleFraction"/> x <see cref="MemoryGB"/> GiB.
    /// </summary>
    public double CudaTotalBytes => MemoryGB * CudaVisibleFraction * 1024.0 * 1024.0 * 1024.0;

    /// <summary>Share of the nominal GiB that CUDA reports as total memory (0.99: 79.2 of 80, 139.6 of 141).</summary>
    public const double CudaVisibleFraction = 0.99;

    /// <summary>HBM bandwidth in bytes per second.</summary>
    public double HbmBytesPerSecond => HbmTBps * 1e12;
}
