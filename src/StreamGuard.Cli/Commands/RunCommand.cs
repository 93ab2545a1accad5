using StreamGuard.Cli.Hosting;
using StreamGuard.Engine;

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

        Settings, each later source winning: appsettings.json next to the executable, appsettings.json in the
        current directory, --config FILE (JSON: {"StreamGuard": {"Bootstrap": "…", "CommitIntervalMs": 100,
        "Kafka": {"security.protocol": "SSL"}}, "Logging": {…}}), environment variables STREAMGUARD_<NAME>
        (STREAMGUARD_BOOTSTRAP, STREAMGUARD_COMMIT_INTERVAL_MS; nested keys the .NET way, e.g.
        STREAMGUARD_Logging__Console__FormatterName=json), then the command line. Every value is checked before
        the worker starts; a bad one is named with where it came from (exit 2). Logs go to stderr.

        Options:
          --config FILE             a JSON settings file (see above)
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
          --metrics ADDR            serve HTTP at ADDR (HOST:PORT, :PORT or http://HOST:PORT; default off):
                                    /metrics  Prometheus text: events consumed and produced by topic,
                                              decisions by code, dead letters by error, consumer lag by
                                              partition, decision latency histogram, store size, purges,
                                              commits and aborted transactions (meter "StreamGuard")
                                    /healthz  200 while the worker runs, 503 once it has stopped
                                    /readyz   200 when partitions are assigned and restored, else 503
        """;

    /// <param name="args">The command line after the verb.</param>
    /// <param name="ct">Stops the worker (Ctrl+C, SIGTERM): it finishes the event in hand, commits and leaves the group.</param>
    /// <param name="environment">The environment variables (default: the process's).</param>
    public static async Task<int> RunAsync(CliArgs args, CancellationToken ct, System.Collections.IDictionary? environment = null)
    {
        RunConfiguration.Layers layers = RunConfiguration.Build(args, environment ?? Environment.GetEnvironmentVariables(),
            AppContext.BaseDirectory, Directory.GetCurrentDirectory());
        RunOptions options = RunConfiguration.Bind(layers);
        CompiledPolicy policy = Common.LoadPolicy(options.Policy, Console.Error);
        byte[] auditKey = Common.AuditKey(options.AuditKey, Console.Error);
        return await RunHost.RunAsync(options, layers, policy, auditKey, ct).ConfigureAwait(false);
    }
}
