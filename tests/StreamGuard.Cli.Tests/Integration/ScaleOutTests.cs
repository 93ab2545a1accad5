using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Confluent.Kafka;
using StreamGuard.Kafka;
using StreamGuard.Tests.Support;
using Xunit.Abstractions;

namespace StreamGuard.Tests.Integration;

/// <summary>
/// Three `streamguard run` processes in one consumer group; one is killed (SIGKILL) and a fourth joins. Partitions
/// move to the survivors and then to the newcomer, which rebuilds their stores from the input topics; every query
/// asked after all that is answered as the engine offline answers it over the same input.
/// </summary>
/// <remarks>
/// The answers are compared as sets on the embedded cluster (the killed worker's unfinished transaction stays visible
/// there, see <see cref="FaultInjectionTests"/>) and exactly on a real broker.
/// </remarks>
public sealed partial class ScaleOutTests(ITestOutputHelper output)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(90);
    private const int Plates = 36;

    [Fact]
    public async Task KillOneOfThreeWorkersThenAddOneAndEveryAnswerStaysCorrect()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return; // SIGKILL and SIGTERM are POSIX signals
        using var policy = new TestPolicy(TestPolicy.Yaml + """

            agreements:
              - {id: la-push, owners: [ca-lapd], recipients: [ca-lasd], access: [push], purposes: [stolen_vehicle]}
            """);
        using var cluster = new KafkaTestCluster(partitions: 6);
        string auditKey = Path.Combine(policy.Directory, "audit.key");
        // the replay below uses the same key: plate_ref values compare
        await File.WriteAllBytesAsync(auditKey, TestPolicy.AuditKey);
        string prefix = cluster.Topics.Reads[..^"alpr.reads".Length];
        using IProducer<string?, string> producer = cluster.Producer();
        DateTimeOffset now = DateTimeOffset.UtcNow;
        var reads = new List<string>();

        var slots = new Dictionary<int, Worker>();
        int supervisedRestarts = 0;
        void KeepRunning()
        {
            foreach (var (slot, w) in slots)
            {
                if (w.Killed || !w.Process.HasExited) continue;
                // A worker that loses its partitions to a session timeout on a loaded machine stops by design:
                // restart it.
                Assert.True(++supervisedRestarts <= 6,
                    $"slot {slot} keeps stopping: {w.Process.ExitCode}\n{w.Stderr.Result}");
                w.Logs.Add(w.Stderr.Result);
                slots[slot] = Worker.Start(cluster, policy, prefix, auditKey, slot, w.Logs);
            }
        }
        async Task Wave(int from, int count)
        {
            for (int i = from; i < from + count; i++)
            {
                string plate = $"S{i % Plates:D4}";
                string read =
                    TestPolicy.Read($"r{i:D5}", i % 3 == 0 ? "ca-lasd" : "ca-lapd", plate, now.AddSeconds(-i));
                reads.Add(read);
                producer.Produce(cluster.Topics.Reads, new Message<string?, string> { Key = plate, Value = read });
            }
            await Task.Run(() => producer.Flush(s_timeout));
            WaitUntil(() => IngestedReads(cluster) >= reads.Count, $"{reads.Count} reads ingested", KeepRunning);
        }

        try
        {
            for (int slot = 0; slot < 3; slot++)
            {
                slots[slot] = Worker.Start(cluster, policy, prefix, auditKey, slot, []);
            }
            await Wave(0, 600);

            // Kill one: its partitions go to the two others once its session times out (2 s).
            Worker victim = slots[1];
            victim.Killed = true;
            victim.Process.Kill(entireProcessTree: true);
            await victim.Process.WaitForExitAsync();
            await Wave(600, 600);

            // Add one: the group rebalances over three workers again and the newcomer restores what it is given.
            slots[3] = Worker.Start(cluster, policy, prefix, auditKey, 3, []);
            // its join and restore; the logs checked below say what it was given
            await Task.Delay(TimeSpan.FromSeconds(6));
            await Wave(1200, 300);

            var queries = new List<string>();
            for (int i = 0; i < 2 * Plates; i++)
            {
                string plate = $"S{i % Plates:D4}";
                string q =
                    TestPolicy.Query($"q{i:D3}", i < Plates ? "ca-lapd" : "ca-lasd", plate, DateTimeOffset.UtcNow);
                queries.Add(q);
                producer.Produce(cluster.Topics.Queries, new Message<string?, string> { Key = plate, Value = q });
            }
            producer.Flush(s_timeout);
            WaitUntil(
                () => cluster.ReadToEnd(OutputKind.Results, s_timeout).Select(r => r.Message.Key).Distinct().Count()
                    >= queries.Count,
                "every query answered", KeepRunning);

            foreach (Worker w in slots.Values.Where(w => !w.Killed))
            {
                using Process term =
                    Process.Start("kill", ["-TERM", w.Process.Id.ToString(CultureInfo.InvariantCulture)])!;
                await term.WaitForExitAsync();
            }
            foreach (Worker w in slots.Values.Where(w => !w.Killed))
            {
                using var exit = new CancellationTokenSource(s_timeout);
                await w.Process.WaitForExitAsync(exit.Token);
                w.Logs.Add(await w.Stderr);
                Assert.True(w.Process.ExitCode == 0, $"a worker exited {w.Process.ExitCode}:\n{w.Logs[^1]}");
            }

            // Partitions moved: after the kill the survivors were assigned more, and the newcomer was assigned some
            // and restored them.
            string newcomer = string.Join('\n', slots[3].Logs);
            Assert.Contains(AssignedCounts(newcomer), n => n > 0);
            Assert.Matches(RestoredReads(), newcomer);
            Assert.True(RestoredReads().Matches(newcomer).Any(m =>
                    long.Parse(m.Groups[1].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture) > 0),
                "the fourth worker restored no reads:\n" + newcomer);
            foreach (int slot in (int[])[0, 2])
            {
                List<int> assigned = AssignedCounts(string.Join('\n', slots[slot].Logs));
                Assert.True(assigned.Count >= 2,
                    $"slot {slot} was never reassigned:\n{string.Join('\n', slots[slot].Logs)}");
            }

            // Answers: as the engine offline gives them over the same reads and queries.
            ReplayComparison expected = ReplayComparison.Offline(policy, [], reads, queries);
            ReplayComparison actual = ReplayComparison.FromTopics(cluster, s_timeout);
            List<string> differences = actual.Differences(expected, distinctOnly: cluster.IsEmbedded);
            string verdict = differences.Count == 0 ? "match" : "DIFFER from";
            string comparison = cluster.IsEmbedded ? "as sets: embedded mock" : "exactly";
            output.WriteLine($"3 workers, 1 killed, 1 added, {supervisedRestarts} supervised restarts; " +
                $"{reads.Count} reads, {queries.Count} queries; outputs {verdict} the replay ({comparison}); " +
                $"{actual.Duplicates} repeated records visible; " +
                $"newcomer assigned {string.Join("/", AssignedCounts(newcomer))} partitions");
            Assert.True(differences.Count == 0, string.Join('\n', differences));
            Assert.Equal(0, await StreamGuard.Cli.Cli.MainAsync(
                ["audit", "verify", "--topic", cluster.Topics.Audit, "--bootstrap", cluster.BootstrapServers]));
        }
        finally
        {
            foreach (Worker w in slots.Values)
            {
                if (!w.Process.HasExited) w.Process.Kill(entireProcessTree: true);
                w.Process.Dispose();
            }
        }
    }

    private static List<int> AssignedCounts(string log) =>
        Assigned().Matches(log).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToList();

    [GeneratedRegex(@"assigned (\d+) partitions")]
    private static partial Regex Assigned();

    [GeneratedRegex(@"restored ([\d,]+) reads")]
    private static partial Regex RestoredReads();

    private static int IngestedReads(KafkaTestCluster cluster) =>
        cluster.AuditDecisions(s_timeout)
            .Where(v => v.Contains("\"event\":\"ingest\"", StringComparison.Ordinal))
            .Select(v => JsonDocument.Parse(v).RootElement.GetProperty("reads")[0].GetString()).Distinct().Count();

    private static void WaitUntil(Func<bool> condition, string what, Action keepRunning)
    {
        var deadline = DateTime.UtcNow + s_timeout;
        while (true)
        {
            keepRunning();
            if (condition()) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"not reached in time: {what}");
            Thread.Sleep(500);
        }
    }

    private sealed class Worker
    {
        public required Process Process { get; init; }
        public required Task<string> Stderr { get; init; }
        public required List<string> Logs { get; init; }
        public bool Killed { get; set; }

        public static Worker Start(KafkaTestCluster cluster, TestPolicy policy, string prefix, string auditKey,
            int slot, List<string> logs)
        {
            var start = new ProcessStartInfo("dotnet")
            {
                RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false,
            };
            foreach (string a in (string[])[
                Path.Combine(AppContext.BaseDirectory, "streamguard.dll"), "run",
                "--bootstrap", cluster.BootstrapServers, "--policy", policy.PolicyPath,
                "--group", cluster.GroupId, "--topic-prefix", prefix, "--audit-key", "file:" + auditKey,
                "--transactional-id", $"{cluster.GroupId}-slot{slot}",
                "--stats-interval-s", "0", "--reload-interval-ms", "0",
                "--kafka", "session.timeout.ms=2000;heartbeat.interval.ms=250"])
            {
                start.ArgumentList.Add(a);
            }
            Process p = Process.Start(start)!;
            _ = p.StandardOutput.ReadToEndAsync();
            return new Worker { Process = p, Stderr = p.StandardError.ReadToEndAsync(), Logs = logs };
        }
    }
}
