using System.Globalization;
using System.Text;
using Simulator.Tests.Shared;

namespace Simulator.Cli.Tests;

/// <summary>What one in-process `sim` invocation returned: exit code and everything printed.</summary>
public sealed record CliResult(int ExitCode, string StdOut, string StdErr)
{
    /// <summary>Non-empty stderr lines.</summary>
    public IReadOnlyList<string> ErrorLines =>
        StdErr.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToList();

    /// <summary>Everything, for assertion messages.</summary>
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{StdOut}\n--- stderr ---\n{StdErr}";
}

/// <summary>
/// Runs <see cref="CliApp.Execute"/> in-process with Console.Out and Console.Error captured, and restores
/// the console afterwards. Console is process-global, so every fixture using this is [NonParallelizable].
/// </summary>
public static class CliHarness
{
    /// <summary>Runs `sim args...` and returns its exit code and output.</summary>
    public static CliResult Run(params string[] args)
    {
        var oldOut = Console.Out;
        var oldErr = Console.Error;
        var stdout = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        var stderr = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        try
        {
            Console.SetOut(stdout);
            Console.SetError(stderr);
            int code = CliApp.Execute(args);
            return new CliResult(code, stdout.ToString(), stderr.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
    }

    /// <summary>Absolute path of a shipped scenario (scenarios/NAME).</summary>
    public static string Scenario(string fileName) => Path.Combine(TestPaths.RepoRoot, "scenarios", fileName);

    /// <summary>The Azure conversation trace shipped in data/traces, absolute.</summary>
    public static string AzureConvTrace => TestPaths.Data("traces", "azure-llm-2023-conv.csv");
}

/// <summary>A fresh temporary folder, deleted on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "sim-cli-tests-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    /// <summary>The folder's absolute path.</summary>
    public string Path { get; }

    /// <summary>A path inside the folder.</summary>
    public string Sub(params string[] parts) => System.IO.Path.Combine(new[] { Path }.Concat(parts).ToArray());

    /// <summary>Writes a text file inside the folder (LF line ends) and returns its path.</summary>
    public string Write(string name, string text)
    {
        var p = Sub(name);
        File.WriteAllText(p, text.Replace("\r\n", "\n"), new UTF8Encoding(false));
        return p;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { /* best effort: a leftover temp folder is harmless */ }
        catch (UnauthorizedAccessException) { }
    }
}

/// <summary>A parsed CSV file: header and rows (RFC 4180 quoting).</summary>
public sealed record CsvTable(IReadOnlyList<string> Header, IReadOnlyList<IReadOnlyList<string>> Rows)
{
    /// <summary>Reads a CSV file with a header row.</summary>
    public static CsvTable Read(string path)
    {
        var records = Parse(File.ReadAllText(path));
        Assert.That(records, Is.Not.Empty, $"{path} has no header");
        return new CsvTable(records[0], records.Skip(1).ToList());
    }

    /// <summary>Index of a column; fails the test when absent.</summary>
    public int Column(string name)
    {
        int i = Header.ToList().IndexOf(name);
        Assert.That(i, Is.GreaterThanOrEqualTo(0), $"column '{name}' missing from header: {string.Join(",", Header)}");
        return i;
    }

    /// <summary>A cell parsed as an invariant-culture number.</summary>
    public double Number(int row, string column) =>
        double.Parse(Rows[row][Column(column)], NumberStyles.Float, CultureInfo.InvariantCulture);

    private static List<List<string>> Parse(string text)
    {
        var records = new List<List<string>>();
        var record = new List<string>();
        var field = new StringBuilder();
        bool quoted = false, any = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else field.Append(c);
                continue;
            }
            switch (c)
            {
                case '"': quoted = true; any = true; break;
                case ',': record.Add(field.ToString()); field.Clear(); any = true; break;
                case '\r': break;
                case '\n':
                    record.Add(field.ToString()); field.Clear();
                    records.Add(record); record = new List<string>(); any = false;
                    break;
                default: field.Append(c); any = true; break;
            }
        }
        if (any || field.Length > 0) { record.Add(field.ToString()); records.Add(record); }
        return records;
    }
}
