using System.Globalization;

namespace Simulator.Scenarios.Planning;

/// <summary>
/// The launch command lines a layout means, for vLLM (`vllm serve`) and SGLang (`python -m sglang.launch_server`),
/// with the scenario's scheduler limits and number formats. A prefill/decode layout gives one command per side,
/// joined by <c> ; </c> and prefixed with the side (<c>prefill: ...</c>). A DP-attention layout of several engines gives
/// the one engine's command prefixed with their count (<c>each of 2 engines: ...</c>): each engine is its own expert group.
/// </summary>
public static class DeployCommands
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The `vllm serve` line(s): TP, PP, DP (replicas), expert parallelism, scheduler limits, prefix caching, formats, KV transfer for P/D.</summary>
    /// <param name="scenario">The scenario of the layout (its scheduler and precision are read; the layout's knobs are already applied).</param>
    /// <param name="modelName">The model's name, used when the scenario names no preset.</param>
    /// <param name="layout">The layout.</param>
    public static string Vllm(Scenario scenario, string modelName, Layout layout)
    {
        if (layout.Pd is { } pd)
        {
            // Implementation note: vLLM's disaggregated serving runs one instance per side, joined by a KV connector;
            // NixlConnector with kv_role kv_both is the connector its docs use for 1P1D over RDMA or NVLink.
            const string kv = "--kv-transfer-config '{\"kv_connector\":\"NixlConnector\",\"kv_role\":\"kv_both\"}'";
            return "prefill: " + VllmOne(scenario, modelName, pd.PrefillTp, 1, 1, pd.PrefillReplicas, kv)
                + " ; decode: " + VllmOne(scenario, modelName, pd.DecodeTp, 1, 1, pd.DecodeReplicas, kv);
        }
        // vLLM's DP attention: --tensor-parallel-size counts one rank's GPUs, --data-parallel-size the ranks of the engine.
        if (layout.Dp > 1) return Engines(layout) + VllmOne(scenario, modelName, layout.Tp, 1, layout.Ep, layout.Dp, null);
        return VllmOne(scenario, modelName, layout.Tp, layout.Pp, layout.Ep, layout.Replicas, null);
    }

    /// <summary>The `python -m sglang.launch_server` line(s): --tp-size, --pp-size, --dp-size (with --enable-dp-attention for DP attention), --ep-size, --max-running-requests, --chunked-prefill-size, radix cache, formats, --disaggregation-mode for P/D.</summary>
    public static string Sglang(Scenario scenario, string modelName, Layout layout)
    {
        if (layout.Pd is { } pd)
            return "prefill: " + SglangOne(scenario, modelName, pd.PrefillTp, 1, 1, pd.PrefillReplicas, "prefill")
                + " ; decode: " + SglangOne(scenario, modelName, pd.DecodeTp, 1, 1, pd.DecodeReplicas, "decode");
        // SGLang's DP attention: --tp-size counts every GPU of the engine, --dp-size splits attention into that many ranks.
        if (layout.Dp > 1) return Engines(layout) + SglangOne(scenario, modelName, layout.Tp * layout.Dp, 1, layout.Ep, layout.Dp, null, dpAttention: true);
        return SglangOne(scenario, modelName, layout.Tp, layout.Pp, layout.Ep, layout.Replicas, null);
    }

    private static string Engines(Layout layout) => layout.Replicas > 1 ? "each of " + I(layout.Replicas) + " engines: " : "";

    private static string VllmOne(Scenario scenario, string modelName, int tp, int pp, int ep, int replicas, string? kvTransfer)
    {
        var s = scenario.Scheduler;
        var parts = new List<string> { "vllm serve " + (scenario.Model.Preset ?? modelName), "--tensor-parallel-size " + I(tp) };
        if (pp > 1) parts.Add("--pipeline-parallel-size " + I(pp));
        if (replicas > 1) parts.Add("--data-parallel-size " + I(replicas));
        if (ep > 1) parts.Add("--enable-expert-parallel");
        parts.Add("--max-num-seqs " + I(s.MaxNumSeqs));
        parts.Add("--max-num-batched-tokens " + I(s.MaxNumBatchedTokens));
        parts.Add("--gpu-memory-utilization " + s.GpuMemoryUtilization.ToString("0.##", Inv));
        parts.Add("--block-size " + I(s.BlockSize));
        if (s.EnableChunkedPrefill) parts.Add("--enable-chunked-prefill");
        parts.Add(s.EnablePrefixCaching ? "--enable-prefix-caching" : "--no-enable-prefix-caching");
        if (scenario.Precision.Weights == "fp8") parts.Add("--quantization fp8");
        if (scenario.Precision.KvCache == "fp8") parts.Add("--kv-cache-dtype fp8");
        if (kvTransfer is not null) parts.Add(kvTransfer);
        return string.Join(" ", parts);
    }

    private static string SglangOne(Scenario scenario, string modelName, int tp, int pp, int ep, int replicas, string? pdMode, bool dpAttention = false)
    {
        var s = scenario.Scheduler;
        var parts = new List<string> { "python -m sglang.launch_server --model-path " + (scenario.Model.Preset ?? modelName), "--tp-size " + I(tp) };
        if (pp > 1) parts.Add("--pp-size " + I(pp));
        if (replicas > 1) parts.Add("--dp-size " + I(replicas));
        if (dpAttention) parts.Add("--enable-dp-attention");
        if (ep > 1) parts.Add("--ep-size " + I(ep));
        parts.Add("--max-running-requests " + I(s.MaxNumSeqs));
        // SGLang chunks prefills at --chunked-prefill-size tokens (-1 turns chunking off) and caps a prefill batch at --max-prefill-tokens.
        parts.Add("--chunked-prefill-size " + (s.EnableChunkedPrefill ? I(s.ChunkSize ?? s.MaxNumBatchedTokens) : "-1"));
        parts.Add("--max-prefill-tokens " + I(s.MaxNumBatchedTokens));
        parts.Add("--mem-fraction-static " + s.GpuMemoryUtilization.ToString("0.##", Inv));
        parts.Add("--page-size " + I(s.BlockSize));
        if (!s.EnablePrefixCaching) parts.Add("--disable-radix-cache");
        if (scenario.Precision.Weights == "fp8") parts.Add("--quantization fp8");
        if (scenario.Precision.KvCache == "fp8") parts.Add("--kv-cache-dtype fp8_e4m3");
        if (pdMode is not null) parts.Add("--disaggregation-mode " + pdMode + " --disaggregation-transfer-backend nixl");
        return string.Join(" ", parts);
    }

    private static string I(int v) => v.ToString(Inv);
}
