namespace Simulator.Scenarios;

/// <summary>
/// Where each key of a scenario was written (file or <c>--set</c>, and line). Later stages use it to report a
/// problem found after loading (a TP size that does not divide the heads, a plan that does not fit) at its line.
/// </summary>
public sealed class ScenarioLocations
{
    // Implementation note: a Dictionary with a class as its value (the framework's shared, precompiled code), sorted only
    // when Entries is read; a SortedDictionary of tuples was ~45 methods the JIT compiled at every start.
    private readonly Dictionary<string, Location> _byKey;
    private readonly string _file;

    private sealed record Location(string File, int Line);

    public ScenarioLocations(string file, IEnumerable<KeyValuePair<string, (string File, int Line)>> entries)
    {
        _file = file;
        _byKey = new Dictionary<string, Location>(StringComparer.Ordinal);
        foreach (var e in entries) _byKey[e.Key] = new Location(e.Value.File, e.Value.Line);
    }

    /// <summary>No locations (a scenario built in code): errors point at line 1 of "scenario".</summary>
    public static ScenarioLocations None { get; } = new("scenario", []);

    /// <summary>Every recorded key and its location, in key order.</summary>
    public IEnumerable<KeyValuePair<string, (string File, int Line)>> Entries
    {
        get
        {
            var keys = _byKey.Keys.ToArray();
            Array.Sort(keys, StringComparer.Ordinal);
            foreach (var key in keys)
            {
                var at = _byKey[key];
                yield return new(key, (at.File, at.Line));
            }
        }
    }

    /// <summary>The scenario file as the user named it.</summary>
    public string File => _file;

    /// <summary>The location of <paramref name="keyPath"/>, or of its nearest written parent, or line 1 of the file.</summary>
    public (string File, int Line) Find(string keyPath)
    {
        string path = keyPath;
        while (true)
        {
            if (_byKey.TryGetValue(path, out var at)) return (at.File, at.Line);
            int dot = path.LastIndexOf('.');
            if (dot < 0) return (_file, 1);
            path = path[..dot];
        }
    }

    /// <summary>An error located at <paramref name="keyPath"/>'s line.</summary>
    public ScenarioError ErrorAt(string keyPath, string message)
    {
        var (file, line) = Find(keyPath);
        return new ScenarioError(file, line, keyPath, message);
    }
}

/// <summary>The allowed values of the scenario's enumerated keys, as YAML spells them.</summary>
public static class ScenarioEnums
{
    public static readonly IReadOnlyList<string> NetworkModels = ["analytic", "flow"];
    public static readonly IReadOnlyList<string> OutputFormats = ["csv", "parquet"];
    public static readonly IReadOnlyList<string> IterationOutputs = Simulator.Inference.Metrics.IterationOutput.Modes;
    public static readonly IReadOnlyList<string> Fabrics = ["non_blocking", "fat_tree"];
    public static readonly IReadOnlyList<string> Dtypes = ["bf16", "fp16", "fp8", "int8", "int4", "fp32"];
    public static readonly IReadOnlyList<string> KvDtypes = ["auto", "bf16", "fp16", "fp8", "fp32"];
    public static readonly IReadOnlyList<string> SchedulerPolicies = ["vllm", "sarathi", "orca", "static", "trtllm"];
    public static readonly IReadOnlyList<string> Preemptions = ["recompute", "swap"];
    public static readonly IReadOnlyList<string> Routers = ["round_robin", "random", "least_outstanding", "least_kv", "power_of_two", "prefix_aware", "session_affinity", "speed_weighted"];
    public static readonly IReadOnlyList<string> TraceFormats = ["auto", "azure", "vidur", "mooncake", "burstgpt"];
    public static readonly IReadOnlyList<string> ZeroOutputPolicies = ["skip", "one", "error"];
    public static readonly IReadOnlyList<string> ArrivalProcesses = ["poisson", "gamma", "constant", "burst"];
    public static readonly IReadOnlyList<string> LengthDistributions = ["fixed", "uniform", "normal", "lognormal", "empirical"];
}
