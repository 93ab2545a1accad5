using System.Diagnostics;

namespace StreamGuard.Tests.Support;

/// <summary>
/// Debian's headless Chromium (<c>apt-get install chromium</c>), for tests that check what a browser really draws.
/// <c>STREAMGUARD_BROWSER_TESTS=1</c> (set by .ci/run, which installs it) makes a missing browser a failure;
/// without it such tests are skipped, with the reason, on machines that have no browser.
/// </summary>
internal static class Chromium
{
    public const string RequiredVariable = "STREAMGUARD_BROWSER_TESTS";

    /// <summary>The browser's executable on PATH, or null.</summary>
    public static string? Executable { get; } = Find();

    /// <summary>True when a missing browser must fail the tests instead of skipping them.</summary>
    public static bool Required => Environment.GetEnvironmentVariable(RequiredVariable) == "1";

    public static string SkipReason =>
        $"no chromium on PATH (apt-get install chromium); set {RequiredVariable}=1 to make its absence a failure, " +
            "as .ci/run does";

    private static string? Find()
    {
        string[] dirs = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        foreach (string name in (string[])["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"])
        {
            foreach (string dir in dirs)
            {
                string path = Path.Combine(dir, name);
                if (File.Exists(path)) return path;
            }
        }
        return null;
    }

    /// <summary>
    /// Loads <paramref name="htmlFile"/> in a fresh headless browser (its own profile, no network services) and
    /// returns the DOM as serialised after the load event — after the page's scripts ran.
    /// </summary>
    public static string DumpDom(string htmlFile, TimeSpan timeout)
    {
        string browser = Executable ?? throw new InvalidOperationException(
            $"{RequiredVariable}=1 but no chromium on PATH: install it (apt-get install -y chromium), as .ci/run does");
        string profile = Path.Combine(Path.GetTempPath(), "sg-chromium-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(profile);
        try
        {
            var start = new ProcessStartInfo(browser)
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            foreach (string a in (string[])[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--user-data-dir=" + profile, "--window-size=1200,2000", "--dump-dom",
                new Uri(Path.GetFullPath(htmlFile)).AbsoluteUri])
            {
                start.ArgumentList.Add(a);
            }
            using Process p = Process.Start(start)!;
            Task<string> err = p.StandardError.ReadToEndAsync();
            Task<string> dom = p.StandardOutput.ReadToEndAsync();
            if (!p.WaitForExit(timeout))
            {
                p.Kill(entireProcessTree: true);
                throw new TimeoutException($"chromium did not finish within {timeout.TotalSeconds:N0} s");
            }
            p.WaitForExit();
            if (p.ExitCode != 0)
            {
                throw new InvalidOperationException($"chromium exited with {p.ExitCode}: {err.Result}");
            }
            return dom.Result;
        }
        finally
        {
            try { Directory.Delete(profile, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}

/// <summary>A fact that needs headless Chromium: skipped with the reason when there is none, unless required.</summary>
/// <remarks>
/// xunit 2 decides skipping at discovery (no <c>Assert.Skip</c> before v3), so the attribute decides.
/// </remarks>
public sealed class BrowserFactAttribute : FactAttribute
{
    public BrowserFactAttribute()
    {
        if (Chromium.Executable is null && !Chromium.Required) Skip = Chromium.SkipReason;
    }
}
