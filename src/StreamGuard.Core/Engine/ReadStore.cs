namespace StreamGuard.Engine;

/// <summary>
/// A resident read of a <see cref="ReadStore"/>: valid until the read is removed, or moved by a reschedule.
/// </summary>
internal readonly record struct StoredRead(int Partition, int Slot);

/// <summary>
/// The read store: plate → reads inside their owner's retention window, one <see cref="PartitionReads"/> per input
/// partition, evicted in expiry order.
/// </summary>
/// <remarks>
/// No object per read: a read is a 48-byte entry in segmented arrays plus its payload bytes in pooled arena chunks
/// grouped by expiry time, so memory comes back a chunk at a time as reads expire and the garbage collector has
/// a few thousand chunk arrays to track instead of millions of reads. Per partition, so a revoked partition is
/// dropped at once and each is rebuilt on its own. Not thread-safe.
/// </remarks>
internal sealed class ReadStore(int maxReadsPerPartition = PartitionReads.MaxReads)
{
    private PartitionReads?[] _partitions = new PartitionReads?[1];
    private int _peeked = -1;

    /// <summary>The most reads one partition holds.</summary>
    public int MaxReadsPerPartition => maxReadsPerPartition;

    /// <summary>The sets of agencies reads were pushed to, for every partition.</summary>
    public RecipientSets RecipientSets { get; } = new();

    /// <summary>Resident reads over every partition.</summary>
    public int Count => (int)Sum(static p => p.Count);

    /// <summary>Bytes of the reads' payloads (the original JSON), over every partition.</summary>
    public long PayloadBytes => Sum(static p => p.PayloadBytes);

    /// <summary>
    /// Bytes the store holds beyond the payloads: entries, hash buckets, the expiry heap and chunk tables (allocated
    /// capacity, not only what is used), plus read ids copied because they did not appear verbatim in the payload.
    /// </summary>
    public long IndexBytes => Sum(static p => p.IndexBytes);

    /// <summary>
    /// Bytes of arena chunks allocated (payloads, copied ids and the free space of partly filled chunks).
    /// </summary>
    public long ArenaBytes => Sum(static p => p.ArenaBytes);

    private long Sum(Func<PartitionReads, long> measure)
    {
        long n = 0;
        foreach (PartitionReads? p in _partitions)
        {
            if (p is not null) n += measure(p);
        }
        return n;
    }

    /// <summary>The reads of input partition <paramref name="partition"/>, or null when it has none.</summary>
    internal PartitionReads? Partition(int partition) =>
        (uint)partition < (uint)_partitions.Length ? _partitions[partition] : null;

    /// <summary>
    /// Stores a read; <paramref name="readId"/> is its id as parsed (the payload is searched for it first).
    /// </summary>
    public StoredRead Add(int partition, ulong plate, int owner, long observedAtMs, long expiresAtMs,
        ReadOnlySpan<byte> readId, ReadOnlySpan<byte> payload)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        if (partition >= _partitions.Length)
        {
            Array.Resize(ref _partitions, Math.Max(partition + 1, _partitions.Length * 2));
        }
        PartitionReads p = _partitions[partition] ??= new PartitionReads(maxReadsPerPartition);
        return new StoredRead(partition, p.Add(plate, owner, observedAtMs, expiresAtMs, readId, payload));
    }

    public ulong Plate(StoredRead read) => _partitions[read.Partition]!.Plate(read.Slot);

    public int Owner(StoredRead read) => _partitions[read.Partition]!.Owner(read.Slot);

    public long ObservedAtMs(StoredRead read) => _partitions[read.Partition]!.ObservedAtMs(read.Slot);

    public long ExpiresAtMs(StoredRead read) => _partitions[read.Partition]!.ExpiresAtMs(read.Slot);

    public ReadOnlySpan<byte> ReadId(StoredRead read) => _partitions[read.Partition]!.ReadId(read.Slot);

    /// <summary>The agencies the read was pushed to, ascending (the owner only if pushed to).</summary>
    public ReadOnlySpan<int> Recipients(StoredRead read) =>
        RecipientSets.Agencies(_partitions[read.Partition]!.Recipients(read.Slot));

    /// <summary>Records that the read was pushed to set <paramref name="set"/> of the recipient sets.</summary>
    public void SetRecipients(StoredRead read, int set) => _partitions[read.Partition]!.SetRecipients(read.Slot, set);

    /// <summary>
    /// Whether input partition <paramref name="partition"/> holds the most reads it may: its next read must be refused.
    /// </summary>
    public bool IsFull(int partition) => Partition(partition)?.IsFull == true;

    /// <summary>
    /// Counts a read refused because <paramref name="partition"/> is full; returns whether it is the first since the
    /// partition last had room (the one to log).
    /// </summary>
    public bool CountRefused(int partition)
    {
        PartitionReads p = _partitions[partition]!;
        return p.RefusedSinceRoom++ == 0;
    }

    /// <summary>
    /// Whether input partition <paramref name="partition"/> holds a read of <paramref name="owner"/> with id
    /// <paramref name="readId"/>, and if so its <paramref name="plate"/>: a copy of a read (the same plate: a producer
    /// retried, a batch was sent again), or another read under an id still in use (another plate). Exact, whenever
    /// the copy comes, at the cost of one probe of the partition's id index. One partition only: a read is stored in
    /// the partition it is decided on, which is its plate's (forwarded there when it arrives elsewhere), so its copies
    /// are there too, and what a restore judges by (owner, id) is that partition's chain.
    /// </summary>
    public bool TryFind(int partition, int owner, ReadOnlySpan<byte> readId, out ulong plate)
    {
        if (Partition(partition) is { } reads && reads.Find(owner, readId) is int slot and >= 0)
        {
            plate = reads.Plate(slot);
            return true;
        }
        plate = 0;
        return false;
    }

    public ReadOnlySpan<byte> Payload(StoredRead read) => _partitions[read.Partition]!.Payload(read.Slot);

    /// <summary>
    /// The resident reads of a plate in every partition (any order). Do not add or remove while enumerating.
    /// </summary>
    public PlateReads Find(ulong plate) => new(this, plate);

    /// <summary>
    /// The next read whose expiry is at or before <paramref name="nowMs"/> (lowest partition first, then expiry order),
    /// left in place: <see cref="RemoveHead"/> or <see cref="ExtendHead"/> deals with it.
    /// </summary>
    public bool TryPeekExpired(long nowMs, out StoredRead read)
    {
        for (int p = 0; p < _partitions.Length; p++)
        {
            if (_partitions[p] is { } reads && reads.TryPeekExpired(nowMs, out int slot))
            {
                _peeked = p;
                read = new StoredRead(p, slot);
                return true;
            }
        }
        _peeked = -1;
        read = default;
        return false;
    }

    /// <summary>Evicts the read <see cref="TryPeekExpired"/> returned.</summary>
    public void RemoveHead()
    {
        if (_peeked < 0) throw new InvalidOperationException("RemoveHead without a read from TryPeekExpired");
        _partitions[_peeked]!.RemoveHead();
        _peeked = -1;
    }

    /// <summary>
    /// Keeps the read <see cref="TryPeekExpired"/> returned until <paramref name="expiresAtMs"/> (a hold).
    /// </summary>
    public void ExtendHead(long expiresAtMs)
    {
        if (_peeked < 0) throw new InvalidOperationException("ExtendHead without a read from TryPeekExpired");
        _partitions[_peeked]!.ExtendHead(expiresAtMs);
        _peeked = -1;
    }

    /// <summary>
    /// Recomputes every resident read's expiry (a policy version changed some owner's window). O(n) in resident
    /// reads; called only when a window changed.
    /// </summary>
    public void Reschedule(Func<StoredRead, long> expiresAt)
    {
        for (int p = 0; p < _partitions.Length; p++)
        {
            int partition = p;
            _partitions[p]?.Reschedule(slot => expiresAt(new StoredRead(partition, slot)), onlyExtended: false);
        }
    }

    /// <summary>
    /// Recomputes the expiry of the reads a hold kept past their window (a hold was released or replaced). Costs in
    /// proportion to those reads, not to the store.
    /// </summary>
    public void RescheduleExtended(Func<StoredRead, long> expiresAt)
    {
        for (int p = 0; p < _partitions.Length; p++)
        {
            int partition = p;
            _partitions[p]?.Reschedule(slot => expiresAt(new StoredRead(partition, slot)), onlyExtended: true);
        }
    }

    /// <summary>
    /// Drops every resident read that came from input partition <paramref name="partition"/>, at once.
    /// </summary>
    public void RemovePartition(int partition)
    {
        if ((uint)partition < (uint)_partitions.Length) _partitions[partition] = null;
        _peeked = -1;
    }

    /// <summary>Enumerates the reads of one plate over every partition.</summary>
    public ref struct PlateReads
    {
        private readonly ReadStore _store;
        private readonly ulong _plate;
        private int _partition;
        private int _slot;

        internal PlateReads(ReadStore store, ulong plate)
        {
            _store = store;
            _plate = plate;
            _partition = -1;
            _slot = -1;
        }

        public readonly PlateReads GetEnumerator() => this;

        public readonly StoredRead Current => new(_partition, _slot);

        public bool MoveNext()
        {
            PartitionReads?[] partitions = _store._partitions;
            if (_partition >= 0 && partitions[_partition] is { } current)
            {
                _slot = current.NextOfPlate(_slot, _plate);
                if (_slot >= 0) return true;
            }
            while (++_partition < partitions.Length)
            {
                if (partitions[_partition] is not { } reads) continue;
                _slot = reads.FirstOfPlate(_plate);
                if (_slot >= 0) return true;
            }
            return false;
        }
    }
}
