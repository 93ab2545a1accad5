namespace StreamGuard.Engine;

/// <summary>
/// The engine's clock (SPEC §5): the wall clock in <c>run</c>; in <c>replay</c>, the latest accepted event time, so
/// the same input gives the same output.
/// </summary>
internal sealed class EngineClock(EngineOptions options)
{
    private readonly bool _eventTime = options.EventTimeClock;
    private readonly long _replayNowMs = options.ReplayNowMs;
    private readonly long _startMs = options.ReplayStartMs ?? options.ReplayNowMs;
    private long _latestEventMs = long.MinValue;

    /// <summary>
    /// Now in Unix milliseconds; in replay, before any accepted event, the replay's start (default: its "now").
    /// </summary>
    public long NowMs => _eventTime
        ? _latestEventMs == long.MinValue ? _startMs : _latestEventMs
        : WallMs;

    /// <summary>
    /// The clock as seen by an event stamped <paramref name="eventMs"/> that has passed the future check: in replay,
    /// the latest accepted event time, or the event's own time when it is the first.
    /// </summary>
    public long For(long eventMs) => _eventTime
        ? _latestEventMs == long.MinValue ? Math.Min(eventMs, _replayNowMs) : _latestEventMs
        : WallMs;

    /// <summary>
    /// The latest event time accepted: "now" (the replay's, or the wall clock) plus the allowed skew.
    /// </summary>
    public long FutureLimitMs(long maxClockSkewMs) => (_eventTime ? _replayNowMs : WallMs) + maxClockSkewMs;

    /// <summary>
    /// An event stamped <paramref name="eventMs"/> was accepted: in replay, the clock moves up to it.
    /// </summary>
    public void Advance(long eventMs)
    {
        if (_eventTime && eventMs > _latestEventMs) _latestEventMs = eventMs;
    }

    private static long WallMs => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
}
