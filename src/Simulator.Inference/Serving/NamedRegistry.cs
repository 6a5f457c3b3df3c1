namespace Simulator.Inference.Serving;

/// <summary>
/// Policies registered by name (case-insensitive), each a factory of one argument: schedulers and routers use it,
/// so a scenario names a policy and a new policy is one class plus one <see cref="Register"/> call (Vidur's pattern).
/// Thread-safe: sweeps build replicas in parallel.
/// </summary>
public sealed class NamedRegistry<TArg, T>
{
    private readonly object _gate = new();
    // Implementation note: a Dictionary (the framework's precompiled shared code for reference types), sorted when
    // Names is read; a SortedDictionary here was ~26 methods the JIT compiled at every start.
    private readonly Dictionary<string, Func<TArg, T>> _factories = new(StringComparer.OrdinalIgnoreCase);
    private readonly string _kind;

    public NamedRegistry(string kind, IEnumerable<KeyValuePair<string, Func<TArg, T>>> initial)
    {
        _kind = kind;
        foreach (var (name, factory) in initial) _factories[name] = factory;
    }

    /// <summary>Registered names, sorted.</summary>
    public IReadOnlyList<string> Names
    {
        get
        {
            string[] names;
            lock (_gate) names = _factories.Keys.ToArray();
            Array.Sort(names, StringComparer.OrdinalIgnoreCase);
            return names;
        }
    }

    public bool Contains(string name)
    {
        lock (_gate) return name != null && _factories.ContainsKey(name);
    }

    /// <summary>Adds or replaces a policy.</summary>
    public void Register(string name, Func<TArg, T> factory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(factory);
        lock (_gate) _factories[name] = factory;
    }

    /// <summary>A new instance of the named policy; an unknown name throws listing the allowed ones.</summary>
    public T Create(string name, TArg argument)
    {
        Func<TArg, T>? factory;
        lock (_gate) _factories.TryGetValue(name ?? "", out factory);
        if (factory == null)
            throw new ArgumentException($"unknown {_kind} '{name}'; allowed: {string.Join(", ", Names)}", nameof(name));
        return factory(argument);
    }
}
