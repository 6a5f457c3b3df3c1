namespace Simulator.Hardware.Collectives;

/// <summary>The collective operations the network layer knows (nccl-tests names).</summary>
public enum CollectiveOp { AllReduce, AllGather, ReduceScatter, AllToAll, SendRecv, Broadcast }

/// <summary>How a collective is carried out over its ranks; <c>Auto</c> lets the model pick (as NCCL does).</summary>
/// <summary>
/// How a collective is carried out. <see cref="Nvls"/> is NCCL's NVLink SHARP all-reduce: GPUs load their shard reduced
/// by the NVSwitch and store it once for the switch to multicast (single node, NVSwitch with in-switch reduction).
/// </summary>
public enum CollectiveAlgorithm { Auto, Ring, Tree, Hierarchical, Direct, Nvls }

/// <summary>
/// NCCL's wire protocols (NCCL_PROTO): <see cref="LL"/> (8-byte stores of 4 data bytes + a flag: lowest latency, half
/// the bandwidth), <see cref="LL128"/> (128-byte lines with an 8-byte flag, 120/128 of the bandwidth, NVLink only) and
/// <see cref="Simple"/> (bulk copies with a fence per step: full bandwidth, highest latency). <c>Auto</c> lets the tuner pick.
/// </summary>
public enum NcclProtocol { Auto, LL, LL128, Simple }

/// <summary>
/// Predicts how long a collective takes on a group of GPUs (global GPU ids of a topology), without
/// contention. `bytes` is the nccl-tests "size": the whole buffer per rank
/// (for all-gather the gathered output, for send/recv the message).
/// </summary>
public interface ICollectiveTimer
{
    double TimeUs(CollectiveOp op, IReadOnlyList<int> gpus, long bytes, CollectiveAlgorithm algorithm = CollectiveAlgorithm.Auto);
}
