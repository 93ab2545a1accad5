using System.Text;
using StreamGuard.Engine;
using StreamGuard.Output;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Engine;

/// <summary>
/// The engine's own allocation per event, measured on the test's thread after a warm-up: deciding, auditing and
/// producing outputs allocate nothing; storing a read allocates only the store's room for it (its bytes are kept for
/// its retention window). Every figure is over thousands of distinct events, so one-off growth cannot hide a
/// per-event object.
/// </summary>
public sealed class EngineAllocationTests : IDisposable
{
    private const string Socal = "{id: socal, owners: [ca-lapd], recipients: [ca-lasd], " +
        "access: [search, push, alert], purposes: [stolen_vehicle, criminal_investigation], expires: 2099-01-01}";

    private const string Agreements = $$"""

        agreements:
          - {{Socal}}
        """;

    private readonly TestPolicy _policy = new(TestPolicy.Yaml + Agreements);
    private readonly CountingSink _sink = new();
    private readonly StreamGuardEngine _engine;
    private readonly DateTimeOffset _now = DateTimeOffset.UtcNow;
    private int _offset;

    public EngineAllocationTests()
    {
        _engine = TestEngine.Create(_policy.Compiled, _sink, TestPolicy.AuditKey); // the wall clock, as in `run`
    }

    public void Dispose() => _policy.Dispose();

    [Fact]
    public void ReadsPastTheirWindowAreDecidedAuditedAndDroppedWithoutAllocating()
    {
        // wa-spd keeps 21 days: a read from 30 days ago is dropped on arrival, with its audit entry.
        double perEvent = BytesPerEvent(i => TestPolicy.Read($"old-{i:D7}", "wa-spd", Plate(i), _now.AddDays(-30)),
            read: true, out double outputs, out _);
        Assert.Equal(1.0, outputs); // one audit entry each (drop.expired_on_arrival)
        Assert.True(perEvent < 1, $"{perEvent:F2} B per dropped read");
    }

    [Fact]
    public void QueriesRefusedAtTheirChecksAllocateNothing()
    {
        // The same query again and again: deny.replayed (after the first), an audit entry and a result each. (An
        // unauthenticated query is audited only; a new id would grow the replay set.)
        string replayed = TestPolicy.Query("q-replayed", "ca-lasd", Plate(0), _now);
        double perEvent = BytesPerEvent(
            _ => replayed,
            read: false, out double outputs, out _);
        Assert.Equal(2.0, outputs);
        Assert.True(perEvent < 1, $"{perEvent:F2} B per refused query");
    }

    [Fact]
    public void StoringAndPushingAReadAllocatesOnlyTheStoresRoomForIt()
    {
        // ca-lapd reads: stored (730 days), pushed to ca-lasd under the agreement, audited.
        // Every read has a new plate, so the plate reference cache misses and grows, a bounded number of times
        // (PlateRefCacheTests): it is taken to its full size first, so what is measured is the per-read path.
        _engine.Records.Log.GrowPlateRefCacheFully();
        // Storing always allocates: no batch is quiet, so the warm-up is by time. The store's index arrays double as
        // it grows, each in one read: the median of 9 windows is a window without a doubling.
        double perEvent = BytesPerEvent(
            i => TestPolicy.Read($"new-{i:D7}", "ca-lapd", Plate(i), _now.AddMinutes(-1)),
            read: true, out double outputs, out double payload, warmUp: TimeSpan.FromSeconds(3), windows: 9);
        // one audit entry (its ingest and push decisions) and the delivery
        Assert.True(outputs >= 2, $"{outputs:F2} outputs per read");
        // The read's bytes and its share of the store's entries, index and expiry heap as they grow; a per-read object
        // on the decision or output path would add to this on top of the store's own growth.
        Assert.True(perEvent < payload + 160, $"{perEvent:F1} B per stored read of {payload:F0} B");
    }

    /// <summary>
    /// Warms up in batches of fresh events until three batches in a row allocate nothing (at most
    /// <paramref name="warmUp"/>, 20 s by default: until then the runtime may still run first-tier code, which
    /// allocates per event what the optimised code does not; <see cref="SteadyAllocation"/>), then measures 5,000
    /// more, <paramref name="windows"/> times, and returns the median window's figure. Events are made before each
    /// batch is timed, so only the engine's work is counted.
    /// </summary>
    private double BytesPerEvent(Func<int, string> json, bool read, out double outputsPerEvent, out double payload,
        TimeSpan? warmUp = null, int windows = 1)
    {
        const int Batch = 500, Measured = 5_000;
        int next = 0;
        SteadyAllocation.WarmUp(() =>
        {
            byte[][] warm = Make(json, ref next, Batch);
            return SteadyAllocation.Of(() => ProcessAll(warm, read));
        }, target: 0L, limit: warmUp);
        var perEvent = new List<double>();
        payload = outputsPerEvent = 0;
        for (int w = 0; w < windows; w++)
        {
            byte[][] events = Make(json, ref next, Measured);
            payload = events.Average(e => e.Length);
            long outputsBefore = _sink.Count;
            long allocated = SteadyAllocation.Of(() => ProcessAll(events, read));
            outputsPerEvent = (double)(_sink.Count - outputsBefore) / Measured;
            perEvent.Add((double)allocated / Measured);
        }
        perEvent.Sort();
        return perEvent[windows / 2];
    }

    private void ProcessAll(byte[][] events, bool read)
    {
        for (int i = 0; i < events.Length; i++)
        {
            Process(events[i], read, _offset++);
            // As the worker commits every so many events, sealing the audit first: the block buffer stays the size
            // the warm-up gave it.
            if (i % 500 == 499) _engine.FlushAudit();
        }
        _engine.FlushAudit();
    }

    private static byte[][] Make(Func<int, string> json, ref int next, int count)
    {
        var events = new byte[count][];
        for (int i = 0; i < count; i++) events[i] = Encoding.UTF8.GetBytes(json(next++));
        return events;
    }

    private void Process(byte[] utf8, bool read, int i)
    {
        if (read) _engine.ProcessRead(utf8, EventSource.Kafka("alpr.reads", 0, i));
        else _engine.ProcessQuery(utf8, EventSource.Kafka("alpr.queries", 0, i));
    }

    private static string Plate(int i) => $"{(char)('A' + (i % 26))}{i % 1_000_000:D6}";

    private sealed class CountingSink : IOutputSink
    {
        public long Count { get; private set; }

        public void Shared(ReadOnlySpan<byte> recipient, ReadOnlySpan<byte> readId, ReadOnlySpan<byte> decisionId,
            ReadOnlySpan<byte> read) => Count++;

        public void Alert(ReadOnlySpan<byte> recipient, ReadOnlySpan<byte> hotlistId, ReadOnlySpan<byte> alert) =>
            Count++;

        public void Result(ReadOnlySpan<byte> requester, ReadOnlySpan<byte> queryId, ReadOnlySpan<byte> result) =>
            Count++;

        public void Purge(ReadOnlySpan<byte> agency, ReadOnlySpan<byte> readId, ReadOnlySpan<byte> notice) => Count++;

        // A block's lines are its entries, then its seal: one output per entry.
        public void Audit(int partition, ReadOnlySpan<byte> block) => Count += block.Count((byte)'\n');

        public void DeadLetter(ReadOnlySpan<byte> record) => Count++;
    }
}
