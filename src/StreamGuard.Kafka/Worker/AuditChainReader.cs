using System.Text.Json;
using Confluent.Kafka;
using StreamGuard.Audit;

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
    /// read_committed from the end backwards (a window that grows until the chain's last
    /// <see cref="AuditTailVerifier.TailBlocks"/> blocks are in it, or the partition's start is reached); null when
    /// the chain has no record yet. The tail is checked first (<paramref name="tails"/>: links and keyed salts, back
    /// to its oldest block read, or to the genesis when the whole chain was read): a break throws
    /// <see cref="AuditChainBrokenException"/>, and the worker stops instead of chaining its decisions onto a block it
    /// did not write.
    /// </summary>
    public static (long Seq, string Hash, long AtMs)? FindHead(ConsumerConfig baseConfig, TopicPartition partition,
        string chain, TimeSpan timeout, AuditTailVerifier tails)
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
            // The chain's messages in the window, oldest first, with their offsets and what their last line says.
            var blocks = new List<(long Offset, byte[] Message, long Seq, string Hash, long AtMs)>();
            while (true)
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"reading the head of audit chain " +
                    $"{chain} from {partition} timed out");
                ConsumeResult<Ignore, byte[]>? r = consumer.Consume(TimeSpan.FromMilliseconds(200));
                if (r is null) continue;
                if (r.IsPartitionEOF) break;
                if (TryRead(r.Message.Value, out string? name, out long seq, out string? hash, out long at)
                    && name == chain)
                {
                    blocks.Add((r.Offset.Value, r.Message.Value, seq, hash!, at));
                }
            }
            consumer.Unassign();
            bool whole = start == marks.Low.Value;
            // The window reaches back to a v2 block too: v1 records carry no keyed salt, so a tail of them alone
            // (appended after the chain's last genuine block) would pass unchecked.
            if ((blocks.Count >= AuditTailVerifier.TailBlocks && blocks.Exists(b => IsCompact(b.Message))) || whole)
            {
                if (blocks.Count == 0) return null;
                int from = Math.Max(0, blocks.Count - AuditTailVerifier.TailBlocks);
                bool fromGenesis = from == 0 && whole;
                var tail = blocks.GetRange(from, blocks.Count - from);
                if (tails.Check(chain, tail.ConvertAll(b => b.Message), fromGenesis) is { } broken)
                {
                    throw new AuditChainBrokenException(chain, partition, tail[broken.Block].Offset, broken.Reason);
                }
                (_, _, long headSeq, string headHash, long headAt) = blocks[^1];
                return (headSeq, headHash, headAt);
            }
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

    /// <summary>Whether a message is a v2 block: its last line, the seal, carries a salt (a v1 record does
    /// not).</summary>
    private static bool IsCompact(byte[] message)
    {
        ReadOnlySpan<byte> m = message;
        int lastLine = m.TrimEnd((byte)'\n').LastIndexOf((byte)'\n');
        return m[(lastLine + 1)..].IndexOf("\"salt\":"u8) >= 0;
    }

    /// <summary>The audit partition that holds chain <c>p&lt;inputPartition&gt;</c>.</summary>
    public static int PartitionOf(int inputPartition, int auditPartitions) => inputPartition % auditPartitions;
}

/// <summary>
/// The tail of an audit chain a worker was to continue does not hold: a block StreamGuard did not write (its keyed salt
/// is wrong), or one that does not follow the block before it. The worker stops (exit 1) rather than chain its
/// decisions onto it; docs/threat-model.md says what the operator does.
/// </summary>
public sealed class AuditChainBrokenException(string chain, TopicPartition partition, long offset, string reason)
    : Exception($"audit chain {chain} does not verify at {partition.Topic} partition " +
        $"{partition.Partition.Value} offset {offset}: {reason}; refusing to resume it (it may hold a forged block: " +
        "investigate before restarting, see docs/threat-model.md)");
