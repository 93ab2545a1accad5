using Confluent.Kafka;

namespace StreamGuard.Kafka;

/// <summary>
/// A consumed record's key or value, copied into a buffer that is reused for the next record: the worker reads each
/// record before it consumes the next, so it needs no array of its own per record (Confluent.Kafka's <c>byte[]</c>
/// deserializer allocates one for the key and one for the value of every record). Valid until the next
/// <c>Consume</c> of the consumer it came from; never keep it.
/// </summary>
public sealed class ConsumedBytes
{
    private byte[] _buffer = new byte[1024];

    /// <summary>The bytes; empty for a null key or value.</summary>
    public ReadOnlySpan<byte> Span => new(_buffer, 0, Length);

    public int Length { get; private set; }

    /// <summary>A null key or value (Kafka distinguishes it from an empty one).</summary>
    public bool IsNull { get; private set; }

    /// <summary>A copy that outlives the next record (cold paths only: it allocates).</summary>
    public byte[]? ToArray() => IsNull ? null : Span.ToArray();

    private void Set(ReadOnlySpan<byte> data, bool isNull)
    {
        IsNull = isNull;
        Length = isNull ? 0 : data.Length;
        if (isNull) return;
        // Grows to the largest record seen (bounded by the consumer's fetch and message size limits), then stays.
        if (data.Length > _buffer.Length) _buffer = new byte[Math.Max(data.Length, _buffer.Length * 2)];
        data.CopyTo(_buffer);
    }

    /// <summary>
    /// A consumer over <paramref name="config"/> (copied) whose keys and values are reused <see cref="ConsumedBytes"/>
    /// and whose results carry topic and timestamp, and headers only when asked: without them Confluent.Kafka builds
    /// no header collection per record. The worker's input consumer and the bench's pass-through pipe.
    /// </summary>
    public static ConsumerBuilder<ConsumedBytes, ConsumedBytes> ConsumerBuilder(ConsumerConfig config, bool headers) =>
        new ConsumerBuilder<ConsumedBytes, ConsumedBytes>(new ConsumerConfig(new Dictionary<string, string>(config))
        {
            ConsumeResultFields = headers ? "topic,timestamp,headers" : "topic,timestamp",
        })
            .SetKeyDeserializer(new Deserializer())
            .SetValueDeserializer(new Deserializer());

    /// <summary>
    /// A deserializer that fills one <see cref="ConsumedBytes"/> again for every record. One per key and one per value
    /// of each consumer (it is called on the consuming thread, inside <c>Consume</c>).
    /// </summary>
    public sealed class Deserializer : IDeserializer<ConsumedBytes>
    {
        private readonly ConsumedBytes _bytes = new();

        public ConsumedBytes Deserialize(ReadOnlySpan<byte> data, bool isNull, SerializationContext context)
        {
            _bytes.Set(data, isNull);
            return _bytes;
        }
    }
}
