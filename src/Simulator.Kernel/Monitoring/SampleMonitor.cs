namespace Simulator.Kernel;

/// <summary>
/// Collects observations (waiting times, latencies) and gives their count, mean, standard deviation,
/// extremes and, when samples are kept, percentiles. Units are the caller's: name the monitor with them.
/// </summary>
public sealed class SampleMonitor
{
    private readonly List<double>? _samples;
    private bool _sorted = true;
    private double _mean;
    private double _m2; // sum of squared deviations (Welford)

    /// <param name="name">What is observed, with its unit (e.g. "wait_ms").</param>
    /// <param name="keepSamples">Keep every value so percentiles can be computed (memory grows with the count).</param>
    public SampleMonitor(string name = "", bool keepSamples = true)
    {
        Name = name;
        if (keepSamples) _samples = new List<double>();
    }

    public string Name { get; }

    public long Count { get; private set; }

    public double Sum { get; private set; }

    /// <summary>Arithmetic mean; NaN when empty.</summary>
    public double Mean => Count == 0 ? double.NaN : _mean;

    /// <summary>Sample standard deviation (n - 1 denominator); NaN with fewer than two values.</summary>
    public double StdDev => Count < 2 ? double.NaN : Math.Sqrt(_m2 / (Count - 1));

    public double Min { get; private set; } = double.NaN;

    public double Max { get; private set; } = double.NaN;

    /// <summary>Whether percentiles are available.</summary>
    public bool KeepsSamples => _samples != null;

    public void Add(double value)
    {
        if (double.IsNaN(value)) throw new ArgumentException("NaN is not an observation", nameof(value));
        Count++;
        Sum += value;
        double delta = value - _mean;
        _mean += delta / Count;
        _m2 += delta * (value - _mean);
        if (Count == 1 || value < Min) Min = value;
        if (Count == 1 || value > Max) Max = value;
        if (_samples != null)
        {
            if (_sorted && _samples.Count > 0 && value < _samples[^1]) _sorted = false;
            _samples.Add(value);
        }
    }

    /// <summary>
    /// The <paramref name="percent"/>-th percentile (0..100) with linear interpolation between closest ranks
    /// (numpy's default): rank = p/100 x (n - 1). NaN when empty.
    /// </summary>
    public double Percentile(double percent)
    {
        if (_samples == null) throw new InvalidOperationException("this monitor does not keep samples");
        if (!(percent >= 0 && percent <= 100)) throw new ArgumentOutOfRangeException(nameof(percent), percent, "percent must lie in [0, 100]");
        if (_samples.Count == 0) return double.NaN;
        if (!_sorted)
        {
            _samples.Sort();
            _sorted = true;
        }
        double rank = percent / 100.0 * (_samples.Count - 1);
        int lo = (int)Math.Floor(rank);
        int hi = Math.Min(lo + 1, _samples.Count - 1);
        double frac = rank - lo;
        return _samples[lo] + (_samples[hi] - _samples[lo]) * frac;
    }
}
