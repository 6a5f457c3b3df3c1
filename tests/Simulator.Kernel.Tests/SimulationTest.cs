using NUnit.Framework;
using Simulator.Kernel;

namespace Simulator.Kernel.Tests;

public sealed class SimulationTest
{
    private sealed class Recorder : IEventHandler
    {
        private readonly Simulation _sim;
        public Recorder(Simulation sim) { _sim = sim; }
        public List<(long TimeNs, long Token)> Calls { get; } = new();
        public void Handle(long token) => Calls.Add((_sim.NowNs, token));
    }

    [Test]
    public void FastPath_RunsHandlersInTimeOrder_WithTokens()
    {
        var sim = new Simulation();
        var rec = new Recorder(sim);
        sim.Schedule(SimDuration.FromNanoseconds(30), rec, 3);
        sim.Schedule(SimDuration.FromNanoseconds(10), rec, 1);
        sim.ScheduleNs(20, rec, 2);
        sim.Run();
        Assert.That(rec.Calls, Is.EqualTo(new[] { (10L, 1L), (20L, 2L), (30L, 3L) }));
        Assert.That(sim.ProcessedEvents, Is.EqualTo(3));
        Assert.That(sim.Now, Is.EqualTo(new SimTime(30)));
    }

    [Test]
    public void RunBefore_StopsBetweenPriorityLevelsOfOneInstant_AndSetsTheClock()
    {
        var sim = new Simulation();
        var rec = new Recorder(sim);
        sim.Schedule(SimDuration.FromNanoseconds(5), rec, 1);
        sim.Schedule(SimDuration.FromNanoseconds(10), rec, 2, priority: -1);
        sim.Schedule(SimDuration.FromNanoseconds(10), rec, 3);
        sim.Schedule(SimDuration.FromNanoseconds(10), rec, 4, priority: 1);
        sim.Schedule(SimDuration.FromNanoseconds(11), rec, 5);
        sim.RunBefore(new SimTime(10), 1);
        Assert.That(rec.Calls.Select(c => c.Token), Is.EqualTo(new long[] { 1, 2, 3 }));
        Assert.That(sim.NowNs, Is.EqualTo(10));
        // Something scheduled "now" between the levels runs before the pending priority-1 entry of the same instant.
        sim.Schedule(SimDuration.Zero, rec, 6);
        sim.RunBefore(new SimTime(10), 1);
        Assert.That(rec.Calls.Select(c => c.Token), Is.EqualTo(new long[] { 1, 2, 3, 6 }));
        sim.Run();
        Assert.That(rec.Calls.Select(c => c.Token), Is.EqualTo(new long[] { 1, 2, 3, 6, 4, 5 }));
    }

    [Test]
    public void RunBefore_WithTheLowestPriority_MatchesRunUntil()
    {
        var a = new Simulation();
        var b = new Simulation();
        var ra = new Recorder(a);
        var rb = new Recorder(b);
        foreach (var (sim, rec) in new[] { (a, ra), (b, rb) })
        {
            sim.ScheduleNs(0, rec, 1);
            sim.ScheduleNs(7, rec, 2, priority: -32768);
            sim.ScheduleNs(3, rec, 3, priority: 2);
            sim.ScheduleNs(8, rec, 4);
        }
        a.Run(new SimTime(7));
        b.RunBefore(new SimTime(7), -32768);
        Assert.That(rb.Calls, Is.EqualTo(ra.Calls));
        Assert.That(b.NowNs, Is.EqualTo(a.NowNs));
        Assert.Throws<ArgumentOutOfRangeException>(() => b.RunBefore(new SimTime(6), 0));
    }

    [Test]
    public void SameTime_TiesRunFifo_AndLowerPriorityFirst()
    {
        var sim = new Simulation();
        var rec = new Recorder(sim);
        sim.Schedule(SimDuration.Zero, rec, 1);
        sim.Schedule(SimDuration.Zero, rec, 2);
        sim.Schedule(SimDuration.Zero, rec, 0, priority: -1);
        sim.Schedule(SimDuration.Zero, rec, 3);
        sim.Run();
        Assert.That(rec.Calls.Select(c => c.Token), Is.EqualTo(new long[] { 0, 1, 2, 3 }));
    }

    [Test]
    public void NegativeDelay_Throws()
    {
        var sim = new Simulation();
        var rec = new Recorder(sim);
        Assert.Throws<ArgumentOutOfRangeException>(() => sim.Schedule(SimDuration.FromNanoseconds(-1), rec));
        Assert.Throws<ArgumentOutOfRangeException>(() => sim.Timeout(SimDuration.FromNanoseconds(-1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => sim.Schedule(SimDuration.FromNanoseconds(-1), () => { }));
    }

    [Test]
    public void RunUntil_StopsBeforeEventsAtUntil_AndSetsClock()
    {
        var sim = new Simulation();
        var rec = new Recorder(sim);
        sim.Schedule(SimDuration.FromNanoseconds(5), rec, 1);
        sim.Schedule(SimDuration.FromNanoseconds(10), rec, 2);
        sim.Run(new SimTime(10));
        Assert.That(rec.Calls.Select(c => c.Token), Is.EqualTo(new long[] { 1 }));
        Assert.That(sim.NowNs, Is.EqualTo(10));
        Assert.That(sim.Peek(), Is.EqualTo(new SimTime(10)));
        sim.Run();
        Assert.That(rec.Calls.Select(c => c.Token), Is.EqualTo(new long[] { 1, 2 }));
    }

    [Test]
    public void RunUntil_InThePast_Throws()
    {
        var sim = new Simulation();
        sim.Run(new SimTime(100));
        Assert.Throws<ArgumentOutOfRangeException>(() => sim.Run(new SimTime(50)));
    }

    [Test]
    public void RunForDuration_AdvancesRelativeToNow()
    {
        var sim = new Simulation();
        sim.Run(new SimTime(100));
        sim.Run(SimDuration.FromNanoseconds(50));
        Assert.That(sim.NowNs, Is.EqualTo(150));
    }

    [Test]
    public void PeekAndStep_ProcessOneEntryAtATime()
    {
        var sim = new Simulation();
        var rec = new Recorder(sim);
        Assert.That(sim.Peek(), Is.EqualTo(SimTime.MaxValue));
        sim.Schedule(SimDuration.FromNanoseconds(7), rec, 1);
        sim.Schedule(SimDuration.FromNanoseconds(9), rec, 2);
        Assert.That(sim.Peek(), Is.EqualTo(new SimTime(7)));
        sim.Step();
        Assert.That(rec.Calls.Count, Is.EqualTo(1));
        Assert.That(sim.Peek(), Is.EqualTo(new SimTime(9)));
        Assert.That(sim.PendingEvents, Is.EqualTo(1));
        sim.Step();
        Assert.Throws<InvalidOperationException>(() => sim.Step());
    }

    [Test]
    public void RunEvent_ReturnsItsValue_AndLeavesLaterEventsPending()
    {
        var sim = new Simulation();
        var stop = sim.Timeout(SimDuration.FromNanoseconds(5), "done");
        var later = sim.Timeout(SimDuration.FromNanoseconds(8));
        Assert.That(sim.Run(stop), Is.EqualTo("done"));
        Assert.That(sim.NowNs, Is.EqualTo(5));
        Assert.That(later.IsProcessed, Is.False);
    }

    [Test]
    public void RunEvent_NeverTriggered_ThrowsWhenQueueEmpties()
    {
        var sim = new Simulation();
        sim.Timeout(SimDuration.FromNanoseconds(5));
        Assert.Throws<InvalidOperationException>(() => sim.Run(sim.Event()));
    }

    [Test]
    public void ScheduledAction_RunsAtItsTime()
    {
        var sim = new Simulation();
        long seenNs = -1;
        sim.Schedule(SimDuration.FromMicroseconds(2), () => seenNs = sim.NowNs);
        sim.Run();
        Assert.That(seenNs, Is.EqualTo(2_000));
    }

    [Test]
    public void UnhandledFailedEvent_EndsTheRunWithItsError()
    {
        var sim = new Simulation();
        var rec = new Recorder(sim);
        sim.Event().Fail(new InvalidDataException("boom"));
        sim.Schedule(SimDuration.FromNanoseconds(1), rec, 1);
        var ex = Assert.Throws<SimulationException>(() => sim.Run());
        Assert.That(ex!.InnerException, Is.TypeOf<InvalidDataException>());
        Assert.That(rec.Calls, Is.Empty);
    }

    [Test]
    public void DefusedFailedEvent_DoesNotEndTheRun()
    {
        var sim = new Simulation();
        var e = sim.Event();
        e.IsDefused = true;
        e.Fail(new InvalidDataException("boom"));
        Assert.DoesNotThrow(() => sim.Run());
        Assert.That(e.IsProcessed && !e.IsOk, Is.True);
    }

    [Test]
    public void Event_SucceedTwice_Throws_AndCallbacksRunInOrder()
    {
        var sim = new Simulation();
        var e = sim.Event();
        var order = new List<int>();
        e.AddCallback(_ => order.Add(1));
        e.AddCallback(_ => order.Add(2));
        Action<Event> removed = _ => order.Add(99);
        e.AddCallback(removed);
        e.RemoveCallback(removed);
        e.AddCallback(_ => order.Add(3));
        e.Succeed(5);
        Assert.Throws<InvalidOperationException>(() => e.Succeed());
        sim.Run();
        Assert.That(order, Is.EqualTo(new[] { 1, 2, 3 }));
        Assert.That(e.Value, Is.EqualTo(5));
        Assert.Throws<InvalidOperationException>(() => e.AddCallback(_ => { }));
    }

    [Test]
    public void ZeroDelayEntries_RunAfterThoseAlreadyDueNow_AndPrioritizedTimeoutsJumpAhead()
    {
        var sim = new Simulation();
        var order = new List<string>();
        sim.Schedule(SimDuration.FromNanoseconds(5), () =>
        {
            sim.Timeout(SimDuration.Zero).AddCallback(_ => order.Add("zero-timeout"));
            sim.Schedule(SimDuration.Zero, () => order.Add("zero-action"));
            sim.Timeout(SimDuration.Zero, null, priority: -1).AddCallback(_ => order.Add("urgent-timeout"));
        });
        sim.Schedule(SimDuration.FromNanoseconds(5), () => order.Add("already-due"));
        sim.Run();
        Assert.That(order, Is.EqualTo(new[] { "urgent-timeout", "already-due", "zero-timeout", "zero-action" }));
        Assert.That(sim.NowNs, Is.EqualTo(5));
    }
}
