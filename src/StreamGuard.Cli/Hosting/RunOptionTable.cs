using StreamGuard.Cli.CommandLine;
using StreamGuard.Kafka;

namespace StreamGuard.Cli.Hosting;

/// <summary>
/// Every option of <c>streamguard run</c>, with its default: the one place they are stated. <c>run</c>'s help lists
/// them (<see cref="Commands.RunCommand"/>), configuration binds them (<see cref="RunConfiguration"/>) and
/// <see cref="RunOptions"/> starts from their defaults; the worker's own settings take the worker's defaults
/// (<see cref="WorkerOptions"/>).
/// </summary>
internal static class RunOptionTable
{
    private static readonly WorkerOptions s_worker = new() { BootstrapServers = "" };

    public static readonly TextOption Config = new("config", "FILE", "a JSON settings file (see Details)");

    public static readonly TextOption Bootstrap = new("bootstrap", "B", "Kafka bootstrap servers (host:port,…)");

    public static readonly TextOption Policy = new("policy", "P", "policy file");

    public static readonly TextOption Group = new("group", "G", "consumer group") { Default = s_worker.GroupId };

    public static readonly TextOption AuditKey = new("audit-key", "REF",
        "required: HMAC key of plate references and the chains' salts, env:NAME or file:PATH");

    public static readonly TextOption RetiredAuditKey = new("retired-audit-key", "REF", """
        the audit key in force before the last rotation (env:NAME or file:PATH):
        a restarted worker continues chains and restores reads it salted
        """);

    public static readonly TextOption TopicPrefix = new("topic-prefix", "X",
        "prefix every topic name (isolated environments)");

    public static readonly TextOption TopicTemplate = new("topic-template", "T", """
        name of each agency's output topics ({default}): {kind} is the kind
        (alpr.shared, alpr.alerts, alpr.results, alpr.purges, prefix applied),
        {agency} the agency id; missing ones are created on start and on reload
        """)
    {
        Default = TopicNames.DefaultAgencyTemplate,
    };

    public static readonly IntOption TopicPartitions = new("topic-partitions", "N",
        "partitions of an agency topic the worker creates ({default}; 0 = the broker's default)", 0, 10_000)
    {
        Default = 0,
    };

    public static readonly IntOption TopicReplication = new("topic-replication", "N",
        "replication factor of an agency topic the worker creates ({default}; 0 = the broker's default)", 0, 32)
    {
        Default = 0,
    };

    public static readonly IntOption CommitIntervalMs = new("commit-interval-ms", "N",
        "commit (a transaction, or offsets) at least this often", 1, 60_000)
    {
        Default = (int)s_worker.CommitInterval.TotalMilliseconds,
    };

    public static readonly IntOption CommitBatch = new("commit-batch", "N",
        "…or after this many events, whichever comes first", 1, 1_000_000)
    {
        Default = s_worker.CommitBatch,
    };

    public static readonly TextOption Kafka = new("kafka", "K=V;K=V", """
        librdkafka settings for the worker's clients (security, timeouts, e.g.
        "security.protocol=SSL;session.timeout.ms=10000"); StreamGuard's
        correctness settings (acks, idempotence, isolation, offsets, batch.size
        at most 524288) win
        """);

    public static readonly ChoiceOption<ProcessingMode> Processing = new("processing", "MODE", """
        exactly-once or at-least-once ({default}); at-least-once: outputs
        flushed, then offsets committed (a crash may repeat decisions, never lose them)
        """, ("exactly-once", ProcessingMode.ExactlyOnce), ("at-least-once", ProcessingMode.AtLeastOnce))
    {
        Default = s_worker.Processing,
    };

    public static readonly TextOption TransactionalId = new("transactional-id", "ID", """
        exactly-once: the producer's transactional.id, stable per worker slot
        ({default}); a restarted worker fences its predecessor
        """)
    {
        Shown = "default <group>-<host name>",
    };

    public static readonly IntOption StatsIntervalS = new("stats-interval-s", "N",
        "print counters this often to stderr ({default}; 0 = never)", 0, 3600)
    {
        Default = 10,
    };

    public static readonly IntOption ReloadIntervalMs = new("reload-interval-ms", "N", """
        hot reload: look for a changed policy file this often ({default};
        0 = never). A changed file is validated, compiled and swapped in between
        two events without pausing consumption; a file that fails validation is
        refused (logged with file, line and field) and the policy in force stays.
        Each version opens every audit chain with a policy_load record stating
        what it granted and revoked against the one before.
        """, 0, 3_600_000)
    {
        Default = 1_000,
    };

    public static readonly TextOption Metrics = new("metrics", "ADDR", """
        serve HTTP at ADDR (HOST:PORT, :PORT or http://HOST:PORT; {default}):
        /metrics  Prometheus text: events consumed and produced by topic,
                  decisions by code, dead letters by error, consumer lag by
                  partition, decision latency histogram, store size, purges,
                  commits and aborted transactions (meter "StreamGuard")
        /healthz  200 while the consume loop polls; 503 once it has not
                  polled for --liveness-timeout-s, or the worker has stopped
        /readyz   200 when the hotlist and hold tables are loaded and
                  partitions are assigned and restored, else 503
        """)
    {
        Default = "off",
    };

    public static readonly IntOption LivenessTimeoutS = new("liveness-timeout-s", "N", """
        /healthz fails when the consume loop has not polled for this long
        ({default}; table loading and restores do not count)
        """, 1, 86_400)
    {
        Default = 60,
    };

    public static readonly TextOption OtlpEndpoint = new("otlp-endpoint", "URL", """
        also export the metrics by OTLP to URL ({default}; gRPC, e.g.
        http://collector:4317, or OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
        with http://collector:4318); other OTEL_* variables apply
        """)
    {
        Default = "off",
    };

    /// <summary>The settings: each also a configuration key (<see cref="Key"/>) and an environment variable.</summary>
    public static readonly ValueOption[] Settings =
    [
        Bootstrap, Policy, Group, AuditKey, RetiredAuditKey, TopicPrefix, TopicTemplate, TopicPartitions,
        TopicReplication,
        CommitIntervalMs, CommitBatch, Kafka, Processing,
        TransactionalId, StatsIntervalS, ReloadIntervalMs, Metrics, LivenessTimeoutS, OtlpEndpoint,
    ];

    /// <summary>Every option of <c>run</c>, as help lists them: <c>--config FILE</c>, then the settings.</summary>
    public static readonly ValueOption[] All = [Config, .. Settings];

    /// <summary>
    /// The configuration key of a setting: its name in PascalCase (<c>commit-interval-ms</c> →
    /// <c>CommitIntervalMs</c>).
    /// </summary>
    public static string Key(ValueOption option) =>
        string.Concat(option.Id.Split('-').Select(part => char.ToUpperInvariant(part[0]) + part[1..]));
}
