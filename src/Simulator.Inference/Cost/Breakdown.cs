using System.Collections;

namespace Simulator.Inference.Cost;

/// <summary>
/// The parts of a stage iteration, in a fixed order; <see cref="StageBreakdown"/> holds one value (ms) per part.
/// </summary>
public static class BreakdownParts
{
    public const string Embedding = "embedding";
    public const string AttentionProjections = "attn_proj";
    public const string Attention = "attention";
    public const string Mlp = "mlp";
    public const string Experts = "moe_experts";
    public const string Elementwise = "elementwise";
    public const string LmHead = "lm_head";
    public const string TpComm = "tp_comm";
    public const string EpComm = "ep_comm";
    public const string CpComm = "cp_comm";
    public const string PpComm = "pp_comm";
    public const string EngineOverhead = "engine_overhead";
    public const string CpuFloorWait = "cpu_floor_wait";

    /// <summary>Every part name, in output order.</summary>
    public static readonly string[] All =
    [
        Embedding, AttentionProjections, Attention, Mlp, Experts, Elementwise, LmHead,
        TpComm, EpComm, CpComm, PpComm, EngineOverhead, CpuFloorWait,
    ];

    internal static int IndexOf(string key) => Array.IndexOf(All, key);
}

/// <summary>A read-only, fixed-order dictionary of breakdown parts (ms) backed by one array.</summary>
public sealed class StageBreakdown : IReadOnlyDictionary<string, double>
{
    private readonly double[] _ms;

    internal StageBreakdown(double[] ms) => _ms = ms;

    /// <summary>
    /// The breakdown of a cost priced for its times only (<see cref="IStageCostModel.EstimateTimes"/>): empty, no part kept.
    /// </summary>
    public static IReadOnlyDictionary<string, double> NotKept { get; } = System.Collections.ObjectModel.ReadOnlyDictionary<string, double>.Empty;

    public double this[string key] => TryGetValue(key, out var v) ? v : throw new KeyNotFoundException(key);
    public IEnumerable<string> Keys => BreakdownParts.All;
    public IEnumerable<double> Values => _ms;
    public int Count => _ms.Length;
    public bool ContainsKey(string key) => BreakdownParts.IndexOf(key) >= 0;

    public bool TryGetValue(string key, out double value)
    {
        var i = BreakdownParts.IndexOf(key);
        value = i >= 0 ? _ms[i] : 0;
        return i >= 0;
    }

    public IEnumerator<KeyValuePair<string, double>> GetEnumerator()
    {
        for (var i = 0; i < _ms.Length; i++) yield return new(BreakdownParts.All[i], _ms[i]);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
