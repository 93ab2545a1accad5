using System.Buffers;
using System.Text.Json;
using StreamGuard.Text;

namespace StreamGuard.Kafka;

/// <summary>
/// The partition a plate belongs to: Kafka's default partitioner for keyed records (the Java client's, KafkaJS's
/// default, librdkafka's <c>murmur2_random</c>) over the normalised plate — <c>(murmur2(plate) &amp; 0x7fffffff) %
/// n</c>. Reads, queries and holds of one plate meet in the worker that owns this partition, whatever partitioner their
/// producers used: a record that arrives elsewhere is forwarded through a repartition topic, as Kafka Streams does.
/// </summary>
/// <remarks>
/// A record's plate is its body's <c>plate</c>, read as the engine's parser reads it (top-level member, names and
/// values unescaped), because that is the plate the engine decides, stores and searches by: a key naming another
/// plate must not put the record where searches for its plate never look. The key counts only when the body has no
/// plate, and such a record is rejected wherever it is decided.
/// </remarks>
public static class PlatePartitioner
{
    /// <summary>Longest escaped member name looked at (as the engine's parser: longer names are no member of it).
    /// </summary>
    private const int LongestEscapedName = 192;

    /// <summary>Longest plate text unescaped on the stack; a longer one goes through a pooled buffer.</summary>
    private const int StackPlateBytes = 256;

    /// <summary>The plate's partition among <paramref name="partitions"/>: the body's <c>plate</c> member's, else the
    /// record key's (normalised); -1 when neither holds a plate.</summary>
    public static int PartitionOf(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, int partitions)
    {
        if (!TryBodyPlate(value, out ulong plate) && !Plate.TryPack(key, out plate)) return -1;
        Span<byte> normalised = stackalloc byte[Plate.MaxLength];
        int n = Plate.Unpack(plate, normalised);
        return (Murmur2(normalised[..n]) & 0x7fffffff) % partitions;
    }

    /// <summary>
    /// True when the key is a plate and the body holds another one (after normalisation): a record its producer
    /// partitioned by a plate it is not about.
    /// </summary>
    public static bool KeyDisagrees(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) =>
        Plate.TryPack(key, out ulong keyPlate) && TryBodyPlate(value, out ulong bodyPlate) && keyPlate != bodyPlate;

    /// <summary>
    /// The packed plate of the body's first top-level <c>plate</c> member, when it is a string that normalises to a
    /// plate. Where the engine's parser accepts the event this is its plate: both read the first such member (a
    /// second one makes the event invalid), unescape names and values, and skip everything else.
    /// </summary>
    public static bool TryBodyPlate(ReadOnlySpan<byte> value, out ulong plate)
    {
        plate = 0;
        if (value.IsEmpty) return false;
        try
        {
            var reader = new Utf8JsonReader(value);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isPlate = IsPlateName(ref reader);
                if (!reader.Read()) return false;
                if (!isPlate)
                {
                    reader.Skip();
                    continue;
                }
                if (reader.TokenType != JsonTokenType.String) return false;
                if (!reader.ValueIsEscaped) return Plate.TryPack(reader.ValueSpan, out plate);
                return UnescapedPlate(ref reader, out plate);
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // Not JSON the engine accepts (or an escape that is not valid UTF-8): it is rejected wherever decided.
        }
        return false;
    }

    private static bool IsPlateName(ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped) return reader.ValueSpan.SequenceEqual("plate"u8);
        if (reader.ValueSpan.Length > LongestEscapedName) return false;
        Span<byte> name = stackalloc byte[LongestEscapedName];
        int written = reader.CopyString(name);
        return name[..written].SequenceEqual("plate"u8);
    }

    private static bool UnescapedPlate(ref Utf8JsonReader reader, out ulong plate)
    {
        // Unescaping never lengthens a string.
        int length = reader.ValueSpan.Length;
        if (length <= StackPlateBytes)
        {
            Span<byte> text = stackalloc byte[StackPlateBytes];
            int n = reader.CopyString(text);
            return Plate.TryPack(text[..n], out plate);
        }
        byte[] rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            int n = reader.CopyString(rented);
            return Plate.TryPack(rented.AsSpan(0, n), out plate);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
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
