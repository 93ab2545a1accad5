using System.Collections.Concurrent;
using System.Diagnostics;
using Confluent.Kafka;
using StreamGuard.Kafka.Embedded;
using Xunit.Abstractions;

namespace StreamGuard.Tests.Embedded;

/// <summary>
/// The embedded mock cluster serves real Confluent.Kafka clients, and its fault injection
/// reaches them. Every wait on a client is bounded by <see cref="s_testTimeout"/>, so no test can hang.
/// </summary>
public sealed class MockClusterTests(ITestOutputHelper output)
{
    private static readonly TimeSpan s_testTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task ProducedMessagesAreConsumedByAGroup()
    {
        const int MessageCount = 1_000;
        using var timeout = new CancellationTokenSource(s_testTimeout);
        using var cluster = MockCluster.Start(brokers: 3, rebalanceDelayMs: 0);
        var topic = NewTopic();
        cluster.CreateTopic(topic, partitions: 4);

        using (var producer = BuildProducer(cluster))
        {
            var deliveries = Enumerable.Range(0, MessageCount)
                .Select(i => producer.ProduceAsync(topic,
                    new Message<string, string> { Key = $"k{i}", Value = $"v{i}" }, timeout.Token));
            var results = await Task.WhenAll(deliveries).WaitAsync(timeout.Token);

            Assert.All(results, result => Assert.Equal(PersistenceStatus.Persisted, result.Status));
            Assert.Equal(4, results.Select(result => result.Partition.Value).Distinct().Count());
        }

        using var consumer = BuildConsumer(cluster, groupId: NewGroup());
        consumer.Subscribe(topic);
        var values = ConsumeValues(consumer, MessageCount, timeout.Token);
        consumer.Close();

        Assert.Equal(MessageCount, values.Count);
        Assert.Equal(MessageCount, values.Distinct().Count());
    }

    [Fact]
    public async Task TransactionallyProducedMessagesAreReadByAReadCommittedConsumer()
    {
        const int MessageCount = 100;
        using var timeout = new CancellationTokenSource(s_testTimeout);
        using var cluster = MockCluster.Start(brokers: 3, rebalanceDelayMs: 0);
        var topic = NewTopic();
        cluster.CreateTopic(topic, partitions: 4, replicationFactor: 3);

        using (var producer = BuildProducer(cluster, transactionalId: $"tx-{Guid.NewGuid():N}"))
        {
            producer.InitTransactions(s_testTimeout);
            producer.BeginTransaction();
            await ProduceAll(producer, topic, "committed", MessageCount, timeout.Token);
            producer.CommitTransaction(s_testTimeout);
        }

        using var consumer = BuildConsumer(cluster, groupId: NewGroup(), IsolationLevel.ReadCommitted);
        consumer.Subscribe(topic);
        var values = ConsumeValues(consumer, MessageCount, timeout.Token);
        consumer.Close();

        Assert.Equal(Enumerable.Range(0, MessageCount).Select(i => $"committed-{i}").Order(StringComparer.Ordinal),
            values.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task ProducerDeliversOnceItsPartitionLeaderComesBackUp()
    {
        using var timeout = new CancellationTokenSource(s_testTimeout);
        using var cluster = MockCluster.Start(brokers: 3);
        var topic = NewTopic();
        cluster.CreateTopic(topic, partitions: 1, replicationFactor: 3);
        cluster.SetPartitionLeader(topic, partition: 0, brokerId: 2);
        using var producer = BuildProducer(cluster);
        await ProduceAll(producer, topic, "warm-up", 1, timeout.Token);

        cluster.SetBrokerDown(2);
        var pending = Enumerable.Range(0, 50)
            .Select(i => producer.ProduceAsync(topic,
                new Message<string, string> { Key = $"k{i}", Value = $"while-down-{i}" }, timeout.Token))
            .ToArray();
        await Task.Delay(TimeSpan.FromMilliseconds(500), timeout.Token);
        Assert.DoesNotContain(pending, delivery => delivery.IsCompleted);

        cluster.SetBrokerUp(2);
        var results = await Task.WhenAll(pending).WaitAsync(timeout.Token);

        Assert.All(results, result => Assert.Equal(PersistenceStatus.Persisted, result.Status));
        Assert.Equal(51, CountMessages(cluster, topic, partitions: 1, timeout.Token));
    }

    [Fact]
    public async Task InjectedProduceErrorsFailDeliveries()
    {
        using var timeout = new CancellationTokenSource(s_testTimeout);
        using var cluster = MockCluster.Start();
        var topic = NewTopic();
        cluster.CreateTopic(topic, partitions: 1);
        using var producer = new ProducerBuilder<string, string>(
            new ProducerConfig { BootstrapServers = cluster.BootstrapServers }).Build();
        await ProduceAll(producer, topic, "warm-up", 1, timeout.Token);

        cluster.PushRequestErrors(KafkaApiKey.Produce, ErrorCode.MsgSizeTooLarge);
        var failure = await Assert.ThrowsAsync<ProduceException<string, string>>(
            () => producer.ProduceAsync(topic,
                new Message<string, string> { Key = "k", Value = "refused" }, timeout.Token).WaitAsync(timeout.Token));
        await ProduceAll(producer, topic, "after", 1, timeout.Token);

        Assert.Equal(ErrorCode.MsgSizeTooLarge, failure.Error.Code);
        Assert.Equal(2, CountMessages(cluster, topic, partitions: 1, timeout.Token));
    }

    [Fact]
    public async Task IdempotentProducerDeliversThroughInjectedNotLeaderForPartitionErrors()
    {
        using var timeout = new CancellationTokenSource(s_testTimeout);
        using var cluster = MockCluster.Start(brokers: 3);
        var topic = NewTopic();
        cluster.CreateTopic(topic, partitions: 1, replicationFactor: 3);
        var produceRequests = new ConcurrentQueue<string>();
        using var producer = new ProducerBuilder<string, string>(new ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            Acks = Acks.All,
            EnableIdempotence = true,
            Debug = "protocol",
        }).SetLogHandler((_, log) =>
        {
            if (log.Message.Contains("Sent ProduceRequest", StringComparison.Ordinal))
            {
                produceRequests.Enqueue(log.Message);
            }
        }).Build();
        await ProduceAll(producer, topic, "warm-up", 1, timeout.Token);

        cluster.PushRequestErrors(KafkaApiKey.Produce,
            ErrorCode.NotLeaderForPartition, ErrorCode.NotLeaderForPartition, ErrorCode.NotLeaderForPartition);
        await ProduceAll(producer, topic, "retried", 20, timeout.Token);

        // 1 warm-up request, 3 answered with the injected error, at least 1 that succeeded.
        Assert.True(produceRequests.Count >= 5, $"only {produceRequests.Count} Produce requests were sent");
        Assert.Equal(21, CountMessages(cluster, topic, partitions: 1, timeout.Token));
    }

    [Fact]
    public async Task BrokerRoundTripTimeDelaysDeliveries()
    {
        using var timeout = new CancellationTokenSource(s_testTimeout);
        using var cluster = MockCluster.Start();
        var topic = NewTopic();
        cluster.CreateTopic(topic, partitions: 1);
        using var producer = BuildProducer(cluster);
        await ProduceAll(producer, topic, "warm-up", 1, timeout.Token);

        cluster.SetBrokerRtt(brokerId: 1, rttMs: 400);
        var clock = Stopwatch.StartNew();
        await ProduceAll(producer, topic, "slow", 1, timeout.Token);
        clock.Stop();
        cluster.SetBrokerRtt(brokerId: 1, rttMs: 0);

        output.WriteLine($"delivery with 400 ms RTT took {clock.ElapsedMilliseconds} ms");
        Assert.True(clock.ElapsedMilliseconds >= 350, $"delivery took only {clock.ElapsedMilliseconds} ms");
    }

    [Fact]
    public void NewGroupsWaitForTheInitialRebalanceDelay()
    {
        using var timeout = new CancellationTokenSource(s_testTimeout);
        using var cluster = MockCluster.Start();
        var topic = NewTopic();
        cluster.CreateTopic(topic, partitions: 1);
        cluster.SetGroupInitialRebalanceDelay(1_500);
        using var consumer = BuildConsumer(cluster, groupId: NewGroup());

        var clock = Stopwatch.StartNew();
        consumer.Subscribe(topic);
        while (consumer.Assignment.Count == 0)
        {
            consumer.Consume(TimeSpan.FromMilliseconds(50));
            timeout.Token.ThrowIfCancellationRequested();
        }

        clock.Stop();
        consumer.Close();
        output.WriteLine($"first assignment after {clock.ElapsedMilliseconds} ms");
        Assert.True(clock.ElapsedMilliseconds >= 1_400, $"assigned after only {clock.ElapsedMilliseconds} ms");
    }

    [Fact]
    public void UnknownBrokersAndDuplicateTopicsAreRejected()
    {
        using var cluster = MockCluster.Start(brokers: 2);
        cluster.CreateTopic("twice", partitions: 1);

        Assert.Throws<InvalidOperationException>(() => cluster.SetBrokerDown(42));
        var duplicate = Assert.Throws<InvalidOperationException>(() => cluster.CreateTopic("twice", partitions: 1));
        Assert.Contains(nameof(ErrorCode.TopicAlreadyExists), duplicate.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DisposingTwiceIsHarmlessAndLaterCallsThrow()
    {
        var cluster = MockCluster.Start();
        Assert.Matches(@"^127\.0\.0\.1:\d+$", cluster.BootstrapServers);

        cluster.Dispose();
        cluster.Dispose();

        Assert.Throws<ObjectDisposedException>(() => cluster.CreateTopic("late", partitions: 1));
        Assert.Throws<ObjectDisposedException>(
            () => cluster.PushRequestErrors(KafkaApiKey.Produce, ErrorCode.NotLeaderForPartition));
    }

    [Fact]
    public void TheMockRunsOnTheSameNativeLibraryAsConfluentKafka()
    {
        using var cluster = MockCluster.Start();
        using var producer = BuildProducer(cluster);
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var mapped = File.ReadLines("/proc/self/maps")
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length >= 6 && fields[5].Contains("rdkafka", StringComparison.Ordinal))
            .Select(fields => fields[5])
            .Distinct(StringComparer.Ordinal)
            .ToList();
        output.WriteLine($"librdkafka {Library.VersionString} mapped from: {string.Join(", ", mapped)}");

        Assert.Single(mapped);
    }

    private static string NewTopic() => $"topic-{Guid.NewGuid():N}";

    private static string NewGroup() => $"group-{Guid.NewGuid():N}";

    private static IProducer<string, string> BuildProducer(MockCluster cluster, string? transactionalId = null) =>
        new ProducerBuilder<string, string>(new ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            Acks = Acks.All,
            EnableIdempotence = true,
            TransactionalId = transactionalId,
            ReconnectBackoffMaxMs = 500,
        }).Build();

    private static IConsumer<string, string> BuildConsumer(
        MockCluster cluster, string groupId, IsolationLevel isolation = IsolationLevel.ReadUncommitted) =>
        new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            GroupId = groupId,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            IsolationLevel = isolation,
        }).Build();

    private static async Task ProduceAll(IProducer<string, string> producer, string topic, string prefix, int count,
        CancellationToken token)
    {
        var deliveries = Enumerable.Range(0, count)
            .Select(i => producer.ProduceAsync(topic,
                new Message<string, string> { Key = $"{prefix}-{i}", Value = $"{prefix}-{i}" }, token));
        var results = await Task.WhenAll(deliveries).WaitAsync(token);
        Assert.All(results, result => Assert.Equal(PersistenceStatus.Persisted, result.Status));
    }

    /// <summary>
    /// Consumes until <paramref name="expected"/> messages arrived; fails (not hangs) when the token fires first.
    /// </summary>
    private static List<string> ConsumeValues(IConsumer<string, string> consumer, int expected, CancellationToken token)
    {
        var values = new List<string>(expected);
        try
        {
            while (values.Count < expected)
            {
                var record = consumer.Consume(token);
                if (record?.Message is { } message)
                {
                    values.Add(message.Value);
                }
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"timed out after consuming {values.Count} of {expected} messages");
        }

        return values;
    }

    /// <summary>
    /// Counts every message in the topic with a consumer that assigns all partitions from the start (no group join).
    /// </summary>
    private static int CountMessages(MockCluster cluster, string topic, int partitions, CancellationToken token)
    {
        using var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            GroupId = "counter",
            EnableAutoCommit = false,
            EnablePartitionEof = true,
        }).Build();
        consumer.Assign(
            Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var count = 0;
        var atEnd = new HashSet<int>();
        try
        {
            while (atEnd.Count < partitions)
            {
                var record = consumer.Consume(token);
                if (record.IsPartitionEOF)
                {
                    atEnd.Add(record.Partition.Value);
                }
                else
                {
                    count++;
                }
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"timed out counting {topic} after {count} messages");
        }

        return count;
    }
}
