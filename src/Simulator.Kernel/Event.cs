namespace Simulator.Kernel;

/// <summary>
/// Something that happens at a point in simulated time (SimSharp/SimPy semantics): it is
/// pending, then triggered (scheduled with a value, or failed), then processed (its callbacks ran).
/// A process that yields an event resumes when it is processed and receives its <see cref="Value"/>.
/// </summary>
public class Event
{
    private List<Action<Event>>? _callbacks;

    public Event(Simulation environment)
    {
        Environment = environment ?? throw new ArgumentNullException(nameof(environment));
    }

    public Simulation Environment { get; }

    /// <summary>The value the event carries once triggered (for a failed event, the exception).</summary>
    public object? Value { get; protected set; }

    public bool IsTriggered { get; private set; }
    public bool IsProcessed { get; private set; }

    /// <summary>True when triggered successfully; false when failed.</summary>
    public bool IsOk { get; private set; }

    /// <summary>True once something (a waiting process, a condition) has taken responsibility for a failure.</summary>
    public bool IsDefused { get; set; }

    public Exception? Exception => IsOk ? null : Value as Exception;

    /// <summary>Callbacks run in order when the event is processed.</summary>
    public void AddCallback(Action<Event> callback)
    {
        if (IsProcessed) throw new InvalidOperationException("event already processed");
        (_callbacks ??= new List<Action<Event>>()).Add(callback);
    }

    public void RemoveCallback(Action<Event> callback) => _callbacks?.Remove(callback);

    /// <summary>Triggers the event successfully now; it is processed after events already due now.</summary>
    public virtual Event Succeed(object? value = null, int priority = 0)
    {
        if (IsTriggered) throw new InvalidOperationException("event already triggered");
        IsTriggered = true;
        IsOk = true;
        Value = value;
        Environment.ScheduleEvent(this, SimDuration.Zero, priority);
        return this;
    }

    /// <summary>Triggers the event as failed; a process waiting on it sees the exception thrown into it.</summary>
    public virtual Event Fail(Exception exception, int priority = 0)
    {
        if (IsTriggered) throw new InvalidOperationException("event already triggered");
        IsTriggered = true;
        IsOk = false;
        Value = exception ?? throw new ArgumentNullException(nameof(exception));
        Environment.ScheduleEvent(this, SimDuration.Zero, priority);
        return this;
    }

    /// <summary>Marks the event triggered without scheduling it (used by timeouts scheduled at creation).</summary>
    protected void MarkTriggered(object? value, bool ok)
    {
        IsTriggered = true;
        IsOk = ok;
        Value = value;
    }

    internal void Process()
    {
        IsProcessed = true;
        var callbacks = _callbacks;
        _callbacks = null;
        if (callbacks != null)
        {
            foreach (var cb in callbacks) cb(this);
        }
        if (!IsOk && !IsDefused)
        {
            Environment.ReportUnhandledFailure(this);
        }
    }

    public static Condition operator &(Event a, Event b) => new AllOf(a.Environment, a, b);
    public static Condition operator |(Event a, Event b) => new AnyOf(a.Environment, a, b);
}

/// <summary>An event triggered after a delay, created already scheduled.</summary>
public sealed class Timeout : Event
{
    public Timeout(Simulation environment, SimDuration delay, object? value = null, int priority = 0) : base(environment)
    {
        if (delay.Nanoseconds < 0) throw new ArgumentOutOfRangeException(nameof(delay), "negative delay");
        Delay = delay;
        MarkTriggered(value, true);
        environment.ScheduleEvent(this, delay, priority);
    }

    public SimDuration Delay { get; }
}

/// <summary>An event over other events: processed when its condition over them holds.</summary>
public abstract class Condition : Event
{
    private readonly List<Event> _events;
    private int _processedCount;

    protected Condition(Simulation environment, params Event[] events) : base(environment)
    {
        _events = new List<Event>(events);
        if (_events.Count == 0) { Succeed(new Dictionary<Event, object?>()); return; }
        foreach (var e in _events)
        {
            if (e.IsProcessed) Check(e);
            else e.AddCallback(Check);
            if (IsTriggered) break;
        }
    }

    public IReadOnlyList<Event> Events => _events;

    protected abstract bool Evaluate(int processedCount, int total);

    private void Check(Event e)
    {
        if (IsTriggered) return;
        _processedCount++;
        if (!e.IsOk)
        {
            e.IsDefused = true;
            Fail(e.Exception!);
            return;
        }
        if (Evaluate(_processedCount, _events.Count))
        {
            var values = new Dictionary<Event, object?>();
            foreach (var ev in _events) if (ev.IsProcessed || ev == e) values[ev] = ev.Value;
            Succeed(values);
        }
    }
}

/// <summary>Processed once every one of its events succeeded; fails as soon as one fails.</summary>
public sealed class AllOf : Condition
{
    public AllOf(Simulation environment, params Event[] events) : base(environment, events) { }
    protected override bool Evaluate(int processedCount, int total) => processedCount == total;
}

/// <summary>Processed once any one of its events succeeded.</summary>
public sealed class AnyOf : Condition
{
    public AnyOf(Simulation environment, params Event[] events) : base(environment, events) { }
    protected override bool Evaluate(int processedCount, int total) => processedCount >= 1;
}
