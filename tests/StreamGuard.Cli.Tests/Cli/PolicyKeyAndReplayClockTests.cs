using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.CommandLine;

/// <summary>
/// Two command-line items of issue 17: <c>policy diff</c> names a rotated key, and <c>replay</c> without
/// <c>--now</c> is byte-for-byte deterministic, holds and hotlists included.
/// </summary>
[Collection("Console")]
public sealed class PolicyKeyAndReplayClockTests : IDisposable
{
    private static readonly string[] s_outputs =
        ["shared.ndjson", "alerts.ndjson", "results.ndjson", "purges.ndjson", "audit.ndjson", "dlq.ndjson"];

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sg-cli-kr-" + Guid.NewGuid().ToString("N"));

    public PolicyKeyAndReplayClockTests() => Directory.CreateDirectory(Path.Combine(_dir, "keys"));

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void PolicyDiffReportsAKeyRotatedForAnAgencyWithoutShowingTheKey()
    {
        Write("keys/lapd-1.key", "lapd-key-one\n");
        Write("keys/lapd-2.key", "lapd-key-two\n");
        Write("keys/lasd.key", "lasd-key\n");
        const string Agencies = """
            version: 1
            agencies:
              - {id: ca-lapd, state: CA, level: local, key: KEY}
              - {id: ca-lasd, state: CA, level: county, key: file:keys/lasd.key}
            """;
        string before = Write("old.yaml", Agencies.Replace("KEY", "file:keys/lapd-1.key", StringComparison.Ordinal));
        string after = Write("new.yaml", Agencies.Replace("KEY", "[file:keys/lapd-2.key, file:keys/lapd-1.key]",
            StringComparison.Ordinal));

        var r = CliRunner.Run("policy", "diff", before, after);
        Assert.Equal(0, r.Code);
        Assert.Contains("key rotated for agency ca-lapd", r.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("ca-lasd", r.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("lapd-key", r.Out + r.Err, StringComparison.Ordinal);

        var same = CliRunner.Run("policy", "diff", before, before);
        Assert.Equal(0, same.Code);
        Assert.DoesNotContain("key rotated", same.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void ReplayWithHoldsAndHotlistsButWithoutNowIsByteForByteDeterministic()
    {
        // wa-spd keeps reads 21 days: the replay clock decides what a hold keeps and what is purged.
        using var policy = new TestPolicy();
        string auditKey = Write("audit.key", "replay-clock-audit-key\n");
        string reads = Write("reads.ndjson", string.Join('\n',
            TestPolicy.Read("r0", "wa-spd", "8DEF456", new DateTimeOffset(2026, 1, 9, 8, 0, 0, TimeSpan.Zero)),
            TestPolicy.Read("r1", "wa-spd", "7ABC123", new DateTimeOffset(2026, 1, 10, 8, 0, 0, TimeSpan.Zero)),
            TestPolicy.Read("r2", "wa-spd", "7ABC123", new DateTimeOffset(2026, 1, 12, 8, 0, 0, TimeSpan.Zero)),
            TestPolicy.Read("r3", "wa-spd", "5XYZ999", new DateTimeOffset(2026, 3, 20, 8, 0, 0, TimeSpan.Zero))) +
            "\n");
        string holds = Write("holds.ndjson",
            "{\"hold_id\":\"h1\",\"agency\":\"wa-spd\",\"plate\":\"7ABC123\",\"from\":\"2026-01-01T00:00:00Z\"," +
            "\"to\":\"2026-01-31T00:00:00Z\",\"kind\":\"investigation\",\"case_number\":\"SPD-1\"," +
            "\"until\":\"2026-06-01T00:00:00Z\"}\n");
        string hotlists = Write("hotlists.ndjson",
            "{\"hotlist_id\":\"hl-1\",\"owner\":\"wa-spd\",\"plate\":\"7ABC123\",\"purpose\":\"stolen_vehicle\"," +
            "\"case_number\":\"SPD-9\",\"expires_at\":\"2027-01-01T00:00:00Z\"}\n");

        var runs = new List<Dictionary<string, byte[]>>();
        for (int i = 0; i < 2; i++)
        {
            if (i > 0) Thread.Sleep(1100); // the wall clock moves on between the two runs
            string outDir = Path.Combine(_dir, "out" + i);
            var replay = CliRunner.Run("replay", "--policy", policy.PolicyPath, "--reads", reads, "--holds", holds,
                "--hotlists", hotlists, "--audit-key", "file:" + auditKey, "--out", outDir);
            Assert.True(replay.Code == 0, replay.Err);
            runs.Add(s_outputs.ToDictionary(f => f, f => File.ReadAllBytes(Path.Combine(outDir, f))));
        }
        Assert.NotEmpty(runs[0]["audit.ndjson"]);
        Assert.NotEmpty(runs[0]["purges.ndjson"]); // r0 expires in the replay: the clock is what decides
        Assert.NotEmpty(runs[0]["alerts.ndjson"]);
        foreach (string f in s_outputs)
        {
            Assert.True(runs[0][f].AsSpan().SequenceEqual(runs[1][f]), $"{f} differs between two replays:\n" +
                System.Text.Encoding.UTF8.GetString(runs[0][f]) + "\n---\n" +
                System.Text.Encoding.UTF8.GetString(runs[1][f]));
        }
    }
}
