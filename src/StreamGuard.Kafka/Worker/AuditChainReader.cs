using System.Text.Json;
using Confluent.Kafka;

namespace StreamGuard.Kafka;

/// <summary>
/// Finds the head of an audit chain in <c>streamguard.audit</c>: the seal of the last committed block of chain
/// <c>pN</c>, which
/// lives in audit partition N mod (audit partitions). A worker assigned input partition N continues the chain from
/// there, so a restart or a rebalance never starts a second chain or repeats a sequence number.
/// </summary>
internal static class AuditChainReader
{
    /// <summary>
    /// The (seq, hash, at) of the last block of <paramref name="chain"/> in <paramref name="partition"/>, read with
    /// read_committed from the end backwards (a window that grows until the chain is found or the partition's start is
    /// reached); null when the chain has no record yet.
    /// </summary>
    public static (long Seq, string Hash, long AtMs)? FindHead(ConsumerConfig baseConfig, TopicPartition partition,
        string chain, TimeSpan timeout)
    {
        var config = new ConsumerConfig(new Dictionary<string, string>(baseConfig))
        {
            // assignment only: never joins, never commits
            GroupId = (baseConfig.GroupId ?? "streamguard") + "-chain-reader",
            EnableAutoCommit = false,
            EnablePartitionEof = true,
            IsolationLevel = IsolationLevel.ReadCommitted,
        };
        using IConsumer<Ignore, byte[]> consumer = new ConsumerBuilder<Ignore, byte[]>(config).Build();
        WatermarkOffsets marks = consumer.QueryWatermarkOffsets(partition, timeout);
        if (marks.High.Value <= marks.Low.Value) return null;
        long window = 64;
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            long start = Math.Max(marks.Low.Value, marks.High.Value - window);
            consumer.Assign(new TopicPartitionOffset(partition, new Offset(start)));
            (long Seq, string Hash, long AtMs)? head = null;
            while (true)
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"reading the head of audit chain " +
                    $"{chain} from {partition} timed out");
                ConsumeResult<Ignore, byte[]>? r = consumer.Consume(TimeSpan.FromMilliseconds(200));
                if (r is null) continue;
                if (r.IsPartitionEOF) break;
                if (TryRead(r.Message.Value, out string? name, out long seq, out string? hash, out long at)
                    && name == chain) head = (seq, hash!, at);
            }
            consumer.Unassign();
            if (head is not null || start == marks.Low.Value) return head;
            window *= 8;
        }
    }

    /// <summary>
    /// The chain, last seq, hash and time of an audit message: a block's seal (its last line), or a v1 record (one
    /// decision, with <c>prev</c> and <c>hash</c>), which a chain continued by this version may end with.
    /// </summary>
    internal static bool TryRead(byte[]? message, out string? chain, out long seq, out string? hash, out long atMs)
    {
        chain = hash = null;
        seq = 0;
        atMs = long.MinValue;
        if (message is null) return false;
        ReadOnlySpan<byte> last = message;
        int newline = last.TrimEnd((byte)'\n').LastIndexOf((byte)'\n');
        if (newline >= 0) last = last[(newline + 1)..];
        try
        {
            var reader = new Utf8JsonReader(last);
            using var doc = JsonDocument.ParseValue(ref reader);
            JsonElement root = doc.RootElement;
            chain = root.GetProperty("chain").GetString();
            seq = root.GetProperty("seq").GetInt64();
            hash = root.GetProperty("hash").GetString();
            if (root.TryGetProperty("at", out JsonElement at) && at.GetString() is { } text)
            {
                StreamGuard.Text.Rfc3339.TryParse(System.Text.Encoding.UTF8.GetBytes(text), out atMs);
            }
            return chain is not null && hash is { Length: 64 };
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException
            or FormatException)
        {
            return false; // not a StreamGuard block: ignored (audit verify reports it)
        }
    }

    /// <summary>The audit partition that holds chain <c>p&lt;inputPartition&gt;</c>.</summary>
    public static int PartitionOf(int inputPartition, int auditPartitions) => inputPartition % auditPartitions;
}
