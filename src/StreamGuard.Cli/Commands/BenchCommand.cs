using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using StreamGuard.Cli.CommandLine;
using HdrHistogram;
using StreamGuard.Engine;
using StreamGuard.Kafka;
using StreamGuard.Kafka.Embedded;

namespace StreamGuard.Cli.Commands;

/// <summary>
/// <c>streamguard bench</c>: the worker end to end under an open-loop load at a fixed offered rate, latency from each
/// event's intended send time (HdrHistogram), a rate sweep for the sustainable maximum, and a pass-through pipe as the
/// ceiling; transactions off and on reported separately.
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

    private static readonly ChoiceOption<bool> s_ceiling = new("ceiling", "on|off",
        "run the pass-through pipe after StreamGuard", ("on", true), ("off", false))
    {
        Default = true,
    };

    private static readonly IntOption s_partitions = new("partitions", "P",
        "partitions per topic ({default}; the embedded broker keeps ≤ 5 MiB per partition)", 1, 1024)
    {
        Default = 32,
    };

    private static readonly IntOption s_sample = new("sample", "K",
        "time reads on every K-th audit partition ({default}; 1 = all)", 1, 1024)
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

    private static readonly IntOption s_batchSize = new("batch-size", "B", "producer batch.size in bytes", 1, int.MaxValue)
    {
        Shown = "librdkafka default 1000000",
    };

    private static readonly IntOption s_fetchMaxBytes = new("fetch-max-bytes", "B",
        "consumer fetch.max.bytes, per fetch request", 1, 2_147_483_135)
    {
        Shown = "librdkafka default 52428800",
    };

    private static readonly IntOption s_partitionFetchBytes = new("partition-fetch-bytes", "B", """
        consumer max.partition.fetch.bytes, per partition and fetch
        ({default})
        """, 1, 1_000_000_000)
    {
        Shown = "librdkafka default 1048576",
    };

    public static readonly CommandHelp Help = new("""
        streamguard bench [--rate R] [--duration S] [--warmup S] [--sweep N] [--transactions off|on|both]
                          [--ceiling on|off] [--partitions P] [--bootstrap B] [tuning options]

        Measures the worker end to end on the embedded Kafka-protocol cluster (or on the cluster at --bootstrap):
        one step = fresh topics, a worker (or the pass-through pipe), and an open-loop producer offering synthetic
        events (plate reads and 2.5% signed queries over the policy, 1% malformed) at a fixed rate: event i is
        due at start + i/R and is sent at that time whatever happened to the events before it, so a stall is
        charged to every event it delays (no coordinated omission). Events are generated before the step starts.

        Latency, precisely: from the event's intended send time to the moment the bench's reader — a
        read_committed consumer on the audit topic (--reader-fetch-wait), in the same process — receives the
        read's `ingest` audit record, the first output the engine produces for a read (its push deliveries and
        their audit records are handed to the producer in the same step, microseconds later). It includes the
        producer's linger, the worker's fetch wait, decision, the worker's linger and the reader's fetch. Reads
        only (queries and malformed events are processed but not timed); the reader reads every K-th
        audit partition (--sample K; a uniform sample: plates are random); warm-up events are not recorded.
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

        Ceiling: the pass-through pipe, a Confluent.Kafka consume–produce loop configured as the worker, with
        no processing, producing the same number of records per output topic and the same mean sizes that
        StreamGuard produced in the same run (measured in its step with the same rate and mode). Each result is
        stated as a fraction of the pipe's.
        """, new OptionGroup("Options:",
            s_rate, s_duration, s_warmup, s_sweep, s_maxP99, s_transactions, s_ceiling, s_partitions, s_sample,
            s_ackSample, s_readerFetchWait, s_bootstrap, s_policy),
        new OptionGroup("Tuning options (worker and pipe alike; defaults are the worker's):",
            s_linger, s_fetchWait, s_commitInterval, s_commitBatch, s_batchSize, s_fetchMaxBytes, s_partitionFetchBytes));

    private sealed record Settings
    {
        public required string Bootstrap { get; init; }
        public bool Embedded { get; init; }
        public MockCluster? Cluster { get; init; }
        public required CompiledPolicy Policy { get; init; }
        public required byte[] AuditKey { get; init; }
        public int Partitions { get; init; }
        public int Sample { get; init; }
        public int ReaderFetchWaitMs { get; init; }
        public int AckSample { get; init; }
        public double Warmup { get; init; }
        public double Duration { get; init; }
        public double MaxP99Ms { get; init; }
        public TimeSpan CommitInterval { get; init; }
        public int CommitBatch { get; init; }
        public required Dictionary<string, string> Kafka { get; init; }
        public required string RunId { get; init; }
    }

    private sealed record StepResult(string System, bool ExactlyOnce, double Rate, double Throughput, LongHistogram Latency, LongHistogram SendLateness,
        int Timed, int Seen, double BytesPerEvent, int Gen0, int Gen1, int Gen2, double OutputsPerEvent, bool Sustained, LongHistogram Ack);

    private static int s_step;

    public static int Run(CliArgs args, CancellationToken ct)
    {
        double rate = args.Double(s_rate);
        double duration = args.Double(s_duration);
        double warmup = args.Double(s_warmup);
        int sweepSteps = args.GivenInt(s_sweep) ?? 0;
        bool sweep = sweepSteps > 0;
        double maxP99 = args.Double(s_maxP99);
        bool[] modes = args.Choice(s_transactions) is { } eosOnly ? [eosOnly] : [false, true];
        bool ceiling = args.Choice(s_ceiling);
        int partitions = args.Int(s_partitions);
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
        int commitIntervalMs = args.Int(s_commitInterval);
        int commitBatch = args.Int(s_commitBatch);
        args.RejectUnknown();

        s_step = 0;
        CompiledPolicy policy = Common.LoadPolicy(policyPath, TextWriter.Null);
        byte[] auditKey = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "samples", "keys", "audit.key"));
        using MockCluster? cluster = bootstrap is null ? MockCluster.Start(brokers: 1, rebalanceDelayMs: 0) : null;
        var s = new Settings
        {
            Bootstrap = bootstrap ?? cluster!.BootstrapServers, Embedded = cluster is not null, Cluster = cluster, Policy = policy, AuditKey = auditKey,
            Partitions = partitions, Sample = sample, ReaderFetchWaitMs = readerFetchWait, AckSample = ackSample, Warmup = warmup, Duration = duration, MaxP99Ms = maxP99,
            CommitInterval = TimeSpan.FromMilliseconds(commitIntervalMs), CommitBatch = commitBatch, Kafka = kafka,
            RunId = DateTime.UtcNow.ToString("HHmmss", CultureInfo.InvariantCulture) + Random.Shared.Next(0x1000).ToString("x3", CultureInfo.InvariantCulture),
        };
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"bench: {(cluster is null ? "cluster " + bootstrap : "embedded cluster " + cluster.BootstrapServers)}, {partitions} partitions per topic; " +
            $".NET {Environment.Version}, {Environment.ProcessorCount} cores; {warmup:0.#} s warm-up + {duration:0.#} s per step; " +
            $"commit every {commitIntervalMs} ms or {commitBatch:N0} events{(kafka.Count == 0 ? "" : "; " + string.Join(", ", kafka.Select(k => $"{k.Key}={k.Value}")))}"));
        Console.WriteLine("latency: intended send time → the read's ingest audit record received by a read_committed consumer (µs)");

        var summary = new List<string>();
        foreach (bool eos in modes)
        {
            if (ct.IsCancellationRequested) break;
            string mode = eos ? "transactions on " : "transactions off";
            if (!sweep)
            {
                (StepResult sg, BenchOutputProfile profile) = Step(s, eos, rate, null, ct);
                summary.Add($"{mode}  StreamGuard       {Summary(sg)}");
                if (ceiling && !ct.IsCancellationRequested)
                {
                    (StepResult pipe, _) = Step(s, eos, rate, profile, ct);
                    summary.Add($"{mode}  pass-through pipe {Summary(pipe)}");
                    summary.Add(string.Create(CultureInfo.InvariantCulture,
                        $"{mode}  StreamGuard / pipe: throughput {sg.Throughput / pipe.Throughput:F2}, p50 {Ratio(sg, pipe, 50)}, p99 {Ratio(sg, pipe, 99)}; " +
                        $"consumed → acknowledged p50 {Ratio(sg.Ack, pipe.Ack, 50)}, p99 {Ratio(sg.Ack, pipe.Ack, 99)}"));
                }
                continue;
            }
            (double best, BenchOutputProfile? bestProfile) = Sweep(s, eos, rate, sweepSteps, null, ct);
            summary.Add(string.Create(CultureInfo.InvariantCulture, $"{mode}  StreamGuard       sustainable maximum {best:N0} events/s"));
            if (ceiling && bestProfile is not null && !ct.IsCancellationRequested)
            {
                (double pipeBest, _) = Sweep(s, eos, Math.Max(rate, best), sweepSteps, bestProfile, ct);
                summary.Add(string.Create(CultureInfo.InvariantCulture, $"{mode}  pass-through pipe sustainable maximum {pipeBest:N0} events/s"));
                summary.Add(string.Create(CultureInfo.InvariantCulture, $"{mode}  StreamGuard / pipe (sustainable maximum): {best / pipeBest:F2}"));
            }
        }
        Console.WriteLine("summary:");
        foreach (string line in summary) Console.WriteLine("  " + line);
        return 0;
    }

    private static string Ratio(StepResult a, StepResult b, double percentile) => Ratio(a.Latency, b.Latency, percentile);

    private static string Ratio(LongHistogram a, LongHistogram b, double percentile) => a.TotalCount == 0 || b.TotalCount == 0 ? "n/a" :
        string.Create(CultureInfo.InvariantCulture, $"{(double)a.GetValueAtPercentile(percentile) / Math.Max(1, b.GetValueAtPercentile(percentile)):F2}");

    /// <summary>×1.5 while sustained, then bisection between the last sustained and the first failed rate.</summary>
    private static (double Best, BenchOutputProfile? Profile) Sweep(Settings s, bool eos, double start, int steps, BenchOutputProfile? pipeProfile, CancellationToken ct)
    {
        double good = 0, bad = double.PositiveInfinity, rate = start;
        BenchOutputProfile? profile = null;
        for (int i = 0; i < steps && !ct.IsCancellationRequested; i++)
        {
            (StepResult r, BenchOutputProfile p) = Step(s, eos, rate, pipeProfile, ct);
            if (r.Sustained)
            {
                good = rate;
                profile = p;
            }
            else
            {
                bad = rate;
            }
            if (!double.IsPositiveInfinity(bad) && (bad - good) / bad < 0.1) break;
            rate = double.IsPositiveInfinity(bad) ? rate * 1.5 : good == 0 ? bad / 2 : (good + bad) / 2;
            rate = Math.Round(rate / 100) * 100 is var rounded && rounded > 0 ? rounded : rate;
        }
        return (good, profile);
    }

    /// <summary>One measured step: fresh topics, the system (StreamGuard, or the pipe when <paramref name="pipeProfile"/> is set), reader and load.</summary>
    private static (StepResult Result, BenchOutputProfile Profile) Step(Settings s, bool eos, double rate, BenchOutputProfile? pipeProfile, CancellationToken ct)
    {
        int n = Interlocked.Increment(ref s_step);
        string system = pipeProfile is null ? "StreamGuard" : "pipe";
        var topics = new TopicNames().WithPrefix($"bench{s.RunId}.{n}.");
        CreateTopics(s, topics);
        try
        {
            int warm = (int)(rate * s.Warmup);
            int count = warm + Math.Max(1, (int)(rate * s.Duration));
            BenchLoad load = BenchLoad.Generate(s.Policy, rate, count, s.Partitions, seed: n);
            int timed = 0;
            for (int i = warm; i < count; i++)
            {
                if (load.ChainPartition[i] >= 0 && load.ChainPartition[i] % s.Sample == 0) timed++;
            }

            var options = new WorkerOptions
            {
                BootstrapServers = s.Bootstrap, GroupId = $"bench{s.RunId}.{n}", Topics = topics,
                Processing = eos ? ProcessingMode.ExactlyOnce : ProcessingMode.AtLeastOnce,
                TransactionalId = $"bench{s.RunId}.{n}", CommitInterval = s.CommitInterval, CommitBatch = s.CommitBatch, Kafka = s.Kafka,
                AckLatencySampleEvery = s.AckSample,
            };
            var profile = new BenchOutputProfile();
            StreamGuardWorker? worker = null;
            PassThroughPipe? pipe = null;
            Func<long> processed;
            Task assigned;
            Action<CancellationToken> run;
            if (pipeProfile is null)
            {
                worker = new StreamGuardWorker(options, sink => new StreamGuardEngine(s.Policy, profile.Counting(sink), s.AuditKey));
                processed = () => worker.Processed;
                assigned = worker.Assigned;
                run = worker.Run;
            }
            else
            {
                pipe = new PassThroughPipe(pipeProfile, topics, s.AckSample);
                processed = () => pipe.Processed;
                assigned = pipe.Assigned;
                run = token => pipe.Run(options, s.Embedded, token);
            }

            using var stopSystem = CancellationTokenSource.CreateLinkedTokenSource(ct);
            using var stopReader = new CancellationTokenSource();
            Exception? failure = null;
            var systemThread = new Thread(() => { try { run(stopSystem.Token); } catch (Exception e) { failure = e; } }) { IsBackground = true, Name = "bench-system" };
            systemThread.Start();
            if (!assigned.Wait(TimeSpan.FromSeconds(60))) throw new InvalidOperationException($"{system} did not join its group: {failure?.Message}");

            var reader = new BenchReader(load, auditFormat: pipeProfile is null, firstTimed: warm);
            int[] sampled = Enumerable.Range(0, s.Partitions).Where(p => p % s.Sample == 0).ToArray();
            Exception? readerFailure = null;
            var readerThread = new Thread(() => { try { reader.Run(s.Bootstrap, topics.Audit, sampled, s.ReaderFetchWaitMs, stopReader.Token); } catch (Exception e) { readerFailure = e; } })
            { IsBackground = true, Name = "bench-reader" };
            readerThread.Start();

            var producer = new OpenLoopProducer(load, s.Bootstrap, topics) { FirstTimed = warm };
            Snapshot a, b;
            long start = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 2; // half a second to connect
            reader.StartTicks = start;
            var producerThread = new Thread(() => producer.Run(start, stopSystem.Token)) { IsBackground = true, Name = "bench-load" };
            producerThread.Start();

            // Throughput and allocation over the measured window (the last event's due time ends it); latency for
            // its events, waiting for the last of them to be seen (at most max(5 s, duration/2) after the window).
            long windowEnd = start + load.DueTicks(count - 1);
            // Progress of the step on a terminal (events processed against the step's events; quiet when redirected).
            using (Progress progress = Progress.OnConsole("events"))
            {
                long done = processed();
                SleepUntil(start + load.DueTicks(warm), ct, () => progress.Update(processed() - done, count));
                a = Snapshot.Take(producer, reader, processed());
                worker?.AckLatencyMicros.Reset(); // from here on: the measured window's events and the few in flight at its start
                worker?.CommitLatencyMicros.Reset();
                pipe?.AckLatencyMicros.Reset();
                SleepUntil(windowEnd, ct, () => progress.Update(processed() - done, count));
                b = Snapshot.Take(producer, reader, processed());
            }
            long deadline = windowEnd + (long)(Math.Max(5, s.Duration / 2) * Stopwatch.Frequency);
            while (reader.TimedSeen < timed && Stopwatch.GetTimestamp() < deadline && failure is null && readerFailure is null && !ct.IsCancellationRequested) Thread.Sleep(5);

            stopSystem.Cancel();
            producerThread.Join(TimeSpan.FromSeconds(60));
            systemThread.Join(TimeSpan.FromSeconds(60));
            stopReader.Cancel();
            readerThread.Join(TimeSpan.FromSeconds(30));
            if (failure is not null) throw new InvalidOperationException($"{system} failed: {failure.Message}", failure);
            if (readerFailure is not null) throw new InvalidOperationException($"the bench reader failed: {readerFailure.Message}", readerFailure);
            if (producer.Failure is not null) throw new InvalidOperationException($"the bench producer failed: {producer.Failure.Message}", producer.Failure);

            double seconds = (double)(b.Ticks - a.Ticks) / Stopwatch.Frequency;
            long events = b.Processed - a.Processed;
            double throughput = events / seconds;
            long allocated = b.Total - a.Total - (b.Producer - a.Producer) - (b.Reader - a.Reader) - (b.Main - a.Main);
            int seen = reader.TimedSeen;
            LongHistogram latency = reader.Latency;
            bool sustained = seen == timed && throughput >= 0.95 * rate && latency.TotalCount > 0 &&
                latency.GetValueAtPercentile(99) <= s.MaxP99Ms * 1_000;
            profile.Inputs = worker?.Processed ?? 0;
            double outputs = pipeProfile is null ? (double)profile.TotalRecords / Math.Max(1, profile.Inputs) : pipeProfile.TotalRecords / (double)Math.Max(1, pipeProfile.Inputs);
            var result = new StepResult(system, eos, rate, throughput, latency, producer.Lateness, timed, seen, events == 0 ? 0 : (double)allocated / events,
                b.Gen0 - a.Gen0, b.Gen1 - a.Gen1, b.Gen2 - a.Gen2, outputs, sustained,
                (worker?.AckLatencyMicros ?? pipe!.AckLatencyMicros).Snapshot());

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  step {n,2} {(eos ? "transactions on " : "transactions off")} {system,-11} offered {rate,9:N0}/s: {Summary(result)}"));
            if (pipe is not null)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"          in-pipe ms, every {s.AckSample} input(s), after warm-up: consumed → outputs acknowledged {Percentiles(result.Ack, 1000)} ({pipe.AckLatencyMicros.Skipped:N0} skipped)"));
            }
            if (worker is not null)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"          outputs per event {outputs:F2} ({string.Join(", ", Enumerable.Range(0, BenchOutputProfile.Kinds).Where(k => profile.Records[k] > 0).Select(k => $"{BenchOutputProfile.KindNames[k]} {profile.PerInput(k):F2} × {profile.MeanValue(k)} B"))}); " +
                    $"{worker.Commits:N0} commits; in-worker decision µs (consumed → outputs handed to the producer, whole step) {Percentiles(worker.DecisionLatencyMicros, 1)}"));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"          in-worker ms, every {s.AckSample} event(s) with outputs, after warm-up: consumed → outputs acknowledged {Percentiles(result.Ack, 1000)} " +
                    $"({worker.AckLatencyMicros.TotalCount:N0} timed, {worker.AckLatencyMicros.Skipped:N0} skipped); consumed → committed {Percentiles(worker.CommitLatencyMicros.Snapshot(), 1000)}"));
            }
            return (result, profile);
        }
        finally
        {
            DeleteTopics(s, topics);
        }
    }

    private static string Summary(StepResult r) => string.Create(CultureInfo.InvariantCulture,
        $"{r.Throughput,9:N0} events/s; ms {Percentiles(r.Latency, 1000)}; {r.Seen:N0}/{r.Timed:N0} timed; sender late ms p50 {r.SendLateness.GetValueAtPercentile(50) / 1000.0:0.###} p99 {r.SendLateness.GetValueAtPercentile(99) / 1000.0:0.###}; {r.BytesPerEvent:N0} B/event (gen0/1/2 {r.Gen0}/{r.Gen1}/{r.Gen2}){(r.Sustained ? "" : "; NOT sustained")}");

    private static string Percentiles(LongHistogram h, double unit) => h.TotalCount == 0 ? "no samples" : string.Create(CultureInfo.InvariantCulture,
        $"p50 {h.GetValueAtPercentile(50) / unit:0.###} p90 {h.GetValueAtPercentile(90) / unit:0.###} p99 {h.GetValueAtPercentile(99) / unit:0.###} p99.9 {h.GetValueAtPercentile(99.9) / unit:0.###} max {h.GetMaxValue() / unit:0.###}");

    private static void SleepUntil(long ticks, CancellationToken ct, Action? tick = null)
    {
        while (!ct.IsCancellationRequested)
        {
            long left = ticks - Stopwatch.GetTimestamp();
            if (left <= 0) return;
            tick?.Invoke();
            Thread.Sleep((int)Math.Clamp(left * 1000 / Stopwatch.Frequency, 1, 50));
        }
    }

    private static void CreateTopics(Settings s, TopicNames topics)
    {
        if (s.Cluster is not null)
        {
            foreach (string t in topics.All) s.Cluster.CreateTopic(t, s.Partitions);
            return;
        }
        using IAdminClient admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = s.Bootstrap }).Build();
        admin.CreateTopicsAsync(topics.All.Select(t => new TopicSpecification { Name = t, NumPartitions = s.Partitions, ReplicationFactor = -1 }))
            .GetAwaiter().GetResult();
    }

    private static void DeleteTopics(Settings s, TopicNames topics)
    {
        if (s.Cluster is not null) return; // the embedded cluster goes away with the process
        try
        {
            using IAdminClient admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = s.Bootstrap }).Build();
            admin.DeleteTopicsAsync(topics.All).GetAwaiter().GetResult();
        }
        catch (KafkaException e)
        {
            Console.Error.WriteLine($"bench: could not delete the step's topics ({e.Message})");
        }
    }

    private readonly record struct Snapshot(long Ticks, long Total, long Producer, long Reader, long Main, long Processed, int Gen0, int Gen1, int Gen2)
    {
        public static Snapshot Take(OpenLoopProducer producer, BenchReader reader, long processed) => new(
            Stopwatch.GetTimestamp(), GC.GetTotalAllocatedBytes(precise: true), producer.Allocated, reader.Allocated,
            GC.GetAllocatedBytesForCurrentThread(), processed, GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
    }

    /// <summary>Sends event i at start + i/rate (sleeping in 1 ms steps between due times; late events go at once, never skipped).</summary>
    private sealed class OpenLoopProducer(BenchLoad load, string bootstrap, TopicNames topics)
    {
        private long _allocated;

        public long Allocated => Volatile.Read(ref _allocated);

        /// <summary>Events from here on are timed: their send lateness is recorded.</summary>
        public int FirstTimed { get; init; }

        /// <summary>Microseconds from each timed event's intended send time to its Produce call returning: how late the
        /// load generator itself was (on an oversubscribed machine its thread wakes late), part of every latency.</summary>
        public LongHistogram Lateness { get; } = new(1, 600_000_000, 3);

        public Exception? Failure { get; private set; }

        public void Run(long start, CancellationToken ct)
        {
            try
            {
                using IProducer<byte[]?, byte[]> producer = new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig
                {
                    // Kafka's default partitioner (the Java client's): records land on their plate's partition.
                    Partitioner = Partitioner.Murmur2Random, BootstrapServers = bootstrap, LingerMs = 1, Acks = Acks.All,
                    ClientId = "bench-load", EnableDeliveryReports = false,
                }).Build();
                int i = 0;
                while (i < load.Count && !ct.IsCancellationRequested)
                {
                    long now = Stopwatch.GetTimestamp();
                    while (i < load.Count && start + load.DueTicks(i) <= now)
                    {
                        Produce(producer, load.IsQuery[i] ? topics.Queries : topics.Reads, load.Messages[i]);
                        if (i >= FirstTimed) Lateness.RecordValue(Math.Max(1, (Stopwatch.GetTimestamp() - start - load.DueTicks(i)) * 1_000_000 / Stopwatch.Frequency));
                        i++;
                    }
                    Volatile.Write(ref _allocated, GC.GetAllocatedBytesForCurrentThread());
                    if (i < load.Count && start + load.DueTicks(i) > Stopwatch.GetTimestamp()) Thread.Sleep(1);
                }
                producer.Flush(TimeSpan.FromSeconds(30));
                Volatile.Write(ref _allocated, GC.GetAllocatedBytesForCurrentThread());
            }
            catch (Exception e)
            {
                Failure = e;
            }
        }

        private static void Produce(IProducer<byte[]?, byte[]> producer, string topic, Message<byte[]?, byte[]> message)
        {
            while (true)
            {
                try
                {
                    producer.Produce(topic, message);
                    return;
                }
                catch (ProduceException<byte[]?, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(1));
                }
            }
        }
    }
}
