using YamlDotNet.Core;

namespace Simulator.Scenarios;

/// <summary>
/// Turns a YAML parser failure into one located error: the line of an unclosed <c>{</c> or <c>[</c>, the line of a
/// tab used as indentation, else the parser's own position.
/// </summary>
internal static class YamlSyntax
{
    /// <summary>The error for a scenario text the YAML parser rejected with <paramref name="failure"/>.</summary>
    public static ScenarioError Explain(string yaml, string fileLabel, Exception failure)
    {
        var lines = yaml.Replace("\r\n", "\n").Split('\n');
        if (UnclosedBracket(lines) is var (line, bracket))
        {
            char close = bracket == '{' ? '}' : ']';
            string kind = bracket == '{' ? "flow mapping" : "flow list";
            return new ScenarioError(fileLabel, line, "yaml", $"the {kind} opened with '{bracket}' on this line is never closed (close it with '{close}' before the next key); expected valid YAML");
        }
        if (TabIndentedLine(lines) is int tabLine && failure.Message.Contains("tab", StringComparison.OrdinalIgnoreCase))
            return new ScenarioError(fileLabel, tabLine, "yaml", "a tab in the indentation (YAML indents with spaces only); expected valid YAML");
        int at = failure is YamlException ye ? (int)Math.Max(1, ye.Start.Line) : 1;
        string message = ScenarioLoader.StripMark(failure.Message).Trim().TrimEnd('.');
        return new ScenarioError(fileLabel, at, "yaml", $"{message}; expected valid YAML");
    }

    /// <summary>The line of the '---' that starts the document whose content begins at <paramref name="contentLine"/>.</summary>
    public static int DocumentMarkerBefore(string yaml, int contentLine)
    {
        var lines = yaml.Replace("\r\n", "\n").Split('\n');
        for (int i = Math.Min(contentLine, lines.Length) - 1; i >= 0; i--)
            if (lines[i].StartsWith("---", StringComparison.Ordinal)) return i + 1;
        return Math.Max(1, contentLine);
    }

    /// <summary>The first line whose indentation holds a tab, or null.</summary>
    private static int? TabIndentedLine(string[] lines)
    {
        for (int i = 0; i < lines.Length; i++)
        {
            foreach (char c in lines[i])
            {
                if (c == '\t') return i + 1;
                if (c != ' ') break;
            }
        }
        return null;
    }

    /// <summary>
    /// The line and character of the outermost flow bracket that is not closed (quotes and comments skipped), or of a
    /// bracket still open when a line at the left margin starts a new key.
    /// </summary>
    private static (int Line, char Bracket)? UnclosedBracket(string[] lines)
    {
        var open = new Stack<(int Line, char Bracket)>();
        for (int i = 0; i < lines.Length; i++)
        {
            string l = lines[i];
            if (open.Count > 0 && l.Length > 0 && l[0] != ' ' && l[0] != '#' && l[0] != '}' && l[0] != ']' && l.Contains(':'))
                return Outermost(open);
            char quote = '\0';
            for (int j = 0; j < l.Length; j++)
            {
                char c = l[j];
                if (quote != '\0')
                {
                    if (c == quote) quote = '\0';
                    continue;
                }
                if (c is '"' or '\'' && (j == 0 || l[j - 1] is ' ' or '{' or '[' or ',' or ':')) { quote = c; continue; }
                if (c == '#' && (j == 0 || l[j - 1] == ' ')) break;
                if (c is '{' or '[') open.Push((i + 1, c));
                else if (c is '}' or ']')
                {
                    if (open.Count == 0) return null; // a stray closer: let the parser's own message speak
                    open.Pop();
                }
            }
        }
        return open.Count > 0 ? Outermost(open) : null;
    }

    private static (int, char) Outermost(Stack<(int Line, char Bracket)> open) => open.Last();
}
