using NUnit.Framework;
using Simulator.Kernel;

namespace Simulator.Kernel.Tests;

public sealed class ContainerTest
{
    [Test]
    public void Get_WaitsUntilTheLevelHoldsTheAmount()
    {
        var sim = new Simulation();
        var tank = new Container(sim, capacity: 100, initialLevel: 10);
        var get = tank.Get(30);
        Assert.That(get.IsTriggered, Is.False);
        sim.Schedule(SimDuration.FromMilliseconds(5), () => tank.Put(25));
        sim.Run();
        Assert.That(get.IsProcessed, Is.True);
        Assert.That(tank.Level, Is.EqualTo(5));
    }

    [Test]
    public void Put_WaitsUntilItFits()
    {
        var sim = new Simulation();
        var tank = new Container(sim, capacity: 10, initialLevel: 8) { };
        tank.LevelMonitor = new TimeSeriesMonitor(sim, "level", tank.Level);
        var put = tank.Put(5);
        Assert.That(put.IsTriggered, Is.False);
        sim.Schedule(SimDuration.FromMilliseconds(10), () => tank.Get(4));
        sim.Run();
        Assert.That(put.IsProcessed, Is.True);
        Assert.That(tank.Level, Is.EqualTo(9));
        Assert.That(tank.LevelMonitor.Max, Is.EqualTo(9));
        Assert.That(tank.LevelMonitor.Min, Is.EqualTo(4));
    }

    [Test]
    public void Gets_AreServedStrictlyInOrder_SoLargeRequestsAreNotStarved()
    {
        var sim = new Simulation();
        var tank = new Container(sim, capacity: 100);
        var big = tank.Get(50);
        var small = tank.Get(5);
        tank.Put(10);
        sim.Run();
        Assert.That(big.IsTriggered || small.IsTriggered, Is.False);
        tank.Put(45);
        sim.Run();
        Assert.That(big.IsProcessed && small.IsProcessed, Is.True);
        Assert.That(tank.Level, Is.EqualTo(0));
    }

    [Test]
    public void InvalidAmounts_Throw()
    {
        var sim = new Simulation();
        var tank = new Container(sim, capacity: 10);
        Assert.Throws<ArgumentOutOfRangeException>(() => tank.Put(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => tank.Get(11));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Container(sim, capacity: 10, initialLevel: 11));
    }
}
