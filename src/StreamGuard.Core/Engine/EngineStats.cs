using StreamGuard.Parsing;

namespace StreamGuard.Engine;

/// <summary>
/// Counters of what the engine did. Written by the engine's thread; read anywhere (torn reads are harmless).
/// </summary>
public sealed class EngineStats
{
    private readonly long[] _decisions = new long[DecisionCodes.Count];
    private readonly long[] _deadLetters = new long[(int)ParseError.OversizedOutput + 1];

    public long Reads;
    public long Queries;
    public long Results;
    public long Purges;
    public long Shared;
    public long Alerts;
    public long HotlistEntries;
    public long HoldEvents;
    public long PolicyLoads;

    public long DeadLetters => _deadLetters.Sum();

    public void Count(DecisionCode code) => _decisions[(int)code]++;

    public void Count(ParseError error) => _deadLetters[(int)error]++;

    public long Decisions(DecisionCode code) => Volatile.Read(ref _decisions[(int)code]);

    public long DeadLettersOf(ParseError error) => Volatile.Read(ref _deadLetters[(int)error]);
}
