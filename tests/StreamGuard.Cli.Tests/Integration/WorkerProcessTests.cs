using System.Diagnostics;
using Confluent.Kafka;
using StreamGuard.Kafka;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Integration;

/// <summary>
/// `streamguard run` as a real process: SIGTERM stops it cleanly with every processed offset committed.
/// </summary>
public sealed class WorkerProcessTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task SigtermStopsTheWorkerCleanlyAndCommitsWhatItProcessed()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return; // SIGTERM is a POSIX signal
        // ca-lasd's reads pushed to ca-lapd: each read's share, produced as it is decided, shows it was processed
        // (its audit entry goes out in a block at the next commit, here at shutdown).
        using var policy = new TestPolicy(TestPolicy.Yaml + """

            agreements:
              - {id: lasd-push, owners: [ca-lasd], recipients: [ca-lapd], access: [push], purposes: [stolen_vehicle]}
            """);
        using var cluster = new KafkaTestCluster();
        using IProducer<string?, string> producer = cluster.Producer();
        DateTimeOffset now = DateTimeOffset.UtcNow;
        const int count = 100;
        for (int i = 0; i < count; i++)
        {
            string plate = $"S{i % 13:D4}";
            producer.Produce(cluster.Topics.Reads, new Message<string?, string>
            {
                Key = plate, Value = TestPolicy.Read($"r{i}", "ca-lasd", plate, now.AddSeconds(-i)),
            });
        }
        producer.Flush(s_timeout);

        string auditKey = Path.Combine(policy.Directory, "audit.key");
        await File.WriteAllTextAsync(auditKey, "process-test-audit-key");
        string prefix = cluster.Topics.Reads[..^"alpr.reads".Length];
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string a in (string[])[
            Path.Combine(AppContext.BaseDirectory, "streamguard.dll"), "run", "--bootstrap", cluster.BootstrapServers,
            "--policy", policy.PolicyPath, "--group", cluster.GroupId, "--topic-prefix", prefix,
            "--audit-key", "file:" + auditKey,
            "--commit-interval-ms", "60000"])
        {
            start.ArgumentList.Add(a);
        }
        using Process worker = Process.Start(start)!;
        Task<string> stderr = worker.StandardError.ReadToEndAsync();
        Task<string> stdout = worker.StandardOutput.ReadToEndAsync();
        int decided;
        try
        {
            // Every read decided (its share produced, not yet committed: the minute-long commit interval leaves the
            // commit to shutdown).
            var deadline = DateTime.UtcNow + s_timeout;
            do
            {
                decided = cluster.ReadToEnd(OutputKind.Shared, s_timeout, IsolationLevel.ReadUncommitted).Count;
            }
            while (decided < count && DateTime.UtcNow < deadline && !worker.HasExited);
            using (Process kill = Process.Start("kill",
                ["-TERM", worker.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!)
            {
                await kill.WaitForExitAsync();
            }
            using var exitTimeout = new CancellationTokenSource(s_timeout);
            await worker.WaitForExitAsync(exitTimeout.Token);
        }
        finally
        {
            if (!worker.HasExited) worker.Kill(entireProcessTree: true);
        }

        string err = await stderr;
        await stdout;
        Assert.True(decided == count, $"{decided} reads decided before SIGTERM; stderr:\n{err}");
        Assert.True(worker.ExitCode == 0, $"exit code {worker.ExitCode}; stderr:\n{err}");
        Assert.Contains("stopped cleanly after 100 events", err, StringComparison.Ordinal);
        Assert.DoesNotContain("S0001", err, StringComparison.Ordinal); // no raw plate in the worker's log

        using IConsumer<Ignore, Ignore> probe = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers, GroupId = cluster.GroupId,
        }).Build();
        var partitions = Enumerable.Range(0, cluster.Partitions)
            .Select(p => new TopicPartition(cluster.Topics.Reads, p)).ToList();
        long committed = probe.Committed(partitions, s_timeout).Where(o => o.Offset.Value > 0).Sum(o => o.Offset.Value);
        Assert.Equal(count, committed);

        // The audit of every processed read committed with its offset at shutdown: one ingest entry per read, every
        // chain verified.
        List<string> lines = cluster.AuditLines(s_timeout);
        StreamGuard.Audit.AuditVerifier.Result audit = StreamGuard.Audit.AuditVerifier.Verify(lines);
        Assert.Null(audit.Error);
        Assert.Equal(count, StreamGuard.Audit.AuditExport.Decisions(lines).Select(MemorySink.Json)
            .Count(d => d.GetProperty("event").GetString() == "ingest"));
        Assert.Equal(count + audit.Chains, audit.Entries); // and each chain's policy_load
    }
}
