namespace Simulator.Scenarios;

/// <summary>
/// One problem found in a scenario, located to a file (or <c>--set</c>) and line, and formatted exactly as
/// <c>error: &lt;file&gt;:&lt;line&gt;: &lt;key&gt;: &lt;what is wrong; what is allowed&gt;</c>.
/// </summary>
/// <param name="File">The scenario file as the user named it, or <c>--set</c> for a command-line override.</param>
/// <param name="Line">1-based line in the file; for <c>--set</c>, the 1-based position of that override.</param>
/// <param name="KeyPath">The dotted key path (<c>scheduler.max_num_seqs</c>).</param>
/// <param name="Message">What is wrong; what is allowed.</param>
public sealed record ScenarioError(string File, int Line, string KeyPath, string Message)
{
    /// <summary>The one-line error text users see on stderr.</summary>
    public override string ToString() => $"error: {File}:{Line}: {KeyPath}: {Message}";
}

/// <summary>A scenario that cannot run: carries every problem found, in file order (one line each in <see cref="Exception.Message"/>).</summary>
public sealed class ScenarioException : Exception
{
    public ScenarioException(IReadOnlyList<ScenarioError> errors)
        : base(string.Join(Environment.NewLine, errors.Select(e => e.ToString())))
    {
        Errors = errors;
    }

    /// <summary>Every problem found, sorted by file order and de-duplicated.</summary>
    public IReadOnlyList<ScenarioError> Errors { get; }
}
