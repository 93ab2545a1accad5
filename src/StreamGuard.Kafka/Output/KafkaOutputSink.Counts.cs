namespace StreamGuard.Kafka;

/// <summary>Records produced per output topic, for the metrics endpoint.</summary>
public sealed partial class KafkaOutputSink
{
    private const int SharedIndex = 0, AlertsIndex = 1, ResultsIndex = 2, PurgesIndex = 3, AuditIndex = 4,
        DeadLetterIndex = 5, RepartitionReadsIndex = 6, RepartitionQueriesIndex = 7;

    // Written by the worker's thread only (a plain increment per output); read by scrapes (a torn read cannot happen
    // on a 64-bit long read, and a slightly stale count is fine).
    private readonly long[] _producedTo = new long[8];

    /// <summary>Records handed to the producer so far, per topic (every output topic, zeros included).</summary>
    public IEnumerable<KeyValuePair<string, long>> ProducedByTopic()
    {
        string[] topics =
        [
            _topics.Shared, _topics.Alerts, _topics.Results, _topics.Purges, _topics.Audit, _topics.DeadLetter,
            _topics.RepartitionReads, _topics.RepartitionQueries,
        ];
        for (int i = 0; i < topics.Length; i++) yield return new(topics[i], Volatile.Read(ref _producedTo[i]));
    }
}
