using Simulator.Hardware.Calibration;
using Simulator.Hardware.Collectives;
using Simulator.Tests.Shared;

namespace Simulator.Hardware.Tests;

public sealed class PublicNcclTestsTest
{
    private static string Shipped(string name) => TestPaths.Data("calibration", "network", "nccl-tests", name);

    private static string TempCsv(string[] lines)
    {
        string path = Path.Combine(Path.GetTempPath(), $"public-nccl-{Guid.NewGuid():N}.csv");
        File.WriteAllLines(path, lines);
        return path;
    }

    [TestCase("h100_public.csv", 223)]
    [TestCase("h200_public.csv", 1)]
    [TestCase("b200_public.csv", 7)]
    [TestCase("a100_single_thread.csv", 7)]
    public void ShippedFiles_Load_EveryRowWithItsSource(string file, int rows)
    {
        var loaded = PublicNcclTests.Load(Shipped(file));
        Assert.That(loaded, Has.Count.EqualTo(rows));
        Assert.That(loaded.All(r => r.Source.StartsWith("https://", StringComparison.Ordinal)));
    }

    [TestCase("h100_public.csv")]
    [TestCase("b200_public.csv")]
    public void TranscribedRows_WithTimeAndBusBandwidth_AgreeByTheNcclTestsBusFactor(string file)
    {
        // A row that gives both columns was copied from a full nccl-tests line: busbw = bytes / time x bus factor (2%, the
        // table's rounding). Catches a time or size copied from the wrong line.
        string path = Shipped(file);
        var lines = File.ReadAllLines(path);
        var header = lines[0].Split(',');
        int time = Array.IndexOf(header, "time_us"), bus = Array.IndexOf(header, "busbw_GBps");
        foreach (var r in PublicNcclTests.Load(path))
        {
            var f = lines[r.Line - 1].Split(',');
            if (f[time].Length == 0 || f[bus].Length == 0) continue;
            double busbw = double.Parse(f[bus], System.Globalization.CultureInfo.InvariantCulture);
            if (busbw < 1) continue;
            double fromTime = r.Bytes / (r.MeasuredUs * 1e3) * CollectiveEstimate.BusFactor(r.Op, r.Ranks);
            Assert.That(fromTime, Is.EqualTo(busbw).Within(2).Percent, $"{file}:{r.Line}");
        }
    }

    [Test]
    public void BusBandwidthOnly_BecomesTheTimeByTheNcclTestsBusFactor()
    {
        // h200_public.csv: all_reduce, 8 GPUs, 4 GiB at 475 GB/s busbw -> t = S x 2(n-1)/n / busbw.
        var r = PublicNcclTests.Load(Shipped("h200_public.csv")).Single();
        Assert.That(r.MeasuredUs, Is.EqualTo(4294967296.0 * 2 * 7 / 8 / 475e3).Within(1e-9).Percent);
        Assert.That((r.Algorithm, r.Protocol), Is.EqualTo((CollectiveAlgorithm.Auto, NcclProtocol.Auto)));
    }

    [TestCase("all_reduce,8,1,1024,,,auto,auto,,n,s", "time_us: empty")]
    [TestCase("all_reduce,8,1,1024,-3,,auto,auto,,n,s", "time_us: '-3' is not a positive number")]
    [TestCase("all_reduce,1,1,1024,5,,auto,auto,,n,s", "num_gpus: '1' is not a whole number from 2")]
    [TestCase("all_reduce,8,1,0,5,,auto,auto,,n,s", "bytes: '0' is not a byte count")]
    [TestCase("allsum,8,1,1024,5,,auto,auto,,n,s", "op: unknown collective op 'allsum'")]
    [TestCase("all_reduce,8,1,1024,5,,auto,fast,,n,s", "proto: unknown NCCL protocol 'fast'; allowed: auto, ll, ll128, simple")]
    [TestCase("all_reduce,8,1,1024,5", "row: 5 fields; the header has 11")]
    public void BadRow_NamesFileLineAndColumn(string row, string expected)
    {
        string path = TempCsv([string.Join(",", PublicNcclTests.Columns), row]);
        var e = Assert.Throws<InvalidDataException>(() => PublicNcclTests.Load(path))!;
        File.Delete(path);
        Assert.That(e.Message, Does.StartWith($"error: {path}:2: ").And.Contain(expected));
        Assert.That(e.Message, Does.Not.Contain("\n"));
    }

    [Test]
    public void MissingColumn_NamesIt()
    {
        string path = TempCsv(["op,num_gpus,bytes", "all_reduce,8,1024"]);
        var e = Assert.Throws<InvalidDataException>(() => PublicNcclTests.Load(path))!;
        File.Delete(path);
        Assert.That(e.Message, Does.StartWith($"error: {path}:1: nodes: missing column"));
    }
}
