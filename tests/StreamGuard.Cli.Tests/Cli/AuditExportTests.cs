using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using StreamGuard.Audit;
using System.Globalization;
using StreamGuard.Engine;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.CommandLine;

/// <summary>
/// <c>audit export</c> (one JSON object per decision, SPEC §7) and <c>audit verify</c>'s heads, on a replay's log, on a
/// v1 log, and on a v1 chain that v2 continued.
/// </summary>
[Collection("Console")]
public sealed class AuditExportTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sg-export-" + Guid.NewGuid().ToString("N"));

    public AuditExportTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private static string Samples => Path.Combine(AppContext.BaseDirectory, "samples");

    [Fact]
    public void ExportGivesOneObjectPerDecisionNamedByTheIdsOfResultsAndShares()
    {
        string traffic = Path.Combine(_dir, "traffic"), outDir = Path.Combine(_dir, "out");
        Assert.Equal(0, CliRunner.Run("gen", "--out", traffic, "--reads", "400", "--end", "2026-03-03T18:00:00Z",
            "--seed", "5").Code);
        var replay = CliRunner.Run("replay", "--policy", Path.Combine(Samples, "policy.yaml"),
            "--reads", Path.Combine(traffic, "reads.ndjson"), "--queries", Path.Combine(traffic, "queries.ndjson"),
            "--hotlists", Path.Combine(traffic, "hotlists.ndjson"),
            "--audit-key", "file:" + Path.Combine(Samples, "keys", "audit.key"), "--now", "2026-03-03T18:00:00Z",
            "--out", outDir);
        Assert.True(replay.Code == 0, replay.Err);
        Match counts = Regex.Match(replay.Out, @"audit entries (?<e>[0-9,]+) \((?<d>[0-9,]+) decisions\)");
        Assert.True(counts.Success, replay.Out);
        string audit = Path.Combine(outDir, "audit.ndjson");

        var export = CliRunner.Run("audit", "export", "--audit", audit);
        Assert.True(export.Code == 0, export.Err);
        List<JsonElement> decisions = export.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(MemorySink.Json).ToList();
        // One object per decision the engine counted, from fewer entries (one per input event).
        Assert.Equal(Count(counts.Groups["d"].Value), decisions.Count);
        Assert.Equal(Count(counts.Groups["e"].Value), AuditVerifier.Verify(File.ReadLines(audit)).Entries);
        Assert.True(decisions.Count > File.ReadLines(audit).Count());
        foreach (JsonElement d in decisions)
        {
            Assert.Matches("^[0-9a-f]{32}$", d.GetProperty("id").GetString()!);
            Assert.Matches("^p[0-9]+$", d.GetProperty("chain").GetString()!);
            Assert.Contains(d.GetProperty("event").GetString(), (string[])
                ["search", "push", "alert", "ingest", "purge", "policy_load", "hold"]);
            Assert.Contains(d.GetProperty("decision").GetString(), (string[])["allow", "deny"]);
            Assert.Matches("^sha256:[0-9a-f]{64}$", d.GetProperty("policy").GetString()!);
            Assert.False(string.IsNullOrEmpty(d.GetProperty("citation").GetString()), d.ToString());
        }
        var byId = decisions.ToDictionary(d => d.GetProperty("id").GetString()!); // ids are unique

        // Every share and every answer names its decision.
        string[] shared = File.ReadAllLines(Path.Combine(outDir, "shared.ndjson"));
        string[] results = File.ReadAllLines(Path.Combine(outDir, "results.ndjson"));
        Assert.NotEmpty(shared);
        Assert.NotEmpty(results);
        foreach (JsonElement s in shared.Select(MemorySink.Json))
        {
            JsonElement d = byId[s.GetProperty("decision_id").GetString()!];
            JsonElement read = s.GetProperty("read");
            Assert.Equal("push", d.GetProperty("event").GetString());
            Assert.Equal("allow", d.GetProperty("decision").GetString());
            Assert.Equal(s.GetProperty("recipient").GetString(), d.GetProperty("recipient").GetString());
            Assert.Equal(read.GetProperty("agency_id").GetString(), d.GetProperty("owner").GetString());
            Assert.Equal([read.GetProperty("read_id").GetString()],
                d.GetProperty("reads").EnumerateArray().Select(r => r.GetString()));
            Assert.NotEmpty(d.GetProperty("purposes").EnumerateArray());
        }
        foreach (JsonElement r in results.Select(MemorySink.Json))
        {
            JsonElement d = byId[r.GetProperty("decision_id").GetString()!];
            Assert.Equal("search", d.GetProperty("event").GetString());
            Assert.Equal(r.GetProperty("query_id").GetString(), d.GetProperty("query_id").GetString());
        }

        // No raw plate anywhere in the export: only keyed plate references.
        HashSet<string> plates = File.ReadLines(Path.Combine(traffic, "reads.ndjson"))
            .Select(PlateOf).OfType<string>().ToHashSet();
        Assert.NotEmpty(plates);
        Assert.DoesNotContain("\"plate\"", export.Out, StringComparison.Ordinal);
        foreach (string plate in plates) Assert.DoesNotContain($"\"{plate}\"", export.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void ExportAndVerifyReadAV1LogAndWhyExplainsItsRecords()
    {
        List<string> v1 = V1Chain("p0", 0, AuditLog.GenesisHex("p0"));
        string path = Path.Combine(_dir, "v1.ndjson");
        File.WriteAllLines(path, v1);

        var verify = CliRunner.Run("audit", "verify", path);
        Assert.True(verify.Code == 0, verify.Err);
        string head = MemorySink.Json(v1[^1]).GetProperty("hash").GetString()!;
        Assert.Equal(
            [$"{path}: ok — 3 entries in 0 blocks on 1 chains, every link verified", $"  head p0 seq 3 {head}"],
            verify.Out.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n'));

        // A v1 record is already one decision: exported as written, less its chain links.
        var export = CliRunner.Run("audit", "export", "--audit", path);
        Assert.True(export.Code == 0, export.Err);
        string[] exported = export.Out.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');
        Assert.Equal(v1.Count, exported.Length);
        for (int i = 0; i < v1.Count; i++)
        {
            var expected = (JsonObject)JsonNode.Parse(v1[i])!;
            expected.Remove("prev");
            expected.Remove("hash");
            Assert.True(JsonNode.DeepEquals(expected, JsonNode.Parse(exported[i])), exported[i]);
        }

        var why = CliRunner.Run("audit", "why", "v1-p0-3", "--audit", path);
        Assert.True(why.Code == 0, why.Err);
        Assert.Contains("outcome     DENY deny.statute", why.Out, StringComparison.Ordinal);
        Assert.Contains("rule        CA.PUBLIC_AGENCY_ONLY [enacted]", why.Out, StringComparison.Ordinal);
        Assert.Contains("input       alpr.queries/0/3  (the event that was decided)", why.Out,
            StringComparison.Ordinal);
        Assert.Contains("integrity   every chain verified from its genesis (3 entries, chain p0 to seq 3)", why.Out,
            StringComparison.Ordinal);
    }

    [Fact]
    public void AV1ChainContinuedByV2ExportsBothAndVerifyPrintsTheHeadOfEachChain()
    {
        using var policy = new TestPolicy();
        List<string> v1 = V1Chain("p1", 1, AuditLog.GenesisHex("p1"));
        string v1Head = MemorySink.Json(v1[^1]).GetProperty("hash").GetString()!;
        var sink = new MemorySink();
        StreamGuardEngine e = TestEngine.Create(policy.Compiled, sink, TestPolicy.AuditKey);
        e.ResumeChain(1, 3, v1Head);
        DateTimeOffset t = DateTimeOffset.UtcNow;
        e.ProcessRead(Encoding.UTF8.GetBytes(TestPolicy.Read("r-v2", "ca-lapd", "7ABC123", t)),
            EventSource.Kafka("alpr.reads", 1, 9));
        e.ProcessRead(Encoding.UTF8.GetBytes(TestPolicy.Read("r-p0", "wa-spd", "7ABC124", t)),
            EventSource.Kafka("alpr.reads", 0, 4));
        string path = Path.Combine(_dir, "mixed.ndjson");
        File.WriteAllLines(path, [.. v1, .. sink.AuditLines]);

        var verify = CliRunner.Run("audit", "verify", path);
        Assert.True(verify.Code == 0, verify.Err);
        AuditVerifier.Result check = AuditVerifier.Verify(File.ReadLines(path));
        Assert.Equal(2, check.Chains);
        Assert.Equal(7, check.Entries); // three v1 records; on p1 and p0 a policy_load and a read each
        // The heads: p1 continued past the v1 head, p0 from its own genesis, each its last seal.
        List<string> seals = sink.AuditLines.Where(l => l.Contains("\"salt\":", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, seals.Count);
        IEnumerable<string> expectedHeads = seals.Select(MemorySink.Json)
            .Select(s => (Chain: s.GetProperty("chain").GetString()!, Seq: s.GetProperty("seq").GetInt64(),
                Hash: s.GetProperty("hash").GetString()!))
            .OrderBy(s => s.Chain, StringComparer.Ordinal)
            .Select(s => $"  head {s.Chain} seq {s.Seq} {s.Hash}");
        Assert.Equal(expectedHeads, verify.Out.ReplaceLineEndings("\n").Split('\n')
            .Where(l => l.StartsWith("  head ", StringComparison.Ordinal)));
        Assert.Contains("  head p1 seq 5 ", verify.Out, StringComparison.Ordinal);
        Assert.DoesNotContain(v1Head, verify.Out, StringComparison.Ordinal);

        var export = CliRunner.Run("audit", "export", "--audit", path);
        Assert.True(export.Code == 0, export.Err);
        List<JsonElement> decisions = export.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(MemorySink.Json).ToList();
        Assert.Equal(v1.Count + (int)e.AuditDecisionCount, decisions.Count);
        Assert.Equal(["v1-p1-1", "v1-p1-2", "v1-p1-3"], decisions.Take(3).Select(d => d.GetProperty("id").GetString()));
        JsonElement ingest = decisions.Single(d =>
            d.GetProperty("event").GetString() == "ingest" && d.GetProperty("reads")[0].GetString() == "r-v2");
        Assert.Equal(("p1", 5L), (ingest.GetProperty("chain").GetString(), ingest.GetProperty("seq").GetInt64()));
        Assert.Matches("^[0-9a-f]{32}$", ingest.GetProperty("id").GetString()!);
        Assert.False(ingest.TryGetProperty("prev", out _));
        Assert.False(ingest.TryGetProperty("hash", out _));
    }

    /// <summary>
    /// Three v1 records (one per decision, each hashed onto the one before: SHA-256 over the previous hash in hex and
    /// the record without its trailing hash member) as a v1 worker wrote them: a policy_load, an ingest, a denied
    /// search.
    /// </summary>
    private static List<string> V1Chain(string chain, int partition, string prev)
    {
        string policy = "sha256:" + new string('a', 64);
        // Written with ' for ", which no member holds.
        string[] bodies =
        [
            "'at':'2026-03-01T00:00:00Z','event':'policy_load','decision':'allow','code':'policy.load'," +
                $"'policy':'{policy}','rule':'POLICY','citation':'Policy version put in force'," +
                "'file':'policy.yaml','previous':null",
            "'at':'2026-03-01T00:00:01Z','event':'ingest','decision':'allow','code':'allow.ingest'," +
                $"'policy':'{policy}','source':'alpr.reads/{partition}/7','rule':'RETENTION.AGENCY'," +
                "'citation':'Agency retention window (policy file), shorter than any statute cap'," +
                "'owner':'ca-lapd','reads':['r1'],'plate_ref':'0123456789abcdef0123456789abcdef'," +
                "'retain_until':'2028-03-01T00:00:01Z'",
            "'at':'2026-03-01T00:00:02Z','event':'search','decision':'deny','code':'deny.statute'," +
                $"'policy':'{policy}','source':'alpr.queries/{partition}/3','rule':'CA.PUBLIC_AGENCY_ONLY'," +
                "'citation':'Cal. Civ. Code §1798.90.55(b)','owner':'ca-lapd','recipient':'us-ice-ero'," +
                "'purpose':'immigration_enforcement','query_id':'q1','user':'d.ortiz','case_number':'CASE-1'," +
                "'plate_ref':'0123456789abcdef0123456789abcdef'",
        ];
        var records = new List<string>();
        for (int i = 0; i < bodies.Length; i++)
        {
            string body = ($"{{'id':'v1-{chain}-{i + 1}','chain':'{chain}','seq':{i + 1},'prev':'{prev}'," +
                bodies[i]).Replace('\'', '"');
            string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(prev + body + "}")));
            records.Add(body + $",\"hash\":\"{hash}\"}}");
            prev = hash;
        }
        return records;
    }

    private static long Count(string text) =>
        long.Parse(text, NumberStyles.AllowThousands, CultureInfo.InvariantCulture);

    /// <summary>The plate of a line of gen's reads file (some lines are broken on purpose: null).</summary>
    private static string? PlateOf(string line)
    {
        try
        {
            return MemorySink.Json(line).TryGetProperty("plate", out JsonElement p) &&
                p.ValueKind == JsonValueKind.String ? p.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
