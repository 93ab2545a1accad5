using System.Diagnostics;
using System.Globalization;
using HdrHistogram;
using StreamGuard.Engine;

namespace StreamGuard.Bench;

/// <summary>
/// <c>dotnet run -c Release -- store-scale [--reads N] [--lookups N] [--plates N]</c>: the read store at the retention
/// issue's scale (10 million resident reads in one partition by default). Reports the fill rate, index bytes per
/// read (the store's own accounting and the managed heap's growth), lookup latency percentiles (HdrHistogram, one
/// sample per lookup: find a plate and read every resident read's time, owner and expiry, as a query does) and the
/// eviction rate.
/// </summary>
/// <remarks>
/// Payloads are 100,000 realistic reads (<see cref="BenchPayloads.Reads"/>, ~420 bytes) used in turn; each stored
/// read gets its own plate key (N / plates reads per plate) and the read id found in its payload. Observed times
/// advance 25 ms per read over a 30-day window, so the store is full and nothing expires while filling.
/// </remarks>
public static class StoreScaleMode
{
    public static int Run(string[] args)
    {
        int reads = Option(args, "--reads", 10_000_000);
        int lookups = Option(args, "--lookups", 1_000_000);
        int plates = Math.Max(1, Option(args, "--plates", reads / 4));
        byte[][] payloads = BenchPayloads.Reads(100_000);
        byte[][] ids = new byte[payloads.Length][];
        for (int i = 0; i < payloads.Length; i++)
        {
            ids[i] = payloads[i].AsSpan(12, 16).ToArray(); // "read_id":"<16 chars>"
        }
        long t0 = new DateTimeOffset(2026, 3, 3, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        const long Window = 30L * 86_400_000;

        Console.WriteLine($"store-scale: {reads:N0} reads over {plates:N0} plates, {lookups:N0} lookups; " +
            $".NET {Environment.Version}, {Environment.ProcessorCount} cores, " +
            $"server GC {System.Runtime.GCSettings.IsServerGC}, {DateTime.UtcNow:yyyy-MM-dd}");

        long heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        var store = new ReadStore();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < reads; i++)
        {
            long observed = t0 + i * 25L;
            store.Add(0, Plate(i, plates), i % 7, observed, observed + Window, ids[i % ids.Length],
                payloads[i % payloads.Length]);
            if ((i + 1) % 1_000_000 == 0) Console.Error.Write($"\r  filled {i + 1:N0}");
        }
        double fillSeconds = clock.Elapsed.TotalSeconds;
        Console.Error.WriteLine();
        if (Array.IndexOf(args, "--refill") >= 0)
        {
            // The same fill into memory the store already owns: what a fill costs without first-touch page faults.
            while (store.TryPeekExpired(long.MaxValue, out _)) store.RemoveHead();
            clock.Restart();
            for (int i = 0; i < reads; i++)
            {
                long observed = t0 + i * 25L;
                store.Add(0, Plate(i, plates), i % 7, observed, observed + Window, ids[i % ids.Length],
                    payloads[i % payloads.Length]);
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"refill (entries and heap reused, arena chunks new): " +
                $"{reads / clock.Elapsed.TotalSeconds / 1e6:F2} M reads/s; " +
                $"first fill {reads / fillSeconds / 1e6:F2} M reads/s"));
        }
        long heapAfter = GC.GetTotalMemory(forceFullCollection: true);
        long heapGrowth = heapAfter - heapBefore;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"fill: {reads / fillSeconds / 1e6:F2} M reads/s ({fillSeconds * 1e9 / reads:F0} ns per read)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"memory: payload {store.PayloadBytes / 1e9:F2} GB, arena {store.ArenaBytes / 1e9:F2} GB, " +
            $"index {store.IndexBytes / (double)reads:F1} B per read (store's accounting); " +
            $"managed heap grew {heapGrowth / 1e9:F2} GB = " +
            $"payload + {(heapGrowth - store.PayloadBytes) / (double)reads:F1} B per read (arena slack included)"));

        // Lookups: plates that exist, in a random order.
        var histogram = new LongHistogram(TimeStamp.Seconds(1), 3);
        var random = new Random(7);
        long found = 0;
        for (int k = 0; k < lookups; k++)
        {
            ulong plate = Plate(random.Next(reads), plates);
            long start = Stopwatch.GetTimestamp();
            foreach (StoredRead r in store.Find(plate))
            {
                if (store.ObservedAtMs(r) >= 0 && store.ExpiresAtMs(r) > store.Owner(r)) found++;
            }
            histogram.RecordValue(Stopwatch.GetTimestamp() - start);
        }
        double perTick = 1e9 / Stopwatch.Frequency;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"lookup ({found / (double)lookups:F1} reads per plate): " +
            $"p50 {histogram.GetValueAtPercentile(50) * perTick / 1000:F2} µs, " +
            $"p90 {histogram.GetValueAtPercentile(90) * perTick / 1000:F2} µs, " +
            $"p99 {histogram.GetValueAtPercentile(99) * perTick / 1000:F2} µs, " +
            $"p99.9 {histogram.GetValueAtPercentile(99.9) * perTick / 1000:F2} µs, " +
            $"max {histogram.GetMaxValue() * perTick / 1000:F2} µs"));

        // Eviction: the oldest 10% expire.
        int evict = reads / 10;
        long now = t0 + (evict - 1) * 25L + Window;
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        clock.Restart();
        int evicted = 0;
        while (store.TryPeekExpired(now, out _))
        {
            store.RemoveHead();
            evicted++;
        }
        double evictSeconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"evict: {evicted:N0} reads at {evicted / evictSeconds / 1e6:F2} M reads/s, " +
            $"{(GC.GetAllocatedBytesForCurrentThread() - allocated) / (double)Math.Max(evicted, 1):F2} " +
            $"B allocated per read; " +
            $"arena now {store.ArenaBytes / 1e9:F2} GB for {store.PayloadBytes / 1e9:F2} GB of payload"));
        GC.KeepAlive(store);
        return evicted == evict ? 0 : 1;
    }

    /// <summary>A packed-plate-like key: reads i, i + plates, i + 2·plates… share a plate.</summary>
    private static ulong Plate(int i, int plates) => 0x3100_0000_0000UL + (ulong)(i % plates);

    private static int Option(string[] args, string name, int fallback)
    {
        int at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
