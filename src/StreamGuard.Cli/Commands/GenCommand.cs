using System.CommandLine;
using StreamGuard.Cli.CommandLine;
using StreamGuard.Generation;
using StreamGuard.Policy;
using StreamGuard.Text;

namespace StreamGuard.Cli.Commands;

/// <summary><c>streamguard gen</c>: synthetic NDJSON plate reads and signed queries.</summary>
internal static class GenCommand
{
    private static readonly TextOption s_policy = new("policy", "P", "policy whose agencies and keys to use")
    {
        Default = Common.SamplePolicyPath, Shown = "default: the bundled sample policy",
    };

    private static readonly TextOption s_out = new("out", "DIR", "output directory (created)");

    private static readonly IntOption s_reads = new("reads", "N", "plate reads", 0, 100_000_000) { Default = 100_000 };

    private static readonly IntOption s_queries = new("queries", "N", "queries", 0, 100_000_000)
    {
        Shown = "default reads/50",
    };

    private static readonly IntOption s_hotlists = new("hotlists", "N",
        "hotlist entries on frequently seen vehicles, by every kind of agency", 0, 10_000_000)
    {
        Default = 100,
    };

    private static readonly DoubleOption s_malformed = new("malformed", "F", "share of bad lines, 0..1", 0, 1, 0.01);

    private static readonly IntOption s_seed = new("seed", "N", "random seed", 0, int.MaxValue) { Default = 1 };

    private static readonly IntOption s_rate = new("rate", "N",
        "reads per second of event time ({default}); the reads end at --end", 1, 1_000_000)
    {
        Default = 50,
    };

    private static readonly TextOption s_end = new("end", "T", "RFC 3339 time of the last read")
    {
        Shown = "default: now",
    };

    private static readonly TextOption s_seattle = new("seattle", "FILE", """
        instead: convert the Seattle Police ALPR export (shared/data/*.csv.gz, hashed
        plates) into DIR/reads.ndjson owned by wa-spd — a real week's arrival pattern.
        Replay it with streamguard replay --now 2021-10-10T00:00:00Z.
        """);

    private static readonly IntOption s_copies = new("copies", "N", """
        with --seattle: N copies of the week one after another ({default}), copy k
        8×k days later with read ids suffixed -c<k>, so that Washington's retention
        cap purges the older copies during a replay. The bench's week ×10 is
        --copies 10 with streamguard replay --now 2021-12-21T00:00:00Z.
        """, 1, 1000)
    {
        Default = 1,
    };

    /// <summary>The verb: its options, its help and what it runs.</summary>
    public static Command Command { get; } = Verb.Create("gen",
        "synthetic NDJSON plate reads, signed queries and hotlist entries", """
        streamguard gen --out DIR [options]

        Writes DIR/reads.ndjson, DIR/queries.ndjson and DIR/hotlists.ndjson: realistic synthetic traffic over the
        policy's agencies — bursty cameras, repeat vehicles, queries with every purpose by owners and by
        out-of-state, federal and private agencies (signed with the agencies' keys), and a chosen share of bad
        lines (every dead-letter code, plus forged signatures). Deterministic for a seed and start time.
        Replay it with
          streamguard replay --policy P --audit-key file:KEY --reads DIR/reads.ndjson \
              --queries DIR/queries.ndjson --hotlists DIR/hotlists.ndjson --out OUT
        """,
        [s_policy, s_out, s_reads, s_queries, s_hotlists, s_malformed, s_seed, s_rate, s_end, s_seattle, s_copies])
        .Runs((a, _) => Run(a));

    public static int Run(CommandArgs args)
    {
        string outDir = args.Require(s_out);
        if (args.Get(s_seattle) is { } seattle)
        {
            int copies = args.Int(s_copies);
            Directory.CreateDirectory(outDir);
            using FileStream output = Create(outDir, "reads.ndjson");
            long written = 0, skipped = 0;
            // Copy after copy, each from a fresh read of the export: the file stays in time order of copies.
            for (int copy = 0; copy < copies; copy++)
            {
                using TextReader csv = SeattleImport.Open(seattle);
                var (w, s) = SeattleImport.Convert(csv, output, copy: copy);
                written += w;
                skipped += s;
            }
            Console.WriteLine(
                $"wrote {written:N0} reads ({copies:N0} {(copies == 1 ? "copy" : "copies")} of the week) to " +
                $"{Path.GetFullPath(Path.Combine(outDir, "reads.ndjson"))}; {skipped:N0} unreadable rows skipped");
            return 0;
        }
        if (args.Get(s_copies) is not null) throw new UsageException("--copies applies to --seattle only");
        string policyPath = args.Text(s_policy)!;
        int reads = args.Int(s_reads);
        int queries = args.GivenInt(s_queries) ?? reads / 50;
        int hotlists = args.Int(s_hotlists);
        double malformed = args.Double(s_malformed);
        int seed = args.Int(s_seed);
        int rate = args.Int(s_rate);
        long end = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        string? endText = args.Get(s_end);
        if (endText is not null && !Rfc3339.TryParse(System.Text.Encoding.UTF8.GetBytes(endText), out end))
        {
            throw new UsageException($"--end '{endText}' is not an RFC 3339 timestamp with a zone");
        }

        PolicyDocument policy = PolicyLoader.LoadFile(policyPath);
        var traffic = new SyntheticTraffic(policy,
            TrafficOptions.Default with { Seed = seed, MalformedShare = malformed });
        Directory.CreateDirectory(outDir);
        using FileStream readsFile = Create(outDir, "reads.ndjson");
        using FileStream queriesFile = Create(outDir, "queries.ndjson");

        long stepMs = Math.Max(1, 1000 / rate);
        long start = end - reads * 1000L / rate;
        using (FileStream hotlistsFile = Create(outDir, "hotlists.ndjson"))
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
        Console.WriteLine($"wrote {reads:N0} reads, {writtenQueries:N0} queries and {hotlists:N0} hotlist entries " +
            $"to {Path.GetFullPath(outDir)} ({Rfc3339.ToText(start)} to {Rfc3339.ToText(end)})");
        return 0;
    }

    private static FileStream Create(string directory, string name) =>
        new(Path.Combine(directory, name), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
}
