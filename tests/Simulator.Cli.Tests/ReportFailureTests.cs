namespace Simulator.Cli.Tests;

/// <summary>How a failure reaches the user: one `error:` line and its exit code, never a .NET type name.</summary>
[NonParallelizable]
public sealed class ReportFailureTests
{
    [Test]
    public void AFileThatCannotBeWritten_IsOneLine_WithExit2_NotAnInternalError()
    {
        // What a report prints when report.md's name is taken by a folder (or the disk refuses it): not a bug in sim.
        var (code, err) = Capture(new UnauthorizedAccessException("Access to the path '/runs/r/report.md' is denied."));

        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Is.EqualTo("error: Access to the path '/runs/r/report.md' is denied.\n"));
    }

    [Test]
    public void AnUnexpectedFailure_IsStillReportedAsInternal()
    {
        var (code, err) = Capture(new InvalidOperationException("stage 3 has no group"));

        Assert.That(code, Is.Not.EqualTo(2));
        Assert.That(err, Does.StartWith("error: internal: stage 3 has no group"));
    }

    private static (int Code, string Err) Capture(Exception e)
    {
        var old = Console.Error;
        var err = new StringWriter { NewLine = "\n" };
        try
        {
            Console.SetError(err);
            return (CliVerbs.ReportFailure(e), err.ToString());
        }
        finally { Console.SetError(old); }
    }
}
