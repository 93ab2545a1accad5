using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using StreamGuard.Kafka;
using StreamGuard.Kafka.Embedded;

namespace StreamGuard.Bench;

/// <summary>
/// <c>dotnet run -c Release -- soak-stall --cli PATH/streamguard.dll --policy FILE [--stall-minutes 10] [--rate 200]
/// [--cap-mib 400]</c>: a real <c>streamguard run</c> process against an embedded two-broker cluster, fed reads at a
/// steady rate, while the broker that leads every output partition is down for the stall (inputs and coordinators
/// stay up on the other). Samples the worker's resident memory (VmRSS) every second and prints the peak before,
/// during and after the stall against the cap; exits 1 above it. A worker that stops (a transaction that cannot
/// complete is aborted and the worker stops by design) is restarted, like a supervisor would, and counted; the
/// worker's stats lines show whether it processes again after the stall (exit 1 if not). Run by
/// scripts/soak-stall.sh; not CI.
/// </summary>
public static class SoakStallMode
{
    public static int Run(string[] args)
    {
        string cli = Value(args, "--cli") ?? throw new ArgumentException("--cli PATH/streamguard.dll is required");
        string policy = Path.GetFullPath(Value(args, "--policy") ?? Path.Combine("samples", "policy.yaml"));
        double stallMinutes = double.Parse(Value(args, "--stall-minutes") ?? "10", CultureInfo.InvariantCulture);
        // The embedded broker keeps at most 5 MiB per partition and prunes older records silently: the backlog of the
        // whole stall must fit, or the worker's committed offsets fall off the log (it then chases a moving log
        // start). 200 reads/s of ~260 bytes over 8 partitions is ~4 MiB per partition after 10 minutes.
        int rate = int.Parse(Value(args, "--rate") ?? "200", CultureInfo.InvariantCulture);
        const int Partitions = 8;
        long capMib = long.Parse(Value(args, "--cap-mib") ?? "400", CultureInfo.InvariantCulture);
        TimeSpan warmUp = TimeSpan.FromSeconds(60), recovery = TimeSpan.FromSeconds(150);

        using MockCluster cluster = MockCluster.Start(brokers: 2);
        var topics = new TopicNames().WithPrefix("soak.");
        string[] outputs =
            [topics.Results, topics.Shared, topics.Alerts, topics.Purges, topics.Audit, topics.DeadLetter];
        foreach (string t in topics.All)
        {
            cluster.CreateTopic(t, Partitions);
            for (int p = 0; p < Partitions; p++) cluster.SetPartitionLeader(t, p, outputs.Contains(t) ? 2 : 1);
        }
        const string Group = "soak", TxId = "soak-slot0";
        cluster.SetCoordinator(transactional: false, Group, 1);
        cluster.SetCoordinator(transactional: true, TxId, 1);
        string auditKey = Path.Combine(Path.GetTempPath(), $"soak-audit-{Environment.ProcessId}.key");
        File.WriteAllText(auditKey, "soak-audit-key");

        File.Delete(s_workerLog);
        Console.WriteLine($"worker log: {s_workerLog}");
        Console.WriteLine($"soak-stall: {rate:N0} reads/s; warm-up {warmUp.TotalSeconds:N0} s, " +
            $"output broker down {stallMinutes:N1} min, recovery {recovery.TotalSeconds:N0} s; cap {capMib} MiB RSS");
        using var stop = new CancellationTokenSource();
        long produced = 0;
        Thread feeder = new(() =>
        {
            using IProducer<string, string> producer = new ProducerBuilder<string, string>(
                new ProducerConfig { BootstrapServers = cluster.BootstrapServers, LingerMs = 5 }).Build();
            var clock = Stopwatch.StartNew();
            string[] owners = ["ca-lapd", "ca-lasd", "wa-spd", "tx-hpd"];
            while (!stop.IsCancellationRequested)
            {
                long due = (long)(clock.Elapsed.TotalSeconds * rate);
                for (; produced < due; produced++)
                {
                    string plate = $"S{produced % 20_000:D5}";
                    string at = DateTimeOffset.UtcNow.AddSeconds(-1).UtcDateTime
                        .ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
                    string owner = owners[produced % owners.Length];
                    producer.Produce(topics.Reads, new Message<string, string>
                    {
                        Key = plate,
                        Value = $"{{\"read_id\":\"s{produced}\",\"camera_id\":\"{owner}-cam-1\"," +
                            $"\"agency_id\":\"{owner}\",\"plate\":\"{plate}\",\"plate_state\":\"CA\"," +
                            $"\"confidence\":0.9,\"observed_at\":\"{at}\",\"lat\":34.05,\"lon\":-118.24}}",
                    });
                }
                Thread.Sleep(10);
            }
            producer.Flush(TimeSpan.FromSeconds(10));
        }) { IsBackground = true };
        feeder.Start();

        Process worker = Start(cli, cluster.BootstrapServers, policy, auditKey, Group, TxId);
        int restarts = 0;
        long peakWarm = 0, peakStall = 0, peakAfter = 0;
        var total = Stopwatch.StartNew();
        TimeSpan stallEnd = warmUp + TimeSpan.FromMinutes(stallMinutes), end = stallEnd + recovery;
        int phase = 0; // 0 warm-up, 1 stall, 2 recovery
        long processedAtUp = -1;
        while (total.Elapsed < end)
        {
            if (phase == 0 && total.Elapsed >= warmUp)
            {
                cluster.SetBrokerDown(2);
                phase = 1;
                Console.WriteLine($"{total.Elapsed.TotalSeconds,6:N0} s: output broker down");
            }
            if (phase == 1 && total.Elapsed >= stallEnd)
            {
                cluster.SetBrokerUp(2);
                phase = 2;
                processedAtUp = Interlocked.Read(ref s_processed);
                Console.WriteLine($"{total.Elapsed.TotalSeconds,6:N0} s: output broker up");
            }
            if (worker.HasExited)
            {
                restarts++;
                Console.WriteLine($"{total.Elapsed.TotalSeconds,6:N0} s: worker exited {worker.ExitCode}; " +
                    $"restarting (restart {restarts})");
                worker.Dispose();
                worker = Start(cli, cluster.BootstrapServers, policy, auditKey, Group, TxId);
            }
            long rss = RssKib(worker.Id);
            if (phase == 0) peakWarm = Math.Max(peakWarm, rss);
            else if (phase == 1) peakStall = Math.Max(peakStall, rss);
            else peakAfter = Math.Max(peakAfter, rss);
            if ((int)total.Elapsed.TotalSeconds % 30 == 0)
            {
                Console.WriteLine($"{total.Elapsed.TotalSeconds,6:N0} s: RSS {rss / 1024.0:N0} MiB, " +
                    $"{Interlocked.Read(ref produced):N0} reads produced, " +
                    $"worker's last stats: {Interlocked.Read(ref s_processed):N0} processed");
            }
            Thread.Sleep(1000);
        }
        stop.Cancel();
        feeder.Join();
        if (!worker.HasExited) worker.Kill(entireProcessTree: true);
        worker.WaitForExit();
        File.Delete(auditKey);
        long peak = Math.Max(peakWarm, Math.Max(peakStall, peakAfter));
        long resumed = Interlocked.Read(ref s_processed) - processedAtUp;
        Console.WriteLine($"peak RSS: {peakWarm / 1024.0:N0} MiB before the stall, " +
            $"{peakStall / 1024.0:N0} MiB during it ({stallMinutes:N1} min), {peakAfter / 1024.0:N0} MiB after; " +
            $"cap {capMib} MiB: {(peak <= capMib * 1024 ? "under" : "OVER")}; {restarts} worker restarts; " +
            $"{produced:N0} reads produced; after the stall the worker " +
            $"{(resumed > 0
                ? $"processed again ({resumed:N0} events by its last stats line)"
                : "DID NOT resume processing")}");
        return peak <= capMib * 1024 && resumed > 0 ? 0 : 1;
    }

    private static Process Start(string cli, string bootstrap, string policy, string auditKey, string group,
        string txId)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false,
        };
        foreach (string a in (string[])[cli, "run", "--bootstrap", bootstrap, "--policy", policy, "--group", group,
            "--topic-prefix", "soak.", "--audit-key", "file:" + auditKey, "--transactional-id", txId,
            "--stats-interval-s", "5", "--reload-interval-ms", "0"])
        {
            start.ArgumentList.Add(a);
        }
        Process p = Process.Start(start)!;
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not { } line) return;
            lock (s_logGate) File.AppendAllText(s_workerLog, line + Environment.NewLine);
            if (line.Contains(" processed ", StringComparison.Ordinal) && ProcessedIn(line) is long n)
            {
                Interlocked.Exchange(ref s_processed, s_total + n);
            }
            else if (line.Contains("streamguard run: stopped", StringComparison.Ordinal))
            {
                Console.WriteLine("  worker: " + line);
                s_total = Interlocked.Read(ref s_processed); // a restarted worker counts from 0 again
            }
        };
        p.OutputDataReceived += (_, _) => { };
        p.BeginErrorReadLine();
        p.BeginOutputReadLine();
        return p;
    }

    // Events processed by all worker incarnations, from their stats lines ("processed N (reads ...").
    private static long s_processed;
    private static readonly Lock s_logGate = new();
    private static readonly string s_workerLog = Path.Combine(Path.GetTempPath(), "soak-stall-worker.log");
    private static long s_total;

    private static long? ProcessedIn(string line)
    {
        int at = line.IndexOf(" processed ", StringComparison.Ordinal) + " processed ".Length;
        int end = line.IndexOf(' ', at);
        return end > at
            && long.TryParse(line.AsSpan(at, end - at), NumberStyles.None, CultureInfo.InvariantCulture, out long n)
                ? n
                : null;
    }

    /// <summary>Resident set size in KiB (Linux /proc); 0 when unknown.</summary>
    private static long RssKib(int pid)
    {
        try
        {
            foreach (string line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }
        return 0;
    }

    private static string? Value(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
