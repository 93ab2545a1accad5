namespace StreamGuard.Output;

/// <summary>
/// Where the engine's outputs go (SPEC §6–§7): Kafka topics in <c>run</c>, NDJSON files in <c>replay</c>.
/// </summary>
/// <remarks>Spans are only valid during the call: a sink copies what it keeps.</remarks>
public interface IOutputSink
{
    /// <summary>A push delivery: <c>alpr.shared</c>, key = recipient, value = the read's original bytes.</summary>
    void Shared(ReadOnlySpan<byte> recipient, ReadOnlySpan<byte> decisionId, ReadOnlySpan<byte> read);

    /// <summary>An alert on <c>alpr.alerts</c>, key = hotlist owner.</summary>
    void Alert(ReadOnlySpan<byte> owner, ReadOnlySpan<byte> alert);

    /// <summary>A query answer on <c>alpr.results</c>, key = query id.</summary>
    void Result(ReadOnlySpan<byte> queryId, ReadOnlySpan<byte> result);

    /// <summary>A purge notice on <c>alpr.purges</c>, key = read id.</summary>
    void Purge(ReadOnlySpan<byte> readId, ReadOnlySpan<byte> notice);

    /// <summary>
    /// An audit record of the chain of input partition <paramref name="partition"/> on <c>streamguard.audit</c>,
    /// key = the chain's name, <c>p&lt;partition&gt;</c>.
    /// </summary>
    void Audit(int partition, ReadOnlySpan<byte> record);

    /// <summary>A rejected input on <c>streamguard.dlq</c>.</summary>
    void DeadLetter(ReadOnlySpan<byte> record);
}
