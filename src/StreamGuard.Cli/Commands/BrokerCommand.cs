using StreamGuard.Kafka;
using StreamGuard.Kafka.Embedded;

namespace StreamGuard.Cli.Commands;

/// <summary><c>streamguard broker</c>: the embedded Kafka-protocol cluster on its own.</summary>
internal static class BrokerCommand
{
    public const string Help = """
        streamguard broker [--partitions N] [--brokers B]

        Starts librdkafka's embedded Kafka-protocol cluster on 127.0.0.1 with StreamGuard's topics created,
        prints the bootstrap servers and stays up until Ctrl+C: the no-Docker way to point any Kafka tool
        (kcat, KafkaJS, `streamguard run --bootstrap …`) at StreamGuard.

        Limits, plainly: data is in memory only and lost on exit; each partition keeps at most 5 MiB (or 100,000
        batches) and silently drops older data, so run producers and consumers together. Ports are chosen by
        librdkafka (ephemeral); read them from the printed bootstrap list.

        Options:
          --partitions N   partitions per topic (default 8)
          --brokers B      brokers in the cluster (default 1)
        """;

    public static int Run(CliArgs args, CancellationToken ct)
    {
        int partitions = args.Int("partitions", 8, 1, 1024);
        int brokers = args.Int("brokers", 1, 1, 16);
        args.RejectUnknown();
        using MockCluster cluster = MockCluster.Start(brokers, rebalanceDelayMs: 0);
        var topics = new TopicNames();
        foreach (string t in topics.All) cluster.CreateTopic(t, partitions);
        Console.WriteLine(cluster.BootstrapServers);
        Console.Error.WriteLine($"embedded Kafka-protocol cluster: {brokers} broker(s); topics ({partitions} partitions each): {string.Join(", ", topics.All)}");
        Console.Error.WriteLine("in memory only, at most 5 MiB per partition kept; Ctrl+C to stop");
        ct.WaitHandle.WaitOne();
        return 0;
    }
}
