namespace StreamGuard.Bench;

/// <summary>The foundation read store (one object and two arrays per read), kept as the baseline.</summary>
public sealed class ObjectPerReadStore
{
    public sealed class Read
    {
        public required int Owner { get; init; }
        public required ulong Plate { get; init; }
        public required long ObservedAtMs { get; init; }
        public required long ExpiresAtMs { get; set; }
        public required byte[] ReadId { get; init; }
        public required byte[] Payload { get; init; }
    }

    private static readonly List<Read> s_none = [];
    private readonly Dictionary<ulong, List<Read>> _byPlate = [];
    private readonly PriorityQueue<Read, long> _expiry = new();

    public int Count { get; private set; }

    public void Add(ulong plate, int owner, long observedAtMs, long expiresAtMs, ReadOnlySpan<byte> readId,
        ReadOnlySpan<byte> payload)
    {
        var read = new Read
        {
            Owner = owner, Plate = plate, ObservedAtMs = observedAtMs, ExpiresAtMs = expiresAtMs,
            ReadId = readId.ToArray(), Payload = payload.ToArray(),
        };
        if (!_byPlate.TryGetValue(plate, out List<Read>? list)) _byPlate.Add(plate, list = new List<Read>(2));
        list.Add(read);
        _expiry.Enqueue(read, expiresAtMs);
        Count++;
    }

    public List<Read> Find(ulong plate) => _byPlate.TryGetValue(plate, out List<Read>? list) ? list : s_none;

    public bool TryPeekExpired(long nowMs, out Read? read)
    {
        if (_expiry.TryPeek(out read, out long expiresAt) && expiresAt <= nowMs) return true;
        read = null;
        return false;
    }

    public void RemoveHead()
    {
        Read read = _expiry.Dequeue();
        List<Read> list = _byPlate[read.Plate];
        list.Remove(read);
        if (list.Count == 0) _byPlate.Remove(read.Plate);
        Count--;
    }
}
