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
    private readonly List<string> _agencyTopics = [];

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
        // A real broker: the admin API (the mock cluster does not answer CreateTopics). The agencies' output topics
        // are the worker's to create.
        using IAdminClient admin =
            new AdminClientBuilder(new AdminClientConfig { BootstrapServers = BootstrapServers }).Build();
        Task create = admin.CreateTopicsAsync(Topics.All.Select(t =>
            new TopicSpecification { Name = t, NumPartitions = partitions, ReplicationFactor = 1 }));
        if (!create.Wait(TimeSpan.FromSeconds(30)))
        {
            throw new TimeoutException($"creating test topics on {BootstrapServers} timed out");
        }
    }

    /// <summary>
    /// Creates the output topics of <paramref name="agencies"/> (<see cref="TopicNames.OfAgency"/>) with
    /// <see cref="Partitions"/> partitions, for tests that drive a sink without a worker (the worker makes its own).
    /// </summary>
    public void CreateAgencyTopics(params string[] agencies)
    {
        string[] topics = [.. agencies.SelectMany(Topics.OfAgency)];
        _agencyTopics.AddRange(topics);
        if (_mock is not null)
        {
            foreach (string t in topics) _mock.CreateTopic(t, Partitions);
            return;
        }
        using IAdminClient admin =
            new AdminClientBuilder(new AdminClientConfig { BootstrapServers = BootstrapServers }).Build();
        if (!admin.CreateTopicsAsync(topics.Select(t =>
                new TopicSpecification { Name = t, NumPartitions = Partitions, ReplicationFactor = 1 }))
            .Wait(TimeSpan.FromSeconds(30)))
        {
            throw new TimeoutException($"creating agency topics on {BootstrapServers} timed out");
        }
    }

    /// <summary>The output topics of every agency of <paramref name="policy"/>, made before a worker starts (so a
    /// test can place their leaders; the worker finds them and makes none).</summary>
    public void CreateAgencyTopics(TestPolicy policy) =>
        CreateAgencyTopics([.. policy.Document.Agencies.Select(a => a.Id)]);

    /// <summary>The fixed topics and the agency topics made by <see cref="CreateAgencyTopics(string[])"/>.</summary>
    public IEnumerable<string> AllTopics => Topics.All.Concat(_agencyTopics);

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
    /// Options for a worker on this cluster's topics and group. <paramref name="quickRejoin"/>: a 6 s session, for
    /// tests that restart or add workers (the embedded broker waits out a departed member's session before it
    /// reassigns). Not shorter: a worker starved of CPU for a session (the test run loads both cores) loses its
    /// partitions, and a worker that must not stop then fails its test.
    /// </summary>
    public WorkerOptions WorkerOptions(
        string? transactionalId = null, bool quickRejoin = false,
        ProcessingMode processing = ProcessingMode.ExactlyOnce) => new()
    {
        BootstrapServers = BootstrapServers, GroupId = GroupId, Topics = Topics, TransactionalId = transactionalId,
        Processing = processing,
        Kafka = quickRejoin
            ? new Dictionary<string, string> { ["session.timeout.ms"] = "6000", ["heartbeat.interval.ms"] = "500" }
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
    /// The per-agency output topics of <paramref name="kind"/> that exist now (<c>&lt;kind&gt;.&lt;agency&gt;</c>,
    /// made by the worker on start and on reload), with their partition counts.
    /// </summary>
    public Dictionary<string, int> TopicsOf(OutputKind kind)
    {
        string head = Topics.KindName(kind) + ".";
        using IAdminClient admin =
            new AdminClientBuilder(new AdminClientConfig { BootstrapServers = BootstrapServers }).Build();
        return admin.GetMetadata(TimeSpan.FromSeconds(30)).Topics
            .Where(t => !t.Error.IsError && t.Topic.StartsWith(head, StringComparison.Ordinal) &&
                t.Partitions.Count > 0)
            .ToDictionary(t => t.Topic, t => t.Partitions.Count, StringComparer.Ordinal);
    }

    /// <summary>The agency whose topic <paramref name="topic"/> of <paramref name="kind"/> is.</summary>
    public string AgencyOf(OutputKind kind, string topic)
    {
        string head = Topics.KindName(kind) + ".";
        Assert.StartsWith(head, topic, StringComparison.Ordinal);
        return topic[head.Length..];
    }

    /// <summary>
    /// The agency an output record is for, by its content: header <c>sg-recipient</c> of a delivery, member
    /// <c>recipient</c> of an alert or a purge notice, <c>requester</c> of a result.
    /// </summary>
    public static string AddresseeOf(OutputKind kind, ConsumeResult<string?, string> r) => kind switch
    {
        OutputKind.Shared => System.Text.Encoding.UTF8.GetString(r.Message.Headers.GetLastBytes("sg-recipient")),
        _ => System.Text.Json.JsonDocument.Parse(r.Message.Value).RootElement
            .GetProperty(kind == OutputKind.Results ? "requester" : "recipient").GetString()!,
    };

    /// <summary>Asserts every record of <paramref name="records"/> (of <paramref name="kind"/>) is in the topic of the
    /// agency it is for, and returns them.</summary>
    public List<ConsumeResult<string?, string>> AssertEachInItsAgencyTopic(OutputKind kind,
        List<ConsumeResult<string?, string>> records)
    {
        foreach (ConsumeResult<string?, string> r in records)
        {
            Assert.Equal(AddresseeOf(kind, r), AgencyOf(kind, r.Topic));
        }
        return records;
    }

    /// <summary>
    /// Reads a topic from the beginning (read_committed) until <paramref name="expected"/> records or the timeout.
    /// </summary>
    public List<ConsumeResult<string?, string>> ReadAll(string topic, int expected, TimeSpan timeout) =>
        ReadAll(new Dictionary<string, int> { [topic] = PartitionsOf(topic) }, expected, timeout);

    /// <summary>
    /// Reads every agency's topic of <paramref name="kind"/> (<see cref="TopicsOf"/>) from the beginning until
    /// <paramref name="expected"/> records in all, or the timeout; asserts each record is in the topic of the agency it
    /// is for (<see cref="AssertEachInItsAgencyTopic"/>).
    /// </summary>
    public List<ConsumeResult<string?, string>> ReadAll(OutputKind kind, int expected, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        Dictionary<string, int> topics = TopicsOf(kind);
        // The worker makes its agencies' topics before it joins its group; a test may ask before that.
        while (topics.Count == 0 && expected > 0 && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(200);
            topics = TopicsOf(kind);
        }
        return AssertEachInItsAgencyTopic(kind, ReadAll(topics, expected, deadline - DateTime.UtcNow));
    }

    private List<ConsumeResult<string?, string>> ReadAll(Dictionary<string, int> topics, int expected,
        TimeSpan timeout)
    {
        using IConsumer<string?, string> consumer = new ConsumerBuilder<string?, string>(new ConsumerConfig
        {
            BootstrapServers = BootstrapServers, GroupId = GroupId + "-reader-" + Guid.NewGuid().ToString("N")[..6],
            EnableAutoCommit = false, IsolationLevel = IsolationLevel.ReadCommitted,
        }).Build();
        consumer.Assign(topics.SelectMany(t =>
            Enumerable.Range(0, t.Value).Select(p => new TopicPartitionOffset(t.Key, p, Offset.Beginning))));
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
        IsolationLevel isolation = IsolationLevel.ReadCommitted) =>
        ReadToEnd(new Dictionary<string, int> { [topic] = PartitionsOf(topic) }, timeout, isolation);

    /// <summary>
    /// Reads several topics to their ends with one consumer (one per topic costs a consumer's start each), records
    /// by topic in partition order.
    /// </summary>
    public Dictionary<string, List<ConsumeResult<string?, string>>> ReadToEnd(IReadOnlyCollection<string> topics,
        TimeSpan timeout, IsolationLevel isolation = IsolationLevel.ReadCommitted)
    {
        using IAdminClient admin =
            new AdminClientBuilder(new AdminClientConfig { BootstrapServers = BootstrapServers }).Build();
        Dictionary<string, TopicMetadata> known = admin.GetMetadata(TimeSpan.FromSeconds(30)).Topics
            .GroupBy(t => t.Topic).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var partitions = topics.Distinct().ToDictionary(t => t,
            t => Topics.All.Contains(t) ? Partitions
                : known.TryGetValue(t, out TopicMetadata? m) && m.Partitions.Count > 0 ? m.Partitions.Count
                : Partitions);
        List<ConsumeResult<string?, string>> records = ReadToEnd(partitions, timeout, isolation);
        return partitions.Keys.ToDictionary(t => t, t => records.Where(r => r.Topic == t).ToList());
    }

    /// <summary>Partitions of <paramref name="topic"/>: <see cref="Partitions"/> for the fixed topics, else as the
    /// cluster says (an agency topic the worker made has the broker's default).</summary>
    private int PartitionsOf(string topic)
    {
        if (Topics.All.Contains(topic)) return Partitions;
        using IAdminClient admin =
            new AdminClientBuilder(new AdminClientConfig { BootstrapServers = BootstrapServers }).Build();
        TopicMetadata? m = admin.GetMetadata(TimeSpan.FromSeconds(30)).Topics.FirstOrDefault(t => t.Topic == topic);
        return m is { Partitions.Count: > 0 } ? m.Partitions.Count : Partitions;
    }

    /// <summary>
    /// Reads every agency's topic of <paramref name="kind"/> that exists now (<see cref="TopicsOf"/>) to its end;
    /// asserts each record is in the topic of the agency it is for.
    /// </summary>
    public List<ConsumeResult<string?, string>> ReadToEnd(OutputKind kind, TimeSpan timeout,
        IsolationLevel isolation = IsolationLevel.ReadCommitted) =>
        AssertEachInItsAgencyTopic(kind, ReadToEnd(TopicsOf(kind), timeout, isolation));

    private List<ConsumeResult<string?, string>> ReadToEnd(Dictionary<string, int> topics, TimeSpan timeout,
        IsolationLevel isolation)
    {
        var records = new List<ConsumeResult<string?, string>>();
        if (topics.Count == 0) return records;
        using IConsumer<string?, string> consumer = new ConsumerBuilder<string?, string>(new ConsumerConfig
        {
            BootstrapServers = BootstrapServers, GroupId = GroupId + "-reader-" + Guid.NewGuid().ToString("N")[..6],
            EnableAutoCommit = false, IsolationLevel = isolation, EnablePartitionEof = true,
        }).Build();
        consumer.Assign(topics.SelectMany(t =>
            Enumerable.Range(0, t.Value).Select(p => new TopicPartitionOffset(t.Key, p, Offset.Beginning))));
        int partitions = topics.Values.Sum();
        var ended = new HashSet<(string, int)>();
        var deadline = DateTime.UtcNow + timeout;
        while (ended.Count < partitions)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException(
                    $"{string.Join(", ", topics.Keys)}: {ended.Count} of {partitions} partitions read to the end");
            }
            ConsumeResult<string?, string>? r = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (r is null) continue;
            if (r.IsPartitionEOF) ended.Add((r.Topic, r.Partition.Value));
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
