using System.Text;
using System.Text.Json;
using StreamGuard.Engine;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Engine;

/// <summary>
/// Table records that could not be undone or that cost without bound: a record whose key is not its ids (its
/// tombstone could never release it) is dead-lettered and never applied; the alerts one read makes and the holds one
/// eviction consults are bounded.
/// </summary>
public sealed class TableBoundsTests : IDisposable
{
    private const string Yaml = """
        version: 1
        default_retention: 30d
        agencies:
          - {id: wa-spd, state: WA, level: local, key: file:keys/wa-spd.key}
        """;

    private static readonly DateTimeOffset s_t0 = new(2026, 3, 3, 17, 0, 0, TimeSpan.Zero);
    private readonly TestPolicy _policy = new(Yaml);
    private readonly MemorySink _sink = new();
    private readonly StreamGuardEngine _engine;

    public TableBoundsTests()
    {
        _engine = TestEngine.Create(_policy.Compiled, _sink, TestPolicy.AuditKey,
            new EngineOptions { EventTimeClock = true, ReplayNowMs = s_t0.ToUnixTimeMilliseconds() });
    }

    public void Dispose() => _policy.Dispose();

    private static EventSource Source(int line) => EventSource.File("table", line);

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    private static string HoldJson(string holdId, string? plate = null) =>
        $"{{\"hold_id\":\"{holdId}\",\"agency\":\"wa-spd\"" + (plate is null ? "" : $",\"plate\":\"{plate}\"") +
        ",\"kind\":\"warrant\",\"case_number\":\"SPD-1\",\"until\":\"2027-01-01T00:00:00Z\"}";

    private static string EntryJson(string hotlistId, string plate) =>
        $"{{\"hotlist_id\":\"{hotlistId}\",\"owner\":\"wa-spd\",\"plate\":\"{plate}\"," +
        "\"purpose\":\"stolen_vehicle\",\"case_number\":\"KC-1\"}";

    private List<JsonElement> DeadLetters() => _sink.DeadLetters.Select(MemorySink.Json).ToList();

    [Fact]
    public void AHoldWhoseKeyIsNotItsIdIsDeadLetteredOnceAndAppliedByNoWorker()
    {
        byte[] hold = Utf8(HoldJson("h1", "7ABC123"));
        _engine.Holds.Apply("other"u8, hold);       // every worker: skipped
        Assert.Equal(0, _engine.Holds.Count);
        Assert.Empty(_sink.DeadLetters);

        _engine.Holds.Audit("other"u8, hold, Source(1)); // the partition's worker: dead-lettered, not audited placed
        JsonElement dl = Assert.Single(DeadLetters());
        Assert.Equal("invalid_field", dl.GetProperty("error").GetString());
        Assert.Contains("key differs", dl.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(_sink.AuditRecords, r => MemorySink.Json(r).GetProperty("code").GetString() ==
            "hold.place");

        _engine.Holds.ApplyAndAudit("other"u8, hold, Source(2)); // a single process: both, and still not applied
        Assert.Equal(0, _engine.Holds.Count);
        Assert.Equal(2, _sink.DeadLetters.Count);

        _engine.Holds.Apply("h1"u8, hold);           // the same hold under its own key is placed and releasable
        Assert.Equal(1, _engine.Holds.Count);
        _engine.Holds.Apply("h1"u8, default);
        Assert.Equal(0, _engine.Holds.Count);
    }

    /// <summary>
    /// A tombstone's key is the only id it has: one that is no hold_id (not UTF-8, or longer than any hold_id) is
    /// dead-lettered with its code, never audited as a release under a mangled or unbounded id.
    /// </summary>
    [Fact]
    public void AHoldTombstoneWhoseKeyIsNoHoldIdIsDeadLetteredNotAuditedAsARelease()
    {
        byte[] notUtf8 = [(byte)'h', 0xFF, 0xFE];
        byte[] tooLong = Utf8(new string('h', 129));
        _engine.Holds.Audit(notUtf8, default, Source(1));
        _engine.Holds.ApplyAndAudit(tooLong, default, Source(2));
        _engine.Holds.Audit(Utf8(new string('h', 128)), default, Source(3)); // the longest hold_id: a release

        List<JsonElement> dead = DeadLetters();
        Assert.Equal(2, dead.Count);
        Assert.Equal("invalid_utf8", dead[0].GetProperty("error").GetString());
        Assert.StartsWith("key: ", dead[0].GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(notUtf8, Convert.FromBase64String(dead[0].GetProperty("payload_b64").GetString()!));
        Assert.Equal("invalid_field", dead[1].GetProperty("error").GetString());
        Assert.StartsWith("key: ", dead[1].GetProperty("detail").GetString(), StringComparison.Ordinal);
        JsonElement release = Assert.Single(_sink.AuditRecords.Select(MemorySink.Json),
            r => r.TryGetProperty("code", out JsonElement code) && code.GetString() == "hold.release");
        Assert.Contains(new string('h', 128), release.GetRawText(), StringComparison.Ordinal);

        // Nor does a dead-lettered tombstone release the hold its decoded bytes would name.
        _engine.Holds.Apply(Utf8("h\uFFFD\uFFFD"), Utf8(HoldJson("h\uFFFD\uFFFD", "7ABC123")));
        Assert.Equal(1, _engine.Holds.Count);
        _engine.Holds.Apply(notUtf8, default);
        _engine.Holds.ApplyAndAudit(notUtf8, default, Source(4));
        Assert.Equal(1, _engine.Holds.Count);
        Assert.Equal(3, _sink.DeadLetters.Count);
    }

    [Fact]
    public void AHotlistEntryWhoseKeyIsNotItsIdAndPlateIsDeadLetteredOnceAndAppliedByNoWorker()
    {
        byte[] entry = Utf8(EntryJson("stolen", "7ABC123"));
        foreach (string key in (string[])["stolen/8XYZ999", "other/7ABC123", "stolen"])
        {
            _engine.Hotlists.Apply(Utf8(key), entry);
            Assert.Equal(0, _engine.Hotlists.Count);
        }
        Assert.Empty(_sink.DeadLetters);

        _engine.Hotlists.Check("other/7ABC123"u8, entry, Source(1));
        _engine.Hotlists.ApplyAndCheck("stolen/8XYZ999"u8, entry, Source(2));
        Assert.Equal(0, _engine.Hotlists.Count);
        List<JsonElement> dls = DeadLetters();
        Assert.Equal(2, dls.Count);
        Assert.All(dls, d => Assert.Equal("invalid_field", d.GetProperty("error").GetString()));
        Assert.All(dls, d => Assert.Contains("key differs", d.GetProperty("detail").GetString(),
            StringComparison.Ordinal));

        // Its own key (plate spelled as the tombstone will spell it, or not normalised) is applied and removable.
        _engine.Hotlists.Apply("stolen/7abc-123"u8, entry);
        Assert.Equal(1, _engine.Hotlists.Count);
        _engine.Hotlists.Check("stolen/7abc-123"u8, entry, Source(3));
        Assert.Equal(2, _sink.DeadLetters.Count);
        _engine.Hotlists.Apply("stolen/7ABC123"u8, default);
        Assert.Equal(0, _engine.Hotlists.Count);
    }

    [Fact]
    public void ARecordFromAFileWithoutKeysIsAppliedByItsIds()
    {
        _engine.Holds.ApplyAndAudit(default, Utf8(HoldJson("h1", "7ABC123")), Source(1));
        _engine.Hotlists.ApplyAndCheck(default, Utf8(EntryJson("stolen", "7ABC123")), Source(2));
        Assert.Equal((1, 1), (_engine.Holds.Count, _engine.Hotlists.Count));
        Assert.Empty(_sink.DeadLetters);
    }

    [Fact]
    public void OnePlateOnManyHotlistsMakesABoundedNumberOfAlertsPerReadAndRefusesTheRestWithACode()
    {
        const int entries = 200;
        for (int i = 0; i < entries; i++)
        {
            string id = $"list-{i:D3}";
            _engine.Hotlists.ApplyAndCheck(Utf8($"{id}/7ABC123"), Utf8(EntryJson(id, "7ABC123")), Source(i + 1));
        }
        Assert.Equal(HotlistTable.MaxEntriesPerPlate, _engine.Hotlists.Count);
        List<JsonElement> refused = DeadLetters();
        Assert.Equal(entries - HotlistTable.MaxEntriesPerPlate, refused.Count);
        Assert.All(refused, d => Assert.Equal("invalid_field", d.GetProperty("error").GetString()));
        Assert.All(refused, d => Assert.Contains("entries in force for this plate", d.GetProperty("detail")
            .GetString(), StringComparison.Ordinal));

        _engine.ProcessRead(Utf8(TestPolicy.Read("r1", "wa-spd", "7ABC123", s_t0)), Source(1000));
        Assert.Equal(HotlistTable.MaxEntriesPerPlate, _sink.Alerts.Count);
        Assert.Equal(HotlistTable.MaxEntriesPerPlate,
            _sink.AuditRecords.Count(r => MemorySink.Json(r).GetProperty("event").GetString() == "alert"));

        // Removing one frees its place: the next entry for the plate is taken.
        _engine.Hotlists.ApplyAndCheck("list-000/7ABC123"u8, default, Source(2000));
        _engine.Hotlists.ApplyAndCheck("late/7ABC123"u8, Utf8(EntryJson("late", "7ABC123")), Source(2001));
        Assert.Equal(HotlistTable.MaxEntriesPerPlate, _engine.Hotlists.Count);
        Assert.Equal(entries - HotlistTable.MaxEntriesPerPlate, _sink.DeadLetters.Count);
    }

    [Fact]
    public void TheHoldsOfOtherPlatesAreNotConsultedWhenAReadsWindowEnds()
    {
        const int holds = 5000;
        for (int i = 0; i < holds; i++)
        {
            string id = $"h{i}";
            _engine.Holds.Apply(Utf8(id), Utf8(HoldJson(id, $"P{i:D6}")));
        }
        _engine.Holds.Apply("any"u8, Utf8(HoldJson("any")));       // a hold on every plate of the agency
        _engine.Holds.Apply("mine"u8, Utf8(HoldJson("mine", "7ABC123")));
        Assert.Equal(holds + 2, _engine.Holds.Count);

        _engine.ProcessRead(Utf8(TestPolicy.Read("r1", "wa-spd", "7ABC123", s_t0)), Source(1));
        _engine.ProcessRead(Utf8(TestPolicy.Read("r2", "wa-spd", "8XYZ999", s_t0)), Source(2));
        long before = _engine.Holds.Examined;
        _engine.Evict(s_t0.AddDays(31).ToUnixTimeMilliseconds()); // both windows end: both reads held
        long examined = _engine.Holds.Examined - before;

        Assert.Equal(2, _engine.StoredReadCount);
        // r1: its plate's hold and the agency-wide one; r2: the agency-wide one.
        Assert.Equal(3, examined);
    }
}
