using YamlDotNet.RepresentationModel;

namespace Simulator.Scenarios;

internal sealed partial class ScenarioBinder
{
    /// <summary><c>cost: {gpu_hour_usd: {GPU: usd}}</c>: known GPU preset names (written in the preset's spelling), prices > 0.</summary>
    private CostSpec BindCost(YamlNode? node, YamlNode owner)
    {
        var m = new MapReader(this, node, "cost", owner);
        var pricesNode = m.Node("gpu_hour_usd");
        m.Finish();
        if (pricesNode is null || IsNull(pricesNode)) return CostSpec.None;
        if (pricesNode is not YamlMappingNode map)
        {
            Error(pricesNode, "cost.gpu_hour_usd", $"expected a mapping of GPU preset name -> USD per GPU-hour (e.g. {{H100-SXM-80GB: 2.5}}), got {Describe(pricesNode)}");
            return CostSpec.None;
        }
        var prices = new MapReader(this, map, "cost.gpu_hour_usd", pricesNode);
        var result = new SortedDictionary<string, double>(StringComparer.Ordinal);
        foreach (var (k, _) in map.Children)
        {
            string name = (k as YamlScalarNode)?.Value ?? "";
            string? preset = _catalog.Gpus.Count == 0 ? name : _catalog.Gpus.FirstOrDefault(g => string.Equals(g, name, StringComparison.OrdinalIgnoreCase));
            if (preset is null)
            {
                prices.Node(name);
                string hint = Suggest.Closest(name, _catalog.Gpus) is string s ? $"did you mean '{s}'? " : "";
                Error(k, "cost.gpu_hour_usd." + name, $"'{name}' is not a GPU preset; {hint}expected one of {string.Join(", ", _catalog.Gpus.OrderBy(g => g, StringComparer.Ordinal))}");
                continue;
            }
            if (prices.DoubleOrNull(name, 0, minExclusive: true, nullable: false) is double usd) result[preset] = usd;
        }
        prices.Finish();
        return new CostSpec { GpuHourUsd = result.ToList() };
    }

    /// <summary><c>plan: {disaggregation: bool, knobs: bool}</c>.</summary>
    private PlanSpec BindPlanSpec(YamlNode? node, YamlNode owner)
    {
        var m = new MapReader(this, node, "plan", owner);
        var spec = new PlanSpec { Disaggregation = m.Bool("disaggregation", false), Knobs = m.Bool("knobs", false) };
        m.Finish();
        return spec;
    }
}
