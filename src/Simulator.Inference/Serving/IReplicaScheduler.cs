using Simulator.Inference.Workload;

namespace Simulator.Inference.Serving;

/// <summary>
/// A replica's batching policy. <see cref="Schedule"/> runs when microbatch group <c>group</c> is free:
/// it admits, preempts and adds sequences to that group's next batch through the replica's methods
/// (<see cref="Replica.TryAdmit"/>, <see cref="Replica.AddToBatch"/>, <see cref="Replica.PreemptNewest"/>,
/// <see cref="Replica.SwapIn"/>). Leaving the batch empty keeps the group idle until something changes.
/// One instance serves one replica (it may keep scratch state).
/// </summary>
public interface IReplicaScheduler
{
    /// <summary>The registry name ("vllm").</summary>
    string Name { get; }

    /// <summary>Whether this policy can ever run <paramref name="request"/> (besides fitting the KV cache); false rejects it at arrival.</summary>
    bool CanEverSchedule(Request request);

    /// <summary>Builds the next batch of <paramref name="group"/>.</summary>
    void Schedule(Replica replica, int group);
}
