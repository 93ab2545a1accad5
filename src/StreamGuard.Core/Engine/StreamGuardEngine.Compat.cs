// Forwarders for the Kafka worker, removed when it moves to the new API.
using StreamGuard.Audit;

namespace StreamGuard.Engine;

public sealed partial class StreamGuardEngine
{
    public ReadStore Store => _store;

    public AuditLog Audit => _audit;

    public int HoldCount => Holds.Count;

    public long? EarliestHeldMs => Holds.EarliestHeldMs;

    public int HotlistCount => Hotlists.Count;

    public void ApplyHold(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => Holds.Apply(key, value);

    public void AuditHoldRecord(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, in EventSource source) =>
        Holds.Audit(key, value, source);

    public void ApplyHotlist(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => Hotlists.Apply(key, value);

    public void CheckHotlist(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, in EventSource source) =>
        Hotlists.Check(key, value, source);

    public void ForgetPartition(int partition) => DropSourcePartition(partition);
}
