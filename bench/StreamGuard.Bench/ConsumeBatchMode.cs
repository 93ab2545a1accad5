using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using StreamGuard.Kafka;
using StreamGuard.Kafka.Embedded;

namespace StreamGuard.Bench;

/// <summary>
/// <c>dotnet run -c Release -- consume-batch [--messages N] [--rounds N] [--batch N]</c>: the investigation the
/// performance issue asks for — librdkafka's <c>rd_kafka_consume_batch_queue</c> on Confluent.Kafka's own consumer
/// handle against per-message <c>Consume</c>, on the embedded cluster, the same messages, alternating rounds.
/// </summary>
/// <remarks>
/// <para>Three ways to read the same N plate reads (~420 B) from 48 partitions, each round a new consumer assigned
/// every partition from the beginning (no group join), timed from the first message to the Nth:</para>
/// <list type="bullet">
/// <item><c>consume byte[]</c>: <c>IConsumer&lt;Ignore, byte[]&gt;.Consume</c>, a payload copy and a ConsumeResult per
/// message.</item>
/// <item><c>consume span</c>: <c>Consume</c> with a value deserialiser that reads the span and keeps nothing (no
/// copy).</item>
/// <item><c>batch queue</c>: <c>rd_kafka_consume_batch_queue</c> on the consumer's queue through the worker's
/// <see cref="BatchQueueReader"/>, payloads read in place from native memory, up to --batch messages per call.</item>
/// </list>
/// <para>Each path touches every payload byte (a checksum), as a parser would.</para>
/// </remarks>
public static class ConsumeBatchMode
{
    private const string Topic = "bench.consume";
    private const int Partitions = 48;

    public static int Run(string[] args)
    {
        int messages = Option(args, "--messages", 300_000);
        int rounds = Option(args, "--rounds", 3);
        int batch = Option(args, "--batch", 1000);
        Console.WriteLine($"consume-batch: {messages:N0} messages, {Partitions} partitions, {rounds} rounds, " +
            $"batch {batch}; .NET {Environment.Version}, " +
            $"{Environment.ProcessorCount} cores, librdkafka {Library.VersionString}, {DateTime.UtcNow:yyyy-MM-dd}");

        using MockCluster cluster = MockCluster.Start();
        cluster.CreateTopic(Topic, Partitions);
        byte[][] reads = BenchPayloads.Reads(messages);
        using (var producer = new ProducerBuilder<Null, byte[]>(
                   new ProducerConfig { BootstrapServers = cluster.BootstrapServers, LingerMs = 5 }).Build())
        {
            for (int i = 0; i < messages; i++)
            {
                while (true)
                {
                    try
                    {
                        producer.Produce(new TopicPartition(Topic, i % Partitions),
                            new Message<Null, byte[]> { Value = reads[i] });
                        break;
                    }
                    catch (ProduceException<Null, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                    {
                        producer.Poll(TimeSpan.FromMilliseconds(10));
                    }
                }
            }
            producer.Flush(TimeSpan.FromSeconds(60));
        }

        var rates = new Dictionary<string, List<double>>();
        var allocated = new Dictionary<string, List<double>>();
        for (int round = 0; round < rounds; round++)
        {
            foreach ((string name, Func<string, int, int, (double Seconds, long Checksum, long Bytes)> read) in
                     new (string, Func<string, int, int, (double, long, long)>)[]
                     { ("consume byte[]", ConsumeBytes), ("consume span", ConsumeSpan), ("batch queue", BatchQueue) })
            {
                (double seconds, long checksum, long bytes) = read(cluster.BootstrapServers, messages, batch);
                double rate = messages / seconds;
                (rates.TryGetValue(name, out List<double>? r) ? r : rates[name] = []).Add(rate);
                (allocated.TryGetValue(name, out List<double>? a) ? a : allocated[name] = [])
                    .Add(bytes / (double)messages);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  round {round + 1} {name,-15} {rate / 1000,7:F0}k msg/s  " +
                    $"{bytes / (double)messages,6:F0} B/msg allocated  (checksum {checksum})"));
            }
        }
        double baseline = Median(rates["consume byte[]"]);
        foreach ((string name, List<double> r) in rates)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name,-15} median {Median(r) / 1000:F0}k msg/s, ratio {Median(r) / baseline:F2} to consume byte[], " +
                $"{Median(allocated[name]):F0} B/msg"));
        }
        return 0;
    }

    private static ConsumerConfig Config(string bootstrap) => new()
    {
        BootstrapServers = bootstrap, GroupId = "bench-consume",
        EnableAutoCommit = false, EnableAutoOffsetStore = false,
        FetchMaxBytes = 52_428_800, MaxPartitionFetchBytes = 1_048_576, QueuedMaxMessagesKbytes = 65_536,
    };

    private static List<TopicPartitionOffset> All() =>
        Enumerable.Range(0, Partitions).Select(p => new TopicPartitionOffset(Topic, p, Offset.Beginning)).ToList();

    private static (double, long, long) ConsumeBytes(string bootstrap, int messages, int batch)
    {
        using IConsumer<Ignore, byte[]> consumer = new ConsumerBuilder<Ignore, byte[]>(Config(bootstrap)).Build();
        consumer.Assign(All());
        long checksum = 0;
        ConsumeResult<Ignore, byte[]>? first = null;
        while (first is null) first = consumer.Consume(TimeSpan.FromSeconds(1));
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        long start = Stopwatch.GetTimestamp();
        checksum += Sum(first.Message.Value);
        for (int n = 1; n < messages;)
        {
            ConsumeResult<Ignore, byte[]>? r = consumer.Consume(TimeSpan.FromSeconds(1));
            if (r is null) continue;
            checksum += Sum(r.Message.Value);
            n++;
        }
        return (Stopwatch.GetElapsedTime(start).TotalSeconds, checksum,
            GC.GetAllocatedBytesForCurrentThread() - allocated);
    }

    private sealed class SpanSum : IDeserializer<long>
    {
        public long Deserialize(ReadOnlySpan<byte> data, bool isNull, SerializationContext context) => Sum(data);
    }

    private static (double, long, long) ConsumeSpan(string bootstrap, int messages, int batch)
    {
        using IConsumer<Ignore, long> consumer = new ConsumerBuilder<Ignore, long>(Config(bootstrap))
            .SetValueDeserializer(new SpanSum()).Build();
        consumer.Assign(All());
        ConsumeResult<Ignore, long>? first = null;
        while (first is null) first = consumer.Consume(TimeSpan.FromSeconds(1));
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        long start = Stopwatch.GetTimestamp();
        long checksum = first.Message.Value;
        for (int n = 1; n < messages;)
        {
            ConsumeResult<Ignore, long>? r = consumer.Consume(TimeSpan.FromSeconds(1));
            if (r is null) continue;
            checksum += r.Message.Value;
            n++;
        }
        return (Stopwatch.GetElapsedTime(start).TotalSeconds, checksum,
            GC.GetAllocatedBytesForCurrentThread() - allocated);
    }

    private static (double, long, long) BatchQueue(string bootstrap, int messages, int batch)
    {
        ConsumerConfig config = Config(bootstrap);
        using IConsumer<Ignore, byte[]> consumer = new ConsumerBuilder<Ignore, byte[]>(config).Build();
        var ends = Enumerable.Range(0, Partitions).ToDictionary(p => p,
            p => consumer.QueryWatermarkOffsets(new TopicPartition(Topic, p), TimeSpan.FromSeconds(10)).High.Value);
        consumer.Assign(All());
        long checksum = 0, allocated = 0, start = 0;
        int n = 0;
        // The worker's reader (BatchQueueReader): every partition to its end, payloads handed over in place.
        BatchQueueReader.ReadToEnd(consumer, ends, DateTime.UtcNow.AddMinutes(5),
            (_, _, value, _, _, _) =>
            {
                if (n++ == 0)
                {
                    allocated = GC.GetAllocatedBytesForCurrentThread();
                    start = Stopwatch.GetTimestamp();
                }
                checksum += Sum(value);
                return true;
            }, batch);
        if (n != messages) throw new InvalidOperationException($"{n} of {messages} messages read");
        return (Stopwatch.GetElapsedTime(start).TotalSeconds, checksum,
            GC.GetAllocatedBytesForCurrentThread() - allocated);
    }

    private static long Sum(ReadOnlySpan<byte> data)
    {
        long sum = 0;
        foreach (byte b in data) sum += b;
        return sum;
    }

    private static double Median(List<double> values)
    {
        double[] sorted = [.. values.Order()];
        return sorted[sorted.Length / 2];
    }

    private static int Option(string[] args, string name, int fallback)
    {
        int at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
