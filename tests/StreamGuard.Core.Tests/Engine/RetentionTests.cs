using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using StreamGuard.Engine;
using StreamGuard.Policy;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Engine;

/// <summary>
/// Retention (SPEC §5, spec-notes "Retention caps"): statute caps and agency windows, late and future-dated reads,
/// purge notices and audit records, and searches across owners of several states (SPEC §3, §6, §7).
/// </summary>
public sealed class RetentionTests
{
    // ---- a policy in its own folder, its keys written before it is loaded --------------------------------------

    /// <summary>
    /// A replay-clock engine over a policy written to a temporary folder; every <c>file:keys/ID.key</c> is created.
    /// </summary>
    private sealed class Harness : IDisposable
    {
        private long _line;

        public Harness(string yaml, DateTimeOffset replayNow)
        {
            Root = Path.Combine(Path.GetTempPath(), "sg-ret-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(Path.Combine(Root, "keys"));
            foreach (Match m in Regex.Matches(yaml, @"key: file:keys/([a-z0-9-]+)\.key"))
            {
                string id = m.Groups[1].Value;
                File.WriteAllText(Path.Combine(Root, "keys", id + ".key"), "test-key-" + id);
            }
            string path = Path.Combine(Root, "policy.yaml");
            File.WriteAllText(path, yaml);
            Policy = new CompiledPolicy(PolicyLoader.LoadFile(path));
            Engine = TestEngine.Create(Policy, Sink, TestPolicy.AuditKey,
                new EngineOptions { EventTimeClock = true, ReplayNowMs = replayNow.ToUnixTimeMilliseconds() });
        }

        public string Root { get; }
        public CompiledPolicy Policy { get; }
        public MemorySink Sink { get; } = new();
        public StreamGuardEngine Engine { get; }

        public void Read(string id, string agency, string plate, DateTimeOffset at) =>
            Engine.ProcessRead(Encoding.UTF8.GetBytes(TestPolicy.Read(id, agency, plate, at)),
                EventSource.File("reads", ++_line));

        public JsonElement Query(string json)
        {
            int before = Sink.Results.Count;
            Engine.ProcessQuery(Encoding.UTF8.GetBytes(json), EventSource.File("queries", ++_line));
            Assert.Equal(before + 1, Sink.Results.Count);
            return MemorySink.Json(Sink.Results[^1]);
        }

        public List<JsonElement> Audit(string eventKind) =>
            Sink.AuditRecords.Select(MemorySink.Json)
                .Where(r => r.GetProperty("event").GetString() == eventKind).ToList();

        public List<JsonElement> Purges() => Sink.Purges.Select(MemorySink.Json).ToList();

        public void Dispose()
        {
            try { Directory.Delete(Root, true); } catch (IOException) { }
        }
    }

    private static string Ts(DateTimeOffset t) =>
        t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    private static List<string> ReadIds(JsonElement result) =>
        result.GetProperty("reads").EnumerateArray().Select(r => r.GetProperty("read_id").GetString()!).ToList();

    private static List<string> Strings(JsonElement array) =>
        array.EnumerateArray().Select(e => e.GetString()!).ToList();

    private const string Search = """
        search:
          require_case_number: true
          require_reason: true
          max_window: 90d
          max_clock_skew: 5m
        """;

    // ---- 1. every statute cap ----------------------------------------------------------------------------------

    /// <summary>
    /// The caps of alpr-law.md Part A as spec-notes encodes them (months of 30 days, years of 365), written out
    /// independently of <see cref="StatuteRules.RetentionCaps"/>: (rule, owner agency, state, level, cap in minutes).
    /// </summary>
    private static readonly (string Rule, string Agency, string State, string Level, long Minutes)[] s_caps =
    [
        ("NH.RETENTION", "nh-pd", "NH", "local", 3),
        ("ME.RETENTION", "me-pd", "ME", "local", 21 * 1440),
        ("VA.RETENTION", "va-pd", "VA", "local", 21 * 1440),
        ("WA.RETENTION", "wa-pd", "WA", "local", 21 * 1440),
        ("OR.RETENTION", "or-pd", "OR", "local", 30 * 1440),
        ("MN.RETENTION", "mn-pd", "MN", "local", 60 * 1440),
        ("MT.RETENTION", "mt-pd", "MT", "local", 90 * 1440),
        ("NC.RETENTION", "nc-pd", "NC", "local", 90 * 1440),
        ("TN.RETENTION", "tn-pd", "TN", "local", 90 * 1440),
        ("AR.RETENTION", "ar-pd", "AR", "local", 150 * 1440),
        ("AR.RETENTION", "ar-private", "AR", "private", 60 * 1440),
        ("NE.RETENTION", "ne-pd", "NE", "local", 180 * 1440),
        ("UT.RETENTION", "ut-pd", "UT", "local", 270 * 1440),
        ("CO.RETENTION", "co-pd", "CO", "local", 365 * 1440),
        ("VT.RETENTION", "vt-pd", "VT", "local", 540 * 1440),
        ("GA.RETENTION", "ga-pd", "GA", "local", 900 * 1440),
    ];

    public static TheoryData<string, string, long> Caps()
    {
        var data = new TheoryData<string, string, long>();
        foreach (var c in s_caps) data.Add(c.Rule, c.Agency, c.Minutes);
        return data;
    }

    /// <summary>
    /// Every cap state's agency, none with its own window, each with a key; plus a long-lived ticker.
    /// </summary>
    private static string CapsYaml()
    {
        var yaml = new StringBuilder("version: 1\ndefault_retention: 30d\nagencies:\n");
        foreach (var c in s_caps)
        {
            yaml.Append(CultureInfo.InvariantCulture,
                $"  - {{id: {c.Agency}, state: {c.State}, level: {c.Level}, key: file:keys/{c.Agency}.key}}\n");
        }
        yaml.Append("  - {id: ca-tick, state: CA, level: local, retention: 3650d}\n");
        return yaml.Append(Search).ToString();
    }

    [Fact]
    public void TheCapTableCoversEveryBuiltInCapWithTheLawsDuration()
    {
        Assert.Equal(StatuteRules.RetentionCaps.Select(c => c.Id).Order(),
            s_caps.Select(c => c.Rule).Distinct().Order());
        foreach (var c in s_caps)
        {
            RetentionCap cap = StatuteRules.RetentionCapFor(c.State)!;
            Assert.Equal(c.Rule, cap.Id);
            AgencyLevel level = c.Level == "private" ? AgencyLevel.Private : AgencyLevel.Local;
            Assert.Equal(TimeSpan.FromMinutes(c.Minutes), cap.CapFor(level));
        }
    }

    [Theory]
    [MemberData(nameof(Caps))]
    public void AReadIsKeptUntilTheLastMillisecondOfItsStatuteCapAndPurgedExactlyAtItsEnd(
        string rule, string agency, long capMinutes)
    {
        // After New Hampshire's 2027-01-01 sunset date: its cap still applies (spec-notes, the strict reading).
        DateTimeOffset t = new(2027, 3, 1, 12, 0, 0, TimeSpan.Zero);
        TimeSpan cap = TimeSpan.FromMinutes(capMinutes);
        DateTimeOffset end = t + cap;
        using var h = new Harness(CapsYaml(), end.AddDays(1));
        int owner = h.Policy.Agencies.Find(agency);
        Assert.Equal((long)cap.TotalMilliseconds, h.Policy.RetentionMs(owner));
        Assert.Equal(rule, h.Policy.RetentionRule(owner));

        h.Read("r-owned", agency, "7ABC123", t);
        JsonElement ingest = Assert.Single(h.Audit("ingest"));
        Assert.Equal(("allow", "allow.ingest", rule),
            (ingest.GetProperty("decision").GetString(), ingest.GetProperty("code").GetString(),
                ingest.GetProperty("rule").GetString()));
        // The compact log does not repeat the window's end (the read's time plus its owner's window, both known): the
        // purge below, exactly at the end, shows it.

        // One millisecond before the end: the owner's own search (which advances the clock) finds it, and another
        // agency's read at that instant purges nothing.
        JsonElement before = h.Query(TestPolicy.Query("q-before", agency, "7ABC123", end.AddMilliseconds(-1),
            from: t.AddMinutes(-1), to: t.AddMinutes(1)));
        Assert.Equal(["r-owned"], ReadIds(before));
        h.Read("tick-1", "ca-tick", "9ZZZ999", end.AddMilliseconds(-1));
        Assert.Empty(h.Sink.Purges);
        Assert.Empty(h.Audit("purge"));
        Assert.Equal(2, h.Engine.StoredReadCount);

        // At the end exactly: purged, once, with the cap's rule.
        h.Read("tick-2", "ca-tick", "9ZZZ998", end);
        JsonElement notice = Assert.Single(h.Purges());
        Assert.Equal(["read_id", "agency_id", "recipient", "expired_at", "rule"],
            notice.EnumerateObject().Select(p => p.Name));
        Assert.Equal(("r-owned", agency, Ts(end), rule),
            (notice.GetProperty("read_id").GetString(), notice.GetProperty("agency_id").GetString(),
                notice.GetProperty("expired_at").GetString(), notice.GetProperty("rule").GetString()));
        JsonElement purge = Assert.Single(h.Audit("purge"));
        Assert.Equal(("allow", "purge.expired", rule, agency),
            (purge.GetProperty("decision").GetString(), purge.GetProperty("code").GetString(),
                purge.GetProperty("rule").GetString(), purge.GetProperty("owner").GetString()));
        Assert.Equal(StatuteRules.RetentionCapFor(h.Policy.Agency(owner).State)!.Citation,
            purge.GetProperty("citation").GetString());
        Assert.Equal(["r-owned"], Strings(purge.GetProperty("reads")));
        Assert.Equal(2, h.Engine.StoredReadCount);

        h.Engine.Tick(); // nothing left to purge: no second notice
        Assert.Single(h.Sink.Purges);
        JsonElement after = h.Query(TestPolicy.Query("q-after", agency, "7ABC123", end,
            from: t.AddMinutes(-1), to: t.AddMinutes(1)));
        Assert.Empty(after.GetProperty("reads").EnumerateArray());
        Assert.All(h.Sink.AuditLines, r => Assert.DoesNotContain("7ABC123", r, StringComparison.Ordinal));
    }

    // ---- 2-4. late, future-dated, agency windows ---------------------------------------------------------------

    private const string VaYaml = """
        version: 1
        default_retention: 30d
        agencies:
          - {id: va-pd, state: VA, level: local, key: file:keys/va-pd.key}
          - {id: va-cville, state: VA, level: local, retention: 7d, key: file:keys/va-cville.key}
          - {id: va-vsp, state: VA, level: state, key: file:keys/va-vsp.key}
          - {id: ca-tick, state: CA, level: local, retention: 3650d}
        agreements:
          - id: va-push
            owners: [va-pd, va-cville]
            recipients: [va-vsp]
            access: [push, search]
            purposes: [stolen_vehicle]
        """ + "\n" + Search;

    private static readonly DateTimeOffset s_n = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void AReadAlreadyPastItsWindowOnArrivalIsDroppedAuditedNeverSharedAndNeverPurged()
    {
        using var h = new Harness(VaYaml, s_n.AddDays(30));
        h.Read("tick-0", "ca-tick", "9ZZZ999", s_n);                    // the clock: s_n
        h.Read("late-at-end", "va-pd", "7ABC123", s_n.AddDays(-21));      // its window closes exactly now
        h.Read("late-long-ago", "va-pd", "7ABC124", s_n.AddDays(-400));
        h.Read("late-inside", "va-pd", "7ABC125", s_n.AddDays(-21).AddMilliseconds(1));

        var ingest = h.Audit("ingest").ToDictionary(r => r.GetProperty("reads")[0].GetString()!);
        foreach (string dropped in (string[])["late-at-end", "late-long-ago"])
        {
            JsonElement r = ingest[dropped];
            Assert.Equal(("deny", "drop.expired_on_arrival", "VA.RETENTION", "va-pd"),
                (r.GetProperty("decision").GetString(), r.GetProperty("code").GetString(),
                    r.GetProperty("rule").GetString(), r.GetProperty("owner").GetString()));
        }
        Assert.Equal("allow.ingest", ingest["late-inside"].GetProperty("code").GetString());
        Assert.Equal(2, h.Engine.StoredReadCount); // tick-0 and late-inside

        // Not shared: only the read inside its window is pushed (and push-audited).
        Assert.Equal(["late-inside"],
            h.Sink.SharedRecords.Select(s => MemorySink.Json(s.Read).GetProperty("read_id").GetString()!));
        Assert.Equal(["late-inside"], h.Audit("push").Select(p => p.GetProperty("reads")[0].GetString()!));

        // The read inside its window expires one millisecond later; the dropped ones are never purged.
        h.Read("tick-1", "ca-tick", "9ZZZ998", s_n.AddMilliseconds(1));
        // one notice to its owner and one to the agency it was pushed to
        Assert.Equal([("late-inside", "va-pd"), ("late-inside", h.Sink.SharedRecords[0].Recipient)],
            h.Purges().Select(p => (p.GetProperty("read_id").GetString()!, p.GetProperty("recipient").GetString()!)));
        h.Read("tick-2", "ca-tick", "9ZZZ997", s_n.AddDays(25));
        h.Engine.Tick();
        Assert.Equal(2, h.Sink.Purges.Count); // the two notices above, nothing more
        Assert.Equal(["late-inside"], h.Audit("purge").Select(p => p.GetProperty("reads")[0].GetString()!));
        Assert.Empty(h.Query(TestPolicy.Query("q1", "va-pd", "7ABC123", s_n.AddDays(25)))
            .GetProperty("reads").EnumerateArray());
    }

    [Fact]
    public void AFutureDatedReadIsDeadLetteredAndNeverMovesTheClock()
    {
        using var h = new Harness(VaYaml, s_n);
        h.Read("r1", "va-pd", "7ABC123", s_n.AddDays(-20));                       // window ends s_n + 1 day
        h.Read("future-edge", "va-pd", "7ABC124", s_n.AddMinutes(5).AddMilliseconds(1));
        h.Read("far-future", "ca-tick", "9ZZZ999", s_n.AddDays(30));            // would expire r1 if it moved the clock
        h.Query(TestPolicy.Query("q-future", "va-pd", "7ABC123", s_n.AddDays(30), from: s_n.AddDays(-21), to: s_n));

        Assert.Equal(2, h.Sink.DeadLetters.Count);
        Assert.All(h.Sink.DeadLetters.Select(MemorySink.Json), d =>
        {
            Assert.Equal("invalid_field", d.GetProperty("error").GetString());
            Assert.Contains("future timestamp", d.GetProperty("detail").GetString()!, StringComparison.Ordinal);
        });
        Assert.Equal("observed_at: future timestamp",
            MemorySink.Json(h.Sink.DeadLetters[0]).GetProperty("detail").GetString());
        Assert.Equal("denied", MemorySink.Json(h.Sink.Results[^1]).GetProperty("status").GetString());
        Assert.Equal("deny.replayed", MemorySink.Json(h.Sink.Results[^1]).GetProperty("code").GetString());
        Assert.Single(h.Audit("ingest")); // r1 only: rejected reads are not decisions
        Assert.Equal(1, h.Engine.StoredReadCount);

        // A later, ordinary read: the clock is where the accepted reads put it, so r1 is still there.
        h.Read("r2", "ca-tick", "9ZZZ998", s_n.AddHours(-1));
        Assert.Empty(h.Sink.Purges);
        Assert.Equal(2, h.Engine.StoredReadCount);
        Assert.Equal(["r1"], ReadIds(h.Query(TestPolicy.Query("q1", "va-pd", "7ABC123", s_n.AddHours(-1),
            from: s_n.AddDays(-21), to: s_n))));

        // Exactly max_clock_skew ahead is accepted.
        h.Read("skew-edge", "va-pd", "7ABC125", s_n.AddMinutes(5));
        Assert.Equal(2, h.Sink.DeadLetters.Count);
        Assert.Equal(3, h.Engine.StoredReadCount);
        Assert.Empty(h.Sink.Purges);
    }

    [Fact]
    public void AnAgencysOwnShorterWindowAppliesWithRuleRetentionAgency()
    {
        using var h = new Harness(VaYaml, s_n.AddDays(30));
        h.Read("c1", "va-cville", "7ABC123", s_n);   // its own 7 days
        h.Read("p1", "va-pd", "7ABC123", s_n);       // Virginia's 21 days
        var ingest = h.Audit("ingest").ToDictionary(r => r.GetProperty("reads")[0].GetString()!);
        Assert.Equal("RETENTION.AGENCY", ingest["c1"].GetProperty("rule").GetString());
        Assert.Equal(CompiledPolicy.AgencyRetentionCitation, ingest["c1"].GetProperty("citation").GetString());
        Assert.Equal("VA.RETENTION", ingest["p1"].GetProperty("rule").GetString());

        Assert.Equal(["c1"], ReadIds(h.Query(TestPolicy.Query("q1", "va-cville", "7ABC123",
            s_n.AddDays(7).AddMilliseconds(-1), from: s_n.AddDays(-1), to: s_n.AddDays(1)))));
        Assert.Empty(h.Sink.Purges);

        h.Read("tick-1", "ca-tick", "9ZZZ999", s_n.AddDays(7));
        // to its owner, and to va-vsp, which it was pushed to
        Assert.Equal(["va-cville", "va-vsp"], h.Purges().Select(p => p.GetProperty("recipient").GetString()!));
        JsonElement notice = h.Purges()[0];
        Assert.Equal(("c1", "va-cville", Ts(s_n.AddDays(7)), "RETENTION.AGENCY"),
            (notice.GetProperty("read_id").GetString(), notice.GetProperty("agency_id").GetString(),
                notice.GetProperty("expired_at").GetString(), notice.GetProperty("rule").GetString()));
        Assert.Equal(("purge.expired", "RETENTION.AGENCY"),
            (h.Audit("purge")[0].GetProperty("code").GetString(), h.Audit("purge")[0].GetProperty("rule").GetString()));
        Assert.Equal(2, h.Engine.StoredReadCount); // p1 and tick-1

        h.Read("tick-2", "ca-tick", "9ZZZ998", s_n.AddDays(21).AddMilliseconds(-1));
        Assert.Equal(2, h.Sink.Purges.Count); // c1's two notices
        h.Read("tick-3", "ca-tick", "9ZZZ997", s_n.AddDays(21));
        Assert.Equal([("c1", "RETENTION.AGENCY"), ("p1", "VA.RETENTION")],
            h.Purges().Select(p => (p.GetProperty("read_id").GetString()!, p.GetProperty("rule").GetString()!))
                .Distinct());
    }

    /// <summary>
    /// A window equal to the statute's cap is the statute's: the audit and the purge notices cite the law, never
    /// "shorter than any statute cap", which would be false.
    /// </summary>
    [Fact]
    public void AnAgencyWindowEqualToItsStatuteCapIsCitedAsTheStatute()
    {
        const string yaml = """
            version: 1
            default_retention: 30d
            agencies:
              - {id: va-equal, state: VA, level: local, retention: 21d, key: file:keys/va-equal.key}
              - {id: ca-tick, state: CA, level: local, retention: 3650d}
            """;
        using var h = new Harness(yaml, s_n.AddDays(30));
        h.Read("e1", "va-equal", "7ABC123", s_n);
        JsonElement ingest = Assert.Single(h.Audit("ingest"), r => r.GetProperty("reads")[0].GetString() == "e1");
        Assert.Equal(("VA.RETENTION", "Va. Code §2.2-5517"),
            (ingest.GetProperty("rule").GetString(), ingest.GetProperty("citation").GetString()));

        h.Read("tick", "ca-tick", "9ZZZ999", s_n.AddDays(21));
        JsonElement notice = Assert.Single(h.Purges());
        Assert.Equal(("e1", "VA.RETENTION"), (notice.GetProperty("read_id").GetString(),
            notice.GetProperty("rule").GetString()));
        JsonElement purge = Assert.Single(h.Audit("purge"));
        Assert.Equal(("VA.RETENTION", "Va. Code §2.2-5517"),
            (purge.GetProperty("rule").GetString(), purge.GetProperty("citation").GetString()));
    }

    [Fact]
    public void AnOwnerWithNeitherACapNorAWindowKeepsThePolicyDefault()
    {
        const string Yaml = """
            version: 1
            default_retention: 2d
            agencies:
              - {id: tx-hpd, state: TX, level: local}
              - {id: ca-x, state: CA, level: local}
              - {id: us-fbi, level: federal}
            """;
        using var h = new Harness(Yaml, s_n.AddDays(5));
        h.Read("t1", "tx-hpd", "7ABC123", s_n);
        h.Read("c1", "ca-x", "7ABC124", s_n.AddHours(1));
        h.Read("f1", "us-fbi", "7ABC125", s_n.AddHours(2));
        Assert.All(h.Audit("ingest"),
            r => Assert.Equal(CompiledPolicy.DefaultRetentionRule, r.GetProperty("rule").GetString()));
        h.Read("tick", "tx-hpd", "9ZZZ999", s_n.AddDays(2).AddHours(2).AddMilliseconds(-1));
        Assert.Equal([("t1", "RETENTION.DEFAULT"), ("c1", "RETENTION.DEFAULT")],
            h.Purges().Select(p => (p.GetProperty("read_id").GetString()!, p.GetProperty("rule").GetString()!)));

        // Without default_retention: 30 days.
        byte[] txOnly = Encoding.UTF8.GetBytes("version: 1\nagencies:\n  - {id: tx-hpd, state: TX, level: local}\n");
        var noDefault = new CompiledPolicy(PolicyLoader.Load(txOnly, "x.yaml", "."));
        Assert.Equal((long)TimeSpan.FromDays(30).TotalMilliseconds,
            noDefault.RetentionMs(noDefault.Agencies.Find("tx-hpd")));
    }

    [Fact]
    public void AnAgencyWindowLongerThanItsStatuteCapIsRefused()
    {
        string yaml = "version: 1\nagencies:\n  - {id: va-pd, state: VA, level: local, retention: 22d}\n";
        PolicyException e =
            Assert.Throws<PolicyException>(() => PolicyLoader.Load(Encoding.UTF8.GetBytes(yaml), "x.yaml", "."));
        Assert.Contains("VA.RETENTION", e.Message, StringComparison.Ordinal);
        string arPrivate = "version: 1\nagencies:\n  - {id: ar-lot, state: AR, level: private, retention: 61d}\n";
        Assert.Throws<PolicyException>(() => PolicyLoader.Load(Encoding.UTF8.GetBytes(arPrivate), "x.yaml", "."));
    }

    // ---- 5. one search across owners of several states ---------------------------------------------------------

    private const string MultiStateYaml = """
        version: 1
        default_retention: 30d
        agencies:
          - {id: ca-lasd, state: CA, level: county, key: file:keys/ca-lasd.key}
          - {id: ca-pasadena, state: CA, level: local}
          - {id: tx-hpd, state: TX, level: local}
          - {id: tx-dps, state: TX, level: state}
          - {id: wa-spd, state: WA, level: local}
          - {id: tx-short, state: TX, level: local, retention: 1d}
        agreements:
          - id: socal-search
            owners: [ca-pasadena]
            recipients: [ca-lasd]
            access: [search]
            purposes: [stolen_vehicle]
          - id: tx-ca-search
            owners: [tx-hpd, tx-short]
            recipients: [ca-lasd]
            access: [search]
            purposes: [stolen_vehicle, criminal_investigation]
          - id: pnw-search
            owners: [wa-spd]
            recipients: [ca-lasd]
            access: [search]
            purposes: [stolen_vehicle, criminal_investigation]
        """ + "\n" + Search;

    [Theory]
    [InlineData("stolen_vehicle")]
    [InlineData("criminal_investigation")]
    public void ASearchAcrossOwnersOfSeveralStatesDisclosesExactlyTheAllowedOwnersNewestFirstWithOneRecordPerOwner(
        string purpose)
    {
        using var h = new Harness(MultiStateYaml, s_n.AddDays(1));
        h.Read("s1", "tx-short", "7ABC123", s_n.AddDays(-2));      // window 1 day: gone by the search
        h.Read("p0", "ca-pasadena", "7ABC123", s_n.AddDays(-10));  // stored, outside the search's from–to
        h.Read("x1", "tx-hpd", "8XYZ999", s_n.AddHours(-4));       // another plate
        h.Read("p1", "ca-pasadena", "7ABC123", s_n.AddHours(-3));
        h.Read("h1", "tx-hpd", "7ABC123", s_n.AddHours(-2));
        h.Read("w1", "wa-spd", "7abc-123", s_n.AddMinutes(-90));
        h.Read("p2", "ca-pasadena", "7ABC123", s_n.AddHours(-1));
        h.Read("d1", "tx-dps", "7ABC123", s_n.AddMinutes(-45));
        h.Read("h2", "tx-hpd", "7ABC123", s_n.AddMinutes(-30));
        h.Read("own1", "ca-lasd", "7ABC123", s_n.AddMinutes(-10));
        Assert.Equal(["s1"], h.Purges().Select(p => p.GetProperty("read_id").GetString()!));

        JsonElement result = h.Query(TestPolicy.Query("q-multi", "ca-lasd", "7ABC123", s_n, purpose: purpose,
            from: s_n.AddDays(-1), to: s_n));

        bool stolen = purpose == "stolen_vehicle";
        List<string> expected = stolen ? ["own1", "h2", "p2", "h1", "p1"] : ["own1", "h2", "h1"];
        Assert.Equal("answered", result.GetProperty("status").GetString());
        Assert.Equal("ok", result.GetProperty("code").GetString());
        Assert.Equal(expected, ReadIds(result));
        Assert.Equal(["code", "decision_id", "query_id", "reads", "requester", "status"],
            result.EnumerateObject().Select(p => p.Name).Order());

        List<JsonElement> records = h.Audit("search");
        Assert.All(records, r =>
        {
            Assert.Equal("q-multi", r.GetProperty("query_id").GetString());
            Assert.Equal("ca-lasd", r.GetProperty("recipient").GetString());
            Assert.Equal(purpose, r.GetProperty("purpose").GetString());
            Assert.Equal("CASE-1", r.GetProperty("case_number").GetString());
        });
        // The answer names the first allowed owner's decision, never a denial.
        Assert.Equal(records.First(r => r.GetProperty("decision").GetString() == "allow").GetProperty("id")
            .GetString(), result.GetProperty("decision_id").GetString());
        // An allowed owner's decision lists the reads disclosed; a denied owner's, how many matched.
        var byOwner = records.ToDictionary(r => r.GetProperty("owner").GetString()!,
            r => (Decision: r.GetProperty("decision").GetString(), Code: r.GetProperty("code").GetString(),
                Rule: r.GetProperty("rule").GetString(),
                Reads: r.TryGetProperty("reads", out JsonElement reads)
                    ? string.Join(',', Strings(reads).Order(StringComparer.Ordinal))
                    : $"{r.GetProperty("matched").GetInt32()} matched"));
        // Owners touched: those with a resident read of the plate inside from–to; tx-short's read is gone.
        Assert.Equal(["ca-lasd", "ca-pasadena", "tx-dps", "tx-hpd", "wa-spd"],
            byOwner.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(5, records.Count);
        Assert.Equal(("allow", "allow.own", "OWNER", "own1"), byOwner["ca-lasd"]);
        Assert.Equal(stolen
            ? ("allow", "allow.agreement", "socal-search", "p1,p2")
            : ("deny", "deny.purpose_not_granted", "socal-search", "2 matched"), byOwner["ca-pasadena"]);
        Assert.Equal(("allow", "allow.agreement", "tx-ca-search", "h1,h2"), byOwner["tx-hpd"]);
        Assert.Equal(("deny", "deny.statute", "WA.OUT_OF_STATE", "1 matched"), byOwner["wa-spd"]);
        Assert.Equal(("deny", "deny.no_agreement", CompiledPolicy.DefaultDenyRule, "1 matched"), byOwner["tx-dps"]);

        string raw = h.Sink.Results[^1];
        foreach (string withheld in (string[])["w1", "d1", "wa-spd", "tx-dps", "s1", "p0", "x1"])
        {
            Assert.DoesNotContain(withheld, raw, StringComparison.Ordinal);
        }
        Assert.All(h.Sink.AuditLines, r => Assert.DoesNotContain("7ABC123", r, StringComparison.Ordinal));
    }

    // ---- 6. a federal searcher ----------------------------------------------------------------------------------

    private const string FederalYaml = """
        version: 1
        default_retention: 30d
        agencies:
          - {id: ca-lapd, state: CA, level: local}
          - {id: il-cpd, state: IL, level: local}
          - {id: va-pd, state: VA, level: local}
          - {id: wa-spd, state: WA, level: local}
          - {id: us-ice-ero, level: federal, key: file:keys/us-ice-ero.key}
        agreements:
          - id: national-network
            owners: [ca-lapd, il-cpd, va-pd, wa-spd]
            recipients: [us-ice-ero]
            access: [search, push, alert]
            purposes: [immigration_enforcement, stolen_vehicle, criminal_investigation]
        """ + "\n" + Search;

    [Theory]
    [InlineData("immigration_enforcement", "WA.IMMIGRATION")]
    [InlineData("stolen_vehicle", "WA.OUT_OF_STATE")]
    public void AFederalSearchGetsNothingFromStatuteProtectedOwnersWhateverTheAgreementSaysAndLearnsNothing(
        string purpose, string waRule)
    {
        using var h = new Harness(FederalYaml, s_n.AddDays(1));
        h.Read("r-ca", "ca-lapd", "7abc-123", s_n.AddMinutes(-40));
        h.Read("r-il", "il-cpd", "7ABC123", s_n.AddMinutes(-30));
        h.Read("r-va", "va-pd", "7 ABC 123", s_n.AddMinutes(-20));
        h.Read("r-wa", "wa-spd", "7ABC123", s_n.AddMinutes(-10));
        Assert.Equal(4, h.Engine.StoredReadCount);
        Assert.Empty(h.Sink.SharedRecords); // the network's pushes are all denied too
        Assert.Equal(4, h.Audit("push").Count(p => p.GetProperty("code").GetString() == "deny.statute"));

        JsonElement result = h.Query(TestPolicy.Query("q-fed", "us-ice-ero", "7ABC123", s_n, purpose: purpose));

        Assert.Equal(["code", "decision_id", "query_id", "reads", "requester", "status"],
            result.EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal(("q-fed", "answered", "ok"),
            (result.GetProperty("query_id").GetString(), result.GetProperty("status").GetString(),
                result.GetProperty("code").GetString()));
        Assert.Empty(result.GetProperty("reads").EnumerateArray());
        string raw = h.Sink.Results[^1];
        foreach (string hidden in
            (string[])["ca-lapd", "il-cpd", "va-pd", "wa-spd", "r-ca", "r-il", "r-va", "r-wa", "truncated"])
        {
            Assert.DoesNotContain(hidden, raw, StringComparison.Ordinal);
        }

        // The empty answer's decision, which the result names, and one denial per owner touched.
        JsonElement answer = Assert.Single(h.Audit("search"), r => !r.TryGetProperty("owner", out _));
        Assert.Equal(("allow", "allow.search", 0), (answer.GetProperty("decision").GetString(),
            answer.GetProperty("code").GetString(), answer.GetProperty("reads").GetArrayLength()));
        Assert.Equal(answer.GetProperty("id").GetString(), result.GetProperty("decision_id").GetString());
        List<JsonElement> records = h.Audit("search").Where(r => r.TryGetProperty("owner", out _)).ToList();
        Assert.Equal(4, records.Count);
        Assert.All(records, r =>
        {
            Assert.Equal(("deny", "deny.statute", "us-ice-ero", "q-fed", purpose),
                (r.GetProperty("decision").GetString(), r.GetProperty("code").GetString(),
                    r.GetProperty("recipient").GetString(), r.GetProperty("query_id").GetString(),
                    r.GetProperty("purpose").GetString()));
        });
        var byOwner = records.ToDictionary(r => r.GetProperty("owner").GetString()!);
        Assert.Equal(("CA.PUBLIC_AGENCY_ONLY", 1),
            (byOwner["ca-lapd"].GetProperty("rule").GetString(),
                byOwner["ca-lapd"].GetProperty("matched").GetInt32()));
        Assert.Equal(("IL.DECLARATION_REQUIRED", 1),
            (byOwner["il-cpd"].GetProperty("rule").GetString(),
                byOwner["il-cpd"].GetProperty("matched").GetInt32()));
        Assert.Equal(("VA.IN_STATE_ONLY", 1),
            (byOwner["va-pd"].GetProperty("rule").GetString(),
                byOwner["va-pd"].GetProperty("matched").GetInt32()));
        Assert.Equal((waRule, 1),
            (byOwner["wa-spd"].GetProperty("rule").GetString(),
                byOwner["wa-spd"].GetProperty("matched").GetInt32()));
        Assert.Equal("625 ILCS 5/2-130", byOwner["il-cpd"].GetProperty("citation").GetString());
        Assert.Equal("Wash. SB 6002 (2026)", byOwner["wa-spd"].GetProperty("citation").GetString());

        foreach (string record in h.Sink.AuditRecords)
        {
            foreach (string plate in (string[])["7ABC123", "7abc-123", "7 ABC 123", "7abc123"])
            {
                Assert.DoesNotContain(plate, record, StringComparison.OrdinalIgnoreCase);
            }
        }
    }

    // ---- 7. eviction under load ---------------------------------------------------------------------------------

    private const string LoadYaml = """
        version: 1
        default_retention: 30d
        agencies:
          - {id: tx-90s, state: TX, level: local, retention: 90s}
          - {id: nh-pd, state: NH, level: local}
          - {id: ca-10m, state: CA, level: local, retention: 10m}
          - {id: va-30m, state: VA, level: local, retention: 30m}
          - {id: ca-1h, state: CA, level: local, retention: 1h}
        """ + "\n" + Search;

    [Fact]
    public void UnderLoadEveryReadWhoseWindowEndedIsPurgedExactlyOnceAndOnTime()
    {
        const int Count = 50_000;
        string[] owners = ["tx-90s", "nh-pd", "ca-10m", "va-30m", "ca-1h"];
        long[] windows = [90_000, 180_000, 600_000, 1_800_000, 3_600_000];
        DateTimeOffset start = s_n;
        using var h = new Harness(LoadYaml, start.AddDays(2));
        for (int o = 0; o < owners.Length; o++)
        {
            Assert.Equal(windows[o], h.Policy.RetentionMs(h.Policy.Agencies.Find(owners[o])));
        }

        var random = new Random(20260601);
        long startMs = start.ToUnixTimeMilliseconds();
        long t = startMs, clock = long.MinValue;
        // stored reads → end of their window
        var expiry = new Dictionary<string, long>(Count, StringComparer.Ordinal);
        var purgedAt = new Dictionary<string, long>(StringComparer.Ordinal);
        int dropped = 0, seenPurges = 0;
        for (int i = 0; i < Count; i++)
        {
            t += random.Next(0, 200);
            // Mostly in order; one in ten late by up to 20 minutes (some of those past their window on arrival).
            long observed = random.Next(10) == 0 ? t - random.Next(0, 20 * 60_000) : t;
            int o = random.Next(owners.Length);
            string id = "r" + i.ToString("D6", CultureInfo.InvariantCulture);
            long previousClock = clock;
            clock = Math.Max(clock, observed);
            h.Read(id, owners[o], "P" + random.Next(3000).ToString("D4", CultureInfo.InvariantCulture),
                DateTimeOffset.FromUnixTimeMilliseconds(observed));
            if (observed + windows[o] > clock) expiry.Add(id, observed + windows[o]);
            else dropped++;

            for (; seenPurges < h.Sink.Purges.Count; seenPurges++)
            {
                JsonElement notice = MemorySink.Json(h.Sink.Purges[seenPurges]);
                string purged = notice.GetProperty("read_id").GetString()!;
                Assert.True(purgedAt.TryAdd(purged, clock), $"{purged} purged twice");
                long end = expiry[purged];
                // On time: at the first event whose clock reached the end of its window.
                Assert.True(end <= clock && end > previousClock,
                    $"{purged}: window ended {end}, purged at clock {clock} (previous {previousClock})");
                Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(end),
                    DateTimeOffset.Parse(notice.GetProperty("expired_at").GetString()!, CultureInfo.InvariantCulture));
            }
        }

        var shouldBeGone = expiry.Where(e => e.Value <= clock).Select(e => e.Key).ToHashSet(StringComparer.Ordinal);
        Assert.True(shouldBeGone.Count > 10_000 && expiry.Count - shouldBeGone.Count > 1_000 && dropped > 100,
            $"a poor mix: {shouldBeGone.Count} expired, {dropped} dropped");
        Assert.Equal(shouldBeGone.Count, h.Sink.Purges.Count);
        Assert.True(shouldBeGone.SetEquals(purgedAt.Keys));
        Assert.Equal(expiry.Count - shouldBeGone.Count, h.Engine.StoredReadCount);
        Assert.Equal(h.Sink.Purges.Count,
            h.Sink.AuditRecords.Count(r => r.Contains("\"event\":\"purge\"", StringComparison.Ordinal)));
        Assert.Equal(dropped,
            h.Sink.AuditRecords.Count(r =>
                r.Contains("\"code\":\"drop.expired_on_arrival\"", StringComparison.Ordinal)));

        h.Engine.Tick(); // the clock has not moved: nothing more
        Assert.Equal(shouldBeGone.Count, h.Sink.Purges.Count);

        // Two hours on, every window has ended: all the rest go, each once; only the last read stays.
        h.Read("last", "ca-1h", "P9999", DateTimeOffset.FromUnixTimeMilliseconds(clock + 2 * 3_600_000));
        Assert.Equal(expiry.Count, h.Sink.Purges.Count);
        Assert.Equal(expiry.Count,
            h.Sink.Purges.Select(p => MemorySink.Json(p).GetProperty("read_id").GetString()).Distinct().Count());
        Assert.Equal(1, h.Engine.StoredReadCount);
    }
}
