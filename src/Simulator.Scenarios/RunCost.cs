using Simulator.Hardware.Specs;
using Simulator.Inference.Metrics;

namespace Simulator.Scenarios;

/// <summary>
/// Prices a <c>sim run</c> from the scenario's <c>cost.gpu_hour_usd</c>: checks before the run that every GPU type the
/// run uses has a price, and after it adds summary.json's <c>cost</c> (<see cref="CostSummary"/>: the GPUs of every
/// pool x their price, over the throughput window).
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
    /// The run's result with summary.json's <c>cost</c> added (its summary.json rewritten in place), or
    /// <paramref name="result"/> itself when the scenario prices nothing.
    /// </summary>
    /// <remarks>
    /// Implementation note: the cost is derived from the committed summary (its window and output tokens) and the
    /// built pools, so it is added after the runners commit instead of threading prices through both writers; the
    /// file is replaced through a sibling and a move, so a reader sees either the old or the new summary.json whole.
    /// </remarks>
    public static RunResult Attach(Scenario scenario, RunResult result)
    {
        if (scenario.Cost.GpuHourUsd.Count == 0) return result;
        var pools = result.Pools?.Pools.Select(p => p.Built) ?? [result.Built];
        double usdPerHour = pools.Sum(b => b.Plan.TotalGpus * (scenario.Cost.UsdPerGpuHour(b.Gpu.Name)
            ?? throw new InvalidOperationException($"{b.Gpu.Name} has no price; RunCost.Check runs before the run")));
        var summary = result.Summary with { Cost = CostSummary.Of(usdPerHour, result.Summary.Throughput) };
        string path = Path.Combine(result.Directory, "summary.json"), temp = path + ".cost";
        File.WriteAllBytes(temp, SummaryJson.ToBytes(summary));
        File.Move(temp, path, overwrite: true);
        return result with { Summary = summary };
    }
}
