using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using StreamGuard.Engine;
using StreamGuard.Generation;
using StreamGuard.Kafka;
using StreamGuard.Kafka.Embedded;

namespace StreamGuard.Cli.Commands;

/// <summary><c>streamguard bench</c>: the worker's throughput on the embedded cluster, exactly-once against at-least-once.</summary>
internal static class BenchCommand
{
    public const string Help = """
        streamguard bench [--events N] [--rounds R] [--partitions P] [--policy P]

        Measures the worker end to end on the embedded Kafka-protocol cluster: a backlog of N synthetic events
        (reads and 2.5% signed queries over the sample policy) is produced first, then drained by the worker —
        saturated throughput, every output produced and committed. Exactly-once (transactions) and at-least-once
        (flush, then offset commit) run alternately, R rounds each, on fresh topics and groups in one process,
        so the two modes are compared on the same machine at the same time; prints events/s per round, the
        medians and their ratio. The open-loop latency sweep and the pass-through ceiling are not here yet.

        Options:
          --events N       backlog per round (default 40000)
          --rounds R       rounds per mode (default 3)
          --partitions P   partitions per topic (default 16; the embedded broker keeps ≤ 5 MiB per partition)
          --policy P       policy file (default: the bundled sample policy)
        """;

    public static int Run(CliArgs args, CancellationToken ct)
    {
        int events = args.Int("events", 40_000, 1_000, 2_000_000);
        int rounds = args.Int("rounds", 3, 1, 50);
        int partitions = args.Int("partitions", 16, 1, 256);
        string policyPath = args.Get("policy") ?? Common.SamplePolicyPath;
        args.RejectUnknown();

        CompiledPolicy policy = Common.LoadPolicy(policyPath, TextWriter.Null);
        byte[] auditKey = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "samples", "keys", "audit.key"));
        using MockCluster cluster = MockCluster.Start(brokers: 1, rebalanceDelayMs: 0);
        Console.WriteLine($"bench: {events:N0} events per round, {partitions} partitions, embedded cluster {cluster.BootstrapServers}; " +
            $".NET {Environment.Version}, {Environment.ProcessorCount} cores");

        var results = new Dictionary<bool, List<double>> { [true] = [], [false] = [] };
        // Round 0 of each mode warms up (JIT, connections) and is not counted.
        for (int round = -2; round < rounds * 2 && !ct.IsCancellationRequested; round++)
        {
            bool exactlyOnce = (round & 1) == 1;
            var topics = new TopicNames().WithPrefix($"bench{round + 2}.");
            foreach (string t in topics.All) cluster.CreateTopic(t, partitions);
            Produce(cluster.BootstrapServers, topics, policy, events, round + 2);

            var worker = new StreamGuardWorker(
                new WorkerOptions
                {
                    BootstrapServers = cluster.BootstrapServers, GroupId = $"bench{round + 2}", Topics = topics, ExactlyOnce = exactlyOnce,
                    TransactionalId = $"bench{round + 2}",
                },
                sink => new StreamGuardEngine(policy, sink, auditKey));
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            Exception? failure = null;
            var thread = new Thread(() => { try { worker.Run(stop.Token); } catch (Exception e) { failure = e; } }) { IsBackground = true };
            thread.Start();
            if (!worker.Assigned.Wait(TimeSpan.FromSeconds(30))) throw new InvalidOperationException("the worker did not join its group: " + failure?.Message);
            var clock = Stopwatch.StartNew();
            while (worker.Processed < events && failure is null && clock.Elapsed < TimeSpan.FromMinutes(5)) Thread.Sleep(5);
            long processed = worker.Processed;
            double seconds = clock.Elapsed.TotalSeconds;
            stop.Cancel();
            thread.Join(TimeSpan.FromSeconds(60));
            if (failure is not null) throw new InvalidOperationException($"the worker failed: {failure.Message}", failure);
            double rate = processed / seconds;
            if (round >= 0) results[exactlyOnce].Add(rate);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {(round < 0 ? "warm-up" : $"round {round / 2 + 1}")} {(exactlyOnce ? "exactly-once " : "at-least-once")}: {processed:N0} events in {seconds:F2} s = {rate:N0} events/s, {worker.Commits:N0} commits"));
        }
        double alo = Median(results[false]), eos = Median(results[true]);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"median: at-least-once {alo:N0} events/s, exactly-once {eos:N0} events/s; exactly-once / at-least-once = {eos / alo:F3} ({(1 - eos / alo) * 100:F1}% overhead)"));
        return 0;
    }

    private static void Produce(string bootstrap, TopicNames topics, CompiledPolicy policy, int events, int seed)
    {
        var traffic = new SyntheticTraffic(policy.Document, TrafficOptions.Default with { Seed = 100 + seed, MalformedShare = 0.01 });
        using IProducer<byte[]?, byte[]> producer = new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig
        {
            // Kafka's default partitioner (the Java client's): records land on their plate's partition, nothing to forward.
            Partitioner = Partitioner.Murmur2Random,
            BootstrapServers = bootstrap, LingerMs = 5, Acks = Acks.All, ClientId = "bench-traffic",
        }).Build();
        for (int i = 0; i < events; i++)
        {
            long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            if (i % 40 == 39) DemoCommand.Produce(producer, topics.Queries, traffic.NextQuery(now), traffic.LastPlate);
            else DemoCommand.Produce(producer, topics.Reads, traffic.NextRead(now), traffic.LastPlate);
        }
        producer.Flush(TimeSpan.FromSeconds(60));
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
