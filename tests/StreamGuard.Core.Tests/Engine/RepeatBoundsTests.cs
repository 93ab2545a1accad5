using System.Text;
using StreamGuard.Engine;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Engine;

/// <summary>
/// Found by review of the duplicate and restore work: the duplicate check finds a copy however many reads one plate
/// has, at one probe's cost, and a query refused live as future-dated is not remembered by a restore.
/// </summary>
public sealed class RepeatBoundsTests : IDisposable
{
    private static readonly DateTimeOffset s_t0 = new(2026, 3, 3, 17, 0, 0, TimeSpan.Zero);
    private readonly TestPolicy _policy = new();
    private readonly MemorySink _sink = new();
    private readonly StreamGuardEngine _engine;

    public RepeatBoundsTests()
    {
        _engine = TestEngine.Create(_policy.Compiled, _sink, TestPolicy.AuditKey,
            new EngineOptions { EventTimeClock = true, ReplayNowMs = s_t0.AddHours(1).ToUnixTimeMilliseconds() });
    }

    public void Dispose() => _policy.Dispose();

    private void Read(string id, int second) => Read(id, "7ABC123", second);

    private void Read(string id, string plate, int second) => _engine.ProcessRead(
        Encoding.UTF8.GetBytes(TestPolicy.Read(id, "ca-lapd", plate, s_t0.AddSeconds(second))),
        EventSource.File("reads", second + 1));

    [Fact]
    public void ACopyIsFoundHoweverManyReadsOfItsPlateCameAfterIt()
    {
        // The check is one probe of the id index: a copy is dropped however far back its read is.
        const int Reads = 3_000; // the clock's "now" is an hour after the first
        for (int i = 0; i < Reads; i++) Read($"r{i}", i);
        Read($"r{Reads - 1}", Reads - 1);
        Read("r0", 0);
        Assert.Equal(2, _engine.Stats.Decisions(DecisionCode.DropDuplicate));
        Assert.Equal(Reads, _engine.StoredReadCount);
        Assert.Empty(_sink.DeadLetters);
    }

    [Fact]
    public void AnotherPlateUnderAResidentReadsIdIsDeadLetteredAndTheResidentReadKept()
    {
        Read("r1", "7ABC123", 0);
        Read("r1", "8XYZ999", 1);
        Assert.Equal(1, _engine.StoredReadCount);
        Assert.Equal(0, _engine.Stats.Decisions(DecisionCode.DropDuplicate));
        var dead = MemorySink.Json(Assert.Single(_sink.DeadLetters));
        Assert.Equal("invalid_field", dead.GetProperty("error").GetString());
        Assert.StartsWith("read_id: already names a resident read", dead.GetProperty("detail").GetString(),
            StringComparison.Ordinal);
        // Another owner may use the same id.
        _engine.ProcessRead(
            Encoding.UTF8.GetBytes(TestPolicy.Read("r1", "ca-lasd", "8XYZ999", s_t0.AddSeconds(2))),
            EventSource.File("reads", 3));
        Assert.Equal(2, _engine.StoredReadCount);
    }

    [Fact]
    public void AQueryFutureDatedWhenItArrivedIsNotRememberedByARestore()
    {
        DateTimeOffset arrived = s_t0.AddHours(1);
        byte[] query =
            Encoding.UTF8.GetBytes(TestPolicy.Query("q-ahead", "ca-lapd", "7ABC123", arrived.AddMinutes(10)));
        Assert.False(_engine.RestoreQueryId(query, arrived.ToUnixTimeMilliseconds()));
        Assert.True(_engine.RestoreQueryId(query, arrived.AddMinutes(10).ToUnixTimeMilliseconds()));
    }
}
