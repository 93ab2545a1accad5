using System.Text;
using System.Text.Json;
using StreamGuard.Engine;
using StreamGuard.Policy;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Engine;

/// <summary>
/// Rotating an agency's query-signing key: two live keys during the change, then the old one retired.
/// </summary>
public sealed class KeyRotationTests : IDisposable
{
    private static readonly DateTimeOffset s_t0 = new(2026, 3, 3, 17, 0, 0, TimeSpan.Zero);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sg-keys-" + Guid.NewGuid().ToString("N"));

    public KeyRotationTests()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "keys"));
        File.WriteAllText(Path.Combine(_dir, "keys", "old.key"), "old-key-ca-lapd\n");
        File.WriteAllText(Path.Combine(_dir, "keys", "new.key"), "new-key-ca-lapd\n");
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private CompiledPolicy Load(string key, CompiledPolicy? previous = null)
    {
        string path = Path.Combine(_dir, "policy.yaml");
        File.WriteAllText(path, $"version: 1\nagencies:\n  - {{id: ca-lapd, state: CA, level: local, key: {key}}}\n");
        return new CompiledPolicy(PolicyLoader.LoadFile(path), previous);
    }

    private static string Answer(StreamGuardEngine engine, MemorySink sink, string id, byte[] key, DateTimeOffset at)
    {
        int results = sink.Results.Count;
        engine.ProcessQuery(Encoding.UTF8.GetBytes(TestPolicy.Query(id, "ca-lapd", "7ABC123", at, signWith: key)),
            EventSource.File("queries", 1));
        if (sink.Results.Count == results)
        {
            // Unauthenticated: answered nowhere, audited only.
            return MemorySink.Json(sink.AuditRecords[^1]).GetProperty("code").GetString()!;
        }
        JsonElement result = MemorySink.Json(sink.Results[^1]);
        return result.GetProperty("status").GetString() == "answered"
            ? "answered"
            : result.GetProperty("code").GetString()!;
    }

    [Fact]
    public void DuringARotationBothKeysAuthenticateAndAfterItOnlyTheNewOne()
    {
        byte[] oldKey = "old-key-ca-lapd"u8.ToArray(), newKey = "new-key-ca-lapd"u8.ToArray();
        byte[] other = "something-else"u8.ToArray();
        CompiledPolicy rotating = Load("[file:keys/new.key, file:keys/old.key]");
        Assert.Equal(newKey, rotating.Agency(0).Key); // the first signs new queries
        var sink = new MemorySink();
        var engine = TestEngine.Create(rotating, sink, TestPolicy.AuditKey,
            new EngineOptions { EventTimeClock = true, ReplayNowMs = s_t0.AddDays(1).ToUnixTimeMilliseconds() });

        Assert.Equal("answered", Answer(engine, sink, "q1", oldKey, s_t0));
        Assert.Equal("answered", Answer(engine, sink, "q2", newKey, s_t0.AddSeconds(1)));
        Assert.Equal("deny.unauthenticated", Answer(engine, sink, "q3", other, s_t0.AddSeconds(2)));

        engine.SwapPolicy(Load("file:keys/new.key", rotating), null); // rotation done: the old key retired
        Assert.Equal("deny.unauthenticated", Answer(engine, sink, "q4", oldKey, s_t0.AddSeconds(3)));
        Assert.Equal("answered", Answer(engine, sink, "q5", newKey, s_t0.AddSeconds(4)));
    }

    [Theory]
    [InlineData("[]", "an empty list")]
    [InlineData("[file:keys/new.key, file:keys/new.key]", "the same key as one listed before it")]
    [InlineData("[file:keys/new.key, file:keys/missing.key]", "does not exist")]
    public void ABadKeyListIsRefusedWithFileLineAndField(string key, string message)
    {
        var e = Assert.Throws<PolicyException>(() => Load(key));
        Assert.Equal("agencies[ca-lapd].key", e.Field);
        Assert.Equal(3, e.Line);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }
}
