namespace Simulator.Scenarios;

/// <summary>
/// <c>cost:</c> what GPU time costs, for ranking layouts by goodput per dollar: <c>gpu_hour_usd</c> maps a GPU preset
/// name to its price per GPU-hour in US dollars. Empty = no cost known (plans rank by goodput per GPU).
/// </summary>
public sealed record CostSpec
{
    /// <summary>The scenario without a <c>cost:</c> block.</summary>
    public static CostSpec None { get; } = new();

    /// <summary>USD per GPU-hour by GPU preset name (the preset's own spelling), in ordinal name order.</summary>
    public IReadOnlyList<KeyValuePair<string, double>> GpuHourUsd { get; init; } = [];

    /// <summary>The price of one hour of <paramref name="gpu"/> (compared case-insensitively), or null when not priced.</summary>
    public double? UsdPerGpuHour(string gpu) =>
        GpuHourUsd.Where(p => string.Equals(p.Key, gpu, StringComparison.OrdinalIgnoreCase)).Select(p => (double?)p.Value).FirstOrDefault();

    public bool Equals(CostSpec? other) => other is not null && GpuHourUsd.SequenceEqual(other.GpuHourUsd);

    public override int GetHashCode() => GpuHourUsd.Count;
}

/// <summary>
/// <c>plan:</c> what <c>sim plan</c> searches beyond TP / PP / EP / replicas (the flags <c>--pd</c> and <c>--knobs</c>
/// switch the same on): <see cref="Disaggregation"/> adds prefill/decode (xPyD) pool layouts, <see cref="Knobs"/> the
/// scheduler grid (max_num_seqs, max_num_batched_tokens, microbatches) around the scenario's own values.
/// </summary>
public sealed record PlanSpec
{
    /// <summary>Enumerate xPyD prefill/decode splits with their own TP per side.</summary>
    public bool Disaggregation { get; init; }

    /// <summary>Search the scheduler knob grid per layout.</summary>
    public bool Knobs { get; init; }
}
