using System.Globalization;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Simulator.Kernel.Monitoring;

namespace Simulator.Kernel.Tests;

public sealed class PhaseTraceTest
{
    private static readonly Regex Line = new(
        @"^phase (?<name>.{20}) wall +(?<wall>[0-9.]+) ms \(\+ *(?<dwall>-?[0-9.]+)\)  cpu +(?<cpu>[0-9.]+) ms \(\+ *(?<dcpu>-?[0-9.]+)\)  jit +(?<jit>[0-9]+) methods +[0-9.]+ ms$");

    [Test]
    public void Write_PrintsOneLinePerPhaseWithRunningTotalsThatNeverDecrease()
    {
        var text = new StringWriter();
        PhaseTrace.Write(text, "first");
        double spin = 0;
        for (int i = 0; i < 200_000; i++) spin += Math.Sqrt(i); // some CPU between the marks
        PhaseTrace.Write(text, "second");
        var lines = text.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(2));
        var first = Line.Match(lines[0].TrimEnd('\r'));
        var second = Line.Match(lines[1].TrimEnd('\r'));
        Assert.That(first.Success && second.Success, Is.True, text.ToString());
        Assert.That(first.Groups["name"].Value.Trim(), Is.EqualTo("first"));
        Assert.That(second.Groups["name"].Value.Trim(), Is.EqualTo("second"));
        double G(Match m, string g) => double.Parse(m.Groups[g].Value, CultureInfo.InvariantCulture);
        Assert.That(G(second, "wall"), Is.GreaterThanOrEqualTo(G(first, "wall")));
        Assert.That(G(second, "cpu"), Is.GreaterThanOrEqualTo(G(first, "cpu")));
        Assert.That(G(second, "jit"), Is.GreaterThanOrEqualTo(G(first, "jit")));
        Assert.That(G(second, "dwall"), Is.EqualTo(G(second, "wall") - G(first, "wall")).Within(0.16));
        Assert.That(spin, Is.GreaterThan(0));
    }

    [Test]
    public void Mark_IsSilentUnlessTheVariableIsSet()
    {
        Assume.That(Environment.GetEnvironmentVariable(PhaseTrace.Variable), Is.Not.EqualTo("1"));
        var saved = Console.Error;
        var captured = new StringWriter();
        try
        {
            Console.SetError(captured);
            PhaseTrace.Mark("quiet");
        }
        finally
        {
            Console.SetError(saved);
        }
        Assert.That(PhaseTrace.Enabled, Is.False);
        Assert.That(captured.ToString(), Is.Empty);
    }
}
