using System.Text.Json;
using Confluent.Kafka;
using StreamGuard.Engine;
using StreamGuard.Kafka;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Integration;

/// <summary>
/// End to end: a worker restarted under a policy with another retention window restores what the audit chain says
/// is resident, not what the new window says — one purge notice per read across restarts, never two, never none. Runs
/// on the embedded cluster, or on a real broker when STREAMGUARD_KAFKA_BOOTSTRAP is set.
/// </summary>
public sealed class RestoreFromLogIntegrationTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(90);

    private readonly List<TestPolicy> _policies = [];

    public void Dispose()
    {
        foreach (TestPolicy p in _policies) p.Dispose();
    }

    private TestPolicy Policy(string defaultRetention)
    {
        var policy = new TestPolicy(TestPolicy.Yaml.Replace("default_retention: 30d",
            "default_retention: " + defaultRetention, StringComparison.Ordinal));
        _policies.Add(policy);
        return policy;
    }

    private static async Task<int> RunAsync(KafkaTestCluster cluster, TestPolicy policy,
        Func<StreamGuardWorker, Task> during)
    {
        var worker = new StreamGuardWorker(cluster.WorkerOptions(cluster.GroupId + "-w", quickRejoin: true),
            sink => new StreamGuardEngine(policy.Compiled, sink, TestPolicy.AuditKey));
        using var running = new WorkerThread(worker);
        await running.AssignedAsync();
        // Not StoredReadCount: the worker's first eviction may already have purged a read restored expired.
        int restored = (int)worker.Engine!.RestoredReadCount;
        await during(worker);
        await running.StopAsync();
        return restored;
    }

    /// <summary>Until the worker holds no read (its purges made), then a commit's time.</summary>
    private static async Task UntilNothingStored(StreamGuardWorker worker)
    {
        var deadline = DateTime.UtcNow + s_timeout;
        while (worker.Engine!.StoredReadCount > 0 && DateTime.UtcNow < deadline) await Task.Delay(100);
        await Task.Delay(1000); // its commit
    }

    /// <summary>
    /// Read <paramref name="read"/> (plate 7ABC123) pushed by a worker under <paramref name="pushing"/>, then a worker
    /// restarted under <paramref name="after"/> until it has purged everything; the reads that worker restored.
    /// </summary>
    private static async Task<int> PushThenRestartUntilPurged(KafkaTestCluster cluster, TestPolicy pushing,
        TestPolicy after, string read)
    {
        using IProducer<string?, string> producer = cluster.Producer();
        await RunAsync(cluster, pushing, async worker =>
        {
            await producer.ProduceAsync(cluster.Topics.Reads,
                new Message<string?, string> { Key = "7ABC123", Value = read });
            Assert.Single(cluster.ReadAll(OutputKind.Shared, 1, s_timeout));
        });
        Assert.Empty(PurgedReadIds(cluster));
        return await RunAsync(cluster, after, UntilNothingStored);
    }

    /// <summary>The addressees of the purge notices; ReadToEnd(kind) checks each is in its addressee's topic.</summary>
    private static List<string> PurgeRecipients(KafkaTestCluster cluster) =>
        cluster.ReadToEnd(OutputKind.Purges, s_timeout)
            .Select(r => JsonDocument.Parse(r.Message.Value).RootElement.GetProperty("recipient").GetString()!)
            .Order().ToList();

    private static List<string> PurgedReadIds(KafkaTestCluster cluster) =>
        cluster.ReadToEnd(OutputKind.Purges, s_timeout)
            .Select(r => JsonDocument.Parse(r.Message.Value).RootElement.GetProperty("read_id").GetString()!)
            .Order().ToList();

    [Fact]
    public async Task ARestartUnderALongerThenAShorterWindowPurgesEachReadOnceWithItsNotice()
    {
        using var cluster = new KafkaTestCluster();
        using IProducer<string?, string> producer = cluster.Producer();
        DateTimeOffset now = DateTimeOffset.UtcNow;
        // ca-lasd keeps reads default_retention (no statute cap in California).
        string r1 = TestPolicy.Read("r1", "ca-lasd", "7ABC123", now.AddMinutes(-10).AddSeconds(8));
        string r2 = TestPolicy.Read("r2", "ca-lasd", "8XYZ999", now.AddMinutes(-3));

        // 1. A 10-minute window: r1 is purged by this worker some seconds after it arrives; r2 stays.
        await RunAsync(cluster, Policy("10m"), async worker =>
        {
            foreach (string r in (string[])[r1, r2])
            {
                await producer.ProduceAsync(cluster.Topics.Reads, new Message<string?, string>
                {
                    Key = JsonDocument.Parse(r).RootElement.GetProperty("plate").GetString(), Value = r,
                });
            }
            Assert.Single(cluster.ReadAll(OutputKind.Purges, 1, s_timeout));
        });
        Assert.Equal(["r1"], PurgedReadIds(cluster));

        // 2. Restarted with a 1-hour window: the log says r1 was purged, so it does not come back.
        int restored = await RunAsync(cluster, Policy("1h"), _ => Task.Delay(2000));
        Assert.Equal(1, restored); // r2 only
        Assert.Equal(["r1"], PurgedReadIds(cluster));

        // 3. Restarted with a 1-minute window: r2, which the log says is resident, is past it — purged at once, with
        // its notice and audit decision, by the new worker.
        await RunAsync(cluster, Policy("1m"), UntilNothingStored);
        Assert.Equal(["r1", "r2"], PurgedReadIds(cluster));
        List<string> purgedByAudit = cluster.AuditDecisions(s_timeout)
            .Select(d => JsonDocument.Parse(d).RootElement)
            .Where(d => d.GetProperty("event").GetString() == "purge")
            .SelectMany(d => d.GetProperty("reads").EnumerateArray().Select(r => r.GetString()!))
            .Order().ToList();
        Assert.Equal(["r1", "r2"], purgedByAudit);
    }

    [Fact]
    public async Task AnAgencyRetiredBeforeARestartStillGetsItsPurgeNoticeInItsOwnTopic()
    {
        using var cluster = new KafkaTestCluster();
        const string Push = """
            agreements:
              - id: lasd-push
                owners: [ca-lasd]
                recipients: [ca-lapd]
                access: [push]
                purposes: [stolen_vehicle]
            """;
        var pushing = new TestPolicy(TestPolicy.Yaml.Replace("search:", Push + "\nsearch:", StringComparison.Ordinal));
        _policies.Add(pushing);
        // ca-lapd taken out of the policy (a reload retired it, then the worker restarted on the file as it is), and
        // a window that has closed on r1 by then.
        var retired = new TestPolicy(TestPolicy.Yaml
            .Replace("  - {id: ca-lapd, state: CA, level: local, retention: 730d, key: file:keys/ca-lapd.key}\n", "",
                StringComparison.Ordinal)
            .Replace("default_retention: 30d", "default_retention: 1m", StringComparison.Ordinal));
        _policies.Add(retired);
        Assert.Equal(-1, retired.Compiled.Agencies.FindAny("ca-lapd"u8));

        string r1 = TestPolicy.Read("r1", "ca-lasd", "7ABC123", DateTimeOffset.UtcNow.AddMinutes(-2));
        Assert.Equal(1, await PushThenRestartUntilPurged(cluster, pushing, retired, r1));
        Assert.Equal(["ca-lapd", "ca-lasd"], PurgeRecipients(cluster));
    }

    [Fact]
    public async Task AReadOfAnOwnerTheFileKeepsAsRetiredIsRestoredAfterARestartAndPurgedWithItsNotices()
    {
        using var cluster = new KafkaTestCluster();
        const string Lasd = "{id: ca-lasd, state: CA, level: county, key: file:keys/ca-lasd.key}";
        var pushing = new TestPolicy(TestPolicy.Yaml
            .Replace(Lasd, "{id: ca-lasd, state: CA, level: county, retention: 1m, key: file:keys/ca-lasd.key}",
                StringComparison.Ordinal)
            .Replace("search:", """
                agreements:
                  - {id: lasd-push, owners: [ca-lasd], recipients: [ca-lapd], access: [push], purposes: [warrant]}
                search:
                """, StringComparison.Ordinal));
        _policies.Add(pushing);
        // The owner retired in the file (no key, no agreement), with the window it had: a new process knows it.
        var retired = new TestPolicy(TestPolicy.Yaml.Replace(Lasd,
            "{id: ca-lasd, state: CA, level: county, retention: 1m, retired: true}", StringComparison.Ordinal));
        _policies.Add(retired);

        string r1 = TestPolicy.Read("r1", "ca-lasd", "7ABC123", DateTimeOffset.UtcNow.AddSeconds(-50));
        Assert.Equal(1, await PushThenRestartUntilPurged(cluster, pushing, retired, r1));
        Assert.Equal(["ca-lapd", "ca-lasd"], PurgeRecipients(cluster));
    }
}
