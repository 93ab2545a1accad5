using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace StreamGuard.Kafka;

/// <summary>
/// Commits the input offsets of the events whose outputs Kafka holds, by one of two protocols
/// (<see cref="AtLeastOnceCommitter"/>, <see cref="TransactionalCommitter"/>). It keeps the next offset to commit per
/// input partition, and records the commit latency of the sampled events each commit covers.
/// </summary>
/// <remarks>Used on the worker's thread only (the rebalance handlers run there too, inside <c>Consume</c>).</remarks>
internal abstract class OffsetCommitter
{
    // Next offset to commit per (topic, partition): a value-type key, no allocation per event.
    private readonly Dictionary<(string Topic, int Partition), long> _pending = [];
    private readonly WorkerLatency _latency;
    private long _commits;
    private long _aborts;
    private long _lastCommit = Stopwatch.GetTimestamp();
    private readonly Action _sealAudit;
    // The consumer commit still running on a pool thread, if one outlived its bound (see CommitOffsets).
    private Task? _offsetCommit;
    private bool _stillWaitingLogged;

    protected OffsetCommitter(WorkerOptions options, IProducer<byte[], byte[]> producer, KafkaOutputSink sink,
        WorkerLatency latency, Action sealAudit)
    {
        _sealAudit = sealAudit;
        Options = options;
        Producer = producer;
        Sink = sink;
        _latency = latency;
    }

    /// <summary>The protocol <paramref name="options"/> asks for: transactions when exactly-once.</summary>
    /// <paramref name="sealAudit"/> seals the audit entries written since the last commit into blocks and hands them
    /// to the sink (<see cref="Engine.StreamGuardEngine.FlushAudit"/>): one audit message per chain per commit.
    public static OffsetCommitter Create(WorkerOptions options, IProducer<byte[], byte[]> producer,
        KafkaOutputSink sink, WorkerLatency latency, Microsoft.Extensions.Logging.ILogger log, Action sealAudit) =>
        options.ExactlyOnce
            ? new TransactionalCommitter(options, producer, sink, latency, log, sealAudit)
            : new AtLeastOnceCommitter(options, producer, sink, latency, log, sealAudit);

    /// <summary>Transactions committed (exactly-once) or offset commits made (at-least-once).</summary>
    public long Commits => Interlocked.Read(ref _commits);

    /// <summary><see cref="Stopwatch"/> timestamp of the last commit that went through; before the first, of this
    /// committer's creation (the worker's start).</summary>
    public long LastCommitTimestamp => Interlocked.Read(ref _lastCommit);

    /// <summary>Transactions aborted (exactly-once); each stops the worker.</summary>
    public long Aborts => Interlocked.Read(ref _aborts);

    /// <summary>
    /// Whether the producer must be left open instead of disposed: librdkafka is still inside a call on it, and
    /// destroying it under the call would block the disposing thread for good or crash the process.
    /// </summary>
    public bool ProducerAbandoned { get; protected set; }

    protected WorkerOptions Options { get; }

    protected IProducer<byte[], byte[]> Producer { get; }

    protected KafkaOutputSink Sink { get; }

    /// <summary>Offsets not committed yet, per input partition.</summary>
    protected int PendingCount => _pending.Count;

    /// <summary>Whether offsets wait for a commit (one that failed or outlived its bound is retried, idle or
    /// not).</summary>
    public bool HasPending => _pending.Count > 0;

    /// <summary>Before the first event: opens what the protocol needs (the first transaction).</summary>
    public abstract void Begin();

    /// <summary>
    /// Seals the audit blocks of the events decided since the last commit, then commits every pending offset after the
    /// outputs of their events and those blocks. Throws when outputs were not delivered or a transaction failed:
    /// nothing is committed past them, and the worker stops.
    /// </summary>
    public void Commit(IConsumer<ConsumedBytes, ConsumedBytes> consumer)
    {
        _sealAudit();
        CommitOutputs(consumer);
    }

    /// <summary>Commits every pending offset after the outputs of their events (the protocol's part of
    /// <see cref="Commit"/>).</summary>
    protected abstract void CommitOutputs(IConsumer<ConsumedBytes, ConsumedBytes> consumer);

    /// <summary>After partitions were lost to another worker (the rebalance handler).</summary>
    public virtual void PartitionsLost()
    {
    }

    /// <summary>On the worker's thread after each <c>Consume</c>: stops the worker if lost partitions require
    /// it.</summary>
    public virtual void StopIfPartitionsLost()
    {
    }

    /// <summary>An event of <paramref name="topic"/> / <paramref name="partition"/> at <paramref name="offset"/> was
    /// handled.</summary>
    public void Consumed(string topic, int partition, long offset) => _pending[(topic, partition)] = offset + 1;

    /// <summary>The partition is no longer this worker's: no later commit may move its offset under its new
    /// owner.</summary>
    public void Forget(TopicPartition partition) => _pending.Remove((partition.Topic, partition.Partition.Value));

    /// <summary>The pending offsets, for a commit.</summary>
    protected List<TopicPartitionOffset> PendingOffsets()
    {
        var offsets = new List<TopicPartitionOffset>(_pending.Count);
        foreach (var ((topic, partition), next) in _pending) offsets.Add(new TopicPartitionOffset(topic, partition,
            new Offset(next)));
        return offsets;
    }

    protected void ClearPending() => _pending.Clear();

    /// <summary>
    /// Whether a consumer commit is still inside librdkafka: the consumer must then be left open at shutdown
    /// (closing or destroying it under the call would crash or block the process), as a producer is.
    /// </summary>
    public bool OffsetCommitInFlight => _offsetCommit is { IsCompleted: false };

    /// <summary>
    /// Commits <paramref name="offsets"/> with the consumer, waiting at most <see cref="WorkerOptions.FlushTimeout"/>.
    /// librdkafka's synchronous commit has no bound of its own: one sent while the group coordinator's connection is
    /// refused is retried until the coordinator answers (OffsetCommitBoundTests). So it runs on a pool thread; past the
    /// bound the worker goes on deciding with these offsets pending, and no other commit starts until that one has
    /// returned, so commits land in order and a late one never moves an offset back. Returns true when committed;
    /// false when the commit failed, is still waiting, or an earlier one still is (offsets stay pending: a lost commit
    /// means reprocessing after a restart, never loss). A fatal error is thrown.
    /// </summary>
    protected bool CommitOffsets(IConsumer<ConsumedBytes, ConsumedBytes> consumer,
        List<TopicPartitionOffset> offsets, ILogger log)
    {
        if (_offsetCommit is { } earlier)
        {
            if (!earlier.IsCompleted)
            {
                if (!_stillWaitingLogged) WorkerLog.CommitStillWaiting(log, (long)Options.FlushTimeout.TotalSeconds);
                _stillWaitingLogged = true;
                return false;
            }
            _offsetCommit = null;
            _stillWaitingLogged = false;
            if (earlier.Exception?.InnerException is KafkaException late)
            {
                if (late.Error.IsFatal) throw late;
                WorkerLog.CommitFailed(log, late.Error.Reason); // its offsets are still pending: they go again now
            }
        }
        Task commit = Task.Run(() => consumer.Commit(offsets));
        if (!Returned(commit, Options.FlushTimeout))
        {
            _offsetCommit = commit;
            WorkerLog.CommitTimedOut(log, (long)Options.FlushTimeout.TotalSeconds);
            return false;
        }
        try
        {
            commit.GetAwaiter().GetResult();
            return true;
        }
        catch (KafkaException e) when (!e.Error.IsFatal)
        {
            WorkerLog.CommitFailed(log, e.Error.Reason);
            return false;
        }
    }

    /// <summary>At shutdown: waits up to <paramref name="bound"/> for a commit still inside librdkafka; true when
    /// none is (its failure leaves the offsets pending, as any failed commit does).</summary>
    public bool AwaitOffsetCommit(TimeSpan bound) => _offsetCommit is not { } commit || Returned(commit, bound);

    /// <summary>Whether <paramref name="call"/> returned, successfully or not, within <paramref name="bound"/>
    /// (its outcome is left to the caller: waiting on a faulted task would throw it here, wrapped).</summary>
    private static bool Returned(Task call, TimeSpan bound)
    {
        TimeSpan wait = bound > TimeSpan.FromDays(1) ? TimeSpan.FromDays(1) : bound; // WaitOne takes ≤ 24.8 days
        return ((IAsyncResult)call).AsyncWaitHandle.WaitOne(wait) || call.IsCompleted;
    }

    /// <summary>A commit went through: counted, and the sampled events it covers get their commit latency.</summary>
    protected void Committed()
    {
        Interlocked.Increment(ref _commits);
        Interlocked.Exchange(ref _lastCommit, Stopwatch.GetTimestamp());
        _latency.Committed();
    }

    protected void CountAbort() => Interlocked.Increment(ref _aborts);

    /// <summary>Throws if an output of the committed batch was not delivered.</summary>
    protected void ThrowIfDeliveryFailed()
    {
        if (Sink.DeliveryErrors > 0) throw new KafkaException(Sink.FirstError
            ?? new Error(ErrorCode.Unknown, "output delivery failed"));
    }
}
