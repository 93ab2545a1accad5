using System.Diagnostics;
using Confluent.Kafka;
using Xunit.Abstractions;
using StreamGuard.Engine;
using StreamGuard.Kafka;
using StreamGuard.Kafka.Embedded;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Integration;

/// <summary>
/// Issue 17's review: a synchronous <c>consumer.Commit</c> (the at-least-once committer, and the embedded cluster's
/// copy of a transaction's offsets) is unbounded while the group coordinator is away. It is: a commit sent while the
/// group still counted the coordinator up meets a refused connection and is retried by librdkafka until the
/// coordinator answers (a commit sent later waits a session timeout). The worker therefore bounds the wait itself: it
/// goes on deciding while the commit waits, with the offsets pending, and commits them once the coordinator is back.
/// </summary>
public sealed class OffsetCommitBoundTests(ITestOutputHelper output)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task AWorkerGoesOnDecidingWhileTheGroupCoordinatorIsDownAndCommitsWhenItReturns()
    {
        using var cluster = new KafkaTestCluster(partitions: 2, brokers: 3);
        if (cluster.Mock is not { } mock) return; // a real broker's coordinator cannot be taken down from here
        using var policy = new TestPolicy();
        WorkerOptions options = cluster.WorkerOptions(processing: ProcessingMode.AtLeastOnce) with
        {
            FlushTimeout = TimeSpan.FromSeconds(3),
            CommitInterval = TimeSpan.FromMilliseconds(100),
        };
        // The group's coordinator alone on broker 3; every partition led by brokers 1 and 2, so that taking broker 3
        // down takes away the coordinator and nothing else.
        mock.SetCoordinator(transactional: false, cluster.GroupId, brokerId: 3);
        void LeadOffBroker3()
        {
            IEnumerable<string> topics = cluster.AllTopics.Concat(Enum.GetValues<OutputKind>()
                .SelectMany(k => cluster.TopicsOf(k).Keys));
            foreach (string topic in topics)
            {
                for (int p = 0; p < cluster.Partitions; p++) mock.SetPartitionLeader(topic, p, p % 2 + 1);
            }
        }
        LeadOffBroker3();
        using var worker = new SupervisedWorker(log => new StreamGuardWorker(options,
            sink => new StreamGuardEngine(policy.Compiled, sink, TestPolicy.AuditKey), new LineLogger(log)),
            maxRestarts: 0);
        await worker.AssignedAsync();
        LeadOffBroker3(); // the agency topics the worker made on start

        using IProducer<string?, string> producer = cluster.Producer();
        int produced = 0;
        async Task Wave(int reads)
        {
            for (int i = 0; i < reads; i++, produced++)
            {
                string plate = $"P{produced % 37:D4}";
                producer.Produce(cluster.Topics.Reads, new Message<string?, string>
                {
                    Key = plate, Value = TestPolicy.Read($"r{produced:D5}", "ca-lapd", plate, DateTimeOffset.UtcNow),
                });
            }
            await Task.Run(() => producer.Flush(s_timeout));
        }
        async Task Decided(string what)
        {
            var clock = Stopwatch.StartNew();
            while (worker.Processed < produced)
            {
                Assert.True(clock.Elapsed < s_timeout,
                    $"{what}: {worker.Processed} of {produced} decided\n" + string.Join('\n', worker.Log.TakeLast(40)));
                await Task.Delay(50);
            }
            output.WriteLine($"{what}: {produced} decided after {clock.Elapsed.TotalSeconds:0.0} s");
        }

        await Wave(50);
        await Decided("before the outage");
        await WaitUntil(() => Committed(cluster) == produced, "the first wave committed");

        mock.SetBrokerDown(3);
        try
        {
            // Each wave's commit waits for the coordinator; the worker must not wait with it.
            await Wave(50);
            await Decided("the coordinator down, first wave");
            await Task.Delay(options.FlushTimeout * 2); // the commit of that wave is now past its bound
            await Wave(50);
            await Decided("the coordinator down, second wave");
            Assert.Contains(worker.Log, l => l.Contains("offset commit still waiting", StringComparison.Ordinal)
                || l.Contains("earlier offset commit is still waiting", StringComparison.Ordinal));
        }
        finally
        {
            mock.SetBrokerUp(3);
        }
        await WaitUntil(() => Committed(cluster) == produced, "every offset committed once the coordinator is back");
        await worker.StopAsync();
        Assert.DoesNotContain(worker.Log, l => l.Contains("consumer is left open", StringComparison.Ordinal));
    }

    /// <summary>
    /// A commit the broker refuses (a non-fatal error) is logged and retried with the next batch; the worker goes on.
    /// The first version of the bounded commit let the pool thread's failure through wrapped, and the worker stopped.
    /// </summary>
    [Fact]
    public async Task ACommitTheBrokerRefusesIsRetriedAndTheWorkerGoesOn()
    {
        using var cluster = new KafkaTestCluster(partitions: 2, brokers: 1);
        if (cluster.Mock is not { } mock) return; // a real broker's errors cannot be injected from here
        using var policy = new TestPolicy();
        WorkerOptions options = cluster.WorkerOptions(processing: ProcessingMode.AtLeastOnce) with
        {
            FlushTimeout = TimeSpan.FromSeconds(10),
            CommitInterval = TimeSpan.FromMilliseconds(100),
        };
        using var worker = new SupervisedWorker(log => new StreamGuardWorker(options,
            sink => new StreamGuardEngine(policy.Compiled, sink, TestPolicy.AuditKey), new LineLogger(log)),
            maxRestarts: 0);
        await worker.AssignedAsync();
        mock.PushRequestErrors(KafkaApiKey.OffsetCommit, ErrorCode.OffsetMetadataTooLarge);
        using IProducer<string?, string> producer = cluster.Producer();
        const int Reads = 20;
        for (int i = 0; i < Reads; i++)
        {
            string plate = $"P{i:D4}";
            producer.Produce(cluster.Topics.Reads, new Message<string?, string>
            {
                Key = plate, Value = TestPolicy.Read($"r{i:D5}", "ca-lapd", plate, DateTimeOffset.UtcNow),
            });
        }
        await Task.Run(() => producer.Flush(s_timeout));
        await WaitUntil(() => Committed(cluster) == Reads, "every offset committed after the refused commit");
        Assert.Contains(worker.Log, l => l.Contains("commit failed (will retry)", StringComparison.Ordinal));
        Assert.True(worker.Failures.Count == 0, string.Join('\n', worker.Failures));
        await worker.StopAsync();
    }

    /// <summary>The group's committed offsets of the reads topic, summed.</summary>
    private static long Committed(KafkaTestCluster cluster)
    {
        using IConsumer<byte[], byte[]> probe = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers, GroupId = cluster.GroupId, EnableAutoCommit = false,
        }).Build();
        IEnumerable<TopicPartition> partitions = Enumerable.Range(0, cluster.Partitions)
            .Select(p => new TopicPartition(cluster.Topics.Reads, p));
        try
        {
            return probe.Committed(partitions, TimeSpan.FromSeconds(5)).Sum(o => Math.Max(0, o.Offset.Value));
        }
        catch (KafkaException)
        {
            return -1; // the coordinator is not answering yet
        }
    }

    private static async Task WaitUntil(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < s_timeout * 2, $"not reached in time: {what}");
            await Task.Delay(200);
        }
    }
}
