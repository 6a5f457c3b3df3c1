namespace Simulator.Inference.Models;

/// <summary>
/// Multi-head latent attention shape (DeepSeek-V2/V3): queries and keys/values pass through
/// low-rank projections and the KV cache stores one compressed latent per token and layer.
/// </summary>
public sealed record MlaSpec(int KvLoraRank, int QLoraRank, int QkRopeHeadDim, int QkNopeHeadDim, int VHeadDim)
{
    /// <summary>Per-head query/key width (nope + rope).</summary>
    public int QkHeadDim => QkNopeHeadDim + QkRopeHeadDim;

    /// <summary>Elements cached per token and layer: the KV latent plus the shared rope key (not split by TP).</summary>
    public int CachedElementsPerTokenPerLayer => KvLoraRank + QkRopeHeadDim;
}

/// <summary>
/// The shape of a decoder-only transformer, enough to count parameters, FLOPs, bytes and KV cache.
/// Dense models leave the MoE fields at 0; MoE layers replace the MLP from layer
/// <see cref="DenseFirstLayers"/> on (every <see cref="MoeLayerStep"/>-th layer).
/// </summary>
public sealed record ModelSpec
{
    public required string Name { get; init; }
    public required int Layers { get; init; }
    public required int HiddenSize { get; init; }
    public required int Heads { get; init; }
    public required int KvHeads { get; init; }
    public required int HeadDim { get; init; }
    /// <summary>Intermediate size of the dense MLP (dense models and dense first layers of MoE models).</summary>
    public required int FfnSize { get; init; }
    /// <summary>True for SwiGLU-style MLPs (gate and up projections, three matrices).</summary>
    public bool GatedMlp { get; init; } = true;
    public required int VocabSize { get; init; }
    public bool TiedEmbeddings { get; init; }
    /// <summary>Routed experts per MoE layer (0: dense model).</summary>
    public int Experts { get; init; }
    /// <summary>Routed experts chosen per token.</summary>
    public int TopK { get; init; }
    public int ExpertFfnSize { get; init; }
    public int SharedExperts { get; init; }
    /// <summary>Intermediate size of one shared expert.</summary>
    public int SharedExpertFfnSize { get; init; }
    /// <summary>Leading dense layers before the MoE layers start (HF first_k_dense_replace).</summary>
    public int DenseFirstLayers { get; init; }
    /// <summary>A layer i (at or after the dense first layers) is MoE when (i + 1) % step == 0 (HF decoder_sparse_step).</summary>
    public int MoeLayerStep { get; init; } = 1;
    /// <summary>Multi-head latent attention, or null for standard (grouped-query) attention.</summary>
    public MlaSpec? Mla { get; init; }
    /// <summary>Where the shape comes from (published config, paper, or how it was chosen).</summary>
    public string Source { get; init; } = "";

    public bool IsMoe => Experts > 0;

    /// <summary>True when layer <paramref name="layer"/> (0-based) has routed experts.</summary>
    public bool IsMoeLayer(int layer) =>
        Experts > 0 && layer >= DenseFirstLayers && (layer + 1) % Math.Max(1, MoeLayerStep) == 0;

    /// <summary>Number of MoE layers among layers [first, first + count).</summary>
    public int MoeLayersIn(int first, int count)
    {
        var n = 0;
        for (var i = first; i < first + count; i++) if (IsMoeLayer(i)) n++;
        return n;
    }

    private int MlpMatrices => GatedMlp ? 3 : 2;

    /// <summary>Parameters of one layer's attention block (projections and norms of the block).</summary>
    public long AttentionParams
    {
        get
        {
            long h = HiddenSize;
            if (Mla is { } m)
            {
                long q = m.QLoraRank > 0
                    ? h * m.QLoraRank + m.QLoraRank + (long)m.QLoraRank * Heads * m.QkHeadDim
                    : h * Heads * m.QkHeadDim;
                long kvA = h * (m.KvLoraRank + m.QkRopeHeadDim) + m.KvLoraRank;
                long kvB = (long)m.KvLoraRank * Heads * (m.QkNopeHeadDim + m.VHeadDim);
                long o = (long)Heads * m.VHeadDim * h;
                return q + kvA + kvB + o;
            }
            return h * Heads * HeadDim + 2 * h * KvHeads * HeadDim + (long)Heads * HeadDim * h;
        }
    }

    /// <summary>Parameters of the dense MLP of one layer.</summary>
    public long DenseMlpParams => (long)MlpMatrices * HiddenSize * FfnSize;

    /// <summary>Parameters of one routed expert.</summary>
    public long ExpertParams => (long)MlpMatrices * HiddenSize * ExpertFfnSize;

    /// <summary>Parameters of all shared experts of one MoE layer.</summary>
    public long SharedExpertParams => (long)SharedExperts * MlpMatrices * HiddenSize * SharedExpertFfnSize;

    /// <summary>Router (gate) parameters of one MoE layer.</summary>
    public long RouterParams => (long)HiddenSize * Experts;

    public long EmbeddingParams => (long)VocabSize * HiddenSize;
    public long LmHeadParams => TiedEmbeddings ? 0 : (long)VocabSize * HiddenSize;

    /// <summary>All parameters (embeddings, LM head, every expert, norms).</summary>
    public long TotalParams => CountParams(active: false);

    /// <summary>Parameters used per token (top-k routed plus shared experts; embeddings and LM head included).</summary>
    public long ActiveParams => CountParams(active: true);

    private long CountParams(bool active)
    {
        long total = EmbeddingParams + LmHeadParams + HiddenSize; // final norm
        for (var i = 0; i < Layers; i++)
        {
            total += AttentionParams + 2L * HiddenSize;
            if (IsMoeLayer(i))
                total += RouterParams + SharedExpertParams + (active ? TopK : Experts) * ExpertParams;
            else
                total += DenseMlpParams;
        }
        return total;
    }

    /// <summary>KV cache elements per token per layer for the whole model (no sharding).</summary>
    public long KvElementsPerTokenPerLayer => Mla is { } m ? m.CachedElementsPerTokenPerLayer : 2L * KvHeads * HeadDim;
}
