namespace Simulator.Inference.Serving;

/// <summary>
/// Scheduler policies by name (vllm, sarathi, orca, static, trtllm). A new policy is one class implementing
/// <see cref="IReplicaScheduler"/> plus one <see cref="Register"/> call. Names are case-insensitive.
/// </summary>
public static class SchedulerRegistry
{
    private static readonly NamedRegistry<SchedulerConfig, IReplicaScheduler> Registry = new("scheduler",
        new Dictionary<string, Func<SchedulerConfig, IReplicaScheduler>>
        {
            ["vllm"] = c => ContinuousBatchingScheduler.Vllm(c),
            ["sarathi"] = c => ContinuousBatchingScheduler.Sarathi(c),
            ["orca"] = c => ContinuousBatchingScheduler.Orca(c),
            ["static"] = c => new StaticBatchScheduler(c),
            ["trtllm"] = TrtllmScheduler.From,
        });

    /// <summary>Registered names, sorted.</summary>
    public static IReadOnlyList<string> Names => Registry.Names;

    public static bool Contains(string name) => Registry.Contains(name);

    /// <summary>Adds or replaces a policy.</summary>
    public static void Register(string name, Func<SchedulerConfig, IReplicaScheduler> factory) => Registry.Register(name, factory);

    /// <summary>A new scheduler instance for one replica.</summary>
    public static IReplicaScheduler Create(string name, SchedulerConfig config) => Registry.Create(name, config);
}
