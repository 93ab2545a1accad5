using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using StreamGuard.Engine;
using StreamGuard.Kafka;
using StreamGuard.Kafka.Embedded;
using StreamGuard.Policy;

namespace StreamGuard.Bench;

/// <summary>
/// <c>dotnet run -c Release -- rebuild [--reads N] [--partitions N] [--rounds N]</c>: the store rebuilt from Kafka as
/// a worker does on assignment — each partition of the reads topic read back by a restore consumer and every record
/// put through <see cref="StreamGuardEngine.RestoreRead"/> — on the embedded cluster, with the batch reader the
/// worker uses and with per-message <c>Consume</c> (its fallback), alternating rounds. Reported as reads per second.
/// </summary>
public static class RebuildMode
{
    private const string Topic = "bench.rebuild";

    public static int Run(string[] args)
    {
        int count = Option(args, "--reads", 500_000);
        int partitions = Option(args, "--partitions", 96); // ≤ 5 MiB kept per partition by the mock
        int rounds = Option(args, "--rounds", 3);
        Console.WriteLine($"rebuild: {count:N0} reads over {partitions} partitions, {rounds} rounds; " +
            $".NET {Environment.Version}, " +
            $"{Environment.ProcessorCount} cores, librdkafka {Library.VersionString}, {DateTime.UtcNow:yyyy-MM-dd}");
        using MockCluster cluster = MockCluster.Start();
        cluster.CreateTopic(Topic, partitions);
        byte[][] reads = BenchPayloads.Reads(count);
        using (var producer = new ProducerBuilder<Null, byte[]>(
                   new ProducerConfig { BootstrapServers = cluster.BootstrapServers, LingerMs = 5 }).Build())
        {
            for (int i = 0; i < count; i++)
            {
                while (true)
                {
                    try
                    {
                        producer.Produce(new TopicPartition(Topic, i % partitions),
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
        var policy = new CompiledPolicy(PolicyLoader.Load(Encoding.UTF8.GetBytes("""
            version: 1
            default_retention: 30d
            agencies:
              - {id: ca-lapd, state: CA, level: local}
              - {id: ca-lasd, state: CA, level: county}
            """), "bench.yaml", "."));
        long now = new DateTimeOffset(2026, 3, 4, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

        var rates = new Dictionary<string, List<double>>();
        for (int round = 0; round < rounds; round++)
        {
            foreach (Mode mode in (Mode[])[Mode.BatchEof, Mode.BatchEnds, Mode.Consume])
            {
                var engine = new StreamGuardEngine(policy, NullSink.Instance, "bench-audit-key"u8.ToArray(),
                    new EngineOptions { EventTimeClock = true, ReplayNowMs = now, MaxEventBytes = 65536 });
                var clock = Stopwatch.StartNew();
                int restored = 0;
                restored += ReadBack(cluster.BootstrapServers, partitions, engine, mode);
                double rate = restored / clock.Elapsed.TotalSeconds;
                string name = mode switch
                {
                    Mode.BatchEof => "batch + EOF",
                    Mode.BatchEnds => "batch + ends",
                    _ => "Consume",
                };
                (rates.TryGetValue(name, out List<double>? r) ? r : rates[name] = []).Add(rate);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  round {round + 1} {name,-13} {restored:N0} reads restored at {rate / 1000:F0}k reads/s " +
                    $"(store {engine.StoredReadCount:N0})"));
                if (restored != count) throw new InvalidOperationException($"{restored} of {count} restored");
            }
        }
        foreach ((string name, List<double> r) in rates)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name,-13} median {r.Order().ElementAt(r.Count / 2) / 1000:F0}k reads/s"));
        }
        return 0;
    }

    /// <summary>
    /// How a partition's end is found: <c>BatchEof</c> and <c>Consume</c> with <c>enable.partition.eof</c>, as the
    /// worker's restore does; <c>BatchEnds</c> without it, stopping at the last offset wanted (what restore could do if
    /// it knew that offset holds a record: not so after a transaction's commit marker).
    /// </summary>
    private enum Mode { BatchEof, BatchEnds, Consume }

    /// <summary>Every partition by one consumer, as the worker's restore does.</summary>
    private static int ReadBack(string bootstrap, int partitions, StreamGuardEngine engine, Mode mode)
    {
        var config = new ConsumerConfig
        {
            BootstrapServers = bootstrap, GroupId = "bench-rebuild", EnableAutoCommit = false,
            EnablePartitionEof = mode != Mode.BatchEnds,
        };
        using IConsumer<byte[]?, byte[]> consumer = new ConsumerBuilder<byte[]?, byte[]>(config).Build();
        consumer.Assign(
            Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(Topic, p, Offset.Beginning)));
        if (mode != Mode.Consume)
        {
            var ends = Enumerable.Range(0, partitions).ToDictionary(p => p, p => mode == Mode.BatchEof ? long.MaxValue
                : consumer.QueryWatermarkOffsets(new TopicPartition(Topic, p), TimeSpan.FromSeconds(10)).High.Value);
            return BatchQueueReader.ReadToEnd(consumer, ends, DateTime.UtcNow.AddMinutes(5),
                (partition, _, value, isNull, _, timestamp) =>
                    !isNull && engine.RestoreRead(value, partition, timestamp));
        }
        int restored = 0;
        var open = new HashSet<int>(Enumerable.Range(0, partitions));
        while (open.Count > 0)
        {
            ConsumeResult<byte[]?, byte[]>? r = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (r is null) continue;
            if (r.IsPartitionEOF)
            {
                open.Remove(r.Partition.Value);
                continue;
            }
            if (engine.RestoreRead(r.Message.Value, r.Partition.Value, r.Message.Timestamp.UnixTimestampMs))
            {
                restored++;
            }
        }
        return restored;
    }

    private static int Option(string[] args, string name, int fallback)
    {
        int at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
