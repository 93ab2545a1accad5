using Confluent.Kafka;

namespace StreamGuard.Kafka;

/// <summary>
/// The worker's Kafka client configuration: tunable defaults first, then the operator's settings
/// (<see cref="WorkerOptions.Kafka"/>), then what correctness needs, which the operator cannot override. The bench's
/// pass-through pipe and the tests build their clients from here, so they are configured as the worker's.
/// </summary>
/// <remarks>
/// Delivery reports are read for their error only: without their other fields Confluent.Kafka allocates less per
/// output (no headers, key or value kept per report). Memory stays bounded when producing stalls (broker down, slow
/// acks): librdkafka's producer queue is capped by count and size (its default size cap is 1 GiB); a full queue makes
/// <c>Produce</c> throw <c>Local_QueueFull</c> and the sink waits for deliveries, so consumption pauses. The
/// consumer's prefetch is capped likewise (default 64 MiB). The worker's admin client shares its producer's handle.
/// </remarks>
public static class WorkerClientConfig
{
    /// <summary>The worker's <c>client.id</c>.</summary>
    public const string WorkerClientId = "streamguard-worker";

    /// <summary>
    /// The largest batch the producer makes (<c>batch.size</c>, framing included): below the smallest
    /// <c>max.message.bytes</c> of a topic the worker writes to at all (<see cref="KafkaOutputSink.MinRecordBytes"/>).
    /// A broker checks a topic's limit against a whole batch, and librdkafka does not split a refused one: a batch of
    /// many small records over a topic set lower than librdkafka's default (1,000,000) would abort the transaction
    /// and again after every restart. A single record larger than this still forms a batch of its own, which the
    /// sink has checked against the topic's limit.
    /// </summary>
    public const int MaxBatchBytes = 512 * 1024;

    /// <summary>What a <c>batch.size</c> given with <c>--kafka</c> must be.</summary>
    public const string BatchSizeExpected =
        "not a whole number of bytes from 1 to 2147483647 (the worker uses at most 524288)";

    /// <summary>Whether <paramref name="text"/> is a <c>batch.size</c> librdkafka takes (1 to int.MaxValue).</summary>
    public static bool TryBatchBytes(string text, out int bytes) =>
        int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture,
            out bytes) && bytes >= 1;

    /// <summary>
    /// The output producer: idempotent, acks=all; with <paramref name="transactional"/>, a transactional producer
    /// whose id is stable per worker slot, so a restarted worker fences its predecessor and aborts its open
    /// transaction at once instead of leaving it to block read_committed readers until the transaction timeout.
    /// </summary>
    public static ProducerConfig Producer(WorkerOptions options, bool transactional, string clientId = WorkerClientId)
    {
        var config = new ProducerConfig
        {
            LingerMs = 5, ClientId = clientId, DeliveryReportFields = "none",
            QueueBufferingMaxMessages = 100_000, QueueBufferingMaxKbytes = 32 * 1024,
        };
        foreach (var (key, value) in options.Kafka) config.Set(key, value);
        config.BootstrapServers = options.BootstrapServers;
        config.Acks = Acks.All;
        config.EnableIdempotence = true;
        string? batch = config.Get("batch.size");
        int bytes = MaxBatchBytes;
        if (batch is not null && !TryBatchBytes(batch, out bytes))
        {
            throw new ArgumentException($"--kafka batch.size={batch}: {BatchSizeExpected}");
        }
        config.BatchSize = Math.Min(bytes, MaxBatchBytes);
        if (transactional)
        {
            config.TransactionalId = options.TransactionalId ?? $"{options.GroupId}-{Environment.MachineName}";
            config.TransactionTimeoutMs = (int)options.TransactionTimeout.TotalMilliseconds;
        }
        return config;
    }

    /// <summary>
    /// An admin client of the worker's own (the operator's <c>--kafka</c> settings, security included, and nothing of
    /// the consumer's or producer's: librdkafka warns of every property its client type ignores).
    /// </summary>
    public static AdminClientConfig Admin(WorkerOptions options, string clientId = WorkerClientId)
    {
        var config = new AdminClientConfig { ClientId = clientId };
        foreach (var (key, value) in options.Kafka) config.Set(key, value);
        config.BootstrapServers = options.BootstrapServers;
        return config;
    }

    /// <summary>
    /// The input consumer: group <see cref="WorkerOptions.GroupId"/>, offsets committed by the worker only,
    /// read_committed, range assignment. <paramref name="statistics"/>: librdkafka's statistics (each partition's end
    /// offset, for consumer lag) every 5 s unless the operator set an interval.
    /// </summary>
    public static ConsumerConfig Consumer(WorkerOptions options, bool statistics = false,
        string clientId = WorkerClientId)
    {
        var config = new ConsumerConfig
        {
            ClientId = clientId,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            // librdkafka's default (500 ms) lets a fetch sit at a quiet broker for up to half a second.
            FetchWaitMaxMs = 10,
            QueuedMaxMessagesKbytes = 16 * 1024,
        };
        foreach (var (key, value) in options.Kafka) config.Set(key, value);
        config.BootstrapServers = options.BootstrapServers;
        if (statistics && config.StatisticsIntervalMs is null) config.StatisticsIntervalMs = 5000;
        config.GroupId = options.GroupId;
        config.EnableAutoCommit = false;
        config.IsolationLevel = IsolationLevel.ReadCommitted;
        // Range assignment gives partition N of alpr.reads and of alpr.queries to the same worker: the audit
        // chain pN and the reads a query on partition N must see live together.
        config.PartitionAssignmentStrategy = PartitionAssignmentStrategy.Range;
        return config;
    }
}
