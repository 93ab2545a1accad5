using System.Text.Json;
using Confluent.Kafka;
using StreamGuard.Engine;
using StreamGuard.Kafka;
using StreamGuard.Policy;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Integration;

/// <summary>
/// Each agency's outputs go to topics of its own (SPEC §6): the worker makes them (on start and when a reload adds an
/// agency), every record lands in the topic of the agency it is for, and a worker that may not make a topic says which
/// and why. Runs on the embedded cluster, or on a real broker when STREAMGUARD_KAFKA_BOOTSTRAP is set (the refusals
/// need the embedded cluster's error injection).
/// </summary>
public sealed class AgencyTopicsTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(90);

    // ca-lapd and ca-lasd push to each other and search each other; ca-lasd keeps reads 20 s, so they are purged while
    // the test runs; us-ice-ero searches too and is given nothing.
    private const string Yaml = """
        version: 1
        default_retention: 30d
        agencies:
          - {id: ca-lapd, state: CA, level: local, retention: 730d, key: file:keys/ca-lapd.key}
          - {id: ca-lasd, state: CA, level: county, retention: 20s, key: file:keys/ca-lasd.key}
          - {id: wa-spd, state: WA, level: local, retention: 21d, key: file:keys/wa-spd.key}
          - {id: us-ice-ero, level: federal, key: file:keys/us-ice-ero.key}
        agreements:
          - {id: la-push, owners: [ca-lapd], recipients: [ca-lasd], access: [push, search], purposes: [stolen_vehicle]}
          - {id: sd-push, owners: [ca-lasd], recipients: [ca-lapd], access: [push, search], purposes: [stolen_vehicle]}
        search:
          require_case_number: true
          require_reason: true
          max_window: 90d
          max_clock_skew: 5m
        """;

    private static readonly string[] s_agencies = ["ca-lapd", "ca-lasd", "wa-spd", "us-ice-ero"];

    [Fact]
    public async Task EveryOutputLandsInTheTopicOfTheAgencyItIsForAndInNoOther()
    {
        using var policy = new TestPolicy(Yaml);
        using var cluster = new KafkaTestCluster();
        using IProducer<string?, string> producer = cluster.Producer();
        DateTimeOffset now = DateTimeOffset.UtcNow;
        var worker = new StreamGuardWorker(cluster.WorkerOptions(),
            sink => new StreamGuardEngine(policy.Compiled, sink, TestPolicy.AuditKey));
        using var running = new WorkerThread(worker);
        await running.AssignedAsync();

        // Every kind of topic of every agency exists before anything was produced.
        foreach (OutputKind kind in TopicNames.Kinds)
        {
            Assert.Equal(s_agencies.Select(a => cluster.Topics.ForAgency(kind, a)).Order(StringComparer.Ordinal),
                cluster.TopicsOf(kind).Keys.Order(StringComparer.Ordinal));
        }

        // Hotlists: each agency's own plate.
        foreach ((string list, string owner, string plate) in
            ((string, string, string)[])[("h-lapd", "ca-lapd", "1LAPD00"), ("h-lasd", "ca-lasd", "2LASD00")])
        {
            string entry = $"{{\"hotlist_id\":\"{list}\",\"owner\":\"{owner}\",\"plate\":\"{plate}\"," +
                "\"purpose\":\"stolen_vehicle\"}";
            await producer.ProduceAsync(cluster.Topics.Hotlists,
                new Message<string?, string> { Key = $"{list}/{plate}", Value = entry });
        }
        await running.WaitFor(() => worker.Engine!.Hotlists.Count == 2);
        string[] reads =
        [
            TestPolicy.Read("lapd-1", "ca-lapd", "1LAPD00", now.AddMinutes(-3)),
            TestPolicy.Read("lapd-2", "ca-lapd", "7SHARED", now.AddMinutes(-2)),
            TestPolicy.Read("lasd-1", "ca-lasd", "2LASD00", now.AddSeconds(-1)),
            TestPolicy.Read("lasd-2", "ca-lasd", "7SHARED", now.AddSeconds(-1)),
            TestPolicy.Read("spd-1", "wa-spd", "7SHARED", now.AddMinutes(-1)),
        ];
        foreach (string r in reads)
        {
            string plate = JsonDocument.Parse(r).RootElement.GetProperty("plate").GetString()!;
            await producer.ProduceAsync(cluster.Topics.Reads, new Message<string?, string> { Key = plate, Value = r });
        }
        await running.WaitFor(() => worker.Engine!.Stats.Reads >= reads.Length);
        foreach (string requester in (string[])["ca-lapd", "ca-lasd", "us-ice-ero", "wa-spd"])
        {
            string purpose = requester == "us-ice-ero" ? "immigration_enforcement" : "stolen_vehicle";
            await producer.ProduceAsync(cluster.Topics.Queries, new Message<string?, string>
            {
                Key = "7SHARED",
                Value = TestPolicy.Query($"q-{requester}", requester, "7SHARED", DateTimeOffset.UtcNow,
                    purpose: purpose),
            });
        }
        await running.WaitFor(() => worker.Engine!.Stats.Queries >= 4);
        // ca-lasd's two reads expire 20 s after they were observed: a purge notice each.
        var purges = cluster.ReadAll(OutputKind.Purges, 2, s_timeout);
        await running.StopAsync();

        // Every record below was checked by the reads to be in its addressee's topic; here, which records.
        string AgencyOf(OutputKind kind, ConsumeResult<string?, string> r) => cluster.AgencyOf(kind, r.Topic);
        var shared = cluster.ReadToEnd(OutputKind.Shared, s_timeout);
        Assert.Equal(
            ["ca-lapd lasd-1", "ca-lapd lasd-2", "ca-lasd lapd-1", "ca-lasd lapd-2"],
            shared.Select(r => $"{AgencyOf(OutputKind.Shared, r)} {r.Message.Key}").Order(StringComparer.Ordinal));
        var alerts = cluster.ReadToEnd(OutputKind.Alerts, s_timeout);
        Assert.Equal(["ca-lapd h-lapd", "ca-lasd h-lasd"],
            alerts.Select(r => $"{AgencyOf(OutputKind.Alerts, r)} {r.Message.Key}").Order(StringComparer.Ordinal));
        var results = cluster.ReadToEnd(OutputKind.Results, s_timeout);
        Assert.Equal(["ca-lapd q-ca-lapd", "ca-lasd q-ca-lasd", "us-ice-ero q-us-ice-ero", "wa-spd q-wa-spd"],
            results.Select(r => $"{AgencyOf(OutputKind.Results, r)} {r.Message.Key}").Order(StringComparer.Ordinal));
        JsonElement federal = JsonDocument.Parse(
            results.Single(r => r.Message.Key == "q-us-ice-ero").Message.Value).RootElement;
        Assert.Empty(federal.GetProperty("reads").EnumerateArray());
        // The owner's notices in the owner's topic (an agency the read was pushed to gets its own in its own topic).
        Assert.Contains(purges, r => AgencyOf(OutputKind.Purges, r) == "ca-lasd" && r.Message.Key == "lasd-1");
        Assert.Contains(purges, r => AgencyOf(OutputKind.Purges, r) == "ca-lasd" && r.Message.Key == "lasd-2");
        Assert.DoesNotContain(purges, r => r.Message.Key!.StartsWith("lapd", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnAgencyAddedByAReloadGetsItsTopicsAndThenItsDeliveries()
    {
        using var policy = new TestPolicy();
        using var cluster = new KafkaTestCluster();
        using IProducer<string?, string> producer = cluster.Producer();
        var log = new List<string>();
        void Log(string m) { lock (log) log.Add(m); }
        using var reloader =
            new PolicyReloader(policy.PolicyPath, policy.Compiled, Log, TimeSpan.FromMilliseconds(100));
        var worker = new StreamGuardWorker(cluster.WorkerOptions(),
            sink => new StreamGuardEngine(policy.Compiled, sink, TestPolicy.AuditKey), new LineLogger(Log), reloader);
        using var running = new WorkerThread(worker);
        await running.AssignedAsync();
        string newTopic = cluster.Topics.ForAgency(OutputKind.Shared, "ca-new");
        Assert.DoesNotContain(newTopic, cluster.TopicsOf(OutputKind.Shared).Keys);

        File.WriteAllText(policy.PolicyPath, TestPolicy.Yaml.Replace("agencies:\n",
            "agencies:\n  - {id: ca-new, state: CA, level: local}\n", StringComparison.Ordinal) +
            "\nagreements:\n  - {id: to-new, owners: [ca-lapd], recipients: [ca-new], access: [push]," +
            " purposes: [stolen_vehicle]}\n");
        await running.WaitFor(() => worker.Engine!.Policy.Agencies.Find("ca-new") >= 0);
        foreach (OutputKind kind in TopicNames.Kinds)
        {
            Assert.Contains(cluster.Topics.ForAgency(kind, "ca-new"), cluster.TopicsOf(kind).Keys);
        }

        await producer.ProduceAsync(cluster.Topics.Reads, new Message<string?, string>
        {
            Key = "7ABC123",
            Value = TestPolicy.Read("r-new", "ca-lapd", "7ABC123", DateTimeOffset.UtcNow.AddMinutes(-1)),
        });
        ConsumeResult<string?, string> delivery = Assert.Single(cluster.ReadAll(OutputKind.Shared, 1, s_timeout));
        await running.StopAsync();
        Assert.Equal(newTopic, delivery.Topic);
        Assert.Equal("r-new", delivery.Message.Key);
        Assert.Equal(0, worker.Sink!.Unrouted);
    }

    [Theory]
    [InlineData(ErrorCode.TopicAuthorizationFailed)]
    [InlineData(ErrorCode.ClusterAuthorizationFailed)]
    public void AWorkerThatMayNotCreateAnAgencysTopicRefusesToStartNamingTheTopicAndTheRight(ErrorCode refusal)
    {
        using var policy = new TestPolicy();
        using var cluster = new KafkaTestCluster();
        if (cluster.Mock is not { } mock) return; // a real broker's rights cannot be taken away from here
        string topic = cluster.Topics.ForAgency(OutputKind.Purges, "wa-spd");
        mock.SetTopicError(topic, refusal);
        var worker = new StreamGuardWorker(cluster.WorkerOptions(),
            sink => new StreamGuardEngine(policy.Compiled, sink, TestPolicy.AuditKey));
        using var stop = new CancellationTokenSource(s_timeout);

        TopicCreationException e = Assert.Throws<TopicCreationException>(() => worker.Run(stop.Token));
        Assert.False(stop.IsCancellationRequested);
        Assert.Equal(topic, e.Topic);
        Assert.Equal(refusal, e.Code);
        Assert.Contains($"may not create topic {topic}", e.Message, StringComparison.Ordinal);
        Assert.Contains($"({refusal})", e.Message, StringComparison.Ordinal);
        Assert.Contains("Create", e.Message, StringComparison.Ordinal);
        Assert.False(worker.Running);
    }

    [Fact]
    public async Task AReloadWhoseTopicsMayNotBeCreatedIsRefusedAndTriedAgainOnceAllowed()
    {
        using var policy = new TestPolicy();
        using var cluster = new KafkaTestCluster();
        if (cluster.Mock is not { } mock) return; // a real broker's rights cannot be taken away from here
        using IProducer<string?, string> producer = cluster.Producer();
        var log = new List<string>();
        void Log(string m) { lock (log) log.Add(m); }
        using var reloader =
            new PolicyReloader(policy.PolicyPath, policy.Compiled, Log, TimeSpan.FromMilliseconds(100));
        var worker = new StreamGuardWorker(cluster.WorkerOptions(),
            sink => new StreamGuardEngine(policy.Compiled, sink, TestPolicy.AuditKey), new LineLogger(Log), reloader);
        using var running = new WorkerThread(worker);
        await running.AssignedAsync();
        string topic = cluster.Topics.ForAgency(OutputKind.Shared, "ca-new");
        mock.SetTopicError(topic, ErrorCode.TopicAuthorizationFailed);

        File.WriteAllText(policy.PolicyPath, TestPolicy.Yaml.Replace("agencies:\n",
            "agencies:\n  - {id: ca-new, state: CA, level: local}\n", StringComparison.Ordinal) +
            "\nagreements:\n  - {id: to-new, owners: [ca-lapd], recipients: [ca-new], access: [push]," +
            " purposes: [stolen_vehicle]}\n");
        await running.WaitFor(() => reloader.Rejected >= 1);
        // Refused, said why, and the policy in force stays; the worker runs on.
        Assert.Equal(policy.Compiled.Hash, worker.Engine!.Policy.Hash);
        Assert.True(worker.Running);
        Assert.Contains($"may not create topic {topic}", reloader.LastError, StringComparison.Ordinal);
        string line;
        lock (log) line = log.First(m => m.Contains("REFUSED", StringComparison.Ordinal));
        Assert.Contains(topic, line, StringComparison.Ordinal);
        Assert.Contains("TopicAuthorizationFailed", line, StringComparison.Ordinal);

        // Allowed again: the next poll tries the same file again, the topics are made and the agency served.
        mock.SetTopicError(topic, ErrorCode.NoError);
        await running.WaitFor(() => worker.Engine!.Policy.Agencies.Find("ca-new") >= 0);
        await producer.ProduceAsync(cluster.Topics.Reads, new Message<string?, string>
        {
            Key = "7ABC123",
            Value = TestPolicy.Read("r-new", "ca-lapd", "7ABC123", DateTimeOffset.UtcNow.AddMinutes(-1)),
        });
        ConsumeResult<string?, string> delivery = Assert.Single(cluster.ReadAll(OutputKind.Shared, 1, s_timeout));
        await running.StopAsync();
        Assert.Equal(topic, delivery.Topic);
    }
}
