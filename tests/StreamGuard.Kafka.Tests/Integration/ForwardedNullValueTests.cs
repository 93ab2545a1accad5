using System.Text;
using Confluent.Kafka;
using StreamGuard.Engine;
using StreamGuard.Kafka;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Integration;

/// <summary>
/// A record forwarded to the repartition topic keeps its value as it arrived: a null value (a tombstone) leaves as
/// null, not as an empty value. Found by the session-6 review: the span-based forward of 53268cf sent byte[0]. Runs on
/// the embedded cluster, or on a real broker when STREAMGUARD_KAFKA_BOOTSTRAP is set.
/// </summary>
public abstract class ForwardedNullValueTests(ProcessingMode mode)
{
    [Fact]
    public async Task ANullValueIsForwardedAsNull()
    {
        using var policy = new TestPolicy();
        using var cluster = new KafkaTestCluster();
        var worker = new StreamGuardWorker(cluster.WorkerOptions(processing: mode),
            sink => new StreamGuardEngine(policy.Compiled, sink, TestPolicy.AuditKey));
        using var running = new WorkerThread(worker);
        await running.AssignedAsync();

        const string plate = "7NULL01";
        int target = PlatePartitioner.PartitionOf(Encoding.UTF8.GetBytes(plate), default, cluster.Partitions);
        int other = (target + 1) % cluster.Partitions;
        using (IProducer<byte[], byte[]?> producer = new ProducerBuilder<byte[], byte[]?>(
            new ProducerConfig { BootstrapServers = cluster.BootstrapServers, Acks = Acks.All }).Build())
        {
            producer.Produce(new TopicPartition(cluster.Topics.Reads, other),
                new Message<byte[], byte[]?> { Key = Encoding.UTF8.GetBytes(plate), Value = null });
            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }
        await running.WaitFor(() => worker.Forwarded >= 1);
        await running.StopAsync();

        using IConsumer<byte[]?, byte[]?> consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers, GroupId = cluster.GroupId + "-check", EnableAutoCommit = false,
        }).Build();
        consumer.Assign(new TopicPartitionOffset(cluster.Topics.RepartitionReads, target, Offset.Beginning));
        ConsumeResult<byte[]?, byte[]?>? r = null;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (r is null && DateTime.UtcNow < deadline) r = consumer.Consume(TimeSpan.FromMilliseconds(200));
        Assert.NotNull(r);
        Assert.Equal(plate, Encoding.UTF8.GetString(r.Message.Key!));
        Assert.Null(r.Message.Value);
    }

    /// <summary>These tests with outputs, audit and offsets committed in one transaction.</summary>
    public sealed class ExactlyOnce() : ForwardedNullValueTests(ProcessingMode.ExactlyOnce);

    /// <summary>These tests with outputs flushed, then offsets committed.</summary>
    public sealed class AtLeastOnce() : ForwardedNullValueTests(ProcessingMode.AtLeastOnce);
}
