using System.Text;
using Confluent.Kafka;
using StreamGuard.Engine;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.CommandLine;

/// <summary><c>audit verify --topic</c>: the chains as Kafka holds them, read back from the topic.</summary>
public sealed class AuditVerifyTopicTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task AuditVerifyTopicPassesIntactChainsAndFailsOnOneForgedRecord()
    {
        using var policy = new TestPolicy();
        using var cluster = new KafkaTestCluster();
        var sink = new MemorySink();
        var engine = new StreamGuardEngine(policy.Compiled, sink, TestPolicy.AuditKey);
        DateTimeOffset now = DateTimeOffset.UtcNow;
        for (int i = 0; i < 20; i++)
        {
            string read =
                TestPolicy.Read($"r{i}", i % 2 == 0 ? "ca-lapd" : "ca-lasd", $"P{i % 5:D4}", now.AddMinutes(-i));
            engine.ProcessRead(Encoding.UTF8.GetBytes(read), EventSource.File("reads", i + 1));
        }
        engine.ProcessQuery(Encoding.UTF8.GetBytes(TestPolicy.Query("q1", "us-ice-ero", "P0001", now)),
            EventSource.File("queries", 1));

        using IProducer<string?, string> producer = cluster.Producer();
        foreach (string record in sink.AuditRecords)
        {
            string chain = MemorySink.Json(record).GetProperty("chain").GetString()!;
            producer.Produce(cluster.Topics.Audit, new Message<string?, string> { Key = chain, Value = record });
        }
        producer.Flush(s_timeout);
        string[] verify = ["audit", "verify", "--topic", cluster.Topics.Audit, "--bootstrap", cluster.BootstrapServers];
        Assert.Equal(0, await StreamGuard.Cli.Cli.MainAsync(verify));

        string first = MemorySink.Json(sink.AuditRecords[0]).GetProperty("chain").GetString()!;
        await producer.ProduceAsync(cluster.Topics.Audit, new Message<string?, string>
        {
            Key = first,
            Value = "{\"id\":\"forged\",\"chain\":\"" + first + "\",\"seq\":999999,\"prev\":\"00\",\"hash\":\"00\"}",
        });
        Assert.Equal(1, await StreamGuard.Cli.Cli.MainAsync(verify));
    }
}
