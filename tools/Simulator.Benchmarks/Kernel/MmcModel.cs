using Simulator.Kernel;

namespace Simulator.Benchmarks.Kernel;

/// <summary>
/// A closed M/M/c queue ("machine repair" model): each of <see cref="Customers"/> customers thinks for an
/// exponential time, then queues for one of <see cref="Servers"/> servers and is served for an exponential
/// time, forever. With 10,000 customers about 10,000 events are pending at any time.
/// </summary>
public sealed record MmcParameters(int Customers, int Servers, long ThinkMeanNs, long ServiceMeanNs, int Seed)
{
    /// <summary>The load the quick mode uses: 10,000 customers, 16 servers, about 63% busy.</summary>
    public static MmcParameters Default { get; } = new(10_000, 16, 1_000_000_000, 1_000_000, 1);
}

/// <summary>Exponential draws in integer nanoseconds, the same in every variant so they compare fairly.</summary>
internal static class Exp
{
    public static long SampleNs(StreamRandom random, long meanNs) => 1 + (long)(-Math.Log(1.0 - random.NextDouble()) * meanNs);
}

/// <summary>The M/M/c model written with processes, a <see cref="Resource"/> and timeouts (SimSharp style).</summary>
public sealed class ProcessMmc
{
    private readonly MmcParameters _p;
    private readonly Simulation _sim;
    private readonly Resource _servers;
    private readonly StreamRandom _think;
    private readonly StreamRandom _service;

    public ProcessMmc(MmcParameters parameters)
    {
        _p = parameters;
        _sim = new Simulation(parameters.Seed);
        _servers = new Resource(_sim, parameters.Servers);
        _think = _sim.Streams.Get("think");
        _service = _sim.Streams.Get("service");
        for (int i = 0; i < parameters.Customers; i++) _sim.Process(Customer());
    }

    public Simulation Simulation => _sim;

    public long Served { get; private set; }

    private IEnumerable<Event> Customer()
    {
        while (true)
        {
            yield return _sim.Timeout(SimDuration.FromNanoseconds(Exp.SampleNs(_think, _p.ThinkMeanNs)));
            using (var request = _servers.Request())
            {
                yield return request;
                yield return _sim.Timeout(SimDuration.FromNanoseconds(Exp.SampleNs(_service, _p.ServiceMeanNs)));
            }
            Served++;
        }
    }

    /// <summary>Runs until at least <paramref name="events"/> more entries were processed.</summary>
    public void RunEvents(long events)
    {
        long target = _sim.ProcessedEvents + events;
        var chunk = SimDuration.FromMilliseconds(100);
        while (_sim.ProcessedEvents < target) _sim.Run(chunk);
    }
}

/// <summary>The same M/M/c model on the allocation-free fast path: one handler, the customer id in the token.</summary>
public sealed class FastPathMmc : IEventHandler
{
    private const long ServiceEndFlag = 1;
    private readonly MmcParameters _p;
    private readonly Simulation _sim;
    private readonly StreamRandom _think;
    private readonly StreamRandom _service;
    private readonly Queue<long> _waiting = new();
    private int _busy;

    public FastPathMmc(MmcParameters parameters)
    {
        _p = parameters;
        _sim = new Simulation(parameters.Seed);
        _think = _sim.Streams.Get("think");
        _service = _sim.Streams.Get("service");
        for (long i = 0; i < parameters.Customers; i++) _sim.ScheduleNs(Exp.SampleNs(_think, _p.ThinkMeanNs), this, i << 1);
    }

    public Simulation Simulation => _sim;

    public long Served { get; private set; }

    public void Handle(long token)
    {
        long customer = token >> 1;
        if ((token & ServiceEndFlag) == 0)
        {
            // Thinking ended: seize a server or queue.
            if (_busy < _p.Servers) StartService(customer);
            else _waiting.Enqueue(customer);
        }
        else
        {
            // Service ended: release, serve the next waiting customer, think again.
            _busy--;
            Served++;
            if (_waiting.Count > 0) StartService(_waiting.Dequeue());
            _sim.ScheduleNs(Exp.SampleNs(_think, _p.ThinkMeanNs), this, customer << 1);
        }
    }

    private void StartService(long customer)
    {
        _busy++;
        _sim.ScheduleNs(Exp.SampleNs(_service, _p.ServiceMeanNs), this, (customer << 1) | ServiceEndFlag);
    }

    public void RunEvents(long events)
    {
        long target = _sim.ProcessedEvents + events;
        var chunk = SimDuration.FromMilliseconds(100);
        while (_sim.ProcessedEvents < target) _sim.Run(chunk);
    }
}

/// <summary>
/// The physical reference: a bare <see cref="PriorityQueue{TElement, TPriority}"/> of (time, insertion) keys with
/// the same number of pending entries, popping one and pushing one with an exponential delay per event.
/// </summary>
public sealed class ReferenceQueueLoop
{
    private readonly PriorityQueue<int, (long TimeNs, long Insertion)> _queue = new();
    private readonly StreamRandom _random;
    private readonly long _meanNs;
    private long _insertion;

    public ReferenceQueueLoop(int pending, long meanNs, int seed)
    {
        _random = new RandomStreams(seed).Get("reference");
        _meanNs = meanNs;
        for (int i = 0; i < pending; i++) _queue.Enqueue(i, (Exp.SampleNs(_random, meanNs), _insertion++));
    }

    public long NowNs { get; private set; }

    public void RunEvents(long events)
    {
        for (long n = 0; n < events; n++)
        {
            _queue.TryDequeue(out int id, out var key);
            NowNs = key.TimeNs;
            _queue.Enqueue(id, (key.TimeNs + Exp.SampleNs(_random, _meanNs), _insertion++));
        }
    }
}
