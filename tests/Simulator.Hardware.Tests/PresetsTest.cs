using Simulator.Hardware.Specs;

namespace Simulator.Hardware.Tests;

public sealed class PresetsTest
{
    private static readonly string[] ContractGpus =
        { "A100-SXM-80GB", "A100-SXM-40GB", "H100-SXM-80GB", "H100-PCIe-80GB", "H200-SXM-141GB", "B200-SXM-180GB", "L40S-48GB" };

    private static readonly string[] ContractLinks =
        { "nvlink3", "nvlink4", "nvlink5", "pcie4", "pcie5", "ib-hdr200", "ib-ndr400", "roce400", "ideal" };

    [Test]
    public void GpuPresets_ContainExactlyTheContractNames()
    {
        Assert.That(GpuPresets.Names, Is.EquivalentTo(ContractGpus));
    }

    [Test]
    public void GpuPresets_Get_IsCaseInsensitive()
    {
        Assert.That(GpuPresets.Get("h100-sxm-80gb").Name, Is.EqualTo("H100-SXM-80GB"));
        Assert.That(GpuPresets.TryGet("l40s-48gb", out var l40s), Is.True);
        Assert.That(l40s.MemoryGB, Is.EqualTo(48));
    }

    [Test]
    public void GpuPresets_Get_UnknownName_ThrowsKeyNotFoundListingAllowedNames()
    {
        var e = Assert.Throws<UnknownPresetException>(() => GpuPresets.Get("V100"))!;
        Assert.That(e, Is.InstanceOf<KeyNotFoundException>());
        foreach (var name in ContractGpus) Assert.That(e.Message, Does.Contain(name));
        Assert.That(e.Message, Does.Contain("'V100'"));
        Assert.That(GpuPresets.TryGet("V100", out _), Is.False);
    }

    [Test]
    public void GpuPresets_DatasheetFigures_AreDenseAndConsistent()
    {
        var a100 = GpuPresets.Get("A100-SXM-80GB");
        var h100 = GpuPresets.Get("H100-SXM-80GB");
        var h200 = GpuPresets.Get("H200-SXM-141GB");
        Assert.That(a100.Bf16Tflops, Is.EqualTo(312));
        Assert.That(a100.Fp8Tflops, Is.EqualTo(0), "A100 has no native FP8");
        Assert.That(h100.Bf16Tflops, Is.EqualTo(989), "dense, not the 1979 sparse figure");
        Assert.That(h200.Bf16Tflops, Is.EqualTo(h100.Bf16Tflops));
        Assert.That(h200.HbmTBps, Is.GreaterThan(h100.HbmTBps));
        foreach (var name in GpuPresets.Names)
        {
            var g = GpuPresets.Get(name);
            Assert.That(g.Source, Is.Not.Empty);
            Assert.That(LinkPresets.TryGet(g.DefaultIntraNodeLink, out _), Is.True, name);
            Assert.That(LinkPresets.TryGet(g.DefaultInterNodeLink, out _), Is.True, name);
            Assert.That(g.Int8Tops, Is.GreaterThanOrEqualTo(g.Bf16Tflops), name);
        }
    }

    [Test]
    public void LinkPresets_ContainContractNamesWithPerDirectionBandwidth()
    {
        Assert.That(LinkPresets.Names, Is.EquivalentTo(ContractLinks));
        Assert.That(LinkPresets.Get("NVLink3").BandwidthGBps, Is.EqualTo(300));
        Assert.That(LinkPresets.Get("nvlink4").BandwidthGBps, Is.EqualTo(450));
        Assert.That(LinkPresets.Get("nvlink5").BandwidthGBps, Is.EqualTo(900));
        Assert.That(LinkPresets.Get("ib-hdr200").BandwidthGBps, Is.EqualTo(25));
        Assert.That(LinkPresets.Get("ib-ndr400").BandwidthGBps, Is.EqualTo(50));
        Assert.That(LinkPresets.Get("roce400").LatencyUs, Is.GreaterThan(LinkPresets.Get("ib-ndr400").LatencyUs));
        Assert.That(LinkPresets.Get("pcie4").BandwidthGBps, Is.LessThan(31.5), "realistic, below the x16 theoretical 31.5 GB/s");
        var ideal = LinkPresets.Get("ideal");
        Assert.That(ideal.IsIdeal, Is.True);
        Assert.That(ideal.LatencyUs, Is.EqualTo(0));
    }

    [Test]
    public void LinkPresets_Get_UnknownName_ListsAllowedNames()
    {
        var e = Assert.Throws<UnknownPresetException>(() => LinkPresets.Get("nvlink9"))!;
        foreach (var name in ContractLinks) Assert.That(e.Message, Does.Contain(name));
    }
}
