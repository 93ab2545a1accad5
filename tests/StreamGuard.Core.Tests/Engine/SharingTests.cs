using System.Text;
using System.Text.Json;
using StreamGuard.Audit;
using StreamGuard.Engine;
using StreamGuard.Policy;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Engine;

/// <summary>
/// Agreements at work in the engine: push sharing, searches across owners, and policy versions swapped in.
/// </summary>
public sealed class SharingTests : IDisposable
{
    private const string Yaml = """
        version: 1
        default_retention: 30d
        agencies:
          - {id: ca-lapd, state: CA, level: local, retention: 730d, key: file:keys/ca-lapd.key}
          - {id: ca-lasd, state: CA, level: county, key: file:keys/ca-lasd.key}
          - {id: wa-spd, state: WA, level: local, key: file:keys/wa-spd.key}
          - {id: us-ice-ero, level: federal, key: file:keys/us-ice-ero.key}
          - {id: ca-nokey, state: CA, level: local}
        agreements:
          - id: la-push
            owners: [ca-lapd]
            recipients: [ca-lasd, us-ice-ero]
            access: [push, search, alert]
            purposes: [stolen_vehicle, immigration_enforcement]
            expires: 2027-06-30
          - id: lasd-search
            owners: [ca-nokey]
            recipients: [ca-lasd]
            access: [search]
            purposes: [criminal_investigation]
        """;

    private static readonly DateTimeOffset s_t0 = new(2026, 3, 3, 17, 0, 0, TimeSpan.Zero);
    private readonly TestPolicy _policy = new(Yaml);
    private readonly MemorySink _sink = new();
    private readonly StreamGuardEngine _engine;

    public SharingTests()
    {
        _engine = TestEngine.Create(_policy.Compiled, _sink, TestPolicy.AuditKey,
            new EngineOptions { EventTimeClock = true, ReplayNowMs = s_t0.AddDays(1).ToUnixTimeMilliseconds() });
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
    public void APushGoesToTheRecipientTheStatutesAllowWithThePurposesAllowedAndIsAuditedForEveryRecipient()
    {
        Read("r1", "ca-lapd", "7ABC123", s_t0);

        // ca-lasd: stolen_vehicle allowed, immigration_enforcement denied by the Values Act → delivered for one
        // purpose.
        var (recipient, decisionId, read) = Assert.Single(_sink.SharedRecords);
        Assert.Equal("ca-lasd", recipient);
        Assert.Equal(TestPolicy.Read("r1", "ca-lapd", "7ABC123", s_t0), read); // the read's original bytes

        List<JsonElement> pushes = Audit("push");
        Assert.Equal(2, pushes.Count);
        JsonElement allowed = pushes.Single(p => p.GetProperty("recipient").GetString() == "ca-lasd");
        Assert.Equal("allow.agreement", allowed.GetProperty("code").GetString());
        Assert.Equal("la-push", allowed.GetProperty("rule").GetString());
        Assert.Equal(["stolen_vehicle"], allowed.GetProperty("purposes").EnumerateArray().Select(p => p.GetString()!));
        Assert.Equal(decisionId, allowed.GetProperty("id").GetString());
        Assert.Equal(["r1"], allowed.GetProperty("reads").EnumerateArray().Select(p => p.GetString()!));

        // us-ice-ero: California law forbids it whatever the agreement says; the denial is on record with its citation.
        JsonElement denied = pushes.Single(p => p.GetProperty("recipient").GetString() == "us-ice-ero");
        Assert.Equal("deny", denied.GetProperty("decision").GetString());
        Assert.Equal("deny.statute", denied.GetProperty("code").GetString());
        Assert.Equal("CA.PUBLIC_AGENCY_ONLY", denied.GetProperty("rule").GetString());
        Assert.Contains("1798.90.55", denied.GetProperty("citation").GetString()!, StringComparison.Ordinal);
        Assert.Empty(denied.GetProperty("purposes").EnumerateArray());
        Assert.DoesNotContain("7ABC123", string.Join('\n', _sink.AuditLines), StringComparison.Ordinal);
    }

    [Fact]
    public void AReadOfAnOwnerWithoutPushAgreementsIsNotPushed()
    {
        Read("r1", "wa-spd", "7ABC123", s_t0);
        Read("r2", "ca-nokey", "7ABC123", s_t0);
        Assert.Empty(_sink.SharedRecords);
        Assert.Empty(Audit("push"));
    }

    [Fact]
    public void ASearchAcrossOwnersDisclosesOnlyWhatAgreementsAndStatutesAllowWithOneRecordPerOwner()
    {
        Read("r1", "ca-lapd", "7ABC123", s_t0);
        Read("r2", "wa-spd", "7ABC123", s_t0.AddMinutes(1));
        Read("r3", "ca-nokey", "7ABC123", s_t0.AddMinutes(2));

        JsonElement stolen =
            Query(TestPolicy.Query("q1", "ca-lasd", "7ABC123", s_t0.AddMinutes(3), purpose: "stolen_vehicle"));
        Assert.Equal(["r1"],
            stolen.GetProperty("reads").EnumerateArray().Select(r => r.GetProperty("read_id").GetString()!));
        var codes = Audit("search").Where(r => r.GetProperty("query_id").GetString() == "q1")
            .ToDictionary(r => r.GetProperty("owner").GetString()!,
                r => (Code: r.GetProperty("code").GetString(), Rule: r.GetProperty("rule").GetString()));
        Assert.Equal(("allow.agreement", "la-push"), codes["ca-lapd"]);
        Assert.Equal(("deny.statute", "WA.OUT_OF_STATE"), codes["wa-spd"]);
        Assert.Equal(("deny.purpose_not_granted", "lasd-search"), codes["ca-nokey"]);

        JsonElement investigation = Query(TestPolicy.Query("q2", "ca-lasd", "7ABC123", s_t0.AddMinutes(4),
            purpose: "criminal_investigation"));
        Assert.Equal(["r3"],
            investigation.GetProperty("reads").EnumerateArray().Select(r => r.GetProperty("read_id").GetString()!));

        // The federal searcher, although the agreement names it: nothing, and no hint that reads were withheld.
        JsonElement federal =
            Query(TestPolicy.Query("q3", "us-ice-ero", "7ABC123", s_t0.AddMinutes(5), purpose: "stolen_vehicle"));
        Assert.Equal("answered", federal.GetProperty("status").GetString());
        Assert.Empty(federal.GetProperty("reads").EnumerateArray());
        Assert.Equal(["code", "decision_id", "query_id", "reads", "requester", "status"],
            federal.EnumerateObject().Select(p => p.Name).Order());
    }

    [Fact]
    public void AnExpiredAgreementNoLongerPushesAndTheDenialSaysSo()
    {
        var engine = TestEngine.Create(_policy.Compiled, _sink, TestPolicy.AuditKey,
            new EngineOptions
            {
                EventTimeClock = true,
                ReplayNowMs = new DateTimeOffset(2027, 7, 2, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds(),
            });
        DateTimeOffset last = new(2027, 6, 30, 23, 59, 0, TimeSpan.Zero);
        DateTimeOffset after = new(2027, 7, 1, 0, 0, 1, TimeSpan.Zero);
        engine.ProcessRead(Encoding.UTF8.GetBytes(TestPolicy.Read("r1", "ca-lapd", "7ABC123", last)),
            EventSource.File("reads", 1));
        engine.ProcessRead(Encoding.UTF8.GetBytes(TestPolicy.Read("r2", "ca-lapd", "7ABC123", after)),
            EventSource.File("reads", 2));

        Assert.Equal(["r1"],
            _sink.SharedRecords.Select(s => MemorySink.Json(s.Read).GetProperty("read_id").GetString()));
        JsonElement expired = Audit("push").Single(p => p.GetProperty("reads")[0].GetString() == "r2"
            && p.GetProperty("recipient").GetString() == "ca-lasd");
        Assert.Equal("deny.agreement_expired", expired.GetProperty("code").GetString());
        Assert.Equal("la-push", expired.GetProperty("rule").GetString());
    }

    [Fact]
    public void ASwappedPolicyTakesEffectAtTheNextEventAndEveryChainRecordsWhatItGranted()
    {
        Read("r1", "ca-nokey", "7ABC123", s_t0);
        Assert.Empty(Query(TestPolicy.Query("q1", "ca-lasd", "7ABC123", s_t0.AddMinutes(1), purpose: "stolen_vehicle"))
            .GetProperty("reads").EnumerateArray());

        string widened = Yaml.Replace("purposes: [criminal_investigation]",
            "purposes: [criminal_investigation, stolen_vehicle]", StringComparison.Ordinal);
        File.WriteAllText(_policy.PolicyPath, widened);
        var next = new CompiledPolicy(PolicyLoader.LoadFile(_policy.PolicyPath), _engine.Policy);
        PolicyDiffResult diff = PolicyDiff.Compute(_engine.Policy, next, s_t0.ToUnixTimeMilliseconds());
        OutcomeChange granted = Assert.Single(diff.Changes);
        Assert.Equal(
            (ChangeKind.Granted, "ca-nokey", "ca-lasd", Access.Search, StreamGuard.Events.Purpose.StolenVehicle),
            (granted.Kind, granted.Owner, granted.Recipient, granted.Access, granted.Purpose));
        _engine.SwapPolicy(next, PolicyDiff.Summarise(_engine.Policy, diff));

        JsonElement after =
            Query(TestPolicy.Query("q2", "ca-lasd", "7ABC123", s_t0.AddMinutes(2), purpose: "stolen_vehicle"));
        Assert.Equal(["r1"],
            after.GetProperty("reads").EnumerateArray().Select(r => r.GetProperty("read_id").GetString()!));

        List<JsonElement> loads = Audit("policy_load");
        Assert.Equal(2, loads.Count);
        JsonElement load = loads[1];
        Assert.Equal(next.Hash, load.GetProperty("policy").GetString());
        Assert.Equal(_policy.Compiled.Hash, load.GetProperty("previous").GetString());
        Assert.Equal(1, load.GetProperty("granted").GetInt32());
        Assert.Equal(0, load.GetProperty("revoked").GetInt32());
        Assert.Equal("lasd-search", load.GetProperty("first_granted").GetProperty("rule").GetString());
        // The search after the swap names the new policy; the chain still verifies across versions.
        Assert.Equal(next.Hash, Audit("search").Last().GetProperty("policy").GetString());
        Assert.Null(AuditVerifier.Verify(_sink.AuditLines).Error);
    }

    [Fact]
    public void AReloadKeepsAgencyIndexesSoStoredReadsKeepTheirOwnerAndARemovedAgencyIsRetired()
    {
        Read("r1", "wa-spd", "7ABC123", s_t0);
        string without = Yaml
            .Replace("  - {id: wa-spd, state: WA, level: local, key: file:keys/wa-spd.key}\n", "",
                StringComparison.Ordinal)
            .Replace("  - {id: ca-lapd,", "  - {id: ca-new, state: CA, level: local}\n  - {id: ca-lapd,",
                StringComparison.Ordinal);
        File.WriteAllText(_policy.PolicyPath, without);
        var next = new CompiledPolicy(PolicyLoader.LoadFile(_policy.PolicyPath), _engine.Policy);
        for (int i = 0; i < _engine.Policy.Agencies.Count; i++)
        {
            Assert.Equal(_engine.Policy.Agencies.IdText(i), next.Agencies.IdText(i));
        }
        Assert.Equal(-1, next.Agencies.Find("wa-spd"));
        Assert.True(next.Agencies.Find("ca-new") >= _engine.Policy.Agencies.Count);
        _engine.SwapPolicy(next, null);

        // A new read from the removed agency is rejected; the stored read is still the removed agency's, and withheld.
        Read("r2", "wa-spd", "7ABC123", s_t0.AddMinutes(1));
        Assert.Equal("unknown_agency", MemorySink.Json(_sink.DeadLetters[^1]).GetProperty("error").GetString());
        Read("r3", "ca-new", "7ABC123", s_t0.AddMinutes(2));
        JsonElement answer = Query(TestPolicy.Query("q1", "ca-lasd", "7ABC123", s_t0.AddMinutes(3)));
        Assert.Empty(answer.GetProperty("reads").EnumerateArray());
        Assert.Contains(Audit("search"), r => r.TryGetProperty("owner", out JsonElement o) && o.GetString() == "wa-spd"
            && r.GetProperty("code").GetString() == "deny.statute");
        Assert.Contains(Audit("search"), r => r.TryGetProperty("owner", out JsonElement o) && o.GetString() == "ca-new"
            && r.GetProperty("code").GetString() == "deny.no_agreement");

    }

    private void Hotlist(string hotlistId, string owner, string plate, string purpose, DateTimeOffset? expires = null,
        string? caseNumber = "CASE-7")
    {
        string json = $"{{\"hotlist_id\":\"{hotlistId}\",\"owner\":\"{owner}\"," +
            $"\"plate\":\"{plate}\",\"purpose\":\"{purpose}\"" +
            (caseNumber is null ? "" : $",\"case_number\":\"{caseNumber}\"") +
            (expires is null ? "" : $",\"expires_at\":\"{expires.Value.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ}\"") + "}";
        _engine.Hotlists.ApplyAndCheck(Encoding.UTF8.GetBytes($"{hotlistId}/{plate}"), Encoding.UTF8.GetBytes(json),
            EventSource.File("hotlists", 1));
    }

    [Fact]
    public void AHotlistHitAlertsTheEntrysOwnerOnlyWhenPolicyAllowsAlertForItsPurpose()
    {
        Hotlist("lasd-stolen", "ca-lasd", "7ABC123", "stolen_vehicle");
        Hotlist("ice-list", "us-ice-ero", "7ABC123", "stolen_vehicle");
        Hotlist("lapd-own", "ca-lapd", "7abc-123", "criminal_investigation");
        Assert.Equal(3, _engine.Hotlists.Count);

        Read("r1", "ca-lapd", "7ABC123", s_t0);

        var alerts = _sink.Alerts.Select(MemorySink.Json).ToDictionary(a => a.GetProperty("hotlist_id").GetString()!);
        Assert.Equal(["lapd-own", "lasd-stolen"], alerts.Keys.Order());
        JsonElement lasd = alerts["lasd-stolen"];
        Assert.Equal("ca-lasd", lasd.GetProperty("recipient").GetString());
        Assert.Equal("r1", lasd.GetProperty("read").GetProperty("read_id").GetString());
        Assert.Equal(lasd.GetProperty("alert_id").GetString(), lasd.GetProperty("decision_id").GetString());

        var records = Audit("alert").ToDictionary(a => a.GetProperty("hotlist_id").GetString()!);
        Assert.Equal(3, records.Count);
        Assert.Equal(("allow.agreement", "la-push"),
            (records["lasd-stolen"].GetProperty("code").GetString(),
                records["lasd-stolen"].GetProperty("rule").GetString()));
        Assert.Equal(lasd.GetProperty("decision_id").GetString(), records["lasd-stolen"].GetProperty("id").GetString());
        Assert.Equal("allow.own", records["lapd-own"].GetProperty("code").GetString());
        Assert.Equal(("deny.statute", "CA.PUBLIC_AGENCY_ONLY"),
            (records["ice-list"].GetProperty("code").GetString(), records["ice-list"].GetProperty("rule").GetString()));
        Assert.Equal("CASE-7", records["ice-list"].GetProperty("case_number").GetString());
    }

    [Fact]
    public void RemovedAndExpiredHotlistEntriesNeverAlert()
    {
        Hotlist("removed", "ca-lasd", "7ABC123", "stolen_vehicle");
        _engine.Hotlists.ApplyAndCheck("removed/7ABC123"u8, default, EventSource.File("hotlists", 2)); // tombstone
        Hotlist("expiring", "ca-lasd", "7ABC123", "stolen_vehicle", expires: s_t0.AddMinutes(1));
        Hotlist("replaced", "ca-lasd", "7ABC123", "stolen_vehicle");
        Hotlist("replaced", "ca-lasd", "7ABC123", "stolen_vehicle", expires: s_t0.AddMinutes(1)); // same key: replaces
        Assert.Equal(2, _engine.Hotlists.Count);

        Read("r1", "ca-lapd", "7ABC123", s_t0.AddMinutes(1)); // at the expiry instant: expired
        Assert.Empty(_sink.Alerts);
        Assert.Empty(Audit("alert"));
        Assert.Equal(0, _engine.Hotlists.Count);
    }

    [Fact]
    public void ABadHotlistEntryGoesToTheDeadLetterSinkWithItsCode()
    {
        _engine.Hotlists.ApplyAndCheck("h/7ABC123"u8,
            "{\"hotlist_id\":\"h\",\"owner\":\"ca-lasd\",\"plate\":\"7ABC123\",\"purpose\":\"curiosity\"}"u8,
            EventSource.File("hotlists", 3));
        _engine.Hotlists.ApplyAndCheck("no-slash"u8, default, EventSource.File("hotlists", 4));
        Assert.Equal(["invalid_field", "invalid_field"],
            _sink.DeadLetters.Select(d => MemorySink.Json(d).GetProperty("error").GetString()));
        Assert.Equal(0, _engine.Hotlists.Count);
    }

    [Fact]
    public void AWindowShortenedByANewPolicyVersionPurgesStoredReadsAtTheNextEvent()
    {
        Read("r1", "ca-lapd", "7ABC123", s_t0);               // 730 days under the first version
        Read("r2", "ca-lapd", "8XYZ999", s_t0.AddMinutes(30));
        File.WriteAllText(_policy.PolicyPath,
            Yaml.Replace("retention: 730d", "retention: 1h", StringComparison.Ordinal));
        var next = new CompiledPolicy(PolicyLoader.LoadFile(_policy.PolicyPath), _engine.Policy);
        _engine.SwapPolicy(next, null);
        Read("r3", "ca-lasd", "9QQQ111", s_t0.AddMinutes(80)); // the next event: r1 is past its new window, r2 not yet

        // r1's notices: to its owner and to ca-lasd, which it was pushed to
        Assert.Equal(["ca-lapd", "ca-lasd"],
            _sink.Purges.Select(p => MemorySink.Json(p).GetProperty("recipient").GetString()!));
        JsonElement purge = MemorySink.Json(_sink.Purges[0]);
        Assert.Equal("r1", purge.GetProperty("read_id").GetString());
        Assert.Equal("RETENTION.AGENCY", purge.GetProperty("rule").GetString());
        Assert.Equal(2, _engine.StoredReadCount);
    }

    private static string HoldJson(string id, string agency, string? plate, DateTimeOffset until,
        DateTimeOffset? from = null, DateTimeOffset? to = null) =>
        $"{{\"hold_id\":\"{id}\",\"agency\":\"{agency}\"" + (plate is null ? "" : $",\"plate\":\"{plate}\"") +
        (from is null ? "" : $",\"from\":\"{from.Value.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ}\"") +
        (to is null ? "" : $",\"to\":\"{to.Value.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ}\"") +
        $",\"kind\":\"investigation\",\"case_number\":\"SPD-26-1\"," +
        $"\"until\":\"{until.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ}\"}}";

    [Fact]
    public void AHoldKeepsTheHoldingAgencysMatchingReadsPastTheCapForItAloneUntilItsEnd()
    {
        var sink = new MemorySink();
        var engine = TestEngine.Create(_policy.Compiled, sink, TestPolicy.AuditKey,
            new EngineOptions { EventTimeClock = true, ReplayNowMs = s_t0.AddDays(90).ToUnixTimeMilliseconds() });
        void Read(string id, string agency, string plate, DateTimeOffset at) =>
            engine.ProcessRead(Encoding.UTF8.GetBytes(TestPolicy.Read(id, agency, plate, at)),
                EventSource.File("reads", 1));
        JsonElement Query(string id, string requester, string plate, DateTimeOffset at)
        {
            engine.ProcessQuery(Encoding.UTF8.GetBytes(TestPolicy.Query(id, requester, plate, at,
                purpose: "criminal_investigation", from: at.AddDays(-89), to: at)), EventSource.File("queries", 1));
            return MemorySink.Json(sink.Results[^1]);
        }
        List<JsonElement> Records(string code) =>
            sink.AuditRecords.Select(MemorySink.Json).Where(r => r.GetProperty("code").GetString() == code).ToList();

        string hold = HoldJson("h1", "wa-spd", "7ABC123", s_t0.AddDays(40), s_t0.AddDays(-1), s_t0.AddDays(1));
        engine.Holds.ApplyAndAudit("h1"u8, Encoding.UTF8.GetBytes(hold), EventSource.File("holds", 1));
        Read("held", "wa-spd", "7ABC123", s_t0);                  // matches: kept past WA's 21-day cap
        Read("other-plate", "wa-spd", "8XYZ999", s_t0);           // not the held plate
        Read("too-late", "wa-spd", "7ABC123", s_t0.AddDays(2));   // after the hold's `to`
        Read("other-owner", "ca-nokey", "7ABC123", s_t0);         // another agency's read: its own window (30 days)
        JsonElement placed = Assert.Single(Records("hold.place"));
        Assert.Equal(("wa-spd", "h1", "SPD-26-1"),
            (placed.GetProperty("owner").GetString(), placed.GetProperty("hold_id").GetString(),
                placed.GetProperty("case_number").GetString()));

        Read("tick", "ca-lasd", "9QQQ111", s_t0.AddDays(25));     // day 25: WA's window over
        Assert.Equal(["other-plate", "too-late"],
            sink.Purges.Select(p => MemorySink.Json(p).GetProperty("read_id").GetString()!).Order());
        JsonElement retained = Assert.Single(Records("hold.retain"));
        Assert.Equal("held", retained.GetProperty("reads")[0].GetString());

        // The holding agency finds its held read (past its window a held read is disclosed to its owner alone).
        Assert.Equal(["held"], Query("q1", "wa-spd", "7ABC123", s_t0.AddDays(25))
            .GetProperty("reads").EnumerateArray().Select(r => r.GetProperty("read_id").GetString()!));

        Read("tick2", "ca-lasd", "9QQQ111", s_t0.AddDays(41));    // after `until`: purged
        Assert.Contains(sink.Purges, p => MemorySink.Json(p).GetProperty("read_id").GetString() == "held");
        Assert.Empty(Query("q2", "wa-spd", "7ABC123", s_t0.AddDays(41)).GetProperty("reads").EnumerateArray());
    }

    [Fact]
    public void ReleasingAHoldLetsItsReadsExpireAtOnceAndIsAudited()
    {
        var sink = new MemorySink();
        var engine = TestEngine.Create(_policy.Compiled, sink, TestPolicy.AuditKey,
            new EngineOptions { EventTimeClock = true, ReplayNowMs = s_t0.AddDays(90).ToUnixTimeMilliseconds() });
        engine.Holds.ApplyAndAudit("h1"u8, Encoding.UTF8.GetBytes(HoldJson("h1", "wa-spd", null, s_t0.AddDays(60))),
            EventSource.File("holds", 1));
        engine.ProcessRead(Encoding.UTF8.GetBytes(TestPolicy.Read("r1", "wa-spd", "7ABC123", s_t0)),
            EventSource.File("reads", 1));
        engine.ProcessRead(Encoding.UTF8.GetBytes(TestPolicy.Read("r2", "ca-lasd", "9QQQ111", s_t0.AddDays(30))),
            EventSource.File("reads", 2));
        Assert.Equal(1, engine.Holds.Count);
        Assert.Empty(sink.Purges);                                 // held (every plate of wa-spd)

        engine.Holds.ApplyAndAudit("h1"u8, default, EventSource.File("holds", 2)); // released
        Assert.Equal(0, engine.Holds.Count);
        engine.Tick();
        Assert.Equal(["r1"], sink.Purges.Select(p => MemorySink.Json(p).GetProperty("read_id").GetString()!));
        var released = sink.AuditRecords.Select(MemorySink.Json)
            .Single(r => r.GetProperty("code").GetString() == "hold.release");
        Assert.Equal(("hold", "h1", "wa-spd"),
            (released.GetProperty("event").GetString(), released.GetProperty("hold_id").GetString(),
                released.GetProperty("owner").GetString()));

        engine.Holds.ApplyAndAudit("h2"u8,
            "{\"hold_id\":\"h2\",\"agency\":\"wa-spd\",\"kind\":\"forever\",\"until\":\"2027-01-01T00:00:00Z\"}"u8,
            EventSource.File("holds", 3));
        Assert.Equal("invalid_field", MemorySink.Json(sink.DeadLetters[^1]).GetProperty("error").GetString());

        // a tombstone without its key: never dropped silently
        engine.Holds.ApplyAndAudit(default, default, EventSource.File("holds", 4));
        JsonElement keyless = MemorySink.Json(sink.DeadLetters[^1]);
        Assert.Equal(("invalid_field", "holds:4"),
            (keyless.GetProperty("error").GetString(), keyless.GetProperty("source").GetString()));
    }

    [Fact]
    public void ARestoredReadThatExpiredWhileItsPartitionHadNoOwnerIsPurgedOnceAndOneAlreadyPurgedIsNot()
    {
        var sink = new MemorySink();
        var engine = TestEngine.Create(_policy.Compiled, sink, TestPolicy.AuditKey,
            new EngineOptions { EventTimeClock = true, ReplayNowMs = s_t0.AddDays(60).ToUnixTimeMilliseconds() });
        long arrived = s_t0.ToUnixTimeMilliseconds();
        // wa-spd keeps reads 21 days (WA.RETENTION): both expired at day 21.
        byte[] a = Encoding.UTF8.GetBytes(TestPolicy.Read("a", "wa-spd", "7ABC123", s_t0));
        byte[] b = Encoding.UTF8.GetBytes(TestPolicy.Read("b", "wa-spd", "7ABC123", s_t0));
        // chain silent since day 10
        Assert.True(engine.RestoreRead(a, 0, arrived, chainHeadAtMs: s_t0.AddDays(10).ToUnixTimeMilliseconds()));
        // its owner purged it
        Assert.False(engine.RestoreRead(b, 0, arrived, chainHeadAtMs: s_t0.AddDays(30).ToUnixTimeMilliseconds()));
        Assert.Empty(sink.AuditRecords); // restoring decides nothing
        engine.Tick();
        JsonElement purge = MemorySink.Json(Assert.Single(sink.Purges));
        Assert.Equal(("a", "WA.RETENTION"),
            (purge.GetProperty("read_id").GetString(), purge.GetProperty("rule").GetString()));
        Assert.Equal(0, engine.StoredReadCount);
    }

    [Fact]
    public void AChainIdleAcrossTwoPolicyVersionsRecordsBothWithWhatEachChanged()
    {
        Read("r1", "ca-nokey", "7ABC123", s_t0);
        CompiledPolicy v1 = _engine.Policy;
        string wider = Yaml.Replace("purposes: [criminal_investigation]",
            "purposes: [criminal_investigation, stolen_vehicle]", StringComparison.Ordinal);
        File.WriteAllText(_policy.PolicyPath, wider);
        var v2 = new CompiledPolicy(PolicyLoader.LoadFile(_policy.PolicyPath), v1);
        _engine.SwapPolicy(v2, PolicyDiff.Summarise(v1, PolicyDiff.Compute(v1, v2, s_t0.ToUnixTimeMilliseconds())));
        File.WriteAllText(_policy.PolicyPath, Yaml); // and back, before any event
        var v3 = new CompiledPolicy(PolicyLoader.LoadFile(_policy.PolicyPath), v2);
        _engine.SwapPolicy(v3, PolicyDiff.Summarise(v2, PolicyDiff.Compute(v2, v3, s_t0.ToUnixTimeMilliseconds())));
        Read("r2", "ca-nokey", "7ABC123", s_t0.AddMinutes(1));

        List<JsonElement> loads = Audit("policy_load");
        Assert.Equal(3, loads.Count);
        Assert.Equal([v1.Hash, v2.Hash, v3.Hash], loads.Select(l => l.GetProperty("policy").GetString()!));
        Assert.Equal((1, 0), (loads[1].GetProperty("granted").GetInt32(), loads[1].GetProperty("revoked").GetInt32()));
        Assert.Equal((0, 1), (loads[2].GetProperty("granted").GetInt32(), loads[2].GetProperty("revoked").GetInt32()));
        Assert.Equal(v2.Hash, loads[2].GetProperty("previous").GetString());
        Assert.Equal(v3.Hash, Audit("ingest").Last().GetProperty("policy").GetString());
    }

    [Fact]
    public void APolicyNotCompiledOnTheOneInForceIsRefused()
    {
        byte[] waOnly = Encoding.UTF8.GetBytes("version: 1\nagencies:\n  - {id: wa-spd, state: WA, level: local}\n");
        var unrelated = new CompiledPolicy(PolicyLoader.Load(waOnly, "x.yaml", "."));
        Assert.Throws<ArgumentException>(() => _engine.SwapPolicy(unrelated, null));
    }
}
