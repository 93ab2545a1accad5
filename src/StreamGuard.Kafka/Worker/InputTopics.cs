namespace StreamGuard.Kafka;

/// <summary>
/// The worker's input topics in a fixed order: each consumed record is classified once by its topic, then counted
/// and dispatched by index.
/// </summary>
internal sealed class InputTopics
{
    public const int Reads = 0, Queries = 1, RepartitionReads = 2, RepartitionQueries = 3, Hotlists = 4, Holds = 5;

    private readonly TopicNames _topics;
    private readonly string[] _names;
    // Records consumed per input topic, by index; written by the worker's thread only.
    private readonly long[] _consumed = new long[6];

    public InputTopics(TopicNames topics)
    {
        _topics = topics;
        _names = [topics.Reads, topics.Queries, topics.RepartitionReads, topics.RepartitionQueries, topics.Hotlists,
            topics.Holds];
    }

    /// <summary>The index of an input topic; a topic that is none of the first five is the holds topic.</summary>
    public int IndexOf(string topic)
    {
        TopicNames t = _topics;
        return topic == t.Reads ? Reads : topic == t.Queries ? Queries : topic == t.RepartitionReads ? RepartitionReads
            : topic == t.RepartitionQueries ? RepartitionQueries : topic == t.Hotlists ? Hotlists : Holds;
    }

    /// <summary>A record of the input topic at <paramref name="index"/> was consumed.</summary>
    public void Count(int index) => _consumed[index]++;

    /// <summary>Records consumed so far per input topic (every input topic, zeros included).</summary>
    public IEnumerable<KeyValuePair<string, long>> Consumed()
    {
        for (int i = 0; i < _names.Length; i++) yield return new(_names[i], Volatile.Read(ref _consumed[i]));
    }
}
