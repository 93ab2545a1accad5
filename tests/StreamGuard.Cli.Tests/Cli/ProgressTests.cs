using System.Diagnostics;
using StreamGuard.Cli;

namespace StreamGuard.Tests.CommandLine;

/// <summary>
/// Progress of <c>gen</c> and <c>replay</c>: the line's format, its throttle, and silence when redirected.
/// </summary>
public sealed class ProgressTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sg-progress-" + Guid.NewGuid().ToString("N"));

    public ProgressTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    [Fact]
    public void ItemsAgainstATargetShowCountRateShareAndEta()
    {
        // 40,000 of 100,000 in 4 s: 10,000/s, 60,000 left → 6 s.
        Assert.Equal("  40,000/100,000 reads  10,000/s  40%  ETA 0:06",
            Progress.Format("reads", 40_000, 40_000, 100_000, bytes: false, TimeSpan.FromSeconds(4)));
    }

    [Fact]
    public void BytesAgainstTheInputSizeGiveTheShareAndEtaWhileTheRateCountsItems()
    {
        // A quarter of 100 MiB read in 30 s: 90 s left; the rate counts events, not bytes.
        Assert.Equal("  120,000 events  4,000/s  25% of 100.0 MiB  ETA 1:30",
            Progress.Format("events", 120_000, 25L * 1024 * 1024, 100L * 1024 * 1024, bytes: true,
                TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void AnUnknownTotalShowsCountAndRateOnly()
    {
        Assert.Equal("  7,500 events  2,500/s",
            Progress.Format("events", 7_500, 999, 0, bytes: true, TimeSpan.FromSeconds(3)));
    }

    [Fact]
    public void NothingDoneYetHasNoEta()
    {
        Assert.Equal("  0/10 reads  0/s  0%  ETA -",
            Progress.Format("reads", 0, 0, 10, bytes: false, TimeSpan.FromSeconds(1)));
    }

    [Theory]
    [InlineData(0, "0:00")]
    [InlineData(0.2, "0:01")] // rounded up: work left is never shown as none
    [InlineData(59, "0:59")]
    [InlineData(754, "12:34")]
    [InlineData(3727, "1:02:07")]
    [InlineData(400_000, "111:06:40")]
    [InlineData(-5, "0:00")]
    public void EtaIsMinutesAndSecondsThenHours(double seconds, string expected) =>
        Assert.Equal(expected, Progress.Duration(seconds));

    [Theory]
    [InlineData(0, "0 B")]
    [InlineData(1023, "1023 B")]
    [InlineData(4096, "4.0 KiB")]
    [InlineData(47_815_065, "45.6 MiB")]
    [InlineData(1_288_490_189, "1.2 GiB")]
    public void SizesUseBinaryUnits(long bytes, string expected) => Assert.Equal(expected, Progress.Size(bytes));

    [Fact]
    public void RedrawsInPlaceAtMostFourTimesASecondAndClearsItsLine()
    {
        var time = new ManualTime();
        var w = new StringWriter();
        var p = new Progress(w, "reads", time: time);
        for (int ms = 0; ms <= 1000; ms += 10)
        {
            time.Now = TimeSpan.FromMilliseconds(ms);
            p.Update(ms, 1000);
        }
        string drawn = w.ToString();
        Assert.Equal(4, drawn.Count(ch => ch == '\r')); // at 250, 500, 750 and 1000 ms
        Assert.EndsWith("\r  1,000/1,000 reads  1,000/s  100%  ETA 0:00", drawn, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', drawn);

        // A shorter line pads over the longer one before it.
        time.Now = TimeSpan.FromSeconds(100);
        p.Update(1, 0);
        const string Long = "  1,000/1,000 reads  1,000/s  100%  ETA 0:00", Short = "  1 reads  0/s";
        Assert.Equal("\r" + Short + new string(' ', Long.Length - Short.Length), w.ToString()[drawn.Length..]);

        int before = w.ToString().Length;
        p.Dispose();
        string cleared = w.ToString()[before..];
        Assert.Matches("^\r +\r$", cleared);
    }

    [Fact]
    public void AQuietProgressWritesNothing()
    {
        var time = new ManualTime();
        var p = new Progress(null, "reads", time: time);
        Assert.False(p.Enabled);
        time.Now = TimeSpan.FromSeconds(10);
        p.Update(5, 10);
        p.Clear(); // nothing to do, nothing thrown
    }

    [Fact]
    public void GenAndReplayAreQuietWhenStandardErrorIsRedirected()
    {
        string traffic = Path.Combine(_dir, "quiet");
        var gen = RunRedirected("gen", "--out", traffic, "--reads", "100000", "--end", "2026-03-03T18:00:00Z");
        Assert.True(gen.Code == 0, gen.Err);
        Assert.Equal("", gen.Err);
        Assert.Contains("wrote 100,000 reads", gen.Out, StringComparison.Ordinal);

        var replay = RunRedirected("replay", "--policy", SamplePolicy, "--reads", Path.Combine(traffic, "reads.ndjson"),
            "--queries", Path.Combine(traffic, "queries.ndjson"), "--audit-key", AuditKeyRef,
            "--now", "2026-03-03T18:00:00Z", "--out", Path.Combine(_dir, "quiet-out"));
        Assert.True(replay.Code == 0, replay.Err);
        Assert.DoesNotContain('\r', replay.Err);
        Assert.DoesNotContain("events/s", replay.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("ETA", replay.Err, StringComparison.Ordinal);
        Assert.Contains("replayed 102,000 events", replay.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void GenAndReplayShowRateAndEtaOnATerminal()
    {
        // util-linux `script` gives the command a pseudo-terminal: what a person at a terminal sees.
        Assert.True(File.Exists("/usr/bin/script"),
            "util-linux `script` (Debian bsdutils, an essential package) is needed");
        string traffic = Path.Combine(_dir, "tty");
        string gen = RunOnTerminal("gen", "--out", traffic, "--reads", "100000", "--end", "2026-03-03T18:00:00Z");
        Assert.Matches(@"\r  [0-9,]+/100,000 reads  [0-9,]+/s  [0-9]+%  ETA [0-9]+:[0-9]{2}", gen);
        Assert.Contains("wrote 100,000 reads", gen, StringComparison.Ordinal);

        string replay = RunOnTerminal("replay", "--policy", SamplePolicy,
            "--reads", Path.Combine(traffic, "reads.ndjson"), "--queries", Path.Combine(traffic, "queries.ndjson"),
            "--audit-key", AuditKeyRef, "--now", "2026-03-03T18:00:00Z", "--out", Path.Combine(_dir, "tty-out"));
        Assert.Matches(@"\r  [0-9,]+ events  [0-9,]+/s  [0-9]+% of [0-9.]+ MiB  ETA [0-9]+:[0-9]{2}", replay);
        // The line is erased before the summary, which starts on a clean line.
        Assert.Matches(@"\r +\rreplayed 102,000 events", replay);
    }

    private static string SamplePolicy => Path.Combine(AppContext.BaseDirectory, "samples", "policy.yaml");
    private static string AuditKeyRef =>
        "file:" + Path.Combine(AppContext.BaseDirectory, "samples", "keys", "audit.key");
    private static string Cli => Path.Combine(AppContext.BaseDirectory, "streamguard.dll");

    private static (int Code, string Out, string Err) RunRedirected(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        start.ArgumentList.Add(Cli);
        foreach (string a in args) start.ArgumentList.Add(a);
        using Process p = Process.Start(start)!;
        Task<string> err = p.StandardError.ReadToEndAsync();
        string o = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(120_000), "timed out");
        return (p.ExitCode, o, err.Result);
    }

    private static string RunOnTerminal(params string[] args)
    {
        string command = string.Join(' ', new[] { "dotnet", Cli }.Concat(args)
            .Select(a => "'" + a.Replace("'", "'\\''", StringComparison.Ordinal) + "'"));
        var start = new ProcessStartInfo("script")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string a in (string[])["-qec", command, "/dev/null"]) start.ArgumentList.Add(a);
        using Process p = Process.Start(start)!;
        p.StandardInput.Close();
        Task<string> err = p.StandardError.ReadToEndAsync();
        string o = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(120_000), "timed out");
        Assert.True(p.ExitCode == 0, o + err.Result);
        return o;
    }

    private sealed class ManualTime : TimeProvider
    {
        public TimeSpan Now { get; set; }

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Now.Ticks;
    }
}
