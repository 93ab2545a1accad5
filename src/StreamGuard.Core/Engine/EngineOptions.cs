using StreamGuard.Parsing;

namespace StreamGuard.Engine;

/// <summary>Options of the engine; change with <c>with</c>.</summary>
public readonly record struct EngineOptions
{
    /// <summary>
    /// True in <c>replay</c>: the clock is the latest accepted event time (deterministic output).
    /// False in <c>run</c>: the wall clock.
    /// </summary>
    public bool EventTimeClock { get; init; }

    /// <summary>In replay, "now" for the future-timestamp check (SPEC §5); ignored with the wall clock.</summary>
    public long ReplayNowMs { get; init; }

    /// <summary>
    /// In replay, the clock before the first accepted event (what tables loaded before it are judged and audited at);
    /// null: <see cref="ReplayNowMs"/>. Ignored with the wall clock.
    /// </summary>
    public long? ReplayStartMs { get; init; }

    /// <summary>Default cap on one event's size in bytes: a larger event is dead-lettered unparsed.</summary>
    public const int DefaultMaxEventBytes = EventParser.DefaultMaxEventBytes;

    /// <summary>Cap on one event's size in bytes; 0 = <see cref="DefaultMaxEventBytes"/>.</summary>
    public int MaxEventBytes { get; init; }

    /// <summary>
    /// Default bound of one query answer in bytes: under Kafka's default <c>message.max.bytes</c> (1,000,000) with
    /// room for the key (a query id, at most 512 bytes) and the record's overhead.
    /// </summary>
    public const int DefaultMaxResultBytes = 900_000;

    /// <summary>
    /// Bound of one query answer in bytes (its JSON value); 0 = <see cref="DefaultMaxResultBytes"/>. The newest reads
    /// that fit are disclosed and the answer says <c>"truncated":true</c>.
    /// </summary>
    /// <remarks>Keep it below the producer's <c>message.max.bytes</c> less the key and about 1 KB: an answer the
    /// producer would refuse is dead-lettered (<c>oversized_output</c>) instead of sent.</remarks>
    public int MaxResultBytes { get; init; }

    /// <summary>
    /// Audit keys used before the one in force (a rotation; in <c>run</c>, <c>--retired-audit-key</c>): a restore
    /// accepts chain tails they salted, and compares the plate references of the entries they made.
    /// </summary>
    public IReadOnlyList<byte[]>? RetiredAuditKeys { get; init; }

    public static EngineOptions Default => new() { MaxEventBytes = DefaultMaxEventBytes };
}
