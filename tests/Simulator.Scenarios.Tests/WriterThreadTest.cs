using NUnit.Framework;
using Simulator.Tests.Shared;

namespace Simulator.Scenarios.Tests;

/// <summary>The writer thread (<see cref="ScenarioRunner.UsesWriterThread"/>) changes when rows are written, never what.</summary>
[TestFixture]
public sealed class WriterThreadTest
{
    private static Scenario Load(string file, params string[] sets) =>
        RunBuilder.Load(Path.Combine(TestPaths.RepoRoot, "scenarios", file), sets);

    [Test]
    public void WriterThread_IsOnForTwoOrMoreThreads_NotForAutoOrOne()
    {
        var scenario = Load("quickstart.yaml");
        Assert.That(ScenarioRunner.UsesWriterThread(scenario), Is.False, "auto");
        Assert.That(ScenarioRunner.UsesWriterThread(Load("quickstart.yaml", "run.threads=1")), Is.False);
        Assert.That(ScenarioRunner.UsesWriterThread(ScenarioRunner.OneThreadUnlessNamed(scenario)), Is.False, "a sweep or plan point");
        Assert.That(ScenarioRunner.UsesWriterThread(Load("quickstart.yaml", "run.threads=2")), Is.EqualTo(Environment.ProcessorCount > 1));
    }

    // One scenario per runner and output path: replicas, pools (PoolRunner), faults, Parquet, data-parallel engines.
    [TestCase("quickstart.yaml")]
    [TestCase("disaggregation.yaml", "workload.trace.limit=300")]
    [TestCase("faults-gpu-down.yaml", "workload.trace.limit=300")]
    [TestCase("azure-conv-llama70b.yaml", "workload.trace.limit=500", "output.format=parquet")]
    [TestCase("fleet-1m.yaml", "workload.requests=1500", "output.iterations=all")]
    public void Run_WritesTheSameBytesWithAndWithoutTheWriterThread(string file, params string[] sets)
    {
        if (Environment.ProcessorCount < 2) Assert.Ignore("one logical processor: the writer thread is never on");
        var root = Path.Combine(Path.GetTempPath(), "sim-writer-thread", Guid.NewGuid().ToString("N"));
        try
        {
            Dictionary<string, byte[]> Run(string threads)
            {
                var scenario = Load(file, [.. sets, "run.threads=" + threads]);
                var dir = ScenarioRunner.Run(scenario, Path.Combine(root, threads)).Directory;
                return Directory.GetFiles(dir).Where(f => Path.GetFileName(f) is not ("perf.json" or "scenario.yaml"))
                    .ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);
            }

            var off = Run("1");
            var on = Run("2");
            Assert.That(on.Keys, Is.EquivalentTo(off.Keys));
            foreach (var (name, bytes) in off) Assert.That(on[name], Is.EqualTo(bytes), name);
        }
        finally
        {
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        }
    }
}
