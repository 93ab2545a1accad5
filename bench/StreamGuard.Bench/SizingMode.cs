using System.Globalization;
using StreamGuard.Engine;
using StreamGuard.Generation;
using StreamGuard.Output;
using StreamGuard.Policy;

namespace StreamGuard.Bench;

/// <summary>
/// <c>dotnet run -c Release -- sizing [--reads N] [--partitions N]</c>: the memory a worker holds per resident read,
/// for the operator guide's sizing table. The sample policy's synthetic traffic (its pushes included) goes through the
/// live path (<see cref="StreamGuardEngine.ProcessRead"/>) over N partitions, reads 10 ms apart so that none expires;
/// at each checkpoint the managed heap is measured after a full collection and set against the engine's own
/// accounting (<see cref="StreamGuardEngine.StoreBytes"/>, the <c>streamguard_store_size_bytes</c> metric). Then the
/// transient cost of a restore: the <see cref="ReadHistory"/> built from partition 0's audit chain.
/// </summary>
public static class SizingMode
{
    public static int Run(string[] args)
    {
        int reads = Option(args, "--reads", 4_000_000);
        int partitions = Option(args, "--partitions", 8);
        string root = CiGate.RepositoryRoot();
        PolicyDocument document = PolicyLoader.LoadFile(Path.Combine(root, "samples", "policy.yaml"));
        var policy = new CompiledPolicy(document);
        long endMs = new DateTimeOffset(2026, 3, 3, 18, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        const long SpacingMs = 10;
        long startMs = endMs - reads * SpacingMs;
        var sink = new ChainCapture();
        var traffic = new SyntheticTraffic(document, TrafficOptions.Default with { MalformedShare = 0 });
        Console.WriteLine($"sizing: {reads:N0} reads of samples/policy.yaml's synthetic traffic over {partitions} " +
            $"partitions; .NET {Environment.Version}, {Environment.ProcessorCount} cores, server GC " +
            $"{System.Runtime.GCSettings.IsServerGC}, {DateTime.UtcNow:yyyy-MM-dd}");

        long heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        var engine = new StreamGuardEngine(policy, sink, "bench-audit-key"u8.ToArray(),
            new EngineOptions { EventTimeClock = true, ReplayNowMs = endMs });
        long payload = 0;
        long engineHeap = GC.GetTotalMemory(forceFullCollection: true) - heapBefore;
        Console.WriteLine($"  engine, empty: {engineHeap / 1e6:F1} MB");
        Console.WriteLine("  | resident reads | payload B/read | store's accounting B/read | heap growth B/read |");
        Console.WriteLine("  |---:|---:|---:|---:|");
        long next = Math.Min(reads, 500_000);
        for (int i = 0; i < reads; i++)
        {
            ReadOnlyMemory<byte> read = traffic.NextRead(startMs + i * SpacingMs);
            payload += read.Length;
            int p = i % partitions;
            engine.ProcessRead(read.Span, EventSource.Kafka("alpr.reads", p, i / partitions));
            if ((i + 1) % 5_000 == 0) engine.FlushAudit(); // as a worker's commit does
            if (i + 1 == next)
            {
                engine.FlushAudit();
                long heap = GC.GetTotalMemory(forceFullCollection: true) - heapBefore - engineHeap - sink.Bytes;
                int stored = engine.StoredReadCount;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  | {stored:N0} | {payload / (double)(i + 1):F0} | {engine.StoreBytes / (double)stored:F0} | " +
                    $"{heap / (double)stored:F0} |"));
                next = Math.Min(reads, next * 2);
            }
        }

        // A restore reads the chain of each partition it is given into a ReadHistory first (one at a time).
        long beforeHistory = GC.GetTotalMemory(forceFullCollection: true);
        var history = new ReadHistory();
        foreach (byte[] block in sink.Chain0) history.AddBlock(block);
        long historyBytes = GC.GetTotalMemory(forceFullCollection: true) - beforeHistory;
        int inChain = (reads + partitions - 1) / partitions;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  restore: ReadHistory of one partition's chain ({inChain:N0} reads): {historyBytes / 1e6:F1} MB, " +
            $"{historyBytes / (double)inChain:F0} B per read of the chain"));
        GC.KeepAlive(history);
        GC.KeepAlive(engine);
        return 0;
    }

    private static int Option(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    /// <summary>Keeps partition 0's audit blocks (for the restore measure); drops everything else.</summary>
    private sealed class ChainCapture : IOutputSink
    {
        public List<byte[]> Chain0 { get; } = [];

        public long Bytes { get; private set; }

        public void Audit(int partition, ReadOnlySpan<byte> record)
        {
            if (partition != 0) return;
            Chain0.Add(record.ToArray());
            Bytes += record.Length + 32;
        }

        public void Shared(ReadOnlySpan<byte> recipient, ReadOnlySpan<byte> readId, ReadOnlySpan<byte> decisionId,
            ReadOnlySpan<byte> read) { }

        public void Alert(ReadOnlySpan<byte> recipient, ReadOnlySpan<byte> hotlistId, ReadOnlySpan<byte> alert) { }

        public void Result(ReadOnlySpan<byte> requester, ReadOnlySpan<byte> queryId, ReadOnlySpan<byte> result) { }

        public void Purge(ReadOnlySpan<byte> agency, ReadOnlySpan<byte> readId, ReadOnlySpan<byte> notice) { }

        public void DeadLetter(ReadOnlySpan<byte> record) { }
    }
}
