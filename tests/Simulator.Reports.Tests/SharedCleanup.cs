namespace Simulator.Reports.Tests;

/// <summary>Removes the reports that <see cref="Fixtures.Shared"/> built, once every test of the assembly has run.</summary>
[SetUpFixture]
public sealed class SharedCleanup
{
    [OneTimeTearDown]
    public void DeleteSharedReports() => Fixtures.Shared.Delete();
}
