using System.Text;
using System.Text.Json;
using StreamGuard.Engine;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Engine;

/// <summary>
/// What a query can make the engine write, and what a requester can learn from it: answers and search entries bounded
/// by bytes whatever the plate's history, only disclosed reads audited as disclosed, a result that never names another
/// owner's denial, query ids that belong to their requester, and no answer at all to an unauthenticated query.
/// </summary>
public sealed class QueryIsolationTests : IDisposable
{
    /// <summary>Kafka's default <c>message.max.bytes</c>: every output must fit it, key and overhead included.
    /// </summary>
    private const int KafkaMessageBytes = 1_000_000;

    /// <summary>One audit block, one Kafka message, stays under this (split when it would pass 512 KiB).</summary>
    private const int BlockBytes = 512 * 1024;

    private static readonly DateTimeOffset s_t0 = new(2026, 3, 3, 17, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset s_now = s_t0.AddHours(1);
    private readonly TestPolicy _policy = new();
    private readonly MemorySink _sink = new();
    private readonly StreamGuardEngine _engine;

    public QueryIsolationTests()
    {
        _engine = TestEngine.Create(_policy.Compiled, _sink, TestPolicy.AuditKey,
            new EngineOptions { EventTimeClock = true, ReplayNowMs = s_now.ToUnixTimeMilliseconds() });
    }

    public void Dispose() => _policy.Dispose();

    private void Read(string json) =>
        _engine.ProcessRead(Encoding.UTF8.GetBytes(json), EventSource.File("reads", 1));

    private void Query(string json) =>
        _engine.ProcessQuery(Encoding.UTF8.GetBytes(json), EventSource.File("queries", 1));

    private static string Padded(string read, int bytes) =>
        read[..^1] + ",\"note\":\"" + new string('x', bytes) + "\"}";

    private List<JsonElement> Decisions() => _sink.AuditRecords.Select(MemorySink.Json).ToList();

    private JsonElement DecisionNamedBy(JsonElement result)
    {
        string id = result.GetProperty("decision_id").GetString()!;
        return Assert.Single(Decisions(), d => d.GetProperty("id").GetString() == id);
    }

    private static string[] ReadIds(JsonElement result) =>
        [.. result.GetProperty("reads").EnumerateArray().Select(r => r.GetProperty("read_id").GetString()!)];

    [Fact]
    public void AnAnswerIsBoundedByBytesKeepsTheNewestReadsAndSaysTruncated()
    {
        // 30 reads of 60 KB each: far fewer than any count cap, far more than one Kafka message holds.
        for (int i = 0; i < 30; i++)
        {
            Read(Padded(TestPolicy.Read($"big-{i:D2}", "ca-lapd", "7ABC123", s_t0.AddMinutes(i)), 60_000));
        }
        Query(TestPolicy.Query("q1", "ca-lapd", "7ABC123", s_t0.AddMinutes(31)));

        string text = Assert.Single(_sink.Results);
        int wire = Encoding.UTF8.GetByteCount(text) + "q1".Length;
        Assert.True(wire <= KafkaMessageBytes - 1024, $"the answer is {wire} bytes: it cannot be produced");
        JsonElement result = MemorySink.Json(text);
        Assert.Equal("answered", result.GetProperty("status").GetString());
        Assert.True(result.GetProperty("truncated").GetBoolean());
        string[] ids = ReadIds(result);
        Assert.NotEmpty(ids);
        Assert.Equal(Enumerable.Range(0, ids.Length).Select(i => $"big-{29 - i:D2}"), ids); // newest first
    }

    [Fact]
    public void ASearchEntryListsTheReadsDisclosedAndNotTheOnesLeftOut()
    {
        for (int i = 0; i < 1200; i++) Read(TestPolicy.Read($"r{i:D4}", "ca-lapd", "7ABC123", s_t0.AddSeconds(i)));
        Query(TestPolicy.Query("q1", "ca-lapd", "7ABC123", s_t0.AddMinutes(21)));

        JsonElement result = MemorySink.Json(Assert.Single(_sink.Results));
        JsonElement search = Assert.Single(Decisions(), d => d.GetProperty("event").GetString() == "search");
        string[] audited = [.. search.GetProperty("reads").EnumerateArray().Select(r => r.GetString()!)];
        Assert.Equal(ReadIds(result).Order(StringComparer.Ordinal), audited.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void ASearchOfAPlateWithFiftyThousandReadsWritesEntriesThatFitABlock()
    {
        const int reads = 50_000;
        for (int i = 0; i < reads; i++)
        {
            Read(TestPolicy.Read($"read-{i:D8}-0123456789abcdefghijklmn", "ca-lapd", "7ABC123",
                s_t0.AddSeconds(-i)));
        }
        Query(TestPolicy.Query("q-own", "ca-lapd", "7ABC123", s_t0.AddMinutes(1)));
        Query(TestPolicy.Query("q-ice", "us-ice-ero", "7ABC123", s_t0.AddMinutes(1),
            purpose: "immigration_enforcement"));

        foreach (string block in _sink.AuditBlocks)
        {
            Assert.True(Encoding.UTF8.GetByteCount(block) <= BlockBytes,
                $"an audit block of {Encoding.UTF8.GetByteCount(block)} bytes cannot be one Kafka message");
        }
        Assert.Equal(2, _sink.Results.Count);
        foreach (string r in _sink.Results) Assert.True(Encoding.UTF8.GetByteCount(r) < KafkaMessageBytes - 1024);
        // The denied owner's matches are accounted for by number: the denial discloses nothing.
        string deniedEntry = Assert.Single(_sink.AuditLines, l => l.Contains("\"q-ice\"", StringComparison.Ordinal));
        JsonElement denied = MemorySink.Json(deniedEntry).GetProperty("search").EnumerateArray()
            .Single(d => d.TryGetProperty("owner", out JsonElement o) && o.GetString() == "ca-lapd");
        Assert.Equal(reads, denied.GetProperty("matched").GetInt32());
        Assert.False(denied.TryGetProperty("reads", out _));
    }

    [Fact]
    public void AResultNeverNamesTheDenialOfAnotherOwner()
    {
        // ca-lapd's read is denied to ca-lasd (no agreement); ca-lasd's own read is its own.
        Read(TestPolicy.Read("lapd-1", "ca-lapd", "7ABC123", s_t0));
        Read(TestPolicy.Read("lasd-1", "ca-lasd", "7ABC123", s_t0.AddMinutes(1)));
        Read(TestPolicy.Read("wa-1", "wa-spd", "8XYZ999", s_t0.AddMinutes(2)));
        Query(TestPolicy.Query("q-mixed", "ca-lasd", "7ABC123", s_t0.AddMinutes(3)));
        Query(TestPolicy.Query("q-denied", "ca-lasd", "8XYZ999", s_t0.AddMinutes(3)));

        foreach (JsonElement result in _sink.Results.Select(MemorySink.Json))
        {
            JsonElement named = DecisionNamedBy(result);
            Assert.Equal("allow", named.GetProperty("decision").GetString());
            string owner = named.TryGetProperty("owner", out JsonElement o) ? o.GetString()! : "";
            Assert.True(owner is "" or "ca-lasd", $"{result.GetProperty("query_id")} names {owner}'s decision");
        }
    }

    [Fact]
    public void AnAnswerWithWithheldReadsIsIndistinguishableFromOneThatFoundNothing()
    {
        Read(TestPolicy.Read("wa-1", "wa-spd", "8XYZ999", s_t0));
        Query(TestPolicy.Query("q-withheld", "ca-lasd", "8XYZ999", s_t0.AddMinutes(1)));
        Query(TestPolicy.Query("q-nothing", "ca-lasd", "5NOP000", s_t0.AddMinutes(1)));

        JsonElement withheld = MemorySink.Json(_sink.Results[0]), nothing = MemorySink.Json(_sink.Results[1]);
        Assert.Equal(Shape(nothing), Shape(withheld));
        Assert.Equal(Shape(DecisionNamedBy(nothing)), Shape(DecisionNamedBy(withheld)));

        // Everything but the query's own id and the decision ids (opaque, never compared across queries).
        static string Shape(JsonElement e) => string.Join(',', e.EnumerateObject()
            .Where(p => p.Name is not ("query_id" or "decision_id" or "id" or "seq" or "plate_ref"))
            .Select(p => $"{p.Name}={p.Value.GetRawText()}"));
    }

    [Fact]
    public void AQueryIdTakenByAnotherRequesterDoesNotRefuseTheGenuineQuery()
    {
        Read(TestPolicy.Read("r1", "ca-lapd", "7ABC123", s_t0));
        // ca-lasd signs, with its own key, the id ca-lapd is about to use.
        Query(TestPolicy.Query("lapd-000187", "ca-lasd", "7ABC123", s_t0.AddMinutes(1)));
        Query(TestPolicy.Query("lapd-000187", "ca-lapd", "7ABC123", s_t0.AddMinutes(2)));

        JsonElement genuine = MemorySink.Json(_sink.Results[^1]);
        Assert.Equal("ca-lapd", genuine.GetProperty("requester").GetString());
        Assert.Equal("answered", genuine.GetProperty("status").GetString());
        Assert.Equal(["r1"], ReadIds(genuine));
    }

    [Fact]
    public void ARequesterReplayingItsOwnQueryIdIsStillRefused()
    {
        Query(TestPolicy.Query("q-1", "ca-lapd", "7ABC123", s_t0.AddMinutes(1)));
        Query(TestPolicy.Query("q-1", "ca-lapd", "7ABC123", s_t0.AddMinutes(2)));
        Assert.Equal("deny.replayed", MemorySink.Json(_sink.Results[^1]).GetProperty("code").GetString());
    }

    [Fact]
    public void AQueryIdRestoredAfterARestartBelongsToItsRequester()
    {
        byte[] lasd = Encoding.UTF8.GetBytes(TestPolicy.Query("q-7", "ca-lasd", "7ABC123", s_now.AddMinutes(-1)));
        byte[] lapd = Encoding.UTF8.GetBytes(TestPolicy.Query("q-7", "ca-lapd", "7ABC123", s_now.AddMinutes(-1)));
        Assert.True(_engine.RestoreQueryId(lasd));
        _engine.ProcessQuery(lapd, EventSource.File("queries", 1));
        Assert.Equal("answered", MemorySink.Json(_sink.Results[^1]).GetProperty("status").GetString());
        _engine.ProcessQuery(lasd, EventSource.File("queries", 2));
        Assert.Equal("deny.replayed", MemorySink.Json(_sink.Results[^1]).GetProperty("code").GetString());
    }

    [Fact]
    public void AnUnauthenticatedQueryIsAuditedAndCountedButAnsweredNowhere()
    {
        Read(TestPolicy.Read("r1", "ca-lapd", "7ABC123", s_t0));
        // A forgery in ca-lapd's name, and a requester no policy knows.
        Query(TestPolicy.Query("q-forged", "ca-lapd", "7ABC123", s_t0.AddMinutes(1),
            signWith: TestPolicy.KeyOf("ca-lasd")));
        Query(TestPolicy.Query("q-nobody", "xx-nobody", "7ABC123", s_t0.AddMinutes(1),
            signWith: TestPolicy.KeyOf("ca-lapd")));

        Assert.Empty(_sink.Results);
        Assert.Equal(2, Decisions().Count(d => d.GetProperty("code").GetString() == "deny.unauthenticated"));
        Assert.Equal(2, _engine.Stats.Decisions(DecisionCode.DenyUnauthenticated));
    }
}
