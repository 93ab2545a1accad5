using StreamGuard.Text;

namespace StreamGuard.Kafka;

/// <summary>
/// The partition a plate belongs to: Kafka's default partitioner for keyed records (the Java client's, KafkaJS's
/// default, librdkafka's <c>murmur2_random</c>) over the normalised plate — <c>(murmur2(plate) &amp; 0x7fffffff) %
/// n</c>. Reads, queries and holds of one plate meet in the worker that owns this partition, whatever partitioner their
/// producers used: a record that arrives elsewhere is forwarded through a repartition topic, as Kafka Streams does.
/// </summary>
public static class PlatePartitioner
{
    /// <summary>The plate's partition among <paramref name="partitions"/>, from the record's key (normalised first), or
    /// from the value's <c>plate</c> member when the key is missing or not a plate; -1 when neither holds a
    /// plate.</summary>
    public static int PartitionOf(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, int partitions)
    {
        if (!Plate.TryPack(key, out ulong plate) &&
            !(JsonMembers.TryGetString(value, "plate"u8, out ReadOnlySpan<byte> text)
                && Plate.TryPack(text, out plate)))
        {
            return -1;
        }
        Span<byte> normalised = stackalloc byte[Plate.MaxLength];
        int n = Plate.Unpack(plate, normalised);
        return (Murmur2(normalised[..n]) & 0x7fffffff) % partitions;
    }

    /// <summary>Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2).</summary>
    public static int Murmur2(ReadOnlySpan<byte> data)
    {
        const uint m = 0x5bd1e995;
        const int r = 24;
        int length = data.Length;
        uint h = 0x9747b28c ^ (uint)length;
        int length4 = length / 4;
        for (int i = 0; i < length4; i++)
        {
            int i4 = i * 4;
            uint k = data[i4] | ((uint)data[i4 + 1] << 8) | ((uint)data[i4 + 2] << 16) | ((uint)data[i4 + 3] << 24);
            k *= m;
            k ^= k >> r;
            k *= m;
            h *= m;
            h ^= k;
        }
        int tail = length & ~3;
        switch (length % 4)
        {
            case 3:
                h ^= (uint)data[tail + 2] << 16;
                goto case 2;
            case 2:
                h ^= (uint)data[tail + 1] << 8;
                goto case 1;
            case 1:
                h ^= data[tail];
                h *= m;
                break;
        }
        h ^= h >> 13;
        h *= m;
        h ^= h >> 15;
        return (int)h;
    }
}
