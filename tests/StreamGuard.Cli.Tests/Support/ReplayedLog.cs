namespace StreamGuard.Tests.Support;

/// <summary>
/// A replay's outputs over the test policy, made with <c>streamguard replay</c> in process: reads of two owners
/// (ca-lapd, wa-spd), searches by an owner and by a federal agency (us-ice-ero, for immigration enforcement).
/// </summary>
internal static class ReplayedLog
{
    /// <summary>Replays into <paramref name="dir"/>/replay; the audit log's path, and the results'.</summary>
    public static string Make(string dir, out string resultsPath)
    {
        using var policy = new TestPolicy();
        var t = new DateTimeOffset(2026, 3, 3, 17, 0, 0, TimeSpan.Zero);
        string reads = Path.Combine(dir, "r.ndjson"), queries = Path.Combine(dir, "q.ndjson");
        File.WriteAllLines(reads, Enumerable.Range(0, 40).Select(i =>
            TestPolicy.Read($"r{i}", i % 2 == 0 ? "ca-lapd" : "wa-spd", $"PL{i % 5}", t.AddMinutes(i))));
        File.WriteAllLines(queries, Enumerable.Range(0, 10).Select(i =>
            TestPolicy.Query($"q{i}", i % 2 == 0 ? "ca-lapd" : "us-ice-ero", $"PL{i % 5}", t.AddMinutes(41 + i),
                purpose: i % 2 == 0 ? "stolen_vehicle" : "immigration_enforcement")));
        string key = Path.Combine(dir, "audit.key");
        File.WriteAllText(key, "cli-audit-key");
        string outDir = Path.Combine(dir, "replay");
        var r = CliRunner.Run("replay", "--policy", policy.PolicyPath, "--reads", reads, "--queries", queries,
            "--audit-key", "file:" + key, "--now", "2026-03-03T18:00:00Z", "--out", outDir);
        Assert.True(r.Code == 0, r.Err);
        resultsPath = Path.Combine(outDir, "results.ndjson");
        return Path.Combine(outDir, "audit.ndjson");
    }
}
