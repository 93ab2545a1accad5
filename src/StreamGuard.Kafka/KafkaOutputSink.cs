using Confluent.Kafka;
using StreamGuard.Output;

namespace StreamGuard.Kafka;

/// <summary>
/// Produces the engine's outputs to their topics. Delivery failures are counted and kept so the worker never
/// commits input offsets past an output that did not reach the broker.
/// </summary>
public sealed partial class KafkaOutputSink : IOutputSink
{
    private readonly IProducer<byte[], byte[]> _producer;
    private readonly TopicNames _topics;
    private readonly Action<DeliveryReport<byte[], byte[]>> _onDelivery;
    private long _deliveryErrors;
    private Error? _firstError;

    private readonly int _auditPartitions;

    /// <param name="producer">The worker's producer (transactional or idempotent).</param>
    /// <param name="topics">Output topic names.</param>
    /// <param name="auditPartitions">Partitions of the audit topic: chain <c>pN</c> goes to partition N mod this, so
    /// its head can be found again (<see cref="AuditChainReader"/>); 0 = by key.</param>
    public KafkaOutputSink(IProducer<byte[], byte[]> producer, TopicNames topics, int auditPartitions = 0)
    {
        _producer = producer;
        _topics = topics;
        _auditPartitions = auditPartitions;
        _onDelivery = report =>
        {
            if (report.Error.IsError)
            {
                Interlocked.Increment(ref _deliveryErrors);
                Interlocked.CompareExchange(ref _firstError, report.Error, null);
            }
        };
    }

    public long DeliveryErrors => Interlocked.Read(ref _deliveryErrors);

    public Error? FirstError => _firstError;

    public long Produced { get; private set; }

    public void Shared(ReadOnlySpan<byte> recipient, ReadOnlySpan<byte> decisionId, ReadOnlySpan<byte> read)
    {
        var headers = new Headers { { "sg-recipient", recipient.ToArray() }, { "sg-decision", decisionId.ToArray() } };
        Produce(_topics.Shared, recipient, read, headers);
        _producedTo[SharedIndex]++;
    }

    public void Alert(ReadOnlySpan<byte> owner, ReadOnlySpan<byte> alert)
    {
        Produce(_topics.Alerts, owner, alert, null);
        _producedTo[AlertsIndex]++;
    }

    public void Result(ReadOnlySpan<byte> queryId, ReadOnlySpan<byte> result)
    {
        Produce(_topics.Results, queryId, result, null);
        _producedTo[ResultsIndex]++;
    }

    public void Purge(ReadOnlySpan<byte> readId, ReadOnlySpan<byte> notice)
    {
        Produce(_topics.Purges, readId, notice, null);
        _producedTo[PurgesIndex]++;
    }

    public void Audit(ReadOnlySpan<byte> chain, ReadOnlySpan<byte> record)
    {
        _producedTo[AuditIndex]++;
        if (_auditPartitions > 0 && chain.Length > 1 && chain[0] == (byte)'p' &&
            System.Buffers.Text.Utf8Parser.TryParse(chain[1..], out int input, out int used) && used == chain.Length - 1)
        {
            Produce(new TopicPartition(_topics.Audit, AuditChainReader.PartitionOf(input, _auditPartitions)), chain, record, null);
            return;
        }
        Produce(_topics.Audit, chain, record, null);
    }

    public void DeadLetter(ReadOnlySpan<byte> record)
    {
        Produce(_topics.DeadLetter, default, record, null);
        _producedTo[DeadLetterIndex]++;
    }

    /// <summary>
    /// Forwards an input record to partition <paramref name="partition"/> of a repartition topic (its plate's partition),
    /// with header <c>sg-origin</c> naming where it arrived.
    /// </summary>
    public void Forward(string topic, int partition, byte[]? key, byte[]? value, string origin)
    {
        var headers = new Headers { { "sg-origin", System.Text.Encoding.UTF8.GetBytes(origin) } };
        Send(new TopicPartition(topic, partition), new Message<byte[], byte[]> { Key = key!, Value = value!, Headers = headers });
        _producedTo[topic == _topics.RepartitionReads ? RepartitionReadsIndex : RepartitionQueriesIndex]++;
    }

    private void Produce(string topic, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, Headers? headers) =>
        Produce(new TopicPartition(topic, Partition.Any), key, value, headers);

    private void Produce(TopicPartition destination, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, Headers? headers)
    {
        // Confluent.Kafka takes byte[] only (no span overload): one copy per output record.
        Send(destination, new Message<byte[], byte[]> { Key = key.IsEmpty ? null! : key.ToArray(), Value = value.ToArray(), Headers = headers });
    }

    private void Send(TopicPartition destination, Message<byte[], byte[]> message)
    {
        while (true)
        {
            try
            {
                _producer.Produce(destination, message, _onDelivery);
                Produced++;
                return;
            }
            catch (ProduceException<byte[], byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
            {
                // Back-pressure: wait for deliveries instead of growing memory.
                _producer.Poll(TimeSpan.FromMilliseconds(50));
            }
        }
    }
}
