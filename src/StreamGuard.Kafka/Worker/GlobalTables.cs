using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamGuard.Engine;

namespace StreamGuard.Kafka;

/// <summary>
/// Hotlists and holds are small compacted tables that every worker needs whole (a read on any partition may match
/// an entry or a hold on any other): every partition is read from the beginning by assignment — no consumer group,
/// no commits — like a Kafka Streams global table, and read to its end before the first input event, so restored
/// and new reads see every hold and entry. A missing topic turns its feature off, said in the log. Afterwards the
/// worker drains what arrives between two input events.
/// </summary>
internal sealed class GlobalTables : IDisposable
{
    // Entries applied per drain at most: the input loop is not held up by a burst of table updates.
    private const int DrainLimit = 1000;

    private readonly IConsumer<byte[]?, byte[]?> _consumer;
    private readonly TopicNames _topics;
    private readonly StreamGuardEngine _engine;
    private readonly ILogger _log;

    private GlobalTables(IConsumer<byte[]?, byte[]?> consumer, TopicNames topics, StreamGuardEngine engine, ILogger log)
    {
        _consumer = consumer;
        _topics = topics;
        _engine = engine;
        _log = log;
    }

    /// <summary>The table topics read (those that exist).</summary>
    public IEnumerable<string> Topics => _consumer.Assignment.Select(a => a.Topic).Distinct();

    /// <summary>
    /// Reads every partition of the hotlist and hold topics that exist to its end (at most the flush timeout) into
    /// <paramref name="engine"/>; null when neither exists.
    /// </summary>
    public static GlobalTables? Load(ConsumerConfig config, WorkerOptions options, WorkerTopology topology,
        StreamGuardEngine engine, ILogger log)
    {
        TopicNames t = options.Topics;
        var partitions = new List<TopicPartitionOffset>();
        foreach (string topic in (string[])[t.Hotlists, t.Holds])
        {
            int count = topology.PartitionsOf(topic);
            if (count == 0)
            {
                WorkerLog.TableMissing(log, topic, topic == t.Hotlists ? "alerts" : "holds");
                continue;
            }
            partitions.AddRange(
                Enumerable.Range(0, count).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        }
        if (partitions.Count == 0) return null;
        var tableConfig = new ConsumerConfig(new Dictionary<string, string>(config))
        {
            // required by the client; never joined nor committed (assignment only)
            GroupId = config.GroupId + "-tables",
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnablePartitionEof = true,
        };
        IConsumer<byte[]?, byte[]?> consumer = new ConsumerBuilder<byte[]?, byte[]?>(tableConfig)
            .SetErrorHandler((_, e) => WorkerLog.TablesConsumerError(log, e.Reason))
            .Build();
        consumer.Assign(partitions);
        var tables = new GlobalTables(consumer, t, engine, log);
        // Read every partition to its end before the first input event.
        var ended = new HashSet<(string, int)>();
        var deadline = DateTime.UtcNow + options.FlushTimeout;
        while (ended.Count < partitions.Count && DateTime.UtcNow < deadline)
        {
            ConsumeResult<byte[]?, byte[]?>? r = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (r is null) continue;
            if (r.IsPartitionEOF)
            {
                ended.Add((r.Topic, r.Partition.Value));
                continue;
            }
            tables.Apply(r);
        }
        WorkerLog.TablesLoaded(log, engine.Hotlists.Count, engine.Holds.Count, partitions.Count);
        return tables;
    }

    /// <summary>Applies the table updates that arrived since the last call, without waiting for more.</summary>
    public void Drain()
    {
        for (int i = 0; i < DrainLimit; i++)
        {
            ConsumeResult<byte[]?, byte[]?>? r;
            try
            {
                r = _consumer.Consume(TimeSpan.Zero);
            }
            catch (ConsumeException e)
            {
                if (e.Error.IsFatal) throw;
                WorkerLog.HotlistsConsumeError(_log, e.Error.Reason);
                return;
            }
            if (r is null) return;
            if (r.IsPartitionEOF) continue;
            Apply(r);
        }
    }

    public void Dispose() => _consumer.Dispose();

    private void Apply(ConsumeResult<byte[]?, byte[]?> r)
    {
        if (r.Topic == _topics.Holds) _engine.Holds.Apply(r.Message.Key, r.Message.Value);
        else _engine.Hotlists.Apply(r.Message.Key, r.Message.Value);
    }
}
