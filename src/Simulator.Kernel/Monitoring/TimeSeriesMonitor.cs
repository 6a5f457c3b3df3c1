namespace Simulator.Kernel;

/// <summary>
/// Records a piecewise-constant quantity over simulated time (queue length, busy servers) and gives its
/// time-weighted mean, minimum, maximum and integral from the moment the monitor was created up to now.
/// </summary>
public sealed class TimeSeriesMonitor
{
    private readonly Simulation _sim;
    private readonly long _startNs;
    private long _lastNs;
    private double _integral; // value x ns accumulated up to _lastNs

    public TimeSeriesMonitor(Simulation simulation, string name = "", double initialValue = 0)
    {
        _sim = simulation ?? throw new ArgumentNullException(nameof(simulation));
        Name = name;
        _startNs = _lastNs = simulation.NowNs;
        Current = Min = Max = initialValue;
    }

    public string Name { get; }

    /// <summary>The value now.</summary>
    public double Current { get; private set; }

    /// <summary>The smallest value held so far.</summary>
    public double Min { get; private set; }

    /// <summary>The largest value held so far.</summary>
    public double Max { get; private set; }

    /// <summary>Number of updates recorded.</summary>
    public long Updates { get; private set; }

    /// <summary>Simulated time observed, from creation to now, in nanoseconds.</summary>
    public long ObservedNs => _sim.NowNs - _startNs;

    /// <summary>Integral of the value over time up to now, in value x seconds.</summary>
    public double IntegralSeconds => (_integral + Current * (_sim.NowNs - _lastNs)) / 1e9;

    /// <summary>Time-weighted mean from creation to now (the current value when no time has passed).</summary>
    public double Mean
    {
        get
        {
            long spanNs = ObservedNs;
            return spanNs <= 0 ? Current : (_integral + Current * (_sim.NowNs - _lastNs)) / spanNs;
        }
    }

    /// <summary>Sets the value from now on.</summary>
    public void UpdateTo(double value)
    {
        long now = _sim.NowNs;
        _integral += Current * (now - _lastNs);
        _lastNs = now;
        Current = value;
        if (value < Min) Min = value;
        if (value > Max) Max = value;
        Updates++;
    }

    /// <summary>Adds <paramref name="delta"/> to the value from now on.</summary>
    public void Increase(double delta = 1) => UpdateTo(Current + delta);

    /// <summary>Subtracts <paramref name="delta"/> from the value from now on.</summary>
    public void Decrease(double delta = 1) => UpdateTo(Current - delta);
}
