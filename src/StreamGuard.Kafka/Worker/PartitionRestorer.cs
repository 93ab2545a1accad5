using System.Diagnostics;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Microsoft.Extensions.Logging;
using StreamGuard.Audit;
using StreamGuard.Engine;

namespace StreamGuard.Kafka;

/// <summary>
/// On assignment, before the first event of a partition: continues its audit chain from the last committed record,
/// and rebuilds its reads and its recent query ids from the input topics up to the committed offset (events already
/// decided: restored without audit records or outputs), so a restarted or rebalanced worker holds what the one before
/// it would hold had it never stopped. Which reads come back is judged from the partition's audit chain over the
/// same span (<see cref="ReadHistory"/>, read by <see cref="AuditSpanReader"/>): a read it says was purged or never
/// stored stays gone; one it says is resident comes back with the agencies it was pushed to.
/// </summary>
internal sealed class PartitionRestorer(WorkerOptions options, ConsumerConfig config, StreamGuardEngine engine,
    WorkerTopology topology, ILogger log)
{
    private long? _readsRetentionMs;
    private bool _retentionAsked;
    private bool _storeFullLogged;

    /// <summary>Longest a partition's restore (chain head, reads, query ids) may take before the worker
    /// stops.</summary>
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(5);

    private delegate bool RestoreRecord(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long timestampMs);

    /// <summary>One partition to read back: from the first record at or after <c>FromMs</c> up to <c>End</c>
    /// (exclusive).</summary>
    private sealed record ReadBackPart(int Partition, long End, long FromMs, RestoreRecord Restore);

    /// <summary>Restores <paramref name="partitions"/>, just assigned to <paramref name="consumer"/>.</summary>
    public void Restore(IConsumer<ConsumedBytes, ConsumedBytes> consumer, List<TopicPartition> partitions)
    {
        var clock = Stopwatch.StartNew();
        if (!_storeFullLogged)
        {
            // A full read store refuses reads (audited drop.store_full); the first refusal of a run is logged here.
            _storeFullLogged = true;
            engine.StoreFull += partition => RestoreLog.StoreFull(log, partition, engine.MaxReadsPerPartition);
        }
        List<TopicPartitionOffset> committed = consumer.Committed(partitions, options.FlushTimeout);
        TopicNames t = options.Topics;
        int auditPartitions = topology.AuditPartitions;
        int reads = 0, queries = 0;
        long refusedBefore = engine.RestoreRefusedCount;
        long unknownOwnersBefore = engine.RestoreUnknownOwnerCount;
        engine.TakeRestoreUnknownOwners(); // each restore names its own
        // Chain heads first: the restore reads chain pN back to judge partition N's reads, and pN continues from there.
        var headAt = new Dictionary<int, long>();
        foreach (TopicPartitionOffset c in committed)
        {
            int n = c.Partition.Value;
            if (c.Topic != t.Reads || auditPartitions == 0) continue;
            var auditPartition = new TopicPartition(t.Audit, AuditChainReader.PartitionOf(n, auditPartitions));
            if (AuditChainReader.FindHead(config, auditPartition, AuditChains.Name(n), s_timeout,
                engine.ChainTails) is { } head)
            {
                engine.ResumeChain(n, head.Seq, head.Hash);
                headAt[n] = head.AtMs;
            }
        }
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        long lookback = Math.Max(engine.LongestRetentionMs, ReadsRetentionMs() ?? 0);
        var spans = new Dictionary<int, (long Blocks, long FromMs)>();
        Dictionary<int, ReadHistory> histories = ReadHistories(committed, headAt, now, lookback, spans);
        // Every partition of a topic is read back by one restore consumer (a consumer per partition costs a join and a
        // fetch session each), from its own start time up to the committed offset.
        var backlog = new Dictionary<string, List<ReadBackPart>>();
        foreach (TopicPartitionOffset c in committed)
        {
            int n = c.Partition.Value;
            if (c.Offset.Value <= 0) continue; // nothing decided yet on this partition
            ReadBackPart part;
            if (c.Topic == t.Reads || c.Topic == t.RepartitionReads)
            {
                // Only what was decided here: a record off its body plate's partition was forwarded, from the input
                // topic and from a repartition topic alike (one forwarded by its key's plate, by an earlier build).
                long head = headAt.TryGetValue(n, out long h) ? h : long.MinValue;
                ReadHistory? history = histories.GetValueOrDefault(n);
                part = new ReadBackPart(n, c.Offset.Value, ReadBackFrom(head, now, lookback), (key, value, timestamp) =>
                {
                    if (!topology.DecidedWhereItArrived(key, value, n)) return false;
                    bool restored = history is not null
                        ? engine.RestoreRead(value, n, timestamp, history)
                        : engine.RestoreRead(value, n, timestamp, head);
                    if (!restored) return false;
                    reads++;
                    return true;
                });
            }
            else if (c.Topic == t.Queries || c.Topic == t.RepartitionQueries)
            {
                // issued_at may lead the record's time by up to the skew: read back twice the skew.
                part = new ReadBackPart(n, c.Offset.Value, now - 2 * engine.MaxClockSkewMs, (key, value, time) =>
                {
                    if (!topology.DecidedWhereItArrived(key, value, n) || !engine.RestoreQueryId(value, time))
                    {
                        return false;
                    }
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
        foreach ((string topic, List<ReadBackPart> parts) in backlog) ReadBack(topic, parts);
        foreach ((int n, ReadHistory history) in histories)
        {
            (long blocks, long fromMs) = spans[n];
            RestoreLog.ChainRead(log, AuditChains.Name(n), history.ResidentCount, history.RestoredCount, blocks,
                fromMs);
            // Read back to the same span as the chain: a resident read not found is older than the reads topics keep.
            if (history.ResidentCount > history.RestoredCount)
            {
                RestoreLog.ResidentNotFound(log, AuditChains.Name(n), history.ResidentCount - history.RestoredCount);
            }
            if (history.UnknownKeyBlocks > 0)
            {
                RestoreLog.UnknownKeyBlocks(log, AuditChains.Name(n), history.UnknownKeyBlocks);
            }
        }
        if (engine.RestoreUnknownOwnerCount > unknownOwnersBefore)
        {
            RestoreLog.UnknownOwners(log, engine.RestoreUnknownOwnerCount - unknownOwnersBefore,
                string.Join(", ", engine.TakeRestoreUnknownOwners()));
        }
        if (engine.RestoreRefusedCount > refusedBefore)
        {
            RestoreLog.RestoreRefused(log, engine.RestoreRefusedCount - refusedBefore, engine.MaxReadsPerPartition);
        }
        double seconds = clock.Elapsed.TotalSeconds;
        WorkerLog.Restored(log, reads, queries, clock.ElapsedMilliseconds,
            (long)((reads + queries) / Math.Max(seconds, 1e-3)));
    }

    /// <summary>
    /// How far back before a chain's last record reads are read again: <paramref name="lookback"/> (the longest window
    /// in force, or the reads topic's retention when longer: a window shortened across a restart still finds the reads
    /// it closes, and purges them with their notices), and back to the earliest hold's start (held reads outlive their
    /// window).
    /// </summary>
    private long ReadBackFrom(long head, long now, long lookback)
    {
        long from = Math.Min(now, head == long.MinValue ? now : head) - lookback;
        if (engine.Holds.EarliestHeldMs is long held) from = Math.Min(from, held);
        return from;
    }

    /// <summary>
    /// The history of every assigned reads partition's chain over the span its reads are read back from (and a
    /// margin before: a read's record time may lead the block that decided it by the clock skew), one pass per audit
    /// partition; none without an audit topic (the time-based rule decides then).
    /// </summary>
    private Dictionary<int, ReadHistory> ReadHistories(List<TopicPartitionOffset> committed,
        Dictionary<int, long> headAt, long now, long lookback, Dictionary<int, (long Blocks, long FromMs)> spans)
    {
        var histories = new Dictionary<int, ReadHistory>();
        int auditPartitions = topology.AuditPartitions;
        if (auditPartitions == 0) return histories;
        long marginMs = 2 * engine.MaxClockSkewMs + (long)TimeSpan.FromHours(1).TotalMilliseconds;
        var byAuditPartition = new Dictionary<int, (long From, Dictionary<string, ReadHistory> Chains)>();
        foreach (TopicPartitionOffset c in committed)
        {
            int n = c.Partition.Value;
            if (c.Topic != options.Topics.Reads || histories.ContainsKey(n)) continue;
            // Vouches for nothing until its span is read; compares plate references under the key of their block.
            var history = new ReadHistory(long.MaxValue) { BlockKey = engine.ChainTails.KeyOf };
            histories[n] = history;
            long from = ReadBackFrom(headAt.TryGetValue(n, out long h) ? h : long.MinValue, now, lookback) - marginMs;
            int a = AuditChainReader.PartitionOf(n, auditPartitions);
            if (!byAuditPartition.TryGetValue(a, out var group)) group = (from, []);
            group.Chains[AuditChains.Name(n)] = history;
            byAuditPartition[a] = (Math.Min(group.From, from), group.Chains);
        }
        foreach ((int a, (long from, Dictionary<string, ReadHistory> chains)) in byAuditPartition)
        {
            long blocks = AuditSpanReader.Read(config, new TopicPartition(options.Topics.Audit, a), from, marginMs,
                chains, s_timeout);
            foreach ((int n, ReadHistory history) in histories)
            {
                if (chains.ContainsKey(AuditChains.Name(n))) spans[n] = (blocks, from);
            }
        }
        return histories;
    }

    /// <summary>
    /// The <c>retention.ms</c> of the reads topic when finite (asked once; null when unknown or infinite): reads stay
    /// there that long, so a restore reading back that far sees every read the log may still show resident.
    /// </summary>
    private long? ReadsRetentionMs()
    {
        if (_retentionAsked) return _readsRetentionMs;
        _retentionAsked = true;
        try
        {
            using IAdminClient admin = new AdminClientBuilder(WorkerClientConfig.Admin(options)).Build();
            if (TopicConfigs.Read(admin, [options.Topics.Reads], "retention.ms", TimeSpan.FromSeconds(10))
                    .TryGetValue(options.Topics.Reads, out string? value)
                && long.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out long ms)
                && ms > engine.LongestRetentionMs)
            {
                _readsRetentionMs = ms;
                RestoreLog.LookbackFromTopic(log, options.Topics.Reads, ms / 86_400_000);
            }
        }
        catch (Exception e) when (e is KafkaException or TimeoutException)
        {
            // unknown (no right to describe configs, or a cluster that does not answer): the longest window in force
        }
        return _readsRetentionMs;
    }

    /// <summary>Reads the partitions of <paramref name="topic"/> back with one consumer, each up to its end
    /// offset.</summary>
    private void ReadBack(string topic, List<ReadBackPart> parts)
    {
        var restoreConfig = new ConsumerConfig(new Dictionary<string, string>(config))
        {
            GroupId = config.GroupId + "-restore", EnableAutoCommit = false, EnablePartitionEof = true,
        };
        using IConsumer<byte[]?, byte[]> consumer = new ConsumerBuilder<byte[]?, byte[]>(restoreConfig).Build();
        var starts = parts.ToDictionary(p => p.Partition, _ => Offset.Beginning);
        try
        {
            List<TopicPartitionOffset> found = consumer.OffsetsForTimes(
                parts.Select(p => new TopicPartitionTimestamp(new TopicPartition(topic, p.Partition),
                    new Timestamp(p.FromMs, TimestampType.CreateTime))),
                options.FlushTimeout);
            // No offset (-1) means "no record that new" on a real broker, but librdkafka's mock cluster answers -1 to
            // every timestamp lookup: read from the beginning then — slower, never wrong (expired reads are skipped).
            foreach (TopicPartitionOffset f in found)
            {
                if (f.Offset.Value >= 0) starts[f.Partition.Value] = f.Offset;
            }
        }
        catch (KafkaException e)
        {
            WorkerLog.RestoreFromBeginning(log, topic, e.Error.Reason);
        }
        consumer.Assign(parts.Select(p => new TopicPartitionOffset(topic, p.Partition, starts[p.Partition])));
        var byPartition = parts.ToDictionary(p => p.Partition);
        var deadline = DateTime.UtcNow + s_timeout;
        if (BatchQueueReader.IsSupported)
        {
            // Read in place, a batch at a time: nothing allocated per record, unlike Consume.
            BatchQueueReader.ReadToEnd(consumer, parts.ToDictionary(p => p.Partition, p => p.End), deadline,
                (partition, key, value, isNull, _, timestamp) => !isNull
                    && byPartition[partition].Restore(key, value, timestamp));
            return;
        }
        var open = new HashSet<int>(byPartition.Keys);
        while (open.Count > 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                // Never answer from a partial store: stop, and let a restart try again.
                throw new TimeoutException($"restoring {topic} partitions [{string.Join(",", open)}] took longer " +
                    $"than {s_timeout}");
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
}
