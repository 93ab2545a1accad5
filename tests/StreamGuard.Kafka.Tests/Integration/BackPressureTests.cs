using System.Diagnostics;
using Confluent.Kafka;
using StreamGuard.Engine;
using StreamGuard.Kafka;
using StreamGuard.Tests.Support;
using Xunit.Abstractions;

namespace StreamGuard.Tests.Integration;

/// <summary>
/// Producing stalls (the broker that leads every output partition goes down) while inputs stay readable: the worker
/// stops consuming instead of buffering without bound, and when the broker returns it finishes, with outputs equal to a
/// replay of the same input.
/// </summary>
/// <remarks>
/// The bound: events are consumed only between commits, and a commit waits for every output to be acknowledged — so
/// while outputs cannot be delivered the worker takes at most one commit batch
/// (<see cref="WorkerOptions.CommitBatch"/>) past the last commit, and the producer's queue holds at most
/// <c>queue.buffering.max.messages</c> records (beyond that, Produce throws Local_QueueFull and the sink waits for
/// deliveries). On a real broker no broker is taken down and the test checks the run alone.
/// </remarks>
public abstract class BackPressureTests(ProcessingMode mode, ITestOutputHelper output)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task WhenOutputsCannotBeDeliveredConsumptionPausesAndResumesAfterwards()
    {
        using var policy = new TestPolicy();
        using var cluster = new KafkaTestCluster(partitions: 4, brokers: 2);
        var options = cluster.WorkerOptions($"{cluster.GroupId}-slot0", quickRejoin: true, processing: mode) with
        {
            CommitBatch = 1_000,
            // Longer than the stall: librdkafka times queued messages out after the transaction timeout.
            TransactionTimeout = TimeSpan.FromSeconds(60),
            Kafka = new Dictionary<string, string>
            {
                ["session.timeout.ms"] = "6000", ["heartbeat.interval.ms"] = "500",
                ["queue.buffering.max.messages"] = "500",
            },
        };
        cluster.CreateAgencyTopics(policy);
        if (cluster.Mock is { } mock)
        {
            // Inputs and coordinators on broker 1, every output partition led by broker 2.
            string[] outputs =
            [
                .. policy.Document.Agencies.SelectMany(a => cluster.Topics.OfAgency(a.Id)),
                cluster.Topics.Audit, cluster.Topics.DeadLetter,
            ];
            foreach (string topic in cluster.AllTopics)
            {
                for (int p = 0; p < cluster.Partitions; p++)
                {
                    mock.SetPartitionLeader(topic, p, outputs.Contains(topic) ? 2 : 1);
                }
            }
            mock.SetCoordinator(transactional: false, cluster.GroupId, 1);
            mock.SetCoordinator(transactional: true, options.TransactionalId!, 1);
        }

        // Keyed like the worker partitions (murmur2): every read is decided where it lands, none forwarded.
        using IProducer<string?, string> producer = new ProducerBuilder<string?, string>(new ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers, Acks = Acks.All, EnableIdempotence = true,
            Partitioner = Partitioner.Murmur2Random,
        }).Build();
        DateTimeOffset now = DateTimeOffset.UtcNow;
        var reads = new List<string>();
        const int Count = 16_000, PerSecond = 1_500;
        for (int i = 0; i < Count; i++)
        {
            string plate = $"B{i % 50:D4}";
            reads.Add(
                TestPolicy.Read($"r{i:D6}", i % 2 == 0 ? "ca-lapd" : "ca-lasd", plate, now.AddMilliseconds(-i * 10)));
        }

        using var worker = new SupervisedWorker(log => new StreamGuardWorker(options,
            sink => new StreamGuardEngine(policy.Compiled, sink, TestPolicy.AuditKey), new LineLogger(log)));
        await worker.AssignedAsync();

        // Input keeps arriving at a steady pace the whole time (its broker stays up): there is always something to
        // consume.
        long produced = 0;
        Task feeder = Task.Run(() =>
        {
            var pace = Stopwatch.StartNew();
            for (int i = 0; i < Count; i++)
            {
                while (i > pace.Elapsed.TotalSeconds * PerSecond) Thread.Sleep(5);
                producer.Produce(cluster.Topics.Reads,
                    new Message<string?, string> { Key = $"B{i % 50:D4}", Value = reads[i] });
                Interlocked.Increment(ref produced);
            }
            producer.Flush(s_timeout);
        });
        await Until(() => worker.Processed >= 1_500, "1,500 events processed before the stall", worker);

        var samples = new List<(double Seconds, long Processed, long Produced)>();
        long before = worker.Processed, producedBefore = Interlocked.Read(ref produced);
        cluster.Mock?.SetBrokerDown(2);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(8))
        {
            await Task.Delay(250);
            samples.Add((clock.Elapsed.TotalSeconds, worker.Processed, Interlocked.Read(ref produced)));
        }
        cluster.Mock?.SetBrokerUp(2);
        await feeder;
        long consumedInStall = samples[^1].Processed - before;
        long lastSeconds = samples[^1].Processed - samples.First(s => s.Seconds >= 4).Processed;
        long arrivedInStall = samples[^1].Produced - producedBefore;

        await Until(() => worker.Processed >= Count, $"{Count} reads processed after the stall", worker);
        await Until(() => IngestedReads(cluster) >= Count, $"{Count} reads ingested after the stall", worker);
        await worker.StopAsync();

        ReplayComparison expected = ReplayComparison.Offline(policy, [], reads, []);
        ReplayComparison actual = ReplayComparison.FromTopics(cluster, s_timeout);
        bool exact = !cluster.IsEmbedded || worker.Restarts == 0;
        List<string> differences = actual.Differences(expected, distinctOnly: !exact);
        string verdict = differences.Count == 0 ? "match" : "DIFFER from";
        output.WriteLine($"stall of 8 s with the output broker down: {arrivedInStall:N0} reads arrived and " +
            $"{consumedInStall:N0} were consumed during it ({before:N0} before; " +
            $"bound {options.CommitBatch:N0} per commit), {lastSeconds:N0} in its last 4 s; " +
            $"{worker.Restarts} restarts; outputs {verdict} the replay ({(exact ? "exactly" : "as sets")})");
        Assert.True(differences.Count == 0, string.Join('\n', differences));
        if (cluster.IsEmbedded)
        {
            Assert.True(consumedInStall <= options.CommitBatch,
                $"{consumedInStall} events consumed while outputs could not be delivered");
            Assert.Equal(0, lastSeconds); // paused, not slowed
            Assert.True(arrivedInStall > 2 * options.CommitBatch,
                $"only {arrivedInStall} reads arrived during the stall: it shows nothing");
        }
    }

    private static int IngestedReads(KafkaTestCluster cluster)
    {
        try
        {
            return cluster.AuditDecisions(s_timeout)
                .Where(v => v.Contains("\"event\":\"ingest\"", StringComparison.Ordinal))
                .Select(v => System.Text.Json.JsonDocument.Parse(v).RootElement.GetProperty("reads")[0].GetString())
                .Distinct().Count();
        }
        catch (ConsumeException)
        {
            return 0;
        }
    }

    private static async Task Until(Func<bool> condition, string what, SupervisedWorker worker)
    {
        var deadline = DateTime.UtcNow + s_timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"not reached in time: {what} ({worker.Processed:N0} processed)\n" +
                    string.Join('\n', worker.Log.TakeLast(40)));
            }
            await Task.Delay(500);
        }
    }

    /// <summary>These tests with outputs, audit and offsets committed in one transaction.</summary>
    public sealed class ExactlyOnce(ITestOutputHelper output) : BackPressureTests(ProcessingMode.ExactlyOnce, output);

    /// <summary>These tests with outputs flushed, then offsets committed.</summary>
    public sealed class AtLeastOnce(ITestOutputHelper output) : BackPressureTests(ProcessingMode.AtLeastOnce, output);
}
