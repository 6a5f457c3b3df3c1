#pragma warning disable NUnit1027 // FsCheck generates the arguments of [FsCheckProperty] methods
using FsCheckProperty = FsCheck.NUnit.PropertyAttribute;
using NUnit.Framework;
using Simulator.Kernel;

namespace Simulator.Kernel.Tests;

public sealed class ResourceTest
{
    private static SimDuration Ms(double ms) => SimDuration.FromMilliseconds(ms);

    private static IEnumerable<Event> Customer(Simulation sim, Resource res, double holdMs, List<(int Id, double Ms)> done, int id)
    {
        using (var req = res.Request())
        {
            yield return req;
            yield return sim.Timeout(Ms(holdMs));
        }
        done.Add((id, sim.Now.Milliseconds));
    }

    [Test]
    public void CapacityTwo_FiveCustomers_ServedTwoAtATimeInArrivalOrder()
    {
        var sim = new Simulation();
        var res = new Resource(sim, capacity: 2);
        var done = new List<(int Id, double Ms)>();
        for (int i = 0; i < 5; i++) sim.Process(Customer(sim, res, 10, done, i));
        sim.Run();
        Assert.That(done, Is.EqualTo(new[] { (0, 10.0), (1, 10.0), (2, 20.0), (3, 20.0), (4, 30.0) }));
        Assert.That(res.InUse, Is.EqualTo(0));
        Assert.That(res.GrantedCount, Is.EqualTo(5));
    }

    [Test]
    public void UsingBlock_ReleasesTheSlot_EvenWhenTheProcessFails()
    {
        var sim = new Simulation();
        var res = new Resource(sim);
        IEnumerable<Event> Failing()
        {
            using var req = res.Request();
            yield return req;
            yield return sim.Timeout(Ms(1));
            throw new InvalidDataException("crash while holding");
        }
        var p = sim.Process(Failing());
        p.IsDefused = true;
        sim.Run();
        Assert.That(p.IsOk, Is.False);
        Assert.That(res.InUse, Is.EqualTo(0));
    }

    [Test]
    public void DisposingAWaitingRequest_WithdrawsIt()
    {
        var sim = new Simulation();
        var res = new Resource(sim);
        var first = res.Request();
        var second = res.Request();
        var third = res.Request();
        Assert.That(res.WaitingCount, Is.EqualTo(2));
        second.Dispose();
        Assert.That(second.State, Is.EqualTo(ResourceRequestState.Cancelled));
        res.Release(first);
        sim.Run();
        Assert.That(third.State, Is.EqualTo(ResourceRequestState.Granted));
        Assert.That(second.IsTriggered, Is.False);
        Assert.That(res.WaitingCount, Is.EqualTo(0));
    }

    [Test]
    public void Release_NotGranted_Throws()
    {
        var sim = new Simulation();
        var res = new Resource(sim);
        res.Request();
        var waiting = res.Request();
        Assert.Throws<InvalidOperationException>(() => res.Release(waiting));
        var other = new Resource(sim).Request();
        Assert.Throws<ArgumentException>(() => res.Release(other));
    }

    [Test]
    public void PriorityResource_ServesLowerPriorityValueFirst_TiesFifo()
    {
        var sim = new Simulation();
        var res = new PriorityResource(sim);
        var order = new List<string>();
        IEnumerable<Event> User(string name, int priority, double arriveMs)
        {
            yield return sim.Timeout(Ms(arriveMs));
            using var req = res.Request(priority);
            yield return req;
            order.Add(name);
            yield return sim.Timeout(Ms(10));
        }
        sim.Process(User("holder", 0, 0));
        sim.Process(User("low-a", 5, 1));
        sim.Process(User("high", 1, 2));
        sim.Process(User("low-b", 5, 3));
        sim.Run();
        Assert.That(order, Is.EqualTo(new[] { "holder", "high", "low-a", "low-b" }));
    }

    [Test]
    public void Monitors_RecordUtilizationQueueLengthAndWaits()
    {
        var sim = new Simulation();
        var res = new Resource(sim)
        {
            Utilization = new TimeSeriesMonitor(sim, "utilization"),
            QueueLength = new TimeSeriesMonitor(sim, "queue"),
            WaitingTimeNs = new SampleMonitor("wait_ns"),
        };
        var done = new List<(int, double)>();
        // Two customers of 10 ms each at t=0, then idle until t=40 ms.
        sim.Process(Customer(sim, res, 10, done, 0));
        sim.Process(Customer(sim, res, 10, done, 1));
        sim.Run(SimTime.FromMilliseconds(40));
        Assert.That(res.Utilization.Mean, Is.EqualTo(0.5).Within(1e-12));          // busy 20 of 40 ms
        Assert.That(res.QueueLength.Mean, Is.EqualTo(10.0 / 40).Within(1e-12));   // one waiting for 10 of 40 ms
        Assert.That(res.QueueLength.Max, Is.EqualTo(1));
        Assert.That(res.WaitingTimeNs.Count, Is.EqualTo(2));
        Assert.That(res.WaitingTimeNs.Max, Is.EqualTo(10e6));
        Assert.That(res.WaitingTimeNs.Mean, Is.EqualTo(5e6));
    }

    [FsCheckProperty(MaxTest = 100)]
    public bool Resource_NeverServesMoreThanItsCapacity(byte capacitySeed, byte[] arrivalsMs, byte[] holdsMs)
    {
        int capacity = capacitySeed % 4 + 1;
        var sim = new Simulation();
        var res = new Resource(sim, capacity);
        int holding = 0, maxHolding = 0, served = 0;
        bool inUseOk = true;
        IEnumerable<Event> User(int arriveMs, int holdMs)
        {
            yield return sim.Timeout(Ms(arriveMs));
            using (var req = res.Request())
            {
                yield return req;
                holding++;
                maxHolding = Math.Max(maxHolding, holding);
                inUseOk &= res.InUse <= res.Capacity;
                yield return sim.Timeout(Ms(holdMs));
                holding--;
            }
            served++;
        }
        for (int i = 0; i < arrivalsMs.Length; i++)
            sim.Process(User(arrivalsMs[i] % 20, holdsMs.Length == 0 ? 1 : holdsMs[i % holdsMs.Length] % 7));
        sim.Run();
        return maxHolding <= capacity && inUseOk && served == arrivalsMs.Length && res.InUse == 0;
    }

    [Test]
    public void MM1Queue_MatchesQueueingTheory_ForWaitAndUtilization()
    {
        // M/M/1 with arrival rate 0.5/s and service rate 1/s: utilization 0.5, mean wait in queue
        // rho / (mu - lambda) = 1 s, mean number waiting rho^2 / (1 - rho) = 0.5.
        const double lambda = 0.5, mu = 1.0;
        var sim = new Simulation(2024);
        var server = new Resource(sim)
        {
            Utilization = new TimeSeriesMonitor(sim, "utilization"),
            QueueLength = new TimeSeriesMonitor(sim, "queue"),
            WaitingTimeNs = new SampleMonitor("wait_ns", keepSamples: false),
        };
        var arrivals = sim.Streams.Get("arrivals");
        var service = sim.Streams.Get("service");
        IEnumerable<Event> Customer()
        {
            using var req = server.Request();
            yield return req;
            yield return sim.Timeout(SimDuration.FromSeconds(MathNet.Numerics.Distributions.Exponential.Sample(service, mu)));
        }
        IEnumerable<Event> Source()
        {
            for (int i = 0; i < 200_000; i++)
            {
                yield return sim.Timeout(SimDuration.FromSeconds(MathNet.Numerics.Distributions.Exponential.Sample(arrivals, lambda)));
                sim.Process(Customer());
            }
        }
        sim.Process(Source());
        sim.Run();
        Assert.That(server.Utilization.Mean, Is.EqualTo(lambda / mu).Within(0.02));
        Assert.That(server.WaitingTimeNs.Mean / 1e9, Is.EqualTo(1.0).Within(0.08));
        Assert.That(server.QueueLength.Mean, Is.EqualTo(0.5).Within(0.05));
    }
}
