using StreamGuard.Generation;
using StreamGuard.Policy;
using StreamGuard.Text;

namespace StreamGuard.Cli.Commands;

/// <summary><c>streamguard gen</c>: synthetic NDJSON plate reads and signed queries.</summary>
internal static class GenCommand
{
    public const string Help = """
        streamguard gen --out DIR [options]

        Writes DIR/reads.ndjson, DIR/queries.ndjson and DIR/hotlists.ndjson: realistic synthetic traffic over the policy's agencies —
        bursty cameras, repeat vehicles, queries with every purpose by owners and by out-of-state, federal and
        private agencies (signed with the agencies' keys), and a chosen share of bad lines (every dead-letter
        code, plus forged signatures). Deterministic for a seed and start time. Replay it with
          streamguard replay --policy P --reads DIR/reads.ndjson --queries DIR/queries.ndjson \
              --hotlists DIR/hotlists.ndjson --out OUT

        Options:
          --policy P        policy whose agencies and keys to use (default: the bundled sample policy)
          --out DIR         output directory (created)
          --reads N         plate reads (default 100000)
          --queries N       queries (default reads/50)
          --hotlists N      hotlist entries on frequently seen vehicles, by every kind of agency (default 100)
          --malformed F     share of bad lines, 0..1 (default 0.01)
          --seed N          random seed (default 1)
          --rate N          reads per second of event time (default 50); the reads end at --end
          --end T           RFC 3339 time of the last read (default: now)
          --seattle FILE    instead: convert the Seattle Police ALPR export (shared/data/*.csv.gz, hashed
                            plates) into DIR/reads.ndjson owned by wa-spd — a real week's arrival pattern.
                            Replay it with --now 2021-10-10T00:00:00Z.
        """;

    public static int Run(CliArgs args)
    {
        string outDir = args.Require("out");
        if (args.Get("seattle") is { } seattle)
        {
            args.RejectUnknown();
            Directory.CreateDirectory(outDir);
            using TextReader csv = SeattleImport.Open(seattle);
            using var output = new FileStream(Path.Combine(outDir, "reads.ndjson"), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
            var (written, skipped) = SeattleImport.Convert(csv, output);
            Console.WriteLine($"wrote {written:N0} reads to {Path.GetFullPath(Path.Combine(outDir, "reads.ndjson"))}; {skipped:N0} unreadable rows skipped");
            return 0;
        }
        string policyPath = args.Get("policy") ?? Common.SamplePolicyPath;
        int reads = args.Int("reads", 100_000, 0, 100_000_000);
        int queries = args.Int("queries", reads / 50, 0, 100_000_000);
        int hotlists = args.Int("hotlists", 100, 0, 10_000_000);
        double malformed = args.Double("malformed", 0.01, 0, 1);
        int seed = args.Int("seed", 1);
        int rate = args.Int("rate", 50, 1, 1_000_000);
        long end = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        string? endText = args.Get("end");
        if (endText is not null && !Rfc3339.TryParse(System.Text.Encoding.UTF8.GetBytes(endText), out end))
        {
            throw new UsageException($"--end '{endText}' is not an RFC 3339 timestamp with a zone");
        }
        args.RejectUnknown();

        PolicyDocument policy = PolicyLoader.LoadFile(policyPath);
        var traffic = new SyntheticTraffic(policy, TrafficOptions.Default with { Seed = seed, MalformedShare = malformed });
        Directory.CreateDirectory(outDir);
        using var readsFile = new FileStream(Path.Combine(outDir, "reads.ndjson"), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        using var queriesFile = new FileStream(Path.Combine(outDir, "queries.ndjson"), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);

        long stepMs = Math.Max(1, 1000 / rate);
        long start = end - reads * 1000L / rate;
        using (var hotlistsFile = new FileStream(Path.Combine(outDir, "hotlists.ndjson"), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
        {
            for (int i = 0; i < hotlists; i++)
            {
                hotlistsFile.Write(traffic.NextHotlist(start).Span);
                hotlistsFile.WriteByte((byte)'\n');
            }
        }
        var random = new Random(seed ^ 0x5EED);
        double queryEvery = queries == 0 ? double.MaxValue : (double)reads / queries;
        double nextQuery = queryEvery / 2;
        int writtenQueries = 0;
        using var progress = Progress.OnConsole("reads");
        for (int i = 0; i < reads; i++)
        {
            long t = start + i * 1000L / rate;
            // A few reads arrive late (a camera that buffered while offline).
            long observed = random.NextDouble() < 0.02 ? t - random.Next(1, 600) * 1000L : t;
            readsFile.Write(traffic.NextRead(observed).Span);
            readsFile.WriteByte((byte)'\n');
            while (writtenQueries < queries && i >= nextQuery)
            {
                queriesFile.Write(traffic.NextQuery(t + stepMs / 2).Span);
                queriesFile.WriteByte((byte)'\n');
                writtenQueries++;
                nextQuery += queryEvery;
            }
            progress.Update(i + 1, reads);
        }
        while (writtenQueries < queries)
        {
            queriesFile.Write(traffic.NextQuery(end).Span);
            queriesFile.WriteByte((byte)'\n');
            writtenQueries++;
        }
        progress.Clear();
        Console.WriteLine($"wrote {reads:N0} reads, {writtenQueries:N0} queries and {hotlists:N0} hotlist entries to {Path.GetFullPath(outDir)} " +
            $"({Rfc3339.ToText(start)} to {Rfc3339.ToText(end)})");
        return 0;
    }
}
