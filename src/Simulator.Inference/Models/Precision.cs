namespace Simulator.Inference.Models;

/// <summary>Numeric formats for weights and KV cache.</summary>
public enum NumericFormat { Bf16, Fp16, Fp8, Int8, Int4 }

/// <summary>
/// Weight and KV-cache formats of a deployment. Weight bytes: bf16/fp16 2, fp8 1, int8 1, int4 0.5
/// plus one bf16 scale per <see cref="Int4GroupSize"/> weights (GPTQ/AWQ group quantization).
/// </summary>
public sealed record Precision(NumericFormat Weights, NumericFormat KvCache)
{
    /// <summary>Weights per bf16 scale in int4 group quantization.</summary>
    public const int Int4GroupSize = 128;

    /// <summary>bf16 weights and bf16 KV cache.</summary>
    public static Precision Default { get; } = new(NumericFormat.Bf16, NumericFormat.Bf16);

    /// <summary>Bytes stored per weight, scales included.</summary>
    public double WeightBytes => BytesPerWeight(Weights);

    /// <summary>Bytes per KV cache element.</summary>
    public double KvBytes => KvCache switch
    {
        NumericFormat.Bf16 or NumericFormat.Fp16 => 2,
        NumericFormat.Fp8 => 1,
        _ => throw new ArgumentException($"KV cache format {KvCache} is not supported; allowed: bf16, fp16, fp8"),
    };

    /// <summary>
    /// Bytes per parameter of the embedding table and the LM head: 16-bit whatever <see cref="Weights"/> is, because
    /// quantized checkpoints quantize the decoder's linear layers only (NVIDIA ModelOpt's FP8 / INT8 / INT4 configs disable
    /// the <c>*lm_head*</c> quantizer, and an embedding is a lookup, not a GEMM; GPTQ / AWQ / compressed-tensors FP8
    /// checkpoints keep both in 16-bit too). Checked: vLLM logs 33.88 GiB of weights per GPU for
    /// Llama-3.3-70B-Instruct-FP8-dynamic at TP 2 (data/calibration/memory/vllm-h100-memory-profile.csv); all-FP8
    /// gives 32.86 GiB, 16-bit tables 33.84 GiB.
    /// </summary>
    public const int EmbeddingBytes = 2;

    /// <summary>Activations and collectives stay in 16-bit.</summary>
    public const int ActivationBytes = 2;

    /// <summary>Bytes per stored weight of <paramref name="f"/>.</summary>
    public static double BytesPerWeight(NumericFormat f) => f switch
    {
        NumericFormat.Bf16 or NumericFormat.Fp16 => 2,
        NumericFormat.Fp8 or NumericFormat.Int8 => 1,
        NumericFormat.Int4 => 0.5 + 2.0 / Int4GroupSize,
        _ => throw new ArgumentOutOfRangeException(nameof(f)),
    };

    /// <summary>Parses a format name (bf16, bfloat16, fp16, float16, fp8, fp8_e4m3, int8, int4), any case.</summary>
    public static NumericFormat ParseFormat(string name) => name.Trim().ToLowerInvariant() switch
    {
        "bf16" or "bfloat16" => NumericFormat.Bf16,
        "fp16" or "float16" or "half" => NumericFormat.Fp16,
        "fp8" or "fp8_e4m3" or "e4m3" => NumericFormat.Fp8,
        "int8" or "w8a8" => NumericFormat.Int8,
        "int4" or "w4a16" => NumericFormat.Int4,
        _ => throw new ArgumentException($"unknown numeric format '{name}'; allowed: bf16, fp16, fp8, int8, int4"),
    };

    /// <summary>Builds a precision from names, validating the KV format (bf16, fp16 or fp8).</summary>
    public static Precision Parse(string weights, string kvCache)
    {
        var w = ParseFormat(weights);
        var kv = ParseFormat(kvCache);
        if (kv is NumericFormat.Int8 or NumericFormat.Int4)
            throw new ArgumentException($"KV cache format '{kvCache}' is not supported; allowed: bf16, fp16, fp8");
        return new Precision(w, kv);
    }

    /// <summary>Lower-case name as written in scenarios.</summary>
    public static string Name(NumericFormat f) => f.ToString().ToLowerInvariant();
}
