using Simulator.Inference.Metrics;
using Simulator.Inference.Parallelism;
using Simulator.Inference.Serving;

namespace Simulator.Scenarios;

/// <summary>What a run with DP-attention engines adds to its outputs: the engine / DP-rank columns and summary.json's <c>data_parallel</c>.</summary>
internal static class DataParallelOutputs
{
    /// <summary>
    /// The engine and DP rank of every replica of <paramref name="plans"/> (one plan per pool, in replica order; engines
    /// numbered across them), or null when no plan has DP attention (the columns are then left out).
    /// </summary>
    public static IReadOnlyList<ReplicaEngine>? Engines(IEnumerable<ParallelPlan> plans)
    {
        var list = plans.ToList();
        if (!list.Any(p => p.IsDataParallelAttention)) return null;
        var rows = new List<ReplicaEngine>();
        int engines = 0;
        foreach (var plan in list)
        {
            for (int r = 0; r < plan.Replicas; r++) rows.Add(new ReplicaEngine(engines + plan.EngineOf(r), plan.DpRankOf(r)));
            engines += plan.Engines;
        }
        return rows;
    }

    /// <summary>summary.json's <c>data_parallel</c> from the engines' totals (null without DP-attention engines).</summary>
    public static DataParallelSummary? Summary(IReadOnlyList<DataParallelEngineStats> engines, ParallelPlan plan)
    {
        if (engines.Count == 0) return null;
        var tokens = engines.SelectMany(e => e.RankTokens).ToList();
        double mean = tokens.Count > 0 ? tokens.Average() : 0;
        return new DataParallelSummary(engines.Count, plan.Dp, plan.Ep, engines.Sum(e => e.Steps),
            MetricFormat.Round(engines.Sum(e => e.EpCommNs) / 1e6, 3), MetricFormat.Round(engines.Sum(e => e.ExpertComputeNs) / 1e6, 3),
            mean > 0 ? MetricFormat.Round(tokens.Max() / mean, 4) : 1.0);
    }
}
