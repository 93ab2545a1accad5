namespace StreamGuard.Kafka;

/// <summary>Options of <see cref="StreamGuardWorker"/>; change with <c>with</c>.</summary>
public sealed record WorkerOptions
{
    public required string BootstrapServers { get; init; }
    public string GroupId { get; init; } = "streamguard";
    public TopicNames Topics { get; init; } = new();

    /// <summary>Outputs are flushed and input offsets committed at least this often.</summary>
    /// <remarks>
    /// Shorter means less reprocessing after a crash and more commits; 100 ms matches Kafka's transaction guidance.
    /// </remarks>
    public TimeSpan CommitInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>…or after this many events, whichever comes first.</summary>
    public int CommitBatch { get; init; } = 5_000;

    /// <summary>
    /// Longest wait for outputs to be acknowledged before a commit; the worker stops rather than commit past a lost
    /// output.
    /// </summary>
    public TimeSpan FlushTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// <see cref="ProcessingMode.ExactlyOnce"/> (default): outputs, audit records and input offsets committed in one
    /// Kafka transaction every <see cref="CommitInterval"/> or <see cref="CommitBatch"/> events.
    /// <see cref="ProcessingMode.AtLeastOnce"/>: outputs flushed, then offsets committed; a crash may repeat
    /// decisions, never lose them.
    /// </summary>
    public ProcessingMode Processing { get; init; } = ProcessingMode.ExactlyOnce;

    /// <summary>Whether <see cref="Processing"/> is <see cref="ProcessingMode.ExactlyOnce"/>.</summary>
    public bool ExactlyOnce => Processing == ProcessingMode.ExactlyOnce;

    /// <summary>
    /// The producer's transactional.id; default <c>&lt;group&gt;-&lt;machine name&gt;</c>. Stable per worker slot.
    /// </summary>
    public string? TransactionalId { get; init; }

    /// <summary>
    /// After this long the broker aborts a transaction whose worker vanished (transaction.timeout.ms).
    /// </summary>
    public TimeSpan TransactionTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Every this many-th event that produces outputs is timed from its consumption to the broker's acknowledgement of
    /// all its outputs (<see cref="StreamGuardWorker.AckLatencyMicros"/>) and to the commit that covers it
    /// (<see cref="StreamGuardWorker.CommitLatencyMicros"/>); 1 = every event, 0 = none.
    /// </summary>
    /// <remarks>
    /// Nothing is allocated per event either way; a sampled event costs an uncontended lock when its figure is
    /// recorded.
    /// </remarks>
    public int AckLatencySampleEvery { get; init; } = 8;

    /// <summary>
    /// Partitions of a per-agency output topic the worker creates (<see cref="TopicNames.OfAgency"/>); -1 = the
    /// broker's default (num.partitions).
    /// </summary>
    /// <remarks>An existing topic is used as it is; only a missing one is created.</remarks>
    public int AgencyTopicPartitions { get; init; } = -1;

    /// <summary>Replication factor of a per-agency output topic the worker creates; -1 = the broker's default
    /// (default.replication.factor).</summary>
    public short AgencyTopicReplication { get; init; } = -1;

    /// <summary>Extra librdkafka settings for both consumer and producer (for example security settings).</summary>
    public IReadOnlyDictionary<string, string> Kafka { get; init; } = new Dictionary<string, string>();
}
