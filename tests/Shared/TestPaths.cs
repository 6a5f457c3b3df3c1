namespace Simulator.Tests.Shared;

/// <summary>Locates the repository root and its data folder (data/, with provenance in data/README.md).</summary>
internal static class TestPaths
{
    private static readonly Lazy<string> Root = new(() =>
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "Simulator.sln"))) dir = dir.Parent;
        if (dir == null)
        {
            // Isolated build outputs (SIM_ARTIFACTS) live outside the repository: fall back to where this
            // source file was compiled from (tests/Shared/TestPaths.cs), then to the working directory.
            var source = ThisFile();
            dir = string.IsNullOrEmpty(source) ? null : new FileInfo(source).Directory?.Parent?.Parent;
            if (dir == null || !File.Exists(Path.Combine(dir.FullName, "Simulator.sln")))
            {
                dir = new DirectoryInfo(Directory.GetCurrentDirectory());
                while (dir != null && !File.Exists(Path.Combine(dir.FullName, "Simulator.sln"))) dir = dir.Parent;
            }
        }
        return dir?.FullName ?? throw new InvalidOperationException("repository root (Simulator.sln) not found");
    });

    private static string ThisFile([System.Runtime.CompilerServices.CallerFilePath] string path = "") => path;

    /// <summary>The repository root (the folder holding Simulator.sln).</summary>
    public static string RepoRoot => Root.Value;

    /// <summary>The repository's data folder (data/): traces, model configs, calibration measurements.</summary>
    public static string DataRoot => Path.Combine(RepoRoot, "data");

    /// <summary>A path under <see cref="DataRoot"/>.</summary>
    public static string Data(params string[] parts) => Path.Combine(new[] { DataRoot }.Concat(parts).ToArray());
}
