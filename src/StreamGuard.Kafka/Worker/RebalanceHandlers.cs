using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamGuard.Engine;

namespace StreamGuard.Kafka;

/// <summary>
/// The input consumer's rebalance handlers: an assignment restores its partitions before their first event; a
/// revocation commits what was processed, then lets the partitions go; a loss lets them go without a commit. They run
/// on the worker's thread, inside <c>Consume</c> (and <c>Close</c>).
/// </summary>
internal sealed class RebalanceHandlers(WorkerOptions options, StreamGuardEngine engine, OffsetCommitter committer,
    PartitionRestorer restorer, WorkerLatency latency, TaskCompletionSource assigned, ILogger log)
{
    private bool _restoring;
    private bool _rebalancing; // partitions revoked or lost, the next assignment not made yet

    /// <summary>No restore in progress and no rebalance between a revocation and the next assignment.</summary>
    public bool Settled => !Volatile.Read(ref _restoring) && !Volatile.Read(ref _rebalancing);

    /// <summary>An assignment's restore is in progress (inside <c>Consume</c>).</summary>
    public bool Restoring => Volatile.Read(ref _restoring);

    /// <summary>
    /// The worker is stopping on an error: the transaction was aborted (or the outputs not acknowledged), so there is
    /// nothing to commit — trying would hide the failure behind "not valid in state Ready".
    /// </summary>
    public bool Failed { get; set; }

    public void Assigned(IConsumer<ConsumedBytes, ConsumedBytes> consumer, List<TopicPartition> partitions)
    {
        WorkerLog.Assigned(log, partitions.Count);
        Volatile.Write(ref _restoring, true);
        restorer.Restore(consumer, partitions);
        Volatile.Write(ref _restoring, false);
        Volatile.Write(ref _rebalancing, false);
        assigned.TrySetResult();
    }

    public void Revoked(IConsumer<ConsumedBytes, ConsumedBytes> consumer, List<TopicPartitionOffset> partitions)
    {
        Volatile.Write(ref _rebalancing, true);
        if (Failed)
        {
            WorkerLog.RevokedWhileFailing(log, partitions.Count);
            Forget(partitions);
            return;
        }
        WorkerLog.Revoked(log, partitions.Count);
        try
        {
            committer.Commit(consumer);
        }
        finally
        {
            // Whether or not that commit went through, these partitions are no longer ours: a later commit must never
            // move their offsets under the new owner, and their chains and reads are the new owner's to continue (a
            // purge here would fork chain pN).
            Forget(partitions);
        }
    }

    public void Lost(IConsumer<ConsumedBytes, ConsumedBytes> consumer, List<TopicPartitionOffset> partitions)
    {
        Volatile.Write(ref _rebalancing, true);
        WorkerLog.Lost(log, partitions.Count);
        Forget(partitions);
        committer.PartitionsLost();
        latency.DropUncommitted(); // some are of the lost partitions: no commit of this worker covers them
    }

    private void Forget(List<TopicPartitionOffset> partitions)
    {
        foreach (TopicPartitionOffset p in partitions)
        {
            committer.Forget(p.TopicPartition);
            if (p.Topic == options.Topics.Reads) engine.DropSourcePartition(p.Partition.Value);
        }
    }
}
