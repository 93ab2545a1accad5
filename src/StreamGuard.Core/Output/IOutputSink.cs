namespace StreamGuard.Output;

/// <summary>
/// Where the engine's outputs go (SPEC §6–§7): Kafka topics in <c>run</c>, NDJSON files in <c>replay</c>.
/// </summary>
/// <remarks>Spans are only valid during the call: a sink copies what it keeps.</remarks>
public interface IOutputSink
{
    /// <summary>
    /// A push delivery for <paramref name="recipient"/>, of the read <paramref name="readId"/>: value = the read's
    /// original bytes (SPEC §6, <c>alpr.shared.&lt;recipient&gt;</c>).
    /// </summary>
    void Shared(ReadOnlySpan<byte> recipient, ReadOnlySpan<byte> readId, ReadOnlySpan<byte> decisionId,
        ReadOnlySpan<byte> read);

    /// <summary>A hotlist alert for <paramref name="recipient"/> (the hotlist's owner), of hotlist
    /// <paramref name="hotlistId"/> (<c>alpr.alerts.&lt;recipient&gt;</c>).</summary>
    void Alert(ReadOnlySpan<byte> recipient, ReadOnlySpan<byte> hotlistId, ReadOnlySpan<byte> alert);

    /// <summary>A query answer for <paramref name="requester"/>, of query <paramref name="queryId"/>
    /// (<c>alpr.results.&lt;requester&gt;</c>).</summary>
    void Result(ReadOnlySpan<byte> requester, ReadOnlySpan<byte> queryId, ReadOnlySpan<byte> result);

    /// <summary>A purge notice for <paramref name="agency"/> (the read's owner or an agency it was pushed to), of the
    /// read <paramref name="readId"/> (<c>alpr.purges.&lt;agency&gt;</c>).</summary>
    void Purge(ReadOnlySpan<byte> agency, ReadOnlySpan<byte> readId, ReadOnlySpan<byte> notice);

    /// <summary>
    /// An audit block of the chain of input partition <paramref name="partition"/> on <c>streamguard.audit</c>,
    /// key = the chain's name, <c>p&lt;partition&gt;</c>.
    /// </summary>
    void Audit(int partition, ReadOnlySpan<byte> record);

    /// <summary>A rejected input on <c>streamguard.dlq</c>.</summary>
    void DeadLetter(ReadOnlySpan<byte> record);
}
