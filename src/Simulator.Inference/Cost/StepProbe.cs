using Simulator.Hardware.Collectives;
using Simulator.Hardware.Specs;
using Simulator.Inference.Models;
using Simulator.Inference.Parallelism;

namespace Simulator.Inference.Cost;

/// <summary>Iteration phase for <see cref="StepProbe"/>.</summary>
public enum StepPhase { Prefill, Decode }

/// <summary>The probe's answer: the slowest stage's iteration time and its breakdown (ms per part).</summary>
public sealed record StepProbeResult(double TimeMs, int Stage, IReadOnlyDictionary<string, double> BreakdownMs, StageCost Cost);

/// <summary>
/// The library behind <c>sim step</c>: the predicted time of one iteration of one pipeline stage for a
/// uniform batch (B sequences of <c>prompt</c> new tokens on <c>context</c> cached ones for prefill;
/// B single-token decodes on <c>context</c> (default: prompt) tokens for decode). With PP &gt; 1 it
/// reports the slowest stage. With CP &gt; 1 each stage spans <c>cp</c> x TP GPUs and prefill passes KV around the CP
/// ring. The replica sits on nodes of <c>gpusPerNode</c> GPUs (default 8).
/// </summary>
public static class StepProbe
{
    /// <summary>Most sequences in a probed batch (vLLM's max_num_seqs is in the hundreds).</summary>
    public const int MaxBatch = 65_536;

    /// <summary>Most tokens per sequence (prompt or context) a probe accepts: 16M, beyond any model's context window.</summary>
    public const int MaxTokens = 16_777_216;

    public static StepProbeResult Run(ModelSpec model, GpuSpec gpu, int tp, int pp, int ep, StepPhase phase,
        int batch, int prompt, int? context, ICollectiveTimer timer,
        CalibrationProfile? profile = null, Precision? precision = null, int gpusPerNode = 8, CostModelOptions? options = null,
        int cp = 1)
    {
        // Implementation note: bounded before the batch array is allocated.
        if (batch < 1 || batch > MaxBatch) throw new ArgumentException($"batch = {batch} is out of range; expected 1 to 65,536", nameof(batch));
        if (prompt < 1 || prompt > MaxTokens) throw new ArgumentException($"prompt = {prompt} is out of range; expected 1 to 16,777,216", nameof(prompt));
        if (context is < 0 or > MaxTokens) throw new ArgumentException($"context = {context} is out of range; expected 0 to 16,777,216", nameof(context));
        var plan = new ParallelPlan(Tp: tp, Pp: pp, Ep: ep, Cp: cp);
        plan.EnsureValid(model);
        var nodes = Math.Max(1, (plan.GpusPerReplica + gpusPerNode - 1) / gpusPerNode) * Math.Max(1, (tp + gpusPerNode - 1) / gpusPerNode);
        var placement = PlacementTable.Build(plan, new ClusterShape(Math.Max(nodes, pp), gpusPerNode));
        var cost = new RooflineStageCostModel(model, precision ?? Precision.Default, plan, placement, gpu,
            profile ?? CalibrationProfile.For(gpu), timer, 0, options);
        var work = phase == StepPhase.Prefill ? new SequenceWork(prompt, context ?? 0) : new SequenceWork(1, context ?? prompt);
        var seqs = new SequenceWork[batch];
        Array.Fill(seqs, work);
        StageCost? worst = null;
        var worstStage = 0;
        for (var s = 0; s < cost.Stages; s++)
        {
            var c = cost.Estimate(s, seqs);
            if (worst is not { } w || c.TotalNs > w.TotalNs) { worst = c; worstStage = s; }
        }
        var probed = worst ?? throw new InvalidOperationException("the cost model has no stage");
        return new StepProbeResult(probed.TotalNs / 1e6, worstStage, probed.BreakdownMs, probed);
    }

    /// <summary>Parses "prefill" or "decode" (any case).</summary>
    public static StepPhase ParsePhase(string text) => text.Trim().ToLowerInvariant() switch
    {
        "prefill" => StepPhase.Prefill,
        "decode" => StepPhase.Decode,
        _ => throw new ArgumentException($"phase '{text}' is not known; allowed: prefill, decode"),
    };
}
