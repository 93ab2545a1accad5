using Confluent.Kafka;

namespace StreamGuard.Kafka;

/// <summary>
/// The last line of defence against an output Kafka refuses for its size (docs/reliability.md, "Poison inputs"): the
/// engine bounds what it writes (answers by <c>MaxResultBytes</c>, audit entries and blocks by construction), and the
/// sink checks every record against the producer's <c>message.max.bytes</c> before producing it.
/// </summary>
/// <remarks>
/// A record over the limit — or one the producer refuses itself (too large, invalid) — is not produced: the sink
/// counts it and marks the event being dispatched, and the worker dead-letters that event with <c>oversized_output</c>
/// (<see cref="TakeOversized"/>). Nothing is retried: the same event would make the same output again. An audit block
/// cannot be left out (the chain would break); blocks are bounded far below the smallest limit the worker accepts
/// (<see cref="MinRecordBytes"/>), so one refused stops the worker.
/// </remarks>
public sealed partial class KafkaOutputSink
{
    /// <summary>librdkafka's default <c>message.max.bytes</c>.</summary>
    public const int DefaultMaxRecordBytes = 1_000_000;

    /// <summary>
    /// The smallest <c>message.max.bytes</c> the worker runs with: an audit block (at most 512 KiB) and its framing.
    /// </summary>
    public const int MinRecordBytes = 512 * 1024 + RecordOverheadBytes;

    /// <summary>
    /// Room for a record's framing on top of key, value and headers: librdkafka counts the record's own overhead (a few
    /// dozen bytes) into <c>message.max.bytes</c>; a broker also counts its batch's header.
    /// </summary>
    private const int RecordOverheadBytes = 512;

    private int _maxRecordBytes = DefaultMaxRecordBytes;
    private long _oversized;
    private bool _eventOversized;

    /// <summary>
    /// The producer's <c>message.max.bytes</c>: larger records are not produced. At least <see cref="MinRecordBytes"/>.
    /// </summary>
    public int MaxRecordBytes
    {
        get => _maxRecordBytes;
        set
        {
            if (value < MinRecordBytes)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value,
                    $"message.max.bytes must be at least {MinRecordBytes} (an audit block and its framing)");
            }
            _maxRecordBytes = value;
        }
    }

    /// <summary>Outputs not produced because Kafka would refuse them for their size (or the producer did).</summary>
    public long OversizedOutputs => Interlocked.Read(ref _oversized);

    /// <summary>
    /// Whether an output of the event dispatched since the last call was not produced (the worker then dead-letters
    /// the event); clears the mark.
    /// </summary>
    internal bool TakeOversized()
    {
        bool oversized = _eventOversized;
        _eventOversized = false;
        return oversized;
    }

    /// <summary>Whether a record of this key, value and headers fits <see cref="MaxRecordBytes"/>.</summary>
    private bool Fits(byte[]? key, int valueLength, Headers? headers)
    {
        long bytes = (long)(key?.Length ?? 0) + valueLength + RecordOverheadBytes;
        if (headers is not null)
        {
            for (int i = 0; i < headers.Count; i++)
            {
                IHeader h = headers[i];
                bytes += h.Key.Length + (h.GetValueBytes()?.Length ?? 0);
            }
        }
        return bytes <= _maxRecordBytes;
    }

    /// <summary>An output of the event being dispatched was not produced.</summary>
    private void Oversized()
    {
        Interlocked.Increment(ref _oversized);
        _eventOversized = true;
    }
}
