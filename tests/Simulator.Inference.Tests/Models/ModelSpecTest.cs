using NUnit.Framework;
using Simulator.Inference.Models;
using Simulator.Tests.Shared;

namespace Simulator.Inference.Tests.Models;

[TestFixture]
public sealed class ModelSpecTest
{
    [TestCase("llama-3.1-70b", 70.6e9, 70.6e9)]
    [TestCase("mixtral-8x7b", 46.7e9, 12.9e9)]
    [TestCase("deepseek-v3", 671e9, 37e9)]
    [TestCase("qwen3-30b-a3b", 30.5e9, 3.3e9)]
    public void ParameterCounts_MatchPublishedFiguresWithinTwoPercent(string name, double total, double active)
    {
        var m = ModelPresets.Get(name);
        TestContext.Out.WriteLine($"{name}: total {m.TotalParams / 1e9:F2}B active {m.ActiveParams / 1e9:F2}B");
        Assert.That(m.TotalParams / total, Is.EqualTo(1).Within(0.02));
        Assert.That(m.ActiveParams / active, Is.EqualTo(1).Within(0.02));
    }

    [Test]
    public void Qwen36Preset_IsAbout35BTotalAnd3BActive()
    {
        var m = ModelPresets.Get("Qwen3.6-35B-A3B");
        Assert.That(m.TotalParams / 1e9, Is.InRange(33.0, 37.0));
        Assert.That(m.ActiveParams / 1e9, Is.InRange(2.5, 3.5));
        Assert.That(m.Source, Does.Contain("chosen"));
    }

    [Test]
    public void Presets_AreCaseInsensitive_AndUnknownNamesListTheKnownOnes()
    {
        Assert.That(ModelPresets.Get("LLAMA-3.1-8B").Name, Is.EqualTo("llama-3.1-8b"));
        var e = Assert.Throws<ArgumentException>(() => ModelPresets.Get("gpt-5"))!;
        Assert.That(e.Message, Does.Contain("gpt-5").And.Contain("mixtral-8x7b"));
        Assert.That(ModelPresets.Names, Has.Count.EqualTo(11));
    }

    [TestCase("meta-llama--Meta-Llama-3.1-8B_config.json", "llama-3.1-8b")]
    [TestCase("meta-llama--Meta-Llama-3.1-70B_config.json", "llama-3.1-70b")]
    [TestCase("meta-llama--Meta-Llama-3.1-405B_config.json", "llama-3.1-405b")]
    [TestCase("mistralai--Mixtral-8x7B-v0.1_config.json", "mixtral-8x7b")]
    [TestCase("mistralai--Mixtral-8x22B-v0.1_config.json", "mixtral-8x22b")]
    [TestCase("Qwen--Qwen3-30B-A3B_config.json", "qwen3-30b-a3b")]
    [TestCase("Qwen--Qwen3-235B-A22B_config.json", "qwen3-235b-a22b")]
    [TestCase("deepseek-ai--DeepSeek-V3_config.json", "deepseek-v3")]
    public void Importer_PublishedConfig_MatchesPreset(string file, string preset)
    {
        var imported = HfConfigImporter.Load(TestPaths.Data("models", file), preset);
        var p = ModelPresets.Get(preset);
        Assert.That(imported with { Source = "" }, Is.EqualTo(p with { Source = "" }));
    }

    [Test]
    public void Importer_DeepSeekV3_ReadsMlaAndSharedExperts()
    {
        var m = HfConfigImporter.Load(TestPaths.Data("models", "deepseek-ai--DeepSeek-V3_config.json"));
        Assert.That(m.Mla, Is.EqualTo(new MlaSpec(512, 1536, 64, 128, 128)));
        Assert.That((m.SharedExperts, m.DenseFirstLayers, m.Experts, m.TopK), Is.EqualTo((1, 3, 256, 8)));
        Assert.That(m.MoeLayersIn(0, m.Layers), Is.EqualTo(58));
        Assert.That(m.KvElementsPerTokenPerLayer, Is.EqualTo(576));
    }

    [Test]
    public void Importer_MissingKey_NamesFileAndKey()
    {
        var e = Assert.Throws<ModelConfigException>(() =>
            HfConfigImporter.Parse("{\"hidden_size\": 4096, \"num_attention_heads\": 32}", "my/config.json", "x"))!;
        Assert.That(e.Message, Does.Contain("my/config.json").And.Contain("num_hidden_layers"));
    }

    [Test]
    public void Importer_WrongType_NamesFileAndKey()
    {
        var e = Assert.Throws<ModelConfigException>(() =>
            HfConfigImporter.Parse("{\"hidden_size\": \"big\"}", "c.json", "x"))!;
        Assert.That(e.Message, Does.Contain("c.json").And.Contain("hidden_size"));
    }
}
