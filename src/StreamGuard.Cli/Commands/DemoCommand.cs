using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Confluent.Kafka;
using HdrHistogram;
using StreamGuard.Audit;
using StreamGuard.Cli.CommandLine;
using StreamGuard.Engine;
using StreamGuard.Generation;
using StreamGuard.Kafka;
using StreamGuard.Kafka.Embedded;
using StreamGuard.Policy;

namespace StreamGuard.Cli.Commands;

/// <summary><c>streamguard demo</c>: everything on one machine, no Docker, under a minute.</summary>
internal static class DemoCommand
{
    private static readonly IntOption s_reads = new("reads", "N", "plate reads to produce", 1, 5_000_000)
    {
        Default = 60_000,
    };

    private static readonly IntOption s_queries = new("queries", "N", "queries to produce", 0, 5_000_000)
    {
        Shown = "default reads/40",
    };

    private static readonly IntOption s_hotlists = new("hotlists", "N", """
        hotlist entries produced before the reads ({default}); matching reads raise
        alerts where the policy allows them
        """, 0, 100_000)
    {
        Default = 200,
    };

    private static readonly IntOption s_rate = new("rate", "N", "events per second offered", 1, 1_000_000)
    {
        Default = 10_000,
    };

    private static readonly IntOption s_partitions = new("partitions", "N", "partitions per topic", 1, 256)
    {
        Default = 8,
    };

    private static readonly DoubleOption s_malformed =
        new("malformed", "F", "share of bad input lines, 0..1", 0, 1, 0.01);

    private static readonly TextOption s_policy = new("policy", "P", "policy file")
    {
        Default = Common.SamplePolicyPath, Shown = "default: the bundled sample policy",
    };

    private static readonly TextOption s_out = new("out", "DIR", "where to write audit.ndjson and report.html")
    {
        Default = "demo-out",
    };

    /// <summary>The verb: its options, its help and what it runs.</summary>
    public static Command Command { get; } = Verb.Create("demo",
        "embedded Kafka-protocol cluster + sample policy + synthetic traffic + worker; summary", """
        Starts librdkafka's embedded Kafka-protocol cluster on 127.0.0.1, creates StreamGuard's topics, loads
        the bundled sample policy, runs the worker, and produces synthetic plate reads and signed queries to it
        at a fixed rate while showing live progress. Ends with events/s, decision latency percentiles
        (HdrHistogram), decisions by code, dead letters, and the Kafka messages and bytes (keys and values) the
        worker produced per event by kind of topic (every agency's own topics of a kind together); reads the
        audit topic back into OUT/audit.ndjson, verifies its hash chains, and writes OUT/report.html.
        """,
        [s_reads, s_queries, s_hotlists, s_rate, s_partitions, s_malformed, s_policy, s_out])
        .Runs((a, ct) => RunAsync(a, ct));

    public static async Task<int> RunAsync(CommandArgs args, CancellationToken ct)
    {
        int reads = args.Int(s_reads);
        int queries = args.GivenInt(s_queries) ?? reads / 40;
        int hotlistCount = args.Int(s_hotlists);
        int rate = args.Int(s_rate);
        int partitions = args.Int(s_partitions);
        double malformed = args.Double(s_malformed);
        string policyPath = args.Text(s_policy)!;
        string outDir = args.Text(s_out)!;

        TextWriter o = Console.Out;
        CompiledPolicy policy = Common.LoadPolicy(policyPath, TextWriter.Null);
        byte[] auditKey = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "samples", "keys", "audit.key"));
        Directory.CreateDirectory(outDir);

        o.WriteLine($"StreamGuard demo — policy {Path.GetFileName(policyPath)} " +
            $"({policy.Document.Agencies.Count} agencies, {policy.Hash[..19]}…)");
        using MockCluster cluster = MockCluster.Start(brokers: 1, rebalanceDelayMs: 0);
        var topics = new TopicNames();
        foreach (string t in topics.All) cluster.CreateTopic(t, partitions);
        // Each agency's output topics too, with as many partitions (the worker would otherwise make them itself).
        foreach (AgencyConfig a in policy.Document.Agencies)
        {
            foreach (string t in topics.OfAgency(a.Id)) cluster.CreateTopic(t, partitions);
        }
        o.WriteLine(
            $"embedded Kafka-protocol cluster at {cluster.BootstrapServers}, {partitions} partitions per topic");

        var log = new List<string>();
        var workerOptions = new WorkerOptions
        {
            BootstrapServers = cluster.BootstrapServers, GroupId = "streamguard-demo", Topics = topics,
        };
        var worker = new StreamGuardWorker(workerOptions,
            sink => new StreamGuardEngine(policy, sink, auditKey,
                change: Common.InitialChange(policy, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds())),
            new LineLogger(m => { lock (log) log.Add(m); }));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Exception? failure = null;
        var workerThread = new Thread(() =>
        {
            try { worker.Run(stop.Token); }
            catch (Exception e) { failure = e; }
        }) { Name = "streamguard-worker", IsBackground = true };
        workerThread.Start();
        Task assigned = await Task.WhenAny(worker.Assigned, Task.Delay(TimeSpan.FromSeconds(30), ct));
        if (assigned != worker.Assigned)
        {
            throw new InvalidOperationException(
                "the worker did not join its consumer group within 30 s: " + failure?.Message);
        }
        o.WriteLine("worker joined its consumer group (exactly-once: a Kafka transaction every " +
            $"{workerOptions.CommitInterval.TotalMilliseconds:0} ms); producing traffic…");
        string auditPath = Path.Combine(outDir, "audit.ndjson");
        using var auditTail = new TopicTail(cluster.BootstrapServers, topics.Audit, partitions, auditPath);

        var traffic = new SyntheticTraffic(policy.Document,
            TrafficOptions.Default with { Seed = 7, MalformedShare = malformed });
        using IProducer<byte[]?, byte[]> producer = new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig
        {
            // Kafka's default partitioner (the Java client's): records land on their plate's partition, nothing to
            // forward.
            Partitioner = Partitioner.Murmur2Random,
            BootstrapServers = cluster.BootstrapServers, LingerMs = 2, Acks = Acks.All, ClientId = "demo-traffic",
        }).Build();

        // Hotlists first: a compacted table the worker reads whole; reads that match them raise alerts.
        for (int i = 0; i < hotlistCount; i++)
        {
            ReadOnlyMemory<byte> entry = traffic.NextHotlist(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            producer.Produce(topics.Hotlists, new Message<byte[]?, byte[]>
            {
                Key = System.Text.Encoding.UTF8.GetBytes(traffic.LastHotlistKey!), Value = entry.ToArray(),
            });
        }
        producer.Flush(TimeSpan.FromSeconds(30));
        var hotlistWait = Stopwatch.StartNew();
        while (worker.Engine is not { } e || e.Stats.HotlistEntries < hotlistCount)
        {
            if (failure is not null || hotlistWait.Elapsed > TimeSpan.FromSeconds(30)) break;
            await Task.Delay(20, ct);
        }

        int total = reads + queries;
        double queryEvery = queries == 0 ? double.MaxValue : (double)reads / queries;
        double nextQuery = queryEvery / 2;
        int producedQueries = 0;
        var clock = Stopwatch.StartNew();
        long nextProgress = 1000;
        for (int i = 0; i < reads && !ct.IsCancellationRequested; i++)
        {
            Produce(producer, topics.Reads, traffic.NextRead(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()),
                traffic.LastPlate);
            while (producedQueries < queries && i >= nextQuery)
            {
                Produce(producer, topics.Queries, traffic.NextQuery(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()),
                    traffic.LastPlate);
                producedQueries++;
                nextQuery += queryEvery;
            }
            int produced = i + 1 + producedQueries;
            // Open loop at the offered rate: sleep only when ahead of schedule.
            double aheadMs = produced * 1000.0 / rate - clock.Elapsed.TotalMilliseconds;
            if (aheadMs > 2) Thread.Sleep((int)aheadMs);
            if (clock.ElapsedMilliseconds >= nextProgress)
            {
                nextProgress += 1000;
                Progress(o, clock, produced, total, worker);
            }
            if (failure is not null) break;
        }
        while (producedQueries < queries)
        {
            Produce(producer, topics.Queries, traffic.NextQuery(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()),
                traffic.LastPlate);
            producedQueries++;
        }
        producer.Flush(TimeSpan.FromSeconds(30));
        double produceSeconds = clock.Elapsed.TotalSeconds;

        var deadline = Stopwatch.StartNew();
        // Reads and queries decided (the worker also counts the hotlist records it checks).
        long Decided() => worker.Engine is { } e ? e.Stats.Reads + e.Stats.Queries : 0;
        while (Decided() < total && failure is null && deadline.Elapsed < TimeSpan.FromSeconds(60)
            && !ct.IsCancellationRequested)
        {
            await Task.Delay(200, CancellationToken.None);
            if (clock.ElapsedMilliseconds >= nextProgress)
            {
                nextProgress += 1000;
                Progress(o, clock, total, total, worker);
            }
        }
        double processSeconds = clock.Elapsed.TotalSeconds;
        stop.Cancel();
        workerThread.Join(TimeSpan.FromSeconds(60));
        o.WriteLine();
        if (failure is not null)
        {
            Console.Error.WriteLine($"worker failed: {failure.Message}");
            return 1;
        }

        StreamGuardEngine engine = worker.Engine!;
        EngineStats s = engine.Stats;
        long auditEntries = auditTail.Finish(engine.AuditEntryCount, TimeSpan.FromSeconds(30));
        AuditVerifier.Result verify;
        // The file's bytes, as audit verify reads them: text decoding would hide a changed byte or line break.
        using (FileStream file = File.OpenRead(auditPath)) verify = AuditVerifier.Verify(AuditVerifier.Lines(file));

        var summary = new StringBuilder();
        summary.AppendLine(CultureInfo.InvariantCulture,
            $"events: {Decided():N0} of {total:N0} produced ({reads:N0} reads, {queries:N0} queries) " +
            $"in {processSeconds:N1} s");
        summary.AppendLine(CultureInfo.InvariantCulture,
            $"throughput: {Decided() / processSeconds:N0} events/s processed " +
            $"(offered {rate:N0}/s for {produceSeconds:N1} s)");
        summary.AppendLine(CultureInfo.InvariantCulture,
            $"decision latency (µs, event in worker → outputs handed to producer): " +
            $"{Percentiles(worker.DecisionLatencyMicros)}");
        summary.AppendLine(CultureInfo.InvariantCulture,
            $"ack latency (µs, event in worker → its last output acknowledged):    " +
            $"{Percentiles(worker.AckLatencyMicros.Snapshot())} " +
            $"(every {workerOptions.AckLatencySampleEvery}th event with outputs)");
        summary.AppendLine(CultureInfo.InvariantCulture,
            $"end-to-end latency (ms, produced → decided):                       " +
            $"{Percentiles(worker.EndToEndMillis)}");
        summary.AppendLine("decisions by code:");
        for (int c = 0; c < DecisionCodes.Count; c++)
        {
            long n = s.Decisions((DecisionCode)c);
            if (n > 0)
            {
                summary.AppendLine(CultureInfo.InvariantCulture,
                    $"  {DecisionCodes.Text((DecisionCode)c),-28} {n,10:N0}");
            }
        }
        summary.AppendLine(CultureInfo.InvariantCulture, $"dead letters: {s.DeadLetters:N0}");
        for (int e = 1; e <= (int)Parsing.ParseError.InvalidUtf8; e++)
        {
            long n = s.DeadLettersOf((Parsing.ParseError)e);
            if (n > 0)
            {
                summary.AppendLine(CultureInfo.InvariantCulture,
                    $"  {Parsing.ParseErrorCodes.Code((Parsing.ParseError)e),-28} {n,10:N0}");
            }
        }
        summary.AppendLine(CultureInfo.InvariantCulture,
            $"results: {s.Results:N0}; push deliveries (alpr.shared.<recipient>): {s.Shared:N0}; " +
            $"alerts: {s.Alerts:N0}; " +
            $"audit entries: {auditEntries:N0} of {engine.AuditEntryCount:N0} written " +
            $"({engine.AuditDecisionCount:N0} decisions), " +
            $"in {Path.GetFullPath(auditPath)}");
        // What the worker handed to Kafka, per read or query decided (the hotlist entries' few outputs included).
        summary.AppendLine(CultureInfo.InvariantCulture,
            $"Kafka per event (key + value bytes): {BenchVolume.Of(worker.Sink!, topics, Decided()).PerEvent()}");
        summary.AppendLine(verify.Error is null
            ? $"audit chains: {verify.Chains} verified, {verify.Entries:N0} entries in {verify.Blocks:N0} blocks, " +
                "no break"
            : $"audit chains: BROKEN at line {verify.Line}: {verify.Error}");
        o.Write(summary);
        string reportPath = Path.Combine(outDir, "report.html");
        File.WriteAllText(reportPath,
            $"<!doctype html><meta charset=utf-8><title>StreamGuard demo</title><h1>StreamGuard demo</h1>" +
            $"<pre>{WebUtility.HtmlEncode(summary.ToString())}</pre>");
        o.WriteLine($"report: {Path.GetFullPath(reportPath)}");
        return Decided() == total && verify.Error is null && auditEntries == engine.AuditEntryCount ? 0 : 1;
    }

    internal static void Produce(IProducer<byte[]?, byte[]> producer, string topic, ReadOnlyMemory<byte> value,
        string? key)
    {
        var message = new Message<byte[]?, byte[]>
        {
            Key = key is null ? null : Encoding.ASCII.GetBytes(key), Value = value.ToArray(),
        };
        while (true)
        {
            try
            {
                producer.Produce(topic, message);
                return;
            }
            catch (ProduceException<byte[]?, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
            {
                producer.Poll(TimeSpan.FromMilliseconds(20));
            }
        }
    }

    private static void Progress(TextWriter o, Stopwatch clock, int produced, int total, StreamGuardWorker worker)
    {
        long processed = worker.Processed;
        EngineStats? s = worker.Engine?.Stats;
        o.Write(Common.Interactive(o) ? "\r" : "\n");
        o.Write($"  {clock.Elapsed.TotalSeconds,5:N1} s  produced {produced,9:N0}/{total:N0}  " +
            $"processed {processed,9:N0}  " +
            $"{processed / clock.Elapsed.TotalSeconds,8:N0} events/s  dead letters {s?.DeadLetters ?? 0:N0}   ");
    }

    private static string Percentiles(LongHistogram h) => h.TotalCount == 0
        ? "no samples"
        : string.Create(CultureInfo.InvariantCulture,
            $"p50 {h.GetValueAtPercentile(50)}  p99 {h.GetValueAtPercentile(99)}  " +
            $"p99.9 {h.GetValueAtPercentile(99.9)}  max {h.GetMaxValue()}");
}
