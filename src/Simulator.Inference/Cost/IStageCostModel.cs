namespace Simulator.Inference.Cost;

/// <summary>
/// What the serving layer asks the cost model: how long does this batch take on this pipeline stage
/// of one replica. Implementations are pure (no simulation state) and deterministic.
/// </summary>
public interface IStageCostModel
{
    /// <summary>Number of pipeline stages of the replica this model prices.</summary>
    int Stages { get; }

    /// <summary>Time of one iteration of <paramref name="batch"/> on <paramref name="stage"/> (0-based).</summary>
    StageCost Estimate(int stage, IReadOnlyList<SequenceWork> batch);
}
