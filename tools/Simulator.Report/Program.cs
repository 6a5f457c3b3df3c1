using System.Globalization;
using Simulator.Report;

// Usage: Simulator.Report <run-or-sweep-dir>... [--out DIR] [--title TEXT] [--timeline-s S]
//        [--slo-ttft-ms MS] [--slo-tpot-ms MS] [--slo-percentile P]
return ReportCli.Run(args, Console.Out, Console.Error);

namespace Simulator.Report
{
    /// <summary>The command line of the reporting tool: argument parsing plus one call to <see cref="ReportBuilder.Build"/>.</summary>
    public static class ReportCli
    {
        public const string Usage =
            "usage: Simulator.Report <run-or-sweep-dir>... [--out DIR] [--title TEXT] [--timeline-s S] [--slo-ttft-ms MS] [--slo-tpot-ms MS] [--slo-percentile P]";

        /// <summary>Runs the tool; returns the exit code (0 ok, 2 bad input).</summary>
        public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
        {
            var inputs = new List<string>();
            string? outDir = null;
            var options = new ReportOptions();
            for (var i = 0; i < args.Count; i++)
            {
                var a = args[i];
                if (a is "-h" or "--help") { stdout.WriteLine(Usage); return 0; }
                if (!a.StartsWith("--", StringComparison.Ordinal)) { inputs.Add(a); continue; }
                if (i + 1 >= args.Count) { stderr.WriteLine($"error: {a}: needs a value; {Usage}"); return 2; }
                var v = args[++i];
                double Num()
                {
                    if (double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && x > 0) return x;
                    throw new FormatException($"error: {a}: '{v}' is not a positive number");
                }
                try
                {
                    switch (a)
                    {
                        case "--out": outDir = v; break;
                        case "--title": options = options with { Title = v }; break;
                        case "--timeline-s": options = options with { TimelineWindowS = Num() }; break;
                        case "--slo-ttft-ms": options = options with { SloTtftMs = Num() }; break;
                        case "--slo-tpot-ms": options = options with { SloTpotMs = Num() }; break;
                        case "--slo-percentile": options = options with { SloPercentile = Num() }; break;
                        default: stderr.WriteLine($"error: {a}: unknown option; {Usage}"); return 2;
                    }
                }
                catch (FormatException e) { stderr.WriteLine(e.Message); return 2; }
            }
            if (inputs.Count == 0) { stderr.WriteLine($"error: no run or sweep directory given; {Usage}"); return 2; }
            outDir ??= inputs.Count == 1 ? inputs[0] : "report";
            try
            {
                var result = ReportBuilder.Build(inputs, outDir, options);
                stdout.WriteLine(result.Verdict);
                stdout.WriteLine($"wrote {result.HtmlPath}, {result.MarkdownPath} and {result.ChartPaths.Count} charts in {Path.Combine(outDir, "charts")}");
                foreach (var n in result.Notes) stdout.WriteLine("note: " + n);
                return 0;
            }
            catch (ReportInputException e)
            {
                stderr.WriteLine("error: " + e.Message);
                return 2;
            }
        }
    }
}
