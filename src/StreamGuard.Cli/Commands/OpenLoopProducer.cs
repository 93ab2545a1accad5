using System.Diagnostics;
using Confluent.Kafka;
using HdrHistogram;
using StreamGuard.Kafka;

namespace StreamGuard.Cli.Commands;

/// <summary>
/// The load of a <c>streamguard bench</c> step: sends event i at start + i/rate (sleeping in 1 ms steps between due
/// times; late events go at once, never skipped).
/// </summary>
internal sealed class OpenLoopProducer(BenchLoad load, string bootstrap, TopicNames topics)
{
    private long _allocated;

    public long Allocated => Volatile.Read(ref _allocated);

    /// <summary>Events from here on are timed: their send lateness is recorded.</summary>
    public int FirstTimed { get; init; }

    /// <summary>Microseconds from each timed event's intended send time to its Produce call returning: how late the
    /// load generator itself was (on an oversubscribed machine its thread wakes late), part of every latency.</summary>
    public LongHistogram Lateness { get; } = new(1, 600_000_000, 3);

    public Exception? Failure { get; private set; }

    public void Run(long start, CancellationToken ct)
    {
        try
        {
            using IProducer<byte[]?, byte[]> producer = new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig
            {
                // Kafka's default partitioner (the Java client's): records land on their plate's partition.
                Partitioner = Partitioner.Murmur2Random, BootstrapServers = bootstrap, LingerMs = 1, Acks = Acks.All,
                ClientId = "bench-load", EnableDeliveryReports = false,
            }).Build();
            int i = 0;
            while (i < load.Count && !ct.IsCancellationRequested)
            {
                long now = Stopwatch.GetTimestamp();
                while (i < load.Count && start + load.DueTicks(i) <= now)
                {
                    Produce(producer, load.IsQuery[i] ? topics.Queries : topics.Reads, load.Messages[i]);
                    if (i >= FirstTimed)
                    {
                        Lateness.RecordValue(Math.Max(1,
                            (Stopwatch.GetTimestamp() - start - load.DueTicks(i)) * 1_000_000 / Stopwatch.Frequency));
                    }
                    i++;
                }
                Volatile.Write(ref _allocated, GC.GetAllocatedBytesForCurrentThread());
                if (i < load.Count && start + load.DueTicks(i) > Stopwatch.GetTimestamp()) Thread.Sleep(1);
            }
            producer.Flush(TimeSpan.FromSeconds(30));
            Volatile.Write(ref _allocated, GC.GetAllocatedBytesForCurrentThread());
        }
        catch (Exception e)
        {
            Failure = e;
        }
    }

    private static void Produce(IProducer<byte[]?, byte[]> producer, string topic, Message<byte[]?, byte[]> message)
    {
        while (true)
        {
            try
            {
                producer.Produce(topic, message);
                return;
            }
            catch (ProduceException<byte[]?, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
            {
                producer.Poll(TimeSpan.FromMilliseconds(1));
            }
        }
    }
}
