using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using StreamGuard.Audit;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.CommandLine;

/// <summary>
/// <c>audit why</c>, <c>audit export</c> and <c>audit report</c> on logs that are not what a worker wrote: each judges
/// the log's integrity as <c>audit verify</c> does (the same bytes, the same line numbers) and ends with one line of
/// error and exit 1, never a stack trace, when the log cannot be read or its chains are broken.
/// </summary>
[Collection("Console")]
public sealed class AuditReadersTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sg-readers-" + Guid.NewGuid().ToString("N"));

    public AuditReadersTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    /// <summary>A replay's audit log over the test policy: reads of two owners, searches by an owner and ICE.</summary>
    private string ReplayAudit()
    {
        using var policy = new TestPolicy();
        var t = new DateTimeOffset(2026, 3, 3, 17, 0, 0, TimeSpan.Zero);
        string reads = Path.Combine(_dir, "r.ndjson"), queries = Path.Combine(_dir, "q.ndjson");
        File.WriteAllLines(reads, Enumerable.Range(0, 40).Select(i =>
            TestPolicy.Read($"r{i}", i % 2 == 0 ? "ca-lapd" : "wa-spd", $"PL{i % 5}", t.AddMinutes(i))));
        File.WriteAllLines(queries, Enumerable.Range(0, 10).Select(i =>
            TestPolicy.Query($"q{i}", i % 2 == 0 ? "ca-lapd" : "us-ice-ero", $"PL{i % 5}", t.AddMinutes(41 + i),
                purpose: i % 2 == 0 ? "stolen_vehicle" : "immigration_enforcement")));
        string key = Path.Combine(_dir, "audit.key");
        File.WriteAllText(key, "cli-audit-key");
        string outDir = Path.Combine(_dir, "replay");
        var r = CliRunner.Run("replay", "--policy", policy.PolicyPath, "--reads", reads, "--queries", queries,
            "--audit-key", "file:" + key, "--now", "2026-03-03T18:00:00Z", "--out", outDir);
        Assert.True(r.Code == 0, r.Err);
        return Path.Combine(outDir, "audit.ndjson");
    }

    /// <summary>The id of the first decision on q1 (ICE's search, denied) in an intact log.</summary>
    private static string DeniedSearchId(string audit)
    {
        var export = CliRunner.Run("audit", "export", "--audit", audit);
        Assert.True(export.Code == 0, export.Err);
        return export.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(MemorySink.Json)
            .First(d => d.TryGetProperty("query_id", out JsonElement q) && q.GetString() == "q1"
                && d.GetProperty("decision").GetString() == "deny")
            .GetProperty("id").GetString()!;
    }

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private string Write(string name, IEnumerable<string> lines) =>
        Write(name, Encoding.UTF8.GetBytes(string.Join("", lines.Select(l => l + "\n"))));

    /// <summary>The first break <c>audit verify</c> reports for a file: its line number and what broke.</summary>
    private static (long Line, string Error) VerifyBreak(string path)
    {
        var verify = CliRunner.Run("audit", "verify", path);
        Assert.Equal(1, verify.Code);
        Match m = Regex.Match(verify.Err, "^" + Regex.Escape(path) + @":(?<line>[0-9]+): (?<error>.+?)\r?\n$");
        Assert.True(m.Success, verify.Err);
        return (long.Parse(m.Groups["line"].Value, System.Globalization.CultureInfo.InvariantCulture),
            m.Groups["error"].Value);
    }

    [Fact]
    public void WhyJudgesIntegrityByTheBytesAsVerifyDoesAndExitsOneWhenTheLogIsBroken()
    {
        string audit = ReplayAudit();
        string id = DeniedSearchId(audit);
        byte[] bytes = File.ReadAllBytes(audit);
        string[] lines = File.ReadAllLines(audit);
        Assert.True(lines.Length > 4);
        var broken = new Dictionary<string, byte[]>
        {
            ["crlf"] = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(bytes).Replace("\n", "\r\n",
                StringComparison.Ordinal)),
            ["bom"] = [0xEF, 0xBB, 0xBF, .. bytes],
            ["blank"] = Encoding.UTF8.GetBytes(string.Join("", lines.Take(3).Append("").Concat(lines.Skip(3))
                .Select(l => l + "\n"))),
            ["tampered"] = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(bytes).Replace("\"wa-spd\"",
                "\"wa-sp_\"", StringComparison.Ordinal)),
        };
        foreach ((string name, byte[] content) in broken)
        {
            string path = Write(name + ".ndjson", content);
            (long line, string error) = VerifyBreak(path);
            var why = CliRunner.Run("audit", "why", id, "--audit", path);
            Assert.True(why.Code == 1, $"{name}: exit {why.Code}\n{why.Out}");
            // Still explained, with the break verify reports, on standard output and as verify words it on error.
            Assert.Contains($"decision    {id}", why.Out, StringComparison.Ordinal);
            Assert.Contains($"integrity   BROKEN: line {line}: {error}\n", why.Out.ReplaceLineEndings("\n"),
                StringComparison.Ordinal);
            Assert.DoesNotContain("every chain verified", why.Out, StringComparison.Ordinal);
            Assert.Equal($"{path}:{line}: {error}", why.Err.TrimEnd());
        }
        // The intact log: verified, exit 0.
        var ok = CliRunner.Run("audit", "why", id, "--audit", audit);
        Assert.True(ok.Code == 0, ok.Err);
        Assert.Contains("integrity   every chain verified from its genesis", ok.Out, StringComparison.Ordinal);
        Assert.Equal("", ok.Err);
    }
}
