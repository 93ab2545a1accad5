using System.Diagnostics;
using Confluent.Kafka;
using HdrHistogram;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StreamGuard.Engine;
using StreamGuard.Output;
using StreamGuard.Parsing;
using StreamGuard.Policy;

namespace StreamGuard.Kafka;

/// <summary>
/// The consume–decide–produce loop: consumes <c>alpr.reads</c> and <c>alpr.queries</c>, runs each event through
/// the engine, produces outputs, and commits input offsets only after those outputs are acknowledged.
/// </summary>
/// <remarks>
/// Outputs are committed with the offsets of the events that made them (<see cref="OffsetCommitter"/>: in one
/// transaction, or flushed before the offset commit) every <see cref="WorkerOptions.CommitInterval"/> or
/// <see cref="WorkerOptions.CommitBatch"/> events, on partition revocation and on shutdown. A delivery failure stops
/// the worker without committing, so a restart reprocesses instead of losing. Consume errors are reported and the
/// loop goes on; cancellation ends it cleanly with a final commit and <c>Close()</c>. Assigned partitions are restored
/// first (<see cref="PartitionRestorer"/>), and the hotlist and hold tables loaded whole (<see cref="GlobalTables"/>).
/// </remarks>
public sealed class StreamGuardWorker
{
    private static readonly ParseResult s_keyPlateDiffers = new(ParseError.InvalidField, "plate",
        "differs from the plate of the message key, and without repartition topics the record cannot be forwarded " +
        "to its plate's partition");
    /// <summary>Room a result record takes besides its value: its key (a query id, at most 128 characters) and the
    /// framing the sink counts.</summary>
    private const int ResultRecordRoom = 2048;

    private static readonly ParseResult s_oversizedOutput = new(ParseError.OversizedOutput, null,
        "an output of this event is larger than the producer's message.max.bytes; it was not sent");

    private readonly WorkerOptions _options;
    private readonly Func<IOutputSink, StreamGuardEngine> _engineFactory;
    private readonly ILogger _log;
    private readonly PolicyReloader? _reloader;
    private readonly TaskCompletionSource _assigned = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly WorkerLatency _latency = new();
    private readonly InputTopics _inputs;
    private WorkerTopology? _topology;
    private OffsetCommitter? _committer;
    private RebalanceHandlers? _rebalance;
    private bool _running;
    private bool _tablesLoaded;
    private long _processed;
    private long _forwarded;
    private long _lastPoll;        // Stopwatch timestamp of the consume loop's last poll; 0 before the first
    private long _reloadsApplied;

    /// <param name="options">Kafka and batching options.</param>
    /// <param name="engineFactory">Creates the engine over the worker's output sink.</param>
    /// <param name="log">Operational messages, structured (<see cref="WorkerLog"/>; never plates);
    /// <see cref="LineLogger"/> for text.</param>
    /// <param name="reloader">Hot reload: new policy versions are swapped in between two events.</param>
    public StreamGuardWorker(WorkerOptions options, Func<IOutputSink, StreamGuardEngine> engineFactory,
        ILogger? log = null, PolicyReloader? reloader = null)
    {
        _options = options;
        _engineFactory = engineFactory;
        _log = log ?? NullLogger.Instance;
        _reloader = reloader;
        _inputs = new InputTopics(options.Topics);
    }

    /// <summary>Completes when the group first assigns partitions to this worker.</summary>
    public Task Assigned => _assigned.Task;

    /// <summary>Whether <see cref="Run"/> is in progress.</summary>
    public bool Running => Volatile.Read(ref _running);

    /// <summary>
    /// Ready to decide: running, the hotlist and hold tables loaded whole, partitions assigned by the group, no
    /// rebalance between a revocation and the next assignment, and no restore (audit chain heads, reads inside
    /// retention) in progress. A worker the group gave no partition to (more workers than partitions) is ready: it
    /// stands by.
    /// </summary>
    public bool Ready => Running && Volatile.Read(ref _tablesLoaded) && _assigned.Task.IsCompleted
        && _rebalance is { Settled: true };

    /// <summary>The hotlist and hold tables are loaded whole (while running).</summary>
    public bool TablesLoaded => Volatile.Read(ref _tablesLoaded);

    /// <summary>An assignment's restore (audit chain heads, reads inside retention) is in progress.</summary>
    public bool Restoring => _rebalance is { Restoring: true };

    /// <summary>
    /// <see cref="Stopwatch"/> timestamp of the consume loop's last poll (written before every <c>Consume</c> call);
    /// 0 before the loop's first poll (while the tables load). A loop stuck anywhere — in a commit, a rebalance
    /// handler, a reload — stops moving it: what liveness judges (<see cref="WorkerHealth"/>).
    /// </summary>
    public long LastPollTimestamp => Volatile.Read(ref _lastPoll);

    /// <summary><see cref="Stopwatch"/> timestamp of the last commit that went through (or of the start of the
    /// loop, before the first); 0 before the worker runs.</summary>
    public long LastCommitTimestamp => _committer?.LastCommitTimestamp ?? 0;

    /// <summary>Reloaded policy versions put in force.</summary>
    public long PolicyReloadsApplied => Interlocked.Read(ref _reloadsApplied);

    /// <summary>Reloaded policy versions refused (invalid, or their agencies' topics could not be made).</summary>
    public long PolicyReloadsRefused => _reloader?.Rejected ?? 0;

    /// <summary>The number of the policy version in force: 1 for the one the worker started with, one more for each
    /// reload put in force (the order of its <c>policy_load</c> audit entries).</summary>
    public long PolicyVersion => 1 + PolicyReloadsApplied;

    /// <summary>The options the worker runs with.</summary>
    internal WorkerOptions Options => _options;

    /// <summary>Events processed so far.</summary>
    public long Processed => Interlocked.Read(ref _processed);

    /// <summary>Reads and queries forwarded to their plate's partition.</summary>
    public long Forwarded => Interlocked.Read(ref _forwarded);

    /// <summary>Transactions committed (exactly-once) or offset commits made (at-least-once).</summary>
    public long Commits => _committer?.Commits ?? 0;

    /// <summary>Transactions aborted (exactly-once); each stops the worker.</summary>
    public long Aborts => _committer?.Aborts ?? 0;

    /// <summary>The engine (its stats are readable while running).</summary>
    public StreamGuardEngine? Engine { get; private set; }

    /// <summary>The output sink (its per-topic counts are readable while running); null before it runs.</summary>
    public KafkaOutputSink? Sink { get; private set; }

    /// <inheritdoc cref="WorkerLatency.DecisionMicros"/>
    public LongHistogram DecisionLatencyMicros => _latency.DecisionMicros;

    /// <inheritdoc cref="WorkerLatency.AckMicros"/>
    public SharedLatencyHistogram AckLatencyMicros => _latency.AckMicros;

    /// <inheritdoc cref="WorkerLatency.CommitMicros"/>
    public SharedLatencyHistogram CommitLatencyMicros => _latency.CommitMicros;

    /// <inheritdoc cref="WorkerLatency.EndToEndMillis"/>
    public LongHistogram EndToEndMillis => _latency.EndToEndMillis;

    /// <summary>Instruments attached by <see cref="WorkerMetrics"/>; null when nobody collects metrics.</summary>
    internal WorkerMetrics? Metrics { get; set; }

    /// <summary>Records consumed so far per input topic (every input topic, zeros included).</summary>
    public IEnumerable<KeyValuePair<string, long>> ConsumedByTopic() => _inputs.Consumed();

    /// <summary>Runs until cancelled. Throws when outputs could not be delivered (nothing is committed past them).
    /// </summary>
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
            Volatile.Write(ref _tablesLoaded, false);
        }
    }

    private void RunLoop(CancellationToken cancellationToken)
    {
        ProducerConfig producerConfig = WorkerClientConfig.Producer(_options, _options.ExactlyOnce);
        ConsumerConfig consumerConfig = WorkerClientConfig.Consumer(_options, statistics: Metrics is not null);
        IProducer<byte[], byte[]> producer = new ProducerBuilder<byte[], byte[]>(producerConfig)
            .SetErrorHandler((_, e) => WorkerLog.ProducerError(_log, e.Reason))
            .Build();
        OffsetCommitter? committer = null;
        AgencyTopicCreator? topicCreator = null;
        try
        {
            WorkerTopology topology = _topology = WorkerTopology.Read(producer, _options, _log);
            int sampleEvery = _options.AckLatencySampleEvery;
            var sink = new KafkaOutputSink(producer, _options.Topics, topology.AuditPartitions,
                sampleEvery > 0 ? _latency.AckMicros : null, Math.Max(1, sampleEvery));
            // Larger outputs are dead-lettered, not produced; a limit below an audit block refuses to start.
            sink.MaxRecordBytes = producerConfig.MessageMaxBytes ?? KafkaOutputSink.DefaultMaxRecordBytes;
            Sink = sink;
            StreamGuardEngine engine = Engine = _engineFactory(sink);
            engine.LimitResults(sink.MaxRecordBytes - ResultRecordRoom);
            // Every agency's output topics exist before anything can be produced to them; a worker that may not
            // create them stops here, naming the topic and the missing right.
            topicCreator = new AgencyTopicCreator(producer, _options, _log);
            topicCreator.Ensure(engine.Policy);
            LimitRecords(sink, topicCreator, engine.Policy);
            sink.AddAgencies(engine.Policy);
            // A restored read pushed to an agency a reload retired before this worker started still owes it a purge
            // notice (SPEC §5): its topics are made (normally they still exist) and routed before the next eviction,
            // which comes after the restore. One that cannot be made stops the worker, as at start: never no notice.
            AgencyTopicCreator creator = topicCreator;
            engine.FormerRecipientFound += agency =>
            {
                creator.Ensure(engine.Policy, [agency]);
                LimitRecords(sink, creator, engine.Policy, [agency]);
                sink.AddAgency(agency);
                WorkerLog.FormerRecipient(_log, agency);
            };
            committer = _committer =
                OffsetCommitter.Create(_options, producer, sink, _latency, _log, engine.FlushAudit);
            committer.Begin();
            var restorer = new PartitionRestorer(_options, consumerConfig, engine, topology, _log);
            RebalanceHandlers rebalance = _rebalance =
                new RebalanceHandlers(_options, engine, committer, restorer, _latency, _assigned, _log);

            // Whole before the group is joined: no input event is decided with a table read in part. Stopped while
            // loading, the worker ends cleanly: it has decided nothing.
            GlobalTables? loaded;
            try
            {
                loaded = GlobalTables.Load(consumerConfig, _options, topology, engine, _log, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            using GlobalTables? tables = loaded;
            Volatile.Write(ref _tablesLoaded, true);

            // The input consumer reads each record's key and value into reused buffers, and its headers only when
            // repartitioning (the sg-origin header of forwarded records).
            IConsumer<ConsumedBytes, ConsumedBytes> consumer =
                ConsumedBytes.ConsumerBuilder(consumerConfig, headers: topology.Repartition)
                .SetErrorHandler((_, e) => WorkerLog.ConsumerError(_log, e.Reason))
                .SetStatisticsHandler((_, json) => Metrics?.OnStatistics(json))
                .SetPartitionsAssignedHandler(rebalance.Assigned)
                .SetPartitionsRevokedHandler(rebalance.Revoked)
                .SetPartitionsLostHandler(rebalance.Lost)
                .Build();
            try
            {
                Consume(consumer, tables, engine, sink, committer, topicCreator, cancellationToken);
            }
            catch
            {
                rebalance.Failed = true;
                throw;
            }
            finally
            {
                // A consumer still inside a commit (see OffsetCommitter.CommitOffsets) is left open, as an abandoned
                // producer is: closing or destroying it under the call could crash or block the process.
                if (committer.AwaitOffsetCommit(_options.FlushTimeout))
                {
                    try
                    {
                        consumer.Close(); // runs the revoked handler, whose commit may throw
                    }
                    finally
                    {
                        if (committer.AwaitOffsetCommit(_options.FlushTimeout)) consumer.Dispose();
                        else WorkerLog.ConsumerAbandoned(_log);
                    }
                }
                else
                {
                    WorkerLog.ConsumerAbandoned(_log);
                }
            }
        }
        finally
        {
            // A producer still inside a librdkafka call (see TransactionalCommitter) is left open: destroying it under
            // the call would block this thread for good or crash the process. The process exits (streamguard run) or a
            // restarted worker's producer fences it (same transactional.id).
            topicCreator?.Dispose();
            if (committer is not { ProducerAbandoned: true }) producer.Dispose();
        }
    }

    private void Consume(IConsumer<ConsumedBytes, ConsumedBytes> consumer, GlobalTables? tables,
        StreamGuardEngine engine, KafkaOutputSink sink, OffsetCommitter committer, AgencyTopicCreator topicCreator,
        CancellationToken cancellationToken)
    {
        // Hotlists and holds in the group too: the worker assigned a partition dead-letters its bad entries and
        // audits its holds and releases (once, in its transaction); every worker applies the whole tables.
        TopicNames t = _options.Topics;
        var subscription = new List<string> { t.Reads, t.Queries };
        if (_topology!.Repartition) subscription.AddRange([t.RepartitionReads, t.RepartitionQueries]);
        if (tables is not null) subscription.AddRange(tables.Topics);
        consumer.Subscribe(subscription);
        long lastCommit = Stopwatch.GetTimestamp();
        int sinceCommit = 0;
        long producedAtCommit = 0;
        long commitTicks = (long)(_options.CommitInterval.TotalSeconds * Stopwatch.Frequency);
        while (!cancellationToken.IsCancellationRequested)
        {
            if (_reloader is not null && _reloader.TryTake(out CompiledPolicy next, out PolicyChangeSummary change))
            {
                SwapPolicy(next, change, engine, sink, topicCreator);
            }
            tables?.Drain();
            ConsumeResult<ConsumedBytes, ConsumedBytes>? result;
            Volatile.Write(ref _lastPoll, Stopwatch.GetTimestamp());
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
            committer.StopIfPartitionsLost();

            if (result is null)
            {
                engine.Tick(); // idle: purge what expired even when no event arrives
            }
            else if (!result.IsPartitionEOF)
            {
                Handle(result, engine, sink);
                committer.Consumed(result.Topic, result.Partition.Value, result.Offset.Value);
                sinceCommit++;
            }

            // Outputs and audit entries without input (purges on an idle partition) must be committed too: a
            // transaction left open would be aborted by the broker and take its audit blocks with it. Offsets a
            // failed or unfinished commit left pending go again, input or not.
            bool work = sinceCommit > 0 || sink.Produced != producedAtCommit || engine.AuditPending ||
                committer.HasPending;
            if (sinceCommit >= _options.CommitBatch || (work && Stopwatch.GetTimestamp() - lastCommit >= commitTicks))
            {
                committer.Commit(consumer);
                sinceCommit = 0;
                producedAtCommit = sink.Produced;
                lastCommit = Stopwatch.GetTimestamp();
            }
        }
        committer.Commit(consumer);
    }

    /// <summary>
    /// Puts a reloaded policy in force between two events, once its agencies' output topics exist; when they cannot
    /// be created the version is refused (logged, handed back to the reloader) and the policy in force stays.
    /// </summary>
    private void SwapPolicy(CompiledPolicy next, PolicyChangeSummary change, StreamGuardEngine engine,
        KafkaOutputSink sink, AgencyTopicCreator topicCreator)
    {
        try
        {
            topicCreator.Ensure(next);
            LimitRecords(sink, topicCreator, next);
        }
        catch (TopicCreationException e)
        {
            WorkerLog.ReloadRefusedTopics(_log, engine.Policy.Hash, e.Message);
            _reloader!.Refuse(next, engine.Policy, e.Message);
            return;
        }
        sink.AddAgencies(next);
        engine.SwapPolicy(next, change);
        Interlocked.Increment(ref _reloadsApplied);
        WorkerLog.PolicyInForce(_log, next.Hash);
    }

    /// <summary>
    /// Lowers the sink's record limit to the smallest <c>max.message.bytes</c> of the topics the worker writes (the
    /// fixed ones, every agency's of <paramref name="policy"/> and those of <paramref name="former"/> recipients), so
    /// an output a topic would refuse is dead-lettered with its event rather than refused by the broker inside the
    /// transaction. A topic set below an audit block (<see cref="KafkaOutputSink.MinRecordBytes"/>) is refused: the
    /// chain could not be written.
    /// </summary>
    private void LimitRecords(KafkaOutputSink sink, AgencyTopicCreator topics, CompiledPolicy policy,
        IEnumerable<string>? former = null)
    {
        TopicNames t = _options.Topics;
        IEnumerable<string> outputs = AgencyTopicCreator.TopicsOf(policy, t)
            .Concat(AgencyTopicCreator.TopicsOf(former ?? [], t))
            .Concat([t.Audit, t.DeadLetter, t.RepartitionReads, t.RepartitionQueries]);
        if (topics.SmallestRecordLimit(outputs) is not (string topic, int bytes) || bytes >= sink.MaxRecordBytes)
        {
            return;
        }
        if (bytes < KafkaOutputSink.MinRecordBytes)
        {
            throw new TopicCreationException(topic, $"topic {topic} has max.message.bytes={bytes}, below the " +
                $"{KafkaOutputSink.MinRecordBytes} bytes an audit block and its framing need: raise it");
        }
        sink.MaxRecordBytes = bytes;
        Engine!.LimitResults(bytes - ResultRecordRoom);
        WorkerLog.RecordLimitFromTopic(_log, bytes, topic);
    }

    /// <summary>One consumed record: counted, dispatched, and timed when it was decided here.</summary>
    private void Handle(ConsumeResult<ConsumedBytes, ConsumedBytes> result, StreamGuardEngine engine,
        KafkaOutputSink sink)
    {
        int topic = _inputs.IndexOf(result.Topic);
        _inputs.Count(topic);
        long start = Stopwatch.GetTimestamp();
        var source = EventSource.Kafka(result.Topic, result.Partition.Value, result.Offset.Value);
        sink.BeginEvent(start);
        long entries = engine.AuditEntryCount;
        bool decided = false;
        try
        {
            decided = Dispatch(result, topic, source, engine, sink);
            // An output of the event Kafka would refuse was not produced: the event goes to the dead-letter topic, so
            // a poison event is accounted for once instead of stopping the worker after every restart.
            if (sink.TakeOversized())
            {
                engine.DeadLetter(s_oversizedOutput, result.Message.Value.Span, source);
                sink.TakeOversized(); // a dead letter refused too is counted (OversizedOutputs), never retried
            }
        }
        finally
        {
            // A decided event's audit entry is one of its outputs: it reaches Kafka with its chain's block.
            int chain = decided && engine.AuditEntryCount != entries ? source.Partition : -1;
            if (sink.EndEvent(chain)) _latency.AwaitCommit(start);
        }
        if (!decided) return;
        long ticks = Stopwatch.GetTimestamp() - start;
        _latency.Decided(ticks, result.Message.Timestamp.UnixTimestampMs);
        Metrics?.RecordDecision(ticks);
        Interlocked.Increment(ref _processed);
    }

    /// <summary>
    /// One consumed record of input topic <paramref name="topic"/> (<see cref="InputTopics"/>): decided here, or (a
    /// read or query off its plate's partition) forwarded to the plate's partition of the repartition topic — in the
    /// same transaction as its input offset — and decided when it comes back there. Returns whether it was decided.
    /// </summary>
    /// <remarks>
    /// The plate is the body's (<see cref="PlatePartitioner"/>), which the engine decides and stores by, so a record is
    /// never stored on a partition its plate's searches do not look at: one on the repartition topic's wrong partition
    /// (forwarded by its key by an earlier build, or produced there) is forwarded again; without repartition topics, a
    /// record whose key names another plate than its body cannot be moved and is dead-lettered (<c>invalid_field</c>).
    /// </remarks>
    private bool Dispatch(ConsumeResult<ConsumedBytes, ConsumedBytes> r, int topic, in EventSource source,
        StreamGuardEngine engine, KafkaOutputSink sink)
    {
        TopicNames t = _options.Topics;
        ReadOnlySpan<byte> key = r.Message.Key.Span, value = r.Message.Value.Span;
        switch (topic)
        {
            case InputTopics.Reads or InputTopics.Queries or InputTopics.RepartitionReads
                or InputTopics.RepartitionQueries:
                bool reads = topic is InputTopics.Reads or InputTopics.RepartitionReads;
                EventSource at = topic is InputTopics.Reads or InputTopics.Queries ? source : OriginOf(r, source);
                int target = _topology!.PlatePartition(key, value);
                if (target >= 0 && target != r.Partition.Value)
                {
                    sink.Forward(reads ? t.RepartitionReads : t.RepartitionQueries, target,
                        key, r.Message.Key.IsNull, value, r.Message.Value.IsNull, at);
                    Interlocked.Increment(ref _forwarded);
                    return false;
                }
                if (target < 0 && !_topology.Repartition && PlatePartitioner.KeyDisagrees(key, value))
                {
                    engine.DeadLetter(s_keyPlateDiffers, value, at);
                    break;
                }
                if (reads) engine.ProcessRead(value, at);
                else engine.ProcessQuery(value, at);
                break;
            case InputTopics.Holds: engine.Holds.Audit(key, value, source); break;
            default: engine.Hotlists.Check(key, value, source); break;
        }
        return true;
    }

    /// <summary>A forwarded event: decided on this partition's chain, named by where it first arrived (header
    /// sg-origin).</summary>
    private static EventSource OriginOf(ConsumeResult<ConsumedBytes, ConsumedBytes> r, in EventSource source) =>
        r.Message.Headers?.TryGetLastBytes("sg-origin", out byte[] origin) == true
            ? source with { Label = System.Text.Encoding.UTF8.GetString(origin) }
            : source;
}
