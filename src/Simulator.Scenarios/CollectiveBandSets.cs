using Simulator.Hardware.Collectives;

namespace Simulator.Scenarios;

/// <summary>
/// The error of a collective validation set by message size (<see cref="CollectiveSizeBands"/>): one summary row per band
/// that holds points, named <c>SET [band]</c>, so validation.md shows where along size a set's error sits.
/// </summary>
public static class CollectiveBandSets
{
    /// <summary>
    /// The band rows of <paramref name="set"/> (its points split by size), or none when all its points fall in one band
    /// (the set's own row already says it). Band rows carry no points: validation_points.csv and the charts keep the set's.
    /// </summary>
    public static IReadOnlyList<ValidationSet> Split(ValidationSet set)
    {
        var byBand = set.Points.GroupBy(p => CollectiveSizeBands.Of(p.SizeOrBatch)).OrderBy(g => g.Key).ToList();
        if (byBand.Count < 2) return [];
        return byBand.Select(g => Validation.Summarize($"{set.Set} [{CollectiveSizeBands.Labels[g.Key]}]", set.Fitted, g.ToList(), set.Source)
            with { Points = [] }).ToList();
    }

    /// <summary><paramref name="sets"/> with each collectives set followed by its band rows.</summary>
    public static List<ValidationSet> WithBands(IEnumerable<ValidationSet> sets)
    {
        var all = new List<ValidationSet>();
        foreach (var s in sets)
        {
            all.Add(s);
            if (s.Set.StartsWith("collectives/", StringComparison.Ordinal)) all.AddRange(Split(s));
        }
        return all;
    }
}
