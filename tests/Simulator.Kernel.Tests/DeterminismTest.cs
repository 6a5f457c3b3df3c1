#pragma warning disable NUnit1027 // FsCheck generates the arguments of [FsCheckProperty] methods
using FsCheckProperty = FsCheck.NUnit.PropertyAttribute;
using MathNet.Numerics.Distributions;
using NUnit.Framework;
using Simulator.Kernel;

namespace Simulator.Kernel.Tests;

public sealed class DeterminismTest
{
    /// <summary>An M/M/2 queue whose customers log (time, id, what) as they go.</summary>
    private static List<string> RunMmc(int seed, int customers)
    {
        var sim = new Simulation(seed);
        var servers = new Resource(sim, 2);
        var arrivals = sim.Streams.Get("arrivals");
        var service = sim.Streams.Get("service");
        var log = new List<string>();
        IEnumerable<Event> Customer(int id)
        {
            log.Add($"{sim.NowNs} {id} arrive");
            using (var req = servers.Request())
            {
                yield return req;
                log.Add($"{sim.NowNs} {id} start");
                yield return sim.Timeout(SimDuration.FromSeconds(Exponential.Sample(service, 1.0)));
            }
            log.Add($"{sim.NowNs} {id} leave");
        }
        IEnumerable<Event> Source()
        {
            for (int i = 0; i < customers; i++)
            {
                yield return sim.Timeout(SimDuration.FromSeconds(Exponential.Sample(arrivals, 1.8)));
                sim.Process(Customer(i));
            }
        }
        sim.Process(Source());
        sim.Run();
        log.Add($"events {sim.ProcessedEvents}");
        return log;
    }

    [Test]
    public void SameSeed_GivesTheSameEventSequence()
    {
        var first = RunMmc(1, 500);
        var second = RunMmc(1, 500);
        Assert.That(second, Is.EqualTo(first));
    }

    [Test]
    public void DifferentSeed_GivesADifferentEventSequence()
    {
        Assert.That(RunMmc(1, 200), Is.Not.EqualTo(RunMmc(2, 200)));
    }

    [FsCheckProperty(MaxTest = 100)]
    public bool Clock_NeverGoesBackwards(ushort[] delays, byte fanout)
    {
        var sim = new Simulation();
        long last = 0;
        bool monotone = true;
        int budget = 2_000;
        int branch = fanout % 3 + 1;
        int next = 0;
        void Fire()
        {
            monotone &= sim.NowNs >= last;
            last = sim.NowNs;
            // Each firing schedules more entries with arbitrary non-negative delays, some zero.
            for (int k = 0; k < branch && budget-- > 0 && delays.Length > 0; k++)
                sim.Schedule(SimDuration.FromNanoseconds(delays[next++ % delays.Length] % 5), Fire, priority: k % 2);
        }
        sim.Schedule(SimDuration.Zero, Fire);
        sim.Run();
        return monotone;
    }

    private sealed class ModelChecker : IEventHandler
    {
        private readonly Simulation _sim;
        private readonly byte[] _delays;
        private readonly sbyte[] _priorities;
        private readonly SortedSet<(long TimeNs, int Priority, long Seq)> _pending = new();
        private readonly Dictionary<long, int> _priorityOf = new();
        private long _seq;
        private int _budget = 3_000;

        public ModelChecker(Simulation sim, byte[] delays, sbyte[] priorities)
        {
            _sim = sim;
            _delays = delays;
            _priorities = priorities;
        }

        public bool Ok { get; private set; } = true;

        public int Fired { get; private set; }

        public void ScheduleOne()
        {
            if (_budget-- <= 0 || _delays.Length == 0) return;
            long seq = _seq++;
            long delayNs = _delays[seq % _delays.Length] % 4; // many zero delays and ties
            int priority = _priorities.Length == 0 ? 0 : _priorities[seq % _priorities.Length] % 2;
            _pending.Add((_sim.NowNs + delayNs, priority, seq));
            _priorityOf[seq] = priority;
            _sim.ScheduleNs(delayNs, this, seq, priority);
        }

        public void Handle(long token)
        {
            Fired++;
            var expected = _pending.Min;
            Ok &= expected == (_sim.NowNs, _priorityOf[token], token);
            _pending.Remove(expected);
            for (int k = 0; k < 1 + (int)(token % 2); k++) ScheduleOne();
        }
    }

    [FsCheckProperty(MaxTest = 100)]
    public bool AnyDynamicSchedule_FiresTheSmallestPendingEntryEachTime(byte[] delays, sbyte[] priorities)
    {
        var sim = new Simulation();
        var checker = new ModelChecker(sim, delays, priorities);
        for (int i = 0; i < 5; i++) checker.ScheduleOne();
        sim.Run();
        return checker.Ok && sim.PendingEvents == 0;
    }
}
