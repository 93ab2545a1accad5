using Confluent.Kafka;
using StreamGuard.Engine;
using StreamGuard.Kafka;
using StreamGuard.Kafka.Embedded;
using StreamGuard.Tests.Support;
using Xunit.Abstractions;

namespace StreamGuard.Tests.Integration;

/// <summary>
/// Faults injected through the embedded cluster while a supervised worker (restarted on failure, as a process
/// supervisor would) processes traffic: brokers down and back, partition leaders moving, request errors on Produce,
/// Fetch, OffsetCommit and the transaction requests, long round trips. Afterwards the worker's outputs — results, push
/// deliveries, alerts, purges, dead letters and audit decisions — are compared with the engine offline over the same
/// input (what <c>streamguard replay</c> runs).
/// </summary>
/// <remarks>
/// <para>What "nothing lost, nothing duplicated" means here. Nothing lost: every record the replay writes, the worker
/// wrote (after normalization, see <see cref="ReplayComparison"/>). Nothing duplicated: when no worker stopped (the
/// fault was ridden out inside librdkafka's retries), every record appears exactly as often as in the replay — the
/// idempotent producer must not turn a retried Produce into a second record, on the mock as on a real broker. When a
/// worker stopped and a new one took over, its aborted transaction's records stay visible on librdkafka's mock (it
/// shows aborted records to read_committed readers, and it stores no transactional offsets so the worker commits them
/// after the transaction): there the comparison is of sets (nothing missing, nothing the replay did not write) and the
/// repeats are counted in the output. At least once, the comparison is always of sets: what was not committed when the
/// group took the worker's partitions away is decided again, with or without a restart (the repeats are counted in the
/// output too). On a real broker (STREAMGUARD_KAFKA_BOOTSTRAP) no fault is injected.</para>
/// <para>Each scenario runs once per processing mode, in two groups (<see cref="BrokerFaults"/>,
/// <see cref="RequestErrors"/>) of a class each, so four classes run side by side. The transaction scenarios matter
/// to an at-least-once worker too: its idempotent producer asks for a producer id, and errors on requests it never
/// sends must leave it untouched.</para>
/// </remarks>
public abstract class FaultInjectionTests(ProcessingMode mode, ITestOutputHelper output)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(90);
    private const int Plates = 30;

    /// <summary>Brokers, coordinators and the network going away or slowing down.</summary>
    public static TheoryData<string> BrokerFaults => new()
    {
        "broker-down", "all-brokers-down", "leader-changes", "long-round-trips", "group-coordinator-down",
    };

    /// <summary>Errors returned to the worker's requests.</summary>
    public static TheoryData<string> RequestErrors => new()
    {
        "produce-errors", "fetch-errors", "commit-errors", "transaction-errors", "init-producer-id-errors",
        "abortable-errors",
    };

    /// <summary>Runs <paramref name="scenario"/>; each group of scenarios is a class of its own per mode, so that
    /// the groups run side by side (xunit runs the cases of one class one after another).</summary>
    private protected async Task RunScenario(string scenario)
    {
        using var policy = new TestPolicy(TestPolicy.Yaml + """

        agreements:
          - {id: la-push, owners: [ca-lapd], recipients: [ca-lasd], access: [push, alert], purposes: [stolen_vehicle]}
        """);
        using var cluster = new KafkaTestCluster(partitions: 4, brokers: 3);
        cluster.CreateAgencyTopics(policy);
        MockCluster? mock = cluster.Mock;
        using IProducer<string?, string> producer = cluster.Producer();
        DateTimeOffset now = DateTimeOffset.UtcNow;

        // A hotlist entry on a plate ca-lapd cameras read: alerts are compared too.
        (string Key, string Value)[] hotlists =
        [
            ("lasd-stolen/K0004",
                """{"hotlist_id":"lasd-stolen","owner":"ca-lasd","plate":"K0004","purpose":"stolen_vehicle",""" +
                "\"case_number\":\"CASE-9\"}"),
        ];
        foreach (var (key, value) in hotlists)
        {
            await producer.ProduceAsync(cluster.Topics.Hotlists,
                new Message<string?, string> { Key = key, Value = value });
        }

        var reads = new List<(string Plate, string Value)>();
        for (int i = 0; i < 1800; i++)
        {
            string plate = $"K{i % Plates:D4}";
            string value = i % 200 == 17
                ? TestPolicy.Read($"r{i:D5}", "ca-lapd", "K*BAD", now.AddSeconds(-i)) // dead letter: invalid_plate
                : TestPolicy.Read($"r{i:D5}", i % 3 == 0 ? "ca-lasd" : "ca-lapd", plate, now.AddSeconds(-i));
            reads.Add((plate, value));
        }
        int faults = 0;
        if (mock is not null && scenario == "init-producer-id-errors")
        {
            // Before the worker starts: its InitTransactions meets them.
            ErrorCode[] errors =
            [
                ErrorCode.GroupCoordinatorNotAvailable, ErrorCode.ConcurrentTransactions, ErrorCode.GroupLoadInProgress,
                ErrorCode.NotCoordinatorForGroup,
            ];
            mock.PushRequestErrors(KafkaApiKey.InitProducerId, errors);
            faults += errors.Length;
        }
        // The group's coordinator on broker 1, the transactions' on broker 2: "group-coordinator-down" takes broker 1
        // down while the worker is sending offsets to its transaction (librdkafka#5456: that call can hang for good).
        if (mock is not null && scenario == "group-coordinator-down")
        {
            mock.SetCoordinator(transactional: false, cluster.GroupId, 1);
            mock.SetCoordinator(transactional: true, $"{cluster.GroupId}-slot0", 2);
        }

        var options = cluster.WorkerOptions($"{cluster.GroupId}-slot0", quickRejoin: true, processing: mode) with
        {
            FlushTimeout = TimeSpan.FromSeconds(20),
        };
        using var worker = new SupervisedWorker(log => new StreamGuardWorker(options,
            sink => new StreamGuardEngine(policy.Compiled, sink, TestPolicy.AuditKey), new LineLogger(log)));
        await worker.AssignedAsync();

        // Wave 1 processed before any fault; wave 2 produced and flushed, then the fault, while the worker works on it
        // (the test's own producer is idle, so the pushed request errors meet the worker's requests).
        await ProduceReads(producer, cluster, reads.Take(300));
        await WaitForIngests(cluster, worker, reads.Take(300));
        await ProduceReads(producer, cluster, reads.Skip(300));
        if (mock is not null) faults += await Inject(scenario, mock, cluster);
        await WaitForIngests(cluster, worker, reads);

        // Queries once every read is in, so each answer is the same whatever order partitions were consumed in.
        var queries = new List<string>();
        var queryRecords = new List<(string Plate, string Value)>();
        for (int i = 0; i < 60; i++)
        {
            string plate = $"K{i % Plates:D4}";
            string q = TestPolicy.Query($"q{i:D3}", i % 2 == 0 ? "ca-lapd" : "ca-lasd", plate, DateTimeOffset.UtcNow);
            queries.Add(q);
            queryRecords.Add((plate, q));
        }
        await ProduceUntilDelivered(producer, cluster.Topics.Queries, queryRecords);
        await WaitFor(worker,
            () => cluster.ReadToEnd(OutputKind.Results, s_timeout).Select(r => r.Message.Key).Distinct().Count()
                >= queries.Count,
            "every query answered");
        await worker.StopAsync();

        ReplayComparison expected = ReplayComparison.Offline(policy, hotlists, reads.Select(r => r.Value), queries);
        ReplayComparison? actual = null;
        await WaitFor(worker, () => (actual = ReplayComparison.FromTopics(cluster, s_timeout)) is not null,
            "the outputs read back");
        // Exactly once, a repeat is visible only when a worker stopped on the embedded broker (it shows aborted
        // transactions' records). At least once repeats whatever was not committed when the group took partitions
        // away, restart or not, and a repeated forward stores a read twice: nothing may be missing or foreign.
        bool exact = mode == ProcessingMode.ExactlyOnce && (worker.Restarts == 0 || !cluster.IsEmbedded);
        List<string> differences = actual!.Differences(expected, distinctOnly: !exact);
        string counts = string.Join(", ", expected.Kinds.Select(k => $"{k.Value.Count} {k.Key}"));
        string injected = cluster.IsEmbedded ? $"{faults} faults injected" : "real broker, no fault injected";
        string verdict = differences.Count == 0 ? "match" : "DIFFER from";
        output.WriteLine($"{scenario}, {mode}: {injected}; " +
            $"{worker.Restarts} supervised restarts; outputs {verdict} the replay ({counts}) " +
            $"compared {(exact ? "exactly" : "as sets")}; {actual.Duplicates} repeated records and " +
            $"{actual.RecordsWithRepeatedElements} records listing a read twice visible");
        foreach (string f in worker.Failures) output.WriteLine($"  stop: {f}");
        Assert.True(differences.Count == 0,
            string.Join('\n', differences) + "\n--- worker log ---\n" + string.Join('\n', worker.Log.TakeLast(80)));
        Assert.True(
            expected.Kinds["shared"].Count > 0 && expected.Kinds["alerts"].Count > 0 && expected.Kinds["dlq"].Count > 0,
            "the traffic must exercise every output");
        if (cluster.IsEmbedded) Assert.True(faults > 0);
    }

    /// <summary>
    /// Injects one scenario's faults and returns how many: pushed request errors, broker outages, leader moves,
    /// slow windows.
    /// </summary>
    private static async Task<int> Inject(string scenario, MockCluster mock, KafkaTestCluster cluster)
    {
        int Push(short apiKey, params ErrorCode[] errors)
        {
            mock.PushRequestErrors(apiKey, errors);
            return errors.Length;
        }
        switch (scenario)
        {
            case "broker-down":
                // Broker 2 leads a third of the partitions and may coordinate the group or the transactions.
                mock.SetBrokerDown(2);
                await Task.Delay(4000);
                mock.SetBrokerUp(2);
                return 1;
            case "all-brokers-down":
                mock.SetBrokerDown(-1);
                await Task.Delay(4000);
                mock.SetBrokerUp(-1);
                return 1;
            case "leader-changes":
            {
                int moves = 0;
                for (int round = 1; round <= 6; round++)
                {
                    foreach (string topic in cluster.AllTopics)
                    {
                        for (int p = 0; p < cluster.Partitions; p++, moves++)
                        {
                            mock.SetPartitionLeader(topic, p, (p + round) % mock.BrokerCount + 1);
                        }
                    }
                    await Task.Delay(400);
                }
                return moves;
            }
            case "produce-errors":
                return Push(KafkaApiKey.Produce, ErrorCode.NotLeaderForPartition, ErrorCode.RequestTimedOut,
                    ErrorCode.NotEnoughReplicas, ErrorCode.NotEnoughReplicasAfterAppend, ErrorCode.LeaderNotAvailable,
                    ErrorCode.Local_Transport, ErrorCode.NotLeaderForPartition, ErrorCode.RequestTimedOut,
                    ErrorCode.KafkaStorageError, ErrorCode.Local_Transport);
            case "fetch-errors":
                return Push(KafkaApiKey.Fetch, ErrorCode.NotLeaderForPartition, ErrorCode.LeaderNotAvailable,
                    ErrorCode.Local_Transport, ErrorCode.RequestTimedOut, ErrorCode.KafkaStorageError,
                    ErrorCode.UnknownTopicOrPart, ErrorCode.NotLeaderForPartition, ErrorCode.Local_Transport,
                    ErrorCode.FencedLeaderEpoch, ErrorCode.RequestTimedOut);
            case "commit-errors":
                return Push(KafkaApiKey.OffsetCommit, ErrorCode.GroupCoordinatorNotAvailable,
                        ErrorCode.NotCoordinatorForGroup, ErrorCode.RequestTimedOut, ErrorCode.GroupLoadInProgress,
                        ErrorCode.Local_Transport, ErrorCode.RebalanceInProgress)
                    + Push(KafkaApiKey.TxnOffsetCommit, ErrorCode.GroupCoordinatorNotAvailable,
                        ErrorCode.NotCoordinatorForGroup, ErrorCode.GroupLoadInProgress, ErrorCode.RequestTimedOut);
            case "transaction-errors":
                return Push(KafkaApiKey.AddPartitionsToTxn, ErrorCode.ConcurrentTransactions,
                        ErrorCode.GroupCoordinatorNotAvailable, ErrorCode.NotCoordinatorForGroup,
                        ErrorCode.Local_Transport, ErrorCode.GroupLoadInProgress)
                    + Push(KafkaApiKey.AddOffsetsToTxn, ErrorCode.ConcurrentTransactions,
                        ErrorCode.NotCoordinatorForGroup, ErrorCode.Local_Transport)
                    + Push(KafkaApiKey.EndTxn, ErrorCode.ConcurrentTransactions, ErrorCode.GroupCoordinatorNotAvailable,
                        ErrorCode.NotCoordinatorForGroup, ErrorCode.Local_Transport)
                    + Push(KafkaApiKey.FindCoordinator, ErrorCode.GroupCoordinatorNotAvailable,
                        ErrorCode.Local_Transport);
            case "init-producer-id-errors":
                return 0; // pushed before the worker started
            case "abortable-errors":
                // Not retriable: the transaction must be aborted; the worker aborts it and stops, the supervisor
                // restarts it.
                return Push(KafkaApiKey.Produce, ErrorCode.MsgSizeTooLarge)
                    + Push(KafkaApiKey.AddPartitionsToTxn, ErrorCode.TopicAuthorizationFailed);
            case "group-coordinator-down":
                mock.SetBrokerDown(1);
                await Task.Delay(6000);
                mock.SetBrokerUp(1);
                return 1;
            case "long-round-trips":
                mock.SetBrokerRtt(-1, 1500);
                await Task.Delay(6000);
                mock.SetBrokerRtt(-1, 0);
                return 1;
            default:
                throw new ArgumentOutOfRangeException(nameof(scenario), scenario, null);
        }
    }

    private static async Task ProduceReads(IProducer<string?, string> producer, KafkaTestCluster cluster,
        IEnumerable<(string Plate, string Value)> reads)
    {
        foreach (var (plate, value) in reads)
        {
            producer.Produce(cluster.Topics.Reads, new Message<string?, string> { Key = plate, Value = value });
        }
        await Task.Run(() => producer.Flush(s_timeout));
    }

    /// <summary>
    /// Produces <paramref name="records"/> until each is delivered. A request error injected while the worker was idle
    /// (it had caught up before the fault) meets the next request of its kind from any client, which may be this
    /// test's: the input is not under test, so a record refused for it is produced again.
    /// </summary>
    private static async Task ProduceUntilDelivered(IProducer<string?, string> producer, string topic,
        List<(string Key, string Value)> records)
    {
        List<(string Key, string Value)> pending = records;
        for (int attempt = 1; pending.Count > 0; attempt++)
        {
            var sends = pending
                .Select(r => (Record: r, Delivery: producer.ProduceAsync(topic,
                    new Message<string?, string> { Key = r.Key, Value = r.Value })))
                .ToList();
            try
            {
                await Task.WhenAll(sends.Select(s => s.Delivery));
            }
            catch (ProduceException<string?, string>) when (attempt < 5)
            {
            }
            pending = sends.Where(s => !s.Delivery.IsCompletedSuccessfully).Select(s => s.Record).ToList();
        }
    }

    /// <summary>Waits until every read has an ingest decision or a dead letter on the topics.</summary>
    private static Task WaitForIngests(KafkaTestCluster cluster, SupervisedWorker worker,
        IEnumerable<(string Plate, string Value)> reads)
    {
        int expected = reads.Count();
        return WaitFor(worker, () =>
        {
            int ingested = cluster.AuditDecisions(s_timeout)
                .Where(v => v.Contains("\"event\":\"ingest\"", StringComparison.Ordinal))
                .Select(v => System.Text.Json.JsonDocument.Parse(v).RootElement.GetProperty("reads")[0].GetString())
                .Distinct().Count();
            int dead = cluster.ReadToEnd(cluster.Topics.DeadLetter, s_timeout).Select(r => r.Message.Value)
                .Distinct().Count();
            return ingested + dead >= expected;
        }, $"{expected} reads decided");
    }

    /// <summary>
    /// The test's own readers meet the injected errors too (pushed errors go to whichever request comes next).
    /// </summary>
    private static bool Try(Func<bool> condition)
    {
        try
        {
            return condition();
        }
        catch (ConsumeException)
        {
            return false;
        }
    }

    private static async Task WaitFor(SupervisedWorker worker, Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + s_timeout;
        while (!Try(condition))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException(
                    $"not reached in time: {what}\n{string.Join('\n', worker.Log.TakeLast(60))}");
            }
            await Task.Delay(500);
        }
    }

    /// <summary>Broker faults, with outputs, audit and offsets committed in one transaction.</summary>
    public sealed class ExactlyOnceBrokerFaults(ITestOutputHelper output)
        : FaultInjectionTests(ProcessingMode.ExactlyOnce, output)
    {
        [Theory]
        [MemberData(nameof(BrokerFaults), MemberType = typeof(FaultInjectionTests))]
        public Task AfterTheFaultTheOutputsMatchAReplayOfTheSameInput(string scenario) => RunScenario(scenario);
    }

    /// <summary>Request errors, with outputs, audit and offsets committed in one transaction.</summary>
    public sealed class ExactlyOnceRequestErrors(ITestOutputHelper output)
        : FaultInjectionTests(ProcessingMode.ExactlyOnce, output)
    {
        [Theory]
        [MemberData(nameof(RequestErrors), MemberType = typeof(FaultInjectionTests))]
        public Task AfterTheFaultTheOutputsMatchAReplayOfTheSameInput(string scenario) => RunScenario(scenario);
    }

    /// <summary>Broker faults, with outputs flushed, then offsets committed.</summary>
    public sealed class AtLeastOnceBrokerFaults(ITestOutputHelper output)
        : FaultInjectionTests(ProcessingMode.AtLeastOnce, output)
    {
        [Theory]
        [MemberData(nameof(BrokerFaults), MemberType = typeof(FaultInjectionTests))]
        public Task AfterTheFaultTheOutputsMatchAReplayOfTheSameInput(string scenario) => RunScenario(scenario);
    }

    /// <summary>Request errors, with outputs flushed, then offsets committed.</summary>
    public sealed class AtLeastOnceRequestErrors(ITestOutputHelper output)
        : FaultInjectionTests(ProcessingMode.AtLeastOnce, output)
    {
        [Theory]
        [MemberData(nameof(RequestErrors), MemberType = typeof(FaultInjectionTests))]
        public Task AfterTheFaultTheOutputsMatchAReplayOfTheSameInput(string scenario) => RunScenario(scenario);
    }
}
