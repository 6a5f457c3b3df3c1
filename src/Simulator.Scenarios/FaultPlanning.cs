using Simulator.Hardware.Topology;
using Simulator.Inference.Serving;
using Simulator.Kernel;

namespace Simulator.Scenarios;

/// <summary>Turns a scenario's fault keys into the serving layer's <see cref="FaultSettings"/>, and checks what needs the topology.</summary>
internal static class FaultPlanning
{
    /// <summary>Reports every <c>link_degraded</c> fault whose link is not in the topology, listing the names allowed.</summary>
    public static void CheckLinks(Scenario scenario, ClusterTopology topology, List<ScenarioError> errors)
    {
        var faults = scenario.Faults.Scripted;
        for (int i = 0; i < faults.Count; i++)
        {
            if (faults[i].Link is not { } link || topology.ResolvePort(link) is not null) continue;
            string hint = Suggest.Closest(link, topology.Ports) is { } c ? $" (did you mean '{c}'?)" : "";
            errors.Add(scenario.Locations.ErrorAt($"faults[{i}].link",
                $"no link named '{link}' in this cluster{hint}; expected one of {string.Join(", ", topology.Ports)} " +
                "(or a directed name from links.csv in flow mode, or node<N>.nic<M>)"));
        }
    }

    /// <summary>The fault settings of a run, or null when the scenario has no fault keys.</summary>
    /// <param name="built">The built scenario (placement, memory plan, topology).</param>
    /// <param name="setLinkFactor">How the run's network model applies a link's bandwidth factor.</param>
    public static FaultSettings? Settings(BuiltScenario built, Action<string, double> setLinkFactor)
    {
        var spec = built.Scenario.Faults;
        if (spec == FaultsSpec.None) return null;
        var topology = built.Topology;
        var slots = new GpuSlot[topology.GpuCount];
        for (int g = 0; g < slots.Length; g++) slots[g] = new GpuSlot(topology.NodeOf(g), -1, -1);
        foreach (var row in built.Placement.Rows) slots[row.Gpu] = new GpuSlot(row.Node, row.Replica, row.Stage);
        var events = spec.Scripted.Select(f => new FaultEvent(
            SimDuration.FromSeconds(f.AtS).Nanoseconds,
            f.Kind switch
            {
                "gpu_down" => FaultKind.GpuDown,
                "node_down" => FaultKind.NodeDown,
                "straggler" => FaultKind.Straggler,
                _ => FaultKind.LinkDegraded,
            },
            f.Gpu ?? f.Node ?? 0,
            f.Link is { } link ? topology.ResolvePort(link) : null,
            f.DurationS is double d ? SimDuration.FromSeconds(d).Nanoseconds : null,
            f.Kind == "straggler" ? f.Slowdown : f.BandwidthFactor)).ToList();
        return new FaultSettings(events, slots, spec.MaxRetries, WeightLoadNs(built), spec.GpuMtbfHours,
            SimDuration.FromSeconds(spec.RepairS).Nanoseconds, RandomStreams.DeriveSeed(built.Scenario.Seed, "faults"), setLinkFactor);
    }

    /// <summary>
    /// Time a recovering replica reloads its weights: the largest per-GPU weight shard over <c>recovery.weight_load_gbps</c>
    /// (every GPU of the replica reads its own shard at the same time).
    /// </summary>
    public static long WeightLoadNs(BuiltScenario built)
    {
        double weightsGB = built.Memory.Stages.Max(s => s.WeightsGB);
        return SimDuration.FromSeconds(weightsGB / built.Scenario.Faults.WeightLoadGBps).Nanoseconds;
    }
}
