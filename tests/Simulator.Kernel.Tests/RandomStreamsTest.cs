using MathNet.Numerics.Distributions;
using NUnit.Framework;
using Simulator.Kernel;

namespace Simulator.Kernel.Tests;

public sealed class RandomStreamsTest
{
    private static double[] Draw(Random r, int n) => Enumerable.Range(0, n).Select(_ => r.NextDouble()).ToArray();

    [Test]
    public void Fnv1a64_MatchesThePublishedTestVectors()
    {
        Assert.That(RandomStreams.Fnv1a64(""), Is.EqualTo(0xcbf29ce484222325UL));
        Assert.That(RandomStreams.Fnv1a64("a"), Is.EqualTo(0xaf63dc4c8601ec8cUL));
        Assert.That(RandomStreams.Fnv1a64("foobar"), Is.EqualTo(0x85944171f73967e8UL));
    }

    [Test]
    public void SplitMix64_MatchesTheReferenceSequence()
    {
        ulong state = 1234567;
        var outputs = Enumerable.Range(0, 3).Select(_ => SplitMix64.Next(ref state)).ToArray();
        Assert.That(outputs, Is.EqualTo(new[] { 6457827717110365317UL, 3203168211198807973UL, 9817491932198370423UL }));
    }

    [Test]
    public void SameSeedAndName_GiveTheSameDraws()
    {
        var a = new Simulation(7).Streams.Get("arrivals");
        var b = new Simulation(7).Streams.Get("arrivals");
        Assert.That(Draw(a, 100), Is.EqualTo(Draw(b, 100)));
    }

    [Test]
    public void DifferentNamesOrSeeds_GiveDifferentDraws()
    {
        var s = new Simulation(7).Streams;
        Assert.That(Draw(s.Get("arrivals"), 10), Is.Not.EqualTo(Draw(s.Get("lengths"), 10)));
        Assert.That(Draw(new Simulation(8).Streams.Get("arrivals"), 10), Is.Not.EqualTo(Draw(new Simulation(7).Streams.Get("arrivals"), 10)));
    }

    [Test]
    public void AddingANewConsumer_DoesNotChangeExistingStreams()
    {
        var alone = new Simulation(3).Streams;
        var expected = Draw(alone.Get("arrivals"), 50);

        var shared = new Simulation(3).Streams;
        var newcomer = shared.Get("routing");
        var interleaved = new double[50];
        for (int i = 0; i < 50; i++)
        {
            newcomer.NextDouble();
            interleaved[i] = shared.Get("arrivals").NextDouble();
        }
        Assert.That(interleaved, Is.EqualTo(expected));
    }

    [Test]
    public void Get_ReturnsTheSameStreamObject_CreateStartsAfresh()
    {
        var s = new Simulation(1).Streams;
        var x = s.Get("x");
        Assert.That(s.Get("x"), Is.SameAs(x));
        var first = s.Get("x").NextDouble();
        Assert.That(s.Create("x").NextDouble(), Is.EqualTo(first));
    }

    [Test]
    public void BoundedDraws_StayInRange_AndCoverIt()
    {
        var r = new Simulation(5).Streams.Get("dice");
        var counts = new int[6];
        for (int i = 0; i < 60_000; i++) counts[r.Next(1, 7) - 1]++;
        Assert.That(counts, Has.All.InRange(9_400, 10_600));
        for (int i = 0; i < 1000; i++)
        {
            Assert.That(r.Next(10), Is.InRange(0, 9));
            Assert.That(r.NextInt64(-5, 5), Is.InRange(-5L, 4L));
            Assert.That(r.NextDouble(), Is.InRange(0.0, 0.9999999999999999));
        }
    }

    [Test]
    public void MathNetDistributions_AcceptAStream()
    {
        var r = new Simulation(11).Streams.Get("service");
        const double rate = 4.0;
        double mean = Enumerable.Range(0, 100_000).Select(_ => Exponential.Sample(r, rate)).Average();
        Assert.That(mean, Is.EqualTo(1 / rate).Within(0.01));
        var normal = new Normal(10, 2, r);
        Assert.That(Enumerable.Range(0, 20_000).Select(_ => normal.Sample()).Average(), Is.EqualTo(10).Within(0.1));
    }
}
