using BenchmarkDotNet.Attributes;
using StreamGuard.Engine;

namespace StreamGuard.Bench;

/// <summary>
/// The read store against the foundation store it replaced (<see cref="ObjectPerReadStore"/>: one object, one id
/// array and one payload array per read in a Dictionary of Lists and a PriorityQueue — the straightforward design) on
/// the same 100,000 realistic reads (~420 bytes): insert, look up, evict. Reported per read.
/// </summary>
internal static class StoreBenchData
{
    public const int Reads = 100_000;
    public const long Window = 30L * 86_400_000;
    public static readonly long T0 =
        new DateTimeOffset(2026, 3, 3, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
    private static byte[][]? s_payloads;
    private static byte[][]? s_ids;

    public static byte[][] Payloads => s_payloads ??= BenchPayloads.Reads(Reads);

    public static byte[][] Ids => s_ids ??= Array.ConvertAll(Payloads, p => p.AsSpan(12, 16).ToArray());

    /// <summary>Four reads per plate, as a plate seen by a few cameras.</summary>
    public static ulong Plate(int i) => 0x3100_0000_0000UL + (ulong)(i % (Reads / 4));

    public static long Observed(int i) => T0 + i * 25L;

    public static void Fill(ReadStore store)
    {
        byte[][] payloads = Payloads, ids = Ids;
        for (int i = 0; i < Reads; i++)
        {
            store.Add(0, Plate(i), i % 7, Observed(i), Observed(i) + Window, ids[i], payloads[i]);
        }
    }

    public static void Fill(ObjectPerReadStore store)
    {
        byte[][] payloads = Payloads, ids = Ids;
        for (int i = 0; i < Reads; i++)
        {
            store.Add(Plate(i), i % 7, Observed(i), Observed(i) + Window, ids[i], payloads[i]);
        }
    }
}

[MemoryDiagnoser]
public class StoreInsertBenchmarks
{
    private ReadStore _store = new();
    private ObjectPerReadStore _baseline = new();

    [GlobalSetup]
    public void Setup() => _ = StoreBenchData.Ids;

    [IterationSetup]
    public void NewStores()
    {
        _store = new ReadStore();
        _baseline = new ObjectPerReadStore();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = StoreBenchData.Reads)]
    public int ObjectPerRead()
    {
        StoreBenchData.Fill(_baseline);
        return _baseline.Count;
    }

    [Benchmark(OperationsPerInvoke = StoreBenchData.Reads)]
    public int Arena()
    {
        StoreBenchData.Fill(_store);
        return _store.Count;
    }
}

[MemoryDiagnoser]
public class StoreLookupBenchmarks
{
    private readonly ReadStore _store = new();
    private readonly ObjectPerReadStore _baseline = new();

    [GlobalSetup]
    public void Setup()
    {
        StoreBenchData.Fill(_store);
        StoreBenchData.Fill(_baseline);
    }

    /// <summary>
    /// Every plate once, reading each resident read's time, owner and expiry (what a query filters on).
    /// </summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = StoreBenchData.Reads / 4)]
    public long ObjectPerRead()
    {
        long sum = 0;
        for (int i = 0; i < StoreBenchData.Reads / 4; i++)
        {
            foreach (ObjectPerReadStore.Read r in _baseline.Find(StoreBenchData.Plate(i)))
            {
                sum += r.ObservedAtMs + r.ExpiresAtMs + r.Owner;
            }
        }
        return sum;
    }

    [Benchmark(OperationsPerInvoke = StoreBenchData.Reads / 4)]
    public long Arena()
    {
        long sum = 0;
        for (int i = 0; i < StoreBenchData.Reads / 4; i++)
        {
            foreach (StoredRead r in _store.Find(StoreBenchData.Plate(i)))
            {
                sum += _store.ObservedAtMs(r) + _store.ExpiresAtMs(r) + _store.Owner(r);
            }
        }
        return sum;
    }
}

[MemoryDiagnoser]
public class StoreEvictBenchmarks
{
    private ReadStore _store = new();
    private ObjectPerReadStore _baseline = new();

    [IterationSetup]
    public void Fill()
    {
        _store = new ReadStore();
        _baseline = new ObjectPerReadStore();
        StoreBenchData.Fill(_store);
        StoreBenchData.Fill(_baseline);
    }

    /// <summary>
    /// Every read expires: eviction in expiry order, each read's id touched (a purge notice needs it).
    /// </summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = StoreBenchData.Reads)]
    public int ObjectPerRead()
    {
        int n = 0;
        while (_baseline.TryPeekExpired(long.MaxValue, out ObjectPerReadStore.Read? r))
        {
            n += r!.ReadId.Length;
            _baseline.RemoveHead();
        }
        return n;
    }

    [Benchmark(OperationsPerInvoke = StoreBenchData.Reads)]
    public int Arena()
    {
        int n = 0;
        while (_store.TryPeekExpired(long.MaxValue, out StoredRead r))
        {
            n += _store.ReadId(r).Length;
            _store.RemoveHead();
        }
        return n;
    }
}
