using Confluent.Kafka;
using StreamGuard.Engine;
using StreamGuard.Kafka;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.CommandLine;

/// <summary>
/// <c>audit verify --topic</c> on the chains a worker wrote: routed by its sink (chain pN on audit partition N mod the
/// partition count, key pN), inside its transactions, read back from the topic by the command.
/// </summary>
public sealed class AuditVerifyTopicTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task AuditVerifyTopicPassesAWorkersChainsAndFailsOnOneForgedRecord()
    {
        using var policy = new TestPolicy();
        using var cluster = new KafkaTestCluster();
        var worker = new StreamGuardWorker(
            cluster.WorkerOptions(),
            sink => new StreamGuardEngine(policy.Compiled, sink, TestPolicy.AuditKey));
        using var running = new WorkerThread(worker);
        await running.AssignedAsync();

        using IProducer<string?, string> producer = cluster.Producer();
        DateTimeOffset now = DateTimeOffset.UtcNow;
        const int Reads = 40;
        for (int i = 0; i < Reads; i++)
        {
            string plate = $"P{i % 7:D4}";
            string read = TestPolicy.Read($"r{i}", i % 2 == 0 ? "ca-lapd" : "ca-lasd", plate, now.AddMinutes(-i));
            producer.Produce(cluster.Topics.Reads, new Message<string?, string> { Key = plate, Value = read });
        }
        string query = TestPolicy.Query("q1", "us-ice-ero", "P0001", now);
        producer.Produce(cluster.Topics.Queries, new Message<string?, string> { Key = "P0001", Value = query });
        producer.Flush(s_timeout);
        await running.WaitFor(() => worker.Processed >= Reads + 1);
        await running.StopAsync();

        string[] verify = ["audit", "verify", "--topic", cluster.Topics.Audit, "--bootstrap", cluster.BootstrapServers];
        Assert.Equal(0, await StreamGuard.Cli.Cli.MainAsync(verify));

        string chain = cluster.ReadAll(cluster.Topics.Audit, 1, s_timeout)[0].Message.Key!;
        await producer.ProduceAsync(cluster.Topics.Audit, new Message<string?, string>
        {
            Key = chain,
            Value = "{\"id\":\"forged\",\"chain\":\"" + chain + "\",\"seq\":999999,\"prev\":\"00\",\"hash\":\"00\"}",
        });
        Assert.Equal(1, await StreamGuard.Cli.Cli.MainAsync(verify));
    }
}
