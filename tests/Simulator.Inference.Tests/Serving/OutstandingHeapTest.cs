// FsCheck supplies the arguments of [FsProperty] methods; NUnit's analyzer cannot see that.
#pragma warning disable NUnit1027
using NUnit.Framework;
using FsProperty = FsCheck.NUnit.PropertyAttribute;
using Simulator.Inference.Serving;
using Simulator.Kernel;
using Request = Simulator.Inference.Workload.Request;

namespace Simulator.Inference.Tests.Serving;

public sealed class OutstandingHeapTest
{
    private sealed class Load : IReplicaLoad
    {
        public int Outstanding { get; set; }
        public double KvUtilization => 0;
    }

    private static readonly Request AnyRequest = new(0, 0, 10, 10);

    [FsProperty(MaxTest = 200)]
    public void TrackedLeastOutstanding_PicksExactlyWhatTheScanPicks(int seed, byte size, byte steps)
    {
        var random = new StreamRandom((ulong)(uint)seed);
        int n = 1 + size % 40;
        var loads = Enumerable.Range(0, n).Select(_ => new Load { Outstanding = random.Next(4) }).ToList();
        var router = new LeastOutstandingRouter();
        router.Track(loads);
        for (int step = 0; step < 20 + steps * 4; step++)
        {
            // Like a serving run: the pick gets a request; replicas finish some (small counts, so ties are common).
            int pick = router.Route(AnyRequest, loads);
            Assert.That(pick, Is.EqualTo(LeastOutstandingRouter.Scan(loads)), $"step {step}");
            loads[pick].Outstanding++;
            router.LoadChanged(pick);
            int changes = random.Next(3);
            for (int c = 0; c < changes; c++)
            {
                int p = random.Next(n);
                loads[p].Outstanding = Math.Max(0, loads[p].Outstanding + random.Next(3) - 1);
                router.LoadChanged(p);
                if (random.Next(2) == 0) router.LoadChanged(p); // told twice: still one re-read
            }
        }
    }

    [Test]
    public void TrackedLeastOutstanding_OverAnotherList_Scans()
    {
        var tracked = new List<Load> { new() { Outstanding = 0 }, new() { Outstanding = 1 } };
        var router = new LeastOutstandingRouter();
        router.Track(tracked);
        var other = new IReplicaLoad[] { new Load { Outstanding = 5 }, new Load { Outstanding = 2 }, new Load { Outstanding = 2 } };
        Assert.That(router.Route(AnyRequest, other), Is.EqualTo(1));
        Assert.That(router.Route(AnyRequest, tracked), Is.EqualTo(0));
    }

    [Test]
    public void Heap_TieOnFewest_GoesToLowestPosition()
    {
        var loads = new List<Load> { new() { Outstanding = 3 }, new() { Outstanding = 1 }, new() { Outstanding = 1 } };
        var heap = new OutstandingHeap(loads);
        Assert.That(heap.Top(), Is.EqualTo(1));
        loads[1].Outstanding = 2;
        heap.MarkChanged(1);
        Assert.That(heap.Top(), Is.EqualTo(2));
        loads[0].Outstanding = 1;
        heap.MarkChanged(0);
        Assert.That(heap.Top(), Is.EqualTo(0));
    }
}
