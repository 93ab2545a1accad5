using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace StreamGuard.Kafka;

/// <summary>
/// Exactly-once: the outputs and audit records produced since the last commit and the input offsets that made them
/// are committed in one Kafka transaction (consume–transform–produce), then the next transaction begins. If the
/// transaction cannot commit, it is aborted and the worker stops: its in-memory state (store, chain heads) is ahead
/// of what Kafka holds, and a restart resumes both from what was committed.
/// </summary>
internal sealed class TransactionalCommitter(WorkerOptions options, IProducer<byte[], byte[]> producer,
    KafkaOutputSink sink, WorkerLatency latency, ILogger log, Action sealAudit)
    : OffsetCommitter(options, producer, sink, latency, sealAudit)
{
    /// <summary>Longest flush timeout <see cref="SendOffsetsBounded"/> bounds (a wait takes at most int.MaxValue
    /// ms).</summary>
    private static readonly TimeSpan s_longestBoundedCall = TimeSpan.FromDays(7);

    private bool _partitionsLost;
    private bool? _brokerAppliesTxnOffsets;

    public override void Begin()
    {
        Producer.InitTransactions(Options.FlushTimeout);
        Producer.BeginTransaction();
    }

    protected override void CommitOutputs(IConsumer<ConsumedBytes, ConsumedBytes> consumer)
    {
        List<TopicPartitionOffset>? offsets = null;
        try
        {
            if (PendingCount > 0)
            {
                offsets = PendingOffsets();
                SendOffsetsBounded(offsets, consumer.ConsumerGroupMetadata);
            }
            Producer.CommitTransaction(Options.FlushTimeout);
        }
        catch (KafkaTxnRequiresAbortException e)
        {
            WorkerLog.TransactionFailed(log, e.Error.Reason);
            Producer.AbortTransaction(Options.FlushTimeout);
            CountAbort();
            throw;
        }
        ThrowIfDeliveryFailed();
        if (offsets is null || CheckTransactionalOffsets(consumer, offsets)) ClearPending();
        Committed();
        Producer.BeginTransaction();
    }

    /// <summary>
    /// The open transaction holds decisions on chains another worker now continues: it must never commit. The worker
    /// aborts it and stops after its next <c>Consume</c> (a restart resumes from what was committed).
    /// </summary>
    public override void PartitionsLost() => _partitionsLost = true;

    public override void StopIfPartitionsLost()
    {
        if (!_partitionsLost) return;
        Producer.AbortTransaction(Options.FlushTimeout);
        CountAbort();
        throw new KafkaException(new Error(ErrorCode.Local_State, "partitions lost to another worker (session timed " +
            "out): the open transaction was aborted and the worker stops; restart it"));
    }

    /// <summary>
    /// <c>SendOffsetsToTransaction</c> with a limit the worker enforces itself. librdkafka does not check the timeout
    /// of its group-coordinator requests (confluentinc/librdkafka#5456, open): when the group coordinator goes away
    /// during the call it can block for good, past its timeout and after the coordinator is back — the worker would
    /// hang, silent, with its partitions held (reproduced on the embedded cluster:
    /// <c>TransactionalCommitterTests.AHungSendOffsetsStopsTheWorkerInsteadOfHangingIt</c>). The call runs on a pool
    /// thread; an infinite flush timeout is not bounded; if it has not returned by its own timeout plus a grace, the
    /// worker stops
    /// without committing (a restart reprocesses the transaction's events; nothing is lost) and abandons the producer,
    /// which librdkafka is still using.
    /// </summary>
    private void SendOffsetsBounded(List<TopicPartitionOffset> offsets, IConsumerGroupMetadata group)
    {
        TimeSpan timeout = Options.FlushTimeout;
        if (timeout == Timeout.InfiniteTimeSpan || timeout > s_longestBoundedCall)
        {
            // The operator asked to wait for ever (or for longer than a wait can be bounded): no limit of ours either.
            Producer.SendOffsetsToTransaction(offsets, group, timeout);
            return;
        }
        TimeSpan limit = timeout + TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(5).Ticks, timeout.Ticks / 2));
        // On the thread pool rather than a thread of its own per commit, which costs far more per call
        // (docs/reliability.md). The grace (at least 5 s) dwarfs any delay a busy pool adds, and a hung call's pool
        // thread goes when the worker stops.
        Task call = Task.Run(() => Producer.SendOffsetsToTransaction(offsets, group, timeout));
        bool returned;
        try
        {
            returned = call.Wait(limit);
        }
        catch (AggregateException)
        {
            returned = true; // rethrown below as the call's own exception
        }
        if (!returned)
        {
            ProducerAbandoned = true;
            WorkerLog.TransactionCallHung(log, "SendOffsetsToTransaction", (long)limit.TotalSeconds,
                (long)timeout.TotalSeconds);
            throw new KafkaException(new Error(ErrorCode.Local_TimedOut,
                $"SendOffsetsToTransaction did not return within {limit.TotalSeconds:0} s (its timeout is " +
                $"{timeout.TotalSeconds:0} s; librdkafka issue #5456: the group coordinator was lost during the " +
                "call); the transaction was not committed and the worker stops"));
        }
        call.GetAwaiter().GetResult();
    }

    /// <summary>
    /// librdkafka's embedded mock cluster accepts TxnOffsetCommit but does not store the offsets (it also shows aborted
    /// records to read_committed readers). Checked once after the first transaction with offsets: if the group's
    /// committed offsets did not move, they are committed outside the transaction from then on, and the log says so —
    /// otherwise every restart on the embedded cluster would reprocess from the beginning. A real broker is unaffected.
    /// Returns false when that copy failed: the offsets stay pending and go again with the next transaction.
    /// </summary>
    private bool CheckTransactionalOffsets(IConsumer<ConsumedBytes, ConsumedBytes> consumer,
        List<TopicPartitionOffset> offsets)
    {
        if (_brokerAppliesTxnOffsets is null)
        {
            List<TopicPartitionOffset> stored = consumer.Committed(offsets.Select(o => o.TopicPartition),
                Options.FlushTimeout);
            _brokerAppliesTxnOffsets = offsets.All(
                o => stored.Any(c => c.TopicPartition == o.TopicPartition && c.Offset == o.Offset));
            if (_brokerAppliesTxnOffsets == false) WorkerLog.TransactionalOffsetsNotStored(log);
        }
        if (_brokerAppliesTxnOffsets == false)
        {
            // The transaction is committed; only this copy of its offsets failed. Kept pending, they go again with
            // the next transaction instead of the worker stopping (which would reprocess a committed transaction).
            if (!CommitOffsets(consumer, offsets, log)) return false;
        }
        return true;
    }
}
