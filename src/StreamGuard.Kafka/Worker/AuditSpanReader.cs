using Confluent.Kafka;
using StreamGuard.Engine;

namespace StreamGuard.Kafka;

/// <summary>
/// Reads the recent span of audit chains into one <see cref="ReadHistory"/> per chain, for a restore: the blocks
/// (key <c>pN</c>) of one partition of <c>streamguard.audit</c>, read_committed, from the first block written at or
/// after a time up to the partition's end as it was when the read began.
/// </summary>
/// <remarks>
/// Several chains share an audit partition (chain <c>pN</c> lives in partition N mod P): one pass serves them all.
/// A history vouches for the reads that arrived after the first block read plus a margin (a producer's clock may run
/// ahead of the broker's); from the partition's first offset, for every read. A block seen twice (the embedded cluster
/// shows aborted transactions) is taken once: <see cref="ReadHistory"/> skips entries at or below its last seq.
/// </remarks>
internal static class AuditSpanReader
{
    /// <summary>
    /// Fills <paramref name="histories"/> (by chain name) from audit partition <paramref name="partition"/>, from the
    /// first block at or after <paramref name="fromMs"/>; <paramref name="marginMs"/> is how far a read's record time
    /// may lead the block that decided it. Returns the blocks read for those chains.
    /// </summary>
    public static long Read(ConsumerConfig baseConfig, TopicPartition partition, long fromMs, long marginMs,
        IReadOnlyDictionary<string, ReadHistory> histories, TimeSpan timeout)
    {
        var config = new ConsumerConfig(new Dictionary<string, string>(baseConfig))
        {
            // assignment only: never joins, never commits
            GroupId = (baseConfig.GroupId ?? "streamguard") + "-audit-span",
            EnableAutoCommit = false,
            EnablePartitionEof = true,
            IsolationLevel = IsolationLevel.ReadCommitted,
        };
        using IConsumer<byte[]?, byte[]?> consumer = new ConsumerBuilder<byte[]?, byte[]?>(config).Build();
        WatermarkOffsets marks = consumer.QueryWatermarkOffsets(partition, timeout);
        if (marks.High.Value <= marks.Low.Value) return 0;
        long start = marks.Low.Value;
        try
        {
            TopicPartitionOffset found = consumer.OffsetsForTimes(
                [new TopicPartitionTimestamp(partition, new Timestamp(fromMs, TimestampType.CreateTime))], timeout)[0];
            // -1: no block that new on a real broker, or (the embedded cluster) no answer: from the start then —
            // slower, never wrong.
            if (found.Offset.Value > start) start = found.Offset.Value;
        }
        catch (KafkaException)
        {
            // from the start: slower, never wrong
        }
        var keys = histories.Keys.ToDictionary(k => k, k => System.Text.Encoding.UTF8.GetBytes(k));
        bool first = true;
        long blocks = 0;
        consumer.Assign(new TopicPartitionOffset(partition, new Offset(start)));
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"reading audit partition {partition} back for a restore took longer " +
                    $"than {timeout}");
            }
            ConsumeResult<byte[]?, byte[]?>? r = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (r is null) continue;
            if (r.IsPartitionEOF || r.Offset.Value >= marks.High.Value) break;
            if (first)
            {
                first = false;
                long covers = start == marks.Low.Value && marks.Low.Value == 0
                    ? long.MinValue
                    : r.Message.Timestamp.UnixTimestampMs + marginMs;
                foreach (ReadHistory h in histories.Values) h.CoversFromMs = covers;
            }
            if (r.Message.Key is not { } key || r.Message.Value is not { } value) continue;
            foreach ((string chain, byte[] name) in keys)
            {
                if (!key.AsSpan().SequenceEqual(name)) continue;
                histories[chain].AddBlock(value);
                blocks++;
            }
        }
        consumer.Unassign();
        return blocks;
    }
}
