namespace StreamGuard.Kafka;

/// <summary>The topics of SPEC §1; each overridable (<c>--topic-reads</c>, …).</summary>
public sealed record TopicNames
{
    public string Reads { get; init; } = "alpr.reads";
    public string Queries { get; init; } = "alpr.queries";
    public string Hotlists { get; init; } = "alpr.hotlists";
    public string Holds { get; init; } = "alpr.holds";
    public string Shared { get; init; } = "alpr.shared";
    public string Alerts { get; init; } = "alpr.alerts";
    public string Results { get; init; } = "alpr.results";
    public string Purges { get; init; } = "alpr.purges";
    public string Audit { get; init; } = "streamguard.audit";
    public string DeadLetter { get; init; } = "streamguard.dlq";
    /// <summary>
    /// Internal: reads forwarded to their plate's partition (as many partitions as <see cref="Reads"/>).
    /// </summary>
    public string RepartitionReads { get; init; } = "streamguard.repartition.reads";
    /// <summary>
    /// Internal: queries forwarded to their plate's partition (as many partitions as <see cref="Queries"/>).
    /// </summary>
    public string RepartitionQueries { get; init; } = "streamguard.repartition.queries";

    /// <summary>The same names with a prefix (isolated test runs on a shared broker).</summary>
    public TopicNames WithPrefix(string prefix) => new()
    {
        Reads = prefix + Reads, Queries = prefix + Queries, Hotlists = prefix + Hotlists, Holds = prefix + Holds,
        Shared = prefix + Shared, Alerts = prefix + Alerts, Results = prefix + Results, Purges = prefix + Purges,
        Audit = prefix + Audit, DeadLetter = prefix + DeadLetter,
        RepartitionReads = prefix + RepartitionReads, RepartitionQueries = prefix + RepartitionQueries,
    };

    public IEnumerable<string> All =>
    [
        Reads, Queries, Hotlists, Holds, Shared, Alerts, Results, Purges, Audit, DeadLetter,
        RepartitionReads, RepartitionQueries,
    ];
}
