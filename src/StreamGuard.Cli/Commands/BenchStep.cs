using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using HdrHistogram;
using StreamGuard.Engine;
using StreamGuard.Kafka;

namespace StreamGuard.Cli.Commands;

/// <summary>What one step of <c>streamguard bench</c> measures: StreamGuard or one of its two ceilings.</summary>
internal enum BenchSystem
{
    StreamGuard,

    /// <summary>The one-to-one pass-through pipe (<see cref="PassThroughPipe.OneToOne"/>).</summary>
    OneToOne,

    /// <summary>The pipe that produces StreamGuard's records (<see cref="PassThroughPipe.SameRecords"/>).</summary>
    SameRecords,
}

/// <summary>What one measured step of <c>streamguard bench</c> found.</summary>
internal sealed record BenchStepResult(string System, bool ExactlyOnce, double Rate, double Throughput,
    LongHistogram Latency, LongHistogram SendLateness, int Timed, int Seen, double BytesPerEvent, int Gen0, int Gen1,
    int Gen2, double OutputsPerEvent, bool Sustained, LongHistogram Ack, BenchVolume Volume);

/// <summary>
/// One measured step of <c>streamguard bench</c>: fresh topics, the system under test (StreamGuard's worker or one of
/// the pass-through pipes) on a thread of its own, the bench reader timing the first output of each read, the
/// open-loop load, and the throughput, latency and allocation of the measured window.
/// </summary>
internal static class BenchStep
{
    private static int s_step;

    /// <summary>Numbers the steps of a run from 1 again (topic and group names carry the number).</summary>
    public static void ResetNumbering() => s_step = 0;

    /// <summary>The name a step line and the summary give the system.</summary>
    public static string NameOf(BenchSystem system) => system switch
    {
        BenchSystem.StreamGuard => "StreamGuard",
        BenchSystem.OneToOne => "one-to-one pipe",
        _ => "same-records pipe",
    };

    /// <summary>
    /// One measured step: fresh topics, the system, reader and load. <paramref name="pipeProfile"/>: what the
    /// same-records pipe produces (StreamGuard's step's outputs); for it only.
    /// </summary>
    public static (BenchStepResult Result, BenchOutputProfile Profile) Run(BenchSettings s, bool eos, double rate,
        BenchSystem systemKind, BenchOutputProfile? pipeProfile, CancellationToken ct)
    {
        if ((systemKind == BenchSystem.SameRecords) != (pipeProfile is not null))
        {
            throw new ArgumentException("the same-records pipe, and it only, takes StreamGuard's output profile");
        }
        int n = Interlocked.Increment(ref s_step);
        string system = NameOf(systemKind);
        var topics = new TopicNames().WithPrefix($"bench{s.RunId}.{n}.");
        // The pass-through pipes write one topic per kind (named as the kind); the worker its agencies' topics, made
        // here with --agency-partitions each (by default the step's partitions spread over the agencies), so that
        // both systems write to about as many partitions per kind.
        string[] stepTopics = [.. topics.All, .. TopicNames.Kinds.Select(topics.KindName)];
        string[] agencyTopics = [.. s.Policy.Document.Agencies.SelectMany(a => topics.OfAgency(a.Id))];
        CreateTopics(s, stepTopics, s.Partitions);
        CreateTopics(s, agencyTopics, s.AgencyPartitions);
        stepTopics = [.. stepTopics, .. agencyTopics];
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
                TransactionalId = $"bench{s.RunId}.{n}", CommitInterval = s.CommitInterval, CommitBatch = s.CommitBatch,
                Kafka = s.Kafka,
                AckLatencySampleEvery = s.AckSample,
            };
            var profile = new BenchOutputProfile();
            StreamGuardWorker? worker = null;
            PassThroughPipe? pipe = null;
            Func<long> processed;
            Task assigned;
            Action<CancellationToken> run;
            string readerTopic = topics.Audit;
            if (systemKind == BenchSystem.StreamGuard)
            {
                worker = new StreamGuardWorker(options,
                    sink => new StreamGuardEngine(s.Policy, profile.Counting(sink), s.AuditKey));
                processed = () => worker.Processed;
                assigned = worker.Assigned;
                run = worker.Run;
            }
            else
            {
                pipe = pipeProfile is null
                    ? PassThroughPipe.OneToOne(topics, s.AckSample)
                    : PassThroughPipe.SameRecords(pipeProfile, topics, s.AckSample);
                readerTopic = pipe.ReaderTopic;
                processed = () => pipe.Processed;
                assigned = pipe.Assigned;
                run = token => pipe.Run(options, s.Embedded, token);
            }

            using var stopSystem = CancellationTokenSource.CreateLinkedTokenSource(ct);
            using var stopReader = new CancellationTokenSource();
            Exception? failure = null;
            var systemThread = new Thread(() =>
            {
                try { run(stopSystem.Token); }
                catch (Exception e) { failure = e; }
            }) { IsBackground = true, Name = "bench-system" };
            systemThread.Start();
            if (!assigned.Wait(TimeSpan.FromSeconds(60)))
            {
                throw new InvalidOperationException($"{system} did not join its group: {failure?.Message}");
            }

            var reader = new BenchReader(load, auditFormat: worker is not null, firstTimed: warm);
            int[] sampled = Enumerable.Range(0, s.Partitions).Where(p => p % s.Sample == 0).ToArray();
            Exception? readerFailure = null;
            var readerThread = new Thread(() =>
            {
                try { reader.Run(s.Bootstrap, readerTopic, sampled, s.ReaderFetchWaitMs, stopReader.Token); }
                catch (Exception e) { readerFailure = e; }
            }) { IsBackground = true, Name = "bench-reader" };
            readerThread.Start();

            var producer = new OpenLoopProducer(load, s.Bootstrap, topics) { FirstTimed = warm };
            Snapshot a, b;
            long start = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 2; // half a second to connect
            reader.StartTicks = start;
            var producerThread = new Thread(() => producer.Run(start, stopSystem.Token))
            {
                IsBackground = true, Name = "bench-load",
            };
            producerThread.Start();

            // Throughput and allocation over the measured window (the last event's due time ends it); latency for
            // its events, waiting for the last of them to be seen (at most max(5 s, duration/2) after the window).
            long windowEnd = start + load.DueTicks(count - 1);
            // Progress of the step on a terminal (events processed against the step's events; quiet when
            // redirected).
            using (Progress progress = Progress.OnConsole("events"))
            {
                long done = processed();
                SleepUntil(start + load.DueTicks(warm), ct, () => progress.Update(processed() - done, count));
                a = Snapshot.Take(producer, reader, processed());
                // From here on: the measured window's events and the few in flight at its start.
                worker?.AckLatencyMicros.Reset();
                worker?.CommitLatencyMicros.Reset();
                pipe?.AckLatencyMicros.Reset();
                SleepUntil(windowEnd, ct, () => progress.Update(processed() - done, count));
                b = Snapshot.Take(producer, reader, processed());
            }
            long deadline = windowEnd + (long)(Math.Max(5, s.Duration / 2) * Stopwatch.Frequency);
            while (reader.TimedSeen < timed && Stopwatch.GetTimestamp() < deadline && failure is null
                && readerFailure is null && !ct.IsCancellationRequested)
            {
                Thread.Sleep(5);
            }

            stopSystem.Cancel();
            producerThread.Join(TimeSpan.FromSeconds(60));
            systemThread.Join(TimeSpan.FromSeconds(60));
            stopReader.Cancel();
            readerThread.Join(TimeSpan.FromSeconds(30));
            if (failure is not null)
            {
                throw new InvalidOperationException($"{system} failed: {failure.Message}", failure);
            }
            if (readerFailure is not null)
            {
                throw new InvalidOperationException($"the bench reader failed: {readerFailure.Message}", readerFailure);
            }
            if (producer.Failure is not null)
            {
                throw new InvalidOperationException($"the bench producer failed: {producer.Failure.Message}",
                    producer.Failure);
            }

            double seconds = (double)(b.Ticks - a.Ticks) / Stopwatch.Frequency;
            long events = b.Processed - a.Processed;
            double throughput = events / seconds;
            long allocated = b.Total - a.Total - (b.Producer - a.Producer) - (b.Reader - a.Reader) - (b.Main - a.Main);
            int seen = reader.TimedSeen;
            LongHistogram latency = reader.Latency;
            bool sustained = seen == timed && throughput >= 0.95 * rate && latency.TotalCount > 0 &&
                latency.GetValueAtPercentile(99) <= s.MaxP99Ms * 1_000;
            profile.Inputs = worker?.Processed ?? 0;
            // Whole step (warm-up included) on both sides of the ratio: what was produced per event consumed.
            BenchVolume volume = worker is not null
                ? BenchVolume.Of(worker.Sink!, topics, worker.Processed)
                : pipe!.Volume;
            double outputs = (double)volume.TotalMessages / Math.Max(1, volume.Inputs);
            var result = new BenchStepResult(system, eos, rate, throughput, latency, producer.Lateness, timed, seen,
                events == 0 ? 0 : (double)allocated / events,
                b.Gen0 - a.Gen0, b.Gen1 - a.Gen1, b.Gen2 - a.Gen2, outputs, sustained,
                (worker?.AckLatencyMicros ?? pipe!.AckLatencyMicros).Snapshot(), volume);

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  step {n,2} {(eos ? "transactions on " : "transactions off")} {system,-17} " +
                $"offered {rate,9:N0}/s: {BenchReport.Summary(result)}"));
            if (pipe is not null)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"          in-pipe ms, every {s.AckSample} input(s), after warm-up: " +
                    $"consumed → outputs acknowledged {BenchReport.Percentiles(result.Ack, 1000)} " +
                    $"({pipe.AckLatencyMicros.Skipped:N0} skipped)"));
            }
            Console.WriteLine($"          Kafka per event (key + value bytes): {volume.PerEvent()}");
            if (worker is not null)
            {
                string kinds = string.Join(", ", Enumerable.Range(0, BenchOutputProfile.Kinds)
                    .Where(k => profile.Records[k] > 0)
                    .Select(k =>
                        $"{BenchOutputProfile.KindNames[k]} {profile.PerInput(k):F2} × {profile.MeanValue(k)} B"));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"          outputs per event {outputs:F2} ({kinds}); {worker.Commits:N0} commits; " +
                    $"in-worker decision µs (consumed → outputs handed to the producer, whole step) " +
                    $"{BenchReport.Percentiles(worker.DecisionLatencyMicros, 1)}"));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"          in-worker ms, every {s.AckSample} event(s) with outputs, after warm-up: " +
                    $"consumed → outputs acknowledged {BenchReport.Percentiles(result.Ack, 1000)} " +
                    $"({worker.AckLatencyMicros.TotalCount:N0} timed, {worker.AckLatencyMicros.Skipped:N0} skipped); " +
                    $"consumed → committed {BenchReport.Percentiles(worker.CommitLatencyMicros.Snapshot(), 1000)}"));
            }
            return (result, profile);
        }
        finally
        {
            DeleteTopics(s, stepTopics);
        }
    }

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

    private static void CreateTopics(BenchSettings s, string[] topics, int partitions)
    {
        if (s.Cluster is not null)
        {
            foreach (string t in topics) s.Cluster.CreateTopic(t, partitions);
            return;
        }
        using IAdminClient admin =
            new AdminClientBuilder(new AdminClientConfig { BootstrapServers = s.Bootstrap }).Build();
        admin.CreateTopicsAsync(topics.Select(t =>
                new TopicSpecification { Name = t, NumPartitions = partitions, ReplicationFactor = -1 }))
            .GetAwaiter().GetResult();
    }

    private static void DeleteTopics(BenchSettings s, string[] topics)
    {
        if (s.Cluster is not null) return; // the embedded cluster goes away with the process
        try
        {
            using IAdminClient admin =
                new AdminClientBuilder(new AdminClientConfig { BootstrapServers = s.Bootstrap }).Build();
            admin.DeleteTopicsAsync(topics).GetAwaiter().GetResult();
        }
        catch (KafkaException e)
        {
            Console.Error.WriteLine($"bench: could not delete the step's topics ({e.Message})");
        }
    }

    private readonly record struct Snapshot(long Ticks, long Total, long Producer, long Reader, long Main,
        long Processed, int Gen0, int Gen1, int Gen2)
    {
        public static Snapshot Take(OpenLoopProducer producer, BenchReader reader, long processed) => new(
            Stopwatch.GetTimestamp(), GC.GetTotalAllocatedBytes(precise: true), producer.Allocated, reader.Allocated,
            GC.GetAllocatedBytesForCurrentThread(), processed, GC.CollectionCount(0), GC.CollectionCount(1),
            GC.CollectionCount(2));
    }
}
