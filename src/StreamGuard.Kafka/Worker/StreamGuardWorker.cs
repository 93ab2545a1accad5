using System.Diagnostics;
using Confluent.Kafka;
using HdrHistogram;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StreamGuard.Engine;
using StreamGuard.Output;
using StreamGuard.Policy;

namespace StreamGuard.Kafka;

/// <summary>
/// The consume–decide–produce loop: consumes <c>alpr.reads</c> and <c>alpr.queries</c>, runs each event through
/// the engine, produces outputs, and commits input offsets only after those outputs are acknowledged.
/// </summary>
/// <remarks>
/// At-least-once: outputs are flushed (acks=all, idempotent producer) before the offsets of the events that made
/// them are committed, every <see cref="WorkerOptions.CommitInterval"/> or <see cref="WorkerOptions.CommitBatch"/>
/// events, on partition revocation and on shutdown. A delivery failure stops the worker without committing, so a
/// restart reprocesses instead of losing. Consume errors are reported and the loop goes on; cancellation ends it
/// cleanly with a final commit and <c>Close()</c>.
/// </remarks>
public sealed partial class StreamGuardWorker
{
    private readonly WorkerOptions _options;
    private readonly Func<IOutputSink, StreamGuardEngine> _engineFactory;
    private readonly ILogger _log;
    private readonly TaskCompletionSource _assigned = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // Next offset to commit per (topic, partition): a value-type key, no allocation per event.
    private readonly Dictionary<(string Topic, int Partition), long> _pending = [];
    private long _processed;

    private readonly PolicyReloader? _reloader;

    /// <param name="options">Kafka and batching options.</param>
    /// <param name="engineFactory">Creates the engine over the worker's output sink.</param>
    /// <param name="log">Operational messages, structured (<see cref="WorkerLog"/>; never plates); <see cref="LineLogger"/> for text.</param>
    /// <param name="reloader">Hot reload: new policy versions are swapped in between two events.</param>
    public StreamGuardWorker(WorkerOptions options, Func<IOutputSink, StreamGuardEngine> engineFactory, ILogger? log = null, PolicyReloader? reloader = null)
    {
        _options = options;
        _engineFactory = engineFactory;
        _log = log ?? NullLogger.Instance;
        _reloader = reloader;
    }

    /// <summary>Completes when the group first assigns partitions to this worker.</summary>
    public Task Assigned => _assigned.Task;

    /// <summary>Events processed so far.</summary>
    public long Processed => Interlocked.Read(ref _processed);

    /// <summary>The engine (its stats are readable while running).</summary>
    public StreamGuardEngine? Engine { get; private set; }

    /// <summary>Decision latency in microseconds: from the event's arrival in the worker to its outputs handed to the producer.</summary>
    public LongHistogram DecisionLatencyMicros { get; } = new(60_000_000, 3);

    /// <summary>
    /// Acknowledgement latency in microseconds, for every <see cref="WorkerOptions.AckLatencySampleEvery"/>-th event that
    /// produces outputs: from the event's arrival in the worker (as <see cref="DecisionLatencyMicros"/>) to the broker's
    /// acknowledgement (acks=all) of the last of its outputs, as its delivery report reaches the worker. With
    /// transactions on, outputs are acknowledged when written, before the transaction that makes them visible to
    /// read_committed readers commits: see <see cref="CommitLatencyMicros"/>.
    /// </summary>
    public SharedLatencyHistogram AckLatencyMicros { get; } = new();

    /// <summary>
    /// Commit latency in microseconds, for the same sampled events: from the event's arrival in the worker to the
    /// return of the commit that covers it — the transaction's commit (exactly-once), or the flush and offset commit
    /// (at-least-once). At most about <see cref="WorkerOptions.CommitInterval"/> plus the commit's own time, unless
    /// a commit fails and its events wait for the next.
    /// </summary>
    public SharedLatencyHistogram CommitLatencyMicros { get; } = new();

    // Consumed timestamps of the sampled events since the last commit (the worker's thread only); beyond its size, counted as skipped.
    private readonly long[] _uncommittedSamples = new long[4096];
    private int _uncommittedSampleCount;

    /// <summary>End-to-end latency in milliseconds: from the input record's timestamp to its outputs handed to the producer.</summary>
    public LongHistogram EndToEndMillis { get; } = new(3_600_000, 3);

    /// <summary>Runs until cancelled. Throws when outputs could not be delivered (nothing is committed past them).</summary>
    public void Run(CancellationToken cancellationToken)
    {
        Volatile.Write(ref _running, true);
        try
        {
            RunLoop(cancellationToken);
        }
        finally
        {
            Volatile.Write(ref _running, false);
        }
    }

    private void RunLoop(CancellationToken cancellationToken)
    {
        // Tunable defaults first, then the operator's settings (WorkerOptions.Kafka), then what correctness needs.
        // Delivery reports are read for their error only: without their other fields Confluent.Kafka allocates less per
        // output (no Headers, key or value kept per report).
        // Bounded memory when producing stalls (broker down, slow acks): librdkafka's producer queue is capped by
        // count and size (its default size cap is 1 GiB); a full queue makes Produce throw Local_QueueFull and the sink
        // waits for deliveries, so consumption pauses. The consumer's prefetch is capped likewise (default 64 MiB).
        var producerConfig = new ProducerConfig
        {
            LingerMs = 5, ClientId = "streamguard-worker", DeliveryReportFields = "none",
            QueueBufferingMaxMessages = 100_000, QueueBufferingMaxKbytes = 32 * 1024,
        };
        var consumerConfig = new ConsumerConfig
        {
            ClientId = "streamguard-worker",
            AutoOffsetReset = AutoOffsetReset.Earliest,
            // librdkafka's default (500 ms) let a fetch sit at the embedded broker for up to half a second: the
            // demo's end-to-end p50 went from 427 ms to 18 ms at 10,000 events/s with 10 ms.
            FetchWaitMaxMs = 10,
            QueuedMaxMessagesKbytes = 16 * 1024,
        };
        foreach (var (key, value) in _options.Kafka)
        {
            producerConfig.Set(key, value);
            consumerConfig.Set(key, value);
        }
        producerConfig.BootstrapServers = consumerConfig.BootstrapServers = _options.BootstrapServers;
        // Metrics attached: librdkafka's statistics give each partition's end offset (consumer lag), every 5 s unless set.
        if (Metrics is not null && consumerConfig.StatisticsIntervalMs is null) consumerConfig.StatisticsIntervalMs = 5000;
        producerConfig.Acks = Acks.All;
        producerConfig.EnableIdempotence = true;
        if (_options.ExactlyOnce)
        {
            // A stable id per worker slot: a restarted worker fences its predecessor and aborts its open transaction
            // at once, instead of leaving it to block read_committed readers until the transaction timeout.
            producerConfig.TransactionalId = _options.TransactionalId ?? $"{_options.GroupId}-{Environment.MachineName}";
            producerConfig.TransactionTimeoutMs = (int)_options.TransactionTimeout.TotalMilliseconds;
        }
        consumerConfig.GroupId = _options.GroupId;
        consumerConfig.EnableAutoCommit = false;
        consumerConfig.IsolationLevel = IsolationLevel.ReadCommitted;
        // Range assignment gives partition N of alpr.reads and of alpr.queries to the same worker: the audit
        // chain pN and the reads a query on partition N must see live together.
        consumerConfig.PartitionAssignmentStrategy = PartitionAssignmentStrategy.Range;

        IProducer<byte[], byte[]> producer = new ProducerBuilder<byte[], byte[]>(producerConfig)
            .SetErrorHandler((_, e) => WorkerLog.ProducerError(_log, e.Reason))
            .Build();
        try
        {
            // Every topic's partitions, asked once at start through one admin client.
            var partitionsOf = new Dictionary<string, int>(StringComparer.Ordinal);
            using (IAdminClient admin = new DependentAdminClientBuilder(producer.Handle).Build())
            {
                foreach (string topic in _options.Topics.All) partitionsOf[topic] = PartitionCount(admin, topic);
            }
            int auditPartitions = partitionsOf[_options.Topics.Audit];
            int readsPartitions = partitionsOf[_options.Topics.Reads], holdsPartitions = partitionsOf[_options.Topics.Holds];
            int queriesPartitions = partitionsOf[_options.Topics.Queries];
            _inputPartitions = readsPartitions;
            _repartition = readsPartitions > 0 && queriesPartitions == readsPartitions &&
                partitionsOf[_options.Topics.RepartitionReads] == readsPartitions &&
                partitionsOf[_options.Topics.RepartitionQueries] == readsPartitions;
            if (_repartition) WorkerLog.RepartitioningOn(_log, _options.Topics.RepartitionReads, _options.Topics.RepartitionQueries);
            else WorkerLog.RepartitioningOff(_log);
            foreach (var (topic, count) in (IEnumerable<(string, int)>)[(_options.Topics.Queries, queriesPartitions), (_options.Topics.Holds, holdsPartitions)])
            {
                // Decisions on queries and holds of partition N go on chain pN, which only the owner of reads partition N may write.
                if (readsPartitions > 0 && count > 0 && count != readsPartitions)
                {
                    throw new InvalidOperationException($"{topic} has {count} partitions and {_options.Topics.Reads} {readsPartitions}: " +
                        "queries and holds must be co-partitioned with the reads (same partition count)");
                }
            }
            if (_options.ExactlyOnce && auditPartitions == 0)
            {
                throw new InvalidOperationException($"{_options.Topics.Audit}: partition count unknown (topic missing or metadata failed): " +
                    "without it audit chains cannot be resumed; create the topic or check the connection");
            }
            int sampleEvery = _options.AckLatencySampleEvery;
            var sink = new KafkaOutputSink(producer, _options.Topics, auditPartitions, sampleEvery > 0 ? AckLatencyMicros : null, Math.Max(1, sampleEvery));
            Sink = sink;
            StreamGuardEngine engine = _engineFactory(sink);
            Engine = engine;
            if (_options.ExactlyOnce)
            {
                producer.InitTransactions(_options.FlushTimeout);
                producer.BeginTransaction();
            }

            // The input consumer reads each record's key and value into reused buffers, and its headers only when
            // repartitioning (the sg-origin header of forwarded records).
            IConsumer<ConsumedBytes, ConsumedBytes>? consumer = null;
            consumer = ConsumedBytes.ConsumerBuilder(consumerConfig, headers: _repartition)
                .SetErrorHandler((_, e) => WorkerLog.ConsumerError(_log, e.Reason))
                .SetStatisticsHandler((_, json) => Metrics?.OnStatistics(json))
                .SetPartitionsAssignedHandler((c, partitions) =>
                {
                    WorkerLog.Assigned(_log, partitions.Count);
                    Volatile.Write(ref _restoring, true);
                    Restore(c, consumerConfig, engine, partitions, auditPartitions);
                    Volatile.Write(ref _restoring, false);
                    Volatile.Write(ref _rebalancing, false);
                    _assigned.TrySetResult();
                })
                .SetPartitionsRevokedHandler((c, partitions) =>
                {
                    Volatile.Write(ref _rebalancing, true);
                    if (_failed)
                    {
                        // Close() after a failure: the transaction was aborted (or the outputs not acknowledged), so there
                        // is nothing to commit — trying would hide the failure behind "not valid in state Ready".
                        WorkerLog.RevokedWhileFailing(_log, partitions.Count);
                        Forget(engine, partitions.Select(p => p.TopicPartition));
                        return;
                    }
                    WorkerLog.Revoked(_log, partitions.Count);
                    try
                    {
                        Commit(c, producer, sink);
                    }
                    finally
                    {
                        // Whether or not that commit went through, these partitions are no longer ours: a later commit
                        // must never move their offsets under the new owner, and their chains and reads are the new
                        // owner's to continue (a purge here would fork chain pN).
                        Forget(engine, partitions.Select(p => p.TopicPartition));
                    }
                })
                .SetPartitionsLostHandler((_, partitions) =>
                {
                    Volatile.Write(ref _rebalancing, true);
                    WorkerLog.Lost(_log, partitions.Count);
                    Forget(engine, partitions.Select(p => p.TopicPartition));
                    // Exactly-once: the open transaction holds decisions on chains another worker now continues; it must
                    // never commit. The loop aborts it and stops (a restart resumes from what was committed).
                    _partitionsLost = _options.ExactlyOnce;
                    DropUncommittedSamples(); // some are of the lost partitions: no commit of this worker covers them
                })
                .Build();
            using IConsumer<byte[]?, byte[]?>? hotlists = OpenTables(consumerConfig, partitionsOf, engine);
            try
            {
                // Hotlists and holds in the group too: the worker assigned a partition dead-letters its bad entries and
                // audits its holds and releases (once, in its transaction); every worker applies the whole tables.
                var subscription = new List<string> { _options.Topics.Reads, _options.Topics.Queries };
                if (_repartition) subscription.AddRange([_options.Topics.RepartitionReads, _options.Topics.RepartitionQueries]);
                if (hotlists is not null) subscription.AddRange(hotlists.Assignment.Select(a => a.Topic).Distinct());
                consumer.Subscribe(subscription);
                long lastCommit = Stopwatch.GetTimestamp();
                int sinceCommit = 0;
                long producedAtCommit = 0;
                long commitTicks = (long)(_options.CommitInterval.TotalSeconds * Stopwatch.Frequency);
                while (!cancellationToken.IsCancellationRequested)
                {
                    if (_reloader is not null && _reloader.TryTake(out CompiledPolicy next, out PolicyChangeSummary change))
                    {
                        engine.SwapPolicy(next, change);
                        WorkerLog.PolicyInForce(_log, next.Hash);
                    }
                    if (hotlists is not null) DrainHotlists(hotlists, engine);
                    ConsumeResult<ConsumedBytes, ConsumedBytes>? result;
                    try
                    {
                        result = consumer.Consume(TimeSpan.FromMilliseconds(50));
                    }
                    catch (ConsumeException e)
                    {
                        if (e.Error.IsFatal) throw;
                        WorkerLog.ConsumeError(_log, e.Error.Reason);
                        continue;
                    }
                    if (_partitionsLost)
                    {
                        producer.AbortTransaction(_options.FlushTimeout);
                        Interlocked.Increment(ref _aborts);
                        throw new KafkaException(new Error(ErrorCode.Local_State,
                            "partitions lost to another worker (session timed out): the open transaction was aborted and the worker stops; restart it"));
                    }

                    if (result is null)
                    {
                        engine.Tick(); // idle: purge what expired even when no event arrives
                    }
                    else if (!result.IsPartitionEOF)
                    {
                        int topic = TopicIndex(result.Topic);
                        _consumed[topic]++;
                        long start = Stopwatch.GetTimestamp();
                        var source = EventSource.Kafka(result.Topic, result.Partition.Value, result.Offset.Value);
                        sink.BeginEvent(start);
                        bool decided;
                        try
                        {
                            decided = Dispatch(result, topic, source, engine, sink);
                        }
                        finally
                        {
                            if (sink.EndEvent()) AddUncommittedSample(start);
                        }
                        if (decided)
                        {
                            long end = Stopwatch.GetTimestamp();
                            DecisionLatencyMicros.RecordValue(Math.Max(0, (end - start) * 1_000_000 / Stopwatch.Frequency));
                            Metrics?.RecordDecision(end - start);
                            long createdMs = result.Message.Timestamp.UnixTimestampMs;
                            if (createdMs > 0) EndToEndMillis.RecordValue(Math.Clamp(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - createdMs, 0, 3_600_000));
                            Interlocked.Increment(ref _processed);
                        }
                        _pending[(result.Topic, result.Partition.Value)] = result.Offset.Value + 1;
                        sinceCommit++;
                    }

                    // Outputs without input (purges on an idle partition) must be committed too: a transaction left open
                    // would be aborted by the broker and take its audit records with it.
                    bool work = sinceCommit > 0 || sink.Produced != producedAtCommit;
                    if (sinceCommit >= _options.CommitBatch || (work && Stopwatch.GetTimestamp() - lastCommit >= commitTicks))
                    {
                        Commit(consumer, producer, sink);
                        sinceCommit = 0;
                        producedAtCommit = sink.Produced;
                        lastCommit = Stopwatch.GetTimestamp();
                    }
                }
                Commit(consumer, producer, sink);
            }
            catch
            {
                _failed = true;
                throw;
            }
            finally
            {
                try
                {
                    consumer.Close(); // runs the revoked handler, whose commit may throw
                }
                finally
                {
                    consumer.Dispose();
                }
            }
        }
        finally
        {
            // A producer still inside a librdkafka call (see SendOffsetsBounded) is left open: destroying it under the
            // call would block this thread for good or crash the process. The process exits (streamguard run) or a
            // restarted worker's producer fences it (same transactional.id).
            if (!_producerAbandoned) producer.Dispose();
        }
    }

    /// <summary>
    /// Exactly-once: the outputs and audit records produced since the last commit and the input offsets that made them
    /// are committed in one Kafka transaction (consume–transform–produce), then the next transaction begins. If the
    /// transaction cannot commit, it is aborted and the worker stops: its in-memory state (store, chain heads) is
    /// ahead of what Kafka holds, and a restart resumes both from what was committed.
    /// </summary>
    private void CommitTransaction(IConsumer<ConsumedBytes, ConsumedBytes> consumer, IProducer<byte[], byte[]> producer, KafkaOutputSink sink)
    {
        List<TopicPartitionOffset>? offsets = null;
        try
        {
            if (_pending.Count > 0)
            {
                offsets = new List<TopicPartitionOffset>(_pending.Count);
                foreach (var ((topic, partition), next) in _pending) offsets.Add(new TopicPartitionOffset(topic, partition, new Offset(next)));
                SendOffsetsBounded(producer, offsets, consumer.ConsumerGroupMetadata);
            }
            producer.CommitTransaction(_options.FlushTimeout);
        }
        catch (KafkaTxnRequiresAbortException e)
        {
            WorkerLog.TransactionFailed(_log, e.Error.Reason);
            producer.AbortTransaction(_options.FlushTimeout);
            Interlocked.Increment(ref _aborts);
            throw;
        }
        if (sink.DeliveryErrors > 0) throw new KafkaException(sink.FirstError ?? new Error(ErrorCode.Unknown, "output delivery failed"));
        if (offsets is null || CheckTransactionalOffsets(consumer, offsets)) _pending.Clear();
        Commits++;
        RecordCommittedSamples();
        producer.BeginTransaction();
    }

    private bool _producerAbandoned;

    /// <summary>Longest flush timeout <see cref="SendOffsetsBounded"/> bounds (a wait takes at most int.MaxValue ms).</summary>
    private static readonly TimeSpan s_longestBoundedCall = TimeSpan.FromDays(7);

    /// <summary>
    /// <c>SendOffsetsToTransaction</c> with a limit the worker enforces itself. librdkafka does not check the timeout of
    /// its group-coordinator requests (confluentinc/librdkafka#5456, open): when the group coordinator goes away during
    /// the call it can block for good, past its timeout and after the coordinator is back — the worker would hang,
    /// silent, with its partitions held (reproduced on the embedded cluster:
    /// <c>FaultInjectionTests.AHungSendOffsetsStopsTheWorkerInsteadOfHangingIt</c>). The call runs on a pool thread;
    /// an infinite flush timeout is not bounded; if it has not returned by its own timeout plus a grace, the worker stops without committing (a restart reprocesses
    /// the transaction's events; nothing is lost) and abandons the producer, which librdkafka is still using.
    /// </summary>
    private void SendOffsetsBounded(IProducer<byte[], byte[]> producer, List<TopicPartitionOffset> offsets, IConsumerGroupMetadata group)
    {
        TimeSpan timeout = _options.FlushTimeout;
        if (timeout == Timeout.InfiniteTimeSpan || timeout > s_longestBoundedCall)
        {
            // The operator asked to wait for ever (or for longer than a wait can be bounded): no limit of ours either.
            producer.SendOffsetsToTransaction(offsets, group, timeout);
            return;
        }
        TimeSpan limit = timeout + TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(5).Ticks, timeout.Ticks / 2));
        // On the thread pool: a thread of its own per commit was measured at 130-170 µs a call against 3-6 µs here. The
        // grace (at least 5 s) dwarfs any delay a busy pool adds, and a hung call's pool thread goes when the worker stops.
        Task call = Task.Run(() => producer.SendOffsetsToTransaction(offsets, group, timeout));
        bool returned;
        try
        {
            returned = call.Wait(limit);
        }
        catch (AggregateException)
        {
            returned = true; // rethrown below as the call's own exception
        }
        if (!returned)
        {
            _producerAbandoned = true;
            WorkerLog.TransactionCallHung(_log, "SendOffsetsToTransaction", (long)limit.TotalSeconds, (long)timeout.TotalSeconds);
            throw new KafkaException(new Error(ErrorCode.Local_TimedOut,
                $"SendOffsetsToTransaction did not return within {limit.TotalSeconds:0} s (its timeout is {timeout.TotalSeconds:0} s; " +
                "librdkafka issue #5456: the group coordinator was lost during the call); the transaction was not committed and the worker stops"));
        }
        call.GetAwaiter().GetResult();
    }

    private bool? _brokerAppliesTxnOffsets;

    /// <summary>
    /// librdkafka's embedded mock cluster accepts TxnOffsetCommit but does not store the offsets (it also shows
    /// aborted records to read_committed readers). Checked once after the first transaction with offsets: if the group's
    /// committed offsets did not move, they are committed outside the transaction from then on, and the log says so —
    /// otherwise every restart on the embedded cluster would reprocess from the beginning. A real broker is unaffected.
    /// Returns false when that copy failed: the offsets stay pending and go again with the next transaction.
    /// </summary>
    private bool CheckTransactionalOffsets(IConsumer<ConsumedBytes, ConsumedBytes> consumer, List<TopicPartitionOffset> offsets)
    {
        if (_brokerAppliesTxnOffsets is null)
        {
            List<TopicPartitionOffset> stored = consumer.Committed(offsets.Select(o => o.TopicPartition), _options.FlushTimeout);
            _brokerAppliesTxnOffsets = offsets.All(o => stored.Any(c => c.TopicPartition == o.TopicPartition && c.Offset == o.Offset));
            if (_brokerAppliesTxnOffsets == false)
            {
                WorkerLog.TransactionalOffsetsNotStored(_log);
            }
        }
        if (_brokerAppliesTxnOffsets == false)
        {
            try
            {
                consumer.Commit(offsets);
            }
            catch (KafkaException e) when (!e.Error.IsFatal)
            {
                // The transaction is committed; only this copy of its offsets failed. Kept pending, they go again with
                // the next transaction instead of the worker stopping (which would reprocess a committed transaction).
                WorkerLog.TransactionOffsetsCommitFailed(_log, e.Error.Reason);
                return false;
            }
        }
        return true;
    }

    /// <summary>Longest a partition's restore (chain head, reads, query ids) may take before the worker stops.</summary>
    private static readonly TimeSpan s_restoreTimeout = TimeSpan.FromMinutes(5);

    private bool _repartition;
    private bool _partitionsLost;
    private bool _failed;
    private int _inputPartitions;

    /// <summary>Reads and queries forwarded to their plate's partition.</summary>
    public long Forwarded => Interlocked.Read(ref _forwarded);

    private long _forwarded;

    /// <summary>
    /// One consumed record of input topic <paramref name="topic"/> (<see cref="TopicIndex"/>): decided here, or (a read
    /// or query off its plate's partition) forwarded to the plate's partition of the repartition topic — in the same
    /// transaction as its input offset — and decided when it comes back there. Returns whether it was decided.
    /// </summary>
    private bool Dispatch(ConsumeResult<ConsumedBytes, ConsumedBytes> r, int topic, in EventSource source, StreamGuardEngine engine, KafkaOutputSink sink)
    {
        TopicNames t = _options.Topics;
        ReadOnlySpan<byte> key = r.Message.Key.Span, value = r.Message.Value.Span;
        switch (topic)
        {
            case ReadsTopic or QueriesTopic:
                int target = _repartition ? PlatePartitioner.PartitionOf(key, value, _inputPartitions) : -1;
                if (target >= 0 && target != r.Partition.Value)
                {
                    sink.Forward(topic == ReadsTopic ? t.RepartitionReads : t.RepartitionQueries, target, key, r.Message.Key.IsNull, value, r.Message.Value.IsNull, source);
                    Interlocked.Increment(ref _forwarded);
                    return false;
                }
                if (topic == ReadsTopic) engine.ProcessRead(value, source);
                else engine.ProcessQuery(value, source);
                break;
            case RepartitionReadsTopic: engine.ProcessRead(value, OriginOf(r, source)); break;
            case RepartitionQueriesTopic: engine.ProcessQuery(value, OriginOf(r, source)); break;
            case HoldsTopic: engine.AuditHoldRecord(key, value, source); break;
            default: engine.CheckHotlist(key, value, source); break;
        }
        return true;
    }

    /// <summary>A forwarded event: decided on this partition's chain, named by where it first arrived (header sg-origin).</summary>
    private static EventSource OriginOf(ConsumeResult<ConsumedBytes, ConsumedBytes> r, in EventSource source) =>
        r.Message.Headers?.TryGetLastBytes("sg-origin", out byte[] origin) == true
            ? source with { Label = System.Text.Encoding.UTF8.GetString(origin) }
            : source;

    /// <summary>Whether a record of an input partition is decided there (it belongs to that partition's plates).</summary>
    private bool DecidedWhereItArrived(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, int partition)
    {
        if (!_repartition) return true;
        int target = PlatePartitioner.PartitionOf(key, value, _inputPartitions);
        return target < 0 || target == partition;
    }

    /// <summary>Transactions committed (exactly-once) or offset commits made (at-least-once).</summary>
    public long Commits { get; private set; }

    private void Forget(StreamGuardEngine engine, IEnumerable<TopicPartition> partitions)
    {
        foreach (TopicPartition p in partitions)
        {
            _pending.Remove((p.Topic, p.Partition.Value));
            if (p.Topic == _options.Topics.Reads) engine.ForgetPartition(p.Partition.Value);
        }
    }

    /// <summary>
    /// On assignment, before the first event of a partition: continue its audit chain from the last committed record,
    /// and rebuild its reads inside retention and its recent query ids from the input topics up to the committed
    /// offset (events already decided: restored without audit records or outputs), so a restarted or rebalanced worker
    /// answers as the one before it.
    /// </summary>
    private void Restore(IConsumer<ConsumedBytes, ConsumedBytes> consumer, ConsumerConfig config, StreamGuardEngine engine, List<TopicPartition> partitions, int auditPartitions)
    {
        var clock = Stopwatch.StartNew();
        List<TopicPartitionOffset> committed = consumer.Committed(partitions, _options.FlushTimeout);
        int reads = 0, queries = 0;
        // Chain heads first: a read restored from partition N is purged on chain pN if it expired after pN's last record.
        var headAt = new Dictionary<int, long>();
        foreach (TopicPartitionOffset c in committed)
        {
            int n = c.Partition.Value;
            if (c.Topic != _options.Topics.Reads || auditPartitions == 0) continue;
            var auditPartition = new TopicPartition(_options.Topics.Audit, AuditChainReader.PartitionOf(n, auditPartitions));
            if (AuditChainReader.FindHead(config, auditPartition, "p" + n.ToString(System.Globalization.CultureInfo.InvariantCulture), s_restoreTimeout) is { } head)
            {
                engine.Audit.ResumeChain(n, head.Seq, head.Hash);
                headAt[n] = head.AtMs;
            }
        }
        // Every partition of a topic is read back by one restore consumer (a consumer per partition costs a join and a
        // fetch session each), from its own start time up to the committed offset.
        var backlog = new Dictionary<string, List<ReadBackPart>>();
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        TopicNames t = _options.Topics;
        foreach (TopicPartitionOffset c in committed)
        {
            int n = c.Partition.Value;
            if (c.Offset.Value <= 0) continue; // nothing decided yet on this partition
            ReadBackPart part;
            if (c.Topic == t.Reads || c.Topic == t.RepartitionReads)
            {
                // From alpr.reads only what was decided here (the rest was forwarded); the repartition topic's all.
                bool input = c.Topic == t.Reads;
                long head = headAt.TryGetValue(n, out long h) ? h : long.MinValue;
                // Back to the longest window before the chain's last record (what expired since must still be purged),
                // and to the earliest hold's start (held reads outlive their window).
                long from = Math.Min(now, head == long.MinValue ? now : head) - engine.Policy.LongestRetentionMs;
                if (engine.EarliestHeldMs is long held) from = Math.Min(from, held);
                part = new ReadBackPart(n, c.Offset.Value, from, (key, value, timestamp) =>
                {
                    if ((input && !DecidedWhereItArrived(key, value, n)) || !engine.RestoreRead(value, n, timestamp, head)) return false;
                    reads++;
                    return true;
                });
            }
            else if (c.Topic == t.Queries || c.Topic == t.RepartitionQueries)
            {
                bool input = c.Topic == t.Queries;
                // issued_at may lead the record's time by up to the skew: read back twice the skew.
                part = new ReadBackPart(n, c.Offset.Value, now - 2 * engine.Policy.MaxClockSkewMs, (key, value, _) =>
                {
                    if ((input && !DecidedWhereItArrived(key, value, n)) || !engine.RestoreQueryId(value)) return false;
                    queries++;
                    return true;
                });
            }
            else
            {
                continue;
            }
            (backlog.TryGetValue(c.Topic, out List<ReadBackPart>? parts) ? parts : backlog[c.Topic] = []).Add(part);
        }
        foreach ((string topic, List<ReadBackPart> parts) in backlog) ReadBack(config, topic, parts);
        double seconds = clock.Elapsed.TotalSeconds;
        WorkerLog.Restored(_log, reads, queries, clock.ElapsedMilliseconds, (long)((reads + queries) / Math.Max(seconds, 1e-3)));
    }

    private delegate bool RestoreRecord(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long timestampMs);

    /// <summary>One partition to read back: from the first record at or after <c>FromMs</c> up to <c>End</c> (exclusive).</summary>
    private sealed record ReadBackPart(int Partition, long End, long FromMs, RestoreRecord Restore);

    /// <summary>Reads the partitions of <paramref name="topic"/> back with one consumer, each up to its end offset.</summary>
    private void ReadBack(ConsumerConfig baseConfig, string topic, List<ReadBackPart> parts)
    {
        var config = new ConsumerConfig(new Dictionary<string, string>(baseConfig))
        {
            GroupId = baseConfig.GroupId + "-restore", EnableAutoCommit = false, EnablePartitionEof = true,
        };
        using IConsumer<byte[]?, byte[]> consumer = new ConsumerBuilder<byte[]?, byte[]>(config).Build();
        var starts = parts.ToDictionary(p => p.Partition, _ => Offset.Beginning);
        try
        {
            List<TopicPartitionOffset> found = consumer.OffsetsForTimes(
                parts.Select(p => new TopicPartitionTimestamp(new TopicPartition(topic, p.Partition), new Timestamp(p.FromMs, TimestampType.CreateTime))),
                _options.FlushTimeout);
            // No offset (-1) means "no record that new" on a real broker, but librdkafka's mock cluster answers -1 to
            // every timestamp lookup: read from the beginning then — slower, never wrong (expired reads are skipped).
            foreach (TopicPartitionOffset f in found)
            {
                if (f.Offset.Value >= 0) starts[f.Partition.Value] = f.Offset;
            }
        }
        catch (KafkaException e)
        {
            WorkerLog.RestoreFromBeginning(_log, topic, e.Error.Reason);
        }
        consumer.Assign(parts.Select(p => new TopicPartitionOffset(topic, p.Partition, starts[p.Partition])));
        var byPartition = parts.ToDictionary(p => p.Partition);
        var deadline = DateTime.UtcNow + s_restoreTimeout;
        if (BatchQueueReader.IsSupported)
        {
            // Read in place, a batch at a time: nothing allocated per record (~690 B each with Consume).
            BatchQueueReader.ReadToEnd(consumer, parts.ToDictionary(p => p.Partition, p => p.End), deadline,
                (partition, key, value, isNull, _, timestamp) => !isNull && byPartition[partition].Restore(key, value, timestamp));
            return;
        }
        var open = new HashSet<int>(byPartition.Keys);
        while (open.Count > 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                // Never answer from a partial store: stop, and let a restart try again.
                throw new TimeoutException($"restoring {topic} partitions [{string.Join(",", open)}] took longer than {s_restoreTimeout}");
            }
            ConsumeResult<byte[]?, byte[]>? r = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (r is null || !open.Contains(r.Partition.Value)) continue;
            ReadBackPart part = byPartition[r.Partition.Value];
            if (r.IsPartitionEOF || r.Offset.Value >= part.End)
            {
                open.Remove(r.Partition.Value);
                continue;
            }
            if (r.Message.Value is { } value) part.Restore(r.Message.Key, value, r.Message.Timestamp.UnixTimestampMs);
        }
    }

    private static int PartitionCount(IAdminClient admin, string topic)
    {
        try
        {
            TopicMetadata? t = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.FirstOrDefault(x => x.Topic == topic);
            return t is null || t.Error.IsError ? 0 : t.Partitions.Count;
        }
        catch (KafkaException)
        {
            return 0;
        }
    }

    /// <summary>
    /// Hotlists and holds are small compacted tables that every worker needs whole (a read on any partition may match
    /// an entry or a hold on any other): every partition is read from the beginning by assignment — no consumer group,
    /// no commits — like a Kafka Streams global table, and read to its end before the first input event, so restored
    /// and new reads see every hold and entry. A missing topic turns its feature off, said in the log.
    /// </summary>
    private IConsumer<byte[]?, byte[]?>? OpenTables(ConsumerConfig config, Dictionary<string, int> partitionsOf, StreamGuardEngine engine)
    {
        var partitions = new List<TopicPartitionOffset>();
        foreach (string topic in (string[])[_options.Topics.Hotlists, _options.Topics.Holds])
        {
            if (partitionsOf[topic] == 0)
            {
                WorkerLog.TableMissing(_log, topic, topic == _options.Topics.Hotlists ? "alerts" : "holds");
                continue;
            }
            partitions.AddRange(Enumerable.Range(0, partitionsOf[topic]).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        }
        if (partitions.Count == 0) return null;
        var tableConfig = new ConsumerConfig(new Dictionary<string, string>(config))
        {
            GroupId = config.GroupId + "-tables", // required by the client; never joined nor committed (assignment only)
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnablePartitionEof = true,
        };
        IConsumer<byte[]?, byte[]?> tables = new ConsumerBuilder<byte[]?, byte[]?>(tableConfig)
            .SetErrorHandler((_, e) => WorkerLog.TablesConsumerError(_log, e.Reason))
            .Build();
        tables.Assign(partitions);
        // Read every partition to its end before the first input event.
        var ended = new HashSet<(string, int)>();
        var deadline = DateTime.UtcNow + _options.FlushTimeout;
        while (ended.Count < partitions.Count && DateTime.UtcNow < deadline)
        {
            ConsumeResult<byte[]?, byte[]?>? r = tables.Consume(TimeSpan.FromMilliseconds(200));
            if (r is null) continue;
            if (r.IsPartitionEOF) { ended.Add((r.Topic, r.Partition.Value)); continue; }
            ApplyTable(r, engine);
        }
        WorkerLog.TablesLoaded(_log, engine.HotlistCount, engine.HoldCount, partitions.Count);
        return tables;
    }

    private void ApplyTable(ConsumeResult<byte[]?, byte[]?> r, StreamGuardEngine engine)
    {
        if (r.Topic == _options.Topics.Holds) engine.ApplyHold(r.Message.Key, r.Message.Value);
        else engine.ApplyHotlist(r.Message.Key, r.Message.Value);
    }

    private void DrainHotlists(IConsumer<byte[]?, byte[]?> hotlists, StreamGuardEngine engine)
    {
        for (int i = 0; i < 1000; i++)
        {
            ConsumeResult<byte[]?, byte[]?>? r;
            try
            {
                r = hotlists.Consume(TimeSpan.Zero);
            }
            catch (ConsumeException e)
            {
                if (e.Error.IsFatal) throw;
                WorkerLog.HotlistsConsumeError(_log, e.Error.Reason);
                return;
            }
            if (r is null) return;
            if (r.IsPartitionEOF) continue;
            ApplyTable(r, engine);
        }
    }

    private void Commit(IConsumer<ConsumedBytes, ConsumedBytes> consumer, IProducer<byte[], byte[]> producer, KafkaOutputSink sink)
    {
        if (_options.ExactlyOnce)
        {
            CommitTransaction(consumer, producer, sink);
            return;
        }
        if (_pending.Count == 0) return;
        int left = producer.Flush(_options.FlushTimeout);
        if (left > 0) throw new KafkaException(new Error(ErrorCode.Local_TimedOut, $"{left} outputs not acknowledged within {_options.FlushTimeout}; nothing committed"));
        if (sink.DeliveryErrors > 0) throw new KafkaException(sink.FirstError ?? new Error(ErrorCode.Unknown, "output delivery failed"));
        var offsets = new List<TopicPartitionOffset>(_pending.Count);
        foreach (var ((topic, partition), next) in _pending) offsets.Add(new TopicPartitionOffset(topic, partition, new Offset(next)));
        try
        {
            consumer.Commit(offsets);
        }
        catch (KafkaException e) when (!e.Error.IsFatal)
        {
            // A lost commit means reprocessing after restart, never loss; it is retried with the next batch.
            WorkerLog.CommitFailed(_log, e.Error.Reason);
            return;
        }
        _pending.Clear();
        Commits++;
        RecordCommittedSamples();
    }

    private void AddUncommittedSample(long consumedTicks)
    {
        if (_uncommittedSampleCount == _uncommittedSamples.Length)
        {
            CommitLatencyMicros.CountSkipped();
            return;
        }
        _uncommittedSamples[_uncommittedSampleCount++] = consumedTicks;
    }

    /// <summary>After a commit: every sampled event consumed before it is covered by it.</summary>
    private void RecordCommittedSamples()
    {
        long now = Stopwatch.GetTimestamp();
        for (int i = 0; i < _uncommittedSampleCount; i++) CommitLatencyMicros.Record(now - _uncommittedSamples[i]);
        _uncommittedSampleCount = 0;
    }

    private void DropUncommittedSamples()
    {
        CommitLatencyMicros.CountSkipped(_uncommittedSampleCount);
        _uncommittedSampleCount = 0;
    }
}
