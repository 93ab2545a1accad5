using System.Text;
using StreamGuard.Engine;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Engine;

/// <summary>
/// Found by review of the duplicate and restore work: the duplicate check's cost per read is bounded however many
/// reads one plate has, and a query refused live as future-dated is not remembered by a restore.
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

    private void Read(string id, int second) => _engine.ProcessRead(
        Encoding.UTF8.GetBytes(TestPolicy.Read(id, "ca-lapd", "7ABC123", s_t0.AddSeconds(second))),
        EventSource.File("reads", second + 1));

    [Fact]
    public void TheDuplicateCheckComparesAPlatesNewestReadsOnly()
    {
        int reads = ReadStore.DuplicateWindow + 100;
        for (int i = 0; i < reads; i++) Read($"r{i}", i);
        Read($"r{reads - 1}", reads - 1); // a copy of the newest: dropped
        Assert.Equal(1, _engine.Stats.Decisions(DecisionCode.DropDuplicate));
        Read("r0", 0); // a copy of one with more than the window's reads of its plate after it: stored again
        Assert.Equal(1, _engine.Stats.Decisions(DecisionCode.DropDuplicate));
        Assert.Equal(reads + 1, _engine.StoredReadCount);
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
