using System.Buffers.Text;
using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using StreamGuard.Engine;
using StreamGuard.Generation;
using StreamGuard.Kafka;
using StreamGuard.Text;

namespace StreamGuard.Cli.Commands;

/// <summary>
/// One bench step's input, generated before the clock starts: reads and 2.5% signed queries (1% malformed), each with
/// its intended send time (event i at <c>start + i / rate</c>) and, for a valid read, the partition its audit chain
/// lives on — the partition whose records tell the reader when the read was decided.
/// </summary>
internal sealed class BenchLoad
{
    private readonly int[] _indexOfReadSeq;

    private BenchLoad(Message<byte[]?, byte[]>[] messages, bool[] isQuery, int[] chainPartition, int[] indexOfReadSeq,
        double rate)
    {
        Messages = messages;
        IsQuery = isQuery;
        ChainPartition = chainPartition;
        _indexOfReadSeq = indexOfReadSeq;
        Rate = rate;
    }

    public Message<byte[]?, byte[]>[] Messages { get; }

    public bool[] IsQuery { get; }

    /// <summary>
    /// Input partition of a valid read (its chain <c>pN</c>), or -1: malformed reads and queries are not timed.
    /// </summary>
    public int[] ChainPartition { get; }

    public double Rate { get; }

    public int Count => Messages.Length;

    /// <summary>
    /// Intended send time of event <paramref name="i"/> in <see cref="Stopwatch"/> ticks after the start.
    /// </summary>
    public long DueTicks(int i) => (long)(i * (Stopwatch.Frequency / Rate));

    /// <summary>
    /// The event whose read id is <paramref name="readId"/> (<c>r&lt;seed&gt;-&lt;hex seq&gt;</c>), or -1.
    /// </summary>
    public int IndexOfReadId(ReadOnlySpan<byte> readId)
    {
        int dash = readId.LastIndexOf((byte)'-');
        if (dash < 0 || !Utf8Parser.TryParse(readId[(dash + 1)..], out uint seq, out int used, 'x')
            || used != readId.Length - dash - 1)
        {
            return -1;
        }
        return seq < (uint)_indexOfReadSeq.Length ? _indexOfReadSeq[seq] : -1;
    }

    public static BenchLoad Generate(CompiledPolicy policy, double rate, int count, int partitions, int seed)
    {
        var traffic = new SyntheticTraffic(policy.Document,
            TrafficOptions.Default with { Seed = seed, MalformedShare = 0.01 });
        var messages = new Message<byte[]?, byte[]>[count];
        var isQuery = new bool[count];
        var chain = new int[count];
        var indexOfSeq = new int[count + 2];
        Array.Fill(indexOfSeq, -1);
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        for (int i = 0; i < count; i++)
        {
            // Event time = intended send time (ms): the engine's clock checks see what a live camera would send.
            long at = now + (long)(i * 1000 / rate);
            bool query = i % 40 == 39;
            ReadOnlyMemory<byte> value = query ? traffic.NextQuery(at) : traffic.NextRead(at);
            string? plate = traffic.LastPlate;
            byte[]? key = plate is null ? null : Encoding.ASCII.GetBytes(plate);
            messages[i] = new Message<byte[]?, byte[]> { Key = key, Value = value.ToArray() };
            isQuery[i] = query;
            chain[i] = -1;
            if (!query && plate is not null
                && JsonMembers.TryGetString(value.Span, "read_id"u8, out ReadOnlySpan<byte> id))
            {
                int dash = id.LastIndexOf((byte)'-');
                if (Utf8Parser.TryParse(id[(dash + 1)..], out uint seq, out _, 'x') && seq < (uint)indexOfSeq.Length)
                {
                    indexOfSeq[seq] = i;
                    chain[i] = PlatePartitioner.PartitionOf(key, value.Span, partitions);
                }
            }
        }
        return new BenchLoad(messages, isQuery, chain, indexOfSeq, rate);
    }
}
