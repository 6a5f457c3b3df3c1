using System.Runtime.ExceptionServices;
using Simulator.Inference.Metrics;

namespace Simulator.Reports;

/// <summary>
/// The report of a run or sweep, built inside its unpublished folder (<see cref="StagedOutput"/>, <see cref="StagedRun"/>)
/// so it is published with the data or removed with them: an interrupt never leaves a half-written report. The report
/// names the folder the output is published at, never the hidden sibling it is written in.
/// </summary>
// Implementation note: a report that fails must not cost the run or sweep its data, which are worth keeping (as when the
// report was added after publication): Build catches the failure, removes what the report had written (charts/,
// report.html, report.md) and keeps it, the caller publishes the output and then calls ThrowIfFailed, which rethrows
// it unchanged (its message and exit code). An interrupt is not caught: the folder is being deleted, data and all.
public sealed class StagedReport
{
    private static readonly string[] Pieces = ["report.html", "report.md"];
    private ExceptionDispatchInfo? _failure;
    private string? _final;

    /// <summary>The report built, its paths as published; null before <see cref="Build"/> or when it failed.</summary>
    public ReportResult? Result { get; private set; }

    /// <summary>
    /// Builds charts/, report.html and report.md in <paramref name="stagedDir"/>, the unpublished folder of a run or sweep
    /// that will be published at <paramref name="finalDir"/> (the name the report prints). <paramref name="runTables"/>:
    /// a run's captured tables (<see cref="StagedRun.Tables"/>). A failure is kept for <see cref="ThrowIfFailed"/>.
    /// </summary>
    public void Build(string stagedDir, string finalDir, IReadOnlyDictionary<string, CapturedTable>? runTables = null, ReportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stagedDir);
        ArgumentNullException.ThrowIfNull(finalDir);
        _final = finalDir;
        try
        {
            var built = ReportBuilder.Build([stagedDir], stagedDir, options, runTables, inputNames: [finalDir]);
            Result = built with
            {
                HtmlPath = Published(built.HtmlPath, stagedDir),
                MarkdownPath = Published(built.MarkdownPath, stagedDir),
                ChartPaths = built.ChartPaths.Select(p => Published(p, stagedDir)).ToList(),
            };
        }
        catch (Exception e) when (!PartialOutputs.Interrupted)
        {
            RemovePieces(stagedDir);
            _failure = ExceptionDispatchInfo.Capture(AsPublished(e, stagedDir, finalDir));
        }
    }

    /// <summary>
    /// The failure as the user will see it after publication: a message that names the hidden folder (a run table the
    /// report could not read, a file it could not write) names the published one instead, with the same exception kind
    /// (so the same one-line error and exit code); any other failure is kept as it is.
    /// </summary>
    internal static Exception AsPublished(Exception e, string stagedDir, string finalDir)
    {
        if (!e.Message.Contains(stagedDir, StringComparison.Ordinal)) return e;
        var message = e.Message.Replace(stagedDir, finalDir, StringComparison.Ordinal);
        return e switch
        {
            ReportInputException => new ReportInputException(message),
            UnauthorizedAccessException => new UnauthorizedAccessException(message, e),
            DirectoryNotFoundException => new DirectoryNotFoundException(message, e),
            FileNotFoundException => new FileNotFoundException(message, e),
            IOException => new IOException(message, e),
            _ => e,
        };
    }

    /// <summary>After the output is published: rethrows the report's failure, if it failed.</summary>
    public void ThrowIfFailed() => _failure?.Throw();

    /// <summary>Whether the report failed (its failure is kept for <see cref="ThrowIfFailed"/>).</summary>
    public bool Failed => _failure is not null;

    private string Published(string path, string stagedDir) =>
        path.StartsWith(stagedDir, StringComparison.Ordinal) ? _final + path[stagedDir.Length..] : path;

    private static void RemovePieces(string stagedDir)
    {
        var charts = Path.Combine(stagedDir, "charts");
        if (Directory.Exists(charts)) PartialOutputs.DeleteWithRetries(charts);
        foreach (var piece in Pieces)
        {
            var path = Path.Combine(stagedDir, piece);
            if (File.Exists(path)) File.Delete(path);
        }
    }
}
