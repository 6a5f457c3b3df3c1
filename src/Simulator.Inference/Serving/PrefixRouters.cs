using Simulator.Inference.Workload;

namespace Simulator.Inference.Serving;

/// <summary>
/// The load-balance guard and cache threshold of <see cref="PrefixAwareRouter"/>, in the manner of SGLang's
/// cache-aware router (its defaults: cache_threshold 0.3, balance_abs_threshold 64, balance_rel_threshold 1.5).
/// Load is the replicas' outstanding requests.
/// </summary>
/// <param name="CacheThreshold">Least share of the prompt that must be cached on the best replica for the cache to decide (else least load).</param>
/// <param name="BalanceAbsThreshold">The system counts as imbalanced when max load - min load exceeds this (requests) ...</param>
/// <param name="BalanceRelThreshold">... and max load exceeds min load times this; then the least loaded replica gets the request.</param>
public sealed record PrefixRouterOptions(double CacheThreshold = 0.3, int BalanceAbsThreshold = 64, double BalanceRelThreshold = 1.5)
{
    /// <summary>SGLang's defaults.</summary>
    public static PrefixRouterOptions Default { get; } = new();
}

/// <summary>
/// Cache-aware routing: send a request to the replica whose KV cache (GPU or CPU tier) holds the longest leading run
/// of its prompt's blocks, unless the replicas are imbalanced (<see cref="PrefixRouterOptions"/>) or no replica
/// holds at least <see cref="PrefixRouterOptions.CacheThreshold"/> of the prompt: then the replica with the fewest
/// outstanding requests. Ties: fewer outstanding requests, then the lowest index. It reads the replicas' real cache
/// contents (as llm-d's and Dynamo's KV-event routers do), not an approximation of them. Cost per request:
/// O(replicas x cached prefix blocks).
/// </summary>
public sealed class PrefixAwareRouter(PrefixRouterOptions? options = null) : IRouter
{
    private readonly PrefixRouterOptions _options = options ?? PrefixRouterOptions.Default;

    public string Name => "prefix_aware";

    public int Route(Request request, IReadOnlyList<IReplicaLoad> replicas)
    {
        int least = 0, most = 0;
        for (int i = 1; i < replicas.Count; i++)
        {
            if (replicas[i].Outstanding < replicas[least].Outstanding) least = i;
            if (replicas[i].Outstanding > replicas[most].Outstanding) most = i;
        }
        int max = replicas[most].Outstanding, min = replicas[least].Outstanding;
        if (max - min > _options.BalanceAbsThreshold && max > min * _options.BalanceRelThreshold) return least;
        int best = -1, bestTokens = 0;
        for (int i = 0; i < replicas.Count; i++)
        {
            int tokens = replicas[i].CachedPrefixTokens(request);
            if (tokens > bestTokens || (tokens == bestTokens && best >= 0 && replicas[i].Outstanding < replicas[best].Outstanding))
            {
                best = i;
                bestTokens = tokens;
            }
        }
        if (best < 0 || bestTokens == 0 || request.InputTokens <= 0) return least;
        return (double)bestTokens / request.InputTokens >= _options.CacheThreshold ? best : least;
    }
}

/// <summary>
/// Session affinity: every request of a session goes to the replica that got the session's first request, chosen
/// by the fewest outstanding requests (as are requests without a session). Keeps one entry per session seen.
/// </summary>
public sealed class SessionAffinityRouter : IRouter
{
    private readonly Dictionary<string, int> _sessions = new(StringComparer.Ordinal);
    private readonly LeastOutstandingRouter _first = new();

    public string Name => "session_affinity";

    public int Route(Request request, IReadOnlyList<IReplicaLoad> replicas)
    {
        if (request.Session is null) return _first.Route(request, replicas);
        if (_sessions.TryGetValue(request.Session, out int replica) && replica < replicas.Count) return replica;
        replica = _first.Route(request, replicas);
        _sessions[request.Session] = replica;
        return replica;
    }
}
