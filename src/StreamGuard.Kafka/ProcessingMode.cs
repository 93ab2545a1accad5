namespace StreamGuard.Kafka;

/// <summary>
/// How the worker makes its outputs and input offsets durable (<see cref="WorkerOptions.Processing"/>).
/// </summary>
public enum ProcessingMode
{
    /// <summary>
    /// Outputs, audit records and input offsets committed in one Kafka transaction every
    /// <see cref="WorkerOptions.CommitInterval"/> or <see cref="WorkerOptions.CommitBatch"/> events.
    /// </summary>
    ExactlyOnce,

    /// <summary>Outputs flushed, then input offsets committed: a crash may repeat decisions, never lose them.</summary>
    AtLeastOnce,
}
