using System.Numerics;
using System.Runtime.CompilerServices;

namespace StreamGuard.Engine;

/// <summary>
/// The reads of one input partition: hash indexes by plate and by id and an expiry heap over 48-byte entries,
/// payloads in arena chunks grouped by expiry time.
/// </summary>
/// <remarks>
/// <para>Layout. A read is a slot: an <see cref="Entry"/> in segmented arrays (plate, times, owner, where its bytes
/// are, its links in the plate chain), plus, in parallel arrays, 2 bytes naming the set of agencies the read was pushed
/// to (<see cref="RecipientSets"/>: they get its purge notice) and 4 bytes of its link in the id index. Reads of one
/// plate are found through a bucket array (load ≤ 2) whose chains run through the entries, doubly linked so a removal
/// is O(1) however many reads a plate has. A read is found by owner and id (<see cref="Find"/>: one owner's id names
/// one resident read) through a second bucket array (load ≤ 1) whose chains run through the id links, each with an
/// 8-bit fingerprint of its id so that a probe rarely visits an entry or the arena for another id; a removal walks
/// only its bucket's links. No index is ever rebuilt but to grow. The expiry order is a 4-ary min-heap of 8-byte
/// keys (expiry in ms since a base in the high 40 bits, the slot in the low 24), so eviction touches one cache line
/// per level and no entry; a key whose entry changed or went is stale and is dropped when it surfaces (a reschedule
/// pushes a new key instead of searching the heap). Index overhead: 48 bytes of entry, 2 of recipient set, 2–4 of
/// plate bucket, 8 of heap key, 4 of id link and 4–8 of id bucket ≈ 72 bytes per resident read beyond its payload.
/// The base is 8 years before the earliest expiry seen; an earlier one moves it back and rebuilds the heap (O(n),
/// rare), so expiries in any year order exactly.</para>
/// <para>Arena. Payloads are copied into byte-array chunks of up to 64 KiB. A chunk only takes reads whose expiry
/// falls in one epoch (1/32 to 1/64 of their window, at least 65 s: 65 s for a 3-minute window, 25 days for
/// 30 months), so reads that expire together share chunks and a chunk goes back to a small pool when its last read
/// is gone: memory is returned in proportion to what expires, with at most one epoch's reads held past their end.
/// Chunks of an epoch double from 4 KiB (or the size the previous epoch of that window reached), so sparse epochs
/// stay small.</para>
/// <para>Limits: at most <see cref="MaxReads"/> (16,777,215) resident reads per partition: <see cref="IsFull"/>
/// says when the next read must be refused (the engine refuses it with an audited code; <see cref="Add"/> past it is
/// a bug and throws); a payload of at most <see cref="MaxPayloadBytes"/> (events are capped at 16 MiB before this).
/// Expiries are ordered exactly up to about 34 years after the base (later ones sort as equal, and are still checked
/// exactly).</para>
/// </remarks>
internal sealed class PartitionReads
{
    private const int SegmentBits = 12;
    private const int SegmentSize = 1 << SegmentBits;
    private const int SegmentMask = SegmentSize - 1;
    private const int SlotBits = 24;
    private const ulong SlotMask = (1UL << SlotBits) - 1;
    private const long KeyMarginMs = 8 * 365L * 86_400_000;
    private const long MaxKeyMs = (1L << (64 - SlotBits)) - 1;
    private const ushort IdCopied = 0x8000;
    private const int FirstChunkBytes = 4 * 1024;
    private const int SpareChunksKept = 16;
    private const uint IdNextMask = (1u << SlotBits) - 1;

    /// <summary>The largest payload a read may have (32 MiB - 1: events are capped well below, at 16 MiB).</summary>
    public const int MaxPayloadBytes = (1 << 25) - 1;

    /// <summary>The most reads one partition holds.</summary>
    public const int MaxReads = (1 << SlotBits) - 1;

    /// <summary>The largest arena chunk; a bigger payload gets a chunk of its own.</summary>
    public const int ChunkBytes = 64 * 1024;

    private struct Entry
    {
        public ulong Plate;
        public long ObservedAtMs;
        public long ExpiresAtMs;
        public int Chunk;          // the arena chunk holding the record; -1 when the slot is free
        public ushort Offset;      // where the record starts in its chunk
        public ushort Owner;
        public int Length;         // payload bytes
        public int NextOfPlate;    // next slot in the bucket chain (or in the free list); -1 at the end
        public int PrevOfPlate;    // previous slot in the bucket chain; -1 when first
        public ushort IdOffset;    // where the read id starts, from the record start
        public ushort IdLength;    // its length; IdCopied when it was copied in front of the payload

        public readonly bool IsFree => Chunk < 0;
    }

    private Entry[][] _entries = [];
    private int _slotsUsed;
    private int _freeSlot = -1;
    private int[] _buckets = new int[16]; // slot + 1; 0 = empty
    private int _bucketShift = 64 - 4;
    private int[] _idBuckets = new int[16]; // slot + 1; 0 = empty
    private int _idShift = 64 - 4;
    private uint[][] _idNext = []; // per slot: the next slot + 1 in its bucket (low 24 bits), its fingerprint (high 8)
    private ushort[][] _recipients = [];
    private ulong[][] _heap = [];
    private long _keyBaseMs = long.MaxValue; // no read yet
    private int _heapCount;
    private readonly HashSet<int> _extended = [];

    private byte[]?[] _chunks = new byte[]?[8];
    private int[] _chunkUsed = new int[8];
    private int[] _chunkLive = new int[8];
    private long[] _chunkEpoch = new long[8];
    private int _chunkSlots;
    private readonly Stack<int> _freeChunkSlots = new();
    private readonly Stack<byte[]> _spareChunks = new();
    private readonly Dictionary<long, int> _openChunk = [];
    private readonly int[] _chunkSizeByShift = new int[64];
    private long _arenaBytes;
    private long _copiedIdBytes;

    private readonly int _maxReads;

    /// <summary>A partition's reads, at most <paramref name="maxReads"/> of them (tests lower it).</summary>
    public PartitionReads(int maxReads = MaxReads)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxReads);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxReads, MaxReads);
        _maxReads = maxReads;
    }

    /// <summary>Resident reads.</summary>
    public int Count { get; private set; }

    /// <summary>Whether the next read must be refused: the partition holds the most reads it may.</summary>
    public bool IsFull => Count >= _maxReads;

    /// <summary>Reads refused since the partition last had room (the first of a run is logged).</summary>
    public long RefusedSinceRoom { get; set; }

    /// <summary>Bytes of the resident reads' payloads.</summary>
    public long PayloadBytes { get; private set; }

    /// <summary>Bytes of arena chunks allocated.</summary>
    public long ArenaBytes => _arenaBytes;

    /// <summary>Bytes held beyond the payloads (see <see cref="ReadStore.IndexBytes"/>).</summary>
    public long IndexBytes
    {
        get
        {
            long n = 0;
            foreach (Entry[] segment in _entries) n += (long)segment.Length * Unsafe.SizeOf<Entry>();
            foreach (ulong[] segment in _heap) n += (long)segment.Length * sizeof(ulong);
            foreach (ushort[] segment in _recipients) n += (long)segment.Length * sizeof(ushort);
            foreach (uint[] segment in _idNext) n += (long)segment.Length * sizeof(uint);
            n += (long)_buckets.Length * sizeof(int) + (long)_idBuckets.Length * sizeof(int);
            n += (long)_chunks.Length * (IntPtr.Size + sizeof(int) + sizeof(int) + sizeof(long));
            n += (long)_openChunk.Count * 24 + (long)_extended.Count * 12;
            return n + _copiedIdBytes;
        }
    }

    // ---- reading entries -----------------------------------------------------------------------

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref Entry At(int slot) => ref _entries[slot >> SegmentBits][slot & SegmentMask];

    public ulong Plate(int slot) => At(slot).Plate;

    public int Owner(int slot) => At(slot).Owner;

    public long ObservedAtMs(int slot) => At(slot).ObservedAtMs;

    public long ExpiresAtMs(int slot) => At(slot).ExpiresAtMs;

    /// <summary>The set of agencies the read was pushed to (<see cref="RecipientSets"/>; 0: none).</summary>
    public int Recipients(int slot) => _recipients[slot >> SegmentBits][slot & SegmentMask];

    /// <summary>Records the set of agencies the read was pushed to.</summary>
    public void SetRecipients(int slot, int set) =>
        _recipients[slot >> SegmentBits][slot & SegmentMask] = checked((ushort)set);

    public ReadOnlySpan<byte> Payload(int slot)
    {
        ref Entry e = ref At(slot);
        int start = e.Offset + ((e.IdLength & IdCopied) != 0 ? e.IdLength & ~IdCopied : 0);
        return new ReadOnlySpan<byte>(_chunks[e.Chunk], start, e.Length);
    }

    public ReadOnlySpan<byte> ReadId(int slot)
    {
        ref Entry e = ref At(slot);
        return new ReadOnlySpan<byte>(_chunks[e.Chunk], e.Offset + e.IdOffset, e.IdLength & ~IdCopied);
    }

    /// <summary>
    /// The resident read of <paramref name="owner"/> with id <paramref name="readId"/>, whatever its plate, or -1: a
    /// bucket of the id index (load ≤ 1), whose reads are compared by an 8-bit fingerprint before their entry and
    /// their id's bytes in the arena are visited.
    /// </summary>
    public int Find(int owner, ReadOnlySpan<byte> readId)
    {
        ulong hash = IdHash(owner, readId);
        uint fingerprint = Fingerprint(hash);
        for (int v = _idBuckets[(int)(hash >> _idShift)]; v != 0;)
        {
            int slot = v - 1;
            uint next = IdNext(slot);
            if (next >> SlotBits == fingerprint && At(slot).Owner == owner && ReadId(slot).SequenceEqual(readId))
            {
                return slot;
            }
            v = (int)(next & IdNextMask);
        }
        return -1;
    }

    /// <summary>
    /// Seeds the id hash per process, so that ids chosen without seeing it do not land in one bucket by design of the
    /// hash alone. Not a keyed function: pairs of 8-byte words can be made to collide whatever the seed (bytes of
    /// 0x80 and above in the id, which JSON must carry as valid UTF-8); a bucket's chain is walked in full.
    /// </summary>
    private static readonly ulong s_idSeed = (ulong)Random.Shared.NextInt64() | 1;

    /// <summary>A 64-bit hash of (owner, read id), seeded per process; never stored outside it.</summary>
    internal static ulong IdHash(int owner, ReadOnlySpan<byte> id)
    {
        ulong h = (s_idSeed ^ ((ulong)id.Length << 32) ^ (uint)owner) * 0x9E3779B97F4A7C15UL;
        while (id.Length >= 8)
        {
            h = (h ^ System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(id)) * 0xBF58476D1CE4E5B9UL;
            h ^= h >> 31;
            id = id[8..];
        }
        ulong tail = 0;
        foreach (byte b in id) tail = (tail << 8) | b;
        h = (h ^ tail) * 0x94D049BB133111EBUL;
        return h ^ (h >> 29);
    }

    /// <summary>The id's fingerprint kept beside its link: bits the bucket index (the top ≤ 24) never uses.</summary>
    internal static uint Fingerprint(ulong hash) => (uint)(hash >> 8) & 0xFF;

    /// <summary>The first resident read of <paramref name="plate"/>, or -1.</summary>
    public int FirstOfPlate(ulong plate) => Follow(_buckets[Bucket(plate)] - 1, plate);

    /// <summary>The resident read of <paramref name="plate"/> after <paramref name="slot"/>, or -1.</summary>
    public int NextOfPlate(int slot, ulong plate) => Follow(At(slot).NextOfPlate, plate);

    private int Follow(int slot, ulong plate)
    {
        while (slot >= 0)
        {
            ref Entry e = ref At(slot);
            if (e.Plate == plate) return slot;
            slot = e.NextOfPlate;
        }
        return -1;
    }

    // ---- adding and removing -------------------------------------------------------------------

    /// <summary>Stores a read and returns its slot.</summary>
    public int Add(ulong plate, int owner, long observedAtMs, long expiresAtMs, ReadOnlySpan<byte> readId,
        ReadOnlySpan<byte> payload)
    {
        if (Count >= _maxReads) ThrowFull();
        if ((uint)owner > ushort.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(owner), owner, "agency index beyond 65,535");
        }
        if (readId.IsEmpty || readId.Length > 0x7FFF)
        {
            throw new ArgumentOutOfRangeException(nameof(readId), readId.Length, "a read id is 1 to 32,767 bytes");
        }
        if (payload.Length > MaxPayloadBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(payload), payload.Length, "a read is at most 32 MiB - 1");
        }

        if (expiresAtMs < _keyBaseMs) Rebase(expiresAtMs);
        int slot = NewSlot();
        SetRecipients(slot, 0);
        ref Entry e = ref At(slot);
        e.Plate = plate;
        e.ObservedAtMs = observedAtMs;
        e.ExpiresAtMs = expiresAtMs;
        e.Owner = (ushort)owner;
        e.Length = payload.Length;
        // The id is nearly always in the payload verbatim (unless the JSON escaped it): point at it, not a copy.
        int at = payload.IndexOf(readId);
        if ((uint)at <= ushort.MaxValue)
        {
            e.IdOffset = (ushort)at;
            e.IdLength = (ushort)readId.Length;
            Place(ref e, payload, default);
        }
        else
        {
            e.IdOffset = 0;
            e.IdLength = (ushort)(readId.Length | IdCopied);
            _copiedIdBytes += readId.Length;
            Place(ref e, readId, payload);
        }
        Link(slot, ref e);
        IndexId(slot, IdHash(owner, readId));
        HeapPush(Key(expiresAtMs, slot));
        Count++;
        PayloadBytes += payload.Length;
        if (Count > 2 * _buckets.Length) GrowBuckets();
        if (Count > _idBuckets.Length) GrowIdBuckets();
        return slot;
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void ThrowFull() =>
        throw new InvalidOperationException(
            $"a partition's read store holds at most {_maxReads:N0} reads: refuse the read (IsFull) before adding it");

    private int NewSlot()
    {
        if (_freeSlot >= 0)
        {
            int slot = _freeSlot;
            _freeSlot = At(slot).NextOfPlate;
            return slot;
        }
        int next = _slotsUsed++;
        int segment = next >> SegmentBits;
        if (segment == _entries.Length) Array.Resize(ref _entries, segment + 1);
        Entry[]? entries = _entries[segment];
        if (entries is null || (next & SegmentMask) >= entries.Length)
        {
            // The first segment grows from 64 entries, so a small store stays small; later ones are allocated whole.
            int size = segment == 0 ? Math.Max(64, (entries?.Length ?? 32) * 2) : SegmentSize;
            Array.Resize(ref entries, Math.Min(size, SegmentSize));
            _entries[segment] = entries;
            if (segment == _recipients.Length)
            {
                Array.Resize(ref _recipients, segment + 1);
                Array.Resize(ref _idNext, segment + 1);
            }
            ushort[]? sets = _recipients[segment];
            Array.Resize(ref sets, entries.Length);
            _recipients[segment] = sets;
            uint[]? links = _idNext[segment];
            Array.Resize(ref links, entries.Length);
            _idNext[segment] = links;
        }
        return next;
    }

    private void Remove(int slot)
    {
        ref Entry e = ref At(slot);
        Unlink(ref e);
        UnindexId(slot); // before Release: the id's bytes are in the arena
        Release(ref e);
        Count--;
        PayloadBytes -= e.Length;
        if ((e.IdLength & IdCopied) != 0) _copiedIdBytes -= e.IdLength & ~IdCopied;
        e.Chunk = -1;
        e.NextOfPlate = _freeSlot;
        _freeSlot = slot;
        if (_extended.Count != 0) _extended.Remove(slot);
        RefusedSinceRoom = 0;
    }

    // ---- plate index ---------------------------------------------------------------------------

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Bucket(ulong plate) => (int)((plate * 0x9E3779B97F4A7C15UL) >> _bucketShift);

    private void Link(int slot, ref Entry e)
    {
        int b = Bucket(e.Plate);
        int head = _buckets[b] - 1;
        e.NextOfPlate = head;
        e.PrevOfPlate = -1;
        if (head >= 0) At(head).PrevOfPlate = slot;
        _buckets[b] = slot + 1;
    }

    private void Unlink(ref Entry e)
    {
        if (e.PrevOfPlate >= 0) At(e.PrevOfPlate).NextOfPlate = e.NextOfPlate;
        else _buckets[Bucket(e.Plate)] = e.NextOfPlate + 1;
        if (e.NextOfPlate >= 0) At(e.NextOfPlate).PrevOfPlate = e.PrevOfPlate;
    }

    private void GrowBuckets()
    {
        _buckets = new int[_buckets.Length * 2];
        _bucketShift--;
        for (int slot = 0; slot < _slotsUsed; slot++)
        {
            ref Entry e = ref At(slot);
            if (!e.IsFree) Link(slot, ref e);
        }
    }

    // ---- id index ------------------------------------------------------------------------------

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref uint IdNext(int slot) => ref _idNext[slot >> SegmentBits][slot & SegmentMask];

    private void IndexId(int slot, ulong hash)
    {
        ref int head = ref _idBuckets[(int)(hash >> _idShift)];
        IdNext(slot) = (Fingerprint(hash) << SlotBits) | (uint)head;
        head = slot + 1;
    }

    /// <summary>Takes a read out of its id bucket: a walk over the bucket's links, not over the arena.</summary>
    private void UnindexId(int slot)
    {
        ref int head = ref _idBuckets[(int)(IdHash(At(slot).Owner, ReadId(slot)) >> _idShift)];
        uint next = IdNext(slot) & IdNextMask;
        if (head == slot + 1)
        {
            head = (int)next;
            return;
        }
        // The read is in this bucket, so the walk meets it before the end.
        for (int v = head; ;)
        {
            ref uint link = ref IdNext(v - 1);
            v = (int)(link & IdNextMask);
            if (v == slot + 1)
            {
                link = (link & ~IdNextMask) | next;
                return;
            }
        }
    }

    /// <summary>
    /// Doubles the id index's buckets (load ≤ 1): O(n) with a visit to every id in the arena, as many times as the
    /// partition's reads double, never while their number holds steady.
    /// </summary>
    private void GrowIdBuckets()
    {
        _idBuckets = new int[_idBuckets.Length * 2];
        _idShift--;
        for (int slot = 0; slot < _slotsUsed; slot++)
        {
            ref Entry e = ref At(slot);
            if (!e.IsFree) IndexId(slot, IdHash(e.Owner, ReadId(slot)));
        }
    }

    // ---- expiry --------------------------------------------------------------------------------

    /// <summary>
    /// The heap key: the expiry since the base (every resident expiry is at or after it), clamped at the top.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong Key(long expiresAtMs, int slot) =>
        (Math.Min(unchecked((ulong)expiresAtMs - (ulong)_keyBaseMs), MaxKeyMs) << SlotBits) | (uint)slot;

    /// <summary>
    /// Moves the key base to <see cref="KeyMarginMs"/> before <paramref name="earliestMs"/> (an expiry before the base)
    /// and rebuilds the heap with keys from that base.
    /// </summary>
    private void Rebase(long earliestMs)
    {
        _keyBaseMs = earliestMs > long.MinValue + KeyMarginMs ? earliestMs - KeyMarginMs : long.MinValue;
        RebuildHeap();
    }

    private void RebuildHeap()
    {
        _heapCount = 0;
        for (int slot = 0; slot < _slotsUsed; slot++)
        {
            ref Entry e = ref At(slot);
            if (!e.IsFree) HeapAppend(Key(e.ExpiresAtMs, slot));
        }
        for (int i = (_heapCount - 2) >> 2; i >= 0; i--) SiftDown(i, HeapAt(i));
    }

    /// <summary>The read with the earliest expiry, if that is at or before <paramref name="nowMs"/>.</summary>
    public bool TryPeekExpired(long nowMs, out int slot)
    {
        while (_heapCount > 0)
        {
            ulong key = HeapAt(0);
            int s = (int)(key & SlotMask);
            ref Entry e = ref At(s);
            if (e.IsFree || Key(e.ExpiresAtMs, s) != key)
            {
                HeapPop(); // stale: the read went, or a reschedule gave it another key
                continue;
            }
            if (e.ExpiresAtMs > nowMs) break;
            slot = s;
            return true;
        }
        slot = -1;
        return false;
    }

    /// <summary>Evicts the read <see cref="TryPeekExpired"/> returned.</summary>
    public void RemoveHead()
    {
        int slot = (int)(HeapAt(0) & SlotMask);
        HeapPop();
        Remove(slot);
    }

    /// <summary>
    /// Keeps the read <see cref="TryPeekExpired"/> returned until <paramref name="expiresAtMs"/> (a hold).
    /// </summary>
    public void ExtendHead(long expiresAtMs)
    {
        int slot = (int)(HeapAt(0) & SlotMask);
        HeapPop();
        SetExpiry(slot, expiresAtMs);
        _extended.Add(slot);
    }

    /// <summary>
    /// New expiries from <paramref name="expiresAt"/>: for every read, or only for those a hold kept past their window.
    /// </summary>
    public void Reschedule(Func<int, long> expiresAt, bool onlyExtended)
    {
        if (onlyExtended)
        {
            if (_extended.Count == 0) return;
            foreach (int slot in _extended.ToArray())
            {
                long expires = expiresAt(slot);
                if (expires != At(slot).ExpiresAtMs) SetExpiry(slot, expires);
            }
            return;
        }
        long earliest = long.MaxValue;
        for (int slot = 0; slot < _slotsUsed; slot++)
        {
            ref Entry e = ref At(slot);
            if (e.IsFree) continue;
            long expires = expiresAt(slot);
            earliest = Math.Min(earliest, expires);
            if (expires == e.ExpiresAtMs) continue;
            e.ExpiresAtMs = expires;
            Move(ref e);
        }
        // Rebuilt from the entries: no stale key survives a full reschedule.
        if (earliest < _keyBaseMs) Rebase(earliest);
        else RebuildHeap();
    }

    private void SetExpiry(int slot, long expiresAtMs)
    {
        ref Entry e = ref At(slot);
        e.ExpiresAtMs = expiresAtMs;
        Move(ref e);
        if (expiresAtMs < _keyBaseMs) Rebase(expiresAtMs); // rebuilt from the entries, this one's new expiry too
        else HeapPush(Key(expiresAtMs, slot)); // the old key, if still in the heap, is stale now
    }

    // ---- the expiry heap (4-ary, segmented) ------------------------------------------------------

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref ulong HeapAt(int i) => ref _heap[i >> SegmentBits][i & SegmentMask];

    private void HeapAppend(ulong key)
    {
        int i = _heapCount;
        int segment = i >> SegmentBits;
        if (segment == _heap.Length) Array.Resize(ref _heap, segment + 1);
        ulong[]? keys = _heap[segment];
        if (keys is null || (i & SegmentMask) >= keys.Length)
        {
            int size = segment == 0 ? Math.Max(64, (keys?.Length ?? 32) * 2) : SegmentSize;
            Array.Resize(ref keys, Math.Min(size, SegmentSize));
            _heap[segment] = keys;
        }
        keys[i & SegmentMask] = key;
        _heapCount++;
    }

    private void HeapPush(ulong key)
    {
        HeapAppend(key);
        int i = _heapCount - 1;
        while (i > 0)
        {
            int parent = (i - 1) >> 2;
            ulong p = HeapAt(parent);
            if (p <= key) break;
            HeapAt(i) = p;
            i = parent;
        }
        HeapAt(i) = key;
    }

    private void HeapPop()
    {
        ulong last = HeapAt(--_heapCount);
        if (_heapCount > 0) SiftDown(0, last);
    }

    private void SiftDown(int i, ulong key)
    {
        while (true)
        {
            int first = (i << 2) + 1;
            if (first >= _heapCount) break;
            int end = Math.Min(first + 4, _heapCount);
            int min = first;
            ulong minKey = HeapAt(first);
            for (int c = first + 1; c < end; c++)
            {
                ulong k = HeapAt(c);
                if (k < minKey) { minKey = k; min = c; }
            }
            if (key <= minKey) break;
            HeapAt(i) = minKey;
            i = min;
        }
        HeapAt(i) = key;
    }

    // ---- the arena -----------------------------------------------------------------------------

    /// <summary>Reads that expire together share chunks: the epoch is 1/32 to 1/64 of the read's window.</summary>
    private static long Epoch(in Entry e)
    {
        long window = Math.Max(e.ExpiresAtMs - e.ObservedAtMs, 1);
        int shift = Math.Clamp(BitOperations.Log2((ulong)window) - 5, 16, 40);
        return ((long)shift << 56) | ((e.ExpiresAtMs >> shift) & ((1L << 56) - 1));
    }

    private static int RecordSize(in Entry e) => e.Length + ((e.IdLength & IdCopied) != 0 ? e.IdLength & ~IdCopied : 0);

    /// <summary>
    /// Copies a record (<paramref name="first"/> then <paramref name="second"/>) into a chunk of the entry's epoch.
    /// </summary>
    private void Place(ref Entry e, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second)
    {
        int size = first.Length + second.Length;
        long epoch = Epoch(e);
        int chunk;
        if (size > ChunkBytes)
        {
            chunk = NewChunk(size, epoch);
        }
        else if (!_openChunk.TryGetValue(epoch, out chunk) || _chunkUsed[chunk] + size > _chunks[chunk]!.Length)
        {
            // An epoch's chunks double from the size the last epoch of this window reached (4 KiB at first).
            int shift = (int)(epoch >>> 56);
            int next = _openChunk.TryGetValue(epoch, out int full)
                ? _chunks[full]!.Length * 2
                : Math.Max(_chunkSizeByShift[shift], FirstChunkBytes);
            next = Math.Min(next, ChunkBytes);
            _chunkSizeByShift[shift] = next;
            chunk = NewChunk(Math.Max(size, next), epoch);
            _openChunk[epoch] = chunk;
        }
        int offset = _chunkUsed[chunk];
        Span<byte> target = _chunks[chunk].AsSpan(offset, size);
        first.CopyTo(target);
        second.CopyTo(target[first.Length..]);
        _chunkUsed[chunk] = offset + size;
        _chunkLive[chunk]++;
        e.Chunk = chunk;
        e.Offset = (ushort)offset;
    }

    /// <summary>After the expiry changed: the record moves to a chunk of its new epoch, if that differs.</summary>
    private void Move(ref Entry e)
    {
        if (Epoch(e) == _chunkEpoch[e.Chunk]) return;
        byte[] from = _chunks[e.Chunk]!;
        int offset = e.Offset;
        int size = RecordSize(e);
        int oldChunk = e.Chunk;
        Place(ref e, from.AsSpan(offset, size), default);
        ReleaseChunkRecord(oldChunk);
    }

    private void Release(ref Entry e) => ReleaseChunkRecord(e.Chunk);

    private void ReleaseChunkRecord(int chunk)
    {
        if (--_chunkLive[chunk] != 0) return;
        long epoch = _chunkEpoch[chunk];
        if (_openChunk.TryGetValue(epoch, out int open) && open == chunk) _openChunk.Remove(epoch);
        byte[] bytes = _chunks[chunk]!;
        _arenaBytes -= bytes.Length;
        if (bytes.Length == ChunkBytes && _spareChunks.Count < SpareChunksKept) _spareChunks.Push(bytes);
        _chunks[chunk] = null;
        _freeChunkSlots.Push(chunk);
    }

    private int NewChunk(int size, long epoch)
    {
        int chunk;
        if (!_freeChunkSlots.TryPop(out chunk))
        {
            chunk = _chunkSlots++;
            if (chunk == _chunks.Length)
            {
                int length = _chunks.Length * 2;
                Array.Resize(ref _chunks, length);
                Array.Resize(ref _chunkUsed, length);
                Array.Resize(ref _chunkLive, length);
                Array.Resize(ref _chunkEpoch, length);
            }
        }
        byte[] bytes = size == ChunkBytes && _spareChunks.TryPop(out byte[]? spare)
            ? spare
            : GC.AllocateUninitializedArray<byte>(size);
        _chunks[chunk] = bytes;
        _chunkUsed[chunk] = 0;
        _chunkLive[chunk] = 0;
        _chunkEpoch[chunk] = epoch;
        _arenaBytes += bytes.Length;
        return chunk;
    }
}
