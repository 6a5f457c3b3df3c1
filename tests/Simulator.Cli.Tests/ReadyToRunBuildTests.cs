using System.Reflection.PortableExecutable;

namespace Simulator.Cli.Tests;

/// <summary>
/// The Release build of the CLI carries ReadyToRun code (Directory.Build.targets, SimReadyToRunOutput), so `sim`
/// starts without compiling its own methods; `dotnet sim.dll` (as these tests and users start it) still runs it.
/// </summary>
[TestFixture]
public sealed class ReadyToRunBuildTests
{
    [Test]
    public void ReleaseBuild_SimDll_HasAReadyToRunHeader()
    {
#if DEBUG
        Assert.Ignore("ReadyToRun images are built in Release only (dotnet test -c Release)");
#else
        var path = Path.Combine(AppContext.BaseDirectory, "sim.dll");
        using var pe = new PEReader(File.OpenRead(path));
        var cor = pe.PEHeaders.CorHeader;
        Assert.That(cor, Is.Not.Null, $"{path} is not a managed assembly");
        Assert.That(cor!.ManagedNativeHeaderDirectory.Size, Is.GreaterThan(0),
            $"{path} has no ReadyToRun header: the SimReadyToRunOutput step after Build did not run");
#endif
    }
}
