using System.Diagnostics;
using Simulator.Tests.Shared;
using YamlDotNet.RepresentationModel;

namespace Simulator.Cli.Tests;

/// <summary>tools/cluster: the Slurm job-array script is valid bash and the Kubernetes manifest is an Indexed Job plus a merge Job.</summary>
[TestFixture]
public sealed class ClusterToolsTests
{
    private static string Tool(string name) => Path.Combine(TestPaths.RepoRoot, "tools", "cluster", name);

    [Test]
    public void SlurmScript_PassesBashSyntaxCheck_AndSubmitsAnArrayThenADependentMerge()
    {
        var script = Tool("slurm-sweep.sh");
        var psi = new ProcessStartInfo("bash") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add("-n");
        psi.ArgumentList.Add(script);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.That(p.ExitCode, Is.EqualTo(0), "bash -n: " + err);
        var text = File.ReadAllText(script);
        Assert.That(text, Does.Contain("--array=\"0-$((shards - 1))\""));
        Assert.That(text, Does.Contain("--shard \\${SLURM_ARRAY_TASK_ID}/$shards"));
        Assert.That(text, Does.Contain("--dependency=\"afterok:${array_id}\"").And.Contain("merge"));
    }

    [Test]
    public void KubernetesManifest_IsValidYaml_WithAnIndexedShardJobAndAMergeJob()
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(Tool("k8s-sweep.yaml"))) yaml.Load(reader);
        var jobs = yaml.Documents.Select(d => (YamlMappingNode)d.RootNode)
            .Where(m => ((YamlScalarNode)m["kind"]).Value == "Job").ToList();
        Assert.That(jobs, Has.Count.EqualTo(2), "a shard Job and a merge Job");

        var shards = (YamlMappingNode)jobs[0]["spec"];
        Assert.That(((YamlScalarNode)shards["completionMode"]).Value, Is.EqualTo("Indexed"));
        int completions = int.Parse(((YamlScalarNode)shards["completions"]).Value!, System.Globalization.CultureInfo.InvariantCulture);
        var shardArgs = string.Join(" ", ((YamlSequenceNode)((YamlMappingNode)((YamlSequenceNode)((YamlMappingNode)((YamlMappingNode)shards["template"])["spec"])["containers"])[0])["args"]).Select(n => ((YamlScalarNode)n).Value));
        Assert.That(shardArgs, Does.Contain($"--shard \"${{JOB_COMPLETION_INDEX}}/{completions}\""), "shard I of completions");

        var mergeCommand = ((YamlSequenceNode)((YamlMappingNode)((YamlSequenceNode)((YamlMappingNode)((YamlMappingNode)((YamlMappingNode)jobs[1]["spec"])["template"])["spec"])["containers"])[0])["command"])
            .Select(n => ((YamlScalarNode)n).Value).ToList();
        Assert.That(mergeCommand, Does.Contain("merge"));
        Assert.That(mergeCommand.Count(a => a!.StartsWith("/results/shard-", StringComparison.Ordinal)), Is.EqualTo(completions), "the merge names every shard");
    }
}
