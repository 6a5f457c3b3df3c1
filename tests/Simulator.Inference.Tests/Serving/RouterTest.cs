using NUnit.Framework;
using Simulator.Inference.Serving;
using Request = Simulator.Inference.Workload.Request;

namespace Simulator.Inference.Tests.Serving;

public sealed class RouterTest
{
    private sealed record Load(int Outstanding, double KvUtilization) : IReplicaLoad;

    private static readonly Request AnyRequest = new(0, 0, 10, 10);

    [Test]
    public void RoundRobin_CyclesThroughReplicasInOrder()
    {
        var router = RouterRegistry.Create("round_robin", 1);
        var loads = new IReplicaLoad[] { new Load(5, 0), new Load(0, 0), new Load(9, 0) };
        var picks = Enumerable.Range(0, 7).Select(_ => router.Route(AnyRequest, loads)).ToArray();
        Assert.That(picks, Is.EqualTo(new[] { 0, 1, 2, 0, 1, 2, 0 }));
    }

    [Test]
    public void LeastOutstanding_PicksFewest_TieGoesToLowestIndex()
    {
        var router = RouterRegistry.Create("least_outstanding", 1);
        Assert.That(router.Route(AnyRequest, [new Load(3, 0), new Load(1, 0), new Load(1, 0)]), Is.EqualTo(1));
        Assert.That(router.Route(AnyRequest, [new Load(2, 0), new Load(2, 0)]), Is.EqualTo(0));
    }

    [Test]
    public void LeastKv_PicksLowestUtilization_ThenFewestOutstanding()
    {
        var router = RouterRegistry.Create("least_kv", 1);
        Assert.That(router.Route(AnyRequest, [new Load(0, 0.5), new Load(9, 0.2), new Load(0, 0.3)]), Is.EqualTo(1));
        Assert.That(router.Route(AnyRequest, [new Load(4, 0.2), new Load(3, 0.2), new Load(3, 0.2)]), Is.EqualTo(1));
    }

    [Test]
    public void PowerOfTwo_ChoosesTheLessLoadedOfTwoDistinctReplicas()
    {
        // Replica 0 is idle, the others are loaded: replica 0 wins whenever it is drawn, and with 3 replicas
        // it is one of the two distinct choices 2/3 of the time.
        var router = RouterRegistry.Create("power_of_two", 7);
        var loads = new IReplicaLoad[] { new Load(0, 0), new Load(10, 0), new Load(20, 0) };
        var picks = Enumerable.Range(0, 3000).Select(_ => router.Route(AnyRequest, loads)).ToArray();
        Assert.That(picks.Count(p => p == 2), Is.EqualTo(0), "the most loaded replica never beats another");
        Assert.That(picks.Count(p => p == 0) / 3000.0, Is.EqualTo(2.0 / 3).Within(0.03));
    }

    [Test]
    public void Random_SameSeedSameChoices_CoversAllReplicas()
    {
        var loads = new IReplicaLoad[] { new Load(0, 0), new Load(0, 0), new Load(0, 0), new Load(0, 0) };
        int[] Draw(ulong seed)
        {
            var router = RouterRegistry.Create("random", seed);
            return Enumerable.Range(0, 400).Select(_ => router.Route(AnyRequest, loads)).ToArray();
        }
        var a = Draw(11);
        Assert.That(Draw(11), Is.EqualTo(a));
        Assert.That(Draw(12), Is.Not.EqualTo(a));
        for (int r = 0; r < 4; r++) Assert.That(a.Count(p => p == r), Is.InRange(70, 130), $"replica {r}");
    }

    [Test]
    public void Registry_UnknownName_ListsAllowedNames()
    {
        var ex = Assert.Throws<ArgumentException>(() => RouterRegistry.Create("fastest", 1));
        Assert.That(ex!.Message, Does.Contain("least_outstanding").And.Contain("power_of_two"));
        Assert.That(RouterRegistry.Names, Is.SupersetOf(new[] { "least_kv", "least_outstanding", "power_of_two", "random", "round_robin" }));
    }
}
