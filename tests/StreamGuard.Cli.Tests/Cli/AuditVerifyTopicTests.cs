using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Confluent.Kafka;
using StreamGuard.Engine;
using StreamGuard.Kafka;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.CommandLine;

/// <summary>
/// <c>audit verify --topic</c> and <c>audit export --topic</c> on the chains a worker wrote: routed by its sink (chain
/// pN on audit partition N mod the partition count, key pN), one block per message inside its transactions, read back
/// from the topic by the command.
/// </summary>
[Collection("Console")]
public sealed class AuditVerifyTopicTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task AuditVerifyAndExportReadAWorkersChainsAndVerifyFailsOnAForgedOrReplayedBlock()
    {
        using var policy = new TestPolicy(TestPolicy.Yaml + """

            agreements:
              - {id: la-push, owners: [ca-lapd], recipients: [ca-lasd], access: [push], purposes: [stolen_vehicle]}
            """);
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
        long decisions = worker.Engine!.AuditDecisionCount;

        string topic = cluster.Topics.Audit;
        string[] verify = ["audit", "verify", "--topic", topic, "--bootstrap", cluster.BootstrapServers];
        var ok = CliRunner.Run(verify);
        Assert.True(ok.Code == 0, ok.Out + ok.Err);
        Assert.Matches($@"^{Regex.Escape(topic)}: ok — {worker.Engine.AuditEntryCount} entries in [1-9][0-9,]* " +
            @"blocks on [1-9] chains, every link verified", ok.Out);

        // Each chain's head is the seal that ends the last message of its partition.
        List<ConsumeResult<string?, string>> messages = cluster.ReadToEnd(topic, s_timeout);
        var byPartition = messages.GroupBy(m => m.Partition.Value).OrderBy(g => g.Key)
            .Select(g => g.OrderBy(m => m.Offset.Value).ToList()).ToList();
        var heads = new List<string>();
        foreach (var partition in byPartition)
        {
            string[] lines = partition[^1].Message.Value.Split('\n');
            JsonElement seal = MemorySink.Json(lines[^1]);
            string chain = seal.GetProperty("chain").GetString()!;
            Assert.Equal(chain, partition[^1].Message.Key);
            long seq = seal.GetProperty("seq").GetInt64();
            heads.Add($"  head {chain} seq {seq} {seal.GetProperty("hash").GetString()}");
        }
        Assert.Equal(heads, ok.Out.ReplaceLineEndings("\n").Split('\n').Where(l => l.StartsWith("  head ",
            StringComparison.Ordinal)));
        // Every line of every message is one JSON object: the blocks' entries, then the seal.
        Assert.All(messages.SelectMany(m => m.Message.Value.Split('\n')),
            l => Assert.Equal(JsonValueKind.Object, MemorySink.Json(l).ValueKind));

        // Export: one object per decision the engine made, each share's sg-decision and the result's decision_id
        // among them, naming the same recipient, read and query.
        var export = CliRunner.Run("audit", "export", "--topic", topic, "--bootstrap", cluster.BootstrapServers);
        Assert.True(export.Code == 0, export.Err);
        List<JsonElement> exported = export.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(MemorySink.Json).ToList();
        Assert.Equal(decisions, exported.Count);
        var byId = exported.ToDictionary(d => d.GetProperty("id").GetString()!);
        List<ConsumeResult<string?, string>> shares = cluster.ReadToEnd(OutputKind.Shared, s_timeout);
        Assert.Equal(Reads / 2, shares.Count); // ca-lapd's reads, pushed to ca-lasd
        foreach (ConsumeResult<string?, string> share in shares)
        {
            string id = Encoding.UTF8.GetString(share.Message.Headers.GetLastBytes("sg-decision"));
            JsonElement d = byId[id];
            Assert.Equal("push", d.GetProperty("event").GetString());
            Assert.Equal("allow", d.GetProperty("decision").GetString());
            Assert.Equal("la-push", d.GetProperty("rule").GetString());
            Assert.Equal(Encoding.UTF8.GetString(share.Message.Headers.GetLastBytes("sg-recipient")),
                d.GetProperty("recipient").GetString());
            Assert.Equal(MemorySink.Json(share.Message.Value).GetProperty("read_id").GetString(),
                d.GetProperty("reads")[0].GetString());
        }
        JsonElement result = MemorySink.Json(cluster.ReadToEnd(OutputKind.Results, s_timeout).Single()
            .Message.Value);
        JsonElement search = byId[result.GetProperty("decision_id").GetString()!];
        Assert.Equal(("search", "q1", "us-ice-ero"), (search.GetProperty("event").GetString(),
            search.GetProperty("query_id").GetString(), search.GetProperty("recipient").GetString()));

        // Forged and replayed blocks, each on its own chain: verify reads partitions in order, so the replayed
        // block on the first chain is reported once it is there, the forged one on the last chain before that.
        Assert.True(byPartition.Count >= 2, "the reads landed on one partition");
        List<ConsumeResult<string?, string>> last = byPartition[^1], first = byPartition[0];
        JsonElement lastSeal = MemorySink.Json(last[^1].Message.Value.Split('\n')[^1]);
        string lastChain = last[^1].Message.Key!;
        long next = lastSeal.GetProperty("seq").GetInt64() + 1;
        // The next entry of the chain, sealed by one who cannot compute the chain's hash: the seal's hash is wrong.
        string forged = (
            $"{{'seq':{next},'at':'2026-03-03T17:00:00Z','policy':1,'read':'forged','owner':'ca-lapd'," +
            "'plate_ref':'00000000000000000000000000000000','ingest':'allow.ingest'}\n" +
            $"{{'chain':'{lastChain}','seq':{next},'at':'2026-03-03T17:00:00Z'," +
            $"'salt':'{lastSeal.GetProperty("salt").GetString()}','hash':'{new string('0', 64)}'}}").Replace('\'', '"');
        DeliveryResult<string?, string> a = await producer.ProduceAsync(new TopicPartition(topic, last[^1].Partition),
            new Message<string?, string> { Key = lastChain, Value = forged });
        var broken = CliRunner.Run(verify);
        Assert.Equal(1, broken.Code);
        Assert.StartsWith($"{topic}/{a.Partition.Value}/{a.Offset.Value}: chain {lastChain}: the block ending at seq " +
            $"{next} does not match its seal's hash", broken.Err, StringComparison.Ordinal);

        // A genuine block written again (its chain's first, the policy_load): out of sequence.
        DeliveryResult<string?, string> b = await producer.ProduceAsync(new TopicPartition(topic, first[0].Partition),
            new Message<string?, string> { Key = first[0].Message.Key, Value = first[0].Message.Value });
        broken = CliRunner.Run(verify);
        Assert.Equal(1, broken.Code);
        Assert.StartsWith($"{topic}/{b.Partition.Value}/{b.Offset.Value}: chain {first[0].Message.Key}: expected seq ",
            broken.Err, StringComparison.Ordinal);
    }
}
