using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using StreamGuard.Engine;
using StreamGuard.Kafka;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Integration;

/// <summary>
/// The hotlist and hold tables are loaded whole before the first input event, however long that takes: no partial
/// start, and the worker is not ready meanwhile. Runs on the embedded cluster, or on a real broker when
/// STREAMGUARD_KAFKA_BOOTSTRAP is set.
/// </summary>
public sealed class GlobalTablesTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(120);

    private static async Task ProduceEntries(KafkaTestCluster cluster, int count)
    {
        using IProducer<string?, string> producer = cluster.Producer();
        for (int i = 0; i < count; i++)
        {
            string id = $"list-{i:D5}";
            string plate = $"P{i:D6}";
            producer.Produce(cluster.Topics.Hotlists, new Message<string?, string>
            {
                Key = $"{id}/{plate}",
                Value = $"{{\"hotlist_id\":\"{id}\",\"owner\":\"ca-lapd\",\"plate\":\"{plate}\"," +
                    "\"purpose\":\"stolen_vehicle\"}",
            });
        }
        producer.Flush(s_timeout);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task TablesWhoseEndIsNotReachedWithinTheFlushTimeoutAreStillLoadedWhole()
    {
        const int entries = 3000;
        using var policy = new TestPolicy();
        using var cluster = new KafkaTestCluster();
        await ProduceEntries(cluster, entries);
        // A flush timeout no table partition can be read to its end within.
        WorkerOptions options = cluster.WorkerOptions() with { FlushTimeout = TimeSpan.FromTicks(1) };
        var engine = new StreamGuardEngine(policy.Compiled, new MemorySink(), TestPolicy.AuditKey);
        using IProducer<byte[], byte[]> producer = cluster.OutputProducer();
        WorkerTopology topology = WorkerTopology.Read(producer, options, NullLogger.Instance);

        using GlobalTables? tables = GlobalTables.Load(WorkerClientConfig.Consumer(options), options, topology,
            engine, NullLogger.Instance, CancellationToken.None);

        Assert.NotNull(tables);
        Assert.Equal(entries, engine.Hotlists.Count);
    }

    [Fact]
    public async Task TheWorkerIsNotReadyAndDecidesNothingUntilItsTablesAreLoaded()
    {
        const int entries = 20_000;
        using var policy = new TestPolicy();
        using var cluster = new KafkaTestCluster();
        await ProduceEntries(cluster, entries);
        using (IProducer<string?, string> producer = cluster.Producer())
        {
            // Matches the last entry written: it alerts only if the whole table was loaded before it was decided.
            await producer.ProduceAsync(cluster.Topics.Reads, new Message<string?, string>
            {
                Key = "P019999",
                Value = TestPolicy.Read("r1", "ca-lapd", "P019999", DateTimeOffset.UtcNow.AddMinutes(-1)),
            });
        }
        var worker = new StreamGuardWorker(cluster.WorkerOptions(),
            sink => new StreamGuardEngine(policy.Compiled, sink, TestPolicy.AuditKey));
        using var running = new WorkerThread(worker);
        // Whenever it is seen ready, the tables are whole; until then nothing was decided.
        var deadline = DateTime.UtcNow + s_timeout;
        while (!worker.Ready)
        {
            Assert.True(DateTime.UtcNow < deadline, "the worker never became ready");
            Assert.Equal(0, worker.Engine?.Stats.Reads ?? 0);
            await Task.Delay(5);
        }
        Assert.Equal(entries, worker.Engine!.Hotlists.Count);
        await running.WaitFor(() => worker.Engine!.Stats.Alerts >= 1);
        await running.StopAsync();
    }
}
