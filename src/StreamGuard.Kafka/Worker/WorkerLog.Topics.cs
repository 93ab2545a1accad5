using Microsoft.Extensions.Logging;

namespace StreamGuard.Kafka;

/// <summary>The log lines of per-agency output topics (event ids 140–149).</summary>
internal static partial class WorkerLog
{
    [LoggerMessage(140, LogLevel.Information, "created {Count} per-agency output topics: {Topics}")]
    public static partial void AgencyTopicsCreated(ILogger logger, int count, string topics);

    [LoggerMessage(141, LogLevel.Error,
        "policy reload REFUSED, the policy in force ({InForce}) stays: {Reason}; tried again at the next poll")]
    public static partial void ReloadRefusedTopics(ILogger logger, string inForce, string reason);
}
