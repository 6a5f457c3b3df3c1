using Simulator.Kernel;
using Simulator.Inference.Workload;

namespace Simulator.Inference.Serving;

/// <summary>Picks the replica a new request goes to. Ties go to the lowest replica index.</summary>
public interface IRouter
{
    /// <summary>The registry name ("round_robin").</summary>
    string Name { get; }

    /// <summary>Index into <paramref name="replicas"/> of the replica that gets <paramref name="request"/>.</summary>
    int Route(Request request, IReadOnlyList<IReplicaLoad> replicas);
}

/// <summary>Replicas in turn: 0, 1, ..., n-1, 0, ...</summary>
public sealed class RoundRobinRouter : IRouter
{
    private long _next;
    public string Name => "round_robin";
    public int Route(Request request, IReadOnlyList<IReplicaLoad> replicas) => (int)(_next++ % replicas.Count);
}

/// <summary>A uniformly random replica from a seeded stream.</summary>
public sealed class RandomRouter(ulong seed) : IRouter
{
    private readonly StreamRandom _random = new(seed);
    public string Name => "random";
    public int Route(Request request, IReadOnlyList<IReplicaLoad> replicas) => _random.Next(replicas.Count);
}

/// <summary>The replica with the fewest requests not finished.</summary>
public sealed class LeastOutstandingRouter : ILoadIndexedRouter
{
    private OutstandingHeap? _index;

    public string Name => "least_outstanding";

    /// <inheritdoc />
    public void Track(IReadOnlyList<IReplicaLoad> replicas) => _index = replicas.Count > 0 ? new OutstandingHeap(replicas) : null;

    /// <inheritdoc />
    public void LoadChanged(int position) => _index?.MarkChanged(position);

    // Implementation note: over the tracked list the pick is the heap's top, ordered by (outstanding, position), which
    // is exactly the scan's first minimum; O(log R) per changed replica instead of R reads per request (fleet scale).
    public int Route(Request request, IReadOnlyList<IReplicaLoad> replicas)
    {
        if (_index is { } index && ReferenceEquals(index.Replicas, replicas) && index.Count == replicas.Count) return index.Top();
        return Scan(replicas);
    }

    /// <summary>The first replica with the fewest outstanding requests, by reading each.</summary>
    public static int Scan(IReadOnlyList<IReplicaLoad> replicas)
    {
        // One read of each replica's count (the best one's is kept): the same pick, half the interface calls.
        int best = 0;
        int bestOutstanding = replicas[0].Outstanding;
        for (int i = 1; i < replicas.Count; i++)
        {
            int outstanding = replicas[i].Outstanding;
            if (outstanding < bestOutstanding) { best = i; bestOutstanding = outstanding; }
        }
        return best;
    }
}

/// <summary>
/// Speed-aware least outstanding: the replica with the smallest (outstanding requests + 1) x its time for a reference
/// prefill, i.e. the one expected to finish the new request's share of work first. With identical replicas it picks
/// what <see cref="LeastOutstandingRouter"/> picks; a replica twice as fast takes up to twice the requests.
/// </summary>
public sealed class SpeedWeightedRouter : IRouter
{
    public string Name => "speed_weighted";

    public int Route(Request request, IReadOnlyList<IReplicaLoad> replicas)
    {
        int best = 0;
        double bestCost = (replicas[0].Outstanding + 1) * replicas[0].ReferenceWorkNs;
        for (int i = 1; i < replicas.Count; i++)
        {
            double cost = (replicas[i].Outstanding + 1) * replicas[i].ReferenceWorkNs;
            if (cost < bestCost) { best = i; bestCost = cost; }
        }
        return best;
    }
}

/// <summary>The replica with the lowest KV cache utilization (then the fewest outstanding requests).</summary>
public sealed class LeastKvRouter : IRouter
{
    public string Name => "least_kv";

    public int Route(Request request, IReadOnlyList<IReplicaLoad> replicas)
    {
        int best = 0;
        double bestKv = replicas[0].KvUtilization;
        for (int i = 1; i < replicas.Count; i++)
        {
            double kv = replicas[i].KvUtilization;
            if (kv < bestKv || (kv == bestKv && replicas[i].Outstanding < replicas[best].Outstanding)) { best = i; bestKv = kv; }
        }
        return best;
    }
}

/// <summary>Power of two choices: two distinct random replicas, the one with fewer outstanding requests wins (lower index on a tie).</summary>
public sealed class PowerOfTwoRouter(ulong seed) : IRouter
{
    private readonly StreamRandom _random = new(seed);
    public string Name => "power_of_two";

    public int Route(Request request, IReadOnlyList<IReplicaLoad> replicas)
    {
        int n = replicas.Count;
        if (n == 1) return 0;
        int a = _random.Next(n);
        int b = _random.Next(n - 1);
        if (b >= a) b++;
        int lo = Math.Min(a, b), hi = Math.Max(a, b);
        return replicas[hi].Outstanding < replicas[lo].Outstanding ? hi : lo;
    }
}

/// <summary>Routers by name; a new router is one class and one <see cref="Register"/> call. Names are case-insensitive.</summary>
public static class RouterRegistry
{
    private static readonly NamedRegistry<ulong, IRouter> Registry = new("router",
        new Dictionary<string, Func<ulong, IRouter>>
        {
            ["round_robin"] = _ => new RoundRobinRouter(),
            ["random"] = seed => new RandomRouter(seed),
            ["least_outstanding"] = _ => new LeastOutstandingRouter(),
            ["least_kv"] = _ => new LeastKvRouter(),
            ["speed_weighted"] = _ => new SpeedWeightedRouter(),
            ["power_of_two"] = seed => new PowerOfTwoRouter(seed),
            ["prefix_aware"] = _ => new PrefixAwareRouter(),
            ["session_affinity"] = _ => new SessionAffinityRouter(),
        });

    /// <summary>Registered names, sorted.</summary>
    public static IReadOnlyList<string> Names => Registry.Names;

    public static bool Contains(string name) => Registry.Contains(name);

    /// <summary>Adds or replaces a router; the factory gets the run's routing seed.</summary>
    public static void Register(string name, Func<ulong, IRouter> factory) => Registry.Register(name, factory);

    /// <summary>A new router; <paramref name="seed"/> feeds the random ones.</summary>
    public static IRouter Create(string name, ulong seed) => Registry.Create(name, seed);
}
