using BenchmarkDotNet.Attributes;
using Simulator.Kernel;

namespace Simulator.Benchmarks.Kernel;

/// <summary>
/// Cost of one event on the fast path with a given number of pending events (the "hold" model:
/// each processed entry schedules one more with a random delay, so the queue size stays constant).
/// </summary>
[MemoryDiagnoser]
public class QueueBenchmarks
{
    private const int EventsPerInvoke = 100_000;
    private Simulation _sim = null!;
    private Rescheduler _handler = null!;

    [Params(1, 10, 100, 1_000, 10_000)]
    public int PendingEvents { get; set; }

    private sealed class Rescheduler : IEventHandler
    {
        private readonly Simulation _sim;
        private readonly long[] _delaysNs;
        private int _next;

        public Rescheduler(Simulation sim, int seed)
        {
            _sim = sim;
            var random = new RandomStreams(seed).Get("delays");
            _delaysNs = Enumerable.Range(0, 4096).Select(_ => 1 + random.NextInt64(1_000_000)).ToArray();
        }

        public long NextDelayNs() => _delaysNs[_next++ & 4095];

        public void Handle(long token) => _sim.ScheduleNs(NextDelayNs(), this, token);
    }

    [GlobalSetup]
    public void Setup()
    {
        _sim = new Simulation(1);
        _handler = new Rescheduler(_sim, 1);
        for (int i = 0; i < PendingEvents; i++) _sim.ScheduleNs(_handler.NextDelayNs(), _handler, i);
    }

    [Benchmark(OperationsPerInvoke = EventsPerInvoke)]
    public void HoldOneEvent()
    {
        for (int i = 0; i < EventsPerInvoke; i++) _sim.Step();
    }
}

/// <summary>Cost of creating a process and running it through one timeout to its end.</summary>
[MemoryDiagnoser]
public class ProcessBenchmarks
{
    private const int Processes = 1_000;

    private static IEnumerable<Event> OneTimeout(Simulation sim, SimDuration delay)
    {
        yield return sim.Timeout(delay);
    }

    [Benchmark(OperationsPerInvoke = Processes)]
    public long CreateAndRunProcess()
    {
        var sim = new Simulation(1);
        for (int i = 0; i < Processes; i++) sim.Process(OneTimeout(sim, SimDuration.FromNanoseconds(i)));
        sim.Run();
        return sim.ProcessedEvents;
    }

    [Benchmark(OperationsPerInvoke = Processes)]
    public long CreateAndRunFastPathCallback()
    {
        var sim = new Simulation(1);
        var handler = new NoOpHandler();
        for (int i = 0; i < Processes; i++) sim.ScheduleNs(i, handler, i);
        sim.Run();
        return sim.ProcessedEvents;
    }

    private sealed class NoOpHandler : IEventHandler
    {
        public void Handle(long token) { }
    }
}

/// <summary>Cost of seizing and releasing a resource slot, directly and from processes.</summary>
[MemoryDiagnoser]
public class ResourceBenchmarks
{
    private const int Operations = 1_000;

    [Params(1, 16)]
    public int Capacity { get; set; }

    [Benchmark(OperationsPerInvoke = Operations)]
    public long SeizeRelease_Direct()
    {
        var sim = new Simulation(1);
        var res = new Resource(sim, Capacity);
        for (int i = 0; i < Operations; i++)
        {
            var req = res.Request();
            res.Release(req);
        }
        sim.Run();
        return sim.ProcessedEvents;
    }

    private static IEnumerable<Event> User(Simulation sim, Resource res)
    {
        using (var req = res.Request())
        {
            yield return req;
            yield return sim.Timeout(SimDuration.FromNanoseconds(10));
        }
    }

    [Benchmark(OperationsPerInvoke = Operations)]
    public long SeizeHoldRelease_Processes()
    {
        var sim = new Simulation(1);
        var res = new Resource(sim, Capacity);
        for (int i = 0; i < Operations; i++) sim.Process(User(sim, res));
        sim.Run();
        return sim.ProcessedEvents;
    }
}
