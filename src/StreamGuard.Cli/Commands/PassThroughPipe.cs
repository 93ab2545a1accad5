using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using StreamGuard.Audit;
using StreamGuard.Kafka;

namespace StreamGuard.Cli.Commands;

/// <summary>
/// The bench's ceiling: what Confluent.Kafka allows on this machine for StreamGuard's input and output volume. A
/// consume–produce loop with no processing, configured like the worker (same consumer and producer settings, same
/// commit interval and batch, transactions or flush-then-commit), that produces for the inputs it consumes the same
/// number of records per output topic, with the same mean key, value and header sizes, that StreamGuard produced in
/// a measured step (<see cref="BenchOutputProfile"/>): input i gets floor((i+1)·r) − floor(i·r) records of a topic
/// whose records per input is r. Its first audit-topic record per input is the input's value itself (padded with
/// spaces to the mean audit size) on the input's partition, as StreamGuard's ingest record goes on the chain of the
/// input's partition: that is the record the bench reader times. No per-message allocation of its own: keys, values
/// and headers are reused (Confluent.Kafka copies them into librdkafka during Produce). Its consumed → outputs
/// acknowledged latency is timed as the worker's (<see cref="AckProbes"/>, from the moment Consume returned).
/// </summary>
internal sealed class PassThroughPipe
{
    private readonly BenchOutputProfile _profile;
    private readonly TopicNames _topics;
    private readonly TaskCompletionSource _assigned = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Dictionary<(string, int), long> _pending = [];
    private long _processed;
    private long _deliveryErrors;

    public PassThroughPipe(BenchOutputProfile profile, TopicNames topics, int ackSampleEvery)
    {
        _profile = profile;
        _topics = topics;
        _ackSampleEvery = ackSampleEvery;
    }

    private readonly int _ackSampleEvery;

    /// <summary>
    /// Consumed → every output acknowledged, every <c>ackSampleEvery</c>-th input, as the worker's.
    /// </summary>
    public SharedLatencyHistogram AckLatencyMicros { get; } = new();

    public Task Assigned => _assigned.Task;

    public long Processed => Interlocked.Read(ref _processed);

    public long Commits { get; private set; }

    public void Run(WorkerOptions options, bool embedded, CancellationToken ct)
    {
        // The worker's client configuration (WorkerClientConfig), under the pipe's own client id.
        const string ClientId = "bench-pipe";
        ProducerConfig producerConfig = WorkerClientConfig.Producer(options, options.ExactlyOnce, ClientId);
        ConsumerConfig consumerConfig = WorkerClientConfig.Consumer(options, clientId: ClientId);

        using IProducer<byte[], byte[]> producer = new ProducerBuilder<byte[], byte[]>(producerConfig).Build();
        Action<DeliveryReport<byte[], byte[]>> onDelivery = r =>
        {
            if (r.Error.IsError) Interlocked.Increment(ref _deliveryErrors);
        };
        var probes = new AckProbes(AckLatencyMicros, _ackSampleEvery, onDelivery);
        if (options.ExactlyOnce)
        {
            producer.InitTransactions(options.FlushTimeout);
            producer.BeginTransaction();
        }
        string[] topicOf =
            [_topics.Shared, _topics.Alerts, _topics.Results, _topics.Purges, _topics.Audit, _topics.DeadLetter];
        double[] perInput = new double[BenchOutputProfile.Kinds];
        var templates = new Message<byte[], byte[]>[BenchOutputProfile.Kinds];
        for (int k = 0; k < BenchOutputProfile.Kinds; k++)
        {
            perInput[k] = _profile.PerInput(k);
            templates[k] = new Message<byte[], byte[]>
            {
                Key = Filled(_profile.MeanKey(k), (byte)'k'), Value = Filled(_profile.MeanValue(k), (byte)' '),
            };
        }
        long sharedHeaderValues = _profile.SharedHeaderBytes
            - _profile.Records[BenchOutputProfile.Shared] * ("sg-recipient".Length + "sg-decision".Length);
        int decisionLength = (int)Math.Max(1,
            Math.Round((double)sharedHeaderValues / Math.Max(1, _profile.Records[BenchOutputProfile.Shared]))
            - templates[BenchOutputProfile.Shared].Key.Length);
        templates[BenchOutputProfile.Shared].Headers = new Headers
        {
            { "sg-recipient", templates[BenchOutputProfile.Shared].Key },
            { "sg-decision", Filled(decisionLength, (byte)'d') },
        };
        int auditSize = _profile.MeanValue(BenchOutputProfile.Audit);
        byte[] copy = new byte[auditSize];
        var first = new Message<byte[], byte[]>();
        var chainKeys = new Dictionary<int, byte[]>();

        // Consumed as the worker consumes (StreamGuardWorker): key and value into reused buffers, and the result fields
        // the worker asks for when repartitioning, which it does in every bench step (the bench creates the repartition
        // topics): the pipe pays what the worker pays per consumed record, no more.
        using IConsumer<ConsumedBytes, ConsumedBytes> consumer = ConsumedBytes
            .ConsumerBuilder(consumerConfig, headers: true)
            .SetPartitionsAssignedHandler((_, _) => _assigned.TrySetResult())
            .SetPartitionsRevokedHandler((c, _) => Commit(c, producer, options, embedded))
            .Build();
        consumer.Subscribe([_topics.Reads, _topics.Queries]);
        long lastCommit = Stopwatch.GetTimestamp();
        long commitTicks = (long)(options.CommitInterval.TotalSeconds * Stopwatch.Frequency);
        int sinceCommit = 0;
        long i = 0;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                ConsumeResult<ConsumedBytes, ConsumedBytes>? r = consumer.Consume(TimeSpan.FromMilliseconds(50));
                if (r is not null && !r.IsPartitionEOF)
                {
                    probes.BeginEvent(Stopwatch.GetTimestamp());
                    int partition = r.Partition.Value;
                    for (int k = 0; k < BenchOutputProfile.Kinds; k++)
                    {
                        int n = (int)(Math.Floor((i + 1) * perInput[k]) - Math.Floor(i * perInput[k]));
                        for (int j = 0; j < n; j++)
                        {
                            if (k == BenchOutputProfile.Audit)
                            {
                                // The audit records of an input go on its partition's chain, the first one carrying
                                // the input.
                                if (!chainKeys.TryGetValue(partition, out byte[]? chain))
                                {
                                    chain = Encoding.ASCII.GetBytes(AuditChains.Name(partition));
                                    chainKeys[partition] = chain;
                                }
                                Message<byte[], byte[]> m = templates[k];
                                if (j == 0)
                                {
                                    ReadOnlySpan<byte> value = r.Message.Value.Span;
                                    if (value.Length <= copy.Length)
                                    {
                                        value.CopyTo(copy);
                                        copy.AsSpan(value.Length).Fill((byte)' ');
                                        first.Value = copy;
                                    }
                                    else
                                    {
                                        first.Value = value.ToArray(); // longer than the mean audit record: rare
                                    }
                                    m = first;
                                }
                                m.Key = chain;
                                Send(producer, new TopicPartition(topicOf[k], partition), m, onDelivery, probes);
                            }
                            else
                            {
                                Send(producer, new TopicPartition(topicOf[k], Partition.Any), templates[k],
                                    onDelivery, probes);
                            }
                        }
                    }
                    probes.EndEvent();
                    i++;
                    Interlocked.Increment(ref _processed);
                    _pending[(r.Topic, partition)] = r.Offset.Value + 1;
                    sinceCommit++;
                }
                if (sinceCommit >= options.CommitBatch
                    || (sinceCommit > 0 && Stopwatch.GetTimestamp() - lastCommit >= commitTicks))
                {
                    Commit(consumer, producer, options, embedded);
                    sinceCommit = 0;
                    lastCommit = Stopwatch.GetTimestamp();
                }
            }
            Commit(consumer, producer, options, embedded);
        }
        finally
        {
            consumer.Close();
        }
    }

    private static byte[] Filled(int length, byte b)
    {
        byte[] a = new byte[length];
        a.AsSpan().Fill(b);
        return a;
    }

    /// <summary>
    /// As the worker's sink sends (<see cref="AckProbes.Produce"/>): a timed input's outputs take its probe's handler.
    /// </summary>
    private static void Send(IProducer<byte[], byte[]> producer, TopicPartition destination,
        Message<byte[], byte[]> message, Action<DeliveryReport<byte[], byte[]>> onDelivery, AckProbes probes)
    {
        probes.Produced();
        AckProbes.Produce(producer, destination, message, onDelivery, probes.Timed);
    }

    private void Commit(IConsumer<ConsumedBytes, ConsumedBytes> consumer, IProducer<byte[], byte[]> producer,
        WorkerOptions options, bool embedded)
    {
        var offsets = new List<TopicPartitionOffset>(_pending.Count);
        foreach (var ((topic, partition), next) in _pending)
        {
            offsets.Add(new TopicPartitionOffset(topic, partition, new Offset(next)));
        }
        if (options.ExactlyOnce)
        {
            if (offsets.Count > 0)
            {
                producer.SendOffsetsToTransaction(offsets, consumer.ConsumerGroupMetadata, options.FlushTimeout);
            }
            producer.CommitTransaction(options.FlushTimeout);
            // As the worker does on the embedded broker, which does not store transactional offset commits.
            if (embedded && offsets.Count > 0) consumer.Commit(offsets);
            producer.BeginTransaction();
        }
        else
        {
            if (offsets.Count == 0) return;
            if (producer.Flush(options.FlushTimeout) > 0)
            {
                throw new KafkaException(new Error(ErrorCode.Local_TimedOut, "pipe: outputs not acknowledged in time"));
            }
            consumer.Commit(offsets);
        }
        if (Interlocked.Read(ref _deliveryErrors) > 0)
        {
            throw new KafkaException(new Error(ErrorCode.Unknown, "pipe: output delivery failed"));
        }
        _pending.Clear();
        Commits++;
    }
}
