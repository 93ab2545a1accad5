using StreamGuard.Output;

namespace StreamGuard.Bench;

/// <summary>An output sink that drops everything: what is measured is the engine's own work.</summary>
internal sealed class NullSink : IOutputSink
{
    public static readonly NullSink Instance = new();

    public void Shared(ReadOnlySpan<byte> recipient, ReadOnlySpan<byte> readId, ReadOnlySpan<byte> decisionId,
        ReadOnlySpan<byte> read) { }

    public void Alert(ReadOnlySpan<byte> recipient, ReadOnlySpan<byte> hotlistId, ReadOnlySpan<byte> alert) { }

    public void Result(ReadOnlySpan<byte> requester, ReadOnlySpan<byte> queryId, ReadOnlySpan<byte> result) { }

    public void Purge(ReadOnlySpan<byte> agency, ReadOnlySpan<byte> readId, ReadOnlySpan<byte> notice) { }

    public void Audit(int partition, ReadOnlySpan<byte> record) { }

    public void DeadLetter(ReadOnlySpan<byte> record) { }
}
