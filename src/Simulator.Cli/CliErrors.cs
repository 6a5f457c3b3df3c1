using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Simulator.Inference.Metrics;

namespace Simulator.Cli;

/// <summary>A command-line mistake: printed as <c>error: &lt;flag&gt;: &lt;what is wrong; what is allowed&gt;</c>, exit 2.</summary>
public sealed class CliInputException(string flag, string problem) : Exception($"error: {flag}: {problem}")
{
    /// <summary>The flag (<c>--ranks</c>) or argument the mistake is about.</summary>
    public string Flag { get; } = flag;
}

/// <summary>Typed options whose parse errors are one line in the house format, with the allowed range.</summary>
internal static class CliOptions
{
    /// <summary>Largest TP / PP / EP a probe accepts.</summary>
    public const int MaxParallelSize = 1024;

    /// <summary>An integer option in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static Option<int> Int(string name, string description, int min, int max, int? defaultValue, bool required = false)
    {
        var o = new Option<int>(name) { Description = $"{description} ({Range(min, max)})", Required = required };
        if (defaultValue is int d) o.DefaultValueFactory = _ => d;
        o.CustomParser = r => ParseInt(r, name, min, max) ?? 0;
        return o;
    }

    /// <summary>An optional integer option in [<paramref name="min"/>, <paramref name="max"/>] (null when absent).</summary>
    public static Option<int?> NullableInt(string name, string description, int min, int max)
    {
        var o = new Option<int?>(name) { Description = $"{description} ({Range(min, max)})" };
        o.CustomParser = r => ParseInt(r, name, min, max);
        return o;
    }

    private static int? ParseInt(ArgumentResult r, string flag, int min, int max)
    {
        string expected = "expected an integer " + Range(min, max);
        if (r.Tokens.Count == 0)
        {
            r.AddError($"{flag}: missing value; {expected}");
            return null;
        }
        string text = r.Tokens[^1].Value;
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v))
        {
            r.AddError($"{flag}: '{text}' is not an integer; {expected}");
            return null;
        }
        if (v < min || v > max)
        {
            r.AddError($"{flag}: {v} is out of range; {expected}");
            return null;
        }
        return (int)v;
    }

    private static string Range(int min, int max) =>
        max == int.MaxValue ? $">= {min}" : $"from {min.ToString("N0", CultureInfo.InvariantCulture)} to {max.ToString("N0", CultureInfo.InvariantCulture)}";
}

/// <summary>Turns System.CommandLine's parse errors into one house-format line without .NET type names.</summary>
internal static partial class CliErrors
{
    [GeneratedRegex("^Option '(?<o>[^']+)' is required\\.?$")]
    private static partial Regex RequiredOption();

    [GeneratedRegex("^Required argument missing for option: '(?<o>[^']+)'\\.?$")]
    private static partial Regex MissingOptionValue();

    [GeneratedRegex("^Required argument missing for command: '(?<c>[^']+)'\\.?$")]
    private static partial Regex MissingArgument();

    [GeneratedRegex("^Unrecognized command or argument '(?<a>[^']*)'\\.?$")]
    private static partial Regex Unrecognized();

    [GeneratedRegex("^Cannot parse argument '(?<v>[^']*)' for option '(?<o>[^']+)'")]
    private static partial Regex CannotParse();

    [GeneratedRegex(@"System\.[A-Za-z0-9_.`\[\],]+")]
    private static partial Regex DotNetTypeName();

    [GeneratedRegex(@"^-{1,2}[A-Za-z][\w-]*: ")]
    private static partial Regex HouseFormat();

    /// <summary>The error that names the user's mistake: an unknown word explains a missing verb, so it goes first.</summary>
    public static ParseError MostTelling(IReadOnlyList<ParseError> errors) =>
        errors.FirstOrDefault(e => Unrecognized().IsMatch(e.Message)) ?? errors[0];

    /// <summary>The one line for <paramref name="error"/>: <c>error: &lt;flag or argument&gt;: &lt;what is wrong; what is allowed&gt;</c>.</summary>
    public static string Translate(ParseError error, ParseResult parse)
    {
        string message = error.Message.Replace('\n', ' ').Replace("\r", "").Trim();
        var command = parse.CommandResult.Command;
        string verb = command is RootCommand ? "sim" : "sim " + command.Name;
        string help = $"see `{verb} --help`";
        Match m;
        string line;
        if (HouseFormat().IsMatch(message)) line = message;
        else if ((m = RequiredOption().Match(message)).Success)
            line = $"{m.Groups["o"].Value}: missing; {verb} needs it ({help})";
        else if ((m = MissingOptionValue().Match(message)).Success)
            line = $"{m.Groups["o"].Value}: missing value; expected {m.Groups["o"].Value} VALUE ({help})";
        else if ((m = MissingArgument().Match(message)).Success)
        {
            var args = command.Arguments.Select(a => a.Name.ToUpperInvariant()).ToList();
            string what = args.Count > 0 ? string.Join(" ", args) : "an argument";
            line = $"{(args.Count > 0 ? command.Arguments[0].Name : verb)}: missing; expected {verb} {what} ({help})";
        }
        else if ((m = Unrecognized().Match(message)).Success)
        {
            string a = m.Groups["a"].Value;
            if (command is RootCommand)
                line = $"{a}: unknown verb; expected one of {string.Join(", ", command.Subcommands.Select(c => c.Name))} ({help})";
            else
            {
                var options = command.Options.Where(o => !o.Hidden).Select(o => o.Name).Where(n => n.StartsWith("--", StringComparison.Ordinal));
                line = a.StartsWith('-')
                    ? $"{a}: unknown option; {verb} accepts {string.Join(", ", options)}"
                    : $"{a}: unexpected argument; {verb} takes {Arguments(command)} ({help})";
            }
        }
        else if (command is RootCommand && message.StartsWith("Required command", StringComparison.Ordinal))
            line = $"sim: missing verb; expected one of {string.Join(", ", command.Subcommands.Select(c => c.Name))} ({help})";
        else if ((m = CannotParse().Match(message)).Success)
            line = $"{m.Groups["o"].Value}: '{m.Groups["v"].Value}' is not a valid value ({help})";
        else line = $"{verb}: {message}";
        return "error: " + DotNetTypeName().Replace(line, "a value");
    }

    private static string Arguments(Command command) =>
        command.Arguments.Count == 0 ? "no positional arguments"
        : string.Join(" ", command.Arguments.Select(a => a.Name.ToUpperInvariant() + (a.Arity.MaximumNumberOfValues > 1 ? "..." : "")));

    /// <summary>
    /// Registers SIGINT and SIGTERM handlers that delete every unfinished output folder, print one line and exit
    /// 130 / 143. Dispose to unregister.
    /// </summary>
    public static IDisposable HandleInterrupts() => new InterruptHandlers();

    private sealed class InterruptHandlers : IDisposable
    {
        private readonly PosixSignalRegistration[] _registrations;

        public InterruptHandlers()
        {
            _registrations =
            [
                PosixSignalRegistration.Create(PosixSignal.SIGINT, c => Stop(c, "SIGINT", CliVerbs.ExitInterrupted)),
                PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => Stop(c, "SIGTERM", CliVerbs.ExitTerminated)),
            ];
        }

        private static void Stop(PosixSignalContext context, string name, int exitCode)
        {
            context.Cancel = true;
            int removed = PartialOutputs.DeleteAll();
            Console.Out.Flush();
            Console.Error.WriteLine($"error: interrupted by {name}; {removed} unfinished output folder(s) removed, nothing was written; run the command again to get its outputs");
            Console.Error.Flush();
            Environment.Exit(exitCode);
        }

        public void Dispose()
        {
            foreach (var r in _registrations) r.Dispose();
        }
    }
}
