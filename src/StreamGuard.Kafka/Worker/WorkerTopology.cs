using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace StreamGuard.Kafka;

/// <summary>
/// The topics' partition counts, asked once at start through one admin client, and what they decide: whether reads
/// and queries that arrive off their plate's partition are forwarded through the repartition topics, and whether the
/// topics are laid out so that the worker may run at all.
/// </summary>
internal sealed class WorkerTopology
{
    private readonly Dictionary<string, int> _partitionsOf;

    private WorkerTopology(Dictionary<string, int> partitionsOf, TopicNames topics)
    {
        _partitionsOf = partitionsOf;
        InputPartitions = partitionsOf[topics.Reads];
        AuditPartitions = partitionsOf[topics.Audit];
        int queries = partitionsOf[topics.Queries];
        Repartition = InputPartitions > 0 && queries == InputPartitions &&
            partitionsOf[topics.RepartitionReads] == InputPartitions &&
            partitionsOf[topics.RepartitionQueries] == InputPartitions;
    }

    /// <summary>Partitions of the reads topic: the plates' partitions.</summary>
    public int InputPartitions { get; }

    /// <summary>Partitions of the audit topic (0: unknown).</summary>
    public int AuditPartitions { get; }

    /// <summary>Reads and queries are forwarded to their plate's partition (the repartition topics match the
    /// inputs).</summary>
    public bool Repartition { get; }

    /// <summary>
    /// Asks every topic's partition count through an admin client on <paramref name="producer"/>'s handle, logs
    /// whether repartitioning is on, and throws when queries or holds are not co-partitioned with the reads, or (with
    /// exactly-once) the audit topic's partitions are unknown.
    /// </summary>
    public static WorkerTopology Read(IProducer<byte[], byte[]> producer, WorkerOptions options, ILogger log)
    {
        TopicNames t = options.Topics;
        var partitionsOf = new Dictionary<string, int>(StringComparer.Ordinal);
        using (IAdminClient admin = new DependentAdminClientBuilder(producer.Handle).Build())
        {
            foreach (string topic in t.All) partitionsOf[topic] = PartitionCount(admin, topic);
        }
        var topology = new WorkerTopology(partitionsOf, t);
        if (topology.Repartition) WorkerLog.RepartitioningOn(log, t.RepartitionReads, t.RepartitionQueries);
        else WorkerLog.RepartitioningOff(log);
        int reads = topology.InputPartitions;
        foreach (string topic in (string[])[t.Queries, t.Holds])
        {
            // Decisions on queries and holds of partition N go on chain pN, which only the owner of reads partition N
            // may write.
            int count = partitionsOf[topic];
            if (reads > 0 && count > 0 && count != reads)
            {
                throw new InvalidOperationException($"{topic} has {count} partitions and {t.Reads} {reads}: " +
                    "queries and holds must be co-partitioned with the reads (same partition count)");
            }
        }
        if (options.ExactlyOnce && topology.AuditPartitions == 0)
        {
            throw new InvalidOperationException($"{t.Audit}: partition count unknown (topic missing or metadata " +
                "failed): without it audit chains cannot be resumed; create the topic or check the connection");
        }
        return topology;
    }

    /// <summary>Partitions of <paramref name="topic"/> (one of the worker's topics); 0 when it is missing.</summary>
    public int PartitionsOf(string topic) => _partitionsOf[topic];

    /// <summary>
    /// The partition a read or query belongs to when repartitioning (its plate's, from key or value), else -1: decided
    /// where it arrived.
    /// </summary>
    public int PlatePartition(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) =>
        Repartition ? PlatePartitioner.PartitionOf(key, value, InputPartitions) : -1;

    /// <summary>Whether a record of an input partition is decided there (it belongs to that partition's
    /// plates).</summary>
    public bool DecidedWhereItArrived(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, int partition)
    {
        int target = PlatePartition(key, value);
        // Without repartition topics, a record whose key names another plate than its body was dead-lettered.
        return target < 0 ? Repartition || !PlatePartitioner.KeyDisagrees(key, value) : target == partition;
    }

    private static int PartitionCount(IAdminClient admin, string topic)
    {
        try
        {
            TopicMetadata? m = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics
                .FirstOrDefault(x => x.Topic == topic);
            return m is null || m.Error.IsError ? 0 : m.Partitions.Count;
        }
        catch (KafkaException)
        {
            return 0;
        }
    }
}
