using System.Runtime.CompilerServices;

namespace Simulator.Kernel;

/// <summary>A callback target for the allocation-free fast path: <see cref="Simulation.Schedule(SimDuration, IEventHandler, long, int)"/>.</summary>
public interface IEventHandler
{
    /// <summary>Runs when the scheduled entry comes due; <paramref name="token"/> is the value given to Schedule.</summary>
    void Handle(long token);
}

/// <summary>
/// The simulation environment (SimSharp's <c>Simulation</c>): the clock, the event queue, processes
/// and the seeded random streams. Entries are ordered by (time, priority, insertion index): ties run
/// first-in first-out, lower priority values first. Priorities must lie in [-32768, 32767].
/// </summary>
public class Simulation
{
    /// <summary>The lowest (first-running) priority an entry can have.</summary>
    public const int LowestPriority = EventQueue.MinPriority;

    /// <summary>The highest (last-running) priority an entry can have.</summary>
    public const int HighestPriority = EventQueue.MaxPriority;

    private readonly EventQueue _queue = new();
    private long _nowNs;
    private Exception? _unhandled;
    private RandomStreams? _streams;

    public Simulation(int randomSeed = 42)
    {
        RandomSeed = randomSeed;
    }

    /// <summary>The root seed every random stream of this simulation derives from.</summary>
    public int RandomSeed { get; }

    /// <summary>Named, independent random streams derived from <see cref="RandomSeed"/> (e.g. <c>Streams.Get("arrivals")</c>).</summary>
    public RandomStreams Streams => _streams ??= new RandomStreams(RandomSeed);

    public SimTime Now => new(_nowNs);

    /// <summary>The current time in integer nanoseconds.</summary>
    public long NowNs => _nowNs;

    /// <summary>Number of queue entries processed so far (events and fast-path callbacks).</summary>
    public long ProcessedEvents { get; private set; }

    /// <summary>Number of entries waiting in the queue.</summary>
    public int PendingEvents => _queue.Count;

    /// <summary>The process whose code is running right now, if any.</summary>
    public Process? ActiveProcess { get; internal set; }

    /// <summary>Starts a process from an iterator of events; it first runs at the current time.</summary>
    public Process Process(IEnumerable<Event> generator, int priority = 0) => new(this, generator, priority);

    /// <summary>An event processed <paramref name="delay"/> from now, carrying <paramref name="value"/>.</summary>
    public Timeout Timeout(SimDuration delay, object? value = null) => new(this, delay, value);

    /// <summary>An event processed <paramref name="delay"/> from now, with a queue priority (lower runs first among ties).</summary>
    public Timeout Timeout(SimDuration delay, object? value, int priority) => new(this, delay, value, priority);

    /// <summary>A new pending event, to be triggered with Succeed or Fail.</summary>
    public Event Event() => new(this);

    public AllOf AllOf(params Event[] events) => new(this, events);
    public AnyOf AnyOf(params Event[] events) => new(this, events);
    public AllOf AllOf(IEnumerable<Event> events) => new(this, events.ToArray());
    public AnyOf AnyOf(IEnumerable<Event> events) => new(this, events.ToArray());

    /// <summary>Fast path: runs <paramref name="handler"/>.Handle(token) after <paramref name="delay"/>; allocates nothing.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Schedule(SimDuration delay, IEventHandler handler, long token = 0, int priority = 0)
    {
        ScheduleNs(delay.Nanoseconds, handler, token, priority);
    }

    /// <summary>Fast path with the delay in integer nanoseconds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ScheduleNs(long delayNs, IEventHandler handler, long token = 0, int priority = 0)
    {
        if (delayNs < 0) ThrowNegativeDelay(new SimDuration(delayNs));
        ArgumentNullException.ThrowIfNull(handler);
        if (delayNs == 0 && priority == 0) _queue.PushNow(_nowNs, handler, token, EntryKind.Handler);
        else _queue.Push(checked(_nowNs + delayNs), priority, handler, token, EntryKind.Handler);
    }

    /// <summary>Fast path at an absolute time (not before now).</summary>
    public void ScheduleAt(SimTime at, IEventHandler handler, long token = 0, int priority = 0)
    {
        if (at.Nanoseconds < _nowNs) throw new ArgumentOutOfRangeException(nameof(at), at, "time lies in the past");
        ArgumentNullException.ThrowIfNull(handler);
        _queue.Push(at.Nanoseconds, priority, handler, token, EntryKind.Handler);
    }

    /// <summary>Runs <paramref name="callback"/> after <paramref name="delay"/> (allocation-free if the delegate is cached).</summary>
    public void Schedule(SimDuration delay, Action callback, int priority = 0)
    {
        if (delay.Nanoseconds < 0) ThrowNegativeDelay(delay);
        ArgumentNullException.ThrowIfNull(callback);
        if (delay.Nanoseconds == 0 && priority == 0) _queue.PushNow(_nowNs, callback, 0, EntryKind.Action);
        else _queue.Push(checked(_nowNs + delay.Nanoseconds), priority, callback, 0, EntryKind.Action);
    }

    internal void ScheduleEvent(Event e, SimDuration delay, int priority)
    {
        if (delay.Nanoseconds < 0) ThrowNegativeDelay(delay);
        if (delay.Nanoseconds == 0 && priority == 0) _queue.PushNow(_nowNs, e, 0, EntryKind.Event);
        else _queue.Push(checked(_nowNs + delay.Nanoseconds), priority, e, 0, EntryKind.Event);
    }

    internal void ScheduleEventNow(Event e, int priority)
    {
        if (priority == 0) _queue.PushNow(_nowNs, e, 0, EntryKind.Event);
        else _queue.Push(_nowNs, priority, e, 0, EntryKind.Event);
    }

    internal void ReportUnhandledFailure(Event e) => _unhandled ??= e.Exception;

    private static void ThrowNegativeDelay(SimDuration delay) =>
        throw new ArgumentOutOfRangeException(nameof(delay), delay, "negative delay");

    /// <summary>Time of the next entry, or <see cref="SimTime.MaxValue"/> when none is pending.</summary>
    public SimTime Peek() => _queue.Count == 0 ? SimTime.MaxValue : new SimTime(_queue.PeekTime());

    /// <summary>Processes exactly one queue entry; throws <see cref="InvalidOperationException"/> when none is pending.</summary>
    public void Step()
    {
        _queue.Pop(out var entry);
        Dispatch(in entry);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Dispatch(in QueueEntry entry)
    {
        _nowNs = entry.TimeNs;
        ProcessedEvents++;
        switch (entry.Kind)
        {
            case EntryKind.Handler: Unsafe.As<IEventHandler>(entry.Target).Handle(entry.Token); break;
            case EntryKind.Event: Unsafe.As<Event>(entry.Target).Process(); break;
            default: Unsafe.As<Action>(entry.Target)(); break;
        }
        if (_unhandled != null) ThrowUnhandled();
    }

    private void ThrowUnhandled()
    {
        var ex = _unhandled!;
        _unhandled = null;
        throw new SimulationException("an event failed and nothing handled it: " + ex.Message, ex);
    }

    /// <summary>Runs until no event is left.</summary>
    public void Run() => Run(SimTime.MaxValue);

    /// <summary>Runs until <paramref name="until"/>: events at exactly that time are not processed; the clock ends at until.</summary>
    public void Run(SimTime until)
    {
        if (until.Nanoseconds < _nowNs) throw new ArgumentOutOfRangeException(nameof(until), until, "until lies in the past");
        long untilNs = until.Nanoseconds;
        var queue = _queue;
        while (queue.TryPopBefore(untilNs, out var entry))
        {
            queue.PrefetchNext();
            Dispatch(in entry);
        }
        if (until != SimTime.MaxValue) _nowNs = untilNs;
    }

    /// <summary>
    /// Runs every entry ordered before (<paramref name="until"/>, <paramref name="priority"/>): those due earlier than
    /// until, and those due at until with a priority lower than <paramref name="priority"/>; the clock ends at until.
    /// Entries due at until with that priority or a higher one stay pending, so a caller can act "between" the
    /// priority levels of one instant (a coordinator of several simulations steps them to a common barrier this way).
    /// </summary>
    public void RunBefore(SimTime until, int priority)
    {
        if (until.Nanoseconds < _nowNs) throw new ArgumentOutOfRangeException(nameof(until), until, "until lies in the past");
        if (priority < EventQueue.MinPriority || priority > EventQueue.MaxPriority)
            throw new ArgumentOutOfRangeException(nameof(priority), priority, "priority must lie in [-32768, 32767]");
        long untilNs = until.Nanoseconds;
        var queue = _queue;
        while (queue.TryPopBefore(untilNs, priority, out var entry))
        {
            queue.PrefetchNext();
            Dispatch(in entry);
        }
        if (until != SimTime.MaxValue) _nowNs = untilNs;
    }

    /// <summary>Runs for <paramref name="duration"/> from now (see <see cref="Run(SimTime)"/>).</summary>
    public void Run(SimDuration duration) => Run(Now + duration);

    /// <summary>
    /// Runs until <paramref name="stop"/> is processed and returns its value. Throws
    /// <see cref="InvalidOperationException"/> if the queue empties first (the event can then never happen).
    /// </summary>
    public object? Run(Event stop)
    {
        ArgumentNullException.ThrowIfNull(stop);
        while (!stop.IsProcessed)
        {
            if (_queue.Count == 0)
                throw new InvalidOperationException("no event left to process but the stop event was not processed");
            Step();
        }
        return stop.Value;
    }
}

/// <summary>An event failed and no process or condition handled the failure.</summary>
public sealed class SimulationException : Exception
{
    public SimulationException(string message, Exception inner) : base(message, inner) { }
}
