namespace Simulator.Cli.Tests;

/// <summary>`sim memory`: exit 0 when the plan fits, 3 with the buckets named when it does not.</summary>
[TestFixture, NonParallelizable]
public sealed class MemoryVerbTests
{
    private static readonly string DesignReview = CliHarness.Scenario("design-review-tp.yaml");

    [Test]
    public void Memory_DesignReviewAtTp2_FitsAndExitsZero()
    {
        var r = CliHarness.Run("memory", DesignReview, "--set", "parallelism.tensor_parallel_size=2");

        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.StdErr, Is.Empty, r.ToString());
        Assert.That(r.StdOut, Does.Contain("weights").And.Contain("KV"));
    }

    [Test]
    public void Memory_DesignReviewAtTp1_ExitsThreeNamingWeightsAndKvOnStderr()
    {
        var r = CliHarness.Run("memory", DesignReview, "--set", "parallelism.tensor_parallel_size=1");

        Assert.That(r.ExitCode, Is.EqualTo(3), r.ToString());
        Assert.That(r.StdErr, Does.Not.Contain("   at "), r.ToString());
        Assert.That(r.ErrorLines, Is.Not.Empty);
        Assert.That(r.ErrorLines, Has.All.StartWith("error:"));
        Assert.That(r.StdErr, Does.Contain("weights"), "the weights bucket is named");
        Assert.That(r.StdErr, Does.Contain("KV"), "the KV bucket is named");
    }

    [Test]
    public void Memory_Json_PrintsOneObject()
    {
        var r = CliHarness.Run("memory", DesignReview, "--json");

        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        var o = ProbeVerbTests.SingleJsonObject(r);
        Assert.That(o.GetProperty("fits").GetBoolean(), Is.True);
        Assert.That(o.GetProperty("kv_capacity_tokens").GetInt64(), Is.GreaterThan(0));
    }
}
