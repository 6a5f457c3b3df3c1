using System.Text.Json;

namespace Simulator.Inference.Models;

/// <summary>Thrown when a Hugging Face config cannot be read; the message names the file and the key.</summary>
/// <param name="message">The whole message: source, key and problem.</param>
/// <param name="key">The config key at fault, when there is one (lets a scenario blame the key's own line).</param>
/// <param name="problem">What is wrong with <paramref name="key"/>; what is allowed (without the source).</param>
public sealed class ModelConfigException(string message, string? key = null, string? problem = null) : Exception(message)
{
    /// <summary>The config key at fault, or null.</summary>
    public string? Key { get; } = key;

    /// <summary>What is wrong with <see cref="Key"/>; what is allowed.</summary>
    public string Problem { get; } = problem ?? message;
}

/// <summary>
/// Reads a Hugging Face <c>config.json</c> as published (Llama, Mixtral, Qwen3-MoE, DeepSeek-V3 field
/// names) into a <see cref="ModelSpec"/>.
/// </summary>
public static class HfConfigImporter
{
    /// <summary>Reads and converts the config file at <paramref name="path"/>.</summary>
    public static ModelSpec Load(string path, string? name = null)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelConfigException($"{path}: cannot read model config: {e.Message}");
        }
        return Parse(text, path, name ?? Path.GetFileNameWithoutExtension(path));
    }

    /// <summary>Converts config JSON text; <paramref name="origin"/> names the source in errors.</summary>
    public static ModelSpec Parse(string json, string origin, string name)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new ModelConfigException($"{origin}: not valid JSON: {e.Message}"); }
        using (doc)
        {
            var r = doc.RootElement;
            if (r.ValueKind != JsonValueKind.Object) throw new ModelConfigException($"{origin}: expected a JSON object");
            ModelConfigException Bad(string key, string problem) => new($"{origin}: key '{key}' {problem}", key, problem);
            int Req(string key) => GetInt(r, origin, key, min: 1) ?? throw new ModelConfigException($"{origin}: missing key '{key}' (required for a model shape)", key, "missing; required for a model shape");
            int Opt(string key, int fallback) => GetInt(r, origin, key, min: 1) ?? fallback;

            var hidden = Req("hidden_size");
            var heads = Req("num_attention_heads");
            var layers = Req("num_hidden_layers");
            var vocab = Req("vocab_size");
            var ffn = Req("intermediate_size");
            var kvHeads = Opt("num_key_value_heads", heads);
            if (heads % kvHeads != 0)
                throw Bad("num_key_value_heads", $"is {kvHeads}, which does not divide num_attention_heads {heads}; expected a divisor of {heads} (each KV head serves a whole group of query heads)");
            var headDim = Opt("head_dim", Math.Max(1, hidden / heads));
            var tied = r.TryGetProperty("tie_word_embeddings", out var t) && t.ValueKind == JsonValueKind.True;
            var act = r.TryGetProperty("hidden_act", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString() : "silu";
            var gated = act is "silu" or "swiglu" or "gelu_pytorch_tanh" && !IsNonGatedFamily(r);

            // Routed experts: Mixtral "num_local_experts", Qwen3-MoE "num_experts", DeepSeek "n_routed_experts".
            var experts = GetInt(r, origin, "num_local_experts") ?? GetInt(r, origin, "num_experts") ?? GetInt(r, origin, "n_routed_experts") ?? 0;
            int topK = 0, expertFfn = 0, shared = 0, sharedFfn = 0, denseFirst = 0, step = 1;
            if (experts > 0)
            {
                topK = Req("num_experts_per_tok");
                // Mixtral has no moe_intermediate_size: its experts use intermediate_size.
                expertFfn = GetInt(r, origin, "moe_intermediate_size") ?? ffn;
                shared = GetInt(r, origin, "n_shared_experts") ?? 0;
                sharedFfn = shared > 0 ? GetInt(r, origin, "shared_expert_intermediate_size") ?? expertFfn : 0;
                if (GetInt(r, origin, "shared_expert_intermediate_size") is { } qwenShared && qwenShared > 0 && shared == 0)
                {
                    shared = 1; // Qwen2-MoE style: one shared expert of the given size
                    sharedFfn = qwenShared;
                }
                denseFirst = GetInt(r, origin, "first_k_dense_replace") ?? 0;
                step = GetInt(r, origin, "decoder_sparse_step") ?? GetInt(r, origin, "moe_layer_freq") ?? 1;
                if (r.TryGetProperty("mlp_only_layers", out var mo) && mo.ValueKind == JsonValueKind.Array && mo.GetArrayLength() > 0)
                    throw new ModelConfigException($"{origin}: key 'mlp_only_layers' lists dense layers; only a leading dense block (first_k_dense_replace) is supported");
            }

            MlaSpec? mla = null;
            if (GetInt(r, origin, "kv_lora_rank") is { } kvLora && kvLora > 0)
            {
                mla = new MlaSpec(kvLora, Opt("q_lora_rank", 0), Req("qk_rope_head_dim"), Req("qk_nope_head_dim"), Req("v_head_dim"));
                headDim = mla.QkHeadDim;
            }

            return new ModelSpec
            {
                Name = name, Layers = layers, HiddenSize = hidden, Heads = heads, KvHeads = kvHeads, HeadDim = headDim,
                FfnSize = ffn, GatedMlp = gated, VocabSize = vocab, TiedEmbeddings = tied,
                Experts = experts, TopK = topK, ExpertFfnSize = expertFfn, SharedExperts = shared, SharedExpertFfnSize = sharedFfn,
                DenseFirstLayers = denseFirst, MoeLayerStep = step, Mla = mla,
                Source = $"Hugging Face config.json ({origin})",
            };
        }
    }

    private static bool IsNonGatedFamily(JsonElement r) =>
        r.TryGetProperty("model_type", out var m) && m.ValueKind == JsonValueKind.String && m.GetString() is "gpt2" or "opt" or "phi" or "bloom" or "falcon";

    private static int? GetInt(JsonElement r, string origin, string key, int min = 0)
    {
        if (!r.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i))
        {
            if (i < min) throw new ModelConfigException($"{origin}: key '{key}' is {i}; expected an integer >= {min}", key, $"is {i}; expected an integer >= {min}");
            return i;
        }
        throw new ModelConfigException($"{origin}: key '{key}' must be an integer, got {v.GetRawText()}", key, $"must be an integer, got {v.GetRawText()}");
    }
}
