using System.Runtime.InteropServices;

namespace Simulator.Inference.Metrics;

/// <summary>
/// Folds finished requests into the run's summary without keeping the records: counters, token sums,
/// the throughput window, and four float latencies per completed request (TTFT, TPOT, E2E, queue:
/// 16 bytes per completed request, up to twice that while a list grows) for exact percentiles; and
/// the inter-token gaps in a <see cref="GapHistogram"/> (memory per distinct gap bucket, not per token).
/// </summary>
public sealed class RunMetricsAccumulator
{
    /// <summary>Decimals of every rounded summary figure.</summary>
    public const int SummaryDecimals = 4;

    private readonly SloSpec _slo;
    private readonly List<float> _ttftMs = [];
    private uint[]? _sortScratch;   // the radix sort's buffer, shared by the latency lists' sorts (FloatSort)
    private readonly List<float> _tpotMs = [];
    private readonly List<float> _e2eMs = [];
    private readonly List<float> _queueMs = [];
    private long _completed, _rejected, _failed, _unfinished, _met;
    private readonly SortedDictionary<string, long> _reasons = new(StringComparer.Ordinal);
    private long _inputTokens, _outputTokens;
    private long _firstArrivalNs = long.MaxValue, _lastCompletionNs = long.MinValue;
    private readonly List<float> _kvTransferMs = [];
    private long _kvTransferBytes;

    /// <summary>An empty accumulator judging requests against <paramref name="slo"/>.</summary>
    public RunMetricsAccumulator(SloSpec slo)
    {
        ArgumentNullException.ThrowIfNull(slo);
        _slo = slo;
    }

    /// <summary>Inter-token gaps of every request, pooled (ITL).</summary>
    public GapHistogram Itl { get; } = new();

    /// <summary>Folds <paramref name="count"/> inter-token gaps of <paramref name="gapNs"/> in.</summary>
    public void AddTokenGaps(long gapNs, int count) => Itl.Add(gapNs, count);

    /// <summary>Requests folded in so far.</summary>
    public long Count => _completed + _rejected + _failed + _unfinished;

    /// <summary>Folds one finished request in (its latencies from <see cref="RequestLatencies.From"/>).</summary>
    public void Add(RequestRecord r, in RequestLatencies latencies)
    {
        ArgumentNullException.ThrowIfNull(r);
        _firstArrivalNs = Math.Min(_firstArrivalNs, r.ArrivalNs);
        if (r.Reason is { } reason) _reasons[reason] = _reasons.GetValueOrDefault(reason) + 1;
        if (r.KvTransferNs is { } kvNs)
        {
            _kvTransferMs.Add((float)(kvNs / 1e6));
            _kvTransferBytes += r.KvTransferBytes;
        }
        switch (r.Status)
        {
            case RequestStatus.Completed:
                _completed++;
                _inputTokens += r.InputTokens;
                _outputTokens += r.GeneratedTokens;
                if (r.CompletionNs is { } c) _lastCompletionNs = Math.Max(_lastCompletionNs, c);
                if (latencies.TtftMs is { } ttft) _ttftMs.Add((float)ttft);
                if (latencies.TpotMs is { } tpot) _tpotMs.Add((float)tpot);
                if (latencies.E2eMs is { } e2e) _e2eMs.Add((float)e2e);
                if (latencies.QueueMs is { } queue) _queueMs.Add((float)queue);
                if (RequestLatencies.MeetsSlo(r, latencies, _slo)) _met++;
                break;
            case RequestStatus.Rejected: _rejected++; break;
            case RequestStatus.Failed: _failed++; break;
            case RequestStatus.Unfinished: _unfinished++; break;
            default: throw new ArgumentOutOfRangeException(nameof(r), r.Status, "unknown request status");
        }
    }

    /// <summary>Computes the run summary (sorts the kept latency values in place; call once, at the end).</summary>
    public RunSummary Summarize(RunMetadata meta, RunEndInputs end)
    {
        ArgumentNullException.ThrowIfNull(meta);
        ArgumentNullException.ThrowIfNull(end);
        const int d = SummaryDecimals;
        var ttftSorted = SortedSpan(_ttftMs);
        var tpotSorted = SortedSpan(_tpotMs);
        var ttft = Rounded(LatencyStats.FromSorted(ttftSorted));
        var tpot = Rounded(LatencyStats.FromSorted(tpotSorted));
        var e2e = Rounded(LatencyStats.FromSorted(SortedSpan(_e2eMs)));
        var queue = Rounded(LatencyStats.FromSorted(SortedSpan(_queueMs)));
        var itl = Rounded(Itl.StatsMs());

        var windowNs = _completed > 0 && _lastCompletionNs > _firstArrivalNs ? _lastCompletionNs - _firstArrivalNs : 0;
        var windowS = windowNs / 1e9;
        double PerS(double x) => windowNs > 0 ? MetricFormat.Round(x / windowS, d) : 0;
        var throughput = new ThroughputSummary(PerS(_completed), PerS(_inputTokens), PerS(_outputTokens),
            MetricFormat.Round(windowS, 6), _inputTokens, _outputTokens);

        var ended = _completed + _rejected + _failed;
        double? ttftP = ttftSorted.Length > 0 ? MetricFormat.Round(Percentiles.Linear(ttftSorted, _slo.Percentile), d) : null;
        double? tpotP = tpotSorted.Length > 0 ? MetricFormat.Round(Percentiles.Linear(tpotSorted, _slo.Percentile), d) : null;
        var percentileMet = _completed > 0
            && (_slo.TtftMs is not { } tl || (ttftP is { } tv && tv <= tl))
            && (_slo.TpotMs is not { } pl || tpotP is not { } pv || pv <= pl);
        var slo = new SloSummary(ended > 0 ? MetricFormat.Round((double)_met / ended, d) : 0, PerS(_met), _met,
            _slo.TtftMs, _slo.TpotMs, _slo.Percentile, ttftP, tpotP, percentileMet);

        var pipeline = new PipelineSummary(meta.PipelineStages, meta.Microbatches, MetricFormat.Round(BubbleFraction(end.Pipelines), d));
        var sim = new SimulationSummary(end.Simulation.Events, MetricFormat.Round(end.Simulation.SimulatedNs / 1e9, 6));

        return new RunSummary(meta.Scenario, meta.Seed,
            new RequestCounts(Count, _completed, _rejected, _failed, _unfinished, _reasons.Count > 0 ? new ReasonCounts(_reasons.ToList()) : null),
            ttft, tpot, e2e, queue, throughput, slo, pipeline, sim, Memory(end.Gpus), Experts(end.Gpus), itl, end.PrefixCache,
            end.Faults is { } f ? f with { Availability = MetricFormat.Round(f.Availability, d) } : null,
            meta.Disaggregated ? KvTransfer() : null, DataParallel: end.DataParallel,
            Cost: meta.UsdPerHour is { } usd ? CostSummary.Of(usd, throughput) : null, FrontEnd: end.FrontEnd);
    }

    private KvTransferSummary KvTransfer()
    {
        var kv = Rounded(LatencyStats.FromSorted(SortedSpan(_kvTransferMs)));
        return new KvTransferSummary(_kvTransferBytes, _kvTransferMs.Count, kv.Count > 0 ? kv.Mean : null, kv.Count > 0 ? kv.P95 : null);
    }

    /// <summary>
    /// Idle stage-time over stage-time available during the busy periods, summed over replicas:
    /// sum_r (S_r x active_r - sum_s busy_r,s) / sum_r (S_r x active_r); 0 when nothing was active.
    /// </summary>
    public static double BubbleFraction(IReadOnlyList<ReplicaPipelineStats> pipelines)
    {
        ArgumentNullException.ThrowIfNull(pipelines);
        double idle = 0, available = 0;
        foreach (var p in pipelines)
        {
            var stageTime = (double)p.StageBusyNs.Count * p.ActiveNs;
            double busy = 0;
            foreach (var b in p.StageBusyNs) busy += Math.Min(b, p.ActiveNs);
            available += stageTime;
            idle += stageTime - busy;
        }
        return available > 0 ? Math.Max(0, idle / available) : 0;
    }

    private static MemorySummary? Memory(IReadOnlyList<GpuActivity> gpus)
    {
        if (gpus.Count == 0) return null;
        var tight = gpus[0];
        foreach (var g in gpus)
            if (g.FreeGB < tight.FreeGB || (g.FreeGB == tight.FreeGB && g.Gpu < tight.Gpu)) tight = g;
        const int d = SummaryDecimals;
        return new MemorySummary(gpus.Count, tight.Gpu, MetricFormat.Round(tight.WeightsGB, d), MetricFormat.Round(tight.KvCapacityGB, d),
            MetricFormat.Round(tight.ActivationGB, d), MetricFormat.Round(tight.ReserveGB, d), MetricFormat.Round(tight.FreeGB, d));
    }

    private static ExpertSummary? Experts(IReadOnlyList<GpuActivity> gpus)
    {
        double sum = 0, max = 0;
        var n = 0;
        foreach (var g in gpus)
        {
            if (g.ExpertLoad is not { } load) continue;
            sum += load;
            max = Math.Max(max, load);
            n++;
        }
        if (n == 0 || sum <= 0) return null;
        return new ExpertSummary(MetricFormat.Round(max / (sum / n), SummaryDecimals));
    }

    private ReadOnlySpan<float> SortedSpan(List<float> values)
    {
        var span = CollectionsMarshal.AsSpan(values);
        FloatSort.Sort(span, ref _sortScratch);
        return span;
    }

    private static LatencyStats Rounded(LatencyStats s)
    {
        const int d = SummaryDecimals;
        return s with
        {
            Mean = MetricFormat.Round(s.Mean, d), P50 = MetricFormat.Round(s.P50, d), P90 = MetricFormat.Round(s.P90, d),
            P95 = MetricFormat.Round(s.P95, d), P99 = MetricFormat.Round(s.P99, d), Max = MetricFormat.Round(s.Max, d),
        };
    }
}
