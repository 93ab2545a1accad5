using System.Text;
using StreamGuard.Engine;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Engine;

/// <summary>
/// The arena-backed read store against a plain model: same reads found, evicted in exact expiry order, memory
/// returned.
/// </summary>
public sealed class ReadStoreTests
{
    private static readonly long s_t0 = new DateTimeOffset(2026, 3, 3, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    private sealed record ModelRead(int Partition, ulong Plate, int Owner, long ObservedAtMs, string Id, byte[] Payload)
    {
        public long ExpiresAtMs { get; set; }
    }

    private static byte[] Payload(string id, int padding) =>
        Encoding.UTF8.GetBytes($"{{\"read_id\":\"{id}\",\"pad\":\"{new string('x', padding)}\"}}");

    [Fact]
    public void RandomOperationsAgreeWithAModel()
    {
        for (int seed = 1; seed <= 6; seed++) RunModel(seed, operations: 8_000);
    }

    private static void RunModel(int seed, int operations)
    {
        var random = new Random(seed);
        var store = new ReadStore();
        var model = new List<ModelRead>();
        long now = s_t0;
        int nextId = 0;
        for (int op = 0; op < operations; op++)
        {
            int kind = random.Next(100);
            if (kind < 55)
            {
                int partition = random.Next(3);
                ulong plate = (ulong)random.Next(1, 60); // few plates: long chains, many reads per plate
                int owner = random.Next(5);
                long observed = now - random.Next(0, 600_000);
                long window = random.Next(4) switch
                {
                    0 => 180_000,
                    1 => 3_600_000,
                    2 => 86_400_000,
                    _ => random.Next(1, 5_000_000),
                };
                // Some ids are escaped in the JSON (not found verbatim), some payloads are larger than an arena chunk.
                string id = random.Next(10) == 0 ? $"e\\u0041{nextId++}" : $"r{nextId++}";
                string parsedId = id.Replace("\\u0041", "A", StringComparison.Ordinal);
                byte[] payload = Payload(id, random.Next(50) == 0 ? 70_000 : random.Next(0, 600));
                var read = new ModelRead(partition, plate, owner, observed, parsedId, payload)
                {
                    ExpiresAtMs = observed + window,
                };
                store.Add(partition, plate, owner, observed, read.ExpiresAtMs, Encoding.UTF8.GetBytes(parsedId),
                    payload);
                model.Add(read);
            }
            else if (kind < 75)
            {
                ulong plate = (ulong)random.Next(1, 60);
                var found = new List<string>();
                foreach (StoredRead r in store.Find(plate))
                {
                    string id = Encoding.UTF8.GetString(store.ReadId(r));
                    ModelRead m = model.Single(x => x.Id == id);
                    Assert.Equal(m.Payload, store.Payload(r).ToArray());
                    Assert.Equal((m.Partition, m.Plate, m.Owner, m.ObservedAtMs, m.ExpiresAtMs),
                        (r.Partition, store.Plate(r), store.Owner(r), store.ObservedAtMs(r), store.ExpiresAtMs(r)));
                    found.Add(id);
                    Assert.True(store.TryFind(m.Partition, m.Owner, Encoding.UTF8.GetBytes(id), out ulong foundPlate));
                    Assert.Equal(m.Plate, foundPlate);
                }
                Assert.Equal(model.Where(m => m.Plate == plate).Select(m => m.Id).Order(), found.Order());
                // Any id ever given: found by (partition, owner, id) exactly when the model holds it there.
                string any = "r" + random.Next(Math.Max(nextId, 1));
                int p = random.Next(3), o = random.Next(5);
                ModelRead? held = model.SingleOrDefault(x => x.Id == any);
                Assert.Equal(held is not null && held.Partition == p && held.Owner == o,
                    store.TryFind(p, o, Encoding.UTF8.GetBytes(any), out _));
            }
            else if (kind < 95)
            {
                now += random.Next(0, 400_000);
                while (store.TryPeekExpired(now, out StoredRead r))
                {
                    string id = Encoding.UTF8.GetString(store.ReadId(r));
                    ModelRead m = model.Single(x => x.Id == id);
                    // Lowest partition with something due first, and in it the earliest expiry.
                    ModelRead[] due = model.Where(x => x.ExpiresAtMs <= now).ToArray();
                    int partition = due.Min(x => x.Partition);
                    Assert.Equal(partition, m.Partition);
                    Assert.Equal(due.Where(x => x.Partition == partition).Min(x => x.ExpiresAtMs), m.ExpiresAtMs);
                    if (random.Next(8) == 0)
                    {
                        m.ExpiresAtMs = now + random.Next(1, 2_000_000); // a hold keeps it
                        store.ExtendHead(m.ExpiresAtMs);
                    }
                    else
                    {
                        store.RemoveHead();
                        model.Remove(m);
                    }
                }
                Assert.DoesNotContain(model, x => x.ExpiresAtMs <= now);
            }
            else if (kind < 97)
            {
                // A hold released: the reads it kept get a new expiry (some earlier, some later).
                long shift = random.Next(-1_000_000, 1_000_000);
                store.RescheduleExtended(r =>
                {
                    ModelRead m = model.Single(x => x.Id == Encoding.UTF8.GetString(store.ReadId(r)));
                    return m.ExpiresAtMs = m.ExpiresAtMs + shift;
                });
            }
            else if (kind < 99)
            {
                // A window changed: every read of one owner gets a new expiry.
                int owner = random.Next(5);
                long shift = random.Next(-2_000_000, 2_000_000);
                store.Reschedule(r =>
                {
                    ModelRead m = model.Single(x => x.Id == Encoding.UTF8.GetString(store.ReadId(r)));
                    if (m.Owner == owner) m.ExpiresAtMs += shift;
                    return m.ExpiresAtMs;
                });
            }
            else
            {
                int partition = random.Next(3);
                store.RemovePartition(partition);
                model.RemoveAll(x => x.Partition == partition);
            }
            Assert.Equal(model.Count, store.Count);
            Assert.Equal(model.Sum(m => (long)m.Payload.Length), store.PayloadBytes);
        }

        // Everything expires: every chunk goes back.
        while (store.TryPeekExpired(long.MaxValue, out _)) store.RemoveHead();
        Assert.Equal(0, store.Count);
        Assert.Equal(0, store.ArenaBytes);
    }

    [Fact]
    public void EvictionReturnsArenaChunksAsReadsExpire()
    {
        var store = new ReadStore();
        // A day of reads with a one-day window, then the clock runs forward: arena memory falls as they expire.
        for (int i = 0; i < 50_000; i++)
        {
            string id = "r" + i;
            byte[] payload = Payload(id, 400);
            long observed = s_t0 + i * 1_728L;
            store.Add(0, (ulong)(i % 5_000) + 1, 0, observed, observed + 86_400_000, Encoding.UTF8.GetBytes(id),
                payload);
        }
        long full = store.ArenaBytes;
        Assert.InRange(full, store.PayloadBytes, store.PayloadBytes * 115 / 100);
        long now = s_t0 + 86_400_000 + 43_200_000; // half of them expired
        while (store.TryPeekExpired(now, out _)) store.RemoveHead();
        Assert.InRange(store.Count, 24_000, 26_000);
        Assert.InRange(store.ArenaBytes, full / 2 - full / 20, full / 2 + full / 20);
    }

    [Fact]
    public void IndexOverheadIsAtMost76BytesPerResidentRead()
    {
        var store = new ReadStore();
        const int Reads = 300_000;
        for (int i = 0; i < Reads; i++)
        {
            long observed = s_t0 + i * 100L;
            string id = $"01JNR3Q8Z4{i:D6}";
            store.Add(i % 4, (ulong)i + 1, i % 7, observed, observed + 30L * 86_400_000, Encoding.UTF8.GetBytes(id),
                Payload(id, 300));
        }
        // 48 of entry, 2 of recipient set, up to 4 of plate bucket, 8 of heap key, 4 of id link, up to 8 of id bucket.
        Assert.InRange((double)store.IndexBytes / Reads, 40, 76);
    }

    [Fact]
    public void AReadLargerThanAnEntryCanRecordIsRefusedAndOneAtTheLimitIsKept()
    {
        var store = new ReadStore();
        byte[] payload = new byte[PartitionReads.MaxPayloadBytes + 1];
        "{\"read_id\":\"big\"}"u8.CopyTo(payload);
        Assert.Throws<ArgumentOutOfRangeException>(() => store.Add(0, 7, 1, s_t0, s_t0 + 1000, "big"u8, payload));
        StoredRead r =
            store.Add(0, 7, 1, s_t0, s_t0 + 1000, "big"u8, payload.AsSpan(0, PartitionReads.MaxPayloadBytes));
        Assert.Equal(PartitionReads.MaxPayloadBytes, store.Payload(r).Length);
        Assert.True(store.TryFind(0, 1, "big"u8, out ulong plate));
        Assert.Equal(7UL, plate);
        Assert.False(store.TryFind(0, 1, "bag"u8, out _));
    }

    [Fact]
    public void TheIdIndexTellsApartIdsWithOneFingerprintInOneBucket()
    {
        // Ids are compared in full whenever their fingerprints match: find two distinct ids of owner 1 with one
        // fingerprint and one bucket of the first 16.
        var seen = new Dictionary<(ulong, uint), string>();
        string a = "", b = "";
        for (int i = 0; a.Length == 0; i++)
        {
            string id = "r-" + i;
            ulong hash = PartitionReads.IdHash(1, Encoding.UTF8.GetBytes(id));
            (ulong, uint) key = (hash >> 60, PartitionReads.Fingerprint(hash));
            if (seen.TryGetValue(key, out string? other)) (a, b) = (other, id);
            else seen[key] = id;
        }
        var store = new ReadStore();
        store.Add(0, 9, 1, s_t0, s_t0 + 1000, Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes("{}"));
        Assert.True(store.TryFind(0, 1, Encoding.UTF8.GetBytes(a), out _));
        Assert.False(store.TryFind(0, 1, Encoding.UTF8.GetBytes(b), out _));
        Assert.False(store.TryFind(0, 2, Encoding.UTF8.GetBytes(a), out _));
        Assert.False(store.TryFind(1, 1, Encoding.UTF8.GetBytes(a), out _));
        store.Add(0, 10, 1, s_t0, s_t0 + 2000, Encoding.UTF8.GetBytes(b), Encoding.UTF8.GetBytes("{}"));
        Assert.True(store.TryFind(0, 1, Encoding.UTF8.GetBytes(b), out ulong plate));
        Assert.Equal(10UL, plate);
        store.TryPeekExpired(s_t0 + 1000, out _);
        store.RemoveHead(); // a goes, b stays
        Assert.False(store.TryFind(0, 1, Encoding.UTF8.GetBytes(a), out _));
        Assert.True(store.TryFind(0, 1, Encoding.UTF8.GetBytes(b), out _));
    }

    [Fact]
    public void AStoreWhoseSizeHoldsSteadyAllocatesNothingAsReadsComeAndGo()
    {
        // As many reads arrive as expire: no index is rebuilt and no array grows, so nothing is allocated per read.
        const int Resident = 20_000, Ids = 2 * Resident;
        byte[][] ids = new byte[Ids][], payloads = new byte[Ids][];
        for (int i = 0; i < Ids; i++)
        {
            ids[i] = Encoding.UTF8.GetBytes("r" + i);
            payloads[i] = Payload("r" + i, 200);
        }
        var store = new ReadStore();
        long step = 0;
        void Run(int reads)
        {
            for (int i = 0; i < reads; i++, step++)
            {
                long observed = s_t0 + step * 1_000;
                int n = (int)(step % Ids);
                store.Add(0, (ulong)(step % 997) + 1, (int)(step % 3), observed, observed + Resident * 1_000L, ids[n],
                    payloads[n]);
                while (store.TryPeekExpired(observed, out _)) store.RemoveHead();
            }
        }
        Run(4 * Resident);
        SteadyAllocation.WarmUp(() => SteadyAllocation.Of(() => Run(Resident)), target: 0L);
        Assert.Equal(0, SteadyAllocation.Of(() => Run(10 * Resident)));
        Assert.Equal(Resident, store.Count);
    }

    [Fact]
    public void AReadIdTheJsonEscapedIsCopiedAndStillFound()
    {
        var store = new ReadStore();
        byte[] payload = Encoding.UTF8.GetBytes("{\"read_id\":\"a\\u002Fb\"}");
        StoredRead r = store.Add(0, 42, 1, s_t0, s_t0 + 1000, "a/b"u8, payload);
        Assert.Equal("a/b", Encoding.UTF8.GetString(store.ReadId(r)));
        Assert.Equal(payload, store.Payload(r).ToArray());
        Assert.True(store.IndexBytes > 0);
    }

    [Fact]
    public void EveryResidentReadIsFoundByItsIdWhileReadsComeAndGoForLong()
    {
        // A sliding window of 1,000 resident reads over 200,000: the id index fills with removed reads' places and is
        // rebuilt again and again; every resident id is found, every evicted one not.
        var store = new ReadStore();
        const int Resident = 1_000;
        for (int i = 0; i < 200_000; i++)
        {
            long observed = s_t0 + i * 1_000L;
            string id = "r" + i;
            store.Add(0, (ulong)(i % 97) + 1, i % 3, observed, observed + Resident * 1_000L, Encoding.UTF8.GetBytes(id),
                Payload(id, 20));
            while (store.TryPeekExpired(observed, out _)) store.RemoveHead();
            Assert.Equal(Math.Min(i + 1, Resident), store.Count);
            if (i % 1_000 != 0) continue;
            for (int j = Math.Max(0, i - 2 * Resident); j <= i; j++)
            {
                bool resident = j > i - Resident;
                Assert.Equal(resident, store.TryFind(0, j % 3, Encoding.UTF8.GetBytes("r" + j), out ulong plate));
                if (resident) Assert.Equal((ulong)(j % 97) + 1, plate);
            }
        }
        Assert.InRange(store.IndexBytes, 0, 200L * Resident);
    }

    [Fact]
    public void RemovingAPartitionDropsOnlyItsReads()
    {
        var store = new ReadStore();
        store.Add(0, 7, 0, s_t0, s_t0 + 1000, "a"u8, "{\"a\":1}"u8);
        store.Add(2, 7, 0, s_t0, s_t0 + 1000, "b"u8, "{\"b\":1}"u8);
        store.RemovePartition(0);
        var found = new List<int>();
        foreach (StoredRead r in store.Find(7)) found.Add(r.Partition);
        Assert.Equal([2], found);
        Assert.Equal(1, store.Count);
    }
}
