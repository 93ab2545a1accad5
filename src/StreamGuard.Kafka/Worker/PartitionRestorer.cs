using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamGuard.Audit;
using StreamGuard.Engine;

namespace StreamGuard.Kafka;

/// <summary>
/// On assignment, before the first event of a partition: continues its audit chain from the last committed record,
/// and rebuilds its reads inside retention and its recent query ids from the input topics up to the committed offset
/// (events already decided: restored without audit records or outputs), so a restarted or rebalanced worker answers
/// as the one before it.
/// </summary>
internal sealed class PartitionRestorer(WorkerOptions options, ConsumerConfig config, StreamGuardEngine engine,
    WorkerTopology topology, ILogger log)
{
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
        List<TopicPartitionOffset> committed = consumer.Committed(partitions, options.FlushTimeout);
        TopicNames t = options.Topics;
        int auditPartitions = topology.AuditPartitions;
        int reads = 0, queries = 0;
        // Chain heads first: a read restored from partition N is purged on chain pN if it expired after pN's last
        // record.
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
        // Every partition of a topic is read back by one restore consumer (a consumer per partition costs a join and a
        // fetch session each), from its own start time up to the committed offset.
        var backlog = new Dictionary<string, List<ReadBackPart>>();
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
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
                long from = Math.Min(now, head == long.MinValue ? now : head) - engine.LongestRetentionMs;
                if (engine.Holds.EarliestHeldMs is long held) from = Math.Min(from, held);
                part = new ReadBackPart(n, c.Offset.Value, from, (key, value, timestamp) =>
                {
                    if (input && !topology.DecidedWhereItArrived(key, value, n)) return false;
                    if (!engine.RestoreRead(value, n, timestamp, head)) return false;
                    reads++;
                    return true;
                });
            }
            else if (c.Topic == t.Queries || c.Topic == t.RepartitionQueries)
            {
                bool input = c.Topic == t.Queries;
                // issued_at may lead the record's time by up to the skew: read back twice the skew.
                part = new ReadBackPart(n, c.Offset.Value, now - 2 * engine.MaxClockSkewMs, (key, value, _) =>
                {
                    if ((input && !topology.DecidedWhereItArrived(key, value, n))
                        || !engine.RestoreQueryId(value)) return false;
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
        double seconds = clock.Elapsed.TotalSeconds;
        WorkerLog.Restored(log, reads, queries, clock.ElapsedMilliseconds,
            (long)((reads + queries) / Math.Max(seconds, 1e-3)));
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
