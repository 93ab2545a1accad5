using System.Text;
using StreamGuard.Engine;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Engine;

/// <summary>
/// An audit entry copies text of the tables and queries (a hotlist entry's or hold's <c>case_number</c>, a query's
/// <c>user</c>): that text is bounded, so every entry and block is. Found by review: 32 hotlist entries with 40,000-
/// character case numbers made one read's block 1.28 MB, which Kafka refuses — a worker stopped on every restart.
/// </summary>
public sealed class AuditEntryBoundTests : IDisposable
{
    private const string Yaml = """
        version: 1
        default_retention: 30d
        agencies:
          - {id: wa-spd, state: WA, level: local, key: file:keys/wa-spd.key}
        """;

    private static readonly DateTimeOffset s_t0 = new(2026, 3, 3, 17, 0, 0, TimeSpan.Zero);
    private readonly TestPolicy _policy = new(Yaml);

    public void Dispose() => _policy.Dispose();

    private static string Hotlist(string id, string caseNumber) =>
        $"{{\"hotlist_id\":\"{id}\",\"owner\":\"wa-spd\",\"plate\":\"7ABC123\"," +
        $"\"purpose\":\"stolen_vehicle\",\"case_number\":\"{caseNumber}\"}}";

    [Fact]
    public void ATableEntryWithACaseNumberOver128CharactersIsDeadLetteredAndNotApplied()
    {
        var sink = new MemorySink();
        StreamGuardEngine engine = TestEngine.Create(_policy.Compiled, sink, TestPolicy.AuditKey,
            new EngineOptions { EventTimeClock = true, ReplayNowMs = s_t0.ToUnixTimeMilliseconds() });
        engine.Hotlists.ApplyAndCheck(Encoding.UTF8.GetBytes("list-x/7ABC123"),
            Encoding.UTF8.GetBytes(Hotlist("list-x", new string('C', 129))), EventSource.File("hotlists", 1));
        Assert.Equal(0, engine.Hotlists.Count);
        Assert.Contains("case_number", Assert.Single(sink.DeadLetters), StringComparison.Ordinal);
    }

    [Fact]
    public void AReadOfAPlateOnEveryHotlistItMayBeOnWithTheLongestCaseNumbersKeepsItsBlockFarUnder512KiB()
    {
        var sink = new MemorySink();
        StreamGuardEngine engine = TestEngine.Create(_policy.Compiled, sink, TestPolicy.AuditKey,
            new EngineOptions { EventTimeClock = true, ReplayNowMs = s_t0.ToUnixTimeMilliseconds() });
        string caseNumber = new('\u00e9', 128); // 128 characters, two bytes each
        for (int i = 0; i < HotlistTable.MaxEntriesPerPlate; i++)
        {
            string id = $"list-{i:D2}";
            engine.Hotlists.Apply(Encoding.UTF8.GetBytes($"{id}/7ABC123"),
                Encoding.UTF8.GetBytes(Hotlist(id, caseNumber)));
        }
        Assert.Equal(HotlistTable.MaxEntriesPerPlate, engine.Hotlists.Count);
        engine.ProcessRead(Encoding.UTF8.GetBytes(TestPolicy.Read("r1", "wa-spd", "7ABC123", s_t0)),
            EventSource.File("reads", 1));
        engine.FlushAudit();
        int largest = sink.AuditBlocks.Max(Encoding.UTF8.GetByteCount);
        Assert.True(largest <= 64 * 1024, $"one audit block of {largest} bytes");
    }
}
