namespace Simulator.Inference.Memory;

/// <summary>
/// The back-of-the-envelope memory arithmetic capacity planners do by hand, as functions, so the
/// seed documents' figures are checked by tests. GB = 1e9 bytes, GiB = 2^30 bytes.
/// </summary>
public static class MemoryArithmetic
{
    public const double BytesPerGB = 1e9;
    public const double BytesPerGiB = 1024.0 * 1024.0 * 1024.0;

    /// <summary>Weight bytes in GB: parameters x bytes per parameter (35e9 x 2 = 70 GB).</summary>
    public static double WeightsGB(double parameters, double bytesPerParam) => parameters * bytesPerParam / BytesPerGB;

    /// <summary>KV room per GPU when TP splits the weights evenly: capacity - reserve - weights / TP (GB; negative = does not fit).</summary>
    public static double KvPerGpuGB(double gpuMemoryGB, double reserveGB, double weightsGB, int tp) =>
        gpuMemoryGB - reserveGB - weightsGB / tp;

    /// <summary>KV bytes per token of a standard-attention model: 2 (K and V) x layers x KV heads x head dim x bytes.</summary>
    public static double KvBytesPerToken(int layers, int kvHeads, int headDim, double kvBytes) =>
        2.0 * layers * kvHeads * headDim * kvBytes;

    /// <summary>KV of one sequence of <paramref name="tokens"/> tokens, in GiB, split over <paramref name="cpDegree"/> devices.</summary>
    public static double SequenceKvGiB(long tokens, double kvBytesPerToken, int cpDegree = 1) =>
        tokens * kvBytesPerToken / cpDegree / BytesPerGiB;

    /// <summary>KV room pooled over a group: gpus x capacity - weights - reserve (GB).</summary>
    public static double PooledKvGB(int gpus, double gpuMemoryGB, double weightsGB, double reserveGB) =>
        gpus * gpuMemoryGB - weightsGB - reserveGB;

    /// <summary>Whole requests that fit in <paramref name="kvGB"/> at <paramref name="perRequestGB"/> each (floor; 0 when none).</summary>
    public static int RequestsThatFit(double kvGB, double perRequestGB) =>
        kvGB <= 0 || perRequestGB <= 0 ? 0 : (int)Math.Floor(kvGB / perRequestGB + 1e-9);
}
