using NUnit.Framework;
using Simulator.Inference.Serving;
using Request = Simulator.Inference.Workload.Request;

namespace Simulator.Inference.Tests.Serving;

public sealed class SpeedWeightedRouterTest
{
    private sealed record Load(int Outstanding, double ReferenceWorkNs) : IReplicaLoad
    {
        public double KvUtilization => 0;
    }

    private static readonly Request AnyRequest = new(0, 0, 10, 10);

    [Test]
    public void EqualLoad_GoesToTheFasterReplica()
    {
        var router = RouterRegistry.Create("speed_weighted", 1);
        Assert.That(router.Route(AnyRequest, [new Load(2, 300), new Load(2, 100)]), Is.EqualTo(1));
    }

    [Test]
    public void AFasterReplica_TakesProportionallyMoreBeforeTheSlowerOneIsPicked()
    {
        var router = RouterRegistry.Create("speed_weighted", 1);
        // (3 + 1) x 100 = 400 < (1 + 1) x 300 = 600: the twice-loaded fast replica still wins.
        Assert.That(router.Route(AnyRequest, [new Load(1, 300), new Load(3, 100)]), Is.EqualTo(1));
        // (5 + 1) x 100 = 600 = (1 + 1) x 300: a tie goes to the lowest index.
        Assert.That(router.Route(AnyRequest, [new Load(1, 300), new Load(5, 100)]), Is.EqualTo(0));
    }

    [Test]
    public void IdenticalReplicas_PickWhatLeastOutstandingPicks()
    {
        var speed = RouterRegistry.Create("speed_weighted", 1);
        var least = RouterRegistry.Create("least_outstanding", 1);
        IReplicaLoad[] loads = [new Load(4, 7), new Load(2, 7), new Load(2, 7), new Load(9, 7)];
        Assert.That(speed.Route(AnyRequest, loads), Is.EqualTo(least.Route(AnyRequest, loads)));
    }
}
