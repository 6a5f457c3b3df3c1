using NUnit.Framework;
using Simulator.Inference.Metrics;

namespace Simulator.Inference.Tests.Metrics;

/// <summary>A staged output is published whole or not at all, and replaces only an earlier output of its own kind.</summary>
[TestFixture]
public sealed class StagedOutputTest
{
    private string _root = "";

    [SetUp]
    public void SetUp()
    {
        _root = Path.Combine(Path.GetTempPath(), "staged-output-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(_root);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_root, recursive: true);

    [Test]
    public void Unpublished_LeavesNeitherTheFolderNorItsSiblingNorTheParentsItCreated()
    {
        var target = Path.Combine(_root, "a", "b", "plan");
        using (var output = StagedOutput.Begin(target, OutputKind.Plan))
        {
            File.WriteAllText(Path.Combine(output.TempDirectory, "plan.csv"), "half");
            Assert.That(Path.GetFileName(output.TempDirectory), Does.StartWith(".plan.partial-"));
            Assert.That(File.Exists(Path.Combine(output.TempDirectory, OutputTarget.PlanMarker)), Is.True);
        }
        Assert.That(Directory.GetFileSystemEntries(_root), Is.Empty);
    }

    [Test]
    public void Publish_ReplacesAnEarlierOutputOfItsKindWhole_AndMapsPathsToTheTarget()
    {
        var target = Path.Combine(_root, "val");
        Directory.CreateDirectory(target);
        File.WriteAllBytes(Path.Combine(target, OutputTarget.ValidateMarker), []);
        File.WriteAllText(Path.Combine(target, "stale.txt"), "old");

        using (var output = StagedOutput.Begin(target, OutputKind.Validate))
        {
            var csv = Path.Combine(output.TempDirectory, "validation.csv");
            File.WriteAllText(csv, "new");
            output.Publish();
            Assert.That(output.Final(csv), Is.EqualTo(Path.Combine(target, "validation.csv")));
        }
        Assert.That(Directory.GetFileSystemEntries(target).Select(Path.GetFileName), Is.EquivalentTo(new[] { OutputTarget.ValidateMarker, "validation.csv" }));
        Assert.That(Directory.GetFileSystemEntries(_root).Select(Path.GetFileName), Is.EqualTo(new[] { "val" }));
    }

    [TestCase(".sim-sweep")]
    [TestCase(".sim-run")]
    [TestCase("notes.txt")]
    public void Begin_RefusesAFolderThatIsNotOfItsKind_AndWritesNothing(string file)
    {
        var target = Path.Combine(_root, "out");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, file), "");

        var ex = Assert.Throws<OutputTargetException>(() => StagedOutput.Begin(target, OutputKind.Plan).Dispose());

        Assert.That(ex!.Message, Does.Contain("not a plan directory of sim (no .sim-plan marker)"));
        Assert.That(Directory.GetFileSystemEntries(_root).Select(Path.GetFileName), Is.EqualTo(new[] { "out" }));
        Assert.That(Directory.GetFileSystemEntries(target).Select(Path.GetFileName), Is.EqualTo(new[] { file }));
    }

    [Test]
    public void OlderOutputsWithoutAMarker_CountAsTheirKindByTheirFiles()
    {
        var plan = Path.Combine(_root, "plan");
        Directory.CreateDirectory(Path.Combine(plan, "points"));
        File.WriteAllText(Path.Combine(plan, "plan.csv"), "");
        var val = Path.Combine(_root, "val");
        Directory.CreateDirectory(val);
        File.WriteAllText(Path.Combine(val, "validation.csv"), "");
        File.WriteAllText(Path.Combine(val, "validation_points.csv"), "");

        Assert.That((OutputTarget.IsPlanDirectory(plan), OutputTarget.IsValidateDirectory(plan)), Is.EqualTo((true, false)));
        Assert.That((OutputTarget.IsPlanDirectory(val), OutputTarget.IsValidateDirectory(val)), Is.EqualTo((false, true)));
    }
}
