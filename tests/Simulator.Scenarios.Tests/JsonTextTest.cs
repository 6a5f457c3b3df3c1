// FsCheck supplies the arguments of [FsProperty] methods; NUnit's analyzer cannot see that.
#pragma warning disable NUnit1001, NUnit1027
using System.Text.Json;
using NUnit.Framework;
using Simulator.Scenarios;
using Simulator.Scenarios.Planning;
using FsProperty = FsCheck.NUnit.PropertyAttribute;

namespace Simulator.Scenarios.Tests;

/// <summary>
/// The generated (reflection-free) JSON code that the native build needs writes what the reflection-based serializer
/// wrote: string literals (inline model configs, <c>sim step --json</c>) and shard.json.
/// </summary>
[TestFixture]
public sealed class JsonTextTest
{
    [FsProperty(MaxTest = 300)]
    public void Quote_IsWhatJsonSerializerWrites_ForAnyString(string? text)
    {
        var s = text ?? "";
        Assert.That(JsonText.Quote(s), Is.EqualTo(JsonSerializer.Serialize(s)));
    }

    [TestCase("plain")]
    [TestCase("quote \" backslash \\ tab \t newline \n")]
    [TestCase("<html> & 'apos' é ü 中文 \u0001 \U0001F600")]
    public void Quote_EscapesLikeTheDefaultEncoder(string text) =>
        Assert.That(JsonText.Quote(text), Is.EqualTo(JsonSerializer.Serialize(text)));

    [Test]
    public void ShardManifest_WritesTheReflectionSerializersText_AndReadsItBack()
    {
        var manifest = new ShardManifest("sweep", "bubbles \"x\"", "0123456789abcdef", 5, 1, 2, [1, 3], "sweep.csv");
        var dir = Path.Combine(Path.GetTempPath(), "sim-jsontext-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            manifest.Write(dir);
            var written = File.ReadAllText(Path.Combine(dir, ShardManifest.FileName));
            var reflection = new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
            Assert.That(written, Is.EqualTo(JsonSerializer.Serialize(manifest, reflection) + "\n"));
            var read = ShardManifest.Read(dir);
            Assert.That(read with { Points = manifest.Points }, Is.EqualTo(manifest));
            Assert.That(read.Points, Is.EqualTo(manifest.Points));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
