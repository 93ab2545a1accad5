using System.Text;
using System.Text.Json.Nodes;
using StreamGuard.Engine;
using StreamGuard.Policy;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Audit;

/// <summary>
/// A key rotation shows in the audit: each <c>policy_load</c> entry carries a fingerprint of every agency's signing
/// keys (an HMAC under the audit key, so the entry discloses nothing and nobody without the audit key can test a
/// guessed key against it), and a reload that changes only a key file is a new version with a new entry.
/// </summary>
public sealed class KeyFingerprintTests : IDisposable
{
    private static readonly DateTimeOffset s_t0 = new(2026, 3, 3, 17, 0, 0, TimeSpan.Zero);
    private const string LapdKey = "lapd-first-key", LapdRotated = "lapd-second-key", LasdKey = "lasd-only-key";
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sg-fingerprint-" + Guid.NewGuid().ToString("N"));
    private readonly string _path;

    public KeyFingerprintTests()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "keys"));
        WriteKey("lapd.key", LapdKey);
        WriteKey("lasd.key", LasdKey);
        _path = Path.Combine(_dir, "policy.yaml");
        File.WriteAllText(_path, """
            version: 1
            agencies:
              - {id: ca-lapd, state: CA, level: local, key: file:keys/lapd.key}
              - {id: ca-lasd, state: CA, level: county, key: file:keys/lasd.key}
              - {id: ca-nokey, state: CA, level: local}
            """);
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private void WriteKey(string name, string text) => File.WriteAllText(Path.Combine(_dir, "keys", name), text + "\n");

    private static void Read(StreamGuardEngine engine, string id, DateTimeOffset at) =>
        engine.ProcessRead(Encoding.UTF8.GetBytes(TestPolicy.Read(id, "ca-lapd", "7ABC123", at)),
            EventSource.File("reads", 1));

    /// <summary>The <c>policy_load</c> bodies of the audit, in order.</summary>
    private static List<JsonObject> Loads(MemorySink sink) =>
        sink.AuditLines.Select(l => JsonNode.Parse(l)!.AsObject())
            .Where(e => e["policy_load"] is JsonObject).Select(e => e["policy_load"]!.AsObject()).ToList();

    /// <summary>
    /// Two policy versions from the same file, the second after lapd's key file was rewritten; the audit of an engine
    /// that swapped the second in between two reads.
    /// </summary>
    private (List<JsonObject> Loads, string Lines) Rotate(byte[] auditKey)
    {
        WriteKey("lapd.key", LapdKey);
        var v1 = new CompiledPolicy(PolicyLoader.LoadFile(_path));
        var sink = new MemorySink();
        var engine = TestEngine.Create(v1, sink, auditKey,
            new EngineOptions { EventTimeClock = true, ReplayNowMs = s_t0.AddDays(1).ToUnixTimeMilliseconds() });
        Read(engine, "r1", s_t0);
        WriteKey("lapd.key", LapdRotated);
        var v2 = new CompiledPolicy(PolicyLoader.LoadFile(_path), v1);
        Assert.Equal(v1.Hash, v2.Hash); // the file is the same: only the key it names changed
        engine.SwapPolicy(v2, PolicyDiff.Summarise(v1, PolicyDiff.Compute(v1, v2, s_t0.ToUnixTimeMilliseconds())));
        Read(engine, "r2", s_t0.AddSeconds(1));
        return (Loads(sink), string.Join('\n', sink.AuditLines));
    }

    [Fact]
    public void APolicyLoadEntryFingerprintsEachAgencysKeysAndARotationChangesOnlyThatAgencys()
    {
        var (loads, lines) = Rotate(TestPolicy.AuditKey);
        Assert.Equal(2, loads.Count);
        JsonObject before = loads[0]["keys"]!.AsObject(), after = loads[1]["keys"]!.AsObject();
        Assert.Equal(["ca-lapd", "ca-lasd"], before.Select(kv => kv.Key));   // an agency without a key has none
        Assert.NotEqual(before["ca-lapd"]!.ToJsonString(), after["ca-lapd"]!.ToJsonString());
        Assert.Equal(before["ca-lasd"]!.ToJsonString(), after["ca-lasd"]!.ToJsonString());
        // What the change did names the rotation.
        Assert.Equal("rotated", loads[1]["key_changes"]!["ca-lapd"]!.GetValue<string>());
        Assert.Null(loads[1]["key_changes"]!["ca-lasd"]);
        Assert.Null(loads[0]["key_changes"]);
        // audit export gives them with the policy_load decision.
        var exported = StreamGuard.Audit.AuditExport.Decisions(lines.Split('\n'))
            .Select(d => JsonNode.Parse(d)!.AsObject()).Where(d => (string?)d["event"] == "policy_load").ToList();
        Assert.Equal(after.ToJsonString(), exported[^1]["keys"]!.ToJsonString());
        Assert.Equal("rotated", exported[^1]["key_changes"]!["ca-lapd"]!.GetValue<string>());

        // Nothing of a key is in the log: not its text, nor its plain hash.
        foreach (string key in (string[])[LapdKey, LapdRotated, LasdKey])
        {
            Assert.DoesNotContain(key, lines, StringComparison.Ordinal);
            string sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(
                Encoding.UTF8.GetBytes(key)));
            Assert.DoesNotContain(sha[..16], lines, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void FingerprintsDependOnTheAuditKey()
    {
        var (a, _) = Rotate(TestPolicy.AuditKey);
        var (b, _) = Rotate("another-audit-key"u8.ToArray());
        var (c, _) = Rotate(TestPolicy.AuditKey);
        Assert.NotEqual(a[0]["keys"]!.ToJsonString(), b[0]["keys"]!.ToJsonString());
        Assert.Equal(a[0]["keys"]!.ToJsonString(), c[0]["keys"]!.ToJsonString()); // stable under one audit key
    }

    [Fact]
    public void AReloadThatOnlyRewritesAKeyFileIsANewVersion()
    {
        var log = new List<string>();
        var inForce = new CompiledPolicy(PolicyLoader.LoadFile(_path));
        using var reloader = new PolicyReloader(_path, inForce, m => { lock (log) log.Add(m); },
            TimeSpan.FromHours(1), () => 0);
        reloader.Poll();
        reloader.Poll();
        Assert.False(reloader.TryTake(out _, out _)); // nothing changed

        WriteKey("lapd.key", LapdRotated);
        reloader.Poll(); // first sight
        reloader.Poll(); // stable: taken
        Assert.True(reloader.TryTake(out CompiledPolicy next, out _), string.Join('\n', log));
        Assert.Equal(Encoding.UTF8.GetBytes(LapdRotated), next.Agency(next.Agencies.Find("ca-lapd")).Key);
        Assert.Contains(log, m => m.Contains("key rotated for agency ca-lapd", StringComparison.Ordinal));
        Assert.DoesNotContain(log, m => m.Contains("ca-lasd", StringComparison.Ordinal));

        reloader.Poll();
        reloader.Poll();
        Assert.False(reloader.TryTake(out _, out _)); // once only
    }
}
