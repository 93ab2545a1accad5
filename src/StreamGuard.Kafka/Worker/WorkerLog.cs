using Microsoft.Extensions.Logging;

namespace StreamGuard.Kafka;

/// <summary>
/// Every log line of <see cref="StreamGuardWorker"/>, source-generated: structured fields (counts, topics, reasons), no
/// formatting when the level is off. None takes a plate or a payload — events are named by topic and partition,
/// policies by hash.
/// </summary>
internal static partial class WorkerLog
{
    [LoggerMessage(100, LogLevel.Warning, "producer: {Reason}")]
    public static partial void ProducerError(ILogger logger, string reason);

    [LoggerMessage(101, LogLevel.Warning, "consumer: {Reason}")]
    public static partial void ConsumerError(ILogger logger, string reason);

    [LoggerMessage(102, LogLevel.Warning, "tables consumer: {Reason}")]
    public static partial void TablesConsumerError(ILogger logger, string reason);

    [LoggerMessage(103, LogLevel.Information,
        "repartitioning on: a read or query that arrives off its plate's partition goes through {RepartitionReads} " +
        "/ {RepartitionQueries}")]
    public static partial void RepartitioningOn(ILogger logger, string repartitionReads, string repartitionQueries);

    [LoggerMessage(104, LogLevel.Warning,
        "repartitioning off (the repartition topics are missing or their partition counts differ from the inputs'): " +
        "reads and queries must be partitioned by plate with Kafka's default (murmur2) partitioner")]
    public static partial void RepartitioningOff(ILogger logger);

    [LoggerMessage(105, LogLevel.Information, "assigned {Partitions} partitions")]
    public static partial void Assigned(ILogger logger, int partitions);

    [LoggerMessage(106, LogLevel.Warning,
        "revoked {Partitions} partitions while stopping on an error: nothing committed")]
    public static partial void RevokedWhileFailing(ILogger logger, int partitions);

    [LoggerMessage(107, LogLevel.Information, "revoked {Partitions} partitions: committing what was processed")]
    public static partial void Revoked(ILogger logger, int partitions);

    [LoggerMessage(108, LogLevel.Warning,
        "lost {Partitions} partitions: their uncommitted events will be reprocessed by the new owner")]
    public static partial void Lost(ILogger logger, int partitions);

    [LoggerMessage(109, LogLevel.Information, "policy {PolicyHash} in force")]
    public static partial void PolicyInForce(ILogger logger, string policyHash);

    [LoggerMessage(110, LogLevel.Warning, "consume error (continuing): {Reason}")]
    public static partial void ConsumeError(ILogger logger, string reason);

    [LoggerMessage(111, LogLevel.Warning, "hotlists consume error (continuing): {Reason}")]
    public static partial void HotlistsConsumeError(ILogger logger, string reason);

    [LoggerMessage(112, LogLevel.Error,
        "transaction failed ({Reason}): aborting it and stopping; a restart resumes from the last commit")]
    public static partial void TransactionFailed(ILogger logger, string reason);

    [LoggerMessage(113, LogLevel.Warning,
        "the broker did not store the offsets committed in the transaction (librdkafka's mock cluster does not): " +
        "committing them outside the transaction too; exactly-once needs a real Kafka broker")]
    public static partial void TransactionalOffsetsNotStored(ILogger logger);

    [LoggerMessage(150, LogLevel.Warning,
        "offset commit still waiting for the group coordinator after {Seconds} s: deciding on, offsets kept pending")]
    public static partial void CommitTimedOut(ILogger logger, long seconds);

    [LoggerMessage(151, LogLevel.Warning,
        "an earlier offset commit is still waiting for the group coordinator (bound {Seconds} s): " +
        "offsets kept pending")]
    public static partial void CommitStillWaiting(ILogger logger, long seconds);

    [LoggerMessage(152, LogLevel.Error,
        "an offset commit was still inside librdkafka at shutdown: the consumer is left open (closing it under the " +
        "call could crash the process); its partitions go to another worker after the session timeout")]
    public static partial void ConsumerAbandoned(ILogger logger);

    [LoggerMessage(115, LogLevel.Warning, "commit failed (will retry): {Reason}")]
    public static partial void CommitFailed(ILogger logger, string reason);

    [LoggerMessage(116, LogLevel.Information,
        "restored {Reads} reads and {Queries} recent query ids in {ElapsedMs} ms ({RecordsPerSecond} records/s)")]
    public static partial void Restored(ILogger logger, int reads, int queries, long elapsedMs, long recordsPerSecond);

    [LoggerMessage(117, LogLevel.Warning,
        "restore: no offsets for time on {Topic} ({Reason}): reading from the beginning")]
    public static partial void RestoreFromBeginning(ILogger logger, string topic, string reason);

    [LoggerMessage(118, LogLevel.Warning, "{Topic}: topic not found: {Feature} are off")]
    public static partial void TableMissing(ILogger logger, string topic, string feature);

    [LoggerMessage(119, LogLevel.Information,
        "tables: {HotlistEntries} hotlist entries and {Holds} holds loaded from {Partitions} partitions")]
    public static partial void TablesLoaded(ILogger logger, int hotlistEntries, int holds, int partitions);

    [LoggerMessage(120, LogLevel.Error,
        "{Call} did not return within {LimitSeconds} s (its own timeout is {TimeoutSeconds} s; librdkafka issue " +
        "#5456): stopping without committing; the producer is left open, not destroyed, because librdkafka is " +
        "still inside the call; a restart resumes from the last commit")]
    public static partial void TransactionCallHung(ILogger logger, string call, long limitSeconds, long timeoutSeconds);

    [LoggerMessage(170, LogLevel.Warning,
        "tables: still loading after {Seconds} s: {Ended} of {Partitions} partitions read to their end, {Records} " +
        "records applied; no input event is decided before every partition is")]
    public static partial void TablesLoading(ILogger logger, int ended, int partitions, long records, long seconds);
}
