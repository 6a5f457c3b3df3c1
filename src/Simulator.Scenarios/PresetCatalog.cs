namespace Simulator.Scenarios;

/// <summary>
/// The preset names a scenario may use (compared case-insensitively). An empty collection skips the check for that
/// kind, so the scenario layer works before the hardware and model preset lists are wired in.
/// </summary>
public interface IPresetCatalog
{
    /// <summary>GPU preset names (<c>H100-SXM-80GB</c>, ...).</summary>
    IReadOnlyCollection<string> Gpus { get; }

    /// <summary>Link preset names (<c>nvlink4</c>, <c>ib-ndr400</c>, ...).</summary>
    IReadOnlyCollection<string> Links { get; }

    /// <summary>Model preset names (<c>llama-3.1-70b</c>, ...).</summary>
    IReadOnlyCollection<string> Models { get; }
}

/// <summary>A fixed <see cref="IPresetCatalog"/>; <see cref="Empty"/> accepts every name.</summary>
public sealed class PresetCatalog : IPresetCatalog
{
    public PresetCatalog(IEnumerable<string> gpus, IEnumerable<string> links, IEnumerable<string> models)
    {
        Gpus = gpus.ToArray();
        Links = links.ToArray();
        Models = models.ToArray();
    }

    /// <summary>A catalog with no names: preset checks are skipped.</summary>
    public static PresetCatalog Empty { get; } = new([], [], []);

    /// <inheritdoc />
    public IReadOnlyCollection<string> Gpus { get; }

    /// <inheritdoc />
    public IReadOnlyCollection<string> Links { get; }

    /// <inheritdoc />
    public IReadOnlyCollection<string> Models { get; }
}
