using System.Diagnostics;
using HdrHistogram;

namespace StreamGuard.Kafka;

/// <summary>
/// The worker's four latency instruments: decision and end-to-end latency for every event decided, and
/// acknowledgement and commit latency for the sampled events (<see cref="WorkerOptions.AckLatencySampleEvery"/>).
/// </summary>
internal sealed class WorkerLatency
{
    // Consumed timestamps of the sampled events since the last commit (the worker's thread only); beyond its size,
    // counted as skipped.
    private readonly long[] _uncommittedSamples = new long[4096];
    private int _uncommittedSampleCount;

    /// <summary>
    /// Decision latency in microseconds: from the event's arrival in the worker to its outputs handed to the producer.
    /// </summary>
    public LongHistogram DecisionMicros { get; } = new(60_000_000, 3);

    /// <summary>
    /// Acknowledgement latency in microseconds, for every <see cref="WorkerOptions.AckLatencySampleEvery"/>-th event
    /// that produces outputs: from the event's arrival in the worker (as <see cref="DecisionMicros"/>) to the broker's
    /// acknowledgement (acks=all) of the last of its outputs, as its delivery report reaches the worker. With
    /// transactions on, outputs are acknowledged when written, before the transaction that makes them visible to
    /// read_committed readers commits: see <see cref="CommitMicros"/>.
    /// </summary>
    public SharedLatencyHistogram AckMicros { get; } = new();

    /// <summary>
    /// Commit latency in microseconds, for the same sampled events: from the event's arrival in the worker to the
    /// return of the commit that covers it — the transaction's commit (exactly-once), or the flush and offset commit
    /// (at-least-once). At most about <see cref="WorkerOptions.CommitInterval"/> plus the commit's own time, unless
    /// a commit fails and its events wait for the next.
    /// </summary>
    public SharedLatencyHistogram CommitMicros { get; } = new();

    /// <summary>
    /// End-to-end latency in milliseconds: from the input record's timestamp to its outputs handed to the producer.
    /// </summary>
    public LongHistogram EndToEndMillis { get; } = new(3_600_000, 3);

    /// <summary>
    /// An event decided: <paramref name="ticks"/> since it was consumed (<see cref="Stopwatch"/>), and its record's
    /// creation time (0 or less: unknown).
    /// </summary>
    public void Decided(long ticks, long createdMs)
    {
        DecisionMicros.RecordValue(Math.Max(0, ticks * 1_000_000 / Stopwatch.Frequency));
        if (createdMs > 0)
        {
            EndToEndMillis.RecordValue(Math.Clamp(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - createdMs, 0,
                3_600_000));
        }
    }

    /// <summary>A sampled event, consumed at <paramref name="consumedTicks"/>, waits for the commit that covers
    /// it.</summary>
    public void AwaitCommit(long consumedTicks)
    {
        if (_uncommittedSampleCount == _uncommittedSamples.Length)
        {
            CommitMicros.CountSkipped();
            return;
        }
        _uncommittedSamples[_uncommittedSampleCount++] = consumedTicks;
    }

    /// <summary>After a commit: every sampled event consumed before it is covered by it.</summary>
    public void Committed()
    {
        long now = Stopwatch.GetTimestamp();
        for (int i = 0; i < _uncommittedSampleCount; i++) CommitMicros.Record(now - _uncommittedSamples[i]);
        _uncommittedSampleCount = 0;
    }

    /// <summary>Partitions were lost: no commit of this worker covers the sampled events waiting, so none is
    /// timed.</summary>
    public void DropUncommitted()
    {
        CommitMicros.CountSkipped(_uncommittedSampleCount);
        _uncommittedSampleCount = 0;
    }
}
