namespace Simulator.Kernel;

/// <summary>A request to add or remove an amount from a <see cref="Container"/>: succeeds when done.</summary>
public sealed class ContainerRequest : Event
{
    internal ContainerRequest(Simulation environment, double amount, bool isPut) : base(environment)
    {
        Amount = amount;
        IsPut = isPut;
    }

    /// <summary>The amount to add (put) or remove (get).</summary>
    public double Amount { get; }

    /// <summary>True for a put, false for a get.</summary>
    public bool IsPut { get; }
}

/// <summary>
/// A continuous amount (bytes of a buffer, tokens of a budget) between 0 and a capacity (SimSharp's
/// Container). Puts wait while they do not fit, gets while the level is too low; each side is served
/// strictly first-in first-out, so a large request is never starved by later small ones.
/// </summary>
public sealed class Container
{
    private readonly Queue<ContainerRequest> _puts = new();
    private readonly Queue<ContainerRequest> _gets = new();

    public Container(Simulation environment, double capacity = double.PositiveInfinity, double initialLevel = 0)
    {
        Environment = environment ?? throw new ArgumentNullException(nameof(environment));
        if (!(capacity > 0)) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "capacity must be positive");
        if (!(initialLevel >= 0 && initialLevel <= capacity))
            throw new ArgumentOutOfRangeException(nameof(initialLevel), initialLevel, "initial level must lie in [0, capacity]");
        Capacity = capacity;
        Level = initialLevel;
    }

    public Simulation Environment { get; }

    public double Capacity { get; }

    /// <summary>The amount held now.</summary>
    public double Level { get; private set; }

    /// <summary>When set, follows the level over time.</summary>
    public TimeSeriesMonitor? LevelMonitor { get; set; }

    public int WaitingPuts => _puts.Count;

    public int WaitingGets => _gets.Count;

    /// <summary>Adds <paramref name="amount"/> once it fits under the capacity.</summary>
    public ContainerRequest Put(double amount)
    {
        if (!(amount > 0) || amount > Capacity)
            throw new ArgumentOutOfRangeException(nameof(amount), amount, "amount must lie in (0, capacity]");
        var put = new ContainerRequest(Environment, amount, isPut: true);
        _puts.Enqueue(put);
        Balance();
        return put;
    }

    /// <summary>Removes <paramref name="amount"/> once the level holds it.</summary>
    public ContainerRequest Get(double amount)
    {
        if (!(amount > 0) || amount > Capacity)
            throw new ArgumentOutOfRangeException(nameof(amount), amount, "amount must lie in (0, capacity]");
        var get = new ContainerRequest(Environment, amount, isPut: false);
        _gets.Enqueue(get);
        Balance();
        return get;
    }

    private void Balance()
    {
        bool progress = true;
        while (progress)
        {
            progress = false;
            while (_puts.Count > 0 && Level + _puts.Peek().Amount <= Capacity)
            {
                var put = _puts.Dequeue();
                Level += put.Amount;
                LevelMonitor?.UpdateTo(Level);
                put.Succeed(put.Amount);
                progress = true;
            }
            while (_gets.Count > 0 && _gets.Peek().Amount <= Level)
            {
                var get = _gets.Dequeue();
                Level -= get.Amount;
                LevelMonitor?.UpdateTo(Level);
                get.Succeed(get.Amount);
                progress = true;
            }
        }
    }
}
