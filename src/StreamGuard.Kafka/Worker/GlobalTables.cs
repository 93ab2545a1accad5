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
    /// Reads every partition of the hotlist and hold topics that exist to its end into <paramref name="engine"/>;
    /// null when neither exists. There is no partial start: it returns only once every partition reached its end,
    /// however long that takes (a table read in part would let a read be decided without its holds and hotlist
    /// entries), saying in the log every flush timeout how far it got; <paramref name="cancellationToken"/> ends the
    /// wait (the worker stops).
    /// </summary>
    public static GlobalTables? Load(ConsumerConfig config, WorkerOptions options, WorkerTopology topology,
        StreamGuardEngine engine, ILogger log, CancellationToken cancellationToken)
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
        var tables = new GlobalTables(consumer, t, engine, log);
        try
        {
            consumer.Assign(partitions);
            tables.ReadToEnd(partitions.Count, options.FlushTimeout, cancellationToken);
        }
        catch
        {
            consumer.Dispose();
            throw;
        }
        WorkerLog.TablesLoaded(log, engine.Hotlists.Count, engine.Holds.Count, partitions.Count);
        return tables;
    }

    /// <summary>
    /// Applies records until each of the <paramref name="partitions"/> assigned reported its end (every partition
    /// reports it once it has read to the end offset it saw), logging progress every <paramref name="progressEvery"/>
    /// (at least a second); a consume error is logged and the read goes on, a fatal one throws.
    /// </summary>
    private void ReadToEnd(int partitions, TimeSpan progressEvery, CancellationToken cancellationToken)
    {
        var ended = new HashSet<(string, int)>();
        long records = 0;
        var started = System.Diagnostics.Stopwatch.StartNew();
        TimeSpan every = progressEvery > TimeSpan.FromSeconds(1) && progressEvery < TimeSpan.FromMinutes(10)
            ? progressEvery
            : TimeSpan.FromSeconds(10);
        TimeSpan nextProgress = every;
        while (ended.Count < partitions)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (started.Elapsed >= nextProgress)
            {
                WorkerLog.TablesLoading(_log, ended.Count, partitions, records, (long)started.Elapsed.TotalSeconds);
                nextProgress = started.Elapsed + every;
            }
            ConsumeResult<byte[]?, byte[]?>? r;
            try
            {
                r = _consumer.Consume(TimeSpan.FromMilliseconds(200));
            }
            catch (ConsumeException e) when (!e.Error.IsFatal)
            {
                WorkerLog.HotlistsConsumeError(_log, e.Error.Reason);
                continue;
            }
            if (r is null) continue;
            if (r.IsPartitionEOF)
            {
                ended.Add((r.Topic, r.Partition.Value));
                continue;
            }
            Apply(r);
            records++;
        }
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
