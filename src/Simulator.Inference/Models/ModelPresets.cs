namespace Simulator.Inference.Models;

/// <summary>
/// Named model shapes (case-insensitive). Every preset is transcribed from the model's published
/// Hugging Face config.json (tests check them against the files where the files are available) or,
/// for qwen3.6-35b-a3b, chosen as documented on <see cref="Qwen36_35bA3b"/>.
/// </summary>
public static class ModelPresets
{
    // Implementation note: a Dictionary of reference types, not a SortedDictionary: its code is the framework's shared,
    // precompiled instantiation, where SortedDictionary<string, ModelSpec> was ~30 methods the JIT compiled at every start.
    private static readonly Dictionary<string, ModelSpec> All = new(StringComparer.OrdinalIgnoreCase)
    {
        ["llama-2-7b"] = Dense("llama-2-7b", 32, 4096, 32, 32, 11008, 32000,
            "meta-llama/Llama-2-7b-hf config.json (hidden 4096, 32 layers, 32 heads, MHA, FFN 11008, vocab 32000)"),
        ["llama-2-70b"] = Dense("llama-2-70b", 80, 8192, 64, 8, 28672, 32000,
            "meta-llama/Llama-2-70b-hf config.json (hidden 8192, 80 layers, 64 heads, 8 KV heads, FFN 28672, vocab 32000)"),
        ["llama-3.1-8b"] = Dense("llama-3.1-8b", 32, 4096, 32, 8, 14336, 128256,
            "meta-llama/Meta-Llama-3.1-8B config.json"),
        ["llama-3.1-70b"] = Dense("llama-3.1-70b", 80, 8192, 64, 8, 28672, 128256,
            "meta-llama/Meta-Llama-3.1-70B config.json"),
        ["llama-3.1-405b"] = Dense("llama-3.1-405b", 126, 16384, 128, 8, 53248, 128256,
            "meta-llama/Meta-Llama-3.1-405B config.json"),
        ["mixtral-8x7b"] = Dense("mixtral-8x7b", 32, 4096, 32, 8, 14336, 32000, "mistralai/Mixtral-8x7B-v0.1 config.json")
            with { Experts = 8, TopK = 2, ExpertFfnSize = 14336 },
        ["mixtral-8x22b"] = Dense("mixtral-8x22b", 56, 6144, 48, 8, 16384, 32000, "mistralai/Mixtral-8x22B-v0.1 config.json")
            with { Experts = 8, TopK = 2, ExpertFfnSize = 16384 },
        ["qwen3-30b-a3b"] = Dense("qwen3-30b-a3b", 48, 2048, 32, 4, 6144, 151936, "Qwen/Qwen3-30B-A3B config.json (head_dim 128)")
            with { HeadDim = 128, Experts = 128, TopK = 8, ExpertFfnSize = 768 },
        ["qwen3-235b-a22b"] = Dense("qwen3-235b-a22b", 94, 4096, 64, 4, 12288, 151936, "Qwen/Qwen3-235B-A22B config.json (head_dim 128)")
            with { HeadDim = 128, Experts = 128, TopK = 8, ExpertFfnSize = 1536 },
        ["deepseek-v3"] = DeepSeekV3(),
        ["qwen3.6-35b-a3b"] = Qwen36_35bA3b(),
    };

    private static readonly string[] SortedNames = Sorted(All.Keys);

    /// <summary>The preset names, sorted (ignoring case).</summary>
    public static IReadOnlyCollection<string> Names => SortedNames;

    private static string[] Sorted(IEnumerable<string> names)
    {
        var sorted = names.ToArray();
        Array.Sort(sorted, StringComparer.OrdinalIgnoreCase);
        return sorted;
    }

    /// <summary>True and the preset when <paramref name="name"/> is known (any case).</summary>
    public static bool TryGet(string name, out ModelSpec spec)
    {
        if (All.TryGetValue(name.Trim(), out var s)) { spec = s; return true; }
        spec = null!;
        return false;
    }

    /// <summary>The preset, or an error listing the known names.</summary>
    public static ModelSpec Get(string name) =>
        TryGet(name, out var s) ? s
            : throw new ArgumentException($"unknown model preset '{name}'; known: {string.Join(", ", SortedNames)}", nameof(name));

    private static ModelSpec Dense(string name, int layers, int hidden, int heads, int kvHeads, int ffn, int vocab, string source) => new()
    {
        Name = name, Layers = layers, HiddenSize = hidden, Heads = heads, KvHeads = kvHeads, HeadDim = hidden / heads,
        FfnSize = ffn, VocabSize = vocab, Source = source,
    };

    private static ModelSpec DeepSeekV3() => new()
    {
        Name = "deepseek-v3", Layers = 61, HiddenSize = 7168, Heads = 128, KvHeads = 128, HeadDim = 192,
        FfnSize = 18432, VocabSize = 129280, Experts = 256, TopK = 8, ExpertFfnSize = 2048,
        SharedExperts = 1, SharedExpertFfnSize = 2048, DenseFirstLayers = 3,
        Mla = new MlaSpec(KvLoraRank: 512, QLoraRank: 1536, QkRopeHeadDim: 64, QkNopeHeadDim: 128, VHeadDim: 128),
        Source = "deepseek-ai/DeepSeek-V3 config.json (main model; the multi-token-prediction layer, num_nextn_predict_layers = 1, is not counted)",
    };

    /// <summary>
    /// qwen3.6-35b-a3b: the seed's example model ("35B total, 3B active"). Its exact config is not
    /// available here, so this shape is chosen, not published: a Qwen3-MoE layout (grouped-query attention with head dim
    /// 256 as in Qwen's newer models, SwiGLU experts, one shared expert)
    /// sized to land near 35B total / 3B active: 40 layers, hidden 2048, 16 query heads x 256,
    /// 2 KV heads, 256 routed experts of FFN 512 with top-8 routing plus one shared expert of FFN 512,
    /// vocabulary 248,320, untied embeddings. That gives 34.1B total and 2.9B active parameters
    /// (tests pin both); a bf16 copy is about 68 GB, which the seed rounds to "a 35B model is 70 GB".
    /// Its KV cache is small (2 x 40 x 2 x 256 x 2 B = 80 KiB per token). Replace with the real config
    /// via {hf_config: path} when it is published.
    /// </summary>
    private static ModelSpec Qwen36_35bA3b() => new()
    {
        Name = "qwen3.6-35b-a3b", Layers = 40, HiddenSize = 2048, Heads = 16, KvHeads = 2, HeadDim = 256,
        FfnSize = 6144, VocabSize = 248320, Experts = 256, TopK = 8, ExpertFfnSize = 512,
        SharedExperts = 1, SharedExpertFfnSize = 512,
        Source = "chosen shape (not a published config): Qwen3-MoE layout sized to ~35B total / ~3B active; see ModelPresets.Qwen36_35bA3b",
    };
}
