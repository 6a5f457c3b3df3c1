using Simulator.Hardware.Specs;
using Simulator.Inference.Metrics;

namespace Simulator.Scenarios;

/// <summary>
/// Prices a <c>sim run</c> from the scenario's <c>cost.gpu_hour_usd</c>: checks before the run that every GPU type the
/// run uses has a price, and gives the runners the GPUs' price per hour, from which summary.json's <c>cost</c> is derived
/// (<see cref="CostSummary"/>: the GPUs of every pool x their price, over the throughput window).
/// </summary>
public static class RunCost
{
    /// <summary>
    /// With a <c>cost:</c> block, every GPU the run uses (the cluster's, or each pool's) must be a priced preset; the
    /// problem is located at <c>cost.gpu_hour_usd</c>. Without one, nothing to check.
    /// </summary>
    public static void Check(Scenario scenario)
    {
        if (scenario.Cost.GpuHourUsd.Count == 0) return;
        var errors = new List<ScenarioError>();
        var gpus = scenario.Pools.Count > 0
            ? scenario.Pools.Select(p => (Where: $"pool {p.Name}", p.Gpu))
            : [(Where: "cluster", scenario.Cluster.Gpu)];
        string priced = string.Join(", ", scenario.Cost.GpuHourUsd.Select(p => p.Key));
        foreach (var (where, gpu) in gpus)
        {
            if (gpu.Preset is null)
                errors.Add(scenario.Locations.ErrorAt("cost.gpu_hour_usd", $"the {where} GPU is an inline spec and prices name GPU presets; use a preset (priced: {priced}) or remove the cost block"));
            else if (scenario.Cost.UsdPerGpuHour(GpuPresets.TryGet(gpu.Preset, out var spec) ? spec.Name : gpu.Preset) is null)
                errors.Add(scenario.Locations.ErrorAt("cost.gpu_hour_usd", $"no price for {gpu.Preset} (the {where} GPU); priced: {priced}; add {gpu.Preset} or remove the cost block"));
        }
        if (errors.Count > 0) throw new ScenarioException(errors.Distinct().ToList());
    }

    /// <summary>
    /// What the GPUs of <paramref name="built"/> (the run's replicas, or each pool's) cost per hour together: GPUs x price
    /// per GPU type; null when the scenario prices nothing. <see cref="Check"/> has made sure every type has a price.
    /// </summary>
    public static double? UsdPerHour(Scenario scenario, IEnumerable<BuiltScenario> built) =>
        scenario.Cost.GpuHourUsd.Count == 0 ? null
            : built.Sum(b => b.Plan.TotalGpus * (scenario.Cost.UsdPerGpuHour(b.Gpu.Name)
                ?? throw new InvalidOperationException($"{b.Gpu.Name} has no price; RunCost.Check runs before the run")));
}
