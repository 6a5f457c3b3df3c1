namespace Simulator.Kernel;

/// <summary>Thrown into (observed by) a process that was interrupted.</summary>
public sealed class InterruptException : Exception
{
    public InterruptException(object? cause) : base("process interrupted") { Cause = cause; }
    public object? Cause { get; }
}

/// <summary>
/// A process: an iterator of events. Each yielded event suspends the process until the event is
/// processed; its value is then available as <see cref="Target"/>.Value. The process itself is an
/// event that is processed when the iterator ends (its value is set by <see cref="SetReturnValue"/>).
/// </summary>
public sealed class Process : Event
{
    private readonly IEnumerator<Event> _generator;
    private Action<Event>? _resumeCallback;
    private object? _returnValue;
    private bool _faultHandled;

    public Process(Simulation environment, IEnumerable<Event> generator, int priority = 0) : base(environment)
    {
        ArgumentNullException.ThrowIfNull(generator);
        _generator = generator.GetEnumerator();
        var init = new Event(environment);
        init.TrySetWaiter(this);
        init.Succeed(null, priority);
        Target = init;
    }

    // Only needed when the process waits on an event that already has callbacks (created lazily).
    private Action<Event> ResumeCallback => _resumeCallback ??= Resume;

    /// <summary>The event the process currently waits for (after resuming: the one that woke it).</summary>
    public Event Target { get; private set; }

    public bool IsAlive => !IsTriggered;

    /// <summary>Sets the value the process's own event carries when the process ends.</summary>
    public void SetReturnValue(object? value) => _returnValue = value;

    /// <summary>
    /// Called by the process after resuming from a failed event (or an interrupt): returns true and
    /// marks the failure handled if there was one, so the process goes on instead of failing.
    /// </summary>
    public bool HandleFault()
    {
        if (Target.IsOk) return false;
        _faultHandled = true;
        Target.IsDefused = true;
        return true;
    }

    /// <summary>Interrupts the waiting process: it resumes at once with a failed target carrying an <see cref="InterruptException"/>.</summary>
    public void Interrupt(object? cause = null)
    {
        if (!IsAlive) throw new InvalidOperationException("cannot interrupt a finished process");
        if (Environment.ActiveProcess == this) throw new InvalidOperationException("a process cannot interrupt itself");
        var interruption = new Event(Environment);
        interruption.AddCallback(e =>
        {
            if (!IsAlive) { e.IsDefused = true; return; }
            if (!Target.RemoveWaiter(this)) Target.RemoveCallback(ResumeCallback);
            Resume(e);
        });
        interruption.IsDefused = true;
        interruption.Fail(new InterruptException(cause), priority: -1);
    }

    internal void Resume(Event trigger)
    {
        Environment.ActiveProcess = this;
        Target = trigger;
        while (true)
        {
            _faultHandled = false;
            bool hasNext;
            try
            {
                hasNext = _generator.MoveNext();
            }
            catch (Exception ex)
            {
                Environment.ActiveProcess = null;
                Fail(ex);
                return;
            }
            if (!Target.IsOk && !_faultHandled)
            {
                // The process ignored the failure of what it waited for: the failure propagates.
                Environment.ActiveProcess = null;
                Target.IsDefused = true;
                _generator.Dispose();
                Fail(Target.Exception!);
                return;
            }
            if (!hasNext)
            {
                Environment.ActiveProcess = null;
                _generator.Dispose();
                Succeed(_returnValue);
                return;
            }
            var next = _generator.Current;
            if (next == null)
            {
                Environment.ActiveProcess = null;
                _generator.Dispose();
                Fail(new InvalidOperationException("a process yielded null"));
                return;
            }
            if (next.IsProcessed)
            {
                Target = next;
                if (!next.IsOk) next.IsDefused = true;
                continue;
            }
            Target = next;
            if (!next.IsOk && next.IsTriggered) next.IsDefused = true;
            if (!next.TrySetWaiter(this)) next.AddCallback(ResumeCallback);
            Environment.ActiveProcess = null;
            return;
        }
    }
}
