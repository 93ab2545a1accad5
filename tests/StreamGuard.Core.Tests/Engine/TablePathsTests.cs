using System.Text;
using System.Text.Json;
using StreamGuard.Engine;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Engine;

/// <summary>
/// The two paths of a table record: every worker applies it silently, and one worker audits or checks it. Each path
/// does its own part only, and a release applied before it is audited is still recorded with the hold's terms.
/// </summary>
public sealed class TablePathsTests : IDisposable
{
    private const string Yaml = """
        version: 1
        default_retention: 30d
        agencies:
          - {id: wa-spd, state: WA, level: local, key: file:keys/wa-spd.key}
          - {id: ca-lasd, state: CA, level: county, key: file:keys/ca-lasd.key}
        """;

    private const string Hold = """
        {"hold_id":"h1","agency":"wa-spd","kind":"warrant","case_number":"SPD-26-1","until":"2026-06-01T00:00:00Z"}
        """;

    private const string Entry = """
        {"hotlist_id":"stolen","owner":"ca-lasd","plate":"7ABC123","purpose":"stolen_vehicle"}
        """;

    private readonly TestPolicy _policy = new(Yaml);
    private readonly MemorySink _sink = new();
    private readonly StreamGuardEngine _engine;

    public TablePathsTests()
    {
        long now = new DateTimeOffset(2026, 3, 3, 17, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        _engine = TestEngine.Create(_policy.Compiled, _sink, TestPolicy.AuditKey,
            new EngineOptions { EventTimeClock = true, ReplayNowMs = now });
    }

    public void Dispose() => _policy.Dispose();

    private static EventSource Source(int line) => EventSource.File("table", line);

    private List<JsonElement> Records(string code) =>
        _sink.AuditRecords.Select(MemorySink.Json).Where(r => r.GetProperty("code").GetString() == code).ToList();

    [Fact]
    public void ApplyingAHoldRecordIsSilentAndAuditingOneLeavesTheTableAlone()
    {
        _engine.Holds.Apply("h1"u8, Encoding.UTF8.GetBytes(Hold));
        _engine.Holds.Apply("bad"u8, "{\"hold_id\":\"bad\"}"u8);
        Assert.Equal(1, _engine.Holds.Count);
        Assert.Empty(_sink.AuditRecords);
        Assert.Empty(_sink.DeadLetters);

        _engine.Holds.Audit("h2"u8, Encoding.UTF8.GetBytes(Hold.Replace("\"h1\"", "\"h2\"")), Source(1));
        _engine.Holds.Audit("bad"u8, "{\"hold_id\":\"bad\"}"u8, Source(2));
        Assert.Equal(1, _engine.Holds.Count);
        JsonElement placed = Assert.Single(Records("hold.place"));
        Assert.Equal(("h2", "Hold: warrant"), (placed.GetProperty("hold_id").GetString(),
            placed.GetProperty("citation").GetString()));
        Assert.Equal("table:2", MemorySink.Json(Assert.Single(_sink.DeadLetters)).GetProperty("source").GetString());
    }

    [Fact]
    public void AReleaseAppliedBeforeItIsAuditedIsRecordedWithTheHoldsTerms()
    {
        _engine.Holds.Apply("h1"u8, Encoding.UTF8.GetBytes(Hold));
        _engine.Holds.Apply("h1"u8, default);
        Assert.Equal(0, _engine.Holds.Count);
        Assert.Empty(_sink.AuditRecords);

        _engine.Holds.Audit("h1"u8, default, Source(1));
        _engine.Holds.Audit("never-placed"u8, default, Source(2));
        List<JsonElement> released = Records("hold.release");
        Assert.Equal(2, released.Count);
        Assert.Equal(("h1", "wa-spd", "SPD-26-1", "Hold: warrant"), (released[0].GetProperty("hold_id").GetString(),
            released[0].GetProperty("owner").GetString(), released[0].GetProperty("case_number").GetString(),
            released[0].GetProperty("citation").GetString()));
        Assert.Equal(("never-placed", "Hold released"), (released[1].GetProperty("hold_id").GetString(),
            released[1].GetProperty("citation").GetString()));
        Assert.False(released[1].TryGetProperty("owner", out _));
    }

    [Fact]
    public void ApplyingAHotlistRecordIsSilentAndCheckingOneOnlyDeadLettersABadOne()
    {
        _engine.Hotlists.Apply("stolen/7ABC123"u8, "{\"hotlist_id\":\"x\"}"u8);
        _engine.Hotlists.Apply("no-slash"u8, default);
        Assert.Empty(_sink.DeadLetters);

        _engine.Hotlists.Check("stolen/7ABC123"u8, Encoding.UTF8.GetBytes(Entry), Source(1));
        Assert.Equal(0, _engine.Hotlists.Count);
        Assert.Empty(_sink.DeadLetters);
        _engine.Hotlists.Check("no-slash"u8, default, Source(2));
        Assert.Equal("table:2", MemorySink.Json(Assert.Single(_sink.DeadLetters)).GetProperty("source").GetString());

        _engine.Hotlists.Apply("stolen/7ABC123"u8, Encoding.UTF8.GetBytes(Entry));
        Assert.Equal(1, _engine.Hotlists.Count);
        _engine.Hotlists.Apply("stolen/7ABC123"u8, default);
        Assert.Equal(0, _engine.Hotlists.Count);
        Assert.Single(_sink.DeadLetters);
    }
}
