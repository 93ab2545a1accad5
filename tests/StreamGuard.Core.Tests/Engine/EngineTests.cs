using System.Text;
using System.Text.Json;
using StreamGuard.Audit;
using StreamGuard.Engine;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Engine;

public sealed class EngineTests : IDisposable
{
    private static readonly DateTimeOffset s_t0 = new(2026, 3, 3, 17, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset s_now = s_t0.AddDays(60); // replay's --now
    private readonly TestPolicy _policy = new();
    private readonly MemorySink _sink = new();
    private readonly StreamGuardEngine _engine;

    public EngineTests()
    {
        _engine = TestEngine.Create(_policy.Compiled, _sink, TestPolicy.AuditKey,
            new EngineOptions { EventTimeClock = true, ReplayNowMs = s_now.ToUnixTimeMilliseconds() });
    }

    public void Dispose() => _policy.Dispose();

    private void Read(string id, string agency, string plate, DateTimeOffset at) =>
        _engine.ProcessRead(Encoding.UTF8.GetBytes(TestPolicy.Read(id, agency, plate, at)),
            EventSource.File("reads", 1));

    private JsonElement Query(string json)
    {
        _engine.ProcessQuery(Encoding.UTF8.GetBytes(json), EventSource.File("queries", 1));
        return MemorySink.Json(_sink.Results[^1]);
    }

    private List<JsonElement> Audit(string eventKind) =>
        _sink.AuditRecords.Select(MemorySink.Json).Where(r => r.GetProperty("event").GetString() == eventKind).ToList();

    [Fact]
    public void AnOwnerSearchingItsOwnReadsGetsThemWithOneAuditRecord()
    {
        Read("r1", "ca-lapd", "7ABC123", s_t0);
        Read("r2", "ca-lapd", "7abc-123", s_t0.AddMinutes(1));
        Read("r3", "ca-lapd", "8XYZ999", s_t0.AddMinutes(2));

        JsonElement result = Query(TestPolicy.Query("q1", "ca-lapd", "7ABC123", s_t0.AddMinutes(3)));

        Assert.Equal("answered", result.GetProperty("status").GetString());
        // newest first
        Assert.Equal(["r2", "r1"],
            result.GetProperty("reads").EnumerateArray().Select(r => r.GetProperty("read_id").GetString()!));
        JsonElement record = Assert.Single(Audit("search"));
        Assert.Equal("allow.own", record.GetProperty("code").GetString());
        Assert.Equal("ca-lapd", record.GetProperty("owner").GetString());
        Assert.Equal(["r1", "r2"], record.GetProperty("reads").EnumerateArray().Select(r => r.GetString()!).Order());
        Assert.Equal(record.GetProperty("id").GetString(), result.GetProperty("decision_id").GetString());
        Assert.Matches("^[0-9a-f]{32}$", record.GetProperty("id").GetString()!); // opaque: reveals no record count
    }

    [Fact]
    public void AFederalImmigrationSearchIsDeniedByStatuteAndTheAnswerRevealsNothing()
    {
        Read("r1", "ca-lapd", "7ABC123", s_t0);
        Read("r2", "wa-spd", "7ABC123", s_t0.AddMinutes(1));

        JsonElement result = Query(TestPolicy.Query("q1", "us-ice-ero", "7ABC123", s_t0.AddMinutes(3),
            purpose: "immigration_enforcement"));

        Assert.Equal("answered", result.GetProperty("status").GetString());
        Assert.Empty(result.GetProperty("reads").EnumerateArray());
        string raw = _sink.Results[^1];
        Assert.DoesNotContain("ca-lapd", raw, StringComparison.Ordinal);
        Assert.DoesNotContain("wa-spd", raw, StringComparison.Ordinal);
        // One per owner touched, and the empty answer's own (the result names it, never a denial).
        Assert.Single(Audit("search"), r => !r.TryGetProperty("owner", out _)
            && r.GetProperty("id").GetString() == result.GetProperty("decision_id").GetString());
        List<JsonElement> records = Audit("search").Where(r => r.TryGetProperty("owner", out _)).ToList();
        Assert.Equal(2, records.Count);
        Assert.All(records, r =>
        {
            Assert.Equal("deny", r.GetProperty("decision").GetString());
            Assert.Equal("deny.statute", r.GetProperty("code").GetString());
            Assert.Equal("us-ice-ero", r.GetProperty("recipient").GetString());
        });
        var byOwner = records.ToDictionary(r => r.GetProperty("owner").GetString()!);
        Assert.Equal("CA.PUBLIC_AGENCY_ONLY", byOwner["ca-lapd"].GetProperty("rule").GetString());
        Assert.Equal("Cal. Civ. Code §1798.90.55(b); Cal. AG Bulletin 2023-DLE-06",
            byOwner["ca-lapd"].GetProperty("citation").GetString());
        Assert.Equal("WA.IMMIGRATION", byOwner["wa-spd"].GetProperty("rule").GetString());
    }

    [Fact]
    public void AnInStateAgencyWithoutAnAgreementIsDeniedByDefault()
    {
        Read("r1", "ca-lapd", "7ABC123", s_t0);
        JsonElement result = Query(TestPolicy.Query("q1", "ca-lasd", "7ABC123", s_t0));
        Assert.Empty(result.GetProperty("reads").EnumerateArray());
        JsonElement record = Assert.Single(Audit("search"), r => r.TryGetProperty("owner", out _));
        Assert.Equal("deny.no_agreement", record.GetProperty("code").GetString());
        Assert.Equal(CompiledPolicy.DefaultDenyRule, record.GetProperty("rule").GetString());
    }

    [Fact]
    public void ASearchWithNoMatchingReadsIsAuditedOnce()
    {
        JsonElement result = Query(TestPolicy.Query("q1", "ca-lasd", "7ABC123", s_t0));
        Assert.Equal("answered", result.GetProperty("status").GetString());
        Assert.Equal("allow.search", Assert.Single(Audit("search")).GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("unknown-agency")]
    [InlineData("wrong-key")]
    [InlineData("altered-field")]
    [InlineData("no-key-configured")]
    [InlineData("missing-signature")]
    public void QueriesThatDoNotAuthenticateAreDenied(string variant)
    {
        Read("r1", "ca-lapd", "7ABC123", s_t0);
        string q = variant switch
        {
            "unknown-agency" =>
                TestPolicy.Query("q1", "xx-nobody", "7ABC123", s_t0, signWith: TestPolicy.KeyOf("ca-lapd")),
            "wrong-key" => TestPolicy.Query("q1", "ca-lapd", "7ABC123", s_t0, signWith: TestPolicy.KeyOf("ca-lasd")),
            "altered-field" => TestPolicy.Query("q1", "ca-lapd", "7ABC123", s_t0)
                .Replace("\"d.ortiz\"", "\"m.smith\"", StringComparison.Ordinal),
            "no-key-configured" =>
                TestPolicy.Query("q1", "ca-nokey", "7ABC123", s_t0, signWith: TestPolicy.KeyOf("ca-lapd")),
            _ => TestPolicy.Query("q1", "ca-lapd", "7ABC123", s_t0).Split(",\"signature\"")[0] + "}",
        };
        _engine.ProcessQuery(Encoding.UTF8.GetBytes(q), EventSource.File("queries", 1));
        Assert.Empty(_sink.Results); // no trustworthy requester: answered nowhere (SPEC §6), audited only
        Assert.Equal("deny.unauthenticated", Assert.Single(Audit("search")).GetProperty("code").GetString());
    }

    [Fact]
    public void AReplayedQueryIdIsDenied()
    {
        Assert.Equal("answered",
            Query(TestPolicy.Query("q1", "ca-lapd", "7ABC123", s_t0)).GetProperty("status").GetString());
        Assert.Equal("deny.replayed",
            Query(TestPolicy.Query("q1", "ca-lapd", "7ABC123", s_t0.AddSeconds(1))).GetProperty("code").GetString());
    }

    [Fact]
    public void StaleAndFutureDatedQueriesAreDenied()
    {
        Read("r1", "ca-lapd", "7ABC123", s_t0.AddHours(1));
        Assert.Equal("deny.replayed", Query(TestPolicy.Query("q-stale", "ca-lapd", "7ABC123",
            s_t0.AddHours(1).AddMinutes(-6))).GetProperty("code").GetString());
        Assert.Equal("deny.replayed", Query(TestPolicy.Query("q-future", "ca-lapd", "7ABC123",
            s_now.AddMinutes(6))).GetProperty("code").GetString());
        Assert.Equal("answered", Query(TestPolicy.Query("q-ok", "ca-lapd", "7ABC123",
            s_t0.AddHours(1).AddMinutes(-4))).GetProperty("status").GetString());
    }

    [Fact]
    public void CaseNumberReasonAndWindowAreRequiredByTheSearchSettings()
    {
        Assert.Equal("deny.missing_case_number", Query(TestPolicy.Query("q1", "ca-lapd", "7ABC123", s_t0,
            caseNumber: null)).GetProperty("code").GetString());
        Assert.Equal("deny.missing_reason", Query(TestPolicy.Query("q2", "ca-lapd", "7ABC123", s_t0,
            reason: null)).GetProperty("code").GetString());
        Assert.Equal("deny.window_too_wide", Query(TestPolicy.Query("q3", "ca-lapd", "7ABC123", s_t0,
            from: s_t0.AddDays(-91), to: s_t0)).GetProperty("code").GetString());
        Assert.Equal("answered", Query(TestPolicy.Query("q4", "ca-lapd", "7ABC123", s_t0,
            from: s_t0.AddDays(-90), to: s_t0)).GetProperty("status").GetString());
    }

    [Fact]
    public void AFutureDatedReadGoesToTheDeadLetterSinkAndDoesNotMoveTheClock()
    {
        Read("r-future", "ca-lapd", "7ABC123", s_now.AddMinutes(6));
        JsonElement dlq = MemorySink.Json(Assert.Single(_sink.DeadLetters));
        Assert.Equal("invalid_field", dlq.GetProperty("error").GetString());
        Assert.Contains("future timestamp", dlq.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("reads:1", dlq.GetProperty("source").GetString());
        Assert.Equal(TestPolicy.Read("r-future", "ca-lapd", "7ABC123", s_now.AddMinutes(6)),
            Encoding.UTF8.GetString(Convert.FromBase64String(dlq.GetProperty("payload_b64").GetString()!)));
        Read("r1", "wa-spd", "7ABC123", s_t0);
        Assert.Empty(Audit("purge"));
        Assert.Equal(1, _engine.StoredReadCount);
    }

    [Fact]
    public void AReadPastItsWindowOnArrivalIsDroppedAndAudited()
    {
        Read("r-new", "ca-lapd", "7ABC123", s_t0);
        Read("r-old", "wa-spd", "7ABC123", s_t0.AddDays(-21)); // wa-spd keeps 21 days: closed exactly now
        JsonElement record = Audit("ingest").Single(r => r.GetProperty("reads")[0].GetString() == "r-old");
        Assert.Equal("drop.expired_on_arrival", record.GetProperty("code").GetString());
        Assert.Equal("WA.RETENTION", record.GetProperty("rule").GetString()); // its 21 days are Washington's cap
        Assert.Equal(1, _engine.StoredReadCount);
    }

    [Fact]
    public void ReadsAreEvictedWhenTheirWindowClosesWithAPurgeNoticeAndAnAuditRecord()
    {
        Read("r1", "wa-spd", "7ABC123", s_t0);
        Read("r2", "ca-lapd", "8XYZ999", s_t0.AddDays(21).AddMilliseconds(-1));
        Assert.Empty(_sink.Purges);
        Read("r3", "ca-lapd", "8XYZ999", s_t0.AddDays(21));
        JsonElement notice = MemorySink.Json(Assert.Single(_sink.Purges));
        Assert.Equal("r1", notice.GetProperty("read_id").GetString());
        Assert.Equal("wa-spd", notice.GetProperty("agency_id").GetString());
        Assert.Equal("2026-03-24T17:00:00.000Z", notice.GetProperty("expired_at").GetString());
        Assert.Single(Audit("purge"));
        JsonElement result = Query(TestPolicy.Query("q1", "wa-spd", "7ABC123", s_t0.AddDays(21)));
        Assert.Empty(result.GetProperty("reads").EnumerateArray());
    }

    [Fact]
    public void EveryChainOpensWithAPolicyLoadRecord()
    {
        Read("r1", "ca-lapd", "7ABC123", s_t0);
        _engine.ProcessRead(Encoding.UTF8.GetBytes(TestPolicy.Read("r2", "ca-lapd", "7ABC124", s_t0)),
            EventSource.Kafka("alpr.reads", 5, 0));
        var records = _sink.AuditRecords.Select(MemorySink.Json).ToList();
        foreach (var chain in records.GroupBy(r => r.GetProperty("chain").GetString()))
        {
            JsonElement first = chain.First();
            Assert.Equal(1, first.GetProperty("seq").GetInt64());
            Assert.Equal("policy_load", first.GetProperty("event").GetString());
            Assert.Equal(_policy.Compiled.Hash, first.GetProperty("policy").GetString());
            Assert.Equal(_policy.PolicyPath, first.GetProperty("file").GetString());
        }
        Assert.Equal(["p0", "p5"], records.Select(r => r.GetProperty("chain").GetString()!).Distinct().Order());
    }

    [Fact]
    public void ALongAnswerIsTruncatedToTheNewestReadsAndSaysSo()
    {
        // More reads than the search entry lists (its read ids are bounded by bytes): the newest are disclosed.
        for (int i = 0; i < 5000; i++) Read($"r{i:D5}", "ca-lapd", "7ABC123", s_t0.AddSeconds(i));
        JsonElement result = Query(TestPolicy.Query("q1", "ca-lapd", "7ABC123", s_t0.AddHours(2)));
        int disclosed = result.GetProperty("reads").GetArrayLength();
        Assert.InRange(disclosed, 1, 4999);
        Assert.True(result.GetProperty("truncated").GetBoolean());
        Assert.Equal("r04999", result.GetProperty("reads")[0].GetProperty("read_id").GetString());
        Assert.Equal($"r{5000 - disclosed:D5}", result.GetProperty("reads")[disclosed - 1].GetProperty("read_id")
            .GetString());
    }

    [Fact]
    public void QuietTimePurgesWithoutWaitingForTheNextEvent()
    {
        var sink = new MemorySink();
        var wallClock = TestEngine.Create(_policy.Compiled, sink, TestPolicy.AuditKey);
        // wa-spd keeps 21 days: a read observed 21 days ago less 100 ms expires 100 ms from now.
        DateTimeOffset observed = DateTimeOffset.UtcNow.AddDays(-21).AddMilliseconds(100);
        wallClock.ProcessRead(Encoding.UTF8.GetBytes(TestPolicy.Read("r1", "wa-spd", "7ABC123", observed)),
            EventSource.Kafka("alpr.reads", 2, 7));
        Assert.Empty(sink.Purges);
        Thread.Sleep(300);
        wallClock.Tick();
        Assert.Single(sink.Purges);
        Assert.Equal("p2", MemorySink.Json(sink.AuditRecords[^1]).GetProperty("chain").GetString());
    }

    [Fact]
    public void AuditRecordsNeverContainARawPlateAndCarryAKeyedReference()
    {
        Read("r1", "ca-lapd", "7ABC123", s_t0);
        Query(TestPolicy.Query("q1", "us-ice-ero", "7ABC123", s_t0));
        Assert.All(_sink.AuditLines, r => Assert.DoesNotContain("7ABC123", r, StringComparison.Ordinal));
        Text.Plate.TryPack("7ABC123"u8, out ulong plate);
        string expected = AuditLog.PlateRef(TestPolicy.AuditKey, plate);
        Assert.All(
            _sink.AuditRecords.Select(MemorySink.Json).Where(r => r.GetProperty("event").GetString() != "policy_load"),
            r => Assert.Equal(expected, r.GetProperty("plate_ref").GetString()));
    }
}
