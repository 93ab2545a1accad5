using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Confluent.Kafka;
using StreamGuard.Kafka;
using StreamGuard.Tests.Support;
using Xunit.Abstractions;

namespace StreamGuard.Tests.Integration;

/// <summary>
/// `streamguard run` as real processes killed with SIGKILL at random moments while traffic flows, restarted each time
/// in the same worker slot (same transactional id), then drained by a last worker stopped cleanly.
/// </summary>
/// <remarks>
/// What holds everywhere: nothing is lost (every read is ingested, every query answered), the audit chains verify from
/// the topic (each restart continues every chain from its last record instead of starting a new one), and the store
/// is rebuilt (a query after the last restart sees reads from before the first kill). Nothing duplicated is asserted
/// on a real broker (STREAMGUARD_KAFKA_BOOTSTRAP): librdkafka's embedded mock cluster shows the records of aborted and
/// unfinished transactions to read_committed readers and does not fence a restarted producer, so on it the decisions of
/// a transaction cut short by a kill are visible twice; the test reports how many.
/// </remarks>
public sealed class WorkerCrashTests(ITestOutputHelper output)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(90);
    private const int Kills = 20;

    [Fact]
    public async Task KilledAtRandomMomentsTheWorkerLosesNothingAndItsChainsVerify()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return; // SIGKILL is a POSIX signal
        // Every ca-lapd read is pushed to ca-lasd: alpr.shared is checked for losses too.
        using var policy = new TestPolicy(TestPolicy.Yaml + """

            agreements:
              - {id: la-push, owners: [ca-lapd], recipients: [ca-lasd], access: [push], purposes: [stolen_vehicle]}
            """);
        using var cluster = new KafkaTestCluster();
        string auditKey = Path.Combine(policy.Directory, "audit.key");
        await File.WriteAllTextAsync(auditKey, "crash-test-audit-key");
        string prefix = cluster.Topics.Reads[..^"alpr.reads".Length];
        DateTimeOffset t0 = DateTimeOffset.UtcNow;

        // Traffic at a steady pace for the whole kill phase: reads of 30 plates by two owners, queries by the owner.
        using IProducer<string?, string> producer = cluster.Producer();
        var readIds = new List<string>();
        var pushedIds = new List<string>();
        var queryIds = new List<string>();
        using var stopTraffic = new CancellationTokenSource();
        Task traffic = Task.Run(async () =>
        {
            for (int i = 0; !stopTraffic.IsCancellationRequested; i++)
            {
                string plate = $"K{i % 30:D4}";
                string id = $"r{i:D5}";
                string read = TestPolicy.Read(id, i % 3 == 0 ? "ca-lasd" : "ca-lapd", plate,
                    DateTimeOffset.UtcNow.AddSeconds(-1));
                producer.Produce(cluster.Topics.Reads, new Message<string?, string> { Key = plate, Value = read });
                lock (readIds) readIds.Add(id);
                if (i % 3 != 0) lock (pushedIds) pushedIds.Add(id);
                if (i % 10 == 9)
                {
                    string q = $"q{i:D5}";
                    producer.Produce(cluster.Topics.Queries, new Message<string?, string>
                    {
                        Key = plate, Value = TestPolicy.Query(q, "ca-lapd", plate, DateTimeOffset.UtcNow),
                    });
                    lock (queryIds) queryIds.Add(q);
                }
                await Task.Delay(4);
            }
            producer.Flush(s_timeout);
        });

        var rng = new Random(20261129);
        var logs = new List<string>();
        for (int kill = 0; kill < Kills; kill++)
        {
            using Process worker = StartWorker(cluster, policy, prefix, auditKey);
            // Random moments: while starting, while joining and restoring, while processing.
            await Task.Delay(rng.Next(300, 2500));
            worker.Kill(entireProcessTree: true); // SIGKILL
            await worker.WaitForExitAsync();
            logs.Add(await worker.StandardError.ReadToEndAsync());
        }
        await stopTraffic.CancelAsync();
        await traffic;

        // The last worker drains everything, then a query shows the store was rebuilt across all the restarts. Like a
        // supervisor, the test restarts it if it stops on its own (a worker that loses its partitions to a session
        // timeout on a loaded machine aborts its transaction and exits 1 by design).
        int reads = readIds.Count, queries = queryIds.Count;
        Process last = StartWorker(cluster, policy, prefix, auditKey);
        Task<string> lastErr = last.StandardError.ReadToEndAsync();
        int supervisedRestarts = 0;
        void KeepRunning()
        {
            if (!last.HasExited) return;
            Assert.True(++supervisedRestarts <= 5,
                $"the last worker keeps stopping: {last.ExitCode}\n{lastErr.Result}");
            last.Dispose();
            last = StartWorker(cluster, policy, prefix, auditKey);
            lastErr = last.StandardError.ReadToEndAsync();
        }
        try
        {
            WaitForDistinctKeys(cluster, OutputKind.Results, queries, KeepRunning);
            await producer.ProduceAsync(cluster.Topics.Queries, new Message<string?, string>
            {
                // K0000 is read by ca-lasd cameras
                Key = "K0000", Value = TestPolicy.Query("q-final", "ca-lasd", "K0000", DateTimeOffset.UtcNow),
            });
            WaitForDistinctKeys(cluster, OutputKind.Results, queries + 1, KeepRunning);
            using (Process term = Process.Start("kill", ["-TERM", last.Id.ToString(CultureInfo.InvariantCulture)])!)
            {
                await term.WaitForExitAsync();
            }
            using var exit = new CancellationTokenSource(s_timeout);
            await last.WaitForExitAsync(exit.Token);
        }
        finally
        {
            if (!last.HasExited) last.Kill(entireProcessTree: true);
        }
        string err = await lastErr;
        Assert.True(last.ExitCode == 0,
            $"the last worker exited {last.ExitCode}:\n{err}\nthe last killed worker's log:\n{logs[^1]}");
        last.Dispose();

        // Nothing lost: every read has an ingest decision, every query a result.
        var audit = cluster.AuditDecisions(s_timeout)
            .Select(d => JsonDocument.Parse(d).RootElement.Clone()).ToList();
        var ingested = audit.Where(r => r.GetProperty("event").GetString() == "ingest")
            .Select(r => r.GetProperty("reads")[0].GetString()!).ToList();
        Assert.Empty(readIds.Except(ingested));
        var answered = cluster.ReadToEnd(OutputKind.Results, s_timeout).Select(r => r.Message.Key!).ToList();
        Assert.Empty(queryIds.Append("q-final").Except(answered));

        var shared = cluster.ReadToEnd(OutputKind.Shared, s_timeout)
            .Select(r => JsonDocument.Parse(r.Message.Value).RootElement.GetProperty("read_id").GetString()!).ToList();
        Assert.Empty(pushedIds.Except(shared));
        Assert.Empty(shared.Except(pushedIds)); // nothing shared that the agreement does not grant

        // The chains verify, read back from the topic: every restart continued them.
        Assert.Equal(0, await StreamGuard.Cli.Cli.MainAsync(
            ["audit", "verify", "--topic", cluster.Topics.Audit, "--bootstrap", cluster.BootstrapServers]));
        // Each chain began once: one genesis, its opening policy_load (the one decision of entry 1).
        Assert.All(audit.GroupBy(r => r.GetProperty("chain").GetString()),
            chain => Assert.Equal("policy_load", Assert.Single(chain, r => r.GetProperty("seq").GetInt64() == 1)
                .GetProperty("event").GetString()));

        // The store was rebuilt: the final query sees K0000's reads from before the first kill (within its window).
        JsonElement final = cluster.ReadToEnd(OutputKind.Results, s_timeout)
            .Where(r => r.Message.Key == "q-final")
            .Select(r => JsonDocument.Parse(r.Message.Value).RootElement.Clone()).Last();
        var finalReads = final.GetProperty("reads").EnumerateArray()
            .Select(r => r.GetProperty("read_id").GetString()!).ToHashSet();
        Assert.Contains("r00000", finalReads); // the very first read, ingested before the first kill

        int duplicateIngests = ingested.Count - ingested.Distinct().Count();
        int duplicateResults = answered.Count - answered.Distinct().Count();
        int duplicateShares = shared.Count - shared.Distinct().Count();
        output.WriteLine($"{Kills} kills survived ({supervisedRestarts} supervised restarts of the last worker); " +
            $"{reads} reads, {queries} queries, {pushedIds.Count} pushes; {audit.Count} audit decisions; " +
            $"duplicates visible: {duplicateIngests} ingests, {duplicateResults} results, {duplicateShares} shares " +
            $"({(cluster.IsEmbedded ? "embedded mock: no transaction isolation" : "real broker")})");
        if (!cluster.IsEmbedded)
        {
            Assert.Equal(0, duplicateIngests);
            Assert.Equal(0, duplicateResults);
            Assert.Equal(0, duplicateShares);
        }
    }

    private static Process StartWorker(KafkaTestCluster cluster, TestPolicy policy, string prefix, string auditKey)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false,
        };
        foreach (string a in (string[])[
            Path.Combine(AppContext.BaseDirectory, "streamguard.dll"), "run", "--bootstrap", cluster.BootstrapServers,
            "--policy", policy.PolicyPath, "--group", cluster.GroupId, "--topic-prefix", prefix,
            "--audit-key", "file:" + auditKey,
            "--transactional-id", cluster.GroupId + "-slot0", "--stats-interval-s", "0", "--reload-interval-ms", "0",
            "--kafka", "session.timeout.ms=2000;heartbeat.interval.ms=250"])
        {
            start.ArgumentList.Add(a);
        }
        Process p = Process.Start(start)!;
        _ = p.StandardOutput.ReadToEndAsync();
        return p;
    }

    private static List<string> WaitForDistinctKeys(KafkaTestCluster cluster, OutputKind topic, int count,
        Action keepRunning)
    {
        var deadline = DateTime.UtcNow + s_timeout;
        while (true)
        {
            keepRunning();
            var keys = cluster.ReadToEnd(topic, s_timeout).Select(r => r.Message.Key!).ToList();
            if (keys.Distinct().Count() >= count) return keys;
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{topic}: {keys.Distinct().Count()} of {count} keys");
            }
            Thread.Sleep(500);
        }
    }
}
