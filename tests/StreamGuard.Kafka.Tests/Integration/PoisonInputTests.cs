using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using StreamGuard.Audit;
using StreamGuard.Engine;
using StreamGuard.Kafka;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Integration;

/// <summary>
/// The poison-input suite: every input that once stopped the worker (and stopped it again after every restart) is
/// replayed against a live, supervised worker, which must keep running — no restart at all — and account for each
/// input: in the dead-letter topic with its code, in the audit log, or as a bounded answer. Other poison cases live
/// next to the defects they belong to; this class holds the query and output-size ones and the parser's classics.
/// Runs on the embedded cluster, or on a real broker when STREAMGUARD_KAFKA_BOOTSTRAP is set.
/// </summary>
public sealed class PoisonInputTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(240);

    /// <summary>Kafka's default <c>message.max.bytes</c> (producer) and one audit block's bound.</summary>
    private const int KafkaMessageBytes = 1_000_000;
    private const int BlockBytes = 512 * 1024;

    private static string Padded(string read, int bytes) =>
        read[..^1] + ",\"note\":\"" + new string('x', bytes) + "\"}";

    private static JsonElement Json(string s) => JsonDocument.Parse(s).RootElement.Clone();

    private static SupervisedWorker Start(KafkaTestCluster cluster, TestPolicy policy,
        Dictionary<string, string>? kafka = null)
    {
        WorkerOptions options = cluster.WorkerOptions();
        if (kafka is not null) options = options with { Kafka = kafka };
        // A crash loop is what this suite exists to rule out: a handful of restarts shows it without waiting forever.
        return new SupervisedWorker(log => new StreamGuardWorker(options,
            sink => new StreamGuardEngine(policy.Compiled, sink, TestPolicy.AuditKey), new LineLogger(log)),
            maxRestarts: 3);
    }

    private static async Task WaitFor(SupervisedWorker worker, Func<bool> condition, string what)
    {
        DateTime deadline = DateTime.UtcNow + s_timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline || worker.Restarts >= 3)
            {
                Assert.Fail($"{what}: not reached; stops: {string.Join(" | ", worker.Failures)}\n" +
                    string.Join('\n', worker.Log.TakeLast(40)));
            }
            await Task.Delay(200);
        }
    }

    private static async Task<string> Produce(IProducer<byte[]?, byte[]> producer, string topic, string? key,
        byte[] value)
    {
        DeliveryResult<byte[]?, byte[]> d = await producer.ProduceAsync(topic, new Message<byte[]?, byte[]>
        {
            Key = key is null ? null : Encoding.UTF8.GetBytes(key), Value = value,
        });
        return $"{d.Topic}/{d.Partition.Value}/{d.Offset.Value}";
    }

    private static IProducer<byte[]?, byte[]> RawProducer(KafkaTestCluster cluster) =>
        new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers, Acks = Acks.All, EnableIdempotence = true,
            MessageMaxBytes = 4_000_000,
        }).Build();

    [Fact]
    public async Task EveryInputThatOnceStoppedTheWorkerIsAccountedForAndTheWorkerKeepsRunning()
    {
        using var policy = new TestPolicy();
        using var cluster = new KafkaTestCluster();
        using SupervisedWorker worker = Start(cluster, policy);
        await worker.AssignedAsync();
        using IProducer<byte[]?, byte[]> producer = RawProducer(cluster);
        DateTimeOffset now = DateTimeOffset.UtcNow;

        // 1. An answer that would pass Kafka's message size: 30 reads of 60 KB each.
        for (int i = 0; i < 30; i++)
        {
            producer.Produce(cluster.Topics.Reads, new Message<byte[]?, byte[]>
            {
                Key = "BIG1"u8.ToArray(),
                Value = Encoding.UTF8.GetBytes(Padded(
                    TestPolicy.Read($"big-{i:D2}", "ca-lapd", "BIG1", now.AddMinutes(-60 + i)), 60_000)),
            });
        }
        producer.Flush(s_timeout);
        await WaitFor(worker, () => worker.Processed >= 30, "the big reads decided");
        // 2. A plate with tens of thousands of reads (long ids): one search entry listing them all would pass it too.
        // In waves, each decided before the next: the embedded cluster keeps only a few MiB per partition, and one
        // plate is one partition.
        const int many = 40_000, wave = 4_000;
        for (int first = 0; first < many; first += wave)
        {
            for (int i = first; i < first + wave; i++)
            {
                producer.Produce(cluster.Topics.Reads, new Message<byte[]?, byte[]>
                {
                    Key = "MANY1"u8.ToArray(),
                    Value = Encoding.UTF8.GetBytes(TestPolicy.Read($"many-{i:D8}-0123456789abcdefghijklmnopq",
                        "ca-lapd", "MANY1", now.AddSeconds(-many + i))),
                });
            }
            producer.Flush(s_timeout);
            int decided = 30 + first + wave;
            await WaitFor(worker, () => worker.Processed >= decided, "a wave of reads decided");
        }

        // 3–6. The parser's classics: over the event size cap, invalid UTF-8, deeply nested, a huge number of
        // members.
        var deadLetters = new Dictionary<string, string>
        {
            [await Produce(producer, cluster.Topics.Reads, "OVER1", Encoding.UTF8.GetBytes(Padded(
                TestPolicy.Read("over-1", "ca-lapd", "OVER1", now.AddMinutes(-1)), 100_000)))] = "oversized",
            [await Produce(producer, cluster.Topics.Reads, "UTF1",
                [.. Encoding.UTF8.GetBytes("{\"read_id\":\"utf-1\",\"note\":\""), 0xC3, 0x28, .. "\"}"u8])] =
                "invalid_utf8",
            [await Produce(producer, cluster.Topics.Reads, "DEEP1", Encoding.UTF8.GetBytes(
                string.Concat(Enumerable.Repeat("{\"a\":", 20_000)) + "1" + new string('}', 20_000)))] = "",
        };
        string membersRead = TestPolicy.Read("members-1", "ca-lapd", "MEMB1", now.AddMinutes(-1));
        string members = membersRead[..^1] + string.Concat(Enumerable.Range(0, 5_000).Select(i => $",\"m{i}\":0"))
            + "}";
        string membersSource = await Produce(producer, cluster.Topics.Reads, "MEMB1", Encoding.UTF8.GetBytes(members));

        await WaitFor(worker, () => worker.Processed >= 30 + many + 4, "every read decided");

        // 7. Queries: the big answer, the many-read plate for its owner and for a searcher denied it, and a forgery.
        DateTimeOffset issued = DateTimeOffset.UtcNow;
        string[] queries =
        [
            TestPolicy.Query("q-big", "ca-lapd", "BIG1", issued),
            TestPolicy.Query("q-many", "ca-lapd", "MANY1", issued),
            TestPolicy.Query("q-many-ice", "us-ice-ero", "MANY1", issued, purpose: "immigration_enforcement"),
            TestPolicy.Query("q-forged", "ca-lapd", "MANY1", issued, signWith: TestPolicy.KeyOf("ca-lasd")),
        ];
        foreach (string q in queries)
        {
            string plate = Json(q).GetProperty("plate").GetString()!;
            await Produce(producer, cluster.Topics.Queries, plate, Encoding.UTF8.GetBytes(q));
        }
        // The canary: after all of it, an ordinary read and query are still answered.
        await Produce(producer, cluster.Topics.Reads, "CANARY1",
            Encoding.UTF8.GetBytes(TestPolicy.Read("canary-1", "ca-lapd", "CANARY1", now)));
        await WaitFor(worker, () => worker.Processed >= 30 + many + 4 + queries.Length + 1, "the queries decided");
        await Produce(producer, cluster.Topics.Queries, "CANARY1",
            Encoding.UTF8.GetBytes(TestPolicy.Query("q-canary", "ca-lapd", "CANARY1", DateTimeOffset.UtcNow)));

        List<ConsumeResult<string?, string>> results = cluster.ReadAll(OutputKind.Results, 4, s_timeout);
        await worker.StopAsync();
        Assert.Equal(0, worker.Restarts);

        var byQuery = results.ToDictionary(r => r.Message.Key!, r => r);
        Assert.Equal(["q-big", "q-canary", "q-many", "q-many-ice"], byQuery.Keys.Order(StringComparer.Ordinal));
        foreach (ConsumeResult<string?, string> r in results)
        {
            Assert.True(Encoding.UTF8.GetByteCount(r.Message.Value) < KafkaMessageBytes - 1024);
        }
        JsonElement big = Json(byQuery["q-big"].Message.Value), manyOwn = Json(byQuery["q-many"].Message.Value);
        Assert.True(big.GetProperty("truncated").GetBoolean());
        Assert.NotEmpty(big.GetProperty("reads").EnumerateArray());
        Assert.True(manyOwn.GetProperty("truncated").GetBoolean());
        Assert.Empty(Json(byQuery["q-many-ice"].Message.Value).GetProperty("reads").EnumerateArray());
        Assert.Equal(["canary-1"], Json(byQuery["q-canary"].Message.Value).GetProperty("reads").EnumerateArray()
            .Select(r => r.GetProperty("read_id").GetString()!));

        var dlq = cluster.ReadAll(cluster.Topics.DeadLetter, deadLetters.Count, s_timeout)
            .Select(r => Json(r.Message.Value)).ToDictionary(d => d.GetProperty("source").GetString()!);
        foreach ((string source, string code) in deadLetters)
        {
            Assert.True(dlq.TryGetValue(source, out JsonElement letter), $"no dead letter for {source}");
            if (code.Length > 0) Assert.Equal(code, letter.GetProperty("error").GetString());
        }

        List<ConsumeResult<string?, string>> blocks = cluster.ReadToEnd(cluster.Topics.Audit, s_timeout);
        Assert.All(blocks, b => Assert.True(Encoding.UTF8.GetByteCount(b.Message.Value) <= BlockBytes));
        List<string> lines = blocks.OrderBy(r => r.Partition.Value).ThenBy(r => r.Offset.Value)
            .SelectMany(r => r.Message.Value.Split('\n')).ToList();
        // The embedded cluster keeps a few MiB per partition: the many-read chain's first blocks are gone there.
        if (!cluster.IsEmbedded) Assert.Null(AuditVerifier.Verify(lines).Error);
        var decisions = AuditExport.Decisions(lines).Select(Json).ToList();
        // The forgery is audited, answered nowhere; the read with thousands of members is stored or dead-lettered.
        Assert.Contains(decisions, d => d.GetProperty("code").GetString() == "deny.unauthenticated"
            && d.GetProperty("query_id").GetString() == "q-forged");
        Assert.True(dlq.ContainsKey(membersSource) || decisions.Any(d => d.GetProperty("event").GetString() == "ingest"
            && d.GetProperty("reads")[0].GetString() == "members-1"), "the read with 5,000 members is unaccounted for");
    }

    /// <summary>
    /// A producer limit below the engine's default answer bound: the worker ties the bound to the limit, so the large
    /// answer is truncated to fit and sent (not dead-lettered whole: the requester gets what fits, the audit lists what
    /// was sent), and the worker keeps running. The sink's own check behind it: KafkaOutputSinkTests.
    /// </summary>
    [Fact]
    public async Task AnAnswerOverTheProducersMessageSizeIsTruncatedToFitAndTheWorkerKeepsRunning()
    {
        const int Limit = 600_000;
        using var policy = new TestPolicy();
        using var cluster = new KafkaTestCluster();
        using SupervisedWorker worker = Start(cluster, policy,
            new Dictionary<string, string> { ["message.max.bytes"] = $"{Limit}" });
        await worker.AssignedAsync();
        using IProducer<byte[]?, byte[]> producer = RawProducer(cluster);
        DateTimeOffset now = DateTimeOffset.UtcNow;
        for (int i = 0; i < 14; i++)
        {
            await Produce(producer, cluster.Topics.Reads, "BIG2", Encoding.UTF8.GetBytes(Padded(
                TestPolicy.Read($"big-{i:D2}", "ca-lapd", "BIG2", now.AddMinutes(-30 + i)), 60_000)));
        }
        await WaitFor(worker, () => worker.Processed >= 14, "the reads decided");
        await Produce(producer, cluster.Topics.Queries, "BIG2",
            Encoding.UTF8.GetBytes(TestPolicy.Query("q-big", "ca-lapd", "BIG2", DateTimeOffset.UtcNow)));
        await Produce(producer, cluster.Topics.Reads, "CANARY2",
            Encoding.UTF8.GetBytes(TestPolicy.Read("canary-2", "ca-lapd", "CANARY2", now)));
        await WaitFor(worker, () => worker.Processed >= 16, "the query and the canary decided");
        await Produce(producer, cluster.Topics.Queries, "CANARY2",
            Encoding.UTF8.GetBytes(TestPolicy.Query("q-canary", "ca-lapd", "CANARY2", DateTimeOffset.UtcNow)));

        List<ConsumeResult<string?, string>> results = cluster.ReadAll(OutputKind.Results, 2, s_timeout);
        await worker.StopAsync();
        Assert.Equal(0, worker.Restarts);

        var byQuery = results.ToDictionary(r => r.Message.Key!, r => r.Message.Value);
        Assert.Equal(["q-big", "q-canary"], byQuery.Keys.Order(StringComparer.Ordinal));
        JsonElement big = Json(byQuery["q-big"]);
        Assert.True(big.GetProperty("truncated").GetBoolean());
        int reads = big.GetProperty("reads").GetArrayLength();
        Assert.InRange(reads, 1, 13); // the newest that fit, not all 14 of 60 KB
        Assert.True(Encoding.UTF8.GetByteCount(byQuery["q-big"]) < Limit);
        Assert.Empty(cluster.ReadToEnd(cluster.Topics.DeadLetter, s_timeout));
    }
}
