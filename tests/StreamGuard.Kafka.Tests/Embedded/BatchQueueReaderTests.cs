using System.Text;
using Confluent.Kafka;
using StreamGuard.Kafka;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Embedded;

/// <summary>
/// The restore path's batch reader: every record of a partition up to an offset, in order, read in place.
/// </summary>
public sealed class BatchQueueReaderTests
{
    [Fact]
    public void ReadsEveryRecordUpToTheEndOffsetInOrderWithKeysValuesAndNulls()
    {
        Assert.True(BatchQueueReader.IsSupported);
        using var cluster = new KafkaTestCluster(partitions: 2);
        string topic = cluster.Topics.Reads;
        const int Records = 2_500;
        using (IProducer<string?, string> producer = cluster.Producer())
        {
            for (int i = 0; i < Records; i++)
            {
                producer.Produce(new TopicPartition(topic, 1), new Message<string?, string>
                {
                    Key = i % 3 == 0 ? null : "k" + i, Value = i % 7 == 0 ? null! : "v" + i,
                });
            }
            producer.Flush(TimeSpan.FromSeconds(30));
        }

        var config = new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers, GroupId = cluster.GroupId + "-batch",
            EnableAutoCommit = false, EnablePartitionEof = true,
        };
        var seen = new List<(string? Key, string? Value, long Offset)>();
        using (IConsumer<byte[]?, byte[]?> consumer = new ConsumerBuilder<byte[]?, byte[]?>(config).Build())
        {
            long end = consumer.QueryWatermarkOffsets(new TopicPartition(topic, 1), TimeSpan.FromSeconds(10))
                .High.Value;
            long first = end - Records;
            consumer.Assign(new TopicPartitionOffset(topic, 1, first));
            // Stop 100 records before the end: the reader must not hand over anything at or past the end offset.
            int accepted = BatchQueueReader.ReadToEnd(consumer, new Dictionary<int, long> { [1] = end - 100 },
                DateTime.UtcNow.AddSeconds(60), (partition, key, value, isNull, offset, timestamp) =>
            {
                Assert.Equal(1, partition);
                Assert.True(timestamp > 0);
                seen.Add((
                    key.IsEmpty ? null : Encoding.UTF8.GetString(key),
                    isNull ? null : Encoding.UTF8.GetString(value),
                    offset - first));
                return !isNull;
            });
            Assert.Equal(Enumerable.Range(0, Records - 100).Count(i => i % 7 != 0), accepted);
        }
        Assert.Equal(Records - 100, seen.Count);
        for (int i = 0; i < seen.Count; i++)
        {
            Assert.Equal(
                ((string?)(i % 3 == 0 ? null : "k" + i), (string?)(i % 7 == 0 ? null : "v" + i), (long)i), seen[i]);
        }
    }

    [Fact]
    public void StopsAtTheEndOfEveryPartitionBeforeTheEndOffset()
    {
        using var cluster = new KafkaTestCluster(partitions: 2);
        var config = new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers, GroupId = cluster.GroupId + "-eof",
            EnableAutoCommit = false, EnablePartitionEof = true,
        };
        using IConsumer<byte[]?, byte[]?> consumer = new ConsumerBuilder<byte[]?, byte[]?>(config).Build();
        consumer.Assign([
            new TopicPartitionOffset(cluster.Topics.Holds, 0, Offset.Beginning),
            new TopicPartitionOffset(cluster.Topics.Holds, 1, Offset.Beginning),
        ]);
        int accepted = BatchQueueReader.ReadToEnd(consumer,
            new Dictionary<int, long> { [0] = long.MaxValue, [1] = long.MaxValue }, DateTime.UtcNow.AddSeconds(60),
            (_, _, _, _, _, _) => true);
        Assert.Equal(0, accepted);
    }

    [Fact]
    public void EndsAPartitionAtItsLastWantedRecordWithoutWaitingForItsEnd()
    {
        using var cluster = new KafkaTestCluster(partitions: 2);
        string topic = cluster.Topics.Queries;
        using (IProducer<string?, string> producer = cluster.Producer())
        {
            for (int i = 0; i < 50; i++)
            {
                producer.Produce(new TopicPartition(topic, 0),
                    new Message<string?, string> { Key = null, Value = "v" + i });
            }
            producer.Flush(TimeSpan.FromSeconds(30));
        }
        // No partition EOF: only the last record wanted (end - 1) can end the read before the deadline.
        var config = new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers, GroupId = cluster.GroupId + "-ends",
            EnableAutoCommit = false, EnablePartitionEof = false,
        };
        using IConsumer<byte[]?, byte[]?> consumer = new ConsumerBuilder<byte[]?, byte[]?>(config).Build();
        long end = consumer.QueryWatermarkOffsets(new TopicPartition(topic, 0), TimeSpan.FromSeconds(10)).High.Value;
        consumer.Assign(new TopicPartitionOffset(topic, 0, end - 50));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int accepted = BatchQueueReader.ReadToEnd(consumer, new Dictionary<int, long> { [0] = end },
            DateTime.UtcNow.AddSeconds(60), (_, _, _, _, _, _) => true);
        Assert.Equal(50, accepted);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
    }
}
