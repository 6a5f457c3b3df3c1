namespace Simulator.Hardware.Specs;

/// <summary>The error a preset lookup throws for an unknown name; its message lists the allowed names.</summary>
public sealed class UnknownPresetException : KeyNotFoundException
{
    public UnknownPresetException(string kind, string name, IEnumerable<string> allowed)
        : base($"unknown {kind} '{name}'; allowed: {string.Join(", ", allowed)}")
    {
        Kind = kind;
        Name = name;
    }

    /// <summary>What was looked up ("GPU", "link").</summary>
    public string Kind { get; }

    /// <summary>The name that was not found.</summary>
    public string Name { get; }
}
