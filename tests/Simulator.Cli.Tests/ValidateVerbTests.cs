using Simulator.Tests.Shared;

namespace Simulator.Cli.Tests;

/// <summary>`sim validate`: every shipped measurement set replayed, validation.csv written; bad data names file and row, exit 2.</summary>
[TestFixture, NonParallelizable]
public sealed class ValidateVerbTests
{
    [Test]
    public void Validate_WritesOneRowPerShippedSet_WithTheReadmeFigures()
    {
        using var tmp = new TempDir();
        var r = CliHarness.Run("validate", "--out", tmp.Sub("val"));
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        var table = CsvTable.Read(tmp.Sub("val", "validation.csv"));
        int set = table.Column("set"), median = table.Column("median_abs_error"), fitted = table.Column("fitted");
        var rows = table.Rows;
        Assert.That(rows.Select(x => x[set]), Is.EqualTo(new[]
        {
            "operators/a100-vidur", "operators/h100-vidur", "operators/h100-measured", "operators/h200-measured",
            "collectives/a100-nccl-tests", "steps/splitwise-a100", "steps/h100-cuda-graph", "steps/h200-cuda-graph", "memory/vllm-h100",
            "serving/nim-llama3.3-70b-isl500/ttft", "serving/nim-llama3.3-70b-isl500/itl", "serving/nim-llama3.3-70b-isl500/throughput",
            "serving/kvcached-qwen3-0.6b/ttft", "serving/kvcached-qwen3-0.6b/itl", "serving/kvcached-qwen3-0.6b/throughput",
            "serving/nim-llama3.3-70b-isl5000/ttft", "serving/nim-llama3.3-70b-isl5000/itl", "serving/nim-llama3.3-70b-isl5000/throughput",
        }));
        double Median(string name) => double.Parse(rows.Single(x => x[set] == name)[median], System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(Median("operators/a100-vidur"), Is.EqualTo(0.053).Within(0.001));
        Assert.That(Median("operators/h200-measured"), Is.EqualTo(0.093).Within(0.001));
        Assert.That(Median("collectives/a100-nccl-tests"), Is.EqualTo(0.070).Within(0.001));
        Assert.That(rows.Single(x => x[set] == "operators/h200-measured")[fitted], Is.EqualTo("no"));
        Assert.That(rows.Single(x => x[set] == "steps/h100-cuda-graph")[fitted], Is.EqualTo("no"));
        Assert.That(rows.Single(x => x[set] == "serving/nim-llama3.3-70b-isl5000/itl")[fitted], Is.EqualTo("no"));
        Assert.That(File.Exists(tmp.Sub("val", "validation.md")));
        // One row per compared point, with exactly the points table's columns; n of each set is its count of rows.
        var points = CsvTable.Read(tmp.Sub("val", "validation_points.csv"));
        Assert.That(points.Header, Is.EqualTo(new[] { "set", "x_label", "size_or_batch", "measured", "predicted" }));
        int n = table.Column("n"), pset = points.Column("set");
        foreach (var row in rows)
            Assert.That(points.Rows.Count(p => p[pset] == row[set]), Is.EqualTo(int.Parse(row[n], System.Globalization.CultureInfo.InvariantCulture)), row[set]);
        var html = File.ReadAllText(tmp.Sub("val", "report.html"));
        foreach (var family in new[] { "operators", "collectives", "steps", "memory", "serving" })
        {
            Assert.That(File.Exists(tmp.Sub("val", "charts", $"parity_{family}.svg")), family);
            Assert.That(File.Exists(tmp.Sub("val", "charts", $"error_{family}.png")), family);
        }
        Assert.That(html, Does.Contain("data:image/svg+xml;base64,").And.Contain("serving/kvcached-qwen3-0.6b/ttft"));
    }

    [Test]
    public void Validate_MissingData_NamesTheFolder_Exit2()
    {
        using var tmp = new TempDir();
        Directory.CreateDirectory(tmp.Sub("data"));
        var r = CliHarness.Run("validate", "--data", tmp.Sub("data"), "--out", tmp.Sub("val"));
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.StdErr, Does.StartWith("error: ").And.Contain("compute").And.Contain("missing"));
        Assert.That(r.StdErr, Does.Not.Contain("Exception"));
    }

    [Test]
    public void Validate_MalformedRow_NamesFileAndRow_Exit2()
    {
        using var tmp = new TempDir();
        // A copy of data/ whose nccl-tests file has a short row 3: every other folder links to the real one.
        var data = tmp.Sub("data");
        var cal = Path.Combine(data, "calibration");
        Directory.CreateDirectory(Path.Combine(cal, "network", "nccl-tests"));
        foreach (var d in new[] { "compute", "measured", "serving", "memory" })
            Directory.CreateSymbolicLink(Path.Combine(cal, d), TestPaths.Data("calibration", d));
        var lines = File.ReadAllLines(TestPaths.Data("calibration", "network", "nccl-tests", "a100_sxm.csv")).ToList();
        lines[2] = "all_reduce,8";
        var broken = Path.Combine(cal, "network", "nccl-tests", "a100_sxm.csv");
        File.WriteAllLines(broken, lines);
        var r = CliHarness.Run("validate", "--data", data, "--out", tmp.Sub("val"));
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.StdErr.Trim(), Does.StartWith($"error: {broken}:3: 2 fields"));
    }
}
