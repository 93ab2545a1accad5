namespace StreamGuard.Kafka.Embedded;

/// <summary>
/// Kafka protocol request types (ApiKey values) for <see cref="MockCluster.PushRequestErrors"/>.
/// </summary>
internal static class KafkaApiKey
{
    /// <summary>Produce (0).</summary>
    public const short Produce = 0;

    /// <summary>Fetch (1).</summary>
    public const short Fetch = 1;

    /// <summary>ListOffsets (2).</summary>
    public const short ListOffsets = 2;

    /// <summary>Metadata (3).</summary>
    public const short Metadata = 3;

    /// <summary>OffsetCommit (8).</summary>
    public const short OffsetCommit = 8;

    /// <summary>OffsetFetch (9).</summary>
    public const short OffsetFetch = 9;

    /// <summary>FindCoordinator (10), for groups and transactions.</summary>
    public const short FindCoordinator = 10;

    /// <summary>JoinGroup (11).</summary>
    public const short JoinGroup = 11;

    /// <summary>Heartbeat (12).</summary>
    public const short Heartbeat = 12;

    /// <summary>SyncGroup (14).</summary>
    public const short SyncGroup = 14;

    /// <summary>InitProducerId (22), used by idempotent and transactional producers.</summary>
    public const short InitProducerId = 22;

    /// <summary>AddPartitionsToTxn (24).</summary>
    public const short AddPartitionsToTxn = 24;

    /// <summary>AddOffsetsToTxn (25).</summary>
    public const short AddOffsetsToTxn = 25;

    /// <summary>EndTxn (26), the commit or abort of a transaction.</summary>
    public const short EndTxn = 26;

    /// <summary>TxnOffsetCommit (28).</summary>
    public const short TxnOffsetCommit = 28;
}
