using NUnit.Framework;
using Simulator.Inference.Models;

namespace Simulator.Inference.Tests.Models;

[TestFixture]
public sealed class PrecisionTest
{
    [TestCase("bf16", 2.0)]
    [TestCase("FP8", 1.0)]
    [TestCase("int8", 1.0)]
    [TestCase("int4", 0.515625)] // 0.5 + one bf16 scale per 128 weights
    public void WeightBytes_ByFormat(string name, double bytes) =>
        Assert.That(Precision.BytesPerWeight(Precision.ParseFormat(name)), Is.EqualTo(bytes));

    [Test]
    public void Parse_KvCacheFp8_IsOneByte() => Assert.That(Precision.Parse("bf16", "fp8").KvBytes, Is.EqualTo(1));

    [Test]
    public void Parse_UnknownOrUnsupported_SaysWhatIsAllowed()
    {
        Assert.That(() => Precision.ParseFormat("fp4"), Throws.ArgumentException.With.Message.Contains("allowed"));
        Assert.That(() => Precision.Parse("bf16", "int4"), Throws.ArgumentException.With.Message.Contains("KV cache"));
    }
}
