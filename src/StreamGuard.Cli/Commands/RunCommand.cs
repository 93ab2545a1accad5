using System.CommandLine;
using StreamGuard.Cli.CommandLine;
using StreamGuard.Cli.Hosting;
using StreamGuard.Engine;

namespace StreamGuard.Cli.Commands;

/// <summary><c>streamguard run</c>: the worker against a Kafka cluster.</summary>
internal static class RunCommand
{
    /// <summary>The verb: its options (each also an environment variable and a settings key), help, action.</summary>
    public static Command Command { get; } = Verb.Create("run",
        "the worker against a Kafka cluster (--bootstrap B --policy P --audit-key REF)", """
        streamguard run --bootstrap B --policy P --audit-key REF [options]

        Consumes alpr.reads and alpr.queries, enforces the policy and writes outputs, audit records and dead
        letters to their topics. Exactly-once by default: outputs, audit records and input offsets are
        committed in one Kafka transaction every --commit-interval-ms (consume–transform–produce); readers of
        the outputs should use isolation.level=read_committed. On assignment a worker continues each partition's
        audit chain from its last committed record and rebuilds the partition's reads inside retention from
        alpr.reads. Ctrl+C or SIGTERM: finishes the event in hand, commits and leaves the group.

        Settings, each later source winning: appsettings.json next to the executable, appsettings.json in the
        current directory, --config FILE (JSON: {"StreamGuard": {"Bootstrap": "…", "CommitIntervalMs": 250,
        "Kafka": {"security.protocol": "SSL"}}, "Logging": {…}}), environment variables STREAMGUARD_<NAME>
        (STREAMGUARD_BOOTSTRAP, STREAMGUARD_COMMIT_INTERVAL_MS; nested keys the .NET way, e.g.
        STREAMGUARD_Logging__Console__FormatterName=json), then the command line. Every value is checked before
        the worker starts; a bad one is named with where it came from (exit 2). Logs go to stderr.
        """, RunOptionTable.All, env: true).Runs((a, ct) => RunAsync(a, ct));

    /// <param name="args">The command line, parsed.</param>
    /// <param name="ct">
    /// Stops the worker (Ctrl+C, SIGTERM): it finishes the event in hand, commits and leaves the group.
    /// </param>
    /// <param name="environment">The environment variables (default: the process's).</param>
    public static async Task<int> RunAsync(
        CommandArgs args, CancellationToken ct, System.Collections.IDictionary? environment = null)
    {
        RunConfiguration.Layers layers = RunConfiguration.Build(
            args, environment ?? Environment.GetEnvironmentVariables(), AppContext.BaseDirectory,
            Directory.GetCurrentDirectory());
        RunOptions options = RunConfiguration.Bind(layers);
        byte[] auditKey = Common.AuditKey(options.AuditKey, "--audit-key env:NAME|file:PATH (or " +
            "STREAMGUARD_AUDIT_KEY) is required: the worker salts its audit chains and keys plate references with " +
            "it, and a restarted worker continues its chains only under the same key");
        CompiledPolicy policy = Common.LoadPolicy(options.Policy, Console.Error);
        byte[]? retiredAuditKey = Common.RetiredAuditKey(options.RetiredAuditKey, auditKey);
        return await RunHost.RunAsync(options, layers, policy, auditKey, retiredAuditKey, ct).ConfigureAwait(false);
    }
}
