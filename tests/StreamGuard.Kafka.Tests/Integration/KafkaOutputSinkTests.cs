using System.Text;
using Confluent.Kafka;
using StreamGuard.Engine;
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
        using IProducer<byte[], byte[]> producer = cluster.OutputProducer();
        var sink = new KafkaOutputSink(producer, cluster.Topics, auditPartitions: cluster.Partitions);

        // Same lengths on purpose (keys, values and decision ids of equal length share a scratch array), and
        // recipient ids of two lengths.
        string[] recipients = ["ca-0001", "ca-0002", "ca-0003", "ca-sd-0001", "ca-sd-0002", "ca-sd-0003"];
        cluster.CreateAgencyTopics(recipients);
        foreach (string recipient in recipients) sink.AddAgency(recipient);
        const int n = 300;
        for (int i = 0; i < n; i++)
        {
            string recipient = recipients[i % recipients.Length];
            sink.Shared(Bytes(recipient), Bytes($"r{i:d5}"), Bytes($"d-{i:d5}"), Bytes($"{{\"read_id\":\"r{i:d5}\"}}"));
            sink.Audit(i % cluster.Partitions, Bytes($"{{\"seq\":{i:d5}}}"));
        }
        sink.DeadLetter(Bytes("{\"error\":\"malformed_json\"}"));
        Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, sink.DeliveryErrors);
        Assert.Equal(2 * n + 1, sink.Produced);

        var shared = cluster.ReadAll(OutputKind.Shared, n, TimeSpan.FromSeconds(60));
        Assert.Equal(n, shared.Count);
        foreach (ConsumeResult<string?, string> r in shared)
        {
            int i = int.Parse(r.Message.Value[13..18], System.Globalization.CultureInfo.InvariantCulture);
            string recipient = recipients[i % recipients.Length];
            Assert.Equal(cluster.Topics.ForAgency(OutputKind.Shared, recipient), r.Topic);
            Assert.Equal($"{{\"read_id\":\"r{i:d5}\"}}", r.Message.Value);
            Assert.Equal($"r{i:d5}", r.Message.Key); // key = read_id
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

        ConsumeResult<string?, string> dead =
            Assert.Single(cluster.ReadAll(cluster.Topics.DeadLetter, 1, TimeSpan.FromSeconds(60)));
        Assert.Null(dead.Message.Key);
    }

    [Fact]
    public void AForwardKeepsKeyValueAndOriginAndAllocatesNoMoreThanAnOutput()
    {
        using var cluster = new KafkaTestCluster();
        using IProducer<byte[], byte[]> producer = cluster.OutputProducer();
        var sink = new KafkaOutputSink(producer, cluster.Topics, auditPartitions: cluster.Partitions);
        cluster.CreateAgencyTopics("ca-0001");
        sink.AddAgency("ca-0001");

        // Equal lengths share scratch arrays: each record must still leave with its own key, value and origin; a label
        // longer than the stack buffer takes the allocating way with the same result.
        const int n = 200;
        string longLabel = "file:" + new string('x', 600);
        for (int i = 0; i < n; i++)
        {
            var origin = i == 7
                ? new EventSource("reads", 0, 0, false) { Label = longLabel }
                : EventSource.Kafka(cluster.Topics.Reads, i % 3, 1000 + i);
            sink.Forward(i % 2 == 0 ? cluster.Topics.RepartitionReads : cluster.Topics.RepartitionQueries,
                i % cluster.Partitions, Bytes($"P{i:d4}X"), false, Bytes($"{{\"read_id\":\"r{i:d5}\"}}"), false,
                origin);
        }
        // A null key or value stays null, an empty one empty (a null value on an input topic is a tombstone).
        sink.Forward(cluster.Topics.RepartitionReads, 0, default, true, default, true,
            EventSource.Kafka(cluster.Topics.Reads, 99, 1));
        sink.Forward(cluster.Topics.RepartitionReads, 0, default, false, default, false,
            EventSource.Kafka(cluster.Topics.Reads, 99, 2));
        Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, sink.DeliveryErrors);
        Assert.Throws<ArgumentException>(() => sink.Forward(cluster.Topics.Shared, 0, default, true, default, true,
            EventSource.Kafka(cluster.Topics.Reads, 99, 3)));

        using (IConsumer<byte[]?, byte[]?> raw = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers, GroupId = cluster.GroupId + "-forward",
            EnableAutoCommit = false,
        }).Build())
        {
            raw.Assign(new TopicPartitionOffset(cluster.Topics.RepartitionReads, 0, Offset.Beginning));
            var odd = new List<ConsumeResult<byte[]?, byte[]?>>();
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (odd.Count < 2 && DateTime.UtcNow < deadline)
            {
                ConsumeResult<byte[]?, byte[]?>? r = raw.Consume(TimeSpan.FromMilliseconds(200));
                if (r is not null && Encoding.UTF8.GetString(r.Message.Headers.GetLastBytes("sg-origin"))
                    .StartsWith(cluster.Topics.Reads + "/99/", StringComparison.Ordinal))
                {
                    odd.Add(r);
                }
            }
            Assert.Equal(2, odd.Count);
            Assert.Null(odd[0].Message.Key);
            Assert.Null(odd[0].Message.Value);
            Assert.Empty(Assert.IsType<byte[]>(odd[1].Message.Key));
            Assert.Empty(Assert.IsType<byte[]>(odd[1].Message.Value));
        }

        var forwarded = cluster.ReadAll(cluster.Topics.RepartitionReads, n / 2 + 2, TimeSpan.FromSeconds(60))
            .Where(r => r.Message.Value is { Length: > 0 })
            .Concat(cluster.ReadAll(cluster.Topics.RepartitionQueries, n / 2, TimeSpan.FromSeconds(60))).ToList();
        Assert.Equal(n, forwarded.Count);
        foreach (ConsumeResult<string?, string> r in forwarded)
        {
            int i = int.Parse(r.Message.Value[13..18], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal($"P{i:d4}X", r.Message.Key);
            Assert.Equal(i % 2 == 0 ? cluster.Topics.RepartitionReads : cluster.Topics.RepartitionQueries, r.Topic);
            Assert.Equal(i % cluster.Partitions, r.Partition.Value);
            string expected = i == 7 ? longLabel : $"{cluster.Topics.Reads}/{i % 3}/{1000 + i}";
            Assert.Equal(expected, Encoding.UTF8.GetString(r.Message.Headers.GetLastBytes("sg-origin")));
            Assert.Single(r.Message.Headers);
        }

        // Confluent.Kafka allocates per Produce either way (its delivery-handler wrapper and the header it marshals); a
        // forward adds nothing of its own (its message, headers, topic-partition, label and copies are reused): one
        // more object of 24 B per forward fails this. Both are measured once their code runs optimised.
        byte[] key = Bytes("P0001X"), value = Bytes("{\"read_id\":\"r00001\"}"), agency = Bytes("ca-0001");
        var source = EventSource.Kafka(cluster.Topics.Reads, 1, 123456);
        (long Forwards, long Outputs) Round()
        {
            long forwards = SteadyAllocation.Of(() =>
            {
                for (int i = 0; i < 1000; i++)
                {
                    sink.Forward(cluster.Topics.RepartitionReads, i % cluster.Partitions, key, false, value, false,
                        source);
                }
            });
            // An output without headers: the tightest baseline.
            long outputs = SteadyAllocation.Of(() =>
            {
                for (int i = 0; i < 1000; i++) sink.Alert(agency, key, value);
            });
            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
            return (forwards, outputs);
        }
        SteadyAllocation.WarmUp(Round);
        long forwardBytes = 0, outputBytes = 0;
        for (int round = 0; round < 4; round++)
        {
            (long forwards, long outputs) = Round();
            forwardBytes += forwards;
            outputBytes += outputs;
        }
        Assert.True(forwardBytes - outputBytes < 4000 * 16,
            $"forwards {forwardBytes:N0} B against {outputBytes:N0} B for as many outputs");
    }

    /// <summary>The sink's last line of defence (the engine bounds what it writes below the sink's limit): an output
    /// over the limit is not produced, and the event that made it is marked for the dead-letter topic.</summary>
    [Fact]
    public void AnOutputOverTheRecordLimitIsNotProducedAndMarksItsEvent()
    {
        using var cluster = new KafkaTestCluster();
        using IProducer<byte[], byte[]> producer = cluster.OutputProducer();
        var sink = new KafkaOutputSink(producer, cluster.Topics, auditPartitions: cluster.Partitions)
        {
            MaxRecordBytes = KafkaOutputSink.MinRecordBytes,
        };
        cluster.CreateAgencyTopics("ca-0001");
        sink.AddAgency("ca-0001");
        // Results as the engine writes them (the test cluster checks each one's requester against its topic).
        static byte[] Result(int bytes) => Bytes("{\"requester\":\"ca-0001\",\"pad\":\"" +
            new string('x', bytes - 40) + "\"}");
        byte[] fits = Result(KafkaOutputSink.MinRecordBytes - 4096);
        byte[] over = Result(KafkaOutputSink.MinRecordBytes);

        sink.Result(Bytes("ca-0001"), Bytes("q-1"), fits);
        Assert.False(sink.TakeOversized());
        sink.Result(Bytes("ca-0001"), Bytes("q-2"), over);
        Assert.True(sink.TakeOversized());
        Assert.False(sink.TakeOversized()); // taken once
        Assert.Equal(1, sink.OversizedOutputs);
        Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        Assert.Equal(["q-1"],
            cluster.ReadToEnd(OutputKind.Results, TimeSpan.FromSeconds(60)).Select(r => r.Message.Key));
        Assert.Throws<ArgumentOutOfRangeException>(() => sink.MaxRecordBytes = KafkaOutputSink.MinRecordBytes - 1);
    }

    [Fact]
    public void RecordsAndBytesAreCountedPerAgencyTopicAndRoutingAndCountingAllocateNothing()
    {
        using var cluster = new KafkaTestCluster();
        using IProducer<byte[], byte[]> producer = cluster.OutputProducer();
        var sink = new KafkaOutputSink(producer, cluster.Topics, auditPartitions: cluster.Partitions);
        cluster.CreateAgencyTopics("ca-0001", "own");
        sink.AddAgency("ca-0001");
        sink.AddAgency("own");

        sink.Shared(Bytes("ca-0001"), Bytes("r1"), Bytes("d-00001"), Bytes("{\"read_id\":\"r1\"}")); // 2 + 16
        sink.Alert(Bytes("own"), Bytes("h1"), Bytes("{\"alert\":1}")); // 2 + 11
        sink.Alert(Bytes("own"), default, Bytes("{}")); // no key: 0 + 2
        sink.Result(Bytes("ca-0001"), Bytes("q-1"), Bytes("{\"result\":\"ok\"}")); // 3 + 15
        sink.Purge(Bytes("ca-0001"), Bytes("r-1"), Bytes("{}")); // 3 + 2
        sink.Audit(3, Bytes("{\"seq\":1}\n{\"seq\":2}")); // "p3": 2 + 19
        sink.DeadLetter(Bytes("bad")); // 0 + 3
        // The repartition topic's name as another string instance than the sink's: still its topic.
        string repartition = new(cluster.Topics.RepartitionReads.AsSpan());
        sink.Forward(repartition, 1, Bytes("PLATE1"), false, Bytes("{\"read_id\":\"r2\"}"), false,
            EventSource.Kafka(cluster.Topics.Reads, 0, 5)); // 6 + 16
        // An agency no policy named (a query's claimed requester) has no topic: nothing produced, counted.
        sink.Result(Bytes("nobody"), Bytes("q-2"), Bytes("{}"));
        Assert.Equal(1, sink.Unrouted);
        Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, sink.DeliveryErrors);

        TopicNames t = cluster.Topics;
        string Of(OutputKind kind, string agency) => t.ForAgency(kind, agency);
        var records = sink.ProducedByTopic().ToDictionary(p => p.Key, p => p.Value);
        var bytes = sink.ProducedBytesByTopic().ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal(
            new Dictionary<string, long>
            {
                [t.Audit] = 1, [t.DeadLetter] = 1, [t.RepartitionReads] = 1, [t.RepartitionQueries] = 0,
                [Of(OutputKind.Shared, "ca-0001")] = 1, [Of(OutputKind.Alerts, "ca-0001")] = 0,
                [Of(OutputKind.Results, "ca-0001")] = 1, [Of(OutputKind.Purges, "ca-0001")] = 1,
                [Of(OutputKind.Shared, "own")] = 0, [Of(OutputKind.Alerts, "own")] = 2,
                [Of(OutputKind.Results, "own")] = 0, [Of(OutputKind.Purges, "own")] = 0,
            }, records);
        Assert.Equal(
            new Dictionary<string, long>
            {
                [t.Audit] = 21, [t.DeadLetter] = 3, [t.RepartitionReads] = 22, [t.RepartitionQueries] = 0,
                [Of(OutputKind.Shared, "ca-0001")] = 18, [Of(OutputKind.Alerts, "ca-0001")] = 0,
                [Of(OutputKind.Results, "ca-0001")] = 18, [Of(OutputKind.Purges, "ca-0001")] = 5,
                [Of(OutputKind.Shared, "own")] = 0, [Of(OutputKind.Alerts, "own")] = 15,
                [Of(OutputKind.Results, "own")] = 0, [Of(OutputKind.Purges, "own")] = 0,
            }, bytes);

        // Counting is an array increment per record: an output allocates what Confluent.Kafka's own Produce of the same
        // reused message allocates, no more (one object of 24 B per output more fails this).
        byte[] key = Bytes("own"), value = Bytes("{\"alert\":1}");
        var message = new Message<byte[], byte[]> { Key = key, Value = value };
        var destination = new TopicPartition(Of(OutputKind.Alerts, "own"), Partition.Any);
        Action<DeliveryReport<byte[], byte[]>> handler = _ => { };
        (long Outputs, long Raw) Round()
        {
            long outputs = SteadyAllocation.Of(() =>
            {
                for (int i = 0; i < 1000; i++) sink.Alert(key, key, value);
            });
            long raw = SteadyAllocation.Of(() =>
            {
                for (int i = 0; i < 1000; i++) producer.Produce(destination, message, handler);
            });
            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
            return (outputs, raw);
        }
        int rounds = SteadyAllocation.WarmUp(Round) + 4;
        long outputBytes = 0, rawBytes = 0;
        for (int round = 0; round < 4; round++)
        {
            (long outputs, long raw) = Round();
            outputBytes += outputs;
            rawBytes += raw;
        }
        Assert.True(outputBytes - rawBytes < 4000 * 16,
            $"outputs {outputBytes:N0} B against {rawBytes:N0} B for as many plain Produce calls");
        string alerts = Of(OutputKind.Alerts, "own");
        Assert.Equal(2 + rounds * 1000L, sink.ProducedByTopic().Single(p => p.Key == alerts).Value);
        Assert.Equal(15 + rounds * 1000L * 14, sink.ProducedBytesByTopic().Single(p => p.Key == alerts).Value);
    }

    private static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);
}
