using Microsoft.Extensions.Logging;

namespace StreamGuard.Kafka;

/// <summary>
/// The log lines of a partition's restore from its audit chain and of a full read store (source-generated, ids
/// 180–186). None takes a plate or a payload.
/// </summary>
internal static partial class RestoreLog
{
    [LoggerMessage(180, LogLevel.Information,
        "restore: chain {Chain}: {Resident} reads resident by the log, {Restored} restored, from {Blocks} blocks " +
        "read since {FromMs} (Unix ms)")]
    public static partial void ChainRead(ILogger logger, string chain, int resident, int restored, long blocks,
        long fromMs);

    [LoggerMessage(181, LogLevel.Warning,
        "restore: chain {Chain}: {Missing} reads the log shows resident were not restored: the reads topics no " +
        "longer hold them (their retention.ms is shorter than their window or hold), or no policy names their owner " +
        "(event 186); they cannot be purged here")]
    public static partial void ResidentNotFound(ILogger logger, string chain, int missing);

    [LoggerMessage(182, LogLevel.Error,
        "read store of partition {Partition} is full ({Limit} reads): new reads are refused (audited " +
        "drop.store_full, metric decisions{{code=drop.store_full}}) until reads expire; spread alpr.reads over more " +
        "partitions")]
    public static partial void StoreFull(ILogger logger, int partition, int limit);

    [LoggerMessage(183, LogLevel.Error,
        "restore: {Refused} reads could not be put back: their partition's read store is full ({Limit} reads per " +
        "partition); spread alpr.reads over more partitions")]
    public static partial void RestoreRefused(ILogger logger, long refused, int limit);

    [LoggerMessage(184, LogLevel.Information,
        "restore: reading back {Days} days: the retention.ms of {Topic}, longer than the longest window in force")]
    public static partial void LookbackFromTopic(ILogger logger, string topic, long days);

    [LoggerMessage(185, LogLevel.Warning,
        "restore: chain {Chain}: {Blocks} blocks with reads stored were salted by no audit key given (an audit key " +
        "rotated without --retired-audit-key naming the old one, or rotated twice): their reads are matched to the " +
        "log by id alone, so of two reads under one id the first read back is restored, whichever the log kept")]
    public static partial void UnknownKeyBlocks(ILogger logger, string chain, int blocks);

    [LoggerMessage(186, LogLevel.Error,
        "restore: {Count} reads the log shows resident (or does not reach back to) name an owner no policy names " +
        "({Owners}): their window is unknown, so they are not restored and this worker sends no purge notice for " +
        "them; keep an agency whose reads are resident in the policy file as `retired: true` until their windows " +
        "have closed, and restart")]
    public static partial void UnknownOwners(ILogger logger, long count, string owners);
}
