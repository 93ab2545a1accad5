namespace StreamGuard.Kafka;

/// <summary>Records and bytes produced per output topic, for the metrics endpoint and the bench's and demo's
/// volume report.</summary>
public sealed partial class KafkaOutputSink
{
    private const int AuditIndex = 0, DeadLetterIndex = 1, RepartitionReadsIndex = 2, RepartitionQueriesIndex = 3,
        CountedTopics = 4;

    // Written by the worker's thread only (a plain increment per output); read by scrapes (a torn read cannot happen
    // on a 64-bit long read, and a slightly stale count is fine).
    private readonly long[] _producedTo = new long[CountedTopics];
    private readonly long[] _bytesTo = new long[CountedTopics];
    private string[]? _countedTopics;

    /// <summary>The fixed output topics in index order (made once).</summary>
    private string[] CountedTopicNames => _countedTopics ??=
        [_topics.Audit, _topics.DeadLetter, _topics.RepartitionReads, _topics.RepartitionQueries];

    /// <summary>
    /// Records handed to the producer so far, per topic: the fixed output topics, then the topics of every agency
    /// added (<see cref="AddAgencies"/>), zeros included.
    /// </summary>
    public IEnumerable<KeyValuePair<string, long>> ProducedByTopic() =>
        ByTopic().Select(t => new KeyValuePair<string, long>(t.Topic, t.Records));

    /// <summary>
    /// Bytes handed to the producer so far, per topic as <see cref="ProducedByTopic"/>: key and value lengths of each
    /// record (headers and Kafka's own framing not included).
    /// </summary>
    public IEnumerable<KeyValuePair<string, long>> ProducedBytesByTopic() =>
        ByTopic().Select(t => new KeyValuePair<string, long>(t.Topic, t.Bytes));

    /// <summary>
    /// Records and bytes per output topic, each per-agency topic with its kind and agency (null for the fixed topics):
    /// what reports group by kind.
    /// </summary>
    public IEnumerable<OutputTopicCount> ByTopic()
    {
        string[] topics = CountedTopicNames;
        for (int i = 0; i < topics.Length; i++)
        {
            yield return new(topics[i], null, null, Volatile.Read(ref _producedTo[i]), Volatile.Read(ref _bytesTo[i]));
        }
        foreach (AgencyTopics a in Volatile.Read(ref _agencyList))
        {
            foreach (OutputKind kind in TopicNames.Kinds)
            {
                int k = (int)kind;
                yield return new(a.ByKind[k].Topic, kind, a.IdText, Volatile.Read(ref a.Records[k]),
                    Volatile.Read(ref a.Bytes[k]));
            }
        }
    }
}

/// <summary>What was produced to one output topic: <paramref name="Kind"/> and <paramref name="Agency"/> name a
/// per-agency topic, null for the fixed ones.</summary>
public readonly record struct OutputTopicCount(string Topic, OutputKind? Kind, string? Agency, long Records,
    long Bytes);
