namespace StreamGuard.Engine;

/// <summary>A read kept for queries: owner, time, id and the original JSON bytes.</summary>
public sealed class StoredRead
{
    public required int Owner { get; init; }
    public required ulong Plate { get; init; }
    public required long ObservedAtMs { get; init; }
    public required long ExpiresAtMs { get; set; }
    public required byte[] ReadId { get; init; }
    public required byte[] Payload { get; init; }
    /// <summary>The input partition the read came from: its purge is audited on that partition's chain.</summary>
    public int Partition { get; init; }
    public bool Evicted { get; set; }
}

/// <summary>
/// The foundation read store: plate → reads inside their owner's retention window, evicted in expiry order.
/// </summary>
/// <remarks>
/// One object and one payload copy per resident read: simple and correct, not yet the arena-backed store
/// the retention issue calls for (≤ 64 B overhead per read). Eviction is driven by the engine's clock on
/// every event, not by a batch job.
/// </remarks>
public sealed class ReadStore
{
    private readonly Dictionary<ulong, List<StoredRead>> _byPlate = [];
    private readonly PriorityQueue<StoredRead, long> _expiry = new();

    public int Count { get; private set; }

    public void Add(StoredRead read)
    {
        if (!_byPlate.TryGetValue(read.Plate, out List<StoredRead>? list))
        {
            list = new List<StoredRead>(2);
            _byPlate.Add(read.Plate, list);
        }
        list.Add(read);
        _expiry.Enqueue(read, read.ExpiresAtMs);
        Count++;
    }

    private static readonly List<StoredRead> s_none = [];

    /// <summary>The resident reads of a plate (any order), or an empty list. Do not modify it.</summary>
    public List<StoredRead> Find(ulong plate) =>
        _byPlate.TryGetValue(plate, out List<StoredRead>? list) ? list : s_none;

    /// <summary>
    /// Recomputes every resident read's expiry (a policy version changed some owner's window) and rebuilds the
    /// eviction order, so a shortened window purges on time. Costs O(n log n) in resident reads; called only when
    /// a window changed.
    /// </summary>
    public void Reschedule(Func<StoredRead, long> expiresAt)
    {
        var reads = new List<(StoredRead, long)>(_expiry.Count);
        while (_expiry.TryDequeue(out StoredRead? read, out _))
        {
            read.ExpiresAtMs = expiresAt(read);
            reads.Add((read, read.ExpiresAtMs));
        }
        _expiry.EnqueueRange(reads);
    }

    /// <summary>Removes every resident read that came from input partition <paramref name="partition"/>.</summary>
    public void RemovePartition(int partition)
    {
        var kept = new List<(StoredRead, long)>(_expiry.Count);
        while (_expiry.TryDequeue(out StoredRead? read, out long expiresAt))
        {
            if (read.Partition != partition) { kept.Add((read, expiresAt)); continue; }
            List<StoredRead> list = _byPlate[read.Plate];
            list.Remove(read);
            if (list.Count == 0) _byPlate.Remove(read.Plate);
            read.Evicted = true;
            Count--;
        }
        _expiry.EnqueueRange(kept);
    }

    /// <summary>The next read whose expiry is at or before <paramref name="nowMs"/>, left in place (see <see cref="RemoveHead"/>, <see cref="ExtendHead"/>).</summary>
    public bool TryPeekExpired(long nowMs, out StoredRead? read)
    {
        if (_expiry.TryPeek(out read, out long expiresAt) && expiresAt <= nowMs) return true;
        read = null;
        return false;
    }

    /// <summary>Evicts the read <see cref="TryPeekExpired"/> returned.</summary>
    public void RemoveHead()
    {
        StoredRead read = _expiry.Dequeue();
        List<StoredRead> list = _byPlate[read.Plate];
        list.Remove(read);
        if (list.Count == 0) _byPlate.Remove(read.Plate);
        read.Evicted = true;
        Count--;
    }

    /// <summary>Keeps the read <see cref="TryPeekExpired"/> returned until <paramref name="expiresAtMs"/> (a hold).</summary>
    public void ExtendHead(long expiresAtMs)
    {
        StoredRead read = _expiry.Dequeue();
        read.ExpiresAtMs = expiresAtMs;
        _expiry.Enqueue(read, expiresAtMs);
    }

}
