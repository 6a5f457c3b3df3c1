namespace Simulator.Inference.Metrics;

/// <summary>
/// An output folder that cannot be used (a file, a kernel file system, not writable, or a folder holding someone
/// else's files). The message says why and what to do; nothing has been written or deleted.
/// </summary>
public sealed class OutputTargetException(string message) : IOException(message);

/// <summary>
/// The rules for where a run, sweep, plan or validate may write: checked before anything is simulated, and again just
/// before a finished directory is moved into place. A folder is replaced only when it is empty or carries the marker
/// file this tool writes into every run (<see cref="RunMarker"/>), sweep (<see cref="SweepMarker"/>), plan
/// (<see cref="PlanMarker"/>) or validate (<see cref="ValidateMarker"/>) directory, so <c>--out</c> never deletes a
/// user's files.
/// </summary>
public static class OutputTarget
{
    /// <summary>Marks a run directory written by this tool (an empty file).</summary>
    public const string RunMarker = ".sim-run";

    /// <summary>Marks a sweep directory written by this tool (an empty file).</summary>
    public const string SweepMarker = ".sim-sweep";

    /// <summary>Marks a plan directory written by this tool: `sim plan`, a `--shard` of it, or `sim merge` of plan shards (an empty file).</summary>
    public const string PlanMarker = ".sim-plan";

    /// <summary>Marks a `sim validate` directory written by this tool (an empty file).</summary>
    public const string ValidateMarker = ".sim-validate";

    private static readonly string[] KernelFileSystems = ["/proc", "/sys", "/dev"];

    /// <summary>Whether <paramref name="path"/> is a plan directory this tool wrote (its marker, or an older plan's plan.csv and points/).</summary>
    public static bool IsPlanDirectory(string path) =>
        File.Exists(Path.Combine(path, PlanMarker))
        || (File.Exists(Path.Combine(path, "plan.csv")) && Directory.Exists(Path.Combine(path, "points")));

    /// <summary>Whether <paramref name="path"/> is a validate directory this tool wrote (its marker, or an older one's validation.csv and validation_points.csv).</summary>
    public static bool IsValidateDirectory(string path) =>
        File.Exists(Path.Combine(path, ValidateMarker))
        || (File.Exists(Path.Combine(path, "validation.csv")) && File.Exists(Path.Combine(path, "validation_points.csv")));

    /// <summary>Whether <paramref name="path"/> is a run directory this tool wrote (its marker, or an older run's summary.json and scenario.yaml).</summary>
    public static bool IsRunDirectory(string path) =>
        File.Exists(Path.Combine(path, RunMarker))
        || (File.Exists(Path.Combine(path, "summary.json")) && File.Exists(Path.Combine(path, "scenario.yaml")));

    /// <summary>Whether <paramref name="path"/> is a sweep directory this tool wrote (its marker, or an older sweep's sweep.csv and points/).</summary>
    public static bool IsSweepDirectory(string path) =>
        File.Exists(Path.Combine(path, SweepMarker))
        || (File.Exists(Path.Combine(path, "sweep.csv")) && Directory.Exists(Path.Combine(path, "points")));

    /// <summary>Checks that a run directory may be written at <paramref name="path"/>; throws <see cref="OutputTargetException"/> if not.</summary>
    public static void CheckRunTarget(string path) => Check(path, OutputKind.Run);

    /// <summary>Checks that a sweep directory may be written at <paramref name="path"/>; throws <see cref="OutputTargetException"/> if not.</summary>
    public static void CheckSweepTarget(string path) => Check(path, OutputKind.Sweep);

    /// <summary>Checks that an output of <paramref name="kind"/> may be written at <paramref name="path"/>; throws <see cref="OutputTargetException"/> if not.</summary>
    public static void Check(string path, OutputKind kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        Check(path, kind.IsOurs, kind.Name, kind.Marker);
    }

    /// <summary>
    /// Throws unless <paramref name="path"/> is new, an empty folder or one of ours (<paramref name="isOurs"/>), lies
    /// outside the kernel's file systems and sits in a folder this process can write.
    /// </summary>
    public static void Check(string path, Func<string, bool> isOurs, string kind, string marker)
    {
        ArgumentNullException.ThrowIfNull(isOurs);
        if (string.IsNullOrWhiteSpace(path)) throw new OutputTargetException("the output folder is empty; expected a folder path such as results/my-run");
        string full;
        try { full = Full(path); }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new OutputTargetException($"'{path}' is not a usable path ({ex.Message}); expected a folder path such as results/my-run");
        }
        foreach (var kfs in KernelFileSystems)
        {
            if (full == kfs || full.StartsWith(kfs + "/", StringComparison.Ordinal))
                throw new OutputTargetException($"{full} is under {kfs}, a kernel file system, not storage; expected a folder on a disk, such as results/my-run");
        }
        string? parent = Path.GetDirectoryName(full);
        if (parent is null) throw new OutputTargetException($"{full} is a file-system root; expected a folder below it, such as {Path.Combine(full, "results", "my-run")}");
        if (File.Exists(full)) throw new OutputTargetException($"{full} is a file, not a folder; nothing was written; expected a new folder, an empty one or an earlier {kind} directory");
        if (Directory.Exists(full) && !isOurs(full))
        {
            int entries;
            try { entries = Directory.EnumerateFileSystemEntries(full).Count(); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new OutputTargetException($"{full} cannot be read ({ex.Message}); expected a folder you can read and write");
            }
            if (entries > 0)
                throw new OutputTargetException($"{full} holds {entries} file(s) or folder(s) that are not a {kind} directory of sim (no {marker} marker), so it is not replaced and nothing was deleted; " +
                    $"choose a new or empty folder, or an earlier {kind} directory");
        }
        // The nearest folder that exists must be a folder we can create entries in (the temporary sibling goes there).
        string existing = parent;
        while (!Directory.Exists(existing))
        {
            if (File.Exists(existing)) throw new OutputTargetException($"{full} lies inside {existing}, which is a file; expected a folder path");
            existing = Path.GetDirectoryName(existing) ?? throw new OutputTargetException($"{full}: no parent folder exists; expected a folder path");
        }
        try
        {
            using var probe = new FileStream(Path.Combine(existing, ".sim-write-check-" + Guid.NewGuid().ToString("N")[..12]),
                FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new OutputTargetException($"cannot write in {existing} ({ex.Message}); expected a folder you can write");
        }
    }

    /// <summary>The absolute path without a trailing separator.</summary>
    public static string Full(string path)
    {
        var full = Path.GetFullPath(path);
        var trimmed = full.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
        return trimmed.Length == 0 || Path.GetPathRoot(full) == full ? full : trimmed;
    }
}

/// <summary>
/// A kind of output folder: its name in messages, the marker file that says this tool wrote it, and how an earlier
/// one is recognised. A folder of one kind is replaced only by an output of the same kind.
/// </summary>
public sealed record OutputKind(string Name, string Marker, Func<string, bool> IsOurs)
{
    /// <summary>A `sim run` directory.</summary>
    public static OutputKind Run { get; } = new("run", OutputTarget.RunMarker, OutputTarget.IsRunDirectory);

    /// <summary>A `sim sweep` directory, a `--shard` of one, or `sim merge` of sweep shards.</summary>
    public static OutputKind Sweep { get; } = new("sweep", OutputTarget.SweepMarker, OutputTarget.IsSweepDirectory);

    /// <summary>A `sim plan` directory, a `--shard` of one, or `sim merge` of plan shards.</summary>
    public static OutputKind Plan { get; } = new("plan", OutputTarget.PlanMarker, OutputTarget.IsPlanDirectory);

    /// <summary>A `sim validate` directory.</summary>
    public static OutputKind Validate { get; } = new("validate", OutputTarget.ValidateMarker, OutputTarget.IsValidateDirectory);
}

/// <summary>
/// An output folder being written: everything goes into <see cref="TempDirectory"/>, a hidden sibling of
/// <see cref="Target"/> that carries the kind's marker, and <see cref="Publish"/> moves it into place (replacing only
/// an empty folder or an earlier output of the same kind). Disposing it unpublished deletes the sibling and the parent
/// folders it created, so a failed or interrupted write leaves nothing behind.
/// </summary>
public sealed class StagedOutput : IDisposable
{
    private readonly OutputKind _kind;
    private readonly IDisposable _partial;
    private readonly string? _createdParent;

    private StagedOutput(string target, OutputKind kind)
    {
        Target = target;
        _kind = kind;
        var parent = Path.GetDirectoryName(target)!;
        _createdParent = PartialOutputs.FirstMissing(parent);
        Directory.CreateDirectory(parent);
        TempDirectory = PartialOutputs.TempSibling(target);
        _partial = PartialOutputs.Create(TempDirectory);
    }

    /// <summary>The folder the output is published at (absolute).</summary>
    public string Target { get; }

    /// <summary>The hidden sibling the output is written in until <see cref="Publish"/>.</summary>
    public string TempDirectory { get; }

    /// <summary>Whether <see cref="Publish"/> has moved the output into place.</summary>
    public bool Published { get; private set; }

    /// <summary>
    /// Checks <paramref name="outDir"/> for an output of <paramref name="kind"/> (throws <see cref="OutputTargetException"/>
    /// before anything is written) and starts its temporary sibling with the kind's marker.
    /// </summary>
    public static StagedOutput Begin(string outDir, OutputKind kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        var target = OutputTarget.Full(outDir);
        OutputTarget.Check(target, kind);
        var staged = new StagedOutput(target, kind);
        try
        {
            File.WriteAllBytes(Path.Combine(staged.TempDirectory, kind.Marker), []);
        }
        catch
        {
            staged.Dispose();
            throw;
        }
        return staged;
    }

    /// <summary>The path <paramref name="tempPath"/> (inside <see cref="TempDirectory"/>) will have once published.</summary>
    public string Final(string tempPath) =>
        tempPath.StartsWith(TempDirectory, StringComparison.Ordinal) ? Target + tempPath[TempDirectory.Length..] : tempPath;

    /// <summary>Moves the finished output into place, checking the target's rules again first.</summary>
    public void Publish()
    {
        PartialOutputs.Publish(TempDirectory, Target, () => OutputTarget.Check(Target, _kind));
        Published = true;
    }

    /// <summary>Deletes the unpublished temporary folder and the parent folders it created (if still empty).</summary>
    public void Dispose()
    {
        if (!Published)
        {
            if (Directory.Exists(TempDirectory)) PartialOutputs.DeleteWithRetries(TempDirectory);
            PartialOutputs.RemoveCreatedParents(Path.GetDirectoryName(Target)!, _createdParent);
        }
        _partial.Dispose();
    }
}

/// <summary>
/// The temporary folders being written right now (runs, sweeps, plans, merges and validations in progress). An interrupted process (SIGINT,
/// SIGTERM) calls <see cref="DeleteAll"/> so nothing half-written is left behind; after it, no new folder can be
/// registered and nothing more is moved into place.
/// </summary>
public static class PartialOutputs
{
    private static readonly object Gate = new();
    private static readonly HashSet<string> Live = new(StringComparer.Ordinal);
    private static bool _interrupted;

    /// <summary>Whether <see cref="DeleteAll"/> has run: the process is stopping.</summary>
    public static bool Interrupted
    {
        get { lock (Gate) return _interrupted; }
    }

    /// <summary>The hidden sibling a folder is written in before it is moved into place: <c>.NAME.partial-ID</c>.</summary>
    public static string TempSibling(string target) =>
        Path.Combine(Path.GetDirectoryName(target)!, "." + Path.GetFileName(target) + ".partial-" + Guid.NewGuid().ToString("N")[..12]);

    /// <summary>Creates <paramref name="tempDirectory"/> and registers it; disposing the token unregisters it.</summary>
    public static IDisposable Create(string tempDirectory)
    {
        lock (Gate)
        {
            if (_interrupted) throw new OperationCanceledException("the run was interrupted");
            Directory.CreateDirectory(tempDirectory);
            Live.Add(tempDirectory);
        }
        return new Token(tempDirectory);
    }

    /// <summary>
    /// Moves the finished <paramref name="tempDirectory"/> to <paramref name="target"/>, replacing what is there once
    /// <paramref name="check"/> (the target's rules) passes, unless the process is being interrupted: the two never
    /// interleave, so an interrupted run is either wholly published or wholly removed.
    /// </summary>
    public static void Publish(string tempDirectory, string target, Action check)
    {
        ArgumentNullException.ThrowIfNull(check);
        lock (Gate)
        {
            if (_interrupted) throw new OperationCanceledException("the run was interrupted");
            check();
            string? old = null;
            if (Directory.Exists(target))
            {
                old = tempDirectory.Replace(".partial-", ".old-", StringComparison.Ordinal);
                Directory.Move(target, old);
            }
            try
            {
                Directory.Move(tempDirectory, target);
            }
            catch
            {
                if (old != null) Directory.Move(old, target);
                throw;
            }
            Live.Remove(tempDirectory);
            if (old != null) Directory.Delete(old, recursive: true);
        }
    }

    /// <summary>Deletes every registered temporary folder and refuses new ones; returns how many were removed.</summary>
    public static int DeleteAll()
    {
        lock (Gate)
        {
            _interrupted = true;
            int removed = 0;
            foreach (var dir in Live.OrderByDescending(d => d.Length))
            {
                if (DeleteWithRetries(dir)) removed++;
            }
            Live.Clear();
            return removed;
        }
    }

    /// <summary>The outermost folder of <paramref name="path"/> that does not exist yet (null when it exists): what an output creates above itself.</summary>
    public static string? FirstMissing(string path)
    {
        string? missing = null;
        for (var p = path; p != null && !Directory.Exists(p); p = Path.GetDirectoryName(p)) missing = p;
        return missing;
    }

    /// <summary>
    /// Removes <paramref name="parent"/> and the folders above it up to <paramref name="createdParent"/> (what
    /// <see cref="FirstMissing"/> returned before they were created) while they are empty, so an output that failed leaves
    /// no folder it made; stops at the first one holding anything, or that cannot be removed. Nothing when it is null.
    /// </summary>
    public static void RemoveCreatedParents(string parent, string? createdParent)
    {
        if (createdParent is null) return;
        for (var p = parent; p != null && p.Length >= createdParent.Length; p = Path.GetDirectoryName(p))
        {
            try
            {
                if (!Directory.Exists(p) || Directory.EnumerateFileSystemEntries(p).Any()) return;
                Directory.Delete(p);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return;
            }
        }
    }

    /// <summary>Deletes a folder tree; retries while another thread is still adding files to it.</summary>
    public static bool DeleteWithRetries(string dir)
    {
        for (int attempt = 0; attempt < 20; attempt++)
        {
            try
            {
                if (!Directory.Exists(dir)) return attempt > 0;
                Directory.Delete(dir, recursive: true);
                return true;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Thread.Sleep(10);
            }
        }
        return false;
    }

    private sealed class Token(string dir) : IDisposable
    {
        public void Dispose()
        {
            lock (Gate) Live.Remove(dir);
        }
    }
}
