using System.Text;
using System.Text.Json;
using StreamGuard.Audit;
using StreamGuard.Tests.Support;
using StreamGuard.Text;

namespace StreamGuard.Tests.Audit;

/// <summary>
/// The audit log keeps recent plate references in a cache that grows while it misses: whatever its size, every
/// reference written is the keyed hash of its plate.
/// </summary>
public sealed class PlateRefCacheTests : IDisposable
{
    private readonly TestPolicy _policy = new();

    public void Dispose() => _policy.Dispose();

    [Fact]
    public void EveryReferenceIsTheKeyedHashOfItsPlateWhileTheCacheGrows()
    {
        var sink = new MemorySink();
        var log = new AuditLog(TestPolicy.AuditKey, sink);
        log.SetPolicy(_policy.Compiled, null);
        // 90,000 plates three times over, then a few again: far more than the first cache holds, so it misses
        // enough to grow, and the later passes read references cached at every size.
        var plates = new List<ulong>();
        for (int i = 0; i < 90_000; i++)
        {
            Assert.True(Plate.TryPack(Encoding.ASCII.GetBytes("P" + i.ToString("D6")), out ulong plate));
            plates.Add(plate);
        }
        List<ulong> written = [.. plates, .. plates, .. plates, .. plates.Take(1000)];
        foreach (ulong plate in written)
        {
            log.BeginEntry(0, 1_700_000_000_000);
            log.WritePlateRef(plate);
            log.EndEntry();
        }
        log.Flush();
        Assert.True(log.PlateRefCacheSlots > 4096, $"the cache did not grow: {log.PlateRefCacheSlots} slots");

        var expected = new Dictionary<ulong, string>();
        List<string> refs = sink.AuditLines
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.TryGetProperty("plate_ref", out _))
            .Select(e => e.GetProperty("plate_ref").GetString()!).ToList();
        Assert.Equal(written.Count, refs.Count);
        for (int i = 0; i < written.Count; i++)
        {
            ulong plate = written[i];
            if (!expected.TryGetValue(plate, out string? reference))
            {
                expected[plate] = reference = AuditLog.PlateRef(TestPolicy.AuditKey, plate);
            }
            Assert.Equal(reference, refs[i]);
        }
    }
}
