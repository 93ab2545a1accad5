using Confluent.Kafka;

namespace StreamGuard.Kafka;

/// <summary>Records and bytes produced per output topic, for the metrics endpoint and the bench's and demo's
/// volume report.</summary>
public sealed partial class KafkaOutputSink
{
    private const int SharedIndex = 0, AlertsIndex = 1, ResultsIndex = 2, PurgesIndex = 3, AuditIndex = 4,
        DeadLetterIndex = 5, RepartitionReadsIndex = 6, RepartitionQueriesIndex = 7, CountedTopics = 8;

    // Written by the worker's thread only (a plain increment per output); read by scrapes (a torn read cannot happen
    // on a 64-bit long read, and a slightly stale count is fine).
    private readonly long[] _producedTo = new long[CountedTopics];
    private readonly long[] _bytesTo = new long[CountedTopics];
    private string[]? _countedTopics;

    /// <summary>The output topics in index order (made once).</summary>
    private string[] CountedTopicNames => _countedTopics ??=
    [
        _topics.Shared, _topics.Alerts, _topics.Results, _topics.Purges, _topics.Audit, _topics.DeadLetter,
        _topics.RepartitionReads, _topics.RepartitionQueries,
    ];

    /// <summary>Records handed to the producer so far, per topic (every output topic, zeros included).</summary>
    public IEnumerable<KeyValuePair<string, long>> ProducedByTopic() => ByTopic(_producedTo);

    /// <summary>
    /// Bytes handed to the producer so far, per topic: key and value lengths of each record (headers and Kafka's
    /// own framing not included), every output topic, zeros included.
    /// </summary>
    public IEnumerable<KeyValuePair<string, long>> ProducedBytesByTopic() => ByTopic(_bytesTo);

    private IEnumerable<KeyValuePair<string, long>> ByTopic(long[] counts)
    {
        string[] topics = CountedTopicNames;
        for (int i = 0; i < topics.Length; i++) yield return new(topics[i], Volatile.Read(ref counts[i]));
    }

    /// <summary>
    /// Adds a record's key and value lengths to its topic (the worker's thread, on every send; nothing allocated). The
    /// sink's own topic-partitions are made from the very strings of <see cref="CountedTopicNames"/>, so a reference
    /// comparison finds them; a forward's topic is the caller's string, equal but maybe another instance.
    /// </summary>
    private void CountBytes(TopicPartition destination, Message<byte[], byte[]> message)
    {
        int bytes = (message.Key?.Length ?? 0) + (message.Value?.Length ?? 0);
        string[] topics = CountedTopicNames;
        string topic = destination.Topic;
        for (int i = 0; i < topics.Length; i++)
        {
            if (ReferenceEquals(topics[i], topic))
            {
                _bytesTo[i] += bytes;
                return;
            }
        }
        for (int i = 0; i < topics.Length; i++)
        {
            if (string.Equals(topics[i], topic, StringComparison.Ordinal))
            {
                _bytesTo[i] += bytes;
                return;
            }
        }
    }
}
