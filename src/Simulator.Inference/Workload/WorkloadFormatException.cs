namespace Simulator.Inference.Workload;

/// <summary>
/// A trace row that cannot be read. <see cref="Exception.Message"/> is one line in the project's error format:
/// <c>error: &lt;file&gt;:&lt;line&gt;: &lt;column&gt;: &lt;what is wrong; what is expected&gt;</c>.
/// </summary>
public sealed class WorkloadFormatException : Exception
{
    public WorkloadFormatException(string file, long line, string column, string problem)
        : base($"error: {file}:{line}: {column}: {problem}")
    {
        File = file;
        Line = line;
        Column = column;
        Problem = problem;
    }

    /// <summary>The trace file as the user named it.</summary>
    public string File { get; }

    /// <summary>1-based line number in the file (the header is line 1 for CSV formats).</summary>
    public long Line { get; }

    /// <summary>The column (CSV header name or JSON field) at fault, or "row" for the whole row.</summary>
    public string Column { get; }

    /// <summary>What is wrong and what was expected.</summary>
    public string Problem { get; }
}
