namespace Simulator.Cli.Tests;

/// <summary>`sim sweep`: sweep.csv columns, textbook pipeline bubbles, parallel = serial, failed points reported.</summary>
[TestFixture, NonParallelizable]
public sealed class SweepVerbTests
{
    private static readonly string[] SweepColumns =
    {
        "completed", "ttft_p50_ms", "ttft_p95_ms", "tpot_p50_ms", "tpot_p95_ms", "output_tokens_per_s",
        "bubble_fraction", "slo_attainment", "goodput_requests_per_s",
    };

    [Test]
    public void Sweep_PipelineBubbles_MatchesTextbookUtilizationAndParallelEqualsSerial()
    {
        using var tmp = new TempDir();
        var scenario = CliHarness.Scenario("pipeline-bubbles.yaml");

        var parallel = CliHarness.Run("sweep", scenario, "--out", tmp.Sub("jobs2"), "--jobs", "2", "--no-report");
        Assert.That(parallel.ExitCode, Is.EqualTo(0), parallel.ToString());
        var table = CsvTable.Read(tmp.Sub("jobs2", "sweep.csv"));
        Assert.That(table.Header[0], Is.EqualTo("parallelism.microbatches"), "one column per swept key, named by its path, first");
        Assert.That(table.Header, Is.SupersetOf(SweepColumns));
        Assert.That(table.Rows, Has.Count.EqualTo(5));

        const int Stages = 4;
        var seenMicrobatches = new List<int>();
        for (int i = 0; i < table.Rows.Count; i++)
        {
            int m = (int)table.Number(i, "parallelism.microbatches");
            seenMicrobatches.Add(m);
            double utilization = 1 - table.Number(i, "bubble_fraction");
            double textbook = (double)m / (m + Stages - 1);
            Assert.That(utilization, Is.EqualTo(textbook).Within(0.01), $"M={m}: 1 - bubble_fraction vs M/(M+P-1)");
        }
        Assert.That(seenMicrobatches, Is.EqualTo(new[] { 1, 2, 4, 8, 16 }));

        var serial = CliHarness.Run("sweep", scenario, "--out", tmp.Sub("jobs1"), "--jobs", "1", "--no-report");
        Assert.That(serial.ExitCode, Is.EqualTo(0), serial.ToString());
        Assert.That(File.ReadAllBytes(tmp.Sub("jobs1", "sweep.csv")), Is.EqualTo(File.ReadAllBytes(tmp.Sub("jobs2", "sweep.csv"))),
            "a parallel sweep gives the same sweep.csv as a serial one");
    }

    [Test]
    public void Sweep_DesignReview_Tp1RowIsNotOkForMemoryAndTheOthersAreOk()
    {
        using var tmp = new TempDir();
        var r = CliHarness.Run("sweep", CliHarness.Scenario("design-review-tp.yaml"), "--set", "workload.requests=200",
            "--out", tmp.Path, "--jobs", "2", "--no-report");

        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        var table = CsvTable.Read(tmp.Sub("sweep.csv"));
        Assert.That(table.Header, Is.SupersetOf(SweepColumns.Concat(new[] { "status", "error" })));
        Assert.That(table.Rows, Has.Count.EqualTo(3));
        int tp = table.Column("parallelism.tensor_parallel_size"), status = table.Column("status"), error = table.Column("error");
        foreach (var row in table.Rows)
        {
            if (row[tp] == "1")
            {
                Assert.That(row[status], Is.Not.EqualTo("ok"));
                Assert.That(row[error].ToLowerInvariant(), Does.Contain("memory").Or.Contain("does not fit"));
            }
            else
            {
                Assert.That(row[status], Is.EqualTo("ok"), $"TP={row[tp]}: {row[error]}");
                Assert.That(int.Parse(row[table.Column("completed")], System.Globalization.CultureInfo.InvariantCulture), Is.GreaterThan(0));
            }
        }
        Assert.That(table.Rows.Select(row => row[tp]), Is.EquivalentTo(new[] { "1", "2", "4" }));
    }
}
