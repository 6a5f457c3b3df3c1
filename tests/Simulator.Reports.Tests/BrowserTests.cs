using System.Diagnostics;

namespace Simulator.Reports.Tests;

/// <summary>Loads report.html in headless Chromium: the page must render its charts, not a blank page.</summary>
public sealed class BrowserTests
{
    private const string Chromium = "/usr/bin/chromium";

    private static (int Code, string Stdout) RunChromium(string userDataDir, params string[] extra)
    {
        var psi = new ProcessStartInfo(Chromium)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[]
                 {
                     "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--user-data-dir=" + userDataDir,
                 }.Concat(extra))
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000))
        {
            p.Kill(true);
            Assert.Fail("chromium did not finish within 120 s");
        }
        _ = stderr.Result;
        return (p.ExitCode, stdout.Result);
    }

    [Test]
    public void ReportHtml_InHeadlessChromium_RendersChartsOnANonBlankPage()
    {
        if (!File.Exists(Chromium))
            Assert.Ignore($"{Chromium} is not installed (apt-get install -y chromium); the CI script installs it.");
        using var tmp = new Fixtures.TempDir();
        var sweep = Fixtures.WriteMicrobatchSweep(tmp.Sub("sweep"));
        var result = ReportBuilder.Build(new[] { sweep }, tmp.Sub("out"));
        var url = new Uri(result.HtmlPath).AbsoluteUri;

        var (domCode, dom) = RunChromium(tmp.Sub("profile-dom"), "--dump-dom", url);
        Assert.That(domCode, Is.EqualTo(0));
        Assert.That(dom.Split("<img class=\"chart\"").Length - 1, Is.EqualTo(result.Charts.Count), "every chart is in the DOM after load");
        Assert.That(dom, Does.Contain("Best configuration:"));

        var png = tmp.Sub("report.png");
        var (shotCode, _) = RunChromium(tmp.Sub("profile-shot"), "--screenshot=" + png, "--window-size=1280,2000", "--hide-scrollbars", url);
        Assert.That(shotCode, Is.EqualTo(0));
        Assert.That(new FileInfo(png).Length, Is.GreaterThan(20_000), "a page of charts compresses to more than 20 kB");
        var image = PngImage.Load(png);
        Assert.That((image.Width, image.Height), Is.EqualTo((1280, 2000)));
        var inkedFraction = image.InkedFraction();
        Assert.That(inkedFraction, Is.GreaterThan(0.03), "the page is not mostly blank");
        var keep = Environment.GetEnvironmentVariable("REPORT_SCREENSHOT_DIR");
        if (!string.IsNullOrEmpty(keep))
        {
            Directory.CreateDirectory(keep);
            File.Copy(png, Path.Combine(keep, "report.png"), true);
            File.Copy(result.HtmlPath, Path.Combine(keep, "report.html"), true);
            foreach (var c in result.ChartPaths) File.Copy(c, Path.Combine(keep, Path.GetFileName(c)), true);
            TestContext.Out.WriteLine($"inked fraction {inkedFraction:F3}; copies in {keep}");
        }
    }
}
