namespace Simulator.Scenarios;

/// <summary>
/// One pool of a scenario's <c>pools:</c> block: a group of replicas with one role, GPU type, node shape,
/// parallel plan, scheduler and number formats. Every field the YAML leaves out takes the top-level value
/// (<c>cluster.gpu</c>, <c>cluster.nodes</c>, <c>cluster.gpus_per_node</c>, <c>cluster.intra_node</c>,
/// <c>parallelism</c>, <c>scheduler</c>, <c>precision</c>, key by key).
/// </summary>
public sealed record PoolSpec
{
    /// <summary>The pool's name (its key under <c>pools:</c>); written in gpus.csv, iterations.csv and links.csv.</summary>
    public required string Name { get; init; }

    /// <summary><c>prefill</c> (prompts and first tokens, then hands the KV to a decode pool), <c>decode</c> (the rest) or <c>mixed</c> (both).</summary>
    public string Role { get; init; } = PoolRoles.Mixed;

    public required PresetOrSpec Gpu { get; init; }
    public int Nodes { get; init; } = 1;
    public int GpusPerNode { get; init; } = 8;
    public required PresetOrSpec IntraNode { get; init; }
    public ParallelismSpec Parallelism { get; init; } = new();
    public SchedulerSpec Scheduler { get; init; } = new();
    public PrecisionSpec Precision { get; init; } = new();

    /// <summary>GPUs the pool owns.</summary>
    public int Gpus => Nodes * GpusPerNode;
}

/// <summary>The pool roles as YAML spells them.</summary>
public static class PoolRoles
{
    public const string Prefill = "prefill";
    public const string Decode = "decode";
    public const string Mixed = "mixed";

    public static readonly IReadOnlyList<string> All = [Prefill, Decode, Mixed];
}

/// <summary>
/// <c>kv_transfer:</c> how a prefill replica's KV reaches the decode replica. <c>after_prefill</c> starts the
/// transfer when the prompt's last prefill pass ends; <c>layerwise</c> streams each layer as soon as its prefill
/// is done (analytic network only; README "Disaggregated prefill and decode" gives the formula).
/// </summary>
public sealed record KvTransferSpec
{
    public string Mode { get; init; } = "after_prefill";

    public static readonly IReadOnlyList<string> Modes = ["after_prefill", "layerwise"];
}
