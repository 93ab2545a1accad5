using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using StreamGuard.Audit;
using StreamGuard.Engine;
using StreamGuard.Kafka;
using StreamGuard.Policy;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Integration;

/// <summary>
/// End to end through Kafka: events produced with Confluent.Kafka, the worker consuming and producing, outputs,
/// dead letters and audit records read back. Runs on the embedded cluster, or on a real broker when
/// STREAMGUARD_KAFKA_BOOTSTRAP is set.
/// </summary>
public abstract class WorkerIntegrationTests(ProcessingMode mode)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task ReadsAndQueriesProduceAnswersDeadLettersAndAnAuditTrail()
    {
        using var policy = new TestPolicy();
        using var cluster = new KafkaTestCluster();
        DateTimeOffset now = DateTimeOffset.UtcNow;

        var worker = new StreamGuardWorker(
            cluster.WorkerOptions(processing: mode),
            sink => new StreamGuardEngine(policy.Compiled, sink, TestPolicy.AuditKey));
        using var running = new WorkerThread(worker);
        await running.AssignedAsync();

        using IProducer<string?, string> producer = cluster.Producer();
        string[] goodReads =
        [
            TestPolicy.Read("r1", "ca-lapd", "7ABC123", now.AddMinutes(-30)),
            TestPolicy.Read("r2", "ca-lapd", "7ABC123", now.AddMinutes(-20)),
            TestPolicy.Read("r3", "ca-lasd", "8XYZ999", now.AddMinutes(-10)),
        ];
        (string Payload, string Code)[] badReads =
        [
            ("{\"read_id\":\"b1\",\"agency_id\":\"ca-lapd\"", "malformed_json"),
            (TestPolicy.Read("b2", "xx-unknown", "7ABC123", now), "unknown_agency"),
            (TestPolicy.Read("b3", "ca-lapd", "7A*BC", now), "invalid_plate"),
            (TestPolicy.Read("b4", "ca-lapd", "7ABC123", now.AddHours(2)), "invalid_field"),
        ];
        foreach (string r in goodReads)
        {
            await producer.ProduceAsync(cluster.Topics.Reads,
                new Message<string?, string> { Key = KeyOf(r), Value = r });
        }
        var badOffsets = new Dictionary<string, string>();
        foreach (var (payload, code) in badReads)
        {
            DeliveryResult<string?, string> d = await producer.ProduceAsync(cluster.Topics.Reads,
                new Message<string?, string> { Key = null, Value = payload });
            badOffsets[$"{d.Topic}/{d.Partition.Value}/{d.Offset.Value}"] = code;
        }
        await running.WaitFor(() => worker.Processed >= goodReads.Length + badReads.Length);

        // Queries after the reads are in: the store answers from what the worker has seen.
        string[] queries =
        [
            TestPolicy.Query("q-own", "ca-lapd", "7ABC123", now),
            TestPolicy.Query("q-federal", "us-ice-ero", "7ABC123", now, purpose: "immigration_enforcement"),
            TestPolicy.Query("q-forged", "ca-lapd", "7ABC123", now, signWith: TestPolicy.KeyOf("ca-lasd")),
        ];
        foreach (string q in queries)
        {
            await producer.ProduceAsync(cluster.Topics.Queries,
                new Message<string?, string> { Key = "7ABC123", Value = q });
        }
        const string badQuery = "{\"query_id\":\"q-bad\",\"requester\":\"ca-lapd\"}";
        DeliveryResult<string?, string> dq = await producer.ProduceAsync(cluster.Topics.Queries,
            new Message<string?, string> { Key = null, Value = badQuery });
        badOffsets[$"{dq.Topic}/{dq.Partition.Value}/{dq.Offset.Value}"] = "missing_field";
        int total = goodReads.Length + badReads.Length + queries.Length + 1;
        await running.WaitFor(() => worker.Processed >= total);
        await running.StopAsync();

        // Answers: the owner sees both of its reads; the federal searcher learns nothing; the forgery is answered
        // nowhere (it has no trustworthy requester), only audited.
        var results = cluster.ReadAll(OutputKind.Results, 2, s_timeout)
            .ToDictionary(r => r.Message.Key!, r => Json(r.Message.Value));
        Assert.Equal(2, results.Count);
        Assert.Equal(["r2", "r1"],
            results["q-own"].GetProperty("reads").EnumerateArray().Select(r => r.GetProperty("read_id").GetString()!));
        Assert.Equal("answered", results["q-federal"].GetProperty("status").GetString());
        Assert.Empty(results["q-federal"].GetProperty("reads").EnumerateArray());

        // Dead letters: every bad event, with its code and exact source offset, payload intact.
        var dlq = cluster.ReadAll(cluster.Topics.DeadLetter, badOffsets.Count, s_timeout)
            .Select(r => Json(r.Message.Value)).ToList();
        Assert.Equal(badOffsets.Count, dlq.Count);
        foreach (JsonElement d in dlq)
        {
            string source = d.GetProperty("source").GetString()!;
            Assert.True(badOffsets.ContainsKey(source), $"unexpected dead letter source {source}");
            Assert.Equal(badOffsets[source], d.GetProperty("error").GetString());
        }

        // Audit: one decision per read and per query, chains intact, no raw plate, the decision ids of the answers
        // present.
        int expectedAudit = goodReads.Length + 1 /* q-own */
            + 2 /* q-federal: its empty answer and the one owner touched */ + 1 /* q-forged */;
        var decisions = cluster.AuditDecisions(s_timeout).Select(Json).ToList();
        Assert.Equal(expectedAudit, decisions.Count(d => d.GetProperty("event").GetString() != "policy_load"));
        // each chain used opens with its policy_load entry
        int chains = decisions.Count(d => d.GetProperty("event").GetString() == "policy_load");
        var audit = cluster.ReadToEnd(cluster.Topics.Audit, s_timeout);
        Assert.Equal(chains, audit.Select(r => r.Message.Key).Distinct().Count());
        Assert.All(audit, r => Assert.DoesNotContain("7ABC123", r.Message.Value, StringComparison.Ordinal));
        Assert.Null(AuditVerifier.Verify(cluster.AuditLines(s_timeout)).Error);
        var records = decisions.Where(d => d.GetProperty("event").GetString() != "policy_load")
            .ToDictionary(r => r.GetProperty("id").GetString()!);
        // The federal answer names its empty answer's decision, never the denial of ca-lapd's reads.
        JsonElement answer = records[results["q-federal"].GetProperty("decision_id").GetString()!];
        Assert.Equal(("allow.search", false), (answer.GetProperty("code").GetString(), answer.TryGetProperty("owner",
            out _)));
        JsonElement federal = Assert.Single(records.Values, d => d.TryGetProperty("query_id", out JsonElement q)
            && q.GetString() == "q-federal" && d.GetProperty("decision").GetString() == "deny");
        Assert.Equal("deny.statute", federal.GetProperty("code").GetString());
        Assert.Equal("CA.PUBLIC_AGENCY_ONLY", federal.GetProperty("rule").GetString());
        Assert.Equal("ca-lapd", federal.GetProperty("owner").GetString());
        Assert.Equal(2, federal.GetProperty("matched").GetInt32());
        Assert.Equal("allow.own",
            records[results["q-own"].GetProperty("decision_id").GetString()!].GetProperty("code").GetString());
    }

    [Fact]
    public async Task ShutdownCommitsEveryProcessedOffset()
    {
        using var policy = new TestPolicy();
        using var cluster = new KafkaTestCluster();
        using IProducer<string?, string> producer = cluster.Producer();
        DateTimeOffset now = DateTimeOffset.UtcNow;
        const int count = 200;
        for (int i = 0; i < count; i++)
        {
            string plate = $"P{i % 37:D4}";
            producer.Produce(cluster.Topics.Reads, new Message<string?, string>
            {
                Key = plate, Value = TestPolicy.Read($"r{i}", "ca-lapd", plate, now.AddSeconds(-i)),
            });
        }
        producer.Flush(s_timeout);

        var worker = new StreamGuardWorker(
            cluster.WorkerOptions(processing: mode) with
            {
                CommitInterval = TimeSpan.FromHours(1), CommitBatch = int.MaxValue,
            },
            sink => new StreamGuardEngine(policy.Compiled, sink, TestPolicy.AuditKey));
        using var running = new WorkerThread(worker);
        await running.WaitFor(() => worker.Processed >= count);
        await running.StopAsync();

        // No periodic commit ran (interval one hour): only the shutdown commit can have stored these offsets.
        using IConsumer<Ignore, Ignore> probe = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers, GroupId = cluster.GroupId,
        }).Build();
        var partitions = Enumerable.Range(0, cluster.Partitions)
            .Select(p => new TopicPartition(cluster.Topics.Reads, p)).ToList();
        long committed = probe.Committed(partitions, s_timeout).Where(o => o.Offset.Value > 0).Sum(o => o.Offset.Value);
        long end = partitions.Sum(p => probe.QueryWatermarkOffsets(p, s_timeout).High.Value);
        Assert.Equal(count, end);
        Assert.Equal(end, committed);
        Assert.Equal(count, cluster.AuditDecisions(s_timeout)
            .Count(r => !r.Contains("\"policy_load\"", StringComparison.Ordinal)));
        // The chains read back from Kafka verify; one forged record breaks them.
        Assert.Null(AuditTopicError(cluster));
        string chain = cluster.ReadAll(cluster.Topics.Audit, 1, s_timeout)[0].Message.Key!;
        await producer.ProduceAsync(cluster.Topics.Audit, new Message<string?, string>
        {
            Key = chain,
            Value = "{\"seq\":999999,\"at\":\"2026-01-01T00:00:00Z\",\"policy\":1,\"read\":\"forged\"}\n" +
                "{\"chain\":\"" + chain + "\",\"seq\":999999,\"salt\":\"00\",\"hash\":\"00\"}",
        });
        Assert.NotNull(AuditTopicError(cluster));
    }

    [Fact]
    public async Task AChangedPolicyFileIsSwappedInWhileConsumingAndABrokenOneIsRefused()
    {
        using var policy = new TestPolicy();
        using var cluster = new KafkaTestCluster();
        using IProducer<string?, string> producer = cluster.Producer();
        DateTimeOffset now = DateTimeOffset.UtcNow;
        var log = new List<string>();
        void Log(string m) { lock (log) log.Add(m); }
        using var reloader =
            new PolicyReloader(policy.PolicyPath, policy.Compiled, Log, TimeSpan.FromMilliseconds(100));
        var worker = new StreamGuardWorker(
            cluster.WorkerOptions(processing: mode),
            sink => new StreamGuardEngine(policy.Compiled, sink, TestPolicy.AuditKey), new LineLogger(Log), reloader);
        using var running = new WorkerThread(worker);
        await running.AssignedAsync();

        string read = TestPolicy.Read("r1", "ca-lapd", "7ABC123", now.AddMinutes(-5));
        await producer.ProduceAsync(cluster.Topics.Reads,
            new Message<string?, string> { Key = "7ABC123", Value = read });
        await producer.ProduceAsync(cluster.Topics.Queries, new Message<string?, string>
        {
            Key = "7ABC123", Value = TestPolicy.Query("q1", "ca-lasd", "7ABC123", now),
        });
        await running.WaitFor(() => worker.Processed >= 2);

        // A broken file: refused, the policy in force stays.
        File.WriteAllText(policy.PolicyPath, TestPolicy.Yaml + "\nagreements:\n" +
            "  - {id: bad, owners: [ca-lapd], recipients: [nowhere]," +
            " access: [search], purposes: [stolen_vehicle]}\n");
        await running.WaitFor(() => reloader.Rejected == 1);
        // A good one: granted ca-lasd's stolen-vehicle searches of ca-lapd's reads, in force without a restart.
        File.WriteAllText(policy.PolicyPath, TestPolicy.Yaml + "\nagreements:\n" +
            "  - {id: la-search, owners: [ca-lapd], recipients: [ca-lasd]," +
            " access: [search], purposes: [stolen_vehicle]}\n");
        await running.WaitFor(() => worker.Engine!.Policy.AgreementCount == 1);
        await producer.ProduceAsync(cluster.Topics.Queries, new Message<string?, string>
        {
            Key = "7ABC123", Value = TestPolicy.Query("q2", "ca-lasd", "7ABC123", DateTimeOffset.UtcNow),
        });
        await running.WaitFor(() => worker.Processed >= 3);
        await running.StopAsync();

        var results = cluster.ReadAll(OutputKind.Results, 2, s_timeout)
            .ToDictionary(r => r.Message.Key!, r => Json(r.Message.Value));
        Assert.Empty(results["q1"].GetProperty("reads").EnumerateArray());
        Assert.Equal(["r1"],
            results["q2"].GetProperty("reads").EnumerateArray().Select(r => r.GetProperty("read_id").GetString()!));
        var loads = cluster.AuditDecisions(s_timeout).Select(Json)
            .Where(r => r.GetProperty("event").GetString() == "policy_load").ToList();
        JsonElement swap = Assert.Single(loads, l =>
            l.TryGetProperty("previous", out JsonElement p) && p.GetString() == policy.Compiled.Hash);
        Assert.Equal(1, swap.GetProperty("granted").GetInt32());
        Assert.Equal("la-search", swap.GetProperty("first_granted").GetProperty("rule").GetString());
        Assert.Contains(log, m => m.Contains("REFUSED", StringComparison.Ordinal));
    }

    [Fact]
    public async Task HotlistEntriesOnAnyPartitionAlertOnReadsAndATombstoneRemovesThem()
    {
        using var policy = new TestPolicy();
        using var cluster = new KafkaTestCluster();
        using IProducer<string?, string> producer = cluster.Producer();
        DateTimeOffset now = DateTimeOffset.UtcNow;
        var worker = new StreamGuardWorker(
            cluster.WorkerOptions(processing: mode),
            sink => new StreamGuardEngine(policy.Compiled, sink, TestPolicy.AuditKey));
        using var running = new WorkerThread(worker);
        await running.AssignedAsync();

        // Keyed hotlist_id/plate: lands on another partition than the reads of its plate; every worker reads all of
        // them.
        foreach (string list in (string[])["h1", "h2", "h3"])
        {
            string entry = $"{{\"hotlist_id\":\"{list}\",\"owner\":\"ca-lapd\"," +
                "\"plate\":\"7ABC123\",\"purpose\":\"stolen_vehicle\"}";
            await producer.ProduceAsync(cluster.Topics.Hotlists,
                new Message<string?, string> { Key = $"{list}/7ABC123", Value = entry });
        }
        await producer.ProduceAsync(cluster.Topics.Hotlists,
            new Message<string?, string> { Key = "h3/7ABC123", Value = null! }); // removed
        await running.WaitFor(() => worker.Engine?.Stats.HotlistEntries >= 4);
        Assert.Equal(2, worker.Engine!.Hotlists.Count);
        await producer.ProduceAsync(cluster.Topics.Reads, new Message<string?, string>
        {
            Key = "7ABC123", Value = TestPolicy.Read("r1", "ca-lapd", "7ABC123", now.AddMinutes(-1)),
        });
        // the read decided (hotlist records count as processed too)
        await running.WaitFor(() => worker.Engine!.Stats.Reads >= 1);
        await running.StopAsync();

        var alerts = cluster.ReadAll(OutputKind.Alerts, 2, s_timeout);
        Assert.Equal(["h1", "h2"],
            alerts.Select(a => Json(a.Message.Value).GetProperty("hotlist_id").GetString()!).Order());
        // Keyed by hotlist id, in the hotlist owner's topic.
        Assert.Equal(["h1", "h2"], alerts.Select(a => a.Message.Key!).Order());
        Assert.All(alerts, a => Assert.Equal(cluster.Topics.ForAgency(OutputKind.Alerts, "ca-lapd"), a.Topic));
    }

    [Fact]
    public async Task HoldsAreAppliedByEveryWorkerButAuditedOnceAcrossRestarts()
    {
        using var policy = new TestPolicy();
        using var cluster = new KafkaTestCluster();
        using IProducer<string?, string> producer = cluster.Producer();
        string hold = """{"hold_id":"h1","agency":"wa-spd","plate":"7ABC123","kind":"warrant",""" +
            "\"case_number\":\"SPD-1\",\"until\":\"2099-01-01T00:00:00Z\"}";
        await producer.ProduceAsync(cluster.Topics.Holds, new Message<string?, string> { Key = "h1", Value = hold });
        await producer.ProduceAsync(cluster.Topics.Holds, new Message<string?, string>
        {
            Key = "h2", Value = hold.Replace("h1", "h2", StringComparison.Ordinal),
        });
        await producer.ProduceAsync(cluster.Topics.Holds,
            new Message<string?, string> { Key = "h2", Value = null! }); // h2 released

        for (int run = 0; run < 2; run++)
        {
            var worker = new StreamGuardWorker(
                cluster.WorkerOptions(cluster.GroupId + "-w", quickRejoin: true, processing: mode),
                sink => new StreamGuardEngine(policy.Compiled, sink, TestPolicy.AuditKey));
            using var running = new WorkerThread(worker);
            await running.AssignedAsync();
            // The table is loaded before the first event: h1 in force, h2 placed and released.
            Assert.Equal(1, worker.Engine!.Holds.Count);
            if (run == 0) await running.WaitFor(() => worker.Processed >= 3);
            else await Task.Delay(1000); // nothing new to process: the first run committed the hold records' offsets
            await running.StopAsync();
            if (run == 1) Assert.Equal(0, worker.Processed);
        }

        var codes = cluster.AuditDecisions(s_timeout).Select(Json)
            .Where(r => r.GetProperty("event").GetString() == "hold")
            .Select(r => (
                r.GetProperty("code").GetString(),
                r.GetProperty("hold_id").GetString(),
                r.TryGetProperty("owner", out JsonElement o) ? o.GetString() : null)).ToList();
        // The release names its agency although every worker's table had already dropped the hold when it was
        // audited.
        Assert.Equal(
            [("hold.place", "h1", "wa-spd"), ("hold.place", "h2", "wa-spd"), ("hold.release", "h2", "wa-spd")],
            codes.Order());
    }

    [Fact]
    public async Task PlatePartitionsAreKafkasDefaultPartitionsForKeyedRecords()
    {
        using var cluster = new KafkaTestCluster();
        using IProducer<string?, string> murmur = new ProducerBuilder<string?, string>(new ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers, Partitioner = Partitioner.Murmur2Random,
        }).Build();
        for (int i = 0; i < 200; i++)
        {
            string plate = $"P{i * 7919 % 100000:D5}X";
            DeliveryResult<string?, string> d = await murmur.ProduceAsync(cluster.Topics.Reads,
                new Message<string?, string> { Key = plate, Value = "{}" });
            Assert.Equal(d.Partition.Value,
                PlatePartitioner.PartitionOf(Encoding.ASCII.GetBytes(plate), default, cluster.Partitions));
            // A non-normalised key goes where its normalised plate goes.
            Assert.Equal(d.Partition.Value, PlatePartitioner.PartitionOf(
                Encoding.ASCII.GetBytes(plate.ToLowerInvariant().Insert(2, "-")), default, cluster.Partitions));
        }
        Assert.Equal(PlatePartitioner.PartitionOf(default, "{\"read_id\":\"r\",\"plate\":\"7ABC123\"}"u8, 4),
            PlatePartitioner.PartitionOf("7ABC123"u8, default, 4));
        Assert.Equal(-1, PlatePartitioner.PartitionOf(default, "{\"read_id\":\"r\"}"u8, 4));
    }

    [Fact]
    public async Task ReadsAndQueriesFromProducersWithDifferentPartitionersMeetInOneOfTwoWorkers()
    {
        const int plates = 24, readsPerPlate = 3;
        using var policy = new TestPolicy();
        using var cluster = new KafkaTestCluster();
        var workers = new List<WorkerThread>();
        for (int w = 0; w < 2; w++)
        {
            var worker = new StreamGuardWorker(
                cluster.WorkerOptions($"{cluster.GroupId}-w{w}", quickRejoin: true, processing: mode),
                sink => new StreamGuardEngine(policy.Compiled, sink, TestPolicy.AuditKey));
            workers.Add(new WorkerThread(worker));
        }
        try
        {
            foreach (WorkerThread w in workers) await w.AssignedAsync();
            await Task.Delay(3000); // the second join rebalances the group: let it settle
            DateTimeOffset now = DateTimeOffset.UtcNow;
            // Reads from librdkafka's default partitioner (consistent_random: CRC32), queries from Kafka's (murmur2).
            using IProducer<string?, string> crc = cluster.Producer();
            using IProducer<string?, string> murmur = new ProducerBuilder<string?, string>(new ProducerConfig
            {
                BootstrapServers = cluster.BootstrapServers, Partitioner = Partitioner.Murmur2Random,
            }).Build();
            for (int i = 0; i < plates * readsPerPlate; i++)
            {
                string plate = $"M{i % plates:D4}";
                await crc.ProduceAsync(cluster.Topics.Reads, new Message<string?, string>
                {
                    Key = plate, Value = TestPolicy.Read($"r{i}", "ca-lapd", plate, now.AddMinutes(-10).AddSeconds(i)),
                });
            }
            await workers[0].WaitFor(() => workers.Sum(w => w.Worker.Processed) >= plates * readsPerPlate);
            for (int p = 0; p < plates; p++)
            {
                string plate = $"M{p:D4}";
                await murmur.ProduceAsync(cluster.Topics.Queries, new Message<string?, string>
                {
                    Key = plate, Value = TestPolicy.Query($"q-{plate}", "ca-lapd", plate, DateTimeOffset.UtcNow),
                });
            }
            await workers[0].WaitFor(() => workers.Sum(w => w.Worker.Processed) >= plates * (readsPerPlate + 1));
        }
        finally
        {
            foreach (WorkerThread w in workers) await w.StopAsync();
            foreach (WorkerThread w in workers) w.Dispose();
        }
        var results = cluster.ReadToEnd(OutputKind.Results, s_timeout)
            .ToDictionary(r => r.Message.Key!, r => Json(r.Message.Value));
        Assert.Equal(plates, results.Count);
        for (int p = 0; p < plates; p++)
        {
            var expected = Enumerable.Range(0, readsPerPlate).Select(k => $"r{k * plates + p}")
                .Order(StringComparer.Ordinal);
            Assert.Equal(expected, results[$"q-M{p:D4}"].GetProperty("reads").EnumerateArray()
                .Select(r => r.GetProperty("read_id").GetString()!).Order(StringComparer.Ordinal));
        }
        Assert.True(workers.Sum(w => w.Worker.Forwarded) > 0,
            "some reads arrived off their plate's partition and were forwarded");
        Assert.All(workers, w => Assert.True(w.Worker.Processed > 0, "both workers decided events"));
    }

    private static string KeyOf(string read) => Json(read).GetProperty("plate").GetString()!;

    private static JsonElement Json(string s) => JsonDocument.Parse(Encoding.UTF8.GetBytes(s)).RootElement.Clone();

    /// <summary>The first broken link of the audit topic's chains (each chain in offset order), or null.</summary>
    private static string? AuditTopicError(KafkaTestCluster cluster) =>
        cluster.ReadToEnd(cluster.Topics.Audit, s_timeout)
            .GroupBy(r => r.Message.Key)
            .Select(c => AuditVerifier.Verify(
                c.OrderBy(r => r.Offset.Value).SelectMany(r => r.Message.Value.Split('\n'))).Error)
            .FirstOrDefault(e => e is not null);

    /// <summary>These tests with outputs, audit and offsets committed in one transaction.</summary>
    public sealed class ExactlyOnce() : WorkerIntegrationTests(ProcessingMode.ExactlyOnce);

    /// <summary>These tests with outputs flushed, then offsets committed.</summary>
    public sealed class AtLeastOnce() : WorkerIntegrationTests(ProcessingMode.AtLeastOnce);
}
