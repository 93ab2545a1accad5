using Confluent.Kafka;
using Confluent.Kafka.Admin;
using StreamGuard.Kafka;
using StreamGuard.Kafka.Embedded;

namespace StreamGuard.Tests.Support;

/// <summary>
/// The Kafka cluster integration tests run against: a real broker when <c>STREAMGUARD_KAFKA_BOOTSTRAP</c> is
/// set, else librdkafka's embedded mock cluster. Each test gets its own topic prefix and group, so runs never
/// see each other's data on a shared broker.
/// </summary>
internal sealed class KafkaTestCluster : IDisposable
{
    private readonly MockCluster? _mock;

    /// <param name="partitions">Partitions of every test topic.</param>
    /// <param name="brokers">
    /// Brokers of the embedded cluster (leader-change tests need more than one); ignored on a real broker.
    /// </param>
    public KafkaTestCluster(int partitions = 4, int brokers = 1)
    {
        string? real = Environment.GetEnvironmentVariable("STREAMGUARD_KAFKA_BOOTSTRAP");
        if (string.IsNullOrEmpty(real))
        {
            _mock = MockCluster.Start(brokers, rebalanceDelayMs: 0);
            BootstrapServers = _mock.BootstrapServers;
        }
        else
        {
            BootstrapServers = real;
        }
        string run = Guid.NewGuid().ToString("N")[..12];
        Topics = new TopicNames().WithPrefix($"sgtest-{run}.");
        GroupId = $"sgtest-{run}";
        Partitions = partitions;
        if (_mock is not null)
        {
            foreach (string t in Topics.All) _mock.CreateTopic(t, partitions);
            return;
        }
        // A real broker: the admin API (the mock cluster does not answer CreateTopics).
        using IAdminClient admin =
            new AdminClientBuilder(new AdminClientConfig { BootstrapServers = BootstrapServers }).Build();
        Task create = admin.CreateTopicsAsync(Topics.All.Select(t =>
            new TopicSpecification { Name = t, NumPartitions = partitions, ReplicationFactor = 1 }));
        if (!create.Wait(TimeSpan.FromSeconds(30)))
        {
            throw new TimeoutException($"creating test topics on {BootstrapServers} timed out");
        }
    }

    public string BootstrapServers { get; }
    public TopicNames Topics { get; }
    public string GroupId { get; }
    public int Partitions { get; }
    public bool IsEmbedded => _mock is not null;

    /// <summary>
    /// The embedded cluster, for fault injection; null on a real broker (faults cannot be injected there).
    /// </summary>
    public MockCluster? Mock => _mock;

    /// <summary>
    /// Options for a worker on this cluster's topics and group. <paramref name="quickRejoin"/>: a 2 s session, for
    /// tests that restart or add workers (the embedded broker waits out a departed member's session before it
    /// reassigns).
    /// </summary>
    public WorkerOptions WorkerOptions(
        string? transactionalId = null, bool quickRejoin = false,
        ProcessingMode processing = ProcessingMode.ExactlyOnce) => new()
    {
        BootstrapServers = BootstrapServers, GroupId = GroupId, Topics = Topics, TransactionalId = transactionalId,
        Processing = processing,
        Kafka = quickRejoin
            ? new Dictionary<string, string> { ["session.timeout.ms"] = "2000", ["heartbeat.interval.ms"] = "250" }
            : new Dictionary<string, string>(),
    };

    public IProducer<string?, string> Producer() =>
        new ProducerBuilder<string?, string>(new ProducerConfig
        {
            BootstrapServers = BootstrapServers, Acks = Acks.All, EnableIdempotence = true,
        }).Build();

    /// <summary>A producer of raw records configured as the worker's for outputs (<see cref="WorkerClientConfig"/>),
    /// without transactions, lingering <paramref name="lingerMs"/>.</summary>
    public IProducer<byte[], byte[]> OutputProducer(int lingerMs = 5)
    {
        ProducerConfig config = WorkerClientConfig.Producer(WorkerOptions(), transactional: false);
        config.LingerMs = lingerMs;
        return new ProducerBuilder<byte[], byte[]>(config).Build();
    }

    /// <summary>
    /// Reads a topic from the beginning (read_committed) until <paramref name="expected"/> records or the timeout.
    /// </summary>
    public List<ConsumeResult<string?, string>> ReadAll(string topic, int expected, TimeSpan timeout)
    {
        using IConsumer<string?, string> consumer = new ConsumerBuilder<string?, string>(new ConsumerConfig
        {
            BootstrapServers = BootstrapServers, GroupId = GroupId + "-reader-" + Guid.NewGuid().ToString("N")[..6],
            EnableAutoCommit = false, IsolationLevel = IsolationLevel.ReadCommitted,
        }).Build();
        consumer.Assign(
            Enumerable.Range(0, Partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var records = new List<ConsumeResult<string?, string>>();
        var deadline = DateTime.UtcNow + timeout;
        while (records.Count < expected && DateTime.UtcNow < deadline)
        {
            ConsumeResult<string?, string>? r = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (r is { IsPartitionEOF: false }) records.Add(r);
        }
        // Anything beyond what was expected is a duplicate or a stray: give it a moment to show up.
        var settle = DateTime.UtcNow + TimeSpan.FromMilliseconds(500);
        while (DateTime.UtcNow < settle)
        {
            ConsumeResult<string?, string>? r = consumer.Consume(TimeSpan.FromMilliseconds(100));
            if (r is { IsPartitionEOF: false }) records.Add(r);
        }
        consumer.Close();
        return records;
    }

    /// <summary>
    /// Reads a whole topic (read_committed unless told), every partition up to its end at the time of reading.
    /// </summary>
    public List<ConsumeResult<string?, string>> ReadToEnd(string topic, TimeSpan timeout,
        IsolationLevel isolation = IsolationLevel.ReadCommitted)
    {
        using IConsumer<string?, string> consumer = new ConsumerBuilder<string?, string>(new ConsumerConfig
        {
            BootstrapServers = BootstrapServers, GroupId = GroupId + "-reader-" + Guid.NewGuid().ToString("N")[..6],
            EnableAutoCommit = false, IsolationLevel = isolation, EnablePartitionEof = true,
        }).Build();
        consumer.Assign(
            Enumerable.Range(0, Partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var records = new List<ConsumeResult<string?, string>>();
        var ended = new HashSet<int>();
        var deadline = DateTime.UtcNow + timeout;
        while (ended.Count < Partitions)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{topic}: {ended.Count} of {Partitions} partitions read to the end");
            }
            ConsumeResult<string?, string>? r = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (r is null) continue;
            if (r.IsPartitionEOF) ended.Add(r.Partition.Value);
            else records.Add(r);
        }
        consumer.Close();
        return records;
    }

    /// <summary>
    /// The audit topic's lines (each block's entries and seal), partition by partition in offset order: a chain's
    /// blocks share a key, hence a partition, so this is each chain in order.
    /// </summary>
    public List<string> AuditLines(TimeSpan timeout) =>
        ReadToEnd(Topics.Audit, timeout).OrderBy(r => r.Partition.Value).ThenBy(r => r.Offset.Value)
            .SelectMany(r => r.Message.Value.Split('\n')).ToList();

    /// <summary>The audit topic one decision per item, in the shape of <c>audit export</c>.</summary>
    public List<string> AuditDecisions(TimeSpan timeout) =>
        StreamGuard.Audit.AuditExport.Decisions(AuditLines(timeout)).ToList();

    public void Dispose() => _mock?.Dispose();
}
