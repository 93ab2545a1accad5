using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace StreamGuard.Kafka;

/// <summary>
/// At-least-once: outputs are flushed (acks=all, idempotent producer) before the offsets of the events that made them
/// are committed. A delivery failure stops the worker without committing, so a restart reprocesses instead of losing.
/// </summary>
internal sealed class AtLeastOnceCommitter(WorkerOptions options, IProducer<byte[], byte[]> producer,
    KafkaOutputSink sink, WorkerLatency latency, ILogger log, Action sealAudit)
    : OffsetCommitter(options, producer, sink, latency, sealAudit)
{
    public override void Begin()
    {
    }

    protected override void CommitOutputs(IConsumer<ConsumedBytes, ConsumedBytes> consumer)
    {
        // Flushed even with no offset to commit: the audit blocks just sealed (an idle partition's purges) must be in
        // Kafka before a revocation hands their chain to a worker that reads its head from there.
        int left = Producer.Flush(Options.FlushTimeout);
        if (left > 0)
        {
            throw new KafkaException(new Error(ErrorCode.Local_TimedOut,
                $"{left} outputs not acknowledged within {Options.FlushTimeout}; nothing committed"));
        }
        ThrowIfDeliveryFailed();
        if (PendingCount == 0) return;
        // A lost commit means reprocessing after restart, never loss; it is retried with the next batch.
        if (!CommitOffsets(consumer, PendingOffsets(), log)) return;
        ClearPending();
        Committed();
    }
}
