namespace Simulator.Kernel;

/// <summary>
/// Something that happens at a point in simulated time (SimSharp/SimPy semantics): it is
/// pending, then triggered (scheduled with a value, or failed), then processed (its callbacks ran).
/// A process that yields an event resumes when it is processed and receives its <see cref="Value"/>.
/// </summary>
public class Event
{
    [Flags]
    private enum State : byte
    {
        None = 0,
        Triggered = 1,
        Processed = 2,
        Ok = 4,
        Defused = 8,
    }

    // Implementation note: most events have exactly one waiter (a process), so it sits in a direct
    // field and is resumed without a delegate; the first other callback lives in a field and only
    // further ones allocate a list. The waiter slot is only used while no callback was added, so
    // callbacks still run in the order they were added. Flags are packed to keep events small.
    private Process? _waiter;
    private Action<Event>? _callback;
    private List<Action<Event>>? _moreCallbacks;
    private State _state;

    public Event(Simulation environment)
    {
        Environment = environment ?? throw new ArgumentNullException(nameof(environment));
    }

    public Simulation Environment { get; }

    /// <summary>The value the event carries once triggered (for a failed event, the exception).</summary>
    public object? Value { get; protected set; }

    /// <summary>True once Succeed or Fail was called (or, for a timeout, from creation).</summary>
    public bool IsTriggered => (_state & State.Triggered) != 0;

    /// <summary>True once the event's time came and its callbacks ran.</summary>
    public bool IsProcessed => (_state & State.Processed) != 0;

    /// <summary>True when triggered successfully; false when failed (or not yet triggered).</summary>
    public bool IsOk => (_state & State.Ok) != 0;

    /// <summary>True once something (a waiting process, a condition) has taken responsibility for a failure.</summary>
    public bool IsDefused
    {
        get => (_state & State.Defused) != 0;
        set => _state = value ? _state | State.Defused : _state & ~State.Defused;
    }

    public Exception? Exception => IsOk ? null : Value as Exception;

    /// <summary>Callbacks run in order when the event is processed.</summary>
    public void AddCallback(Action<Event> callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        if (IsProcessed) throw new InvalidOperationException("event already processed");
        if (_callback == null && (_moreCallbacks == null || _moreCallbacks.Count == 0)) _callback = callback;
        else (_moreCallbacks ??= new List<Action<Event>>()).Add(callback);
    }

    /// <summary>Removes the first registration of <paramref name="callback"/>, if any.</summary>
    public void RemoveCallback(Action<Event> callback)
    {
        if (_callback != null && _callback.Equals(callback))
        {
            _callback = null;
            if (_moreCallbacks is { Count: > 0 })
            {
                _callback = _moreCallbacks[0];
                _moreCallbacks.RemoveAt(0);
            }
            return;
        }
        _moreCallbacks?.Remove(callback);
    }

    /// <summary>Registers <paramref name="process"/> as the direct waiter if no callback came first.</summary>
    internal bool TrySetWaiter(Process process)
    {
        if (_waiter != null || _callback != null || _moreCallbacks is { Count: > 0 }) return false;
        _waiter = process;
        return true;
    }

    /// <summary>Unregisters <paramref name="process"/> as the direct waiter; false if it was not.</summary>
    internal bool RemoveWaiter(Process process)
    {
        if (_waiter != process) return false;
        _waiter = null;
        return true;
    }

    /// <summary>Triggers the event successfully now; it is processed after events already due now.</summary>
    public virtual Event Succeed(object? value = null, int priority = 0)
    {
        if (IsTriggered) throw new InvalidOperationException("event already triggered");
        _state |= State.Triggered | State.Ok;
        Value = value;
        Environment.ScheduleEventNow(this, priority);
        return this;
    }

    /// <summary>Triggers the event as failed; a process waiting on it sees the exception thrown into it.</summary>
    public virtual Event Fail(Exception exception, int priority = 0)
    {
        if (IsTriggered) throw new InvalidOperationException("event already triggered");
        Value = exception ?? throw new ArgumentNullException(nameof(exception));
        _state = (_state | State.Triggered) & ~State.Ok;
        Environment.ScheduleEventNow(this, priority);
        return this;
    }

    /// <summary>Marks the event triggered without scheduling it (used by timeouts scheduled at creation).</summary>
    protected void MarkTriggered(object? value, bool ok)
    {
        _state = ok ? _state | State.Triggered | State.Ok : (_state | State.Triggered) & ~State.Ok;
        Value = value;
    }

    internal void Process()
    {
        _state |= State.Processed;
        var waiter = _waiter;
        if (waiter != null)
        {
            _waiter = null;
            waiter.Resume(this);
        }
        var first = _callback;
        if (first != null)
        {
            var more = _moreCallbacks;
            _callback = null;
            _moreCallbacks = null;
            first(this);
            if (more != null)
            {
                foreach (var cb in more) cb(this);
            }
        }
        if ((_state & (State.Ok | State.Defused)) == 0)
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
        if (delay.Nanoseconds < 0) throw new ArgumentOutOfRangeException(nameof(delay), delay, "negative delay");
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
