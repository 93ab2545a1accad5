using System.CommandLine;
using System.Globalization;
using StreamGuard.Cli.CommandLine;
using StreamGuard.Engine;
using StreamGuard.Kafka;
using StreamGuard.Kafka.Embedded;

namespace StreamGuard.Cli.Commands;

/// <summary>
/// <c>streamguard bench</c>: the worker end to end under an open-loop load at a fixed offered rate, latency from each
/// event's intended send time (HdrHistogram), a rate sweep for the sustainable maximum, and two pass-through pipes as
/// ceilings (one record per input; StreamGuard's own records); transactions off and on reported separately, and what
/// each system wrote to Kafka per event, by kind of topic.
/// </summary>
internal static class BenchCommand
{
    private static readonly WorkerOptions s_worker = new() { BootstrapServers = "" };

    private static readonly DoubleOption s_rate = new("rate", "R",
        "offered events/s ({default}); with --sweep the first rate tried", 10, 5_000_000, 5_000);

    private static readonly DoubleOption s_duration = new("duration", "S", "measured seconds per step", 0.5, 3_600, 10);

    private static readonly DoubleOption s_warmup = new("warmup", "S", "seconds offered before measuring", 0, 600, 3);

    private static readonly IntOption s_sweep = new("sweep", "N", """
        search the sustainable maximum from --rate: ×1.5 until a step is not
        sustained, then bisect to within 10%; at most N steps per mode and system
        """, 1, 50);

    private static readonly DoubleOption s_maxP99 = new("max-p99", "MS", "sweep criterion", 1, 3_600_000, 1_000);

    /// <summary>Transactions off, on, or both (null): each mode a step of its own.</summary>
    private static readonly ChoiceOption<bool?> s_transactions = new("transactions", "M",
        "off (at-least-once), on (exactly-once) or both", ("off", false), ("on", true), ("both", null))
    {
        Default = null,
    };

    // The pipes of each --ceiling word, in the order they run; one array per word (the option maps values back to
    // words by reference).
    private static readonly BenchSystem[] s_bothPipes = [BenchSystem.OneToOne, BenchSystem.SameRecords];

    /// <summary>Which pass-through pipes run after StreamGuard, in this order.</summary>
    private static readonly ChoiceOption<BenchSystem[]> s_ceiling = new("ceiling", "C", """
        pass-through pipes run after StreamGuard, each a step of its own:
        one-to-one (a record of the input's bytes per input), same-records
        (StreamGuard's records per topic and sizes), both, or off ({default})
        """,
        ("both", s_bothPipes), ("one-to-one", [BenchSystem.OneToOne]), ("same-records", [BenchSystem.SameRecords]),
        ("off", []))
    {
        Default = s_bothPipes,
    };

    private static readonly IntOption s_partitions = new("partitions", "P",
        "partitions per topic ({default}; the embedded broker keeps ≤ 5 MiB per partition)", 1, 1024)
    {
        Default = 32,
    };

    private static readonly IntOption s_agencyPartitions = new("agency-partitions", "A", """
        partitions of each agency's output topic (default: P spread over the
        policy's agencies, at least 1, so that one kind's agency topics together
        have about as many partitions as the pipes' one topic of that kind)
        """, 1, 1024);

    private static readonly IntOption s_sample = new("sample", "K",
        "time reads on every K-th output partition ({default}; 1 = all)", 1, 1024)
    {
        Default = 4,
    };

    private static readonly IntOption s_ackSample = new("ack-sample", "K", """
        time every K-th event with outputs to its acknowledgement and commit ({default},
        the worker's; 1 = all)
        """, 1, 1_000_000)
    {
        Default = s_worker.AckLatencySampleEvery,
    };

    private static readonly IntOption s_readerFetchWait = new("reader-fetch-wait", "MS", """
        the reader's fetch.wait.max.ms ({default}; the embedded broker holds every
        fetch this long, so it is part of each latency)
        """, 0, 10_000)
    {
        Default = 1,
    };

    private static readonly TextOption s_bootstrap = new("bootstrap", "B", """
        an existing cluster instead of the embedded one (topics bench<run>.<step>.*
        are created with P partitions and deleted after each step)
        """);

    private static readonly TextOption s_policy = new("policy", "P", "policy file")
    {
        Default = Common.SamplePolicyPath, Shown = "default: the bundled sample policy",
    };

    private static readonly IntOption s_linger = new("linger", "MS", "producer linger.ms", 0, 60_000)
    {
        Shown = "default 5",
    };

    private static readonly IntOption s_fetchWait = new("fetch-wait", "MS", "consumer fetch.wait.max.ms", 0, 60_000)
    {
        Shown = "default 10",
    };

    private static readonly IntOption s_commitInterval = new("commit-interval", "MS",
        "transaction / offset-commit interval", 1, 600_000)
    {
        Default = (int)s_worker.CommitInterval.TotalMilliseconds,
    };

    private static readonly IntOption s_commitBatch = new("commit-batch", "N", "...or after N events", 1, 10_000_000)
    {
        Default = s_worker.CommitBatch,
    };

    private static readonly IntOption s_batchSize =
        new("batch-size", "B", "producer batch.size in bytes (at most 524288, the worker's cap)", 1,
            WorkerClientConfig.MaxBatchBytes)
    {
        Shown = "524288",
    };

    private static readonly IntOption s_fetchMaxBytes = new("fetch-max-bytes", "B",
        "consumer fetch.max.bytes, per fetch request", 1, 2_147_483_135)
    {
        Shown = "librdkafka default 52428800",
    };

    private static readonly ChoiceOption<string> s_compression = new("compression", "CODEC",
        "the producer's compression.type: none, gzip, snappy, lz4 or zstd",
        ("none", "none"), ("gzip", "gzip"), ("snappy", "snappy"), ("lz4", "lz4"), ("zstd", "zstd"))
    {
        Shown = "librdkafka default none",
    };

    private static readonly IntOption s_partitionFetchBytes = new("partition-fetch-bytes", "B", """
        consumer max.partition.fetch.bytes, per partition and fetch
        ({default})
        """, 1, 1_000_000_000)
    {
        Shown = "librdkafka default 1048576",
    };

    /// <summary>The verb: its options, its help and what it runs.</summary>
    public static Command Command { get; } = Verb.Create("bench",
        "end to end under open-loop load: latency percentiles, rate sweep, pass-through ceiling", """
        streamguard bench [--rate R] [--duration S] [--warmup S] [--sweep N] [--transactions off|on|both]
                          [--ceiling both|one-to-one|same-records|off] [--partitions P] [--bootstrap B]
                          [tuning options]

        Measures the worker end to end on the embedded Kafka-protocol cluster (or on the cluster at --bootstrap):
        one step = fresh topics, a worker (or a pass-through pipe), and an open-loop producer offering synthetic
        events (plate reads and 2.5% signed queries over the policy, 1% malformed) at a fixed rate: event i is
        due at start + i/R and is sent at that time whatever happened to the events before it, so a stall is
        charged to every event it delays (no coordinated omission). Events are generated before the step starts.

        Latency, precisely: from the event's intended send time to the moment the bench's reader — a
        read_committed consumer on the audit topic (--reader-fetch-wait), in the same process — receives the
        read's `ingest` audit record, the first output the engine produces for a read (its push deliveries and
        their audit records are handed to the producer in the same step, microseconds later); for a pipe, the
        record that carries the input (on alpr.shared or the audit topic). It includes the producer's linger,
        the worker's fetch wait, decision, the worker's linger and the reader's fetch. Reads only (queries and
        malformed events are processed but not timed); the reader reads every K-th partition of that topic
        (--sample K; a uniform sample: plates are random); warm-up events are not recorded.
        Recorded with HdrHistogram (1 µs to 10 min, 3 significant digits), reported as p50/p90/p99/p99.9/max. With
        transactions on, a real broker shows the record to read_committed readers only after the transaction
        commits, so the figure includes the commit interval; the embedded broker shows it before the commit.
        Each step also reports how late the load generator itself sent (intended time → Produce returned): on an
        oversubscribed machine its thread wakes late, and that lateness is inside every latency figure.

        In the worker (StreamGuard steps only), three figures from the moment the worker's consumer hands it the
        event: decision (→ its outputs handed to the producer, every event, whole step including warm-up);
        outputs acknowledged (→ the broker's acknowledgement, acks=all, of the last of its outputs, as its
        delivery report reaches the worker: the producer's linger, the produce round trip and the report's
        delivery included; every K-th event that produced outputs, --ack-sample K); and committed (→ the return of
        the commit that covers it: the transaction's commit, or the flush and offset commit without
        transactions; same events). These two are recorded from the end of the warm-up on, in ms. With
        transactions on, outputs are acknowledged when written, before the commit that makes them visible to
        read_committed readers. The pipe's consumed → outputs acknowledged is timed alike (from Consume
        returning, the same sampling), and the summary states StreamGuard's as a ratio of it.

        Throughput: events the worker processed per second during the measured window (from the end of the
        warm-up to the last event's due time). Sustainable: throughput ≥ 95% of the offered rate, every timed
        read seen within max(5 s, duration/2) after the window, and p99 ≤ --max-p99. Allocation: bytes
        allocated in the process over the same window
        (GC.GetTotalAllocatedBytes) minus the bench's producer, reader and main threads
        (GC.GetAllocatedBytesForCurrentThread), divided by the events processed: the worker's thread and its
        Kafka clients' callback threads.

        Volume: each step states what its system handed to Kafka per input event, by kind of topic (shared,
        alerts, results, purges — every agency's own topics of a kind together — audit, dlq, repartition):
        messages, and bytes of keys and values (headers and Kafka's framing not included), over the whole step.

        Ceilings: pass-through pipes, Confluent.Kafka consume–produce loops configured as the worker (its
        client settings, commit interval and batch, transactions alike) with no processing. The one-to-one pipe
        produces, for each consumed record, exactly one record with its key and value to one topic (named
        alpr.shared, on the input's partition): the least any Kafka-to-Kafka enforcement point must do. At
        saturation (an offered rate neither keeps up with), StreamGuard's throughput over the one-to-one
        pipe's, with transactions on, is the figure to hold against its target (≥ 0.80). The same-records pipe
        produces the same number of records per kind of output topic (to one topic per kind), with the same
        mean sizes, that StreamGuard produced in its step of the same run: it measures StreamGuard's processing
        alone, not the cost of what it writes.
        Each StreamGuard result is stated as a fraction of each pipe's.

        Tuning options (--linger to --partition-fetch-bytes): the worker and the pipes alike; defaults are the
        worker's.
        """,
        [s_rate, s_duration, s_warmup, s_sweep, s_maxP99, s_transactions, s_ceiling, s_partitions, s_agencyPartitions,
         s_sample,
        s_ackSample, s_readerFetchWait, s_bootstrap, s_policy, s_linger, s_fetchWait, s_commitInterval, s_commitBatch,
        s_batchSize, s_compression, s_fetchMaxBytes, s_partitionFetchBytes]).Runs((a, ct) => Run(a, ct));

    public static int Run(CommandArgs args, CancellationToken ct)
    {
        double rate = args.Double(s_rate);
        double duration = args.Double(s_duration);
        double warmup = args.Double(s_warmup);
        int sweepSteps = args.GivenInt(s_sweep) ?? 0;
        bool sweep = sweepSteps > 0;
        double maxP99 = args.Double(s_maxP99);
        bool[] modes = args.Choice(s_transactions) is { } eosOnly ? [eosOnly] : [false, true];
        BenchSystem[] ceilings = args.Choice(s_ceiling);
        int partitions = args.Int(s_partitions);
        int? agencyPartitions = args.GivenInt(s_agencyPartitions);
        int sample = args.Int(s_sample);
        int readerFetchWait = args.Int(s_readerFetchWait);
        int ackSample = args.Int(s_ackSample);
        string? bootstrap = args.Get(s_bootstrap);
        string policyPath = args.Text(s_policy)!;
        var kafka = new Dictionary<string, string>();
        // A tuning option not given leaves the worker's (and the pipe's) own setting in force.
        foreach ((IntOption option, string setting) in (ReadOnlySpan<(IntOption, string)>)
            [(s_linger, "linger.ms"), (s_fetchWait, "fetch.wait.max.ms"), (s_batchSize, "batch.size"),
             (s_fetchMaxBytes, "fetch.max.bytes"), (s_partitionFetchBytes, "max.partition.fetch.bytes")])
        {
            if (args.GivenInt(option) is { } value) kafka[setting] = value.ToString(CultureInfo.InvariantCulture);
        }
        if (args.Get(s_compression) is { } codecWord)
        {
            kafka["compression.type"] = s_compression.TryParse(codecWord, out string codec)
                ? codec
                : throw new UsageException(s_compression.NotAChoice(codecWord));
        }
        int commitIntervalMs = args.Int(s_commitInterval);
        int commitBatch = args.Int(s_commitBatch);

        BenchStep.ResetNumbering();
        CompiledPolicy policy = Common.LoadPolicy(policyPath, TextWriter.Null);
        int perAgency = agencyPartitions ?? Math.Max(1, partitions / Math.Max(1, policy.Agencies.Count));
        byte[] auditKey = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "samples", "keys", "audit.key"));
        using MockCluster? cluster = bootstrap is null ? MockCluster.Start(brokers: 1, rebalanceDelayMs: 0) : null;
        var s = new BenchSettings
        {
            Bootstrap = bootstrap ?? cluster!.BootstrapServers, Embedded = cluster is not null, Cluster = cluster,
            Policy = policy, AuditKey = auditKey,
            Partitions = partitions, AgencyPartitions = perAgency, Sample = sample,
            ReaderFetchWaitMs = readerFetchWait, AckSample = ackSample,
            Warmup = warmup, Duration = duration, MaxP99Ms = maxP99,
            CommitInterval = TimeSpan.FromMilliseconds(commitIntervalMs), CommitBatch = commitBatch, Kafka = kafka,
            RunId = DateTime.UtcNow.ToString("HHmmss", CultureInfo.InvariantCulture)
                + Random.Shared.Next(0x1000).ToString("x3", CultureInfo.InvariantCulture),
        };
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"bench: {(cluster is null ? "cluster " + bootstrap : "embedded cluster " + cluster.BootstrapServers)}, " +
            $"{partitions} partitions per topic, {perAgency} per agency topic; " +
            $".NET {Environment.Version}, {Environment.ProcessorCount} cores; " +
            $"{warmup:0.#} s warm-up + {duration:0.#} s per step; " +
            $"commit every {commitIntervalMs} ms or {commitBatch:N0} events" +
            $"{(kafka.Count == 0 ? "" : "; " + string.Join(", ", kafka.Select(k => $"{k.Key}={k.Value}")))}"));
        Console.WriteLine("latency: intended send time → the read's ingest audit record received by a " +
            "read_committed consumer (µs)");

        var summary = new List<string>();
        foreach (bool eos in modes)
        {
            if (ct.IsCancellationRequested) break;
            string mode = eos ? "transactions on " : "transactions off";
            if (!sweep)
            {
                (BenchStepResult sg, BenchOutputProfile profile) =
                    BenchStep.Run(s, eos, rate, BenchSystem.StreamGuard, null, ct);
                summary.Add($"{mode}  {Name(BenchSystem.StreamGuard)} {BenchReport.Summary(sg)}");
                summary.Add($"{mode}  {Name(BenchSystem.StreamGuard)} Kafka per event: {sg.Volume.PerEvent()}");
                foreach (BenchSystem ceiling in ceilings)
                {
                    if (ct.IsCancellationRequested) break;
                    (BenchStepResult pipe, _) = BenchStep.Run(s, eos, rate, ceiling,
                        ceiling == BenchSystem.SameRecords ? profile : null, ct);
                    summary.Add($"{mode}  {Name(ceiling)} {BenchReport.Summary(pipe)}");
                    summary.Add(string.Create(CultureInfo.InvariantCulture,
                        $"{mode}  StreamGuard / {BenchStep.NameOf(ceiling)}: " +
                        $"throughput {sg.Throughput / pipe.Throughput:F2}{Target(eos, ceiling, sg, pipe)}; " +
                        $"p50 {BenchReport.Ratio(sg, pipe, 50)}, p99 {BenchReport.Ratio(sg, pipe, 99)}; " +
                        $"consumed → acknowledged p50 {BenchReport.Ratio(sg.Ack, pipe.Ack, 50)}, " +
                        $"p99 {BenchReport.Ratio(sg.Ack, pipe.Ack, 99)}; " +
                        $"Kafka messages per event {sg.OutputsPerEvent:F2} against {pipe.OutputsPerEvent:F2}"));
                }
                continue;
            }
            (double best, BenchOutputProfile? bestProfile) =
                BenchSweep.Run(s, eos, rate, sweepSteps, BenchSystem.StreamGuard, null, ct);
            summary.Add(string.Create(CultureInfo.InvariantCulture,
                $"{mode}  {Name(BenchSystem.StreamGuard)} sustainable maximum {best:N0} events/s"));
            foreach (BenchSystem ceiling in ceilings)
            {
                if (ct.IsCancellationRequested) break;
                // The same-records pipe needs what StreamGuard produced at a sustained rate.
                if (ceiling == BenchSystem.SameRecords && bestProfile is null) continue;
                (double pipeBest, _) = BenchSweep.Run(s, eos, Math.Max(rate, best), sweepSteps, ceiling,
                    ceiling == BenchSystem.SameRecords ? bestProfile : null, ct);
                summary.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{mode}  {Name(ceiling)} sustainable maximum {pipeBest:N0} events/s"));
                summary.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{mode}  StreamGuard / {BenchStep.NameOf(ceiling)} (sustainable maximum): " +
                    $"{(pipeBest > 0 ? (best / pipeBest).ToString("F2", CultureInfo.InvariantCulture) : "n/a")}"));
            }
        }
        Console.WriteLine("summary:");
        foreach (string line in summary) Console.WriteLine("  " + line);
        return 0;
    }

    /// <summary>A system's name padded to the summary's column.</summary>
    private static string Name(BenchSystem system) => BenchStep.NameOf(system).PadRight(17);

    /// <summary>
    /// The one-to-one ratio's target, stated where it applies: with transactions on, at saturation. When both kept
    /// up with the offered rate the ratio compares offered rates, not capacities, and the line says so.
    /// </summary>
    private static string Target(bool eos, BenchSystem ceiling, BenchStepResult sg, BenchStepResult pipe)
    {
        if (ceiling != BenchSystem.OneToOne) return "";
        if (sg.Sustained && pipe.Sustained) return " (both kept up with the offered rate: raise --rate to compare)";
        return eos ? " (target ≥ 0.80)" : "";
    }
}
