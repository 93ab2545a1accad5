using Confluent.Kafka;
using StreamGuard.Engine;
using StreamGuard.Kafka;
using StreamGuard.Kafka.Embedded;
using StreamGuard.Tests.Support;
using Xunit.Abstractions;

namespace StreamGuard.Tests.Integration;

/// <summary>
/// The transactional committer's bound on <c>SendOffsetsToTransaction</c>. Exactly-once only: an at-least-once worker
/// sends no offsets to a transaction.
/// </summary>
public sealed class TransactionalCommitterTests(ITestOutputHelper output)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(90);

    /// <summary>
    /// librdkafka does not enforce the timeout of <c>SendOffsetsToTransaction</c> when the group coordinator goes away
    /// during the call (confluentinc/librdkafka#5456): it can block for good, and the worker with it — silent, its
    /// partitions held. The worker must stop instead, within its flush timeout plus a grace, so its supervisor
    /// restarts it.
    /// </summary>
    [Fact]
    public async Task AHungSendOffsetsStopsTheWorkerInsteadOfHangingIt()
    {
        using var policy = new TestPolicy();
        using var cluster = new KafkaTestCluster(partitions: 2, brokers: 3);
        cluster.CreateAgencyTopics(policy);
        MockCluster? mock = cluster.Mock;
        string transactionalId = $"{cluster.GroupId}-hang";
        if (mock is not null)
        {
            mock.SetCoordinator(transactional: false, cluster.GroupId, 1);
            mock.SetCoordinator(transactional: true, transactionalId, 2);
            foreach (string topic in cluster.AllTopics)
            {
                for (int p = 0; p < cluster.Partitions; p++) mock.SetPartitionLeader(topic, p, 3);
            }
        }
        // A 2 s flush timeout: the worker gives up on the call after 7 s. librdkafka's own log is off: the producer the
        // worker abandons keeps reconnecting until the test process ends.
        var options = cluster.WorkerOptions(transactionalId) with
        {
            FlushTimeout = TimeSpan.FromSeconds(2), Kafka = new Dictionary<string, string> { ["log_level"] = "0" },
        };
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var worker = new StreamGuardWorker(options,
            sink => new StreamGuardEngine(policy.Compiled, sink, TestPolicy.AuditKey), new LineLogger(log.Enqueue));
        using var stop = new CancellationTokenSource();
        Task run = Task.Factory.StartNew(() => worker.Run(stop.Token), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);
        Assert.True(await Task.WhenAny(worker.Assigned, run, Task.Delay(s_timeout)) == worker.Assigned,
            "the worker was not assigned partitions:\n" + string.Join('\n', log));

        // Reads keep arriving, so the worker keeps committing transactions with offsets.
        using IProducer<string?, string> producer = cluster.Producer();
        using var feeding = new CancellationTokenSource();
        Task feed = Task.Run(async () =>
        {
            for (int i = 0; !feeding.IsCancellationRequested; i++)
            {
                producer.Produce(cluster.Topics.Reads, new Message<string?, string>
                {
                    Key = $"H{i % 10}",
                    Value = TestPolicy.Read($"h{i:D6}", "ca-lapd", $"H{i % 10}", DateTimeOffset.UtcNow),
                });
                await Task.Delay(10);
            }
        });
        var deadline = DateTime.UtcNow + s_timeout;
        while (worker.Commits < 3 && !run.IsCompleted && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.True(worker.Commits >= 3, "no transactions committed before the fault:\n" + string.Join('\n', log));

        if (mock is null)
        {
            // A real broker: no fault can be injected; the worker must go on committing and stop cleanly.
            long before = worker.Commits;
            await Task.Delay(2000);
            await feeding.CancelAsync();
            await feed;
            await stop.CancelAsync();
            await run.WaitAsync(s_timeout);
            Assert.True(worker.Commits > before);
            return;
        }

        mock.SetBrokerDown(1);
        var down = System.Diagnostics.Stopwatch.StartNew();
        Task ended = await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(30)));
        long stoppedAfterMs = down.ElapsedMilliseconds;
        await feeding.CancelAsync();
        await feed;
        mock.SetBrokerUp(1);
        Assert.True(ended == run, "the worker still had not stopped 30 s after the group coordinator went down:\n" +
            string.Join('\n', log.TakeLast(40)));
        KafkaException e = await Assert.ThrowsAnyAsync<KafkaException>(() => run);
        output.WriteLine($"stopped {stoppedAfterMs} ms after the group coordinator went down: {e.Message}");
        // With librdkafka#5456 the worker's own bound stops it (log event 120). Once librdkafka enforces the timeout
        // itself, the call fails as an abortable timeout and the worker aborts and stops: a timeout either way.
        Assert.Equal(ErrorCode.Local_TimedOut, e.Error.Code);
        bool bounded =
            e.Message.StartsWith("SendOffsetsToTransaction did not return within 7 s", StringComparison.Ordinal);
        Assert.True(bounded || e is KafkaTxnRequiresAbortException,
            $"neither the bound nor librdkafka's own timeout stopped the worker: {e}");
        if (bounded) Assert.Contains(log, line => line.Contains("librdkafka issue #5456", StringComparison.Ordinal));
    }
}
