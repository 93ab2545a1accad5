using Microsoft.Extensions.Logging;

namespace StreamGuard.Kafka;

/// <summary>The log lines of per-agency output topics (event ids 140–149).</summary>
internal static partial class WorkerLog
{
    [LoggerMessage(140, LogLevel.Information, "created {Count} per-agency output topics: {Topics}")]
    public static partial void AgencyTopicsCreated(ILogger logger, int count, string topics);

    [LoggerMessage(144, LogLevel.Information,
        "restored reads were pushed to {Agency}, which the policy no longer names: its purge notices go to its " +
        "topics as they fall due")]
    public static partial void FormerRecipient(ILogger logger, string agency);

    [LoggerMessage(141, LogLevel.Error,
        "policy reload REFUSED, the policy in force ({InForce}) stays: {Reason}; tried again at the next poll")]
    public static partial void ReloadRefusedTopics(ILogger logger, string inForce, string reason);

    [LoggerMessage(142, LogLevel.Information, "output topics' max.message.bytes unknown ({Reason}): outputs are " +
        "checked against the producer's message.max.bytes only; a topic set lower refuses larger records, which " +
        "stops the worker")]
    public static partial void TopicLimitsUnknown(ILogger logger, string reason);

    [LoggerMessage(143, LogLevel.Information, "outputs are limited to {Bytes} bytes by topic {Topic}'s " +
        "max.message.bytes (below the producer's message.max.bytes): larger ones are dead-lettered")]
    public static partial void RecordLimitFromTopic(ILogger logger, int bytes, string topic);
}
