namespace Simulator.Kernel;

/// <summary>A callback target for the allocation-free fast path: <see cref="Simulation.Schedule(SimDuration, IEventHandler, long, int)"/>.</summary>
public interface IEventHandler
{
    void Handle(long token);
}

/// <summary>
/// The simulation environment (SimSharp's <c>Simulation</c>): the clock, the event queue, processes.
/// Events are ordered by (time, priority, insertion index); ties run first-in first-out.
/// </summary>
public class Simulation
{
    private readonly EventQueue _queue = new();
    private long _nowNs;
    private long _insertion;
    private Exception? _unhandled;

    public Simulation(int randomSeed = 42)
    {
        RandomSeed = randomSeed;
    }

    public int RandomSeed { get; }

    public SimTime Now => new(_nowNs);

    /// <summary>The current time in integer nanoseconds.</summary>
    public long NowNs => _nowNs;

    /// <summary>Number of queue entries processed so far (events and fast-path callbacks).</summary>
    public long ProcessedEvents { get; private set; }

    /// <summary>The process whose code is running right now, if any.</summary>
    public Process? ActiveProcess { get; internal set; }

    public Process Process(IEnumerable<Event> generator, int priority = 0) => new(this, generator, priority);

    public Timeout Timeout(SimDuration delay, object? value = null) => new(this, delay, value);

    public Event Event() => new(this);

    public AllOf AllOf(params Event[] events) => new(this, events);
    public AnyOf AnyOf(params Event[] events) => new(this, events);

    /// <summary>Fast path: runs <paramref name="handler"/>.Handle(token) after <paramref name="delay"/>; allocates nothing.</summary>
    public void Schedule(SimDuration delay, IEventHandler handler, long token = 0, int priority = 0)
    {
        if (delay.Nanoseconds < 0) throw new ArgumentOutOfRangeException(nameof(delay), "negative delay");
        _queue.Push(new QueueEntry(checked(_nowNs + delay.Nanoseconds), priority, _insertion++, handler, token));
    }

    /// <summary>Runs <paramref name="callback"/> after <paramref name="delay"/> (allocation-free if the delegate is cached).</summary>
    public void Schedule(SimDuration delay, Action callback, int priority = 0)
    {
        if (delay.Nanoseconds < 0) throw new ArgumentOutOfRangeException(nameof(delay), "negative delay");
        _queue.Push(new QueueEntry(checked(_nowNs + delay.Nanoseconds), priority, _insertion++, callback, 0));
    }

    internal void ScheduleEvent(Event e, SimDuration delay, int priority)
    {
        if (delay.Nanoseconds < 0) throw new ArgumentOutOfRangeException(nameof(delay), "negative delay");
        _queue.Push(new QueueEntry(checked(_nowNs + delay.Nanoseconds), priority, _insertion++, e, 0));
    }

    internal void ReportUnhandledFailure(Event e) => _unhandled ??= e.Exception;

    /// <summary>Time of the next entry, or <see cref="SimTime.MaxValue"/> when none is pending.</summary>
    public SimTime Peek() => _queue.Count == 0 ? SimTime.MaxValue : new SimTime(_queue.PeekTime());

    /// <summary>Processes exactly one queue entry.</summary>
    public void Step()
    {
        var entry = _queue.Pop();
        _nowNs = entry.TimeNs;
        ProcessedEvents++;
        switch (entry.Target)
        {
            case Event ev: ev.Process(); break;
            case IEventHandler h: h.Handle(entry.Token); break;
            case Action a: a(); break;
        }
        if (_unhandled != null)
        {
            var ex = _unhandled;
            _unhandled = null;
            throw new SimulationException("an event failed and nothing handled it: " + ex.Message, ex);
        }
    }

    /// <summary>Runs until no event is left.</summary>
    public void Run() => Run(SimTime.MaxValue);

    /// <summary>Runs until <paramref name="until"/>: events at exactly that time are not processed; the clock ends at until.</summary>
    public void Run(SimTime until)
    {
        if (until.Nanoseconds < _nowNs) throw new ArgumentOutOfRangeException(nameof(until), "until lies in the past");
        while (_queue.Count > 0 && _queue.PeekTime() < until.Nanoseconds) Step();
        if (until != SimTime.MaxValue) _nowNs = until.Nanoseconds;
    }

    /// <summary>Runs until <paramref name="stop"/> is processed (or nothing is left); returns its value.</summary>
    public object? Run(Event stop)
    {
        while (!stop.IsProcessed && _queue.Count > 0) Step();
        return stop.Value;
    }
}

/// <summary>An event failed and no process or condition handled the failure.</summary>
public sealed class SimulationException : Exception
{
    public SimulationException(string message, Exception inner) : base(message, inner) { }
}
