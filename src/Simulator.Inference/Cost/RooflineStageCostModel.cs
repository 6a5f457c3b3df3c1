using Simulator.Hardware.Collectives;
using Simulator.Hardware.Specs;
using Simulator.Inference.Models;
using Simulator.Inference.Parallelism;

namespace Simulator.Inference.Cost;

/// <summary>Options of the cost model beyond the model, plan and hardware.</summary>
public sealed record CostModelOptions
{
    /// <summary>Zipf exponent of expert popularity (0 = uniform routing).</summary>
    public double ExpertZipfExponent { get; init; }

    /// <summary>Measured operator times (Vidur mlp.csv) that replace the roofline for matching dense layers.</summary>
    public MeasuredOperatorTable? MeasuredOperators { get; init; }

    /// <summary>
    /// The topology whose link conditions (faults) the collective times depend on: the model remembers each stage's
    /// collective times by size and forgets them when its <see cref="Simulator.Hardware.Topology.ClusterTopology.ConditionsVersion"/>
    /// changes. Null: link conditions never change during the run.
    /// </summary>
    public Simulator.Hardware.Topology.ClusterTopology? Conditions { get; init; }
    /// <summary>The kernels of the MoE dispatch and combine of DP-attention engines (<see cref="MoeAllToAll"/>).</summary>
    public MoeAllToAll AllToAll { get; init; } = MoeAllToAll.Nccl;
}

/// <summary>Prices the MoE part of a DP-attention engine's lockstep step from its ranks' total tokens.</summary>
public interface IEngineExpertCost
{
    /// <summary>The routed experts and all-to-alls of one step of <paramref name="stage"/> (see <see cref="RooflineStageCostModel.EngineExpertStep"/>).</summary>
    ExpertStepCost EngineExpertStep(int stage, long engineTokens, long maxRankTokens);
}

/// <summary>
/// Which kernels carry a DP-attention engine's MoE dispatch and combine. <see cref="Nccl"/>: the collective model's
/// all-to-all over the EP group (n - 1 message latencies per call, NVLink inside a node, each GPU's NIC across).
/// <see cref="DeepEpLowLatency"/>: DeepEP's low-latency kernels for decode-sized steps (at most
/// <see cref="ExpertStepCost.LowLatencyMaxTokensPerRank"/> tokens per rank): every rank writes its tokens straight
/// to the peers (RDMA across nodes, NVLink inside) in one posted batch, so a call costs one message latency plus its
/// bytes on the busier of the two paths.
/// </summary>
public enum MoeAllToAll { Nccl, DeepEpLowLatency }

/// <summary>
/// The MoE part of one lockstep step of a DP-attention engine, per GPU and for the whole step (all MoE layers of the
/// stage): the routed experts on the hottest GPU and the dispatch + combine all-to-alls, from the engine's total tokens.
/// </summary>
/// <param name="ComputeNs">Routed-expert GEMMs on the hottest GPU, all MoE layers.</param>
/// <param name="EpCommNs">Dispatch + combine, all MoE layers (analytic time).</param>
/// <param name="Comms">The dispatch and combine all-to-alls as demands for link accounting and flow mode (empty when nothing moves).</param>
/// <param name="HotspotRatio">The hottest GPU's routed load over the mean.</param>
public sealed record ExpertStepCost(long ComputeNs, long EpCommNs, IReadOnlyList<CommDemand> Comms, double HotspotRatio)
{
    /// <summary>
    /// DeepEP's low-latency buffers are sized for decode batches: its README recommends
    /// <c>num_max_dispatch_tokens_per_rank</c> (the decoding engine's batch) below 256; larger steps use the normal kernels.
    /// </summary>
    public const int LowLatencyMaxTokensPerRank = 256;
}

/// <summary>
/// Prices one iteration of a batch on one pipeline stage of one replica, per GPU of the stage's TP
/// group (all alike), from the model shape, precision, plan, GPU datasheet, calibration profile and
/// a collective timer. Formulas (see README.md, "Models, memory plan and cost model"): every linear layer is a roofline
/// kernel (<see cref="Roofline.LinearSeconds"/>); attention FLOPs 2 x heads x (qk + v dim) x
/// sum(new x context + new(new+1)/2) using each sequence's own context, decode reads every
/// sequence's KV; MoE experts run the hottest EP rank's routed tokens and read the distinct experts
/// touched; TP all-reduces two per layer; EP dispatch + combine all-to-all per MoE layer; CP ring
/// exchange overlapped with attention; PP send to the next stage; engine overheads from the profile.
/// Per-stage constants are precomputed; <see cref="EstimateTimes(int, IReadOnlyList{SequenceWork}, int, long)"/> (what the serving loop
/// calls) allocates nothing for a decode-sized batch without CP (its result is a value); <see cref="Estimate(int, IReadOnlyList{SequenceWork}, int, long)"/>
/// allocates the breakdown as well.
/// </summary>
public sealed class RooflineStageCostModel : IDecodeSumCostModel, IEngineExpertCost
{
    private readonly ModelSpec _m;
    private readonly ParallelPlan _plan;
    private readonly CalibrationProfile _p;
    private readonly ICollectiveTimer _timer;
    private readonly StageConst[] _stages;
    private readonly ExpertRouting? _routing;
    private readonly double _peakFlops, _bf16Flops, _hbm, _wb, _kvb;
    private readonly MeasuredOperatorTable? _measured;
    private readonly Simulator.Hardware.Topology.ClusterTopology? _conditions;
    // Not readonly: replicas of one layout point these at one set (ShareMemos); each leaves it at a change of conditions.
    private Dictionary<long, double>[] _commMemo;
    private double[][] _tokenMemo;
    private TokenTerms[][] _termsMemo;
    private bool _memosShared;
    private readonly string? _layoutKey;
    private long _conditionsVersion;
    private readonly MoeAllToAll _allToAll;
    private readonly int _gpusPerNode;
    private readonly bool _fp8Dispatch;
    // Per-build constants of the attention core and the engine terms (see EstimateClockedDecodes): each the value of the
    // same leading operations in Estimate's expressions, so using them gives the same bits.
    private readonly double _attnHeads, _attnQkPlusV, _attnFlopsPerPair, _kvBytesPerTokenLayer, _attnComputeRate, _memoryRate, _launchS;
    private readonly bool _asyncHost;

    public int Stages => _stages.Length;
    public ModelSpec Model => _m;
    public ParallelPlan Plan => _plan;
    public CalibrationProfile Profile => _p;

    /// <summary>Builds the model for replica <paramref name="replica"/> of <paramref name="placement"/>.</summary>
    public RooflineStageCostModel(ModelSpec model, Precision precision, ParallelPlan plan, PlacementTable placement,
        GpuSpec gpu, CalibrationProfile profile, ICollectiveTimer timer, int replica = 0, CostModelOptions? options = null)
    {
        plan.EnsureValid(model);
        options ??= new CostModelOptions();
        _m = model; _plan = plan; _p = profile; _timer = timer;
        _wb = precision.WeightBytes;
        _kvb = precision.KvBytes;
        _bf16Flops = gpu.Bf16Tflops * 1e12;
        _peakFlops = precision.Weights switch
        {
            NumericFormat.Fp8 when gpu.Fp8Tflops > 0 => gpu.Fp8Tflops * 1e12,
            NumericFormat.Int8 when gpu.Int8Tops > 0 => gpu.Int8Tops * 1e12,
            _ => _bf16Flops, // weight-only formats (int4) and GPUs without the dtype compute in 16-bit
        };
        _hbm = gpu.HbmBytesPerSecond;
        _allToAll = options.AllToAll;
        _gpusPerNode = Math.Max(1, placement.Cluster.GpusPerNode);
        _fp8Dispatch = precision.Weights == NumericFormat.Fp8;
        if (model.IsMoe) _routing = new ExpertRouting(model.Experts, model.TopK, plan.Ep, options.ExpertZipfExponent);
        var table = options.MeasuredOperators;
        _measured = table != null && table.Matches(model) && table.HasTp(plan.Tp) ? table : null;
        _conditions = options.Conditions;
        _conditionsVersion = _conditions?.ConditionsVersion ?? 0;
        (_commMemo, _tokenMemo, _termsMemo) = NewMemos(plan.Pp);

        var counts = plan.StageLayerCounts(model.Layers);
        _stages = new StageConst[plan.Pp];
        var first = 0;
        for (var s = 0; s < plan.Pp; s++)
        {
            var tpGroup = placement.TpGroup(replica, s);
            var epGroup = new int[plan.Ep];
            if (plan.IsDataParallelAttention) epGroup = placement.EpGroup(replica, s);
            else for (var r = 0; r < plan.Ep; r++) epGroup[r] = tpGroup[r * (plan.Tp / plan.Ep)];
            _stages[s] = new StageConst(
                Layers: counts[s],
                MoeLayers: model.MoeLayersIn(first, counts[s]),
                IsFirst: s == 0,
                IsLast: s == plan.Pp - 1,
                TpGroup: tpGroup,
                EpGroup: epGroup,
                CpGroup: placement.CpGroup(replica, s),
                PpPair: s < plan.Pp - 1 ? [placement.GpuOf(replica, s, 0), placement.GpuOf(replica, s + 1, 0)] : [],
                NextTpGroup: s < plan.Pp - 1 ? placement.TpGroup(replica, s + 1) : []);
            first += counts[s];
        }
        _layoutKey = LayoutKey();

        int headsPerGpu = model.Heads / plan.Tp;
        double qk = model.Mla is { } m ? m.QkHeadDim : model.HeadDim, v = model.Mla is { } m2 ? m2.VHeadDim : model.HeadDim;
        _attnHeads = headsPerGpu;
        _attnQkPlusV = qk + v;
        _attnFlopsPerPair = 2.0 * headsPerGpu * (qk + v);
        _kvBytesPerTokenLayer = model.Mla is { } m3 ? m3.CachedElementsPerTokenPerLayer * _kvb : 2.0 * plan.KvHeadsPerGpu(model) * model.HeadDim * _kvb;
        _attnComputeRate = _bf16Flops * profile.AttentionEta;
        _memoryRate = _hbm * profile.EtaMemory;
        _launchS = profile.KernelLaunchUs * 1e-6;
        _asyncHost = profile.Host is { AsyncScheduling: true };
    }

    /// <summary>True when this model and <paramref name="other"/> use one set of memos (<see cref="ShareMemos"/>).</summary>
    public bool SharesMemosWith(RooflineStageCostModel other) =>
        !ReferenceEquals(this, other) && ReferenceEquals(_termsMemo, other?._termsMemo);

    /// <summary>
    /// For tests of the memos' bounds: the most entries any one memo of this model can hold right now (the longest
    /// token-count array, the fullest memo by size, the longest token-terms array) and its token-count bound.
    /// </summary>
    internal (int TokenEntries, int SizeEntries, int TermsEntries, int TokenBound) MemoCapacity() =>
        (_tokenMemo.Max(m => m.Length), _commMemo.Max(m => m.Count), _termsMemo.Max(m => m.Length), _tokenMemoBound);

    /// <summary>Leaves a shared set of memos for empty ones of this model's own.</summary>
    private void UseOwnMemos()
    {
        (_commMemo, _tokenMemo, _termsMemo) = NewMemos(_stages.Length);
        _memosShared = false;
        _tokenMemoBound = PrivateTokenMemo;
    }

    private static (Dictionary<long, double>[], double[][], TokenTerms[][]) NewMemos(int stages)
    {
        var comm = new Dictionary<long, double>[stages * CommSlots];
        for (int i = 0; i < comm.Length; i++) comm[i] = new Dictionary<long, double>();
        var tokens = new double[stages * CommSlots][];
        for (int i = 0; i < tokens.Length; i++) tokens[i] = [];
        var terms = new TokenTerms[stages][];
        for (int i = 0; i < terms.Length; i++) terms[i] = [];
        return (comm, tokens, terms);
    }

    /// <summary>
    /// What this model's memos depend on besides the model, plan and profile every replica of a build shares: where each
    /// stage's groups sit, as (node offset from the replica's first node, GPU index in its node) with each node's own
    /// intra-node link. Null when that cannot be told (no topology given, or link conditions already changed).
    /// </summary>
    // Implementation note: the cluster's nodes are alike (one GPU, NIC and spine link each; only the intra-node link may
    // differ by node, and it is in the key), so a collective timer gives the same time for two groups whose GPUs have the
    // same places in nodes shifted by a whole number of nodes: the same routes over links of the same specs, in the same
    // order (a shift keeps the order of GPU ids). Degraded links break that symmetry; see DropMemosIfConditionsChanged.
    private string? LayoutKey()
    {
        if (_conditions is not { } topo || topo.ConditionsVersion != 0) return null;
        int baseNode = int.MaxValue;
        foreach (var st in _stages)
            foreach (var group in (int[][])[st.TpGroup, st.EpGroup, st.CpGroup, st.PpPair, st.NextTpGroup])
                foreach (var g in group) baseNode = Math.Min(baseNode, topo.NodeOf(g));
        var key = new System.Text.StringBuilder();
        foreach (var st in _stages)
        {
            key.Append('|');
            foreach (var group in (int[][])[st.TpGroup, st.EpGroup, st.CpGroup, st.PpPair, st.NextTpGroup])
            {
                key.Append('[');
                foreach (var g in group)
                {
                    int node = topo.NodeOf(g);
                    key.Append(node - baseNode).Append(':').Append(topo.LocalIndexOf(g)).Append(':').Append(topo.IntraNodeOf(node)).Append(',');
                }
                key.Append(']');
            }
        }
        return key.ToString();
    }

    /// <summary>
    /// Makes cost models of the same build and layout use one set of memos (collective times by size and token count,
    /// token-count terms): at fleet scale thousands of replicas would otherwise each fill and keep their own copy of the
    /// same values (a cold cache per replica, memory that grows with the fleet). The models must not be called from
    /// different threads (one set per thread: the caller passes the models of one thread). Models of other builds, other
    /// layouts or without a layout key keep their own. The values are those each model would compute, so results are
    /// bit-identical; a model whose link conditions change leaves the shared set for fresh memos of its own.
    /// </summary>
    public static void ShareMemos(IEnumerable<IStageCostModel> models)
    {
        ArgumentNullException.ThrowIfNull(models);
        // Implementation note: one owner per build under a key: two pools of one layout (same GPUs per replica, another
        // model, plan or profile) share a key but not a build, and each pool's replicas must still share among themselves.
        var owners = new Dictionary<string, List<RooflineStageCostModel>>(StringComparer.Ordinal);
        foreach (var m in models)
        {
            if (m is not RooflineStageCostModel r || r._layoutKey is not { } key) continue;
            if (!owners.TryGetValue(key, out var builds)) owners[key] = builds = [];
            var owner = builds.Find(r.SameBuildAs);
            if (owner is null)
            {
                // A set shared by an earlier call may span other threads' models now: start one of its own.
                if (r._memosShared) r.UseOwnMemos();
                r._tokenMemoBound = MaxTokenMemo;
                builds.Add(r);
                continue;
            }
            r._commMemo = owner._commMemo;
            r._tokenMemo = owner._tokenMemo;
            r._termsMemo = owner._termsMemo;
            r._memosShared = owner._memosShared = true;
            r._tokenMemoBound = MaxTokenMemo;
        }
    }

    private static bool SameRouting(ExpertRouting? a, ExpertRouting? b) =>
        a is null ? b is null : b is not null && a.Experts == b.Experts && a.TopK == b.TopK && a.EpRanks == b.EpRanks && a.ZipfExponent == b.ZipfExponent;

    /// <summary>True when the two models price the same model, plan, precision, GPU, profile, options and timer (only the replica differs).</summary>
    private bool SameBuildAs(RooflineStageCostModel o) =>
        ReferenceEquals(_timer, o._timer) && ReferenceEquals(_conditions, o._conditions) && ReferenceEquals(_measured, o._measured)
        && Equals(_m, o._m) && Equals(_plan, o._plan) && Equals(_p, o._p) && _peakFlops == o._peakFlops && _bf16Flops == o._bf16Flops
        && _hbm == o._hbm && _wb == o._wb && _kvb == o._kvb && _allToAll == o._allToAll && _gpusPerNode == o._gpusPerNode
        && _fp8Dispatch == o._fp8Dispatch && SameRouting(_routing, o._routing) && _stages.Length == o._stages.Length
        && _stages.Zip(o._stages).All(p => p.First.Layers == p.Second.Layers && p.First.MoeLayers == p.Second.MoeLayers
            && p.First.IsFirst == p.Second.IsFirst && p.First.IsLast == p.Second.IsLast);

    private sealed record StageConst(int Layers, int MoeLayers, bool IsFirst, bool IsLast,
        int[] TpGroup, int[] EpGroup, int[] CpGroup, int[] PpPair, int[] NextTpGroup)
    {
        public int DenseLayers => Layers - MoeLayers;
    }

    /// <summary>The CPU floor of <paramref name="st"/> in seconds: <c>CpuFloorPerLayerUs x 1e-6 x layers</c>, as Estimate computes it.</summary>
    private double FloorSeconds(StageConst st) => _p.CpuFloorPerLayerUs * 1e-6 * st.Layers;

    /// <summary>Hottest EP rank's routed load over the mean for <paramref name="tokens"/> tokens (1 for dense models or EP = 1).</summary>
    public double HotspotRatio(int tokens) => _routing?.HotspotRatio(tokens) ?? 1.0;

    /// <inheritdoc />
    public StageCost Estimate(int stage, IReadOnlyList<SequenceWork> batch) => Estimate(stage, batch, 0, 0, breakdown: true);

    /// <inheritdoc />
    public StageCost Estimate(int stage, IReadOnlyList<SequenceWork> batch, int decodes, long decodeContextTokens) =>
        Estimate(stage, batch, decodes, decodeContextTokens, breakdown: true);

    /// <inheritdoc />
    public StageCost EstimateTimes(int stage, IReadOnlyList<SequenceWork> batch) => Estimate(stage, batch, 0, 0, breakdown: false);

    /// <inheritdoc />
    public StageCost EstimateTimes(int stage, IReadOnlyList<SequenceWork> batch, int decodes, long decodeContextTokens) =>
        decodes > 0 && decodeContextTokens >= decodes && _plan.Cp == 1 && IsEmpty(batch)
            ? EstimateClockedDecodes(stage, _stages[stage], decodes, decodeContextTokens)
            : Estimate(stage, batch, decodes, decodeContextTokens, breakdown: false);

    private static bool IsEmpty(IReadOnlyList<SequenceWork> batch) =>
        batch is List<SequenceWork> list ? list.Count == 0 : batch is SequenceWork[] array ? array.Length == 0 : batch.Count == 0;

    // Implementation note: the sums below are of integers (token counts and n(n+1)/2), exact in doubles far beyond any
    // batch, so adding the decodes given as sums after the listed ones gives the same bits as listing them one by one.
    // Without the breakdown the times are the same bits (the parts are computed alike, only not kept): the serving loop
    // asks for times once per iteration and reads no part, so a decode-sized batch allocates nothing (without CP).
    private StageCost Estimate(int stage, IReadOnlyList<SequenceWork> batch, int decodes, long decodeContextTokens, bool breakdown)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(decodes);
        if (decodeContextTokens < decodes) throw new ArgumentOutOfRangeException(nameof(decodeContextTokens), decodeContextTokens, "every decode has a context of at least one token");
        var st = _stages[stage];
        int tp = _plan.Tp, cp = _plan.Cp;
        double h = _m.HiddenSize;

        // Running sums over the batch, each sequence with its own context (a list or array read as a span: no
        // interface call per sequence).
        var items = batch switch
        {
            List<SequenceWork> list => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(list),
            SequenceWork[] array => array,
            _ => batch.ToArray(),
        };
        long newTokens = 0, sequences = items.Length;
        double prefillPairs = 0, prefillKvTokens = 0, prefillTokens = 0, decodePairs = 0, decodeKvTokens = 0, decodeSeqs = 0;
        for (var i = 0; i < items.Length; i++)
        {
            var w = items[i];
            newTokens += w.NewTokens;
            if (w.NewTokens == 1 && w.ContextTokens > 0)
            {
                decodeSeqs++;
                decodePairs += w.ContextTokens + 1;
                decodeKvTokens += w.ContextTokens + 1;
            }
            else
            {
                double n = w.NewTokens;
                prefillTokens += n;
                prefillPairs += n * w.ContextTokens + n * (n + 1) / 2;
                prefillKvTokens += w.ContextTokens + n;
            }
        }
        if (decodes > 0)
        {
            newTokens += decodes;
            sequences += decodes;
            decodeSeqs += decodes;
            decodePairs += decodeContextTokens + decodes;
            decodeKvTokens += decodeContextTokens + decodes;
        }
        if (newTokens == 0) return new StageCost(0, 0, 0, 0, 0, 0, breakdown ? new StageBreakdown(new double[BreakdownParts.All.Length]) : StageBreakdown.NotKept, []);

        // Tokens per GPU: CP splits each sequence's new tokens over the CP ranks.
        double T = (double)newTokens / cp;
        double launch = _p.KernelLaunchUs * 1e-6;

        // --- Attention projections, MLP, MoE, element-wise, embedding and the activation collectives: functions of the
        // batch's token count alone (remembered by it for decode-sized batches) ---
        var terms = TokenTermsOf(stage, newTokens, T, launch);
        int heads = _m.Heads / tp;
        double qkDim, vDim, kvPerTokenLayer;
        if (_m.Mla is { } mla)
        {
            qkDim = mla.QkHeadDim; vDim = mla.VHeadDim;
            kvPerTokenLayer = mla.CachedElementsPerTokenPerLayer * _kvb;
        }
        else
        {
            qkDim = vDim = _m.HeadDim;
            kvPerTokenLayer = 2.0 * _plan.KvHeadsPerGpu(_m) * _m.HeadDim * _kvb;
        }
        double attnProj = terms.AttnProj, mlp = terms.Mlp, moe = terms.Moe, elementwise = terms.Elementwise, embedding = terms.Embedding;

        // --- Attention core (per layer): prefill and decode kernels, CP splits the work ---
        double attn = 0;
        if (prefillTokens > 0)
        {
            var flops = 2.0 * heads * (qkDim + vDim) * prefillPairs / cp;
            var bytes = (prefillKvTokens * kvPerTokenLayer + prefillTokens * heads * (qkDim + vDim) * 2.0) / cp;
            attn += Roofline.KernelSeconds(flops, bytes, _bf16Flops, _p.AttentionEta, _hbm, _p);
        }
        if (decodeSeqs > 0)
        {
            var flops = 2.0 * heads * (qkDim + vDim) * decodePairs / cp;
            var bytes = (decodeKvTokens * kvPerTokenLayer + decodeSeqs * heads * (qkDim + vDim) * 2.0) / cp;
            attn += Roofline.KernelSeconds(flops, bytes, _bf16Flops, _p.AttentionEta, _hbm, _p);
        }

        // Every sequence in the batch produces logits for its last token (partial prefill chunks included).
        double lmHead = !st.IsLast ? 0
            : sequences == newTokens && !double.IsNaN(terms.LmHeadOfDecodes) ? terms.LmHeadOfDecodes
            : LmHeadSeconds(sequences, h, _m.VocabSize / (double)tp);

        // --- Communication ---
        double tpComm = terms.TpComm, epComm = terms.EpComm, cpComm = 0, ppComm = terms.PpComm;
        IReadOnlyList<CommDemand> comms = terms.Comms;
        if (cp > 1)
        {
            // The CP collectives go between the TP / EP ones and the PP send.
            var withCp = new List<CommDemand>(terms.Comms.Length + 2);
            foreach (var c in terms.Comms) if (c.Group != CommGroupKind.Pipeline) withCp.Add(c);
            comms = withCp;
            if (prefillTokens > 0)
            {
                // Ring attention: CP - 1 steps per layer; in each step every rank passes its KV block to the next rank at
                // once (a ring shift over the whole CP group), so the slowest hop bounds the step: a group spanning
                // nodes pays the NIC on its cross-node hops. The ring overlaps attention; only the excess is charged.
                long blockBytes = (long)Math.Ceiling(prefillKvTokens / cp * kvPerTokenLayer);
                double stepUs = Timed(stage, 2, CollectiveOp.SendRecv, st.CpGroup, blockBytes);
                double ringPerLayer = (cp - 1) * stepUs * 1e-6;
                cpComm += st.Layers * Math.Max(0, ringPerLayer - attn);
                withCp.Add(new CommDemand(CommGroupKind.Context, "send_recv", blockBytes, (cp - 1) * st.Layers, (long)Math.Round(stepUs * 1e3),
                    OverlapNs: Ns(attn * st.Layers)));
            }
            if (decodeSeqs > 0)
            {
                // Decode: partial attention outputs (and softmax statistics) combined across CP ranks per layer.
                long partBytes = (long)Math.Ceiling(decodeSeqs * heads * (vDim + 1) * 4.0);
                double arUs = Timed(stage, 3, CollectiveOp.AllReduce, st.CpGroup, partBytes);
                cpComm += st.Layers * arUs * 1e-6;
                withCp.Add(new CommDemand(CommGroupKind.Context, "all_reduce", partBytes, st.Layers, (long)Math.Round(arUs * 1e3)));
            }
            foreach (var c in terms.Comms) if (c.Group == CommGroupKind.Pipeline) withCp.Add(c);
        }

        // --- Sum over the stage's layers ---
        double attnProjS = attnProj * st.Layers, attnS = attn * st.Layers, mlpS = mlp * st.DenseLayers,
            moeS = moe * st.MoeLayers, elemS = elementwise * st.Layers;
        double compute = embedding + attnProjS + attnS + mlpS + moeS + elemS + lmHead;

        // --- Engine: scheduler / input preparation / sampling on stage 0; CPU dispatch floor on every stage ---
        double engine = st.IsFirst
            ? (_p.IterationOverheadUs + _p.PerSequenceOverheadUs * sequences + _p.PerTokenOverheadUs * newTokens) * 1e-6
            : 0;
        double gpuBusy = compute + tpComm + epComm + cpComm;
        // Implementation note: under asynchronous scheduling the host prepares step N + 1 while the GPU runs step N, so
        // only host work longer than the GPU's step shows. It is charged against the same step's GPU time (the steps of a
        // busy engine change slowly from one to the next); the first step after an idle gap, which nothing hides, is
        // charged the same way.
        if (_p.Host is { AsyncScheduling: true }) engine = Math.Max(0, engine - gpuBusy);
        double floorWait = Math.Max(0, _p.CpuFloorPerLayerUs * 1e-6 * st.Layers - gpuBusy);

        IReadOnlyDictionary<string, double> parts = StageBreakdown.NotKept;
        if (breakdown)
        {
            var ms = new double[BreakdownParts.All.Length];
            ms[0] = embedding * 1e3; ms[1] = attnProjS * 1e3; ms[2] = attnS * 1e3; ms[3] = mlpS * 1e3; ms[4] = moeS * 1e3;
            ms[5] = elemS * 1e3; ms[6] = lmHead * 1e3; ms[7] = tpComm * 1e3; ms[8] = epComm * 1e3; ms[9] = cpComm * 1e3;
            ms[10] = ppComm * 1e3; ms[11] = engine * 1e3; ms[12] = floorWait * 1e3;
            parts = new StageBreakdown(ms);
        }
        return new StageCost(Ns(compute), terms.TpNs, terms.EpNs, Ns(cpComm), terms.PpNs, Ns(engine + floorWait),
            parts, comms, newTokens);
    }

    /// <summary>
    /// <see cref="Estimate(int, IReadOnlyList{SequenceWork}, int, long, bool)"/>'s times for a batch of clocked decodes
    /// alone without CP (what nearly every iteration of a decoding replica asks): the token-count terms, engine term
    /// and collective nanoseconds come from the memo, so only the attention core, the sum over layers and the engine's
    /// overlap are computed.
    /// </summary>
    // Implementation note: every operation below is one of Estimate's, on the same operands in the same order (its
    // sums over an empty batch start at 0 and add the decodes' totals: 0 + x is x for these non-negative values, so
    // they are read as the totals), and each precomputed constant is the leading part of Estimate's expression it
    // replaces (left-to-right evaluation): the results are the same bits. CostModelFastPathTest compares the two.
    private StageCost EstimateClockedDecodes(int stage, StageConst st, int decodes, long decodeContextTokens)
    {
        long newTokens = decodes;
        ref readonly var terms = ref TokenTermsOf(stage, newTokens, newTokens, _launchS);
        double decodePairs = decodeContextTokens + decodes, decodeSeqs = decodes;
        // (Estimate divides both by cp, here 1: exact.)
        var flops = _attnFlopsPerPair * decodePairs;
        var bytes = decodePairs * _kvBytesPerTokenLayer + decodeSeqs * _attnHeads * _attnQkPlusV * 2.0;
        double attn = 0 + (Math.Max(flops / _attnComputeRate, bytes / _memoryRate) + _launchS);
        double lmHead = !st.IsLast ? 0
            : !double.IsNaN(terms.LmHeadOfDecodes) ? terms.LmHeadOfDecodes
            : LmHeadSeconds(newTokens, _m.HiddenSize, _m.VocabSize / (double)_plan.Tp);
        double compute = terms.EmbeddingPlusProjS + attn * st.Layers + terms.MlpS + terms.MoeS + terms.ElementwiseS + lmHead;
        double engine = terms.EngineOfDecodes;
        double gpuBusy = compute + terms.TpComm + terms.EpComm + 0.0;
        if (_asyncHost) engine = PositivePart(engine - gpuBusy);
        double floorWait = PositivePart(FloorSeconds(st) - gpuBusy);
        return new StageCost(Ns(compute), terms.TpNs, terms.EpNs, 0, terms.PpNs, Ns(engine + floorWait),
            StageBreakdown.NotKept, terms.Comms, newTokens);
    }

    /// <summary>What an iteration of a stage costs as a function of its new tokens alone (per layer where the name says so; comms in seconds).</summary>
    // Implementation note: a value, so a memo hit reads the terms where they lie in the memo array (one cache line
    // fewer than an object per entry) and a large batch's terms allocate nothing but their demand array; an entry whose
    // Comms is null was never computed.
    // LmHeadOfDecodes: the LM head of a batch of newTokens sequences (each decoding one token), on the last stage; NaN
    // where not computed (a large batch, or not the last stage).
    // The rest are what Estimate derives from these alone, kept so that a decode batch does not recompute them:
    // EmbeddingPlusProjS = Embedding + AttnProj x layers, MlpS / MoeS / ElementwiseS the per-layer terms times their
    // layers, EngineOfDecodes the engine term of newTokens sequences (0 off the first stage), TpNs / EpNs / PpNs the
    // collectives in nanoseconds (Ns of TpComm, EpComm, PpComm).
    private readonly record struct TokenTerms(double AttnProj, double Mlp, double Moe, double Elementwise, double Embedding,
        double TpComm, double EpComm, double PpComm, CommDemand[] Comms, double LmHeadOfDecodes,
        double EmbeddingPlusProjS, double MlpS, double MoeS, double ElementwiseS, double EngineOfDecodes, long TpNs, long EpNs, long PpNs);

    /// <summary>Batches up to this many new tokens keep their <see cref="TokenTerms"/> per stage (decode batches, most iterations).</summary>
    private const int MaxTermsMemo = 1 << 8;

    // Implementation note: a decode-sized batch's projections, MLP, MoE, element-wise kernels, embedding and activation
    // collectives depend on its token count only, so they are remembered by it (the collective demands too: consumers only
    // read them); each term is the value the expressions below give, and the caller sums them in the original order, so
    // results are bit-identical. Under CP the tokens per GPU still depend on the count alone; a change of link conditions
    // drops these memos with the others.
    // The terms are returned by reference (to the memo entry, or to _unkeptTerms for a count the memo does not keep:
    // valid until the next call; a model is used by one thread), so a hit copies nothing.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private ref readonly TokenTerms TokenTermsOf(int stage, long newTokens, double T, double launch)
    {
        if (_conditions is { } c && c.ConditionsVersion != _conditionsVersion) DropMemosIfConditionsChanged();
        var memo = _termsMemo[stage];
        if ((ulong)newTokens < (ulong)memo.Length && memo[newTokens].Comms is not null) return ref memo[newTokens];
        return ref KeepTokenTerms(stage, newTokens, T, launch);
    }

    private ref readonly TokenTerms KeepTokenTerms(int stage, long newTokens, double T, double launch)
    {
        var memo = _termsMemo[stage];
        var terms = ComputeTokenTerms(stage, newTokens, T, launch);
        if (newTokens < MaxTermsMemo)
        {
            if (newTokens >= memo.Length)
            {
                Array.Resize(ref memo, (int)Math.Min(MaxTermsMemo, Math.Max(2 * (newTokens + 1), 32)));
                _termsMemo[stage] = memo;
            }
            memo[newTokens] = terms;
            return ref memo[newTokens];
        }
        _unkeptTerms = terms;
        return ref _unkeptTerms;
    }

    private TokenTerms _unkeptTerms;

    private TokenTerms ComputeTokenTerms(int stage, long newTokens, double T, double launch)
    {
        var st = _stages[stage];
        int tp = _plan.Tp;
        double h = _m.HiddenSize;

        // --- Attention projections (per layer) ---
        double attnProj;
        int heads = _m.Heads / tp;
        int kvHeads = _plan.KvHeadsPerGpu(_m);
        if (_m.Mla is { } mla)
        {
            double qkDim = mla.QkHeadDim, vDim = mla.VHeadDim;
            attnProj = (mla.QLoraRank > 0
                    ? Lin(T, h, mla.QLoraRank) + Lin(T, mla.QLoraRank, heads * qkDim)
                    : Lin(T, h, heads * qkDim))
                + Lin(T, h, mla.KvLoraRank + mla.QkRopeHeadDim)
                + Lin(T, mla.KvLoraRank, heads * (mla.QkNopeHeadDim + mla.VHeadDim))
                + Lin(T, heads * vDim, h);
        }
        else
        {
            attnProj = _measured != null
                ? _measured.Seconds(MeasuredOperatorTable.AttnPreProj, tp, T) + _measured.Seconds(MeasuredOperatorTable.AttnPostProj, tp, T)
                : Lin(T, h, (heads + 2.0 * kvHeads) * _m.HeadDim) + Lin(T, heads * _m.HeadDim, h);
        }

        // --- Dense MLP (per dense layer) ---
        double mlp = 0;
        if (st.DenseLayers > 0)
        {
            double f = _m.FfnSize / (double)tp;
            mlp = _measured != null && !_m.IsMoe
                ? _measured.Seconds(MeasuredOperatorTable.MlpUpProj, tp, T) + _measured.Seconds(MeasuredOperatorTable.MlpDownProj, tp, T)
                : (_m.GatedMlp ? Lin(T, h, 2 * f) : Lin(T, h, f)) + Lin(T, f, h);
        }

        // --- MoE block (per MoE layer): router, shared experts, routed experts on the hottest EP rank ---
        double moe = 0, hotspot = 1;
        if (st.MoeLayers > 0 && _routing != null)
        {
            moe += Lin(T, h, _m.Experts);
            if (_m.SharedExperts > 0)
            {
                double sf = (double)_m.SharedExperts * _m.SharedExpertFfnSize / tp;
                moe += (_m.GatedMlp ? Lin(T, h, 2 * sf) : Lin(T, h, sf)) + Lin(T, sf, h);
            }
            // Under DP attention the routed experts see every rank's tokens: the engine adds them (EngineExpertStep).
            if (!_plan.IsDataParallelAttention)
            {
                hotspot = _routing.HotspotRatio(T);
                moe += RoutedExpertSeconds(T, hotspot, launch);
            }
        }

        // --- Element-wise kernels per layer: 2 norms, rope, activation, 2 residual adds (read + write 16-bit) ---
        double elementwise = 6 * (T * h * 2.0 * 2.0 / (_hbm * _p.EtaMemory) + launch);

        // The lookup reads one 16-bit row per token, whatever the weight format (see Precision.EmbeddingBytes).
        double embedding = st.IsFirst ? T * h * Precision.EmbeddingBytes / (_hbm * _p.EtaMemory) + launch : 0;

        // --- Activation collectives: TP all-reduces, EP all-to-alls, the PP send (CP's depend on more than the count) ---
        double tpComm = 0, epComm = 0, ppComm = 0;
        bool hasTp = tp > 1, hasEp = _plan.Ep > 1 && st.MoeLayers > 0 && !_plan.IsDataParallelAttention, hasPp = st.PpPair.Length == 2;
        var comms = new CommDemand[(hasTp ? 1 : 0) + (hasEp ? 1 : 0) + (hasPp ? 1 : 0)];
        int next = 0;
        long actBytes = (long)Math.Ceiling(T * h * Precision.ActivationBytes);
        if (hasTp)
        {
            // Two all-reduces per layer; MoE layers with EP > 1 replace the MLP's by dispatch + combine.
            int arCount = 2 * st.Layers - (_plan.Ep > 1 ? st.MoeLayers : 0);
            double arUs = TimedByTokens(stage, 0, CollectiveOp.AllReduce, st.TpGroup, newTokens, actBytes);
            tpComm = arCount * arUs * 1e-6;
            comms[next++] = new CommDemand(CommGroupKind.Tensor, "all_reduce", actBytes, arCount, (long)Math.Round(arUs * 1e3));
        }
        if (hasEp)
        {
            long a2aBytes = (long)Math.Ceiling(T * _m.TopK / _plan.Ep * h * Precision.ActivationBytes * hotspot);
            double a2aUs = Timed(stage, 1, CollectiveOp.AllToAll, st.EpGroup, a2aBytes);
            epComm = 2 * st.MoeLayers * a2aUs * 1e-6;
            comms[next++] = new CommDemand(CommGroupKind.Expert, "all_to_all", a2aBytes, 2 * st.MoeLayers, (long)Math.Round(a2aUs * 1e3));
        }
        if (hasPp)
        {
            // As vLLM hands activations between stages under TP: every TP rank sends its 1/TP slice to the same rank
            // of the next stage (in parallel, each over its own link), and that stage all-gathers the slices.
            double sendUs = TimedByTokens(stage, 4, CollectiveOp.SendRecv, st.PpPair, newTokens, (actBytes + tp - 1) / tp);
            if (tp > 1) sendUs += TimedByTokens(stage, 5, CollectiveOp.AllGather, st.NextTpGroup, newTokens, actBytes);
            ppComm = sendUs * 1e-6;
            comms[next] = new CommDemand(CommGroupKind.Pipeline, "send_recv", actBytes, 1, (long)Math.Round(sendUs * 1e3));
        }
        // Implementation note: a decode batch has as many sequences as new tokens, so its LM head is a function of the
        // count too: remembered with the other terms for the batches the memo keeps (the same call, the same bits).
        double lmHeadOfDecodes = st.IsLast && newTokens < MaxTermsMemo ? LmHeadSeconds(newTokens, h, _m.VocabSize / (double)tp) : double.NaN;
        // As Estimate computes them from these terms (sequences = newTokens for the engine term of decodes).
        double engineOfDecodes = st.IsFirst
            ? (_p.IterationOverheadUs + _p.PerSequenceOverheadUs * newTokens + _p.PerTokenOverheadUs * newTokens) * 1e-6
            : 0;
        return new TokenTerms(attnProj, mlp, moe, elementwise, embedding, tpComm, epComm, ppComm, comms, lmHeadOfDecodes,
            EmbeddingPlusProjS: embedding + attnProj * st.Layers, MlpS: mlp * st.DenseLayers, MoeS: moe * st.MoeLayers,
            ElementwiseS: elementwise * st.Layers, EngineOfDecodes: engineOfDecodes, TpNs: Ns(tpComm), EpNs: Ns(epComm), PpNs: Ns(ppComm));
    }

    /// <summary>
    /// The routed experts of one MoE layer on the hottest GPU when <paramref name="tokens"/> tokens are routed over the EP
    /// group: its routed rows, the distinct experts it reads, two grouped GEMMs. With EP &lt;= TP each expert is split
    /// TP / EP ways; with EP &gt; TP (DP attention) a GPU holds whole experts.
    /// </summary>
    private double RoutedExpertSeconds(double tokens, double hotspot, double launch)
    {
        double h = _m.HiddenSize;
        int tp = _plan.Tp;
        double assignments = tokens * _m.TopK / _plan.Ep * hotspot;          // routed rows on the hottest rank
        double distinct = Math.Max(1e-9, _routing!.ExpectedDistinctOnHottestRank(tokens));
        double fe = _m.ExpertFfnSize * (double)Math.Min(_plan.Ep, tp) / tp; // expert FFN shard per GPU
        double mats = _m.GatedMlp ? 3 : 2;
        double flops = 2.0 * assignments * h * fe * mats;
        double bytes = distinct * h * fe * mats * _wb + assignments * (2 * h + fe * (mats - 1)) * 2.0;
        double rowsPerExpert = assignments / distinct;
        return Roofline.KernelSeconds(flops, bytes, _peakFlops, _p.EtaCompute(rowsPerExpert), _hbm, _p) + launch; // two grouped GEMMs
    }

    /// <summary>
    /// The MoE part of one lockstep step of a DP-attention engine on <paramref name="stage"/>: its ranks together bring
    /// <paramref name="engineTokens"/> new tokens, the largest rank <paramref name="maxRankTokens"/>. Every GPU runs the
    /// routed experts of the tokens sent to it (the hottest sets the time, skew model included); each all-to-all moves
    /// per GPU the larger of what the biggest rank sends (its tokens / TP x top-k rows) and what the hottest GPU receives
    /// (engine tokens x top-k / EP x hotspot rows), two per MoE layer (dispatch, FP8 under FP8 weights; combine, BF16). Idle ranks join with empty
    /// batches, so the all-to-all always spans the whole engine.
    /// </summary>
    public ExpertStepCost EngineExpertStep(int stage, long engineTokens, long maxRankTokens)
    {
        var st = _stages[stage];
        if (_routing is null || st.MoeLayers == 0 || engineTokens <= 0) return new ExpertStepCost(0, 0, [], 1.0);
        double h = _m.HiddenSize;
        double hotspot = _routing.HotspotRatio(engineTokens);
        double compute = st.MoeLayers * RoutedExpertSeconds(engineTokens, hotspot, _p.KernelLaunchUs * 1e-6);
        // Rows per GPU per call: the biggest sender's or the hottest receiver's.
        double rows = Math.Max((double)maxRankTokens / _plan.Tp * _m.TopK, (double)engineTokens * _m.TopK / _plan.Ep * hotspot);
        // Dispatch moves FP8 rows (plus one fp32 scale per 128 values) under FP8 weights, as vLLM's DeepEP / pplx backends
        // and DeepEP's low-latency kernels quantize it; the combine returns BF16 rows.
        double dispatchRowBytes = _fp8Dispatch ? h * (1 + 4.0 / 128) : h * Precision.ActivationBytes;
        long dispatchBytes = (long)Math.Ceiling(rows * dispatchRowBytes);
        long combineBytes = (long)Math.Ceiling(rows * h * Precision.ActivationBytes);
        bool lowLatency = _allToAll == MoeAllToAll.DeepEpLowLatency && maxRankTokens <= ExpertStepCost.LowLatencyMaxTokensPerRank;
        double Us(long bytes) => lowLatency ? LowLatencyAllToAllUs(st.EpGroup, bytes) : _timer.TimeUs(CollectiveOp.AllToAll, st.EpGroup, bytes);
        double dispatchUs = Us(dispatchBytes), combineUs = Us(combineBytes);
        CommDemand[] demands =
        [
            new(CommGroupKind.Expert, "all_to_all", dispatchBytes, st.MoeLayers, (long)Math.Round(dispatchUs * 1e3)),
            new(CommGroupKind.Expert, "all_to_all", combineBytes, st.MoeLayers, (long)Math.Round(combineUs * 1e3)),
        ];
        return new ExpertStepCost(Ns(compute), Ns(st.MoeLayers * (dispatchUs + combineUs) * 1e-6), demands, hotspot);
    }

    // Implementation note: DeepEP's low-latency kernels post every token's write at once (IBGDA RDMA to other nodes, NVLink
    // to peers of the same node since DeepEP PR #173; no forwarding hop, no CPU sync), so a call costs one message latency
    // plus the bytes on the busier path: S x (peers on other nodes) / n through the NIC, S x (other peers on the node) / n
    // over NVLink, in parallel. A send/recv of those bytes prices each path (it carries the link's latency and efficiency).
    // DeepEP reports 155 us dispatch / 273 us combine at EP32 on H800 + CX7 400 Gb/s for 128 tokens x top-8 x 7168 hidden
    // (FP8 / BF16), i.e. 48 and 53 GB/s per GPU: the NIC's ~50 GB/s, which is what this bandwidth term gives.
    private double LowLatencyAllToAllUs(int[] group, long bytes)
    {
        int n = group.Length;
        if (n < 2 || bytes <= 0) return 0;
        int node = group[0] / _gpusPerNode;
        int far = -1, near = -1, local = 0;
        foreach (var g in group)
        {
            if (g / _gpusPerNode == node) { local++; if (g != group[0] && near < 0) near = g; }
            else if (far < 0) far = g;
        }
        double nic = far < 0 ? 0 : _timer.TimeUs(CollectiveOp.SendRecv, [group[0], far], (long)Math.Ceiling(bytes * (double)(n - local) / n));
        double nvl = near < 0 ? 0 : _timer.TimeUs(CollectiveOp.SendRecv, [group[0], near], (long)Math.Ceiling(bytes * (local - 1.0) / n));
        return Math.Max(nic, nvl);
    }

    /// <summary>Collectives one stage may run, each with its own memo of times by size (see <see cref="Timed"/>).</summary>
    private const int CommSlots = 6;

    /// <summary>Most sizes remembered per collective of a stage (then the memo starts over).</summary>
    private const int MaxMemoEntries = 1 << 14;

    // Implementation note: each collective of a stage always runs on the same group, so its time depends on its size
    // alone; a small dictionary by size per (stage, collective) answers in a few ns, where the shared timer's cache is
    // keyed by (op, algorithm, group, size) over every replica's groups (hundreds of thousands of entries, a cache miss
    // per lookup at fleet scale). The values are the timer's own, so results are bit-identical; a change of link
    // conditions (a fault) drops every memo, as the timer drops its cache.
    private double Timed(int stage, int slot, CollectiveOp op, int[] group, long bytes)
    {
        DropMemosIfConditionsChanged();
        var memo = _commMemo[stage * CommSlots + slot];
        if (memo.TryGetValue(bytes, out double us)) return us;
        if (memo.Count >= MaxMemoEntries) memo.Clear();
        us = _timer.TimeUs(op, group, bytes);
        memo[bytes] = us;
        return us;
    }

    private void DropMemosIfConditionsChanged()
    {
        if (_conditions is not { } c || c.ConditionsVersion == _conditionsVersion) return;
        if (_memosShared)
        {
            // Other replicas' groups may not see the change: leave the shared set (never cleared under them) for fresh memos.
            UseOwnMemos();
            _conditionsVersion = c.ConditionsVersion;
            return;
        }
        foreach (var m in _commMemo) m.Clear();
        foreach (var m in _tokenMemo) Array.Fill(m, -1.0);
        foreach (var m in _termsMemo) Array.Clear(m);
        _conditionsVersion = c.ConditionsVersion;
    }

    /// <summary>
    /// Batch token counts remembered by index per collective of a stage (larger batches use the memo by size), for the
    /// one set of memos a layout's replicas share (<see cref="ShareMemos"/>; a lone replica owns its layout's set): every
    /// batch of up to 16,384 tokens (prefill-sized batches included, not only decodes). The array grows to the largest
    /// count seen, at most 128 KB per collective.
    /// </summary>
    // Implementation note: the bound was 1,024 while every replica had its own memos (8 KB per collective kept 2,048
    // replicas small); since they are shared, prefill batches (up to max_num_batched_tokens) take the array too, where
    // each of them cost a hash lookup in the memo by size.
    private const int MaxTokenMemo = 1 << 14;

    /// <summary>
    /// The bound for memos a model keeps for itself (never registered by <see cref="ShareMemos"/>, or left the shared set
    /// at a change of link conditions): decode batches only, 8 KB per collective, so thousands of private sets stay small.
    /// </summary>
    private const int PrivateTokenMemo = 1 << 10;

    /// <summary><see cref="MaxTokenMemo"/> for a layout's shared set, <see cref="PrivateTokenMemo"/> otherwise.</summary>
    // Implementation note: only which memo answers depends on it (the array or the memo by size); the values are Timed's
    // either way. After one degraded link every replica leaves the shared set, and 2,048 private sets at the larger bound
    // could hold about 0.5-1.5 GB.
    private int _tokenMemoBound = PrivateTokenMemo;

    // Implementation note: the activation collectives (TP all-reduce, PP send and all-gather) move a size that is a
    // function of the batch's token count alone, so their time is remembered in an array indexed by that count: one
    // load where a dictionary by size costs a hash and two dependent loads (about 7% of fleet-1m, nearly all of it decode
    // batches, hence the small bound). The values are Timed's, so results are bit-identical; a change of link
    // conditions drops these memos with the others.
    private double TimedByTokens(int stage, int slot, CollectiveOp op, int[] group, long newTokens, long bytes)
    {
        if (newTokens >= _tokenMemoBound || (_conditions is { } c && c.ConditionsVersion != _conditionsVersion))
            return Timed(stage, slot, op, group, bytes);
        int i = stage * CommSlots + slot;
        var memo = _tokenMemo[i];
        if (newTokens < memo.Length && memo[newTokens] >= 0) return memo[newTokens];
        double us = Timed(stage, slot, op, group, bytes);
        if (newTokens >= memo.Length)
        {
            int old = memo.Length;
            Array.Resize(ref memo, (int)Math.Min(_tokenMemoBound, Math.Max(2 * (newTokens + 1), 64)));
            Array.Fill(memo, -1.0, old, memo.Length - old);
            _tokenMemo[i] = memo;
        }
        memo[newTokens] = us;
        return us;
    }

    private double Lin(double tokens, double inDim, double outDim) =>
        Roofline.LinearSeconds(tokens, inDim, outDim, _wb, _peakFlops, _hbm, _p);

    /// <summary>The LM head GEMM of <paramref name="sequences"/> rows (one per sequence): a 16-bit GEMM whatever the weight format.</summary>
    // Implementation note: quantized checkpoints keep the LM head in 16-bit (Precision.EmbeddingBytes: ModelOpt's FP8 /
    // INT8 / INT4 configs disable the lm_head quantizer, as the memory plan counts it), so the engines run it as a BF16
    // GEMM: 16-bit weight bytes at the BF16 rate. For 16-bit checkpoints this is Lin's formula with the same operands.
    private double LmHeadSeconds(double sequences, double inDim, double outDim) =>
        Roofline.LinearSeconds(sequences, inDim, outDim, Precision.EmbeddingBytes, _bf16Flops, _hbm, _p);

    private static long Ns(double seconds) => RoundHalfEven(seconds * 1e9);

    /// <summary><c>Math.Max(0, x)</c> in one compare: x when x &gt; 0 or NaN, +0 otherwise (-0 included, as Math.Max gives).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal static double PositivePart(double x) => !(x <= 0) ? x : 0.0;

    /// <summary><c>(long)Math.Round(x)</c> (ties to even) for every double, in a few instructions where it can.</summary>
    // Implementation note: Math.Round is a call in the native build (its baseline instruction set has no roundsd), and
    // Estimate rounds six times per batch. For 0 <= x < 2^52, x + 2^52 lies in [2^52, 2^53), where the doubles are
    // exactly the integers, so the addition rounds x to the nearest integer, ties to even (2^52 is even), and taking
    // 2^52 away again is exact; ties to even is symmetric, so a negative x is its negation's. Every other x (|x| >=
    // 2^52, already an integer; NaN) goes to Math.Round. CostModelFastPathTest compares the two on ties and random values.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal static long RoundHalfEven(double x)
    {
        const double TwoTo52 = 4503599627370496.0;
        if (x >= 0 && x < TwoTo52) return (long)(x + TwoTo52 - TwoTo52);
        if (x < 0 && x > -TwoTo52) return -(long)(-x + TwoTo52 - TwoTo52);
        return (long)Math.Round(x);
    }
}
