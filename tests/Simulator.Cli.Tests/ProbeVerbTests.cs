using System.Text.Json;

namespace Simulator.Cli.Tests;

/// <summary>`sim step` and `sim collective`: one JSON object on stdout, and physically sensible figures.</summary>
[TestFixture, NonParallelizable]
public sealed class ProbeVerbTests
{
    /// <summary>Asserts stdout is one JSON object on one line and nothing else; returns it.</summary>
    internal static JsonElement SingleJsonObject(CliResult r)
    {
        var lines = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        Assert.That(lines, Has.Count.EqualTo(1), "stdout must hold exactly one line, the JSON object\n" + r);
        using var doc = JsonDocument.Parse(lines[0]);
        Assert.That(doc.RootElement.ValueKind, Is.EqualTo(JsonValueKind.Object), r.ToString());
        return doc.RootElement.Clone();
    }

    private static double StepTimeMs(params string[] extra)
    {
        var r = CliHarness.Run(new[] { "step", "--json" }.Concat(extra).ToArray());
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        return SingleJsonObject(r).GetProperty("time_ms").GetDouble();
    }

    [Test]
    public void Step_Json_PrintsOneObjectWhoseBreakdownSumsToTime()
    {
        var r = CliHarness.Run("step", "--model", "llama-3.1-70b", "--gpu", "H100-SXM-80GB", "--tp", "2",
            "--phase", "decode", "--batch", "8", "--prompt", "1024", "--json");

        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.StdErr, Is.Empty, r.ToString());
        var o = SingleJsonObject(r);
        double timeMs = o.GetProperty("time_ms").GetDouble();
        Assert.That(timeMs, Is.GreaterThan(0));
        var breakdown = o.GetProperty("breakdown");
        Assert.That(breakdown.ValueKind, Is.EqualTo(JsonValueKind.Object));
        var parts = breakdown.EnumerateObject().ToList();
        Assert.That(parts, Is.Not.Empty);
        Assert.That(parts.Select(p => p.Value.ValueKind), Has.All.EqualTo(JsonValueKind.Number));
        double sumMs = parts.Sum(p => p.Value.GetDouble());
        Assert.That(sumMs, Is.EqualTo(timeMs).Within(0.01).Percent.Or.EqualTo(timeMs).Within(1e-3),
            "the breakdown parts must add up to time_ms");
    }

    [Test]
    public void Step_Help_NamesEveryEngineTheStepAccepts()
    {
        var help = CliHarness.Run("step", "--help");
        foreach (string engine in Simulator.Inference.Cost.CalibrationProfile.EngineNames)
        {
            Assert.That(help.StdOut, Does.Contain(engine + " ("), $"sim step --help does not name --engine {engine}");
            var r = CliHarness.Run("step", "--model", "llama-3.1-8b", "--gpu", "H100-SXM-80GB", "--phase", "decode", "--prompt", "128", "--engine", engine);
            Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        }
    }

    [Test]
    public void Step_DecodeOfAPrompt_IsFasterThanPrefillOfTheSamePrompt()
    {
        string[] common = { "--model", "llama-3.1-70b", "--gpu", "H100-SXM-80GB", "--tp", "1", "--batch", "8", "--prompt", "1024" };
        double decodeMs = StepTimeMs(common.Concat(new[] { "--phase", "decode" }).ToArray());
        double prefillMs = StepTimeMs(common.Concat(new[] { "--phase", "prefill" }).ToArray());
        Assert.That(decodeMs, Is.LessThan(prefillMs));
    }

    [Test]
    public void Step_Tp2DecodeOn70B_IsFasterThanTp1_BecauseDecodeIsMemoryBound()
    {
        string[] common = { "--model", "llama-3.1-70b", "--gpu", "H100-SXM-80GB", "--phase", "decode", "--batch", "8", "--prompt", "1024" };
        double tp1Ms = StepTimeMs(common.Concat(new[] { "--tp", "1" }).ToArray());
        double tp2Ms = StepTimeMs(common.Concat(new[] { "--tp", "2" }).ToArray());
        Assert.That(tp2Ms, Is.LessThan(tp1Ms));
    }

    [Test]
    public void Step_Cp_SplitsALongPrefillOverTheCpRanks()
    {
        string[] common = { "--model", "llama-3.1-70b", "--gpu", "H100-SXM-80GB", "--tp", "4", "--phase", "prefill", "--batch", "1", "--prompt", "65536" };
        double cp1Ms = StepTimeMs(common);
        double cp4Ms = StepTimeMs(common.Concat(new[] { "--cp", "4" }).ToArray());
        // 16 GPUs on two nodes: each rank computes a quarter of the tokens; the KV ring hides under attention.
        Assert.That(cp4Ms / cp1Ms, Is.InRange(0.22, 0.3));
    }

    [Test]
    public void Collective_Json_PrintsTimeAlgbwBusbw()
    {
        var r = CliHarness.Run("collective", "--gpu", "A100-SXM-80GB", "--op", "all_reduce", "--ranks", "8", "--bytes", "268435456", "--json");

        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        var o = SingleJsonObject(r);
        // algorithm and protocol: the (algorithm, protocol) NCCL's tuner would run (ring / simple on A100 at 256 MiB).
        Assert.That(o.EnumerateObject().Select(p => p.Name), Is.EquivalentTo(new[] { "time_us", "algbw_gbps", "busbw_gbps", "algorithm", "protocol" }));
        Assert.That((o.GetProperty("algorithm").GetString(), o.GetProperty("protocol").GetString()), Is.EqualTo(("ring", "simple")));
        double timeUs = o.GetProperty("time_us").GetDouble();
        double algbwGBps = o.GetProperty("algbw_gbps").GetDouble();
        double busbwGBps = o.GetProperty("busbw_gbps").GetDouble();
        // nccl-tests definitions: algbw = S / t; all_reduce busbw = algbw * 2 (n - 1) / n.
        Assert.That(algbwGBps, Is.EqualTo(268435456 / (timeUs * 1e3)).Within(0.1).Percent);
        Assert.That(busbwGBps, Is.EqualTo(algbwGBps * 2 * 7 / 8).Within(0.1).Percent);
    }

    [Test]
    public void Collective_AllReduce256MiBOnEightA100_IsWithin15PercentOfNcclTestsMeasurement()
    {
        // nccl-tests all_reduce_perf, 8 x A100-SXM-80GB (NVSwitch), 268435456 bytes: 2182.5 us measured.
        const double MeasuredUs = 2182.5;
        var r = CliHarness.Run("collective", "--gpu", "A100-SXM-80GB", "--op", "all_reduce", "--ranks", "8", "--bytes", "256MiB", "--json");

        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        double timeUs = SingleJsonObject(r).GetProperty("time_us").GetDouble();
        Assert.That(timeUs, Is.EqualTo(MeasuredUs).Within(15).Percent);
    }

    [Test]
    public void Collective_BytesWithSuffix1M_IsAccepted()
    {
        var r = CliHarness.Run("collective", "--gpu", "A100-SXM-80GB", "--op", "all_gather", "--ranks", "8", "--bytes", "1M", "--json");

        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        var o = SingleJsonObject(r);
        double timeUs = o.GetProperty("time_us").GetDouble();
        Assert.That(timeUs, Is.GreaterThan(0));
        // 1M = 10^6 bytes (K/M/G are powers of 1000), so algbw = 1e6 B / t.
        Assert.That(o.GetProperty("algbw_gbps").GetDouble(), Is.EqualTo(1e6 / (timeUs * 1e3)).Within(0.1).Percent);
    }

    [Test]
    public void Collective_UnknownOp_ExitsTwoWithOneErrorLineNamingTheAllowedOps()
    {
        var r = CliHarness.Run("collective", "--gpu", "A100-SXM-80GB", "--op", "all_scatter", "--ranks", "8", "--bytes", "1M", "--json");

        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.StdErr, Does.Not.Contain("   at "), "no stack trace\n" + r);
        Assert.That(r.ErrorLines, Has.Count.EqualTo(1), r.ToString());
        var line = r.ErrorLines[0];
        Assert.That(line, Does.StartWith("error:"));
        Assert.That(line, Does.Contain("all_scatter"));
        foreach (var op in new[] { "all_reduce", "all_gather", "reduce_scatter", "all_to_all", "send_recv" })
            Assert.That(line, Does.Contain(op), "the error must list the allowed ops");
        Assert.That(r.StdOut, Is.Empty, "no JSON is printed on failure");
    }
}
