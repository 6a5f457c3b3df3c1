using System.Globalization;

namespace Simulator.Scenarios.Planning;

/// <summary>A prefill/decode (xPyD) split: <see cref="PrefillReplicas"/> prefill replicas of TP <see cref="PrefillTp"/>, <see cref="DecodeReplicas"/> decode replicas of TP <see cref="DecodeTp"/>.</summary>
public sealed record PdSplit(int PrefillTp, int PrefillReplicas, int DecodeTp, int DecodeReplicas)
{
    /// <summary>GPUs of the prefill pool.</summary>
    public int PrefillGpus => PrefillTp * PrefillReplicas;

    /// <summary>GPUs of the decode pool.</summary>
    public int DecodeGpus => DecodeTp * DecodeReplicas;

    /// <summary>GPUs of both pools.</summary>
    public int Gpus => PrefillGpus + DecodeGpus;

    /// <summary>The split as people write it: <c>2P(TP4)+2D(TP4)</c>.</summary>
    public string Name => $"{Inv(PrefillReplicas)}P(TP{Inv(PrefillTp)})+{Inv(DecodeReplicas)}D(TP{Inv(DecodeTp)})";

    private static string Inv(int v) => v.ToString(CultureInfo.InvariantCulture);
}

/// <summary>Scheduler knobs a layout of the knob grid sets instead of the scenario's own values.</summary>
public sealed record SchedulerKnobs(int MaxNumSeqs, int MaxNumBatchedTokens, int Microbatches);

/// <summary>
/// One candidate layout: GPU type, TP, PP, EP and replicas (data-parallel copies); with <see cref="Dp"/> > 1, engines
/// of DP-attention ranks (wide EP); or, with <see cref="Pd"/>, a
/// prefill/decode split (then TP/PP/EP/replicas are unused: 0); and, with <see cref="Knobs"/>, scheduler knobs of the
/// grid. Index orders plan.csv and shards.
/// </summary>
public sealed record Layout(int Index, string Gpu, int Tp, int Pp, int Ep, int Replicas)
{
    /// <summary>The scheduler knobs of the grid this layout tries; null = the scenario's own values.</summary>
    public SchedulerKnobs? Knobs { get; init; }

    /// <summary>The prefill/decode split of a disaggregated layout; null = one mixed pool.</summary>
    public PdSplit? Pd { get; init; }

    /// <summary>
    /// DP-attention ranks per engine (wide EP: each rank a TP group with its own batch and KV cache, the MoE layers over
    /// all TP x DP GPUs, so <see cref="Ep"/> = TP x DP); 1 = no DP attention. With Dp > 1, <see cref="Replicas"/> counts engines.
    /// </summary>
    public int Dp { get; init; } = 1;

    /// <summary>GPUs the layout occupies.</summary>
    public int Gpus => Pd?.Gpus ?? Tp * Pp * Dp * Replicas;

    /// <summary>
    /// Folder-safe name: <c>0003-H100-SXM-80GB-tp2-pp1-ep1-r2</c>, <c>0007-H100-SXM-80GB-tp1-pp1-ep4-r1-dp4</c> for DP
    /// attention (r = engines), <c>0012-H100-SXM-80GB-2p-tp4-2d-tp4</c> for a P/D split,
    /// with <c>-s128-b4096</c> (and <c>-m4</c> for PP > 1) for knobs of the grid.
    /// </summary>
    public string Slug => Index.ToString("D4", CultureInfo.InvariantCulture) + "-" + Gpu
        + (Pd is { } pd ? $"-{Inv(pd.PrefillReplicas)}p-tp{Inv(pd.PrefillTp)}-{Inv(pd.DecodeReplicas)}d-tp{Inv(pd.DecodeTp)}" : $"-tp{Inv(Tp)}-pp{Inv(Pp)}-ep{Inv(Ep)}-r{Inv(Replicas)}" + (Dp > 1 ? $"-dp{Inv(Dp)}" : ""))
        + (Knobs is { } k ? $"-s{Inv(k.MaxNumSeqs)}-b{Inv(k.MaxNumBatchedTokens)}" + (Pp > 1 ? $"-m{Inv(k.Microbatches)}" : "") : "");

    /// <summary>
    /// The layout as a person reads it: <c>TP2 x 2</c>, <c>TP2 x PP2 x 2</c>, <c>TP1 DP4 EP4 x 1</c> (DP attention,
    /// x engines), <c>2P(TP4)+2D(TP4)</c>. PlanReport rebuilds the same text from plan.csv.
    /// </summary>
    public string Shape => Pd is { } pd ? pd.Name
        : "TP" + Inv(Tp) + (Pp > 1 ? " x PP" + Inv(Pp) : "") + (Dp > 1 ? " DP" + Inv(Dp) : "") + (Ep > 1 ? " EP" + Inv(Ep) : "") + " x " + Inv(Replicas);

    /// <summary>The scenario overrides that make the scenario this layout.</summary>
    public IReadOnlyList<string> Sets(int gpusPerNode)
    {
        var sets = new List<string> { "cluster.gpu=" + Gpu, "cluster.nodes=" + Inv((Gpus + gpusPerNode - 1) / gpusPerNode) };
        if (Pd is { } pd)
        {
            // The top-level plan is the decode side's, one replica: valid on the layout's nodes; each pool sets its own.
            sets.AddRange(["parallelism.tensor_parallel_size=" + Inv(pd.DecodeTp), "parallelism.pipeline_parallel_size=1", "parallelism.expert_parallel_size=1",
                "parallelism.context_parallel_size=1", "parallelism.microbatches=1", "parallelism.replicas=1"]);
            sets.AddRange(PoolSets("prefill", PoolRoles.Prefill, pd.PrefillTp, pd.PrefillReplicas, gpusPerNode));
            sets.AddRange(PoolSets("decode", PoolRoles.Decode, pd.DecodeTp, pd.DecodeReplicas, gpusPerNode));
        }
        else
        {
            sets.Add("parallelism.tensor_parallel_size=" + Inv(Tp));
            sets.Add("parallelism.pipeline_parallel_size=" + Inv(Pp));
            sets.Add("parallelism.expert_parallel_size=" + Inv(Ep));
            sets.Add("parallelism.replicas=" + Inv(Replicas));
            // DP attention runs one stage, one batch per rank: the scenario's microbatches and CP are reset with it.
            if (Dp > 1)
                sets.AddRange(["parallelism.data_parallel_size=" + Inv(Dp), "parallelism.enable_expert_parallel=true",
                    "parallelism.microbatches=1", "parallelism.context_parallel_size=1"]);
        }
        if (Knobs is { } k)
        {
            sets.Add("scheduler.max_num_seqs=" + Inv(k.MaxNumSeqs));
            sets.Add("scheduler.max_num_batched_tokens=" + Inv(k.MaxNumBatchedTokens));
            if (Pd is null && Dp == 1) sets.Add("parallelism.microbatches=" + Inv(k.Microbatches));
        }
        return sets;
    }

    /// <summary>
    /// A pool of <paramref name="replicas"/> x TP <paramref name="tp"/>: a part of one node when it is smaller than a
    /// node, else whole nodes (<see cref="Planner.Enumerate"/> lists only splits that tile the nodes this way).
    /// </summary>
    private static IEnumerable<string> PoolSets(string name, string role, int tp, int replicas, int gpusPerNode)
    {
        int gpus = tp * replicas;
        int perNode = Math.Min(gpus, gpusPerNode);
        var p = "pools." + name + ".";
        return
        [
            p + "role=" + role, p + "nodes=" + Inv(gpus / perNode), p + "gpus_per_node=" + Inv(perNode),
            p + "parallelism.tensor_parallel_size=" + Inv(tp), p + "parallelism.pipeline_parallel_size=1",
            p + "parallelism.expert_parallel_size=1", p + "parallelism.context_parallel_size=1", p + "parallelism.microbatches=1",
            p + "parallelism.replicas=" + Inv(replicas),
        ];
    }

    private static string Inv(int v) => v.ToString(CultureInfo.InvariantCulture);
}
