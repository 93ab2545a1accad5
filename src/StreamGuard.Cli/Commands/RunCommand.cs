using System.Globalization;
using StreamGuard.Engine;
using StreamGuard.Kafka;
using StreamGuard.Policy;

namespace StreamGuard.Cli.Commands;

/// <summary><c>streamguard run</c>: the worker against a Kafka cluster.</summary>
internal static class RunCommand
{
    public const string Help = """
        streamguard run --bootstrap B --policy P [options]

        Consumes alpr.reads and alpr.queries, enforces the policy and writes outputs, audit records and dead
        letters to their topics (SPEC §1). Exactly-once by default: outputs, audit records and input offsets are
        committed in one Kafka transaction every --commit-interval-ms (consume–transform–produce); readers of
        the outputs should use isolation.level=read_committed. On assignment a worker continues each partition's
        audit chain from its last committed record and rebuilds the partition's reads inside retention from
        alpr.reads. Ctrl+C or SIGTERM: finishes the event in hand, commits and leaves the group.
        Every option can also be set as an environment variable STREAMGUARD_<NAME> (e.g. STREAMGUARD_BOOTSTRAP).

        Options:
          --bootstrap B             Kafka bootstrap servers (host:port,…)
          --policy P                policy file
          --group G                 consumer group (default streamguard)
          --audit-key REF           HMAC key for plate references: env:NAME or file:PATH
          --topic-prefix X          prefix every topic name (isolated environments)
          --commit-interval-ms N    commit (a transaction, or offsets) at least this often (default 100)
          --commit-batch N          …or after this many events, whichever comes first (default 5000)
          --kafka "K=V;K=V"         librdkafka settings for the worker's clients (security, timeouts, e.g.
                                    "security.protocol=SSL;session.timeout.ms=10000"); StreamGuard's
                                    correctness settings (acks, idempotence, isolation, offsets) win
          --processing MODE         exactly-once (default) or at-least-once (outputs flushed, then offsets
                                    committed: a crash may repeat decisions, never lose them)
          --transactional-id ID     exactly-once: the producer's transactional.id, stable per worker slot
                                    (default <group>-<host name>); a restarted worker fences its predecessor
          --stats-interval-s N      print counters this often to stderr (default 10; 0 = never)
          --reload-interval-ms N    hot reload: look for a changed policy file this often (default 1000;
                                    0 = never). A changed file is validated, compiled and swapped in between
                                    two events without pausing consumption; a file that fails validation is
                                    refused (logged with file, line and field) and the policy in force stays.
                                    Each version opens every audit chain with a policy_load record stating
                                    what it granted and revoked against the one before.
        """;

    public static int Run(CliArgs args, CancellationToken ct)
    {
        string bootstrap = args.Require("bootstrap");
        string policyPath = args.Require("policy");
        string group = args.Get("group") ?? "streamguard";
        string? prefix = args.Get("topic-prefix");
        int commitMs = args.Int("commit-interval-ms", 100, 1, 60_000);
        int commitBatch = args.Int("commit-batch", 5_000, 1, 1_000_000);
        int statsSeconds = args.Int("stats-interval-s", 10, 0, 3600);
        string? auditKeyRef = args.Get("audit-key");
        int reloadMs = args.Int("reload-interval-ms", 1000, 0, 3_600_000);
        string processing = args.Get("processing") ?? "exactly-once";
        if (processing is not ("exactly-once" or "at-least-once")) throw new UsageException($"--processing: '{processing}' is not exactly-once or at-least-once");
        string? transactionalId = args.Get("transactional-id");
        var kafka = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string setting in (args.Get("kafka") ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = setting.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) throw new UsageException($"--kafka: '{setting}' is not KEY=VALUE");
            kafka[setting[..eq].Trim()] = setting[(eq + 1)..].Trim();
        }
        args.RejectUnknown();

        CompiledPolicy policy = Common.LoadPolicy(policyPath, Console.Error);
        byte[] auditKey = Common.AuditKey(auditKeyRef, Console.Error);
        // The first policy_load records state what this policy grants against nothing (everything denied).
        PolicyChangeSummary initial = Common.InitialChange(policy, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        void Log(string m) => Console.Error.WriteLine($"{DateTimeOffset.UtcNow:O} {m}");
        using PolicyReloader? reloader = reloadMs == 0 ? null : new PolicyReloader(policyPath, policy, Log, TimeSpan.FromMilliseconds(reloadMs));
        TopicNames topics = prefix is null ? new TopicNames() : new TopicNames().WithPrefix(prefix);
        var worker = new StreamGuardWorker(
            new WorkerOptions
            {
                BootstrapServers = bootstrap, GroupId = group, Topics = topics, CommitInterval = TimeSpan.FromMilliseconds(commitMs), CommitBatch = commitBatch,
                ExactlyOnce = processing == "exactly-once", TransactionalId = transactionalId, Kafka = kafka,
            },
            sink => new StreamGuardEngine(policy, sink, auditKey, change: initial),
            Log, reloader);

        using Timer? stats = statsSeconds == 0 ? null : new Timer(_ =>
        {
            EngineStats? s = worker.Engine?.Stats;
            if (s is null) return;
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{DateTimeOffset.UtcNow:O} processed {worker.Processed} (reads {s.Reads}, queries {s.Queries}), results {s.Results}, dead letters {s.DeadLetters}, store {worker.Engine!.Store.Count}"));
        }, null, TimeSpan.FromSeconds(statsSeconds), TimeSpan.FromSeconds(statsSeconds));

        Console.Error.WriteLine($"streamguard run: {bootstrap}, group {group}, {processing}, policy {policy.Hash}");
        try
        {
            worker.Run(ct);
        }
        catch (Exception e) when (e is Confluent.Kafka.KafkaException or ArgumentException or InvalidOperationException or TimeoutException)
        {
            // Nothing past the last commit is lost: a restart resumes from it (and, exactly-once, aborts the rest).
            Console.Error.WriteLine($"streamguard run: stopped on a Kafka error after {worker.Processed:N0} events: {e.Message}");
            return 1;
        }
        Console.Error.WriteLine($"streamguard run: stopped cleanly after {worker.Processed:N0} events; offsets committed");
        return 0;
    }
}
