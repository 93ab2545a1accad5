using System.Text;
using System.Text.Json;
using StreamGuard.Engine;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Engine;

/// <summary>
/// SPEC §2/§3 query authentication, each way in: every signed field altered after signing, an unknown requester, a
/// wrong key, a replayed query_id, a stale and a future issued_at — each denied with the right code, answered
/// with nothing (an unauthenticated query not at all), and audited (one search record with that code, no read
/// listed). EngineTests and KeyRotationTests cover the first cases by one example each; this covers every field.
/// </summary>
public sealed class QuerySecurityTests : IDisposable
{
    private static readonly DateTimeOffset s_t0 = new(2026, 3, 3, 17, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset s_now = s_t0.AddHours(1);
    private readonly TestPolicy _policy = new();
    private readonly MemorySink _sink = new();
    private readonly StreamGuardEngine _engine;

    public QuerySecurityTests()
    {
        _engine = TestEngine.Create(_policy.Compiled, _sink, TestPolicy.AuditKey,
            new EngineOptions { EventTimeClock = true, ReplayNowMs = s_now.ToUnixTimeMilliseconds() });
        _engine.ProcessRead(Encoding.UTF8.GetBytes(TestPolicy.Read("r1", "ca-lapd", "7ABC123", s_t0)),
            EventSource.File("reads", 1));
    }

    public void Dispose() => _policy.Dispose();

    private static string Signed() => TestPolicy.Query("q1", "ca-lapd", "7ABC123", s_t0.AddMinutes(1),
        from: s_t0.AddDays(-1), to: s_t0.AddMinutes(1));

    private void AssertDeniedAndAudited(string query, string code)
    {
        int before = _sink.AuditRecords.Count;
        int results = _sink.Results.Count;
        _engine.ProcessQuery(Encoding.UTF8.GetBytes(query), EventSource.File("queries", 1));
        if (code == "deny.unauthenticated")
        {
            // No trustworthy requester: answered nowhere, audited only.
            Assert.Equal(results, _sink.Results.Count);
        }
        else
        {
            JsonElement result = MemorySink.Json(_sink.Results[^1]);
            Assert.Equal("denied", result.GetProperty("status").GetString());
            Assert.Equal(code, result.GetProperty("code").GetString());
            Assert.Empty(result.GetProperty("reads").EnumerateArray());
        }
        JsonElement record = MemorySink.Json(Assert.Single(_sink.AuditRecords.Skip(before)));
        Assert.Equal("search", record.GetProperty("event").GetString());
        Assert.Equal("deny", record.GetProperty("decision").GetString());
        Assert.Equal(code, record.GetProperty("code").GetString());
        Assert.True(!record.TryGetProperty("reads", out JsonElement reads) || reads.GetArrayLength() == 0,
            "a denied search lists no read");
        Assert.DoesNotContain("7ABC123", _sink.AuditLines[^2], StringComparison.Ordinal);
    }

    [Fact]
    public void TheUnalteredQueryIsAnswered()
    {
        _engine.ProcessQuery(Encoding.UTF8.GetBytes(Signed()), EventSource.File("queries", 1));
        Assert.Equal("answered", MemorySink.Json(_sink.Results[^1]).GetProperty("status").GetString());
    }

    [Theory]
    [InlineData("\"query_id\":\"q1\"", "\"query_id\":\"q2\"")]
    [InlineData("\"requester\":\"ca-lapd\"", "\"requester\":\"ca-lasd\"")]
    [InlineData("\"user\":\"d.ortiz\"", "\"user\":\"m.smith\"")]
    [InlineData("\"purpose\":\"stolen_vehicle\"", "\"purpose\":\"missing_person\"")]
    [InlineData("\"case_number\":\"CASE-1\"", "\"case_number\":\"CASE-2\"")]
    [InlineData("\"plate\":\"7ABC123\"", "\"plate\":\"7ABC124\"")]
    // the same plate once normalised: signed as it appears
    [InlineData("\"plate\":\"7ABC123\"", "\"plate\":\"7abc-123\"")]
    [InlineData("\"from\":\"2026-03-02T17:00:00.000Z\"", "\"from\":\"2026-02-02T17:00:00.000Z\"")]
    [InlineData("\"to\":\"2026-03-03T17:01:00.000Z\"", "\"to\":\"2026-03-03T17:02:00.000Z\"")]
    [InlineData("\"issued_at\":\"2026-03-03T17:01:00.000Z\"", "\"issued_at\":\"2026-03-03T17:01:01.000Z\"")]
    [InlineData(",\"from\":\"2026-03-02T17:00:00.000Z\"", "")] // a signed field removed
    public void EverySignedFieldAlteredAfterSigningIsDeniedAndAudited(string original, string altered)
    {
        string query = Signed();
        Assert.Contains(original, query, StringComparison.Ordinal);
        AssertDeniedAndAudited(query.Replace(original, altered, StringComparison.Ordinal), "deny.unauthenticated");
    }

    [Fact]
    public void ASignatureAlteredByOneBitIsDenied()
    {
        string query = Signed();
        int at = query.IndexOf("\"signature\":\"", StringComparison.Ordinal) + 13;
        char flipped = query[at] == 'A' ? 'B' : 'A';
        AssertDeniedAndAudited(query[..at] + flipped + query[(at + 1)..], "deny.unauthenticated");
    }

    [Fact]
    public void AnUnknownRequesterIsDeniedAndAudited() =>
        AssertDeniedAndAudited(TestPolicy.Query("q1", "xx-nobody", "7ABC123", s_t0.AddMinutes(1),
            signWith: TestPolicy.KeyOf("ca-lapd")), "deny.unauthenticated");

    [Fact]
    public void AWrongKeyIsDeniedAndAudited() =>
        AssertDeniedAndAudited(TestPolicy.Query("q1", "ca-lapd", "7ABC123", s_t0.AddMinutes(1),
            signWith: TestPolicy.KeyOf("ca-lasd")), "deny.unauthenticated");

    [Fact]
    public void AReplayedQueryIdIsDeniedAndAuditedEvenWithAFreshSignature()
    {
        _engine.ProcessQuery(Encoding.UTF8.GetBytes(Signed()), EventSource.File("queries", 1));
        AssertDeniedAndAudited(Signed(), "deny.replayed"); // the very same bytes
        // re-signed later
        AssertDeniedAndAudited(TestPolicy.Query("q1", "ca-lapd", "7ABC123", s_t0.AddMinutes(2)), "deny.replayed");
    }

    [Theory]
    [InlineData(-6 * 60)] // 6 minutes older than the clock: outside the 5-minute skew
    [InlineData(+6 * 60)] // 6 minutes ahead of "now"
    public void AStaleOrFutureIssuedAtIsDeniedAndAudited(int secondsFromClock)
    {
        DateTimeOffset clock = secondsFromClock < 0 ? s_t0 : s_now; // the event clock (last read), and replay's "now"
        AssertDeniedAndAudited(TestPolicy.Query("q-skew", "ca-lapd", "7ABC123", clock.AddSeconds(secondsFromClock)),
            "deny.replayed");
    }
}
