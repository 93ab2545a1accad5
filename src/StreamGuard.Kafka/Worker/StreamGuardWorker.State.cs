namespace StreamGuard.Kafka;

/// <summary>What the worker shows of itself while it runs: readiness, counts per input topic, aborts, its output sink.</summary>
public sealed partial class StreamGuardWorker
{
    private bool _running;
    private bool _restoring;
    private bool _rebalancing; // partitions revoked or lost, the next assignment not made yet
    private long _aborts;

    // Records consumed per input topic, in the order of InputTopics; written by the worker's thread only.
    private readonly long[] _consumed = new long[6];

    /// <summary>Whether <see cref="Run"/> is in progress.</summary>
    public bool Running => Volatile.Read(ref _running);

    /// <summary>
    /// Ready to decide: running, partitions assigned by the group, no rebalance between a revocation and the next
    /// assignment, and no restore (audit chain heads, reads inside retention) in progress. A worker the group gave no
    /// partition to (more workers than partitions) is ready: it stands by.
    /// </summary>
    public bool Ready => Running && _assigned.Task.IsCompleted && !Volatile.Read(ref _restoring) && !Volatile.Read(ref _rebalancing);

    /// <summary>Transactions aborted (exactly-once); each stops the worker.</summary>
    public long Aborts => Interlocked.Read(ref _aborts);

    /// <summary>The output sink (its per-topic counts are readable while running); null before <see cref="Run"/>.</summary>
    public KafkaOutputSink? Sink { get; private set; }

    /// <summary>Instruments attached by <see cref="WorkerMetrics"/>; null when nobody collects metrics.</summary>
    internal WorkerMetrics? Metrics { get; set; }

    private string[] InputTopics =>
        [_options.Topics.Reads, _options.Topics.Queries, _options.Topics.RepartitionReads, _options.Topics.RepartitionQueries,
            _options.Topics.Hotlists, _options.Topics.Holds];

    /// <summary>Records consumed so far per input topic (every input topic, zeros included).</summary>
    public IEnumerable<KeyValuePair<string, long>> ConsumedByTopic()
    {
        string[] topics = InputTopics;
        for (int i = 0; i < topics.Length; i++) yield return new(topics[i], Volatile.Read(ref _consumed[i]));
    }

    // Input topics by index, in the order of InputTopics: classified once per record, then counted and dispatched.
    private const int ReadsTopic = 0, QueriesTopic = 1, RepartitionReadsTopic = 2, RepartitionQueriesTopic = 3, HotlistsTopic = 4, HoldsTopic = 5;

    private int TopicIndex(string topic)
    {
        TopicNames t = _options.Topics;
        return topic == t.Reads ? ReadsTopic : topic == t.Queries ? QueriesTopic : topic == t.RepartitionReads ? RepartitionReadsTopic
            : topic == t.RepartitionQueries ? RepartitionQueriesTopic : topic == t.Hotlists ? HotlistsTopic : HoldsTopic;
    }
}
