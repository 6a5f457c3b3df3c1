namespace Simulator.Scenarios;

/// <summary>
/// One scripted fault (an item of the scenario's <c>faults</c> list). <see cref="Kind"/> is gpu_down, node_down,
/// straggler or link_degraded; exactly the target key of its kind is set (<see cref="Gpu"/> for gpu_down and straggler,
/// <see cref="Node"/> for node_down, <see cref="Link"/> for link_degraded). <see cref="DurationS"/> null = permanent.
/// </summary>
public sealed record FaultSpec
{
    public required double AtS { get; init; }
    public required string Kind { get; init; }
    public int? Gpu { get; init; }
    public int? Node { get; init; }
    public string? Link { get; init; }
    public double? DurationS { get; init; }

    /// <summary>Straggler: its GPU's compute takes this many times longer (>= 1).</summary>
    public double Slowdown { get; init; } = 1.0;

    /// <summary>link_degraded: the fraction of the link's bandwidth left, both directions (in (0, 1]).</summary>
    public double BandwidthFactor { get; init; } = 1.0;
}

/// <summary>
/// Everything about faults in a scenario: the scripted list, seeded random GPU failures, the router's retry
/// policy and how a recovered replica reloads its weights.
/// </summary>
public sealed record FaultsSpec
{
    /// <summary>No faults: the defaults of every key.</summary>
    public static FaultsSpec None { get; } = new();

    public IReadOnlyList<FaultSpec> Scripted { get; init; } = [];

    /// <summary><c>random_faults.gpu_mtbf_hours</c>: mean time between failures of each GPU; null = no random failures.</summary>
    public double? GpuMtbfHours { get; init; }

    /// <summary><c>random_faults.repair_s</c>: how long a randomly failed GPU stays down.</summary>
    public double RepairS { get; init; } = DefaultRepairS;

    /// <summary><c>retry.max_retries</c>: how often a request may be re-sent after its replica went down.</summary>
    public int MaxRetries { get; init; } = Simulator.Inference.Serving.FaultSettings.DefaultMaxRetries;

    /// <summary><c>recovery.weight_load_gbps</c>: per-GPU read bandwidth a recovering replica loads its weights at, GB/s.</summary>
    public double WeightLoadGBps { get; init; } = DefaultWeightLoadGBps;

    /// <summary>Default repair time of a random GPU failure: 30 minutes (a node drained, the GPU reset or swapped).</summary>
    public const double DefaultRepairS = 1800;

    /// <summary>
    /// Default weight load bandwidth: 7 GB/s per GPU, the sequential read rate of one PCIe Gen4 x4 NVMe SSD (datasheets
    /// of current drives give 7.0-7.45 GB/s), each GPU reading its own shard in parallel.
    /// </summary>
    public const double DefaultWeightLoadGBps = 7.0;

    /// <summary>Whether any fault can happen (scripted or random).</summary>
    public bool Any => Scripted.Count > 0 || GpuMtbfHours is not null;

    public bool Equals(FaultsSpec? other) =>
        other is not null && Scripted.SequenceEqual(other.Scripted) && GpuMtbfHours == other.GpuMtbfHours
        && RepairS == other.RepairS && MaxRetries == other.MaxRetries && WeightLoadGBps == other.WeightLoadGBps;

    public override int GetHashCode() => HashCode.Combine(Scripted.Count, GpuMtbfHours, MaxRetries);
}
