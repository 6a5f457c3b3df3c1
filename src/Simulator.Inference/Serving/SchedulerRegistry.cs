namespace Simulator.Inference.Serving;

/// <summary>
/// Scheduler policies by name (vllm, sarathi, orca, static). A new policy is one class implementing
/// <see cref="IReplicaScheduler"/> plus one <see cref="Register"/> call. Names are case-insensitive.
/// </summary>
public static class SchedulerRegistry
{
    private static readonly object Gate = new();
    private static readonly SortedDictionary<string, Func<SchedulerConfig, IReplicaScheduler>> Factories = new(StringComparer.OrdinalIgnoreCase)
    {
        ["vllm"] = c => ContinuousBatchingScheduler.Vllm(c),
        ["sarathi"] = c => ContinuousBatchingScheduler.Sarathi(c),
        ["orca"] = c => ContinuousBatchingScheduler.Orca(c),
        ["static"] = c => new StaticBatchScheduler(c),
    };

    /// <summary>Registered names, sorted.</summary>
    public static IReadOnlyList<string> Names
    {
        get { lock (Gate) return Factories.Keys.ToArray(); }
    }

    public static bool Contains(string name)
    {
        lock (Gate) return name != null && Factories.ContainsKey(name);
    }

    /// <summary>Adds or replaces a policy.</summary>
    public static void Register(string name, Func<SchedulerConfig, IReplicaScheduler> factory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(factory);
        lock (Gate) Factories[name] = factory;
    }

    /// <summary>A new scheduler instance for one replica.</summary>
    public static IReplicaScheduler Create(string name, SchedulerConfig config)
    {
        Func<SchedulerConfig, IReplicaScheduler>? factory;
        lock (Gate) Factories.TryGetValue(name ?? "", out factory);
        if (factory == null)
            throw new ArgumentException($"unknown scheduler '{name}'; allowed: {string.Join(", ", Names)}", nameof(name));
        return factory(config);
    }
}
