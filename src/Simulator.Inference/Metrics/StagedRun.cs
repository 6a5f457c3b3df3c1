namespace Simulator.Inference.Metrics;

/// <summary>
/// A finished run directory just before it is published (<see cref="RunDirectoryWriter.Commit"/>'s <c>beforePublish</c>):
/// every file is closed in <see cref="Directory"/>, the hidden sibling, which becomes <see cref="FinalDirectory"/> once
/// moved into place. What is added to <see cref="Directory"/> (a report) is published with the run, or removed with it.
/// </summary>
/// <param name="Directory">The unpublished folder (absolute): write here.</param>
/// <param name="FinalDirectory">The folder the run is published at (absolute): the name to print.</param>
/// <param name="Summary">The run's summary, as written to summary.json.</param>
/// <param name="Tables">The columns the writer's capture kept, by table name (their files lie in <see cref="Directory"/>).</param>
public sealed record StagedRun(string Directory, string FinalDirectory, RunSummary Summary, IReadOnlyDictionary<string, CapturedTable> Tables);
