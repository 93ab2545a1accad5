using System.Diagnostics;
using System.Text.Json;
using Confluent.Kafka;
using HdrHistogram;
using StreamGuard.Text;

namespace StreamGuard.Cli.Commands;

/// <summary>
/// The bench's downstream consumer: reads the audit topic (StreamGuard) or its stand-in (the pass-through pipe) and,
/// the first time it sees a record of read N, records now − N's intended send time. Reads every
/// <c>sample</c>-th partition only (the plates are random, so this is a uniform sample), to take less CPU from the
/// system measured.
/// </summary>
internal sealed class BenchReader
{
    private readonly BenchLoad _load;
    private readonly bool _auditFormat;
    private readonly int _firstTimed;
    private readonly bool[] _seen;
    private long _startTicks;
    private long _allocated;
    private int _timedSeen;
    private long _lastSeenTicks;

    /// <param name="load">The step's events.</param>
    /// <param name="auditFormat">True: StreamGuard's audit records (an <c>ingest</c> record names the read in
    /// <c>reads</c>); false: the pipe's copy of the input (top-level <c>read_id</c>).</param>
    /// <param name="firstTimed">Events before this index are warm-up: seen, not recorded.</param>
    public BenchReader(BenchLoad load, bool auditFormat, int firstTimed)
    {
        _load = load;
        _auditFormat = auditFormat;
        _firstTimed = firstTimed;
        _seen = new bool[load.Count];
    }

    /// <summary>Microseconds from intended send time to first output seen, timed events only.</summary>
    public LongHistogram Latency { get; } = new(1, 600_000_000, 3);

    /// <summary>Stopwatch timestamp of event 0's intended send time; set before the first event is sent.</summary>
    public long StartTicks { get => Volatile.Read(ref _startTicks); set => Volatile.Write(ref _startTicks, value); }

    public int TimedSeen => Volatile.Read(ref _timedSeen);

    public long LastSeenTicks => Volatile.Read(ref _lastSeenTicks);

    /// <summary>Bytes this reader's thread has allocated so far (to leave them out of the worker's figure).</summary>
    public long Allocated => Volatile.Read(ref _allocated);

    public void Run(string bootstrap, string topic, IEnumerable<int> partitions, int fetchWaitMs, CancellationToken ct)
    {
        var config = new ConsumerConfig
        {
            BootstrapServers = bootstrap, GroupId = "streamguard-bench-reader", ClientId = "bench-reader",
            EnableAutoCommit = false, IsolationLevel = IsolationLevel.ReadCommitted,
            // The embedded broker holds a fetch for the full wait even when data arrives: keep it short.
            FetchWaitMaxMs = fetchWaitMs,
        };
        using IConsumer<Ignore, byte[]> consumer = new ConsumerBuilder<Ignore, byte[]>(config).Build();
        consumer.Assign(partitions.Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        while (!ct.IsCancellationRequested)
        {
            ConsumeResult<Ignore, byte[]>? r = consumer.Consume(TimeSpan.FromMilliseconds(20));
            if (r?.Message?.Value is { } value)
            {
                long now = Stopwatch.GetTimestamp();
                // An audit message is a block, one entry per line (a pipe's block: one input's value per line).
                ReadOnlySpan<byte> rest = value;
                while (!rest.IsEmpty)
                {
                    int end = rest.IndexOf((byte)'\n');
                    ReadOnlySpan<byte> line = end < 0 ? rest : rest[..end];
                    rest = end < 0 ? [] : rest[(end + 1)..];
                    Seen(_auditFormat ? ReadOfEntry(line) : ReadOfCopy(line), now);
                }
            }
            Volatile.Write(ref _allocated, GC.GetAllocatedBytesForCurrentThread());
        }
        consumer.Close();
    }

    private int ReadOfCopy(ReadOnlySpan<byte> value) =>
        JsonMembers.TryGetString(value, "read_id"u8, out ReadOnlySpan<byte> id) ? _load.IndexOfReadId(id) : -1;

    private void Seen(int i, long now)
    {
        if (i < 0 || _seen[i]) return;
        _seen[i] = true;
        if (i < _firstTimed) return;
        long due = StartTicks + _load.DueTicks(i);
        Latency.RecordValue(Math.Max(1, (now - due) * 1_000_000 / Stopwatch.Frequency));
        Volatile.Write(ref _lastSeenTicks, now);
        Interlocked.Increment(ref _timedSeen);
    }

    /// <summary>The read an audit entry decided (its <c>read</c> member), or -1 for any other line.</summary>
    private int ReadOfEntry(ReadOnlySpan<byte> line) =>
        JsonMembers.TryGetString(line, "read"u8, out ReadOnlySpan<byte> id) ? _load.IndexOfReadId(id) : -1;
}
