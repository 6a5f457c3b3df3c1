namespace Simulator.Inference.Metrics;

/// <summary>
/// The per-request latencies of one <see cref="RequestRecord"/> (the derived columns of requests.csv),
/// by vLLM's benchmark definitions; null where the needed times do not exist. See README.md, "Run outputs and metrics".
/// </summary>
/// <param name="TtftMs">first token - arrival.</param>
/// <param name="TpotMs">(e2e - TTFT) / (generated tokens - 1); only for completed requests with at least 2 generated tokens.</param>
/// <param name="E2eMs">completion - arrival; only for completed requests.</param>
/// <param name="QueueMs">first scheduled (admitted) - arrival.</param>
public readonly record struct RequestLatencies(double? TtftMs, double? TpotMs, double? E2eMs, double? QueueMs)
{
    /// <summary>Derives the latencies of one request record.</summary>
    public static RequestLatencies From(RequestRecord r)
    {
        ArgumentNullException.ThrowIfNull(r);
        double? ttft = r.FirstTokenNs is { } f ? (f - r.ArrivalNs) / 1e6 : null;
        double? queue = r.ScheduledNs is { } s ? (s - r.ArrivalNs) / 1e6 : null;
        double? e2e = null, tpot = null;
        if (r.Status == RequestStatus.Completed && r.CompletionNs is { } c)
        {
            e2e = (c - r.ArrivalNs) / 1e6;
            if (r.FirstTokenNs is { } first && r.GeneratedTokens > 1)
                tpot = (c - first) / 1e6 / (r.GeneratedTokens - 1);
        }
        return new RequestLatencies(ttft, tpot, e2e, queue);
    }

    /// <summary>
    /// Whether a completed request met every SLO: TTFT within <see cref="SloSpec.TtftMs"/> and TPOT within
    /// <see cref="SloSpec.TpotMs"/> (a request with no TPOT, i.e. one generated token, passes the TPOT
    /// check, as in vLLM where its TPOT counts as 0). Requests that did not complete never meet it.
    /// </summary>
    public static bool MeetsSlo(RequestRecord r, in RequestLatencies l, SloSpec slo)
    {
        ArgumentNullException.ThrowIfNull(r);
        ArgumentNullException.ThrowIfNull(slo);
        if (r.Status != RequestStatus.Completed || l.E2eMs is null) return false;
        if (slo.TtftMs is { } ttftLimit && (l.TtftMs is not { } ttft || ttft > ttftLimit)) return false;
        if (slo.TpotMs is { } tpotLimit && l.TpotMs is { } tpot && tpot > tpotLimit) return false;
        return true;
    }
}
