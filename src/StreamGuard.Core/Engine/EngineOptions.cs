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

    public static EngineOptions Default => new() { MaxEventBytes = DefaultMaxEventBytes };
}
