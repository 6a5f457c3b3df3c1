using NUnit.Framework;
using Simulator.Kernel;

namespace Simulator.Kernel.Tests;

public sealed class StoreTest
{
    private static SimDuration Ms(double ms) => SimDuration.FromMilliseconds(ms);

    private sealed record Job(int Id);

    [Test]
    public void Get_OnEmptyStore_WaitsForThePut_AndReceivesTheTypedItem()
    {
        var sim = new Simulation();
        var store = new Store<Job>(sim);
        Job? got = null;
        double atMs = -1;
        IEnumerable<Event> Consumer()
        {
            var get = store.Get();
            yield return get;
            got = get.Item;
            atMs = sim.Now.Milliseconds;
        }
        IEnumerable<Event> Producer()
        {
            yield return sim.Timeout(Ms(4));
            yield return store.Put(new Job(7));
        }
        sim.Process(Consumer());
        sim.Process(Producer());
        sim.Run();
        Assert.That(got, Is.EqualTo(new Job(7)));
        Assert.That(atMs, Is.EqualTo(4.0));
    }

    [Test]
    public void Items_ComeOutFirstInFirstOut()
    {
        var sim = new Simulation();
        var store = new Store<int>(sim);
        for (int i = 0; i < 5; i++) store.Put(i);
        var gets = Enumerable.Range(0, 5).Select(_ => store.Get()).ToList();
        sim.Run();
        Assert.That(gets.Select(g => g.Item), Is.EqualTo(new[] { 0, 1, 2, 3, 4 }));
        Assert.That(gets.Select(g => g.Value), Is.EqualTo(new object[] { 0, 1, 2, 3, 4 }));
    }

    [Test]
    public void BoundedStore_PutWaitsWhileFull()
    {
        var sim = new Simulation();
        var store = new Store<string>(sim, capacity: 1);
        var putTimesMs = new List<double>();
        IEnumerable<Event> Producer()
        {
            foreach (var s in new[] { "a", "b", "c" })
            {
                yield return store.Put(s);
                putTimesMs.Add(sim.Now.Milliseconds);
            }
        }
        IEnumerable<Event> Consumer()
        {
            while (true)
            {
                yield return sim.Timeout(Ms(10));
                yield return store.Get();
            }
        }
        sim.Process(Producer());
        sim.Process(Consumer());
        sim.Run(SimTime.FromMilliseconds(100));
        Assert.That(putTimesMs, Is.EqualTo(new[] { 0.0, 10.0, 20.0 }));
        Assert.That(store.Count, Is.EqualTo(0));
    }

    [Test]
    public void CancelledGet_IsSkipped_AndTheItemGoesToTheNextGetter()
    {
        var sim = new Simulation();
        var store = new Store<int>(sim);
        var first = store.Get();
        var second = store.Get();
        Assert.That(store.Cancel(first), Is.True);
        store.Put(9);
        sim.Run();
        Assert.That(first.IsTriggered, Is.False);
        Assert.That(second.Item, Is.EqualTo(9));
        Assert.That(store.Cancel(second), Is.False);
        Assert.That(store.WaitingGets, Is.EqualTo(0));
    }

    [Test]
    public void GetWithTimeout_ViaAnyOf_CanGiveUp()
    {
        var sim = new Simulation();
        var store = new Store<int>(sim);
        bool gaveUp = false;
        IEnumerable<Event> Impatient()
        {
            var get = store.Get();
            yield return get | sim.Timeout(Ms(5));
            if (!get.IsTriggered)
            {
                store.Cancel(get);
                gaveUp = true;
            }
        }
        sim.Process(Impatient());
        sim.Run();
        store.Put(1);
        sim.Run();
        Assert.That(gaveUp, Is.True);
        Assert.That(store.Count, Is.EqualTo(1));
    }
}
