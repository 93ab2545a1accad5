using Microsoft.Extensions.Logging;

namespace StreamGuard.Cli.Hosting;

/// <summary>
/// Every log line of <c>streamguard run</c>, source-generated (no boxing, no formatting when the level is off). None
/// takes a plate: events are named by topic, partition and offset, agencies by id, plates only by their keyed hash in
/// the audit log.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information,
        "streamguard run: {Bootstrap}, group {Group}, {Processing}, policy {PolicyHash}")]
    public static partial void Starting(ILogger logger, string bootstrap, string group, string processing,
        string policyHash);

    [LoggerMessage(2, LogLevel.Information,
        "metrics at {Url}/metrics, liveness at {Url}/healthz, readiness at {Url}/readyz")]
    public static partial void Serving(ILogger logger, string url);

    [LoggerMessage(9, LogLevel.Information, "metrics exported by OTLP to {Endpoint} ({Protocol})")]
    public static partial void ExportingOtlp(ILogger logger, string endpoint, string protocol);

    /// <summary>
    /// What the worker and the policy reloader report (partition assignments, restores, reloads, Kafka errors); never
    /// plates.
    /// </summary>
    [LoggerMessage(3, LogLevel.Information, "{Message}")]
    public static partial void Worker(ILogger logger, string message);

    [LoggerMessage(4, LogLevel.Information,
        "processed {Processed} (reads {Reads}, queries {Queries}), results {Results}, dead letters {DeadLetters}, " +
        "store {Store}, commits {Commits}")]
    public static partial void Stats(ILogger logger, long processed, long reads, long queries, long results,
        long deadLetters, int store, long commits);

    [LoggerMessage(5, LogLevel.Information,
        "streamguard run: stopped cleanly after {Processed} events; offsets committed")]
    public static partial void StoppedCleanly(ILogger logger, long processed);

    [LoggerMessage(6, LogLevel.Error,
        "streamguard run: stopped on an error after {Processed} events: {Reason} " +
        "(nothing past the last commit is lost: a restart resumes from it)")]
    public static partial void StoppedOnError(ILogger logger, long processed, string reason);

    [LoggerMessage(7, LogLevel.Error, "streamguard run: the worker failed after {Processed} events")]
    public static partial void Crashed(ILogger logger, long processed, Exception exception);

    /// <summary>
    /// A reloaded policy file refused (invalid: file, line and field in the reason); the policy in force stays. Counted
    /// in <c>streamguard_policy_reloads_total{result="refused"}</c>.
    /// </summary>
    [LoggerMessage(8, LogLevel.Warning,
        "policy reload REFUSED, the policy in force ({InForce}) stays: {Reason}; tried again when the file changes")]
    public static partial void ReloadRefused(ILogger logger, string inForce, string reason);

    /// <summary>The tail of an audit chain the worker was to continue does not verify (docs/threat-model.md).</summary>
    [LoggerMessage(10, LogLevel.Critical, "streamguard run: stopped, refusing to continue an audit chain: {Reason}")]
    public static partial void ChainRefused(ILogger logger, string reason);
}
