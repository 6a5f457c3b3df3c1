using NUnit.Framework;
using Simulator.Kernel;

namespace Simulator.Kernel.Tests;

public sealed class ProcessTest
{
    private static SimDuration Ms(double ms) => SimDuration.FromMilliseconds(ms);

    [Test]
    public void YieldedTimeout_ResumesAtItsTime_WithItsValue()
    {
        var sim = new Simulation();
        var log = new List<(double Ms, object? Value)>();
        IEnumerable<Event> Body()
        {
            yield return sim.Timeout(Ms(5), "a");
            log.Add((sim.Now.Milliseconds, sim.ActiveProcess!.Target.Value));
            yield return sim.Timeout(Ms(2), 7);
            log.Add((sim.Now.Milliseconds, sim.ActiveProcess!.Target.Value));
        }
        sim.Process(Body());
        sim.Run();
        Assert.That(log, Is.EqualTo(new (double, object?)[] { (5.0, "a"), (7.0, 7) }));
    }

    [Test]
    public void ProcessEnd_IsAnEvent_CarryingItsReturnValue()
    {
        var sim = new Simulation();
        object? received = null;
        double receivedAtMs = -1;
        IEnumerable<Event> Child()
        {
            yield return sim.Timeout(Ms(3));
            sim.ActiveProcess!.SetReturnValue(42);
        }
        IEnumerable<Event> Parent()
        {
            var child = sim.Process(Child());
            yield return child;
            received = sim.ActiveProcess!.Target.Value;
            receivedAtMs = sim.Now.Milliseconds;
        }
        var parent = sim.Process(Parent());
        sim.Run();
        Assert.That(received, Is.EqualTo(42));
        Assert.That(receivedAtMs, Is.EqualTo(3.0));
        Assert.That(parent.IsProcessed && parent.IsOk && !parent.IsAlive, Is.True);
    }

    [Test]
    public void YieldingAnAlreadyProcessedEvent_ContinuesAtOnceWithItsValue()
    {
        var sim = new Simulation();
        var done = sim.Timeout(Ms(1), "early");
        object? seen = null;
        IEnumerable<Event> Body()
        {
            yield return sim.Timeout(Ms(5));
            yield return done;
            seen = sim.ActiveProcess!.Target.Value;
        }
        sim.Process(Body());
        sim.Run();
        Assert.That(seen, Is.EqualTo("early"));
        Assert.That(sim.NowNs, Is.EqualTo(5_000_000));
    }

    [Test]
    public void FailedChild_UnhandledByParent_EndsTheRunWithTheChildError()
    {
        var sim = new Simulation();
        IEnumerable<Event> Child()
        {
            yield return sim.Timeout(Ms(1));
            throw new InvalidDataException("child failed");
        }
        IEnumerable<Event> Parent()
        {
            yield return sim.Process(Child());
        }
        sim.Process(Parent());
        var ex = Assert.Throws<SimulationException>(() => sim.Run());
        Assert.That(ex!.InnerException!.Message, Is.EqualTo("child failed"));
    }

    [Test]
    public void FailedChild_HandledByParent_LetsTheParentGoOn()
    {
        var sim = new Simulation();
        string? caught = null;
        IEnumerable<Event> Child()
        {
            yield return sim.Timeout(Ms(1));
            throw new InvalidDataException("child failed");
        }
        IEnumerable<Event> Parent()
        {
            yield return sim.Process(Child());
            var me = sim.ActiveProcess!;
            if (me.HandleFault()) caught = me.Target.Exception!.Message;
            yield return sim.Timeout(Ms(1));
        }
        var parent = sim.Process(Parent());
        sim.Run();
        Assert.That(caught, Is.EqualTo("child failed"));
        Assert.That(parent.IsOk, Is.True);
        Assert.That(sim.NowNs, Is.EqualTo(2_000_000));
    }

    [Test]
    public void Interrupt_WakesTheWaitingProcessAtOnce_WithTheCause()
    {
        var sim = new Simulation();
        var log = new List<string>();
        IEnumerable<Event> Worker()
        {
            yield return sim.Timeout(Ms(100));
            var me = sim.ActiveProcess!;
            if (me.HandleFault() && me.Target.Exception is InterruptException ie)
                log.Add($"interrupted at {sim.Now.Milliseconds} by {ie.Cause}");
            yield return sim.Timeout(Ms(1));
            log.Add($"done at {sim.Now.Milliseconds}");
        }
        var worker = sim.Process(Worker());
        IEnumerable<Event> Boss()
        {
            yield return sim.Timeout(Ms(3));
            worker.Interrupt("preempt");
        }
        sim.Process(Boss());
        sim.Run();
        Assert.That(log, Is.EqualTo(new[] { "interrupted at 3 by preempt", "done at 4" }));
    }

    [Test]
    public void Interrupt_NotHandled_FailsTheProcess()
    {
        var sim = new Simulation();
        IEnumerable<Event> Worker() { yield return sim.Timeout(Ms(100)); }
        var worker = sim.Process(Worker());
        sim.Schedule(Ms(1), () => worker.Interrupt());
        Assert.Throws<SimulationException>(() => sim.Run());
        Assert.That(worker.IsOk, Is.False);
    }

    [Test]
    public void Interrupt_FinishedProcess_Throws()
    {
        var sim = new Simulation();
        IEnumerable<Event> Quick() { yield return sim.Timeout(Ms(1)); }
        var p = sim.Process(Quick());
        sim.Run();
        Assert.Throws<InvalidOperationException>(() => p.Interrupt());
    }

    [Test]
    public void AllOf_ResumesWhenEveryEventIsDone_WithAllValues()
    {
        var sim = new Simulation();
        double atMs = -1;
        IReadOnlyDictionary<Event, object?>? values = null;
        Timeout? a = null, b = null;
        IEnumerable<Event> Body()
        {
            a = sim.Timeout(Ms(2), "a");
            b = sim.Timeout(Ms(5), "b");
            yield return a & b;
            atMs = sim.Now.Milliseconds;
            values = (IReadOnlyDictionary<Event, object?>)sim.ActiveProcess!.Target.Value!;
        }
        sim.Process(Body());
        sim.Run();
        Assert.That(atMs, Is.EqualTo(5.0));
        Assert.That(values![a!], Is.EqualTo("a"));
        Assert.That(values[b!], Is.EqualTo("b"));
    }

    [Test]
    public void AnyOf_ResumesAtTheFirstEvent()
    {
        var sim = new Simulation();
        double atMs = -1;
        IEnumerable<Event> Body()
        {
            yield return sim.Timeout(Ms(2)) | sim.Timeout(Ms(5));
            atMs = sim.Now.Milliseconds;
        }
        sim.Process(Body());
        sim.Run();
        Assert.That(atMs, Is.EqualTo(2.0));
        Assert.That(sim.NowNs, Is.EqualTo(5_000_000)); // the other timeout still ran
    }

    [Test]
    public void AllOf_Empty_SucceedsAtOnce()
    {
        var sim = new Simulation();
        var all = sim.AllOf();
        sim.Run();
        Assert.That(all.IsProcessed && all.IsOk, Is.True);
        Assert.That(sim.NowNs, Is.EqualTo(0));
    }

    [Test]
    public void AllOf_OneFails_FailsTheCondition()
    {
        var sim = new Simulation();
        var bad = sim.Event();
        var cond = sim.AllOf(sim.Timeout(Ms(1)), bad);
        cond.IsDefused = true;
        bad.Fail(new InvalidDataException("x"));
        sim.Run();
        Assert.That(cond.IsOk, Is.False);
        Assert.That(cond.Exception, Is.TypeOf<InvalidDataException>());
    }

    [Test]
    public void ProcessesStartedTogether_RunInCreationOrder()
    {
        var sim = new Simulation();
        var order = new List<int>();
        IEnumerable<Event> P(int id)
        {
            order.Add(id);
            yield return sim.Timeout(Ms(1));
            order.Add(id + 10);
        }
        for (int i = 0; i < 3; i++) sim.Process(P(i));
        sim.Run();
        Assert.That(order, Is.EqualTo(new[] { 0, 1, 2, 10, 11, 12 }));
    }

    [Test]
    public void YieldingNull_FailsTheProcess()
    {
        var sim = new Simulation();
        IEnumerable<Event> Bad() { yield return null!; }
        var p = sim.Process(Bad());
        bool handled = false;
        IEnumerable<Event> Watcher() { yield return p; handled = sim.ActiveProcess!.HandleFault(); }
        sim.Process(Watcher());
        sim.Run();
        Assert.That(handled, Is.True);
        Assert.That(p.Exception, Is.TypeOf<InvalidOperationException>());
    }

    [Test]
    public void Interrupt_WhileQueuedForAResource_WithdrawsTheRequestOnLeavingTheUsingBlock()
    {
        var sim = new Simulation();
        var res = new Resource(sim);
        var holder = res.Request();
        ResourceRequest? queued = null;
        IEnumerable<Event> Waiter()
        {
            using (var req = res.Request())
            {
                queued = req;
                yield return req;
                if (sim.ActiveProcess!.HandleFault()) yield break;
            }
        }
        var waiter = sim.Process(Waiter());
        sim.Schedule(Ms(1), () => waiter.Interrupt("give up"));
        sim.Run();
        Assert.That(queued!.State, Is.EqualTo(ResourceRequestState.Cancelled));
        Assert.That(res.WaitingCount, Is.EqualTo(0));
        res.Release(holder);
        sim.Run();
        Assert.That(res.InUse, Is.EqualTo(0));
    }

    [Test]
    public void CallbacksAndWaitingProcesses_RunInTheOrderTheyWereAdded()
    {
        var sim = new Simulation();
        var e = sim.Event();
        var order = new List<string>();
        e.AddCallback(_ => order.Add("callback-before"));
        IEnumerable<Event> Waiter(string name)
        {
            yield return e;
            order.Add(name);
        }
        sim.Process(Waiter("process-1"));
        sim.Process(Waiter("process-2"));
        sim.Run();
        e.AddCallback(_ => order.Add("callback-after"));
        e.Succeed();
        sim.Run();
        Assert.That(order, Is.EqualTo(new[] { "callback-before", "process-1", "process-2", "callback-after" }));
    }

    [Test]
    public void FirstWaiterUsesTheDirectSlot_LaterCallbacksStillRunAfterIt()
    {
        var sim = new Simulation();
        var e = sim.Event();
        var order = new List<string>();
        IEnumerable<Event> Waiter()
        {
            yield return e;
            order.Add("process");
        }
        sim.Process(Waiter());
        sim.Run();
        e.AddCallback(_ => order.Add("callback"));
        e.Succeed();
        sim.Run();
        Assert.That(order, Is.EqualTo(new[] { "process", "callback" }));
    }
}
