using System.Buffers;
using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using StreamGuard.Audit;
using StreamGuard.Kafka;

namespace StreamGuard.Cli.Commands;

/// <summary>
/// The bench's ceilings: consume–produce loops with no processing, configured like the worker (its consumer and
/// producer settings from <see cref="WorkerClientConfig"/>, the same commit interval and batch, transactions or
/// flush-then-commit alike), in one of two shapes:
/// <list type="bullet">
/// <item><b>One-to-one</b> (<see cref="OneToOne"/>): for each consumed record exactly one record with its key and
/// value, to one output topic (<c>alpr.shared</c>, on the input's partition). The least any Kafka-to-Kafka enforcement
/// point must do; StreamGuard's throughput as a fraction of it shows the cost of what StreamGuard chooses to
/// write.</item>
/// <item><b>Same records</b> (<see cref="SameRecords"/>): for the inputs it consumes, the same number of records per
/// output topic, with the same mean key, value and header sizes, that StreamGuard produced in a measured step
/// (<see cref="BenchOutputProfile"/>): input i gets floor((i+1)·r) − floor(i·r) records of a topic whose records per
/// input is r — except the audit topic, which gets, as StreamGuard's, one block per partition per commit: the values
/// of the partition's inputs since the last commit, one per line, as StreamGuard's block holds one entry per input on
/// the chain of the input's partition. It measures StreamGuard's processing only: it copies StreamGuard's output
/// volume, so it hides that volume's cost.</item>
/// </list>
/// The bench reader times the record that carries the input (<see cref="ReaderTopic"/>). No per-message allocation of
/// its own but each block's copy: messages, keys, values, headers and topic-partitions are reused (Confluent.Kafka
/// copies them into librdkafka during Produce). Its consumed → outputs acknowledged latency is timed as the worker's
/// (<see cref="AckProbes"/>, from the moment Consume returned).
/// </summary>
internal sealed class PassThroughPipe
{
    private readonly BenchOutputProfile? _profile; // null: one-to-one
    private readonly TopicNames _topics;
    private readonly int _ackSampleEvery;
    private readonly TaskCompletionSource _assigned = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Dictionary<(string, int), long> _pending = [];
    private Action? _sealBlocks; // same records: hands each partition's audit block over before a commit
    private long _processed;
    private long _deliveryErrors;

    private PassThroughPipe(BenchOutputProfile? profile, TopicNames topics, int ackSampleEvery)
    {
        _profile = profile;
        _topics = topics;
        _ackSampleEvery = ackSampleEvery;
    }

    /// <summary>One record per input, its key and value, to <c>alpr.shared</c> on the input's partition.</summary>
    public static PassThroughPipe OneToOne(TopicNames topics, int ackSampleEvery) => new(null, topics, ackSampleEvery);

    /// <summary>The records per output topic and their mean sizes that StreamGuard produced in a step.</summary>
    public static PassThroughPipe SameRecords(BenchOutputProfile profile, TopicNames topics, int ackSampleEvery) =>
        new(profile, topics, ackSampleEvery);

    /// <summary>The topic whose records carry the inputs, for the bench reader (each input on its partition).</summary>
    public string ReaderTopic => _profile is null ? _topics.Shared : _topics.Audit;

    /// <summary>What the pipe produced, by topic kind: written by the pipe's thread, read once it stopped.</summary>
    public BenchVolume Volume { get; } = new();

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
        var output = new Output(producer, onDelivery, probes, Volume);
        Action<ConsumeResult<ConsumedBytes, ConsumedBytes>, long> produce = _profile is null
            ? OneToOneOutputs(output)
            : SameRecordsOutputs(_profile, output);

        // Consumed as the worker consumes (StreamGuardWorker): key and value into reused buffers, and the result fields
        // the worker asks for when repartitioning, which it does in every bench step (the bench creates the repartition
        // topics): the pipe pays what the worker pays per consumed record, no more.
        using IConsumer<ConsumedBytes, ConsumedBytes> consumer = ConsumedBytes
            .ConsumerBuilder(consumerConfig, headers: true)
            .SetPartitionsAssignedHandler((_, _) => _assigned.TrySetResult())
            .SetPartitionsRevokedHandler((c, _) =>
            {
                _sealBlocks?.Invoke();
                Commit(c, producer, options, embedded);
            })
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
                    produce(r, i);
                    probes.EndEvent();
                    i++;
                    Volume.Inputs = i;
                    Interlocked.Increment(ref _processed);
                    _pending[(r.Topic, r.Partition.Value)] = r.Offset.Value + 1;
                    sinceCommit++;
                }
                // The worker's cadence: every CommitBatch events, or CommitInterval after the last commit.
                if (sinceCommit >= options.CommitBatch
                    || (sinceCommit > 0 && Stopwatch.GetTimestamp() - lastCommit >= commitTicks))
                {
                    _sealBlocks?.Invoke();
                    Commit(consumer, producer, options, embedded);
                    sinceCommit = 0;
                    lastCommit = Stopwatch.GetTimestamp();
                }
            }
            _sealBlocks?.Invoke();
            Commit(consumer, producer, options, embedded);
        }
        finally
        {
            consumer.Close();
        }
    }

    /// <summary>
    /// One record per input: its key and value (a null key or value stays null) through exact-length scratch arrays,
    /// as the worker's sink copies its outputs, to <c>alpr.shared</c> on the input's partition.
    /// </summary>
    private Action<ConsumeResult<ConsumedBytes, ConsumedBytes>, long> OneToOneOutputs(Output output)
    {
        var keys = new Dictionary<int, byte[]>();
        var values = new Dictionary<int, byte[]>();
        var message = new Message<byte[], byte[]>();
        TopicPartition[] byPartition = [];
        return (r, _) =>
        {
            int partition = r.Partition.Value;
            if (partition >= byPartition.Length) Array.Resize(ref byPartition, partition + 1);
            TopicPartition destination = byPartition[partition] ??= new TopicPartition(_topics.Shared, partition);
            message.Key = r.Message.Key.IsNull ? null! : Scratch(keys, r.Message.Key.Span);
            message.Value = r.Message.Value.IsNull ? null! : Scratch(values, r.Message.Value.Span);
            output.Send(BenchOutputProfile.Shared, destination, message);
        };
    }

    /// <summary>StreamGuard's records per output topic and mean sizes (<see cref="BenchOutputProfile"/>).</summary>
    private Action<ConsumeResult<ConsumedBytes, ConsumedBytes>, long> SameRecordsOutputs(BenchOutputProfile profile,
        Output output)
    {
        string[] topicOf =
            [_topics.Shared, _topics.Alerts, _topics.Results, _topics.Purges, _topics.Audit, _topics.DeadLetter];
        double[] perInput = new double[BenchOutputProfile.Kinds];
        var templates = new Message<byte[], byte[]>[BenchOutputProfile.Kinds];
        var anyPartition = new TopicPartition[BenchOutputProfile.Kinds];
        for (int k = 0; k < BenchOutputProfile.Kinds; k++)
        {
            perInput[k] = profile.PerInput(k);
            templates[k] = new Message<byte[], byte[]>
            {
                Key = Filled(profile.MeanKey(k), (byte)'k'), Value = Filled(profile.MeanValue(k), (byte)' '),
            };
            anyPartition[k] = new TopicPartition(topicOf[k], Partition.Any);
        }
        long sharedHeaderValues = profile.SharedHeaderBytes
            - profile.Records[BenchOutputProfile.Shared] * ("sg-recipient".Length + "sg-decision".Length);
        int decisionLength = (int)Math.Max(1,
            Math.Round((double)sharedHeaderValues / Math.Max(1, profile.Records[BenchOutputProfile.Shared]))
            - templates[BenchOutputProfile.Shared].Key.Length);
        templates[BenchOutputProfile.Shared].Headers = new Headers
        {
            { "sg-recipient", templates[BenchOutputProfile.Shared].Key },
            { "sg-decision", Filled(decisionLength, (byte)'d') },
        };
        // StreamGuard's audit goes out as one block per chain per commit, one entry per input: the pipe's block of a
        // partition holds the values of its inputs since the last commit, one per line (a bench reader times each).
        var blocks = new Dictionary<int, (ArrayBufferWriter<byte> Lines, byte[] Chain, TopicPartition To)>();
        var block = new Message<byte[], byte[]>();
        _sealBlocks = () =>
        {
            foreach ((ArrayBufferWriter<byte> lines, byte[] chain, TopicPartition to) in blocks.Values)
            {
                if (lines.WrittenCount == 0) continue;
                block.Key = chain;
                block.Value = lines.WrittenSpan[..^1].ToArray();
                output.Send(BenchOutputProfile.Audit, to, block);
                lines.ResetWrittenCount();
            }
        };

        return (r, i) =>
        {
            for (int k = 0; k < BenchOutputProfile.Kinds; k++)
            {
                if (k == BenchOutputProfile.Audit) continue;
                int n = (int)(Math.Floor((i + 1) * perInput[k]) - Math.Floor(i * perInput[k]));
                for (int j = 0; j < n; j++) output.Send(k, anyPartition[k], templates[k]);
            }
            int partition = r.Partition.Value;
            if (!blocks.TryGetValue(partition, out var open))
            {
                open = (new ArrayBufferWriter<byte>(64 * 1024), Encoding.ASCII.GetBytes(AuditChains.Name(partition)),
                    new TopicPartition(_topics.Audit, partition));
                blocks.Add(partition, open);
            }
            open.Lines.Write(r.Message.Value.Span);
            open.Lines.Write("\n"u8);
        };
    }

    /// <summary>One scratch array per length: Confluent.Kafka copies the bytes before Produce returns.</summary>
    private static byte[] Scratch(Dictionary<int, byte[]> byLength, ReadOnlySpan<byte> data)
    {
        if (!byLength.TryGetValue(data.Length, out byte[]? array))
        {
            array = new byte[data.Length];
            byLength[data.Length] = array;
        }
        data.CopyTo(array);
        return array;
    }

    private static byte[] Filled(int length, byte b)
    {
        byte[] a = new byte[length];
        a.AsSpan().Fill(b);
        return a;
    }

    /// <summary>
    /// As the worker's sink sends (<see cref="AckProbes.Produce"/>): a timed input's outputs take its probe's handler.
    /// Each record is counted by topic kind.
    /// </summary>
    private sealed class Output(IProducer<byte[], byte[]> producer, Action<DeliveryReport<byte[], byte[]>> onDelivery,
        AckProbes probes, BenchVolume volume)
    {
        public void Send(int kind, TopicPartition destination, Message<byte[], byte[]> message)
        {
            probes.Produced();
            AckProbes.Produce(producer, destination, message, onDelivery, probes.Timed);
            volume.Count(kind, message.Key, message.Value);
        }
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
