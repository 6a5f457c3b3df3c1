namespace Simulator.Inference.Workload;

/// <summary>
/// One inference request as a workload source yields it. <paramref name="PrefixBlockIds"/> are
/// content hashes of fixed-size prompt blocks (Mooncake's hash_ids; equal ids = shared prefix);
/// <paramref name="PrefixBlockTokens"/> is the number of tokens each id covers.
/// </summary>
public sealed record Request(
    long Id,
    long ArrivalNs,
    int InputTokens,
    int OutputTokens,
    IReadOnlyList<long>? PrefixBlockIds = null,
    int PrefixBlockTokens = 0,
    string? Session = null);

/// <summary>A streamed source of requests in non-decreasing arrival order.</summary>
public interface IWorkloadSource
{
    /// <summary>Yields requests in arrival order; never loads the whole trace in memory.</summary>
    IEnumerable<Request> Read();

    /// <summary>A short human description ("azure trace traces/x.csv, 5000 rows").</summary>
    string Describe();
}
