using System.CommandLine;
using StreamGuard.Cli.CommandLine;
using StreamGuard.Kafka;
using StreamGuard.Kafka.Embedded;

namespace StreamGuard.Cli.Commands;

/// <summary><c>streamguard broker</c>: the embedded Kafka-protocol cluster on its own.</summary>
internal static class BrokerCommand
{
    private static readonly IntOption s_partitions = new("partitions", "N", "partitions per topic", 1, 1024)
    {
        Default = 8,
    };

    private static readonly IntOption s_brokers = new("brokers", "B", "brokers in the cluster", 1, 16) { Default = 1 };

    private static readonly IntOption s_port = new("port", "P", """
        broker 1 on 127.0.0.1:P, broker 2 on P+1, …; {default}.
        librdkafka's mock can only bind ephemeral ports, so each fixed port is a forwarder
        in this process to its broker, which advertises the fixed port to clients.
        """, 1, 65535)
    {
        Shown = "default: ports chosen by the kernel",
    };

    /// <summary>The verb: its options, its help and what it runs.</summary>
    public static Command Command { get; } = Verb.Create("broker",
        "the embedded Kafka-protocol cluster on its own, StreamGuard's topics created", """
        streamguard broker [--partitions N] [--brokers B] [--port P]

        Starts librdkafka's embedded Kafka-protocol cluster on 127.0.0.1 with StreamGuard's topics created,
        prints the bootstrap servers and stays up until Ctrl+C: the no-Docker way to point any Kafka tool
        (kcat, KafkaJS, `streamguard run --bootstrap …`) at StreamGuard.

        Limits, plainly: data is in memory only and lost on exit; each partition keeps at most 5 MiB (or 100,000
        batches) and silently drops older data, so run producers and consumers together. Loopback only.

        Standard output gets one line, the bootstrap servers (for scripts); the topic list goes to standard error.
        """,
        [s_partitions, s_brokers, s_port]).Runs((a, ct) => Run(a, ct));

    public static int Run(CommandArgs args, CancellationToken ct)
    {
        int partitions = args.Int(s_partitions);
        int brokers = args.Int(s_brokers);
        int port = args.GivenInt(s_port) ?? 0;
        if (port != 0 && port + brokers - 1 > 65535)
        {
            throw new UsageException($"--port {port} leaves no port for broker {brokers} (ports P to P+B-1 are used)");
        }
        using MockCluster cluster = MockCluster.Start(brokers, rebalanceDelayMs: 0);
        var forwarders = new List<LoopbackForwarder>();
        try
        {
            string bootstrap = cluster.BootstrapServers;
            if (port != 0)
            {
                for (int id = 1; id <= brokers; id++)
                {
                    int fixedPort = port + id - 1;
                    try
                    {
                        forwarders.Add(LoopbackForwarder.Start(fixedPort, cluster.BrokerPort(id)));
                    }
                    catch (System.Net.Sockets.SocketException e)
                    {
                        Console.Error.WriteLine($"error: cannot listen on 127.0.0.1:{fixedPort}: {e.Message}");
                        return 1;
                    }
                    cluster.AdvertiseBroker(id, "127.0.0.1", fixedPort);
                }
                bootstrap = string.Join(',', forwarders.Select(f => $"127.0.0.1:{f.Port}"));
            }
            var topics = new TopicNames();
            foreach (string t in topics.All) cluster.CreateTopic(t, partitions);
            Console.WriteLine(bootstrap);
            Console.Error.WriteLine($"embedded Kafka-protocol cluster: {brokers} broker(s) at {bootstrap}; " +
                $"topics ({partitions} partitions each): {string.Join(", ", topics.All)}");
            Console.Error.WriteLine("in memory only, at most 5 MiB per partition kept; Ctrl+C to stop");
            ct.WaitHandle.WaitOne();
            return 0;
        }
        finally
        {
            foreach (LoopbackForwarder f in forwarders) f.Dispose();
        }
    }
}
