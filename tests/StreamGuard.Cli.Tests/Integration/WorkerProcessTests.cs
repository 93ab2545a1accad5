using System.Diagnostics;
using Confluent.Kafka;
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
        using var policy = new TestPolicy();
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
        int audited;
        try
        {
            // Every read audited means every read processed; the minute-long commit interval leaves the commit to
            // shutdown.
            audited = cluster.ReadAll(cluster.Topics.Audit, count + cluster.Partitions, s_timeout)
                .Count(r => !r.Message.Value.Contains("\"policy_load\"", StringComparison.Ordinal));
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
        Assert.True(audited == count, $"{audited} audit records; stderr:\n{err}");
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
    }
}
