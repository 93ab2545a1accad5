using System.Text;
using Confluent.Kafka;
using StreamGuard.Kafka;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Integration;

/// <summary>
/// The sink reuses one message, one header set and one scratch array per length for every output: each record must
/// still reach Kafka with its own bytes. Runs on the embedded cluster, or on a real broker when
/// STREAMGUARD_KAFKA_BOOTSTRAP is set.
/// </summary>
public sealed class KafkaOutputSinkTests
{
    [Fact]
    public void EveryOutputKeepsItsOwnKeyValueAndHeadersAlthoughBuffersAreReused()
    {
        using var cluster = new KafkaTestCluster();
        using IProducer<byte[], byte[]> producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers, Acks = Acks.All, EnableIdempotence = true, DeliveryReportFields = "none",
        }).Build();
        var sink = new KafkaOutputSink(producer, cluster.Topics, auditPartitions: cluster.Partitions);

        // Same lengths on purpose (keys, values and decision ids of equal length share a scratch array), and
        // recipient ids of two lengths.
        const int n = 300;
        for (int i = 0; i < n; i++)
        {
            string recipient = i % 3 == 0 ? $"ca-{i:d4}" : $"ca-sd-{i:d4}";
            sink.Shared(Bytes(recipient), Bytes($"d-{i:d5}"), Bytes($"{{\"read_id\":\"r{i:d5}\"}}"));
            sink.Audit(Bytes($"p{i % cluster.Partitions}"), Bytes($"{{\"seq\":{i:d5}}}"));
        }
        sink.DeadLetter(Bytes("{\"error\":\"malformed_json\"}"));
        Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, sink.DeliveryErrors);
        Assert.Equal(2 * n + 1, sink.Produced);

        var shared = cluster.ReadAll(cluster.Topics.Shared, n, TimeSpan.FromSeconds(60));
        Assert.Equal(n, shared.Count);
        foreach (ConsumeResult<string?, string> r in shared)
        {
            int i = int.Parse(r.Message.Value[13..18], System.Globalization.CultureInfo.InvariantCulture);
            string recipient = i % 3 == 0 ? $"ca-{i:d4}" : $"ca-sd-{i:d4}";
            Assert.Equal($"{{\"read_id\":\"r{i:d5}\"}}", r.Message.Value);
            Assert.Equal(recipient, r.Message.Key);
            Assert.Equal(recipient, Encoding.UTF8.GetString(r.Message.Headers.GetLastBytes("sg-recipient")));
            Assert.Equal($"d-{i:d5}", Encoding.UTF8.GetString(r.Message.Headers.GetLastBytes("sg-decision")));
            Assert.Equal(2, r.Message.Headers.Count);
        }
        Assert.Equal(n, shared.Select(r => r.Message.Value).Distinct().Count());

        var audit = cluster.ReadAll(cluster.Topics.Audit, n, TimeSpan.FromSeconds(60));
        Assert.Equal(n, audit.Count);
        foreach (ConsumeResult<string?, string> r in audit)
        {
            int i = int.Parse(r.Message.Value[7..12], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal($"p{i % cluster.Partitions}", r.Message.Key);
            Assert.Equal(i % cluster.Partitions, r.Partition.Value); // chain pN on partition N
        }
        Assert.Equal(n, audit.Select(r => r.Message.Value).Distinct().Count());

        ConsumeResult<string?, string> dead = Assert.Single(cluster.ReadAll(cluster.Topics.DeadLetter, 1, TimeSpan.FromSeconds(60)));
        Assert.Null(dead.Message.Key);
    }

    private static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);
}
