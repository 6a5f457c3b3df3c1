namespace Simulator.Inference.Cost;

/// <summary>
/// Expected expert usage of one MoE layer for a batch of T tokens, each routed to k of E experts.
/// Uniform routing: an expert is picked by a token with probability k / E. Skewed routing: expert
/// popularity follows Zipf(s) (p_i proportional to 1 / (i + 1)^s, i = 0 the most popular), a token picks
/// expert i with probability min(1, k x p_i). Experts are placed on EP ranks in id order (rank r holds
/// experts [r E / EP, (r + 1) E / EP)), so under skew the popular experts share rank 0: the pessimistic
/// placement without expert-load balancing.
/// </summary>
public sealed class ExpertRouting
{
    private readonly double[] _pick;      // probability a token picks expert i
    private readonly double[] _log1mPick; // log(1 - pick), -inf when pick = 1
    private readonly double _maxRankShare; // largest share of routed assignments on one EP rank

    public int Experts { get; }
    public int TopK { get; }
    public int EpRanks { get; }
    public double ZipfExponent { get; }

    public ExpertRouting(int experts, int topK, int epRanks, double zipfExponent = 0)
    {
        if (experts < 1 || topK < 1 || topK > experts) throw new ArgumentException($"need 1 <= top_k ({topK}) <= experts ({experts})");
        if (epRanks < 1 || experts % epRanks != 0) throw new ArgumentException($"EP ranks ({epRanks}) must divide experts ({experts})");
        if (zipfExponent < 0) throw new ArgumentException($"Zipf exponent must be >= 0 (0 = uniform), got {zipfExponent}");
        Experts = experts; TopK = topK; EpRanks = epRanks; ZipfExponent = zipfExponent;
        _pick = new double[experts];
        _log1mPick = new double[experts];
        double norm = 0;
        for (var i = 0; i < experts; i++) norm += Math.Pow(i + 1, -zipfExponent);
        for (var i = 0; i < experts; i++)
        {
            _pick[i] = Math.Min(1.0, topK * Math.Pow(i + 1, -zipfExponent) / norm);
            _log1mPick[i] = _pick[i] >= 1 ? double.NegativeInfinity : Math.Log(1 - _pick[i]);
        }
        var per = experts / epRanks;
        double total = 0, max = 0;
        foreach (var x in _pick) total += x;
        for (var r = 0; r < epRanks; r++)
        {
            double s = 0;
            for (var i = r * per; i < (r + 1) * per; i++) s += _pick[i];
            max = Math.Max(max, s);
        }
        _maxRankShare = max / total;
    }

    /// <summary>Uniform routing closed form: E x (1 - (1 - k/E)^T).</summary>
    public static double ExpectedDistinctUniform(int experts, int topK, double tokens) =>
        experts * (1 - Math.Pow(1 - (double)topK / experts, tokens));

    /// <summary>Expected distinct experts touched by <paramref name="tokens"/> tokens on the most loaded EP rank.</summary>
    public double ExpectedDistinctOnHottestRank(double tokens)
    {
        var per = Experts / EpRanks;
        if (ZipfExponent == 0) return per * (1 - Math.Pow(1 - (double)TopK / Experts, tokens));
        double s = 0;
        for (var i = 0; i < per; i++) s += 1 - Math.Exp(tokens * _log1mPick[i]);
        return s;
    }

    /// <summary>Expected distinct experts touched in the whole layer.</summary>
    public double ExpectedDistinct(double tokens)
    {
        if (ZipfExponent == 0) return ExpectedDistinctUniform(Experts, TopK, tokens);
        double s = 0;
        for (var i = 0; i < Experts; i++) s += 1 - Math.Exp(tokens * _log1mPick[i]);
        return s;
    }

    /// <summary>
    /// Hotspot ratio: the hottest EP rank's routed assignments over the mean rank's. Skew contributes
    /// its deterministic share (max rank share x EP); sampling noise adds the expected maximum of EP
    /// near-binomial loads, about sigma x sqrt(2 ln EP) above the mean (1.0 for one rank).
    /// </summary>
    public double HotspotRatio(double tokens)
    {
        if (EpRanks == 1 || tokens <= 0) return 1.0;
        var skew = _maxRankShare * EpRanks;
        var meanAssignments = tokens * TopK / EpRanks;
        var noise = Math.Sqrt(2 * Math.Log(EpRanks) * (1 - 1.0 / EpRanks) / meanAssignments);
        return skew * (1 + noise);
    }

    /// <summary>
    /// Each EP rank's share of routed token-expert assignments relative to the fair share (1 = mean load), in
    /// rank order; experts are placed on ranks in id order, so under skew rank 0 is the hottest.
    /// </summary>
    public double[] RankLoads()
    {
        var per = Experts / EpRanks;
        double total = 0;
        foreach (var x in _pick) total += x;
        var loads = new double[EpRanks];
        for (var r = 0; r < EpRanks; r++)
        {
            double s = 0;
            for (var i = r * per; i < (r + 1) * per; i++) s += _pick[i];
            loads[r] = total > 0 ? s / total * EpRanks : 1.0;
        }
        return loads;
    }
}
