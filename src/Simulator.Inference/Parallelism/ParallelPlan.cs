using Simulator.Inference.Models;

namespace Simulator.Inference.Parallelism;

/// <summary>Thrown when a parallel plan is invalid; <see cref="Problems"/> lists every reason.</summary>
public sealed class PlanException(IReadOnlyList<string> problems) : Exception(string.Join("; ", problems))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}

/// <summary>
/// How one model is split over GPUs: tensor (TP), pipeline (PP), expert (EP) and context (CP)
/// parallelism inside a replica, data-parallel <see cref="Replicas"/>, and <see cref="Microbatches"/>
/// in flight per replica. A replica uses TP x CP x PP GPUs. The expert-parallel group is the TP
/// group of a stage: EP must divide TP, each EP rank holds experts/EP whole experts, each expert is
/// further split by TP/EP (EP = TP: whole experts per GPU, EP = 1: every expert TP-sharded).
/// <see cref="LayersPerStage"/> optionally fixes the PP split (else even, remainder to early stages).
/// </summary>
public sealed record ParallelPlan(
    int Tp = 1, int Pp = 1, int Ep = 1, int Cp = 1, int Replicas = 1, int Microbatches = 1,
    IReadOnlyList<int>? LayersPerStage = null)
{
    /// <summary>GPUs one replica occupies.</summary>
    public int GpusPerReplica => Tp * Pp * Cp;

    /// <summary>GPUs of all replicas.</summary>
    public int TotalGpus => GpusPerReplica * Replicas;

    /// <summary>KV heads each GPU stores: heads / TP, or 1 (replicated) when KV heads &lt; TP.</summary>
    public int KvHeadsPerGpu(ModelSpec m) => Math.Max(1, m.KvHeads / Tp);

    /// <summary>Every reason the plan cannot run <paramref name="model"/> (empty when valid).
    /// <paramref name="clusterGpus"/> null skips the size check.</summary>
    public IReadOnlyList<string> Validate(ModelSpec model, int? clusterGpus = null)
    {
        var p = new List<string>();
        void Positive(string key, int v) { if (v < 1) p.Add($"{key} = {v}: must be at least 1"); }
        Positive("tensor_parallel_size", Tp); Positive("pipeline_parallel_size", Pp); Positive("expert_parallel_size", Ep);
        Positive("context_parallel_size", Cp); Positive("replicas", Replicas); Positive("microbatches", Microbatches);
        if (p.Count > 0) return p;

        if (model.Heads % Tp != 0)
            p.Add($"tensor_parallel_size = {Tp} does not divide the {model.Heads} attention heads of {model.Name}; allowed: a divisor of {model.Heads}");
        else if (model.KvHeads >= Tp && model.KvHeads % Tp != 0)
            p.Add($"tensor_parallel_size = {Tp} does not divide the {model.KvHeads} KV heads of {model.Name} (fewer KV heads than TP is allowed: they are replicated)");
        if (Pp > model.Layers)
            p.Add($"pipeline_parallel_size = {Pp} exceeds the {model.Layers} layers of {model.Name}");
        if (Ep > 1 && !model.IsMoe)
            p.Add($"expert_parallel_size = {Ep} but {model.Name} is dense (no experts); use 1");
        else if (Ep > 1)
        {
            if (model.Experts % Ep != 0)
                p.Add($"expert_parallel_size = {Ep} does not divide the {model.Experts} experts of {model.Name}");
            if (Tp % Ep != 0)
                p.Add($"expert_parallel_size = {Ep} must divide tensor_parallel_size = {Tp} (the expert group is the TP group's GPUs)");
        }
        if (LayersPerStage is { } split)
        {
            if (split.Count != Pp) p.Add($"layers per stage lists {split.Count} stages but pipeline_parallel_size = {Pp}");
            else if (split.Any(n => n < 1)) p.Add("layers per stage: every stage needs at least one layer");
            else if (split.Sum() != model.Layers) p.Add($"layers per stage sum to {split.Sum()} but {model.Name} has {model.Layers} layers");
        }
        if (clusterGpus is { } n && TotalGpus > n)
            p.Add($"the plan needs {TotalGpus} GPUs ({Replicas} replicas x TP {Tp} x PP {Pp} x CP {Cp}) but the cluster has {n}");
        return p;
    }

    /// <summary>Throws <see cref="PlanException"/> listing every problem, if any.</summary>
    public void EnsureValid(ModelSpec model, int? clusterGpus = null)
    {
        var p = Validate(model, clusterGpus);
        if (p.Count > 0) throw new PlanException(p);
    }

    /// <summary>Layers of each pipeline stage: explicit, or even with the remainder on the early stages.</summary>
    public int[] StageLayerCounts(int totalLayers)
    {
        if (LayersPerStage is { } explicitSplit) return explicitSplit.ToArray();
        var counts = new int[Pp];
        for (var s = 0; s < Pp; s++) counts[s] = totalLayers / Pp + (s < totalLayers % Pp ? 1 : 0);
        return counts;
    }

    /// <summary>Index of the first layer of <paramref name="stage"/>.</summary>
    public int StageFirstLayer(int totalLayers, int stage)
    {
        var counts = StageLayerCounts(totalLayers);
        var first = 0;
        for (var s = 0; s < stage; s++) first += counts[s];
        return first;
    }
}
