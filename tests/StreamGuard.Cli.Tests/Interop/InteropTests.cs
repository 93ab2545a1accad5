using System.Text;
using System.Text.Json;
using Xunit.Abstractions;
using Confluent.Kafka;
using StreamGuard.Engine;
using StreamGuard.Generation;
using StreamGuard.Kafka;
using StreamGuard.Policy;
using StreamGuard.Text;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Interop;

/// <summary>
/// Clients other than Confluent.Kafka — kcat's command line (its own librdkafka build) and KafkaJS, a pure
/// JavaScript client that shares no code with librdkafka and partitions keys with the Java client's murmur2 —
/// produce plate reads and signed queries (samples/policy.yaml and its keys) to a worker on the embedded broker (or
/// a real one: STREAMGUARD_KAFKA_BOOTSTRAP) and consume <c>alpr.results</c>, <c>alpr.shared</c> and
/// <c>streamguard.audit</c>; what they read must be what Confluent.Kafka produces and reads for the same events.
/// Comparison ignores only what differs between any two runs: audit ids, sequence numbers, hashes, decision times
/// and input offsets, and the decision ids that point to them.
/// </summary>
public sealed class InteropTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(90);
    private const int Partitions = 4;

    private readonly ITestOutputHelper _output;

    public InteropTests(ITestOutputHelper output) => _output = output;

    private enum Client { Confluent, Kcat, KafkaJs }

    [KcatFact]
    public async Task KcatProducesAndConsumesWhatConfluentDoes()
    {
        using var scenario = new Scenario();
        Outputs baseline = await RunAsync(scenario, Client.Confluent, Client.Confluent, Client.Confluent);
        Outputs kcat = await RunAsync(scenario, Client.Kcat, Client.Kcat, Client.Kcat);
        AssertSame(baseline, kcat, "kcat");
    }

    [KafkaJsFact]
    public async Task KafkaJsProducesAndConsumesWhatConfluentDoes()
    {
        using var scenario = new Scenario();
        Outputs baseline = await RunAsync(scenario, Client.Confluent, Client.Confluent, Client.Confluent);
        Outputs kafkaJs = await RunAsync(scenario, Client.KafkaJs, Client.KafkaJs, Client.KafkaJs);
        AssertSame(baseline, kafkaJs, "KafkaJS");
    }

    /// <summary>
    /// Reads partitioned by KafkaJS (murmur2: every read on its plate's partition), queries by Confluent.Kafka
    /// (librdkafka's consistent_random, CRC32: many on another partition, forwarded by the worker): every query
    /// still sees every read of its plate that its requester owns.
    /// </summary>
    [KafkaJsFact]
    public async Task ReadsFromKafkaJsAndQueriesFromConfluentMeetOnThePlatesPartition()
    {
        using var scenario = new Scenario();
        Outputs baseline = await RunAsync(scenario, Client.Confluent, Client.Confluent, Client.Confluent);
        Outputs mixed = await RunAsync(scenario, Client.KafkaJs, Client.Confluent, Client.Confluent);
        Assert.True(mixed.ForwardedQueries > 0,
            "some queries arrived off their plate's partition (librdkafka's partitioner) and were forwarded");
        Assert.Equal(0, mixed.ForwardedReads); // KafkaJS put every read on its plate's partition

        int ownMatches = 0;
        foreach (Scenario.QueryEvent q in scenario.Queries)
        {
            using JsonDocument answer = JsonDocument.Parse(mixed.ResultsByQuery[q.QueryId]);
            if (answer.RootElement.GetProperty("status").GetString() != "answered") continue;
            var seen = answer.RootElement.GetProperty("reads").EnumerateArray()
                .Select(r => r.GetProperty("read_id").GetString()).ToHashSet();
            foreach (Scenario.ReadEvent r in scenario.Reads.Where(r => r.Plate == q.Plate && r.Owner == q.Requester
                && r.ObservedMs >= q.FromMs && r.ObservedMs <= q.ToMs))
            {
                Assert.True(seen.Contains(r.ReadId),
                    $"query {q.QueryId} of {q.Requester} does not see its own read {r.ReadId} of the same plate");
                ownMatches++;
            }
        }
        Assert.True(ownMatches >= 10,
            $"only {ownMatches} (query, own read of its plate) pairs: the scenario no longer tests partitioning");
        AssertSame(baseline, mixed, "KafkaJS reads + Confluent queries");
    }

    /// <summary>
    /// What a KafkaJS read_committed consumer gets of an aborted transaction: nothing on a real broker; on the
    /// embedded broker, the aborted records (librdkafka's mock sends no aborted-transaction list in Fetch responses).
    /// This is why the read_committed test of StreamGuard's outputs needs a real broker.
    /// </summary>
    [KafkaJsFact]
    public void EmbeddedBrokerShowsAbortedRecordsToKafkaJsReadCommitted()
    {
        using var cluster = new KafkaTestCluster(Partitions);
        cluster.CreateAgencyTopics("ca-lapd");
        string alerts = cluster.Topics.ForAgency(OutputKind.Alerts, "ca-lapd");
        using (IProducer<string?, string> txn = new ProducerBuilder<string?, string>(new ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers, TransactionalId = cluster.GroupId + "-txn",
        }).Build())
        {
            txn.InitTransactions(s_timeout);
            txn.BeginTransaction();
            txn.Produce(alerts, new Message<string?, string> { Key = "k", Value = "aborted" });
            txn.Flush(s_timeout);
            txn.AbortTransaction(s_timeout);
            txn.BeginTransaction();
            txn.Produce(alerts, new Message<string?, string> { Key = "k", Value = "committed" });
            txn.CommitTransaction(s_timeout);
        }
        var (_, stdout) = InteropTools.KafkaJs("consume.js",
            ["--brokers", cluster.BootstrapServers, "--group", cluster.GroupId + "-kafkajs",
             "--isolation", "read_committed", "--expect", $"{alerts}=1", "--settle-ms", "2000"],
            s_timeout);
        var values = InteropTools.ParseRecords(stdout, "value").Select(r => r.Value).ToList();
        Assert.Contains("committed", values);
        if (cluster.IsEmbedded) Assert.Equal(["aborted", "committed"], values);
        else Assert.Equal(["committed"], values);
    }

    /// <summary>
    /// A KafkaJS read_committed consumer of StreamGuard's outputs sees none of an aborted transaction's records. A
    /// worker process with a minute-long commit interval writes its decisions in an open transaction and is killed
    /// (SIGKILL); its successor with the same transactional.id aborts that transaction (InitTransactions), decides
    /// the same events again and commits. KafkaJS must then read exactly what Confluent.Kafka reads committed:
    /// every query answered once, every audit chain intact — while a read_uncommitted reader sees the aborted
    /// records too, which shows the test had something to hide. Real broker only (see the test above).
    /// </summary>
    [KafkaJsOnRealBrokerFact]
    public async Task KafkaJsReadCommittedSeesNoAbortedStreamGuardOutputs()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return; // SIGKILL and SIGTERM are POSIX signals
        using var scenario = new Scenario(reads: 100, queries: 20);
        using var cluster = new KafkaTestCluster(Partitions);
        string slot = cluster.GroupId + "-slot";

        using (WorkerProcess first = WorkerProcess.Start(cluster, slot, commitIntervalMs: 60_000))
        {
            // Its audit entries go out as blocks at its first commit, which never comes: its results (and shares)
            // are the records of its transaction to see.
            Produce(cluster, Client.Confluent, cluster.Topics.Reads, scenario.ReadsFile,
                scenario.Reads.Select(r => (r.Key, r.Value)));
            Produce(cluster, Client.Confluent, cluster.Topics.Queries, scenario.QueriesFile,
                scenario.Queries.Select(q => (q.Key, q.Value)));
            await WaitForAsync(
                () => ReadUncommitted(cluster, OutputKind.Results).Count >= scenario.Queries.Count, first);
            first.Kill(); // mid-transaction: nothing of it was committed
        }
        using (WorkerProcess second = WorkerProcess.Start(cluster, slot, commitIntervalMs: 100))
        {
            await WaitForAsync(
                () => cluster.ReadToEnd(OutputKind.Results, s_timeout).Count >= scenario.Queries.Count, second);
            Assert.Equal(0, await second.StopAsync());
        }

        // Every agency's results and shares, and the audit topic.
        string[] topics =
            [.. cluster.TopicsOf(OutputKind.Results).Keys, .. cluster.TopicsOf(OutputKind.Shared).Keys,
             cluster.Topics.Audit];
        var committed = cluster.ReadToEnd(topics, s_timeout);
        Assert.True(ReadUncommitted(cluster, OutputKind.Results).Count >
                cluster.ReadToEnd(OutputKind.Results, s_timeout).Count,
            "the killed worker's transaction left aborted records (a read_uncommitted reader sees them)");
        var arguments = new List<string>
        {
            "--brokers", cluster.BootstrapServers, "--group", cluster.GroupId + "-kafkajs",
            "--isolation", "read_committed", "--settle-ms", "3000",
        };
        foreach (string t in topics) arguments.AddRange(["--expect", $"{t}={committed[t].Count}"]);
        var (code, stdout) = InteropTools.KafkaJs("consume.js", arguments, s_timeout);
        Assert.Equal(0, code);
        var kafkaJs = InteropTools.ParseRecordsAt(stdout);
        foreach (string t in topics)
        {
            var expected = committed[t].Select(r => $"{r.Partition.Value}/{r.Offset.Value}")
                .Order(StringComparer.Ordinal);
            Assert.Equal(expected, kafkaJs.Where(r => r.Topic == t).Select(r => $"{r.Partition}/{r.Offset}")
                .Order(StringComparer.Ordinal));
        }
        var resultTopics = cluster.TopicsOf(OutputKind.Results);
        var results = kafkaJs.Where(r => resultTopics.ContainsKey(r.Topic)).Select(r => r.Key).ToList();
        Assert.Equal(scenario.Queries.Select(q => q.QueryId).Order(StringComparer.Ordinal),
            results.Order(StringComparer.Ordinal));
        foreach (var chain in kafkaJs.Where(r => r.Topic == cluster.Topics.Audit).GroupBy(r => r.Key))
        {
            var verdict = StreamGuard.Audit.AuditVerifier.Verify(
                chain.OrderBy(r => r.Offset).SelectMany(r => r.Value!.Split('\n')));
            Assert.True(verdict.Error is null, $"chain {chain.Key} as KafkaJS read it: {verdict.Error}");
        }
    }

    private static async Task WaitForAsync(Func<bool> condition, WorkerProcess worker)
    {
        var deadline = DateTime.UtcNow + s_timeout;
        while (!condition())
        {
            if (worker.HasExited)
            {
                throw new InvalidOperationException($"the worker exited early; stderr:\n{worker.Stderr}");
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the worker did not get there in time; stderr:\n{worker.Stderr}");
            }
            await Task.Delay(200);
        }
    }

    private static List<ConsumeResult<string?, string>> ReadUncommitted(KafkaTestCluster cluster, OutputKind kind) =>
        cluster.ReadToEnd(kind, s_timeout, IsolationLevel.ReadUncommitted);

    /// <summary><c>streamguard run</c> as a process on the cluster's topics with the sample policy.</summary>
    private sealed class WorkerProcess : IDisposable
    {
        private readonly System.Diagnostics.Process _process;
        private readonly StringBuilder _stderr = new();

        private WorkerProcess(System.Diagnostics.Process process)
        {
            _process = process;
            _process.ErrorDataReceived += (_, e) => { lock (_stderr) _stderr.AppendLine(e.Data); };
            _process.OutputDataReceived += (_, _) => { };
            _process.BeginErrorReadLine();
            _process.BeginOutputReadLine();
        }

        public bool HasExited => _process.HasExited;

        public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

        public static WorkerProcess Start(KafkaTestCluster cluster, string transactionalId, int commitIntervalMs)
        {
            string samples = Path.Combine(AppContext.BaseDirectory, "samples");
            var start = new System.Diagnostics.ProcessStartInfo("dotnet")
            {
                RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false,
            };
            foreach (string a in (string[])[
                Path.Combine(AppContext.BaseDirectory, "streamguard.dll"), "run",
                "--bootstrap", cluster.BootstrapServers,
                "--policy", Path.Combine(samples, "policy.yaml"),
                "--audit-key", "file:" + Path.Combine(samples, "keys", "audit.key"),
                "--group", cluster.GroupId, "--topic-prefix", cluster.Topics.Reads[..^"alpr.reads".Length],
                "--transactional-id", transactionalId,
                "--commit-interval-ms", commitIntervalMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--kafka", "session.timeout.ms=6000;heartbeat.interval.ms=1000"])
            {
                start.ArgumentList.Add(a);
            }
            return new WorkerProcess(System.Diagnostics.Process.Start(start)
                ?? throw new InvalidOperationException("could not start streamguard run"));
        }

        public void Kill()
        {
            Signal("KILL");
            _process.WaitForExit();
        }

        public async Task<int> StopAsync()
        {
            Signal("TERM");
            using var exit = new CancellationTokenSource(s_timeout);
            await _process.WaitForExitAsync(exit.Token);
            return _process.ExitCode;
        }

        private void Signal(string name)
        {
            using var kill = System.Diagnostics.Process.Start("kill",
                ["-" + name, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
            kill.WaitForExit();
        }

        public void Dispose()
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.Dispose();
        }
    }

    private async Task<Outputs> RunAsync(Scenario scenario, Client readsBy, Client queriesBy, Client consumeBy)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var cluster = new KafkaTestCluster(Partitions);
        var worker = new StreamGuardWorker(cluster.WorkerOptions(),
            sink => new StreamGuardEngine(scenario.Policy, sink, scenario.AuditKey));
        using var running = new WorkerThread(worker);
        await running.AssignedAsync();

        Produce(cluster, readsBy, cluster.Topics.Reads, scenario.ReadsFile,
            scenario.Reads.Select(r => (r.Key, r.Value)));
        await running.WaitFor(() => worker.Processed >= scenario.Reads.Count);
        // Queries once every read is in, so every run answers from the same store.
        Produce(cluster, queriesBy, cluster.Topics.Queries, scenario.QueriesFile,
            scenario.Queries.Select(q => (q.Key, q.Value)));
        await running.WaitFor(() => worker.Processed >= scenario.Reads.Count + scenario.Queries.Count);
        await running.StopAsync();

        // Every agency's results and shares, and the audit topic.
        string[] resultTopics = [.. cluster.TopicsOf(OutputKind.Results).Keys];
        string[] sharedTopics = [.. cluster.TopicsOf(OutputKind.Shared).Keys];
        string[] topics = [.. resultTopics, .. sharedTopics, cluster.Topics.Audit];
        // Confluent.Kafka's reading of the same cluster says how many records each topic holds.
        var confluent = cluster.ReadToEnd(topics, s_timeout).ToDictionary(p => p.Key,
            p => p.Value.Select(r => (r.Message.Key, (string?)r.Message.Value)).ToList());
        // The other clients read the topics Confluent.Kafka found records in (every agency has its own topics, most
        // of them empty in this scenario: a client started per topic costs seconds each).
        string[] filled = [.. topics.Where(t => confluent[t].Count > 0)];
        Dictionary<string, List<(string? Key, string? Value)>> read = consumeBy switch
        {
            Client.Confluent => confluent,
            Client.Kcat => filled.ToDictionary(t => t, t => InteropTools.ParseRecords(InteropTools.Kcat(
                [
                    "-C", "-b", cluster.BootstrapServers, "-t", t, "-o", "beginning", "-e", "-J", "-q",
                    "-X", "isolation.level=read_committed",
                ]), "payload")
                .Select(r => (r.Key, r.Value)).ToList()),
            _ => ConsumeWithKafkaJs(cluster, filled, confluent.ToDictionary(p => p.Key, p => p.Value.Count)),
        };
        foreach (string t in topics) read.TryAdd(t, []);
        List<(string? Key, string? Value)> Of(string[] kind) => [.. kind.SelectMany(t => read[t])];
        Assert.Equal(scenario.Queries.Count, resultTopics.Sum(t => confluent[t].Count));
        AssertAuditBlocks(read[cluster.Topics.Audit], consumeBy);
        _output.WriteLine($"reads by {readsBy}, queries by {queriesBy}, read by {consumeBy}: " +
            $"{scenario.Reads.Count} reads, {scenario.Queries.Count} queries -> " +
            string.Join(", ", topics.Select(t => $"{t} {read[t].Count}")) +
            $"; {worker.Forwarded} forwarded; {clock.Elapsed.TotalSeconds:N1} s");
        return new Outputs(
            Normalise(Of(resultTopics), "decision_id"),
            Normalise(Of(sharedTopics), "decision_id"),
            // The audit entry by entry, keyed by chain: how they fall into blocks depends on commit timing.
            Normalise(AuditEntries(read[cluster.Topics.Audit])
                    .Where(r => !r.Value.Contains("\"policy_load\"", StringComparison.Ordinal))
                    .Select(r => (r.Key, (string?)r.Value)).ToList(),
                "seq", "at"),
            Of(resultTopics).ToDictionary(r => r.Key!, r => r.Value!),
            worker.Forwarded,
            ForwardedReads: cluster.ReadToEnd(cluster.Topics.RepartitionReads, s_timeout).Count,
            ForwardedQueries: cluster.ReadToEnd(cluster.Topics.RepartitionQueries, s_timeout).Count);
    }

    /// <summary>
    /// The audit topic as a client read it: every message a block (each line of its value one JSON object, the last
    /// its chain's seal, the message key its chain), and each chain, its messages in the order read, verified.
    /// </summary>
    private static void AssertAuditBlocks(List<(string? Key, string? Value)> audit, Client client)
    {
        Assert.NotEmpty(audit);
        foreach (var (key, value) in audit)
        {
            Assert.NotNull(value);
            string[] lines = value.Split('\n');
            Assert.True(lines.Length >= 2, $"{client}: a block of {lines.Length} line(s): {value}");
            foreach (string line in lines)
            {
                using JsonDocument d = JsonDocument.Parse(line);
                Assert.Equal(JsonValueKind.Object, d.RootElement.ValueKind);
            }
            using JsonDocument seal = JsonDocument.Parse(lines[^1]);
            Assert.True(seal.RootElement.TryGetProperty("salt", out _), $"{client}: a block without its seal");
            Assert.Equal(key, seal.RootElement.GetProperty("chain").GetString());
        }
        foreach (var chain in audit.GroupBy(r => r.Key))
        {
            var verdict = StreamGuard.Audit.AuditVerifier.Verify(chain.SelectMany(r => r.Value!.Split('\n')));
            Assert.True(verdict.Error is null, $"chain {chain.Key} as {client} read it: {verdict.Error}");
        }
    }

    /// <summary>The entries of audit blocks (their lines less the seals), each with its chain.</summary>
    private static IEnumerable<(string? Key, string Value)> AuditEntries(List<(string? Key, string? Value)> audit) =>
        audit.SelectMany(r => (r.Value ?? "").Split('\n').SkipLast(1).Select(line => (r.Key, line)));

    private static void Produce(KafkaTestCluster cluster, Client client, string topic, string tsvFile,
        IEnumerable<(string Key, string Value)> records)
    {
        switch (client)
        {
            case Client.Confluent:
                using (IProducer<string?, string> producer = cluster.Producer())
                {
                    foreach (var (key, value) in records)
                    {
                        producer.Produce(topic, new Message<string?, string> { Key = key, Value = value });
                    }
                    Assert.Equal(0, producer.Flush(s_timeout));
                }
                break;
            case Client.Kcat:
                // kcat's own defaults: librdkafka's consistent_random partitioner, acks=all.
                InteropTools.Kcat(["-P", "-b", cluster.BootstrapServers, "-t", topic, "-K", "\t"], stdinFile: tsvFile);
                break;
            default:
                var (code, _) = InteropTools.KafkaJs("produce.js",
                    ["--brokers", cluster.BootstrapServers, "--topic", topic, "--file", tsvFile], s_timeout);
                Assert.Equal(0, code);
                break;
        }
    }

    private static Dictionary<string, List<(string? Key, string? Value)>> ConsumeWithKafkaJs(KafkaTestCluster cluster,
        string[] topics, Dictionary<string, int> expected)
    {
        var arguments = new List<string>
        {
            "--brokers", cluster.BootstrapServers, "--group", cluster.GroupId + "-kafkajs",
            "--isolation", "read_committed",
        };
        foreach (string t in topics) arguments.AddRange(["--expect", $"{t}={expected[t]}"]);
        var (code, stdout) = InteropTools.KafkaJs("consume.js", arguments, s_timeout);
        var records = InteropTools.ParseRecords(stdout, "value");
        Assert.True(code == 0, $"KafkaJS read {records.Count} of {expected.Values.Sum()} records before its timeout");
        return topics.ToDictionary(t => t,
            t => records.Where(r => r.Topic == t).Select(r => (r.Key, r.Value)).ToList());
    }

    /// <summary>Each record as compact JSON without the named members (at any depth), key first; sorted.</summary>
    private static List<string> Normalise(List<(string? Key, string? Value)> records, params string[] drop)
    {
        var list = new List<string>(records.Count);
        foreach (var (key, value) in records)
        {
            if (value is null) { list.Add($"{key}\t<null>"); continue; }
            using JsonDocument d = JsonDocument.Parse(value);
            var buffer = new System.Buffers.ArrayBufferWriter<byte>();
            using (var w = new Utf8JsonWriter(buffer)) Write(w, d.RootElement, drop);
            list.Add($"{key}\t{Encoding.UTF8.GetString(buffer.WrittenSpan)}");
        }
        list.Sort(StringComparer.Ordinal);
        return list;
    }

    private static void Write(Utf8JsonWriter w, JsonElement e, string[] drop)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                w.WriteStartObject();
                foreach (JsonProperty p in e.EnumerateObject())
                {
                    if (drop.Contains(p.Name)) continue;
                    w.WritePropertyName(p.Name);
                    Write(w, p.Value, drop);
                }
                w.WriteEndObject();
                break;
            case JsonValueKind.Array:
                w.WriteStartArray();
                foreach (JsonElement item in e.EnumerateArray()) Write(w, item, drop);
                w.WriteEndArray();
                break;
            default:
                e.WriteTo(w);
                break;
        }
    }

    private static void AssertSame(Outputs expected, Outputs actual, string client)
    {
        Assert.NotEmpty(expected.Shared); // the scenario shares reads under the sample agreements
        // and answers with reads
        Assert.Contains(expected.Results, r => r.Contains("\"reads\":[{", StringComparison.Ordinal));
        AssertSameRecords("alpr.results", expected.Results, actual.Results, client);
        AssertSameRecords("alpr.shared", expected.Shared, actual.Shared, client);
        AssertSameRecords("streamguard.audit", expected.Audit, actual.Audit, client);
    }

    private static void AssertSameRecords(string topic, List<string> expected, List<string> actual, string client)
    {
        if (expected.SequenceEqual(actual)) return;
        var missing = new List<string>(expected);
        foreach (string a in actual) missing.Remove(a);
        var extra = new List<string>(actual);
        foreach (string e in expected) extra.Remove(e);
        Assert.Fail($"{topic}: {client} read {actual.Count} records, Confluent.Kafka {expected.Count}; " +
            $"{missing.Count} missing, e.g.\n  " + string.Join("\n  ", missing.Take(3)) +
            $"\n{extra.Count} extra, e.g.\n  " + string.Join("\n  ", extra.Take(3)));
    }

    private sealed record Outputs(List<string> Results, List<string> Shared, List<string> Audit,
        Dictionary<string, string> ResultsByQuery, long Forwarded, int ForwardedReads, int ForwardedQueries);

    /// <summary>
    /// One set of events for every run of a test: synthetic reads of the last half hour by the sample policy's
    /// agencies over 40 vehicles (so searches find reads and agreements push them), then signed queries issued now,
    /// also written as "key TAB value" files for kcat and KafkaJS.
    /// </summary>
    private sealed class Scenario : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "sg-interop-" + Guid.NewGuid().ToString("N"));

        public Scenario(int reads = 300, int queries = 80)
        {
            string samples = Path.Combine(AppContext.BaseDirectory, "samples");
            PolicyDocument document = PolicyLoader.LoadFile(Path.Combine(samples, "policy.yaml"));
            Policy = new CompiledPolicy(document);
            AuditKey = PolicyLoader.ResolveKey("file:keys/audit.key", samples, out string? problem)
                ?? throw new InvalidOperationException(problem);
            var traffic = new SyntheticTraffic(document,
                new TrafficOptions { Seed = 11, MalformedShare = 0, Vehicles = 40, CamerasPerAgency = 2 });
            long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            for (int i = 0; i < reads; i++)
            {
                long observed = now - 30 * 60_000 + i * 1_000L; // distinct times: "newest first" has one order
                string value = Encoding.UTF8.GetString(traffic.NextRead(observed).Span);
                using JsonDocument d = JsonDocument.Parse(value);
                Reads.Add(new ReadEvent(traffic.LastPlate!, value, d.RootElement.GetProperty("read_id").GetString()!,
                    traffic.LastPlate!, d.RootElement.GetProperty("agency_id").GetString()!, observed));
            }
            for (int i = 0; i < queries; i++)
            {
                string value = Encoding.UTF8.GetString(traffic.NextQuery(now).Span);
                using JsonDocument d = JsonDocument.Parse(value);
                JsonElement q = d.RootElement;
                Queries.Add(new QueryEvent(traffic.LastPlate!, value, q.GetProperty("query_id").GetString()!,
                    traffic.LastPlate!, q.GetProperty("requester").GetString()!,
                    Millis(q.GetProperty("from").GetString()!), Millis(q.GetProperty("to").GetString()!)));
            }
            Directory.CreateDirectory(_dir);
            ReadsFile = Path.Combine(_dir, "reads.tsv");
            QueriesFile = Path.Combine(_dir, "queries.tsv");
            File.WriteAllLines(ReadsFile, Reads.Select(r => r.Key + "\t" + r.Value));
            File.WriteAllLines(QueriesFile, Queries.Select(q => q.Key + "\t" + q.Value));
        }

        public CompiledPolicy Policy { get; }
        public byte[] AuditKey { get; }
        public List<ReadEvent> Reads { get; } = [];
        public List<QueryEvent> Queries { get; } = [];
        public string ReadsFile { get; }
        public string QueriesFile { get; }

        private static long Millis(string rfc3339) =>
            Rfc3339.TryParse(Encoding.UTF8.GetBytes(rfc3339), out long ms) ? ms : throw new FormatException(rfc3339);

        public void Dispose()
        {
            try { Directory.Delete(_dir, true); } catch (IOException) { }
        }

        public sealed record ReadEvent(string Key, string Value, string ReadId, string Plate, string Owner,
            long ObservedMs);

        public sealed record QueryEvent(string Key, string Value, string QueryId, string Plate, string Requester,
            long FromMs, long ToMs);
    }
}
