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
/// <para>
/// DP attention with wide EP (<see cref="Dp"/> &gt; 1, vLLM's <c>--data-parallel-size D --enable-expert-parallel</c>):
/// an engine is <see cref="Dp"/> data-parallel attention ranks, each a TP group of <see cref="Tp"/> GPUs with its own
/// batch and KV cache, and its MoE layers are sharded over all of them: EP = TP x DP, whole experts per GPU.
/// <see cref="Replicas"/> then counts DP ranks (engines x DP, each one a schedulable replica), so placement, memory and
/// KV are per rank as for any replica; <see cref="Engines"/> counts engines. Build one with <see cref="DataParallelAttention"/>.
/// </para>
/// </summary>
public sealed record ParallelPlan(
    int Tp = 1, int Pp = 1, int Ep = 1, int Cp = 1, int Replicas = 1, int Microbatches = 1,
    IReadOnlyList<int>? LayersPerStage = null, int Dp = 1)
{
    /// <summary>
    /// A DP-attention engine layout: <paramref name="engines"/> engines of <paramref name="dp"/> ranks of TP
    /// <paramref name="tp"/>, experts over all TP x DP GPUs of an engine (EP = TP x DP).
    /// </summary>
    public static ParallelPlan DataParallelAttention(int tp, int dp, int engines = 1) =>
        new(Tp: tp, Ep: tp * dp, Replicas: engines * dp, Dp: dp);

    /// <summary>The layout in one line: "TP=4 PP=1 EP=1 CP=1 x 2 replicas", or "1 engine x DP 32 x TP 1 (EP 32 over 32 GPUs)".</summary>
    public string Describe() => IsDataParallelAttention
        ? $"{Engines} engine{(Engines == 1 ? "" : "s")} x DP {Dp} x TP {Tp} (EP {Ep} over {Dp * Tp} GPUs)"
        : $"TP={Tp} PP={Pp} EP={Ep} CP={Cp} x {Replicas} replicas";

    /// <summary>Whether the plan's engines are DP-attention ranks that step in lockstep (DP &gt; 1).</summary>
    public bool IsDataParallelAttention => Dp > 1;

    /// <summary>Engines: replicas for plain plans, replicas / DP for DP-attention plans.</summary>
    public int Engines => Replicas / Math.Max(1, Dp);

    /// <summary>The engine of replica (DP rank) <paramref name="replica"/>.</summary>
    public int EngineOf(int replica) => replica / Math.Max(1, Dp);

    /// <summary>The DP rank of replica <paramref name="replica"/> inside its engine (0 for plain plans).</summary>
    public int DpRankOf(int replica) => replica % Math.Max(1, Dp);

    /// <summary>The EP rank gpus.csv reports for TP rank <paramref name="tpRank"/> of replica <paramref name="replica"/>: DP rank x TP + TP rank under DP attention, else TP rank mod EP.</summary>
    public int EpRankOf(int replica, int tpRank) => IsDataParallelAttention ? DpRankOf(replica) * Tp + tpRank : tpRank % Math.Max(1, Ep);

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
        Positive("data_parallel_size", Dp);
        if (p.Count > 0) return p;

        if (model.Heads % Tp != 0)
            p.Add($"tensor_parallel_size = {Tp} does not divide the {model.Heads} attention heads of {model.Name}; allowed: a divisor of {model.Heads}");
        else if (model.KvHeads >= Tp && model.KvHeads % Tp != 0)
            p.Add($"tensor_parallel_size = {Tp} does not divide the {model.KvHeads} KV heads of {model.Name} (fewer KV heads than TP is allowed: they are replicated)");
        if (Pp > model.Layers)
            p.Add($"pipeline_parallel_size = {Pp} exceeds the {model.Layers} layers of {model.Name}");
        if (Dp > 1)
            ValidateDataParallel(model, p);
        else if (Ep > 1 && !model.IsMoe)
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
            p.Add(Dp > 1
                ? $"the plan needs {TotalGpus} GPUs ({Engines} engines x DP {Dp} x TP {Tp}) but the cluster has {n}"
                : $"the plan needs {TotalGpus} GPUs ({Replicas} replicas x TP {Tp} x PP {Pp} x CP {Cp}) but the cluster has {n}");
        return p;
    }

    /// <summary>DP attention: an MoE model, EP = TP x DP dividing the experts, one stage, no CP, one microbatch, whole engines.</summary>
    private void ValidateDataParallel(ModelSpec model, List<string> p)
    {
        if (!model.IsMoe)
        {
            p.Add($"data_parallel_size = {Dp} needs a mixture-of-experts model with enable_expert_parallel: true, but {model.Name} is dense; for copies of a dense model use replicas");
            return;
        }
        if (Ep != Tp * Dp)
            p.Add($"data_parallel_size = {Dp} needs enable_expert_parallel: true (EP = TP x DP = {Tp * Dp}); allowed: data_parallel_size 1 without it");
        else if (model.Experts % Ep != 0)
            p.Add($"data_parallel_size = {Dp}: EP = TP x DP = {Tp} x {Dp} = {Ep} does not divide the {model.Experts} experts of {model.Name}; allowed: TP x DP among {string.Join(", ", Divisors(model.Experts))}");
        if (Pp > 1) p.Add($"data_parallel_size = {Dp} with pipeline_parallel_size = {Pp} is not supported; DP attention runs one stage per rank (use pipeline_parallel_size 1)");
        if (Cp > 1) p.Add($"data_parallel_size = {Dp} with context_parallel_size = {Cp} is not supported; use context_parallel_size 1");
        if (Microbatches > 1) p.Add($"data_parallel_size = {Dp} with microbatches = {Microbatches} is not supported; DP ranks step in lockstep one batch at a time (use microbatches 1)");
        if (Replicas % Dp != 0) p.Add($"data_parallel_size = {Dp}: {Replicas} DP ranks are not whole engines");
    }

    private static IEnumerable<int> Divisors(int n) => Enumerable.Range(1, n).Where(d => n % d == 0);

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
