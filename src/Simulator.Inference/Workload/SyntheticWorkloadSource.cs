using System.Globalization;
using MathNet.Numerics.Distributions;

namespace Simulator.Inference.Workload;

/// <summary>Arrival processes of the synthetic generator.</summary>
public enum ArrivalProcess
{
    /// <summary>Exponential inter-arrival gaps with mean 1/rate (exact draws, never clipped).</summary>
    Poisson,

    /// <summary>Gamma inter-arrival gaps with mean 1/rate and coefficient of variation cv (cv 1 = Poisson, &gt; 1 burstier).</summary>
    Gamma,

    /// <summary>Evenly spaced arrivals every 1/rate seconds.</summary>
    Constant,

    /// <summary>Bursts of burst_size simultaneous requests every burst_size/rate seconds (mean rate = rate).</summary>
    Burst,
}

/// <summary>
/// An arrival process. <see cref="RatePerS"/> is always the long-run mean request rate. The first request arrives at
/// t = 0; each later one a gap after the previous (a burst's requests share one instant).
/// </summary>
public sealed record ArrivalSpec(ArrivalProcess Process, double RatePerS, double Cv = 1.0, int BurstSize = 1)
{
    /// <summary>Throws <see cref="ArgumentException"/> when a parameter is out of range.</summary>
    public void Validate()
    {
        if (!(RatePerS > 0) || double.IsInfinity(RatePerS)) throw new ArgumentException($"rate_per_s must be a finite number > 0, got {RatePerS}");
        if (Process == ArrivalProcess.Gamma && (!(Cv > 0) || double.IsInfinity(Cv))) throw new ArgumentException($"cv must be a finite number > 0, got {Cv}");
        if (Process == ArrivalProcess.Burst && BurstSize < 1) throw new ArgumentException($"burst_size must be >= 1, got {BurstSize}");
    }
}

/// <summary>Token-length distributions of the synthetic generator.</summary>
public enum LengthDistribution
{
    /// <summary>Always <see cref="LengthSpec.Value"/>.</summary>
    Fixed,

    /// <summary>Integers uniform on [<see cref="LengthSpec.Min"/>, <see cref="LengthSpec.Max"/>], both inclusive.</summary>
    Uniform,

    /// <summary>Normal(mean, sigma) in tokens, rounded, clipped to [1, max].</summary>
    Normal,

    /// <summary>
    /// Log-normal whose MEAN in tokens is <see cref="LengthSpec.Mean"/> and whose log-space standard deviation is
    /// <see cref="LengthSpec.Sigma"/> (so mu = ln(mean) - sigma^2/2); rounded, clipped to [1, max].
    /// </summary>
    LogNormal,

    /// <summary>Drawn uniformly from the lengths of a trace file (input lengths for inputs, output lengths for outputs).</summary>
    Empirical,
}

/// <summary>
/// A token-length distribution. Which fields matter depends on <see cref="Dist"/>: fixed uses Value; uniform Min and
/// Max; normal and lognormal Mean, Sigma and (as an upper clip) Max; empirical TracePath and TraceFormat.
/// </summary>
public sealed record LengthSpec(
    LengthDistribution Dist,
    int Value = 0,
    int Min = 1,
    int Max = int.MaxValue,
    double Mean = 0,
    double Sigma = 0,
    string? TracePath = null,
    TraceFormat TraceFormat = TraceFormat.Auto)
{
    /// <summary>A fixed length.</summary>
    public static LengthSpec Fixed(int value) => new(LengthDistribution.Fixed, Value: value);

    /// <summary>Throws <see cref="ArgumentException"/> when a parameter is out of range.</summary>
    public void Validate()
    {
        switch (Dist)
        {
            case LengthDistribution.Fixed when Value < 1: throw new ArgumentException($"value must be >= 1, got {Value}");
            case LengthDistribution.Uniform when Min < 1 || Max < Min: throw new ArgumentException($"uniform needs 1 <= min <= max, got [{Min}, {Max}]");
            case LengthDistribution.Normal or LengthDistribution.LogNormal when !(Mean > 0) || !(Sigma >= 0) || double.IsInfinity(Mean) || double.IsInfinity(Sigma):
                throw new ArgumentException($"mean must be > 0 and sigma >= 0, got mean {Mean}, sigma {Sigma}");
            case LengthDistribution.Normal or LengthDistribution.LogNormal when Max < 1: throw new ArgumentException($"max must be >= 1, got {Max}");
            case LengthDistribution.Empirical when string.IsNullOrEmpty(TracePath): throw new ArgumentException("empirical needs a trace path");
        }
    }
}

/// <summary>
/// A synthetic workload: an arrival process, input and output length distributions and a bound (a request count,
/// a duration, or both: whichever ends first). <see cref="SharedPrefixTokens"/> puts the same system prompt of that
/// many tokens in front of every prompt; <see cref="Sessions"/> makes multi-turn sessions (see
/// <see cref="SessionSpec"/>). Either gives the requests prefix ids (<see cref="Request.PrefixBlockIds"/>).
/// </summary>
public sealed record SyntheticWorkloadSpec(ArrivalSpec Arrivals, LengthSpec InputTokens, LengthSpec OutputTokens, long? Requests, double? DurationS,
    int SharedPrefixTokens = 0, SessionSpec? Sessions = null)
{
    /// <summary>Whether the requests carry prefix structure (a shared system prompt or sessions).</summary>
    public bool HasPrefixStructure => SharedPrefixTokens > 0 || Sessions != null;

    /// <summary>Throws <see cref="ArgumentException"/> when the spec cannot generate a bounded workload.</summary>
    public void Validate()
    {
        Arrivals.Validate();
        InputTokens.Validate();
        OutputTokens.Validate();
        if (Requests is null && DurationS is null) throw new ArgumentException("a synthetic workload needs requests or duration_s");
        if (Requests is < 0) throw new ArgumentException($"requests must be >= 0, got {Requests}");
        if (DurationS is double d && (!(d > 0) || double.IsInfinity(d))) throw new ArgumentException($"duration_s must be a finite number > 0, got {d}");
        if (SharedPrefixTokens < 0) throw new ArgumentException($"prefix.shared_tokens must be >= 0, got {SharedPrefixTokens}");
        Sessions?.Validate();
    }
}

/// <summary>
/// Generates requests from a <see cref="SyntheticWorkloadSpec"/>. Deterministic for a seed, with three independent
/// streams (<c>workload.arrivals</c>, <c>workload.input_tokens</c>, <c>workload.output_tokens</c>): changing one
/// distribution never changes the draws of the others. Each <see cref="Read"/> restarts the same sequence.
/// </summary>
public sealed partial class SyntheticWorkloadSource : IWorkloadSource
{
    /// <summary>Stream names, one per independent random sequence.</summary>
    public const string ArrivalsStream = "workload.arrivals", InputStream = "workload.input_tokens", OutputStream = "workload.output_tokens";

    private readonly int _seed;

    public SyntheticWorkloadSource(SyntheticWorkloadSpec spec, int seed)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        Spec = spec;
        _seed = seed;
    }

    /// <summary>What this source generates.</summary>
    public SyntheticWorkloadSpec Spec { get; }

    /// <inheritdoc />
    public string Describe()
    {
        var inv = CultureInfo.InvariantCulture;
        string bound = (Spec.Requests, Spec.DurationS) switch
        {
            (long n, double d) => string.Create(inv, $"{n} requests or {d} s"),
            (long n, null) => string.Create(inv, $"{n} requests"),
            (null, double d) => string.Create(inv, $"{d} s"),
            _ => "",
        };
        return string.Create(inv, $"synthetic {Spec.Arrivals.Process.ToString().ToLowerInvariant()} arrivals at {Spec.Arrivals.RatePerS} req/s, " +
            $"input {Spec.InputTokens.Dist.ToString().ToLowerInvariant()}, output {Spec.OutputTokens.Dist.ToString().ToLowerInvariant()}, {bound}, seed {_seed}");
    }

    /// <inheritdoc />
    public IEnumerable<Request> Read()
    {
        if (Spec.HasPrefixStructure) return ReadStructured();
        return ReadPlain();
    }

    /// <summary>The three independent streams and the bounds (requests, end of arrivals in s) of one read.</summary>
    private (IEnumerator<double> Arrivals, Func<int> Inputs, Func<int> Outputs, long Limit, double EndS) Streams()
    {
        var (inputPool, outputPool) = EmpiricalPools();
        return (ArrivalTimesS(WorkloadRandom.Create(_seed, ArrivalsStream)).GetEnumerator(),
            LengthSampler(Spec.InputTokens, WorkloadRandom.Create(_seed, InputStream), inputPool),
            LengthSampler(Spec.OutputTokens, WorkloadRandom.Create(_seed, OutputStream), outputPool),
            Spec.Requests ?? long.MaxValue, Spec.DurationS ?? double.PositiveInfinity);
    }

    /// <summary>The supports of the empirical length distributions (null for the other kinds), input first.</summary>
    // Implementation note: input and output lengths drawn from one trace (fleet-1m, the usual case) read it once, not once
    // per column: each read parses every row (about 70 M instructions for the Azure conversation trace). The arrays are
    // the same either way, and a trace that fails fails at its first read as before.
    private (int[]? Inputs, int[]? Outputs) EmpiricalPools()
    {
        LengthSpec input = Spec.InputTokens, output = Spec.OutputTokens;
        bool fromInput = input.Dist == LengthDistribution.Empirical, fromOutput = output.Dist == LengthDistribution.Empirical;
        if (fromInput && fromOutput && input.TracePath == output.TracePath && input.TraceFormat == output.TraceFormat)
            return LoadEmpirical(input);
        return (fromInput ? LoadEmpirical(input).Inputs : null, fromOutput ? LoadEmpirical(output).Outputs : null);
    }

    private IEnumerable<Request> ReadPlain()
    {
        var (arrivals, inputs, outputs, limit, endS) = Streams();
        for (long id = 0; id < limit; id++)
        {
            arrivals.MoveNext();
            double atS = arrivals.Current;
            if (atS >= endS) yield break;
            yield return new Request(id, (long)Math.Round(atS * 1e9, MidpointRounding.ToEven), inputs(), outputs());
        }
    }

    /// <summary>The arrival instants in seconds, an endless non-decreasing sequence starting at 0.</summary>
    private IEnumerable<double> ArrivalTimesS(Random random)
    {
        var a = Spec.Arrivals;
        double t = 0;
        switch (a.Process)
        {
            case ArrivalProcess.Poisson:
                var exp = new Exponential(a.RatePerS, random);
                while (true) { yield return t; t += exp.Sample(); }
            case ArrivalProcess.Gamma:
                // Gamma(shape k, rate b): mean k/b = 1/rate, cv = 1/sqrt(k)  =>  k = 1/cv^2, b = k x rate.
                double shape = 1.0 / (a.Cv * a.Cv);
                var gamma = new Gamma(shape, shape * a.RatePerS, random);
                while (true) { yield return t; t += gamma.Sample(); }
            case ArrivalProcess.Constant:
                for (long k = 1; ; k++) { yield return t; t = k / a.RatePerS; }
            case ArrivalProcess.Burst:
                double periodS = a.BurstSize / a.RatePerS;
                for (long k = 1; ; k++)
                {
                    for (int i = 0; i < a.BurstSize; i++) yield return t;
                    t = k * periodS;
                }
            default:
                throw new InvalidOperationException($"unknown arrival process {a.Process}");
        }
    }

    private static Func<int> LengthSampler(LengthSpec spec, Random random, int[]? empiricalPool)
    {
        switch (spec.Dist)
        {
            case LengthDistribution.Fixed:
                return () => spec.Value;
            case LengthDistribution.Uniform:
                return () => (int)Math.Min(spec.Max, spec.Min + (long)Math.Floor(random.NextDouble() * ((long)spec.Max - spec.Min + 1)));
            case LengthDistribution.Normal:
                var normal = new Normal(spec.Mean, spec.Sigma, random);
                return () => Clip(normal.Sample(), spec.Max);
            case LengthDistribution.LogNormal:
                var logNormal = new LogNormal(Math.Log(spec.Mean) - spec.Sigma * spec.Sigma / 2, spec.Sigma, random);
                return () => Clip(logNormal.Sample(), spec.Max);
            case LengthDistribution.Empirical:
                int[] pool = empiricalPool!;
                return () => pool[random.Next(pool.Length)];
            default:
                throw new InvalidOperationException($"unknown length distribution {spec.Dist}");
        }
    }

    private static int Clip(double tokens, int max) => (int)Math.Clamp(Math.Round(tokens, MidpointRounding.ToEven), 1, max);

    /// <summary>Reads every input and output length of a trace: the empirical distributions' supports, in file order.</summary>
    private static (int[] Inputs, int[] Outputs) LoadEmpirical(LengthSpec spec)
    {
        var source = new TraceWorkloadSource(spec.TracePath!, spec.TraceFormat);
        var inputs = new List<int>();
        var outputs = new List<int>();
        foreach (var r in source.Read())
        {
            inputs.Add(r.InputTokens);
            outputs.Add(r.OutputTokens);
        }
        if (inputs.Count == 0) throw new ArgumentException($"empirical trace {spec.TracePath} has no rows");
        return (inputs.ToArray(), outputs.ToArray());
    }
}
