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

    /// <summary>
    /// <see cref="Estimate(int, IReadOnlyList{SequenceWork})"/>'s times without its breakdown (<see cref="StageCost.BreakdownMs"/>
    /// may be empty): what the serving loop asks once per iteration, so a model may skip building the parts.
    /// </summary>
    StageCost EstimateTimes(int stage, IReadOnlyList<SequenceWork> batch) => Estimate(stage, batch);
}

/// <summary>
/// A cost model that can price a batch whose steady decodes are given as a count and a total context instead of one
/// <see cref="SequenceWork"/> each (the serving loop keeps them that way so that a decode step does not visit every
/// sequence). Only models whose time depends on the decodes through those sums may implement it.
/// </summary>
public interface IDecodeSumCostModel : IStageCostModel
{
    /// <summary>
    /// Time of one iteration on <paramref name="stage"/> of <paramref name="batch"/> plus <paramref name="decodes"/> decode
    /// steps (one new token each) whose contexts, each at least one token, sum to <paramref name="decodeContextTokens"/>:
    /// the same as <see cref="IStageCostModel.Estimate"/> of the batch with those decodes listed one by one.
    /// </summary>
    StageCost Estimate(int stage, IReadOnlyList<SequenceWork> batch, int decodes, long decodeContextTokens);

    /// <summary>The same times as <see cref="Estimate(int, IReadOnlyList{SequenceWork}, int, long)"/> without its breakdown (see <see cref="IStageCostModel.EstimateTimes"/>).</summary>
    StageCost EstimateTimes(int stage, IReadOnlyList<SequenceWork> batch, int decodes, long decodeContextTokens) =>
        Estimate(stage, batch, decodes, decodeContextTokens);
}
