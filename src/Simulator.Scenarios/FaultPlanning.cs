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
        var slots = SpareSlots(topology);
        foreach (var row in built.Placement.Rows) slots[row.Gpu] = new GpuSlot(row.Node, row.Replica, row.Stage);
        return Settings(built.Scenario, topology, slots, WeightLoadNs(built), null, setLinkFactor);
    }

    /// <summary>
    /// The fault settings of a run with pools, or null when the scenario has no fault keys: GPU and node numbers are the
    /// whole cluster's (pools side by side, as <see cref="PoolBuilder"/> numbers them), each replica reloads its own
    /// pool's weight shard on recovery.
    /// </summary>
    public static FaultSettings? Settings(BuiltPools pools, Action<string, double> setLinkFactor)
    {
        var scenario = pools.Scenario;
        if (scenario.Faults == FaultsSpec.None) return null;
        var slots = SpareSlots(pools.Topology);
        var loadNs = new long[pools.Replicas];
        foreach (var p in pools.Pools)
        {
            foreach (var row in p.Built.Placement.Rows)
            {
                int gpu = p.FirstGpu + row.Gpu;
                slots[gpu] = new GpuSlot(pools.Topology.NodeOf(gpu), p.FirstReplica + row.Replica, row.Stage);
            }
            long ns = WeightLoadNs(p.Built, scenario.Faults);
            for (int r = 0; r < p.Built.Plan.Replicas; r++) loadNs[p.FirstReplica + r] = ns;
        }
        return Settings(scenario, pools.Topology, slots, 0, loadNs, setLinkFactor);
    }

    private static GpuSlot[] SpareSlots(ClusterTopology topology)
    {
        var slots = new GpuSlot[topology.GpuCount];
        for (int g = 0; g < slots.Length; g++) slots[g] = new GpuSlot(topology.NodeOf(g), -1, -1);
        return slots;
    }

    private static FaultSettings Settings(Scenario scenario, ClusterTopology topology, GpuSlot[] slots, long weightLoadNs,
        long[]? replicaWeightLoadNs, Action<string, double> setLinkFactor)
    {
        var spec = scenario.Faults;
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
        return new FaultSettings(events, slots, spec.MaxRetries, weightLoadNs, spec.GpuMtbfHours,
            SimDuration.FromSeconds(spec.RepairS).Nanoseconds, RandomStreams.DeriveSeed(scenario.Seed, "faults"), setLinkFactor,
            replicaWeightLoadNs);
    }

    /// <summary>
    /// Time a recovering replica reloads its weights: the largest per-GPU weight shard over <c>recovery.weight_load_gbps</c>
    /// (every GPU of the replica reads its own shard at the same time).
    /// </summary>
    public static long WeightLoadNs(BuiltScenario built) => WeightLoadNs(built, built.Scenario.Faults);

    private static long WeightLoadNs(BuiltScenario built, FaultsSpec faults)
    {
        double weightsGB = built.Memory.Stages.Max(s => s.WeightsGB);
        return SimDuration.FromSeconds(weightsGB / faults.WeightLoadGBps).Nanoseconds;
    }
}
