using NUnit.Framework;
using Simulator.Inference.Memory;

namespace Simulator.Inference.Tests.Memory;

/// <summary>The seed documents' hand arithmetic, reproduced exactly.</summary>
[TestFixture]
public sealed class MemoryArithmeticTest
{
    [Test]
    public void A35BModelInBf16_Is70GB() => Assert.That(MemoryArithmetic.WeightsGB(35e9, 2), Is.EqualTo(70).Within(1e-9));

    [Test]
    public void EightyGBGpus_16GBReserve_Tp1DoesNotFit_Tp2Leaves29GB()
    {
        Assert.That(MemoryArithmetic.KvPerGpuGB(80, 16, 70, 1), Is.EqualTo(-6).Within(1e-9));
        Assert.That(MemoryArithmetic.KvPerGpuGB(80, 16, 70, 2), Is.EqualTo(29).Within(1e-9));
    }

    [Test]
    public void MillionTokenRequest_80Layers8KvHeads_Is305GiB_And76GiBAt4WayCp()
    {
        var perToken = MemoryArithmetic.KvBytesPerToken(80, 8, 128, 2);
        Assert.That(perToken, Is.EqualTo(327_680));
        Assert.That(MemoryArithmetic.SequenceKvGiB(1_000_000, perToken), Is.EqualTo(305.2).Within(0.05));
        Assert.That(MemoryArithmetic.SequenceKvGiB(1_000_000, perToken, cpDegree: 4), Is.EqualTo(76.3).Within(0.05));
    }

    [Test]
    public void TwoGpus_58GBOfKv_Admits77RequestsAt075GB()
    {
        var kv = MemoryArithmetic.PooledKvGB(2, 80, 70, 32);
        Assert.That(kv, Is.EqualTo(58).Within(1e-9));
        Assert.That(MemoryArithmetic.RequestsThatFit(kv, 0.75), Is.EqualTo(77));
    }
}
