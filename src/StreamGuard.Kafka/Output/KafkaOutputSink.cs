using Confluent.Kafka;
using StreamGuard.Audit;
using StreamGuard.Engine;
using StreamGuard.Output;

namespace StreamGuard.Kafka;

/// <summary>
/// Produces the engine's outputs to their topics: each delivery, alert, result and purge notice to its agency's own
/// topic (<see cref="TopicNames.ForAgency"/>), audit blocks and dead letters to theirs. Delivery failures are counted
/// and kept so the worker never commits input offsets past an output that did not reach the broker.
/// </summary>
public sealed partial class KafkaOutputSink : IOutputSink
{
    private readonly IProducer<byte[], byte[]> _producer;
    private readonly TopicNames _topics;
    private readonly Action<DeliveryReport<byte[], byte[]>> _onDelivery;
    private readonly int _auditPartitions;
    private readonly AckProbes? _ackProbes;
    private long _deliveryErrors;
    private Error? _firstError;

    // Reused for every output: Confluent.Kafka copies key, value and headers into librdkafka during Produce
    // (RD_KAFKA_MSG_F_COPY) and takes byte[] only, so exact-length scratch arrays stand in for a copy per record.
    private readonly Message<byte[], byte[]> _message = new();
    private readonly ExactLengthArrays _keys = new(maxLength: 1024, budget: 256 * 1024);
    private readonly ExactLengthArrays _values = new(maxLength: 256 * 1024, budget: 16 * 1024 * 1024);
    private readonly ExactLengthArrays _decisionIds = new(maxLength: 1024, budget: 256 * 1024);
    private readonly Headers _sharedHeaders = new();
    private readonly ReusedHeader _recipientHeader = new("sg-recipient");
    private readonly ReusedHeader _decisionHeader = new("sg-decision");
    private readonly TopicPartition _auditByKey, _deadLetter;
    private readonly TopicPartition[] _auditByPartition;
    private readonly Message<byte[], byte[]> _forwardMessage = new();
    private readonly Headers _originHeaders = new();
    private readonly ReusedHeader _originHeader = new("sg-origin");
    private readonly ExactLengthArrays _origins = new(maxLength: 1536, budget: 256 * 1024);
    private TopicPartition[] _repartitionReads = [], _repartitionQueries = [];
    private byte[][] _chainKeys = [];

    /// <param name="producer">The worker's producer (transactional or idempotent).</param>
    /// <param name="topics">Output topic names.</param>
    /// <param name="auditPartitions">Partitions of the audit topic: chain <c>pN</c> goes to partition N mod this, so
    /// its head can be found again (<see cref="AuditChainReader"/>); 0 = by key.</param>
    /// <param name="ackLatency">Where sampled events' consumed → outputs acknowledged latency goes
    /// (<see cref="AckLatency"/>); null = not measured.</param>
    /// <param name="sampleEvery">Times every this many-th event that produces outputs (1 = every one).</param>
    public KafkaOutputSink(IProducer<byte[], byte[]> producer, TopicNames topics, int auditPartitions = 0,
        SharedLatencyHistogram? ackLatency = null, int sampleEvery = 8)
    {
        _producer = producer;
        _topics = topics;
        _auditPartitions = auditPartitions;
        _agencyLookup = _agencies.GetAlternateLookup<ReadOnlySpan<byte>>();
        _auditByKey = new TopicPartition(topics.Audit, Partition.Any);
        _deadLetter = new TopicPartition(topics.DeadLetter, Partition.Any);
        _auditByPartition = new TopicPartition[Math.Max(0, auditPartitions)];
        for (int p = 0; p < _auditByPartition.Length; p++) _auditByPartition[p] = new TopicPartition(topics.Audit, p);
        _sharedHeaders.Add(_recipientHeader);
        _sharedHeaders.Add(_decisionHeader);
        _originHeaders.Add(_originHeader);
        _forwardMessage.Headers = _originHeaders;
        _onDelivery = CountDelivery;
        if (ackLatency is not null)
        {
            AckLatency = ackLatency;
            _ackProbes = new AckProbes(ackLatency, sampleEvery, _onDelivery);
        }
    }

    /// <summary>Consumed → every output acknowledged, for sampled events (<see cref="AckProbes"/>); null when not
    /// measured.</summary>
    public SharedLatencyHistogram? AckLatency { get; }

    /// <summary>
    /// Before an event is dispatched (the worker's thread): times its outputs to their acknowledgement if it is the
    /// sampled one. <paramref name="consumedTicks"/> is the <see cref="System.Diagnostics.Stopwatch"/> timestamp the
    /// event was consumed at.
    /// </summary>
    internal void BeginEvent(long consumedTicks) => _ackProbes?.BeginEvent(consumedTicks);

    /// <summary>
    /// After the event's dispatch (the worker's thread): its outputs are all handed over. Returns whether it was timed
    /// and produced outputs (a forward is not an output of its event: that is timed where it is decided).
    /// </summary>
    internal bool EndEvent(int auditChain = -1) => _ackProbes?.EndEvent(auditChain) ?? false;

    private void CountDelivery(DeliveryReport<byte[], byte[]> report)
    {
        if (report.Error.IsError)
        {
            Interlocked.Increment(ref _deliveryErrors);
            Interlocked.CompareExchange(ref _firstError, report.Error, null);
        }
    }

    public long DeliveryErrors => Interlocked.Read(ref _deliveryErrors);

    public Error? FirstError => _firstError;

    public long Produced { get; private set; }

    public void Shared(ReadOnlySpan<byte> recipient, ReadOnlySpan<byte> readId, ReadOnlySpan<byte> decisionId,
        ReadOnlySpan<byte> read)
    {
        AgencyTopics to = TopicsOf(recipient);
        _recipientHeader.Value = to.Id;
        _decisionHeader.Value = _decisionIds.Copy(decisionId);
        Produce(to, OutputKind.Shared, Key(readId), read, _sharedHeaders);
    }

    public void Alert(ReadOnlySpan<byte> recipient, ReadOnlySpan<byte> hotlistId, ReadOnlySpan<byte> alert) =>
        Produce(TopicsOf(recipient), OutputKind.Alerts, Key(hotlistId), alert, null);

    public void Result(ReadOnlySpan<byte> requester, ReadOnlySpan<byte> queryId, ReadOnlySpan<byte> result) =>
        Produce(TopicsOf(requester), OutputKind.Results, Key(queryId), result, null);

    public void Purge(ReadOnlySpan<byte> agency, ReadOnlySpan<byte> readId, ReadOnlySpan<byte> notice) =>
        Produce(TopicsOf(agency), OutputKind.Purges, Key(readId), notice, null);

    public void Audit(int partition, ReadOnlySpan<byte> block)
    {
        _producedTo[AuditIndex]++;
        TopicPartition destination = _auditPartitions > 0 && partition >= 0
            ? _auditByPartition[AuditChainReader.PartitionOf(partition, _auditPartitions)]
            : _auditByKey;
        _message.Key = ChainKey(partition);
        _message.Value = _values.Copy(block);
        _message.Headers = null;
        // The timed events whose entries the block holds are acknowledged with it. A block cannot be left out (its
        // chain would break); blocks are bounded far below the smallest limit the sink accepts (MinRecordBytes).
        int sent = Send(destination, _message, null, _ackProbes?.TakeBlockWaiters(partition));
        if (sent < 0)
        {
            throw new KafkaException(new Error(ErrorCode.MsgSizeTooLarge,
                $"the producer refused an audit block of {block.Length} bytes (chain p{partition})"));
        }
        _bytesTo[AuditIndex] += sent;
    }

    /// <summary>Chain <c>p&lt;partition&gt;</c>'s name, the key of its audit records: made once per
    /// partition.</summary>
    private byte[] ChainKey(int partition)
    {
        if (partition < 0) return System.Text.Encoding.ASCII.GetBytes(AuditChains.Name(partition));
        if (partition >= _chainKeys.Length) Array.Resize(ref _chainKeys, partition + 1);
        return _chainKeys[partition] ??= System.Text.Encoding.ASCII.GetBytes(AuditChains.Name(partition));
    }

    public void DeadLetter(ReadOnlySpan<byte> record)
    {
        int sent = Produce(_deadLetter, null, record, null);
        if (sent >= 0) _bytesTo[DeadLetterIndex] += sent;
        _producedTo[DeadLetterIndex]++;
    }

    /// <summary>
    /// Sends an input record on to partition <paramref name="partition"/> of a repartition topic (its plate's
    /// partition), with header <c>sg-origin</c> naming where it first arrived, key and value as they arrived (a null
    /// key or value stays null, an empty one empty). Nothing allocated per record for the two repartition topics: the
    /// message, the header and their topic-partitions are reused; key, value and origin go through exact-length
    /// scratch arrays.
    /// </summary>
    // 2.5 KB of stack per forward, written before it is read: not zeroed
    [System.Runtime.CompilerServices.SkipLocalsInit]
    public void Forward(string topic, int partition, ReadOnlySpan<byte> key, bool keyIsNull, ReadOnlySpan<byte> value,
        bool valueIsNull, in EventSource origin)
    {
        Span<char> text = stackalloc char[512];
        Span<byte> utf8 = stackalloc byte[1536];
        // A label longer than the stack buffer (topic names are at most 249 characters) is encoded the allocating way.
        _originHeader.Value = origin.TryFormat(text, out int written)
            ? _origins.Copy(utf8[..System.Text.Encoding.UTF8.GetBytes(text[..written], utf8)])
            : System.Text.Encoding.UTF8.GetBytes(origin.ToString());
        _forwardMessage.Key = keyIsNull ? null! : key.IsEmpty ? [] : _keys.Copy(key);
        _forwardMessage.Value = valueIsNull ? null! : _values.Copy(value);
        TopicPartition destination;
        int index;
        if (topic == _topics.RepartitionReads)
        {
            destination = Repartition(ref _repartitionReads, topic, partition);
            index = RepartitionReadsIndex;
        }
        else if (topic == _topics.RepartitionQueries)
        {
            destination = Repartition(ref _repartitionQueries, topic, partition);
            index = RepartitionQueriesIndex;
        }
        else
        {
            throw new ArgumentException($"'{topic}' is not a repartition topic", nameof(topic));
        }
        _producedTo[index]++;
        // Not an output of the event: it is decided, and its outputs timed, where it is forwarded to.
        int sent = Send(destination, _forwardMessage, null);
        if (sent < 0) Oversized();
        else _bytesTo[index] += sent;
    }

    private static TopicPartition Repartition(ref TopicPartition[] byPartition, string topic, int partition)
    {
        if (partition >= byPartition.Length) Array.Resize(ref byPartition, partition + 1);
        return byPartition[partition] ??= new TopicPartition(topic, partition);
    }

    private byte[]? Key(ReadOnlySpan<byte> key) => key.IsEmpty ? null : _keys.Copy(key);

    /// <summary>An output of <paramref name="kind"/> to its agency's topic, counted there.</summary>
    private void Produce(AgencyTopics to, OutputKind kind, byte[]? key, ReadOnlySpan<byte> value, Headers? headers)
    {
        if (to.ByKind.Length == 0)
        {
            Interlocked.Increment(ref _unrouted);
            return;
        }
        int k = (int)kind;
        int sent = Produce(to.ByKind[k], key, value, headers);
        if (sent < 0) return;
        to.Bytes[k] += sent;
        to.Records[k]++;
    }

    /// <summary>Returns the record's key and value bytes, or -1 when it was not produced: Kafka would refuse it for
    /// its size, and its event is dead-lettered instead (KafkaOutputSink.Size.cs).</summary>
    private int Produce(TopicPartition destination, byte[]? key, ReadOnlySpan<byte> value, Headers? headers)
    {
        if (!Fits(key, value.Length, headers))
        {
            Oversized();
            return -1;
        }
        _message.Key = key!;
        _message.Value = _values.Copy(value);
        _message.Headers = headers;
        _ackProbes?.Produced();
        int sent = Send(destination, _message, _ackProbes?.Timed);
        if (sent >= 0) return sent;
        Oversized();
        return -1;
    }

    // probe: the timed event's, whose handler then takes the delivery report; else untimed (an audit block's waiters)
    // or, when null, the shared handler. Returns the record's key and value bytes, or -1 when the producer refused
    // the record itself (AckProbes.Produce).
    private int Send(TopicPartition destination, Message<byte[], byte[]> message, AckProbes.Probe? probe,
        Action<DeliveryReport<byte[], byte[]>>? untimed = null)
    {
        if (!AckProbes.Produce(_producer, destination, message, untimed ?? _onDelivery, probe)) return -1;
        Produced++;
        return (message.Key?.Length ?? 0) + (message.Value?.Length ?? 0);
    }

    /// <summary>One scratch array per length (up to a byte budget; beyond it a fresh copy): single-threaded,
    /// overwritten by the next record of the same length, so only for data Confluent.Kafka copies before Produce
    /// returns.</summary>
    private sealed class ExactLengthArrays(int maxLength, long budget)
    {
        private readonly Dictionary<int, byte[]> _byLength = [];
        private long _cached;

        public byte[] Copy(ReadOnlySpan<byte> data)
        {
            if (!_byLength.TryGetValue(data.Length, out byte[]? array))
            {
                if (data.Length > maxLength || _cached + data.Length > budget) return data.ToArray();
                array = new byte[data.Length];
                _byLength[data.Length] = array;
                _cached += data.Length;
            }
            data.CopyTo(array);
            return array;
        }
    }

    /// <summary>A header whose value is replaced for each record (Confluent.Kafka's <see cref="Header"/> is
    /// immutable).</summary>
    private sealed class ReusedHeader(string key) : IHeader
    {
        public string Key { get; } = key;

        public byte[] Value { get; set; } = [];

        public byte[] GetValueBytes() => Value;
    }
}
