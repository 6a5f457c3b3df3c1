namespace Simulator.Hardware.Collectives;

/// <summary>The user-facing (snake_case, nccl-tests style) names of collective ops and algorithms, both ways.</summary>
public static class Names
{
    private static readonly (string Name, CollectiveOp Op)[] Ops =
    {
        ("all_reduce", CollectiveOp.AllReduce), ("all_gather", CollectiveOp.AllGather),
        ("reduce_scatter", CollectiveOp.ReduceScatter), ("all_to_all", CollectiveOp.AllToAll),
        ("send_recv", CollectiveOp.SendRecv), ("broadcast", CollectiveOp.Broadcast),
    };

    private static readonly (string Name, CollectiveAlgorithm Algorithm)[] Algorithms =
    {
        ("auto", CollectiveAlgorithm.Auto), ("ring", CollectiveAlgorithm.Ring), ("tree", CollectiveAlgorithm.Tree),
        ("hierarchical", CollectiveAlgorithm.Hierarchical), ("direct", CollectiveAlgorithm.Direct),
        ("nvls", CollectiveAlgorithm.Nvls),
    };

    private static readonly (string Name, NcclProtocol Protocol)[] Protocols =
    {
        ("auto", NcclProtocol.Auto), ("ll", NcclProtocol.LL), ("ll128", NcclProtocol.LL128), ("simple", NcclProtocol.Simple),
    };

    /// <summary>Allowed protocol names (NCCL_PROTO values, lower case), in a fixed order.</summary>
    public static IReadOnlyList<string> ProtocolNames { get; } = Protocols.Select(p => p.Name).ToArray();

    public static string Of(NcclProtocol protocol) => Protocols.First(p => p.Protocol == protocol).Name;

    /// <summary>Parses a protocol name (case-insensitive, NCCL_PROTO spelling); ArgumentException lists the allowed names.</summary>
    public static NcclProtocol ParseProtocol(string name)
    {
        string key = Normalize(name);
        foreach (var (n, p) in Protocols) if (n == key) return p;
        throw new ArgumentException($"unknown NCCL protocol '{name}'; allowed: {string.Join(", ", ProtocolNames)}");
    }

    /// <summary>Allowed op names, in a fixed order.</summary>
    public static IReadOnlyList<string> OpNames { get; } = Ops.Select(o => o.Name).ToArray();

    /// <summary>Allowed algorithm names, in a fixed order.</summary>
    public static IReadOnlyList<string> AlgorithmNames { get; } = Algorithms.Select(a => a.Name).ToArray();

    public static string Of(CollectiveOp op) => Ops.First(o => o.Op == op).Name;

    public static string Of(CollectiveAlgorithm algorithm) => Algorithms.First(a => a.Algorithm == algorithm).Name;

    /// <summary>Parses an op name (case-insensitive; "alltoall", "sendrecv" and dashes accepted); ArgumentException lists the allowed names.</summary>
    public static CollectiveOp ParseOp(string name)
    {
        string key = Normalize(name);
        if (key == "alltoall") key = "all_to_all";
        if (key == "sendrecv") key = "send_recv";
        if (key == "allreduce") key = "all_reduce";
        if (key == "allgather") key = "all_gather";
        if (key == "reducescatter") key = "reduce_scatter";
        foreach (var (n, op) in Ops) if (n == key) return op;
        throw new ArgumentException($"unknown collective op '{name}'; allowed: {string.Join(", ", OpNames)}");
    }

    /// <summary>Parses an algorithm name (case-insensitive); ArgumentException lists the allowed names.</summary>
    public static CollectiveAlgorithm ParseAlgorithm(string name)
    {
        string key = Normalize(name);
        foreach (var (n, a) in Algorithms) if (n == key) return a;
        throw new ArgumentException($"unknown collective algorithm '{name}'; allowed: {string.Join(", ", AlgorithmNames)}");
    }

    private static string Normalize(string? name) => (name ?? "").Trim().ToLowerInvariant().Replace('-', '_');
}
