using System.Diagnostics;
using Confluent.Kafka;

namespace StreamGuard.Cli.Commands;

/// <summary>
/// Follows a topic from its beginning into an NDJSON file while the demo runs: the embedded cluster keeps at
/// most 5 MiB per partition, so the audit trail is read as it is written, not after.
/// </summary>
internal sealed class TopicTail : IDisposable
{
    private readonly IConsumer<Ignore, byte[]> _consumer;
    private readonly FileStream _file;
    private readonly Thread _thread;
    private volatile bool _stopping;
    private long _count;

    public TopicTail(string bootstrap, string topic, int partitions, string path)
    {
        _consumer = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrap, GroupId = "streamguard-demo-audit-reader", EnableAutoCommit = false,
            IsolationLevel = IsolationLevel.ReadCommitted, FetchWaitMaxMs = 50,
        }).Build();
        _consumer.Assign(
            Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        _file = new FileStream(path, FileMode.Create, FileAccess.Write);
        _thread = new Thread(Run) { Name = "demo-audit-tail", IsBackground = true };
        _thread.Start();
    }

    /// <summary>Audit entries read so far (a block's lines less its seal).</summary>
    public long Count => Interlocked.Read(ref _count);

    private void Run()
    {
        while (!_stopping)
        {
            ConsumeResult<Ignore, byte[]>? r = _consumer.Consume(TimeSpan.FromMilliseconds(100));
            if (r is null || r.IsPartitionEOF) continue;
            _file.Write(r.Message.Value);
            _file.WriteByte((byte)'\n');
            // A block's lines are its entries and, last, its seal.
            Interlocked.Add(ref _count, r.Message.Value.AsSpan().Count((byte)'\n'));
        }
    }

    /// <summary>Waits until <paramref name="expected"/> entries were read (or the timeout), then stops.</summary>
    public long Finish(long expected, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (Count < expected && deadline.Elapsed < timeout) Thread.Sleep(50);
        _stopping = true;
        _thread.Join();
        _file.Flush();
        return Count;
    }

    public void Dispose()
    {
        _stopping = true;
        _thread.Join();
        _consumer.Close();
        _consumer.Dispose();
        _file.Dispose();
    }
}
