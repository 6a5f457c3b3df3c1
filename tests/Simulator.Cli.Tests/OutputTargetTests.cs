using System.Diagnostics;

namespace Simulator.Cli.Tests;

/// <summary>
/// `--out` replaces only what this tool wrote, and an interrupted run (SIGINT, SIGTERM) leaves nothing behind:
/// the child-process tests start `dotnet sim.dll run ...`, signal it mid-run and look at what is left.
/// </summary>
[TestFixture, NonParallelizable]
public sealed class OutputTargetTests
{
    /// <summary>A run of 20 short requests: well under a second.</summary>
    internal const string Small = """
        name: out-test
        model: llama-3.1-8b
        workload:
          arrivals: {process: poisson, rate_per_s: 8}
          input_tokens: 64
          output_tokens: 4
          requests: 20
        """;

    // Long enough to be interrupted: it would run for minutes; the tests signal it as soon as its folder appears.
    private const string Long = """
        name: long-run
        model: llama-3.1-8b
        workload:
          arrivals: {process: poisson, rate_per_s: 50}
          input_tokens: 256
          output_tokens: 64
          requests: 5000000
        """;

    [Test]
    public void Rerun_ReplacesItsOwnRunDirectory()
    {
        using var tmp = new TempDir();
        var scenario = tmp.Write("s.yaml", Small);
        var outDir = tmp.Sub("run");
        Assert.That(CliHarness.Run("run", scenario, "--out", outDir, "--no-report").ExitCode, Is.EqualTo(0));
        File.WriteAllText(Path.Combine(outDir, "stale.txt"), "from an earlier run");

        var r = CliHarness.Run("run", scenario, "--out", outDir, "--no-report", "--seed", "2");

        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(File.Exists(Path.Combine(outDir, "stale.txt")), Is.False, "a run directory of ours is replaced whole");
        Assert.That(File.ReadAllText(Path.Combine(outDir, "scenario.yaml")), Does.Contain("seed: 2"));
        Assert.That(Directory.GetFileSystemEntries(tmp.Path).Select(Path.GetFileName), Is.EquivalentTo(new[] { "s.yaml", "run" }));
    }

    [Test]
    public void EmptyFolder_IsUsed()
    {
        using var tmp = new TempDir();
        var scenario = tmp.Write("s.yaml", Small);
        Directory.CreateDirectory(tmp.Sub("empty"));

        var r = CliHarness.Run("run", scenario, "--out", tmp.Sub("empty"), "--no-report");

        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(File.Exists(tmp.Sub("empty", "summary.json")), Is.True);
    }

    [Test]
    public void FolderOfUserFiles_IsRefusedBeforeSimulating_AndKeptIntact()
    {
        using var tmp = new TempDir();
        var scenario = tmp.Write("s.yaml", Small);
        Directory.CreateDirectory(tmp.Sub("mine"));
        File.WriteAllText(tmp.Sub("mine", "thesis.tex"), "precious");

        var r = CliHarness.Run("run", scenario, "--out", tmp.Sub("mine"), "--no-report");

        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.StdOut, Does.Not.Contain("Simulation:"), "refused before anything is simulated");
        Assert.That(r.ErrorLines.Single(), Does.Contain("nothing was deleted"));
        Assert.That(File.ReadAllText(tmp.Sub("mine", "thesis.tex")), Is.EqualTo("precious"));
        Assert.That(Directory.GetFileSystemEntries(tmp.Sub("mine")), Has.Length.EqualTo(1));
    }

    [Test]
    public void Sweep_RerunReplacesItsOwnSweepDirectory_AndRefusesUserFiles()
    {
        using var tmp = new TempDir();
        var scenario = tmp.Write("s.yaml", Small + "\nsweep: {seed: [1, 2]}\n");
        var outDir = tmp.Sub("sweep");
        Assert.That(CliHarness.Run("sweep", scenario, "--out", outDir, "--jobs", "1", "--no-report").ExitCode, Is.EqualTo(0));
        Assert.That(CliHarness.Run("sweep", scenario, "--out", outDir, "--jobs", "1", "--no-report").ExitCode, Is.EqualTo(0), "its own sweep directory is replaced");
        Assert.That(Directory.GetDirectories(tmp.Sub("sweep", "points")), Has.Length.EqualTo(2));
        Assert.That(Directory.GetFileSystemEntries(tmp.Path).Select(Path.GetFileName), Is.EquivalentTo(new[] { "s.yaml", "sweep" }), "no partial folder left");

        File.WriteAllText(tmp.Sub("notes.txt"), "x");
        var r = CliHarness.Run("sweep", scenario, "--out", tmp.Path, "--no-report");
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(File.Exists(tmp.Sub("notes.txt")), Is.True);
    }

    [TestCase("INT", 130)]
    [TestCase("TERM", 143)]
    public void Interrupted_RemovesItsPartialFolder_AndExitsWithTheSignalCode(string signal, int exitCode)
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("POSIX signals, sent with kill and GNU env");
        using var tmp = new TempDir();
        var scenario = tmp.Write("long.yaml", Long);
        var outDir = tmp.Sub("results", "long");
        var (exit, stderr) = Interrupt(signal, tmp.Sub("results"), "timeline.json", "run", scenario, "--out", outDir, "--no-report");

        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(exit, Is.EqualTo(exitCode), stderr);
        Assert.That(lines, Has.Length.EqualTo(1), stderr);
        Assert.That(lines[0], Does.StartWith("error: interrupted by SIG" + signal));
        Assert.That(Directory.Exists(outDir), Is.False, "no run directory appears");
        Assert.That(Directory.GetFileSystemEntries(tmp.Sub("results")), Is.Empty, "the .partial- folder is removed");
    }

    /// <summary>
    /// Starts `dotnet sim.dll ARGS`, waits until a .partial- folder in <paramref name="watchDir"/> holds <paramref name="readyFile"/>
    /// (anywhere below it), signals the process with SIG<paramref name="signal"/> and returns its exit code and stderr.
    /// </summary>
    internal static (int ExitCode, string StdErr) Interrupt(string signal, string watchDir, string readyFile, params string[] args) =>
        Interrupt(signal, watchDir, readyFile, TimeSpan.FromMilliseconds(300), args);

    /// <summary>As <see cref="Interrupt(string, string, string, string[])"/>, signalling <paramref name="settle"/> after the ready file appears.</summary>
    internal static (int ExitCode, string StdErr) Interrupt(string signal, string watchDir, string readyFile, TimeSpan settle, params string[] args)
    {
        var sim = Path.Combine(AppContext.BaseDirectory, "sim.dll");
        // A process started from a background job inherits SIGINT ignored, and .NET keeps an ignored SIGINT ignored:
        // GNU env resets it to the default first (and execs dotnet, so the pid is the simulator's).
        var start = new ProcessStartInfo("env") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { "--default-signal=INT", "dotnet", sim }.Concat(args)) start.ArgumentList.Add(a);
        using var child = Process.Start(start)!;
        var stderr = child.StandardError.ReadToEndAsync();
        var stdout = child.StandardOutput.ReadToEndAsync();

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!PartialExists(watchDir, readyFile) && !child.HasExited && DateTime.UtcNow < deadline) Thread.Sleep(20);
        Assert.That(child.HasExited, Is.False, "the process is still going when signalled");
        Thread.Sleep(settle); // by default well into the simulation: rows are being streamed
        using (var kill = Process.Start("kill", $"-{signal} {child.Id}")) kill.WaitForExit();
        if (!child.WaitForExit(30_000)) { child.Kill(true); Assert.Fail("the process did not stop on SIG" + signal); }
        return (child.ExitCode, stderr.Result);
    }

    [Test]
    public void InterruptedDuringItsReport_RemovesTheWholeRun_NoHalfWrittenReportIsPublished()
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("POSIX signals, sent with kill and GNU env");
        using var tmp = new TempDir();
        // 100,000 requests: about a second of simulation, then some 0.4 s of report. summary.json appears in the hidden
        // sibling when the run's files are closed, just before the report is built there; the signal follows at once.
        var scenario = tmp.Write("mid.yaml", Long.Replace("requests: 5000000", "requests: 100000"));
        var outDir = tmp.Sub("results", "mid");

        var (exit, stderr) = Interrupt("INT", tmp.Sub("results"), "summary.json", TimeSpan.Zero, "run", scenario, "--out", outDir);

        Assert.That(exit, Is.EqualTo(130), stderr);
        Assert.That(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Single(), Does.StartWith("error: interrupted by SIGINT; 1 unfinished output folder(s) removed"));
        Assert.That(Directory.Exists(outDir), Is.False, "the run is not published without its report, nor with half of it");
        Assert.That(Directory.GetFileSystemEntries(tmp.Sub("results")), Is.Empty, "the .partial- folder, report and all, is removed");
    }

    private static bool PartialExists(string dir, string readyFile) =>
        Directory.Exists(dir) && Directory.EnumerateDirectories(dir).Any(d => Path.GetFileName(d).Contains(".partial-", StringComparison.Ordinal)
            && SafeAny(d, readyFile));

    private static bool SafeAny(string dir, string file)
    {
        try { return Directory.EnumerateFiles(dir, file, SearchOption.AllDirectories).Any(); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return false; }
    }
}

/// <summary>Idle simulated time costs neither events nor timeseries rows, and the time series still adds up.</summary>
[TestFixture, NonParallelizable]
public sealed class IdleTimeTests
{
    [Test]
    public void RunWithLongIdleGaps_WritesRowsPerActivityNotPerIdleSecond_AndTheTokenRatesStillSumToTheTokens()
    {
        using var tmp = new TempDir();
        // 4 requests 100,000 s apart: 300,000 idle simulated seconds, one sample per second would be 300,000 rows.
        var scenario = tmp.Write("idle.yaml", """
            name: idle
            model: llama-3.1-8b
            workload:
              arrivals: {process: constant, rate_per_s: 0.00001}
              input_tokens: 128
              output_tokens: 32
              requests: 4
            """);
        var outDir = tmp.Sub("run");

        var r = CliHarness.Run("run", scenario, "--out", outDir, "--no-report");

        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        var series = CsvTable.Read(Path.Combine(outDir, "timeseries.csv"));
        Assert.That(series.Rows.Count, Is.LessThan(40), "a few rows around each request, none per idle second");
        double previous = 0, tokens = 0;
        for (int i = 0; i < series.Rows.Count; i++)
        {
            double t = series.Number(i, "time_s");
            tokens += series.Number(i, "output_tokens_per_s") * (t - previous);
            previous = t;
        }
        Assert.That(tokens, Is.EqualTo(4 * 32).Within(0.5), "rate x interval over the rows gives back every generated token");
        Assert.That(series.Number(series.Rows.Count - 1, "time_s"), Is.GreaterThan(300_000), "the series spans the whole run");
    }
}
