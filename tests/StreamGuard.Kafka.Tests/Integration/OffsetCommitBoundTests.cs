using System.Diagnostics;
using Confluent.Kafka;
using StreamGuard.Kafka;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Integration;

/// <summary>
/// Issue 17's review said a synchronous <c>consumer.Commit</c> (the at-least-once committer, and the embedded cluster's
/// copy of a transaction's offsets) is unbounded while the group coordinator is away. For the worker's consumer it is
/// bounded: a member of a group (the worker's input consumer always is: it subscribes) fails a commit that has waited a
/// session timeout for its coordinator ("Waiting for coordinator"), and both committers treat that as a failed commit
/// whose offsets are retried with the next batch. (An assignment-only consumer would wait for as long as the
/// coordinator is away; the worker commits with none.)
/// </summary>
public sealed class OffsetCommitBoundTests
{
    [Fact]
    public async Task ACommitWhileTheGroupCoordinatorIsDownFailsWithinTheSessionTimeoutInsteadOfHanging()
    {
        using var cluster = new KafkaTestCluster(partitions: 2, brokers: 3);
        if (cluster.Mock is not { } mock) return; // a real broker's coordinator cannot be taken down from here
        const int SessionMs = 6_000;
        WorkerOptions options = cluster.WorkerOptions() with
        {
            Kafka = new Dictionary<string, string> { ["session.timeout.ms"] = $"{SessionMs}" },
        };
        ConsumerConfig config = WorkerClientConfig.Consumer(options, statistics: false);
        mock.SetCoordinator(transactional: false, config.GroupId, brokerId: 3);
        using (IProducer<string?, string> producer = cluster.Producer())
        {
            producer.Produce(new TopicPartition(cluster.Topics.Reads, 0),
                new Message<string?, string> { Key = "k", Value = "v" });
            producer.Flush(TimeSpan.FromSeconds(30));
        }
        using IConsumer<byte[], byte[]> consumer = new ConsumerBuilder<byte[], byte[]>(config).Build();
        // A member of the group, as the worker is.
        consumer.Subscribe(cluster.Topics.Reads);
        var joined = Stopwatch.StartNew();
        while (consumer.Assignment.Count == 0 && joined.Elapsed < TimeSpan.FromSeconds(60))
        {
            consumer.Consume(TimeSpan.FromMilliseconds(200));
        }
        Assert.NotEmpty(consumer.Assignment);
        consumer.Commit([new TopicPartitionOffset(cluster.Topics.Reads, 0, 0)]); // the coordinator is known

        mock.SetBrokerDown(3);
        var clock = Stopwatch.StartNew();
        Task<KafkaException?> commit = Task.Run(() =>
        {
            try
            {
                consumer.Commit([new TopicPartitionOffset(cluster.Topics.Reads, 0, 1)]);
                return null;
            }
            catch (KafkaException e)
            {
                return e;
            }
        });
        Task done = await Task.WhenAny(commit, Task.Delay(TimeSpan.FromMilliseconds(SessionMs * 5)));
        mock.SetBrokerUp(3);
        Assert.True(done == commit, $"the commit was still waiting after {clock.Elapsed.TotalSeconds:0} s");
        KafkaException? failure = await commit;
        Assert.NotNull(failure); // not committed: the committers keep the offsets pending and retry
        Assert.False(failure.Error.IsFatal);
    }
}
