using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Simulator.Tests.Shared;

namespace Simulator.Cli.Tests;

/// <summary>
/// The native (Native AOT) <c>sim</c> of <c>tools/publish-native</c> behaves like the JIT build: for shipped scenarios
/// (a run with its report, a Parquet run and its report, a sharded sweep merged, a plan, the JSON of <c>sim memory</c> and <c>sim step</c>, a bad
/// input) every file it writes has the same sha256 (perf.json aside: it holds wall-clock times), and stdout, stderr and
/// the exit code are the same; every case of the bad-input corpus gives the same exit code and error line.
/// The binary is <c>$SIM_NATIVE</c> (then it must exist: CI sets it after publishing, so a failed publish fails here)
/// or <c>artifacts/native/sim</c>; without either the tests are ignored with the reason.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed partial class NativeBuildSamenessTest
{
    /// <summary>The native binary, or null (with the reason the tests are ignored).</summary>
    private static string NativeBinary()
    {
        var explicitPath = Environment.GetEnvironmentVariable("SIM_NATIVE");
        if (!string.IsNullOrEmpty(explicitPath))
        {
            Assert.That(File.Exists(explicitPath), Is.True,
                $"SIM_NATIVE={explicitPath} does not exist: the native publish (tools/publish-native) failed or wrote elsewhere");
            return Path.GetFullPath(explicitPath);
        }
        var published = Path.Combine(TestPaths.RepoRoot, "artifacts", "native", "sim");
        if (!File.Exists(published))
            Assert.Ignore($"no native sim at {published} and SIM_NATIVE is not set: run tools/publish-native to build it");
        return published;
    }

    /// <summary>A shipped-scenario case: commands run one after another in one folder ({box} in an argument is that folder).</summary>
    public sealed record Case(string Name, string[][] Commands)
    {
        public override string ToString() => Name;
    }

    private static string S(string name) => CliHarness.Scenario(name);

    // Sweeps and plans run with --jobs 1: with more jobs their progress lines come in the order points finish.
    public static IEnumerable<Case> Cases() =>
    [
        new("run-with-report", [["run", S("quickstart.yaml"), "--out", "{box}/run"]]),
        new("sweep-shards-merged",
        [
            ["sweep", S("pipeline-bubbles.yaml"), "--shard", "0/2", "--jobs", "1", "--out", "{box}/s0", "--no-report"],
            ["sweep", S("pipeline-bubbles.yaml"), "--shard", "1/2", "--jobs", "1", "--out", "{box}/s1", "--no-report"],
            ["merge", "{box}/s0", "{box}/s1", "--out", "{box}/merged"],
        ]),
        // Parquet.Net is the one package with trim/AOT warnings: its writer (the run) and reader (`sim report`) run here.
        new("parquet-run-then-report",
        [
            ["run", S("azure-conv-llama70b.yaml"), "--set", "workload.trace.limit=1000", "--set", "output.format=parquet", "--out", "{box}/pq", "--no-report"],
            ["report", "{box}/pq", "--out", "{box}/pq-report"],
        ]),
        new("plan", [["plan", S("design-review-tp.yaml"), "--gpus", "4", "--max-requests", "100", "--jobs", "1", "--out", "{box}/plan"]]),
        new("memory-and-step-json",
        [
            ["memory", S("wide-ep-deepseek-v3-pd.yaml"), "--json"],
            ["memory", S("pipeline-tp8-pp2.yaml"), "--json"],
            ["step", "--model", "llama-3.1-70b", "--gpu", "H100-SXM-80GB", "--tp", "4", "--phase", "decode", "--batch", "64", "--prompt", "1024", "--json"],
        ]),
        new("bad-input", [["run", S("quickstart.yaml"), "--set", "scheduler.policy=nope", "--out", "{box}/bad"]]),
    ];

    [TestCaseSource(nameof(Cases))]
    public void NativeBinary_WritesTheSameFilesAndOutput_AsTheJitBuild(Case c)
    {
        var native = NativeBinary();
        using var tmp = new TempDir();
        // Both builds write into the same absolute folder (paths appear in stdout and the report), moved aside after each.
        var box = tmp.Sub("box");
        var jit = RunAll(c, box, native: null);
        Directory.Move(box, tmp.Sub("jit"));
        var nat = RunAll(c, box, native);
        Directory.Move(box, tmp.Sub("native"));

        for (int i = 0; i < c.Commands.Length; i++)
        {
            Assert.That(nat[i].ExitCode, Is.EqualTo(jit[i].ExitCode), $"command {i}: exit code\nJIT: {jit[i]}\nnative: {nat[i]}");
            Assert.That(WithoutWallTimes(nat[i].StdOut), Is.EqualTo(WithoutWallTimes(jit[i].StdOut)), $"command {i}: stdout");
            Assert.That(nat[i].StdErr, Is.EqualTo(jit[i].StdErr), $"command {i}: stderr");
        }
        var jitFiles = Digests(tmp.Sub("jit"));
        Assert.That(Digests(tmp.Sub("native")), Is.EqualTo(jitFiles), "every file but perf.json, byte for byte");
        if (c.Name != "memory-and-step-json" && c.Name != "bad-input")
            Assert.That(jitFiles.Keys.Count(k => k.EndsWith(".csv", StringComparison.Ordinal)), Is.GreaterThan(0), "the case wrote tables");
    }

    [Test]
    public void NativeBinary_GivesTheJitBuildsErrorLine_ForEveryBadInputCorpusCase()
    {
        var native = NativeBinary();
        int compared = 0;
        foreach (var c in BadInputCorpusTests.Corpus())
        {
            using var tmp = new TempDir();
            c.SetUp(tmp.Path);
            var args = c.ArgsIn(tmp.Path);
            var jit = CliHarness.Run(args);
            var nat = Start(native, args, tmp.Path);
            Assert.That((nat.ExitCode, nat.StdErr.TrimEnd()), Is.EqualTo((jit.ExitCode, jit.StdErr.TrimEnd())), $"{c.Name}: native vs JIT (in-process)");
            compared++;
        }
        Assert.That(compared, Is.GreaterThan(60));
    }

    /// <summary>The console summary's wall-clock figures ("in 0.29 s wall (73467 events/s)"), the one thing allowed to differ.</summary>
    private static string WithoutWallTimes(string text) => WallTime().Replace(text, "in <wall>");

    [GeneratedRegex(@"in [0-9.]+ s wall \([0-9]+ events/s\)")]
    private static partial Regex WallTime();

    /// <summary>`dotnet sim.dll ARGS`: the JIT (ReadyToRun) build these tests are compiled against.</summary>
    private static (string File, string[] Args) JitCommand(string[] args)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        return (string.IsNullOrEmpty(dotnet) ? "dotnet" : dotnet, [Path.Combine(AppContext.BaseDirectory, "sim.dll"), .. args]);
    }

    // Implementation note: sim.dll here is the CLI's RID-specific build (its deps.json puts SkiaSharp's native library
    // beside it), copied into this test project's folder, which holds that library under runtimes/<rid>/native instead:
    // the JIT child finds it there through LD_LIBRARY_PATH (the native binary has its own beside it).
    private static readonly string JitNativeLibraries =
        Path.Combine(AppContext.BaseDirectory, "runtimes", System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier, "native");

    /// <summary>Runs the case's commands in <paramref name="box"/> with the native binary, or the JIT build when it is null.</summary>
    private static List<CliResult> RunAll(Case c, string box, string? native)
    {
        Directory.CreateDirectory(box);
        var results = new List<CliResult>();
        foreach (var cmd in c.Commands)
        {
            var args = cmd.Select(a => a.Replace("{box}", box)).ToArray();
            var (file, all) = native is null ? JitCommand(args) : (native, args);
            results.Add(Start(file, all, box, jit: native is null));
        }
        return results;
    }

    private static CliResult Start(string file, string[] args, string workingDirectory, bool jit = false)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingDirectory,
        };
        if (jit && Directory.Exists(JitNativeLibraries)) start.Environment["LD_LIBRARY_PATH"] = JitNativeLibraries;
        foreach (var a in args) start.ArgumentList.Add(a);
        using var child = Process.Start(start)!;
        var stderr = child.StandardError.ReadToEndAsync();
        var stdout = child.StandardOutput.ReadToEnd();
        if (!child.WaitForExit(300_000))
        {
            child.Kill(entireProcessTree: true);
            Assert.Fail($"{file} {string.Join(' ', args)} did not finish in 5 minutes");
        }
        return new CliResult(child.ExitCode, stdout, stderr.Result);
    }

    /// <summary>sha256 of every file under <paramref name="root"/> by relative path, perf.json (wall-clock times) left out.</summary>
    private static Dictionary<string, string> Digests(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Where(p => Path.GetFileName(p) != "perf.json")
            .ToDictionary(p => Path.GetRelativePath(root, p), p => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(p))));
}
