using Command = System.CommandLine.Command;
using System.Diagnostics;
using System.Text.Json;
using StreamGuard.Cli.CommandLine;
using StreamGuard.Engine;
using StreamGuard.Ingest;
using StreamGuard.Parsing;
using StreamGuard.Text;

namespace StreamGuard.Cli.Commands;

/// <summary>
/// <c>streamguard replay</c>: the engine offline over NDJSON files, deterministic (event-time clock).
/// </summary>
internal static class ReplayCommand
{
    private static readonly TextOption s_policy = new("policy", "P", "the policy file (YAML; docs/policy-guide.md)");

    private static readonly TextOption s_reads = new("reads", "R", "plate reads, NDJSON");

    private static readonly TextOption s_queries = new("queries", "Q", "queries, NDJSON (optional)");

    private static readonly TextOption s_hotlists = new("hotlists", "H", """
        hotlist entries, NDJSON (optional): a snapshot of the compacted alpr.hotlists
        topic, loaded before the first read; a later line for the same hotlist_id and
        plate replaces the earlier one. Expired entries never alert.
        """);

    private static readonly TextOption s_holds = new("holds", "D", """
        holds, NDJSON (optional): a snapshot of alpr.holds, loaded before the first read
        (each hold audited as placed); held reads outlive their window until `until`.
        """);

    private static readonly TextOption s_out = new("out", "DIR", "output directory (created)");

    private static readonly TextOption s_now = new("now", "T", """
        RFC 3339 "now" for rejecting future-dated events, and the clock holds and hotlists
        are loaded at. Without it, future-dated means after the real current time, and the
        clock starts at the earliest timestamp at the heads of the reads and queries
        (so two replays of the same inputs are byte-identical)
        """)
    {
        Shown = "default: the real current time",
    };

    private static readonly TextOption s_auditKey = new("audit-key", "REF",
        "HMAC key for plate references and record ids: env:NAME or file:PATH (required)");

    private static readonly IntOption s_maxEventBytes = new("max-event-bytes", "N",
        "size cap per line ({default}); larger lines go to dlq.ndjson as oversized", 256, 16 << 20)
    {
        Default = EngineOptions.DefaultMaxEventBytes,
    };

    /// <summary>The verb: its options, its help and what it runs.</summary>
    public static Command Command { get; } = Verb.Create("replay",
        "the same engine offline over NDJSON files (deterministic)", """
        streamguard replay --policy P --reads R.ndjson [--queries Q.ndjson] [--hotlists H.ndjson] [--holds D.ndjson]
                           --out DIR [options]

        Runs the same engine as `run` over NDJSON files (one event per line), with the event-time clock:
        the same input gives the same output. Files are merged by the timestamps at their heads
        (observed_at, issued_at); a line older than what came before it in its own file is a late arrival.
        Use `-` for standard input.

        Writes to DIR: shared.ndjson, alerts.ndjson, results.ndjson, purges.ndjson, audit.ndjson, dlq.ndjson.
        """,
        [s_policy, s_reads, s_queries, s_hotlists, s_holds, s_out, s_now, s_auditKey, s_maxEventBytes])
        .Runs((a, ct) => Task.FromResult(Run(a, ct)));

    /// <summary>
    /// Standard input is read by one input at most (another would get nothing), and no input is a file the run
    /// writes: those are replaced as it starts, so the input would be lost before it was read.
    /// </summary>
    private static void CheckInputs(string outDir, (string Option, string? Path)[] inputs)
    {
        HashSet<string> outputs = FileOutputSink.FileNames.Select(f => Real(Path.Combine(outDir, f)))
            .ToHashSet(StringComparer.Ordinal);
        string? stdin = null;
        foreach (var (option, path) in inputs)
        {
            if (path is null) continue;
            if (path == "-")
            {
                if (stdin is not null)
                {
                    throw new UsageException($"{option} -: standard input is {stdin}'s already; it can be read once");
                }
                stdin = option;
            }
            else if (outputs.Contains(Real(path)))
            {
                throw new UsageException($"{option} {path}: it is a file that --out {outDir} writes, replaced " +
                    "when the replay starts: give another --out");
            }
        }

        // The file a path names after every symbolic link in it, its directories' too, as the sink's writes follow
        // them. (A hard link needs no check: the sink deletes a file before it writes one, the input keeps its own.)
        static string Real(string path)
        {
            // Parts are taken as the system takes them, `..` after the link before it is followed: collapsing them
            // as text first (Path.GetFullPath) would go up from the link instead of from where it leads.
            string absolute = Path.IsPathRooted(path) ? path : Path.Combine(Directory.GetCurrentDirectory(), path);
            string real = Path.GetPathRoot(absolute)!;
            var rest = new LinkedList<string>(Parts(absolute[real.Length..]));
            // A loop ends after 40 links (the limit of the system's own resolution), leaving the path as it is.
            for (int links = 0; rest.First is { } first;)
            {
                rest.RemoveFirst();
                string part = first.Value;
                if (part == ".") continue;
                if (part == "..")
                {
                    real = Path.GetDirectoryName(real) ?? real;
                    continue;
                }
                string next = Path.Combine(real, part);
                string? target = null;
                try
                {
                    target = new FileInfo(next).LinkTarget;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Unreadable: taken as it is.
                }
                if (target is null || ++links > 40)
                {
                    real = next;
                    continue;
                }
                // The target's parts come next, from the root when it is absolute, else from the link's directory.
                if (Path.IsPathRooted(target)) real = Path.GetPathRoot(target)!;
                string[] parts = Parts(Path.IsPathRooted(target) ? target[real.Length..] : target);
                for (int i = parts.Length - 1; i >= 0; i--) rest.AddFirst(parts[i]);
            }
            return real;

            static string[] Parts(string relative) =>
                relative.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        }
    }

    public static int Run(CommandArgs args, CancellationToken ct)
    {
        string? hotlistsPath = args.Get(s_hotlists);
        string? holdsPath = args.Get(s_holds);
        string policyPath = args.Require(s_policy);
        string readsPath = args.Require(s_reads);
        string? queriesPath = args.Get(s_queries);
        string outDir = args.Require(s_out);
        string? nowText = args.Get(s_now);
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        bool nowGiven = nowText is not null;
        if (nowText is not null && !Rfc3339.TryParse(System.Text.Encoding.UTF8.GetBytes(nowText), out now))
        {
            throw new UsageException($"--now '{nowText}' is not an RFC 3339 timestamp with a zone");
        }
        int maxEventBytes = args.Int(s_maxEventBytes);
        string? auditKeyRef = args.Get(s_auditKey);
        CheckInputs(outDir, [("--" + s_reads.Id, readsPath), ("--" + s_queries.Id, queriesPath),
            ("--" + s_hotlists.Id, hotlistsPath), ("--" + s_holds.Id, holdsPath)]);

        CompiledPolicy policy = Common.LoadPolicy(policyPath, Console.Error, allWarnings: false);
        // Deterministic output needs a fixed key: plate_ref values and ids are HMACs under it.
        byte[] auditKey = Common.AuditKey(auditKeyRef, "--audit-key env:NAME|file:PATH is required: " +
            "replay output is deterministic only under a fixed audit key");
        try
        {
            return Replay(policy, auditKey, now, nowGiven, maxEventBytes, readsPath, queriesPath,
                hotlistsPath, holdsPath, outDir, ct);
        }
        catch (IOException e)
        {
            // A failed write (the output writer's, e.g. a full disk) or read: replay failed, and says where.
            Console.Error.WriteLine($"streamguard replay: {e.Message}");
            return 1;
        }
    }

    private static int Replay(CompiledPolicy policy, byte[] auditKey, long now, bool nowGiven,
        int maxEventBytes, string readsPath, string? queriesPath, string? hotlistsPath, string? holdsPath,
        string outDir, CancellationToken ct)
    {
        // The reads and queries are opened first: without --now, where the clock starts is read from their heads.
        // Merge keys are read for every line only when there is something to merge.
        bool merged = queriesPath is not null;
        var inputs = new List<ReplayInput>();
        try
        {
            inputs.Add(ReplayInput.Open(readsPath, true, maxEventBytes, merged, ct));
            if (queriesPath is not null) inputs.Add(ReplayInput.Open(queriesPath, false, maxEventBytes, merged, ct));
            long start = nowGiven ? now : StartOf(inputs, now);

            using var sink = new FileOutputSink(outDir);
            var engine = new StreamGuardEngine(policy, sink, auditKey,
                new EngineOptions
                {
                    EventTimeClock = true, ReplayNowMs = now, ReplayStartMs = start, MaxEventBytes = maxEventBytes,
                },
                Common.InitialChange(policy, start));

            long events = 0;
            // Compacted topics read from the beginning are tables: hotlists and holds are loaded whole before the first
            // read.
            foreach (var (path, isHolds) in new (string?, bool)[] { (holdsPath, true), (hotlistsPath, false) })
            {
                if (path is null) continue;
                using ReplayInput table = ReplayInput.Open(path, false, maxEventBytes, timed: false, ct);
                while (table.HasHead)
                {
                    var source = EventSource.File(table.Path, table.LineNumber);
                    if (table.Status == LineStatus.Oversized)
                    {
                        engine.DeadLetter(new ParseResult(ParseError.Oversized, null,
                                $"line longer than {maxEventBytes} bytes (first {maxEventBytes} kept)"),
                            table.Line, source);
                    }
                    else if (isHolds) engine.Holds.ApplyAndAudit(default, table.Line, source);
                    else engine.Hotlists.ApplyAndCheck(default, table.Line, source);
                    events++;
                    table.Advance(ct);
                }
            }

            var clock = Stopwatch.StartNew();
            // ETA from input bytes read against the inputs' sizes (lines vary in length; standard input has no size).
            long inputBytes = 0;
            foreach (ReplayInput input in inputs)
            {
                inputBytes = input.Length < 0 || inputBytes < 0 ? -1 : inputBytes + input.Length;
            }
            using var progress = Progress.OnConsole("events", bytes: true);
            while (true)
            {
                ReplayInput? next = null;
                foreach (ReplayInput input in inputs)
                {
                    if (input.HasHead
                        && (next is null || input.HeadTime < next.HeadTime
                            || (input.HeadTime == next.HeadTime && input.IsReads && !next.IsReads)))
                    {
                        next = input;
                    }
                }
                if (next is null) break;

                var source = EventSource.File(next.Path, next.LineNumber);
                ReadOnlySpan<byte> line = next.Line;
                if (next.Status == LineStatus.Oversized)
                {
                    engine.DeadLetter(new ParseResult(ParseError.Oversized, null,
                        $"line longer than {maxEventBytes} bytes (first {maxEventBytes} kept)"), line, source);
                }
                else if (next.IsReads) engine.ProcessRead(line, source);
                else engine.ProcessQuery(line, source);
                events++;
                next.Advance(ct);

                if (progress.Enabled) progress.Update(events, BytesRead(inputs), Math.Max(0, inputBytes));
            }
            progress.Clear();
            engine.FlushAudit();

            // Every line the engine wrote reaches its file (or the writer's failure is thrown) before success is told.
            sink.Complete();

            EngineStats s = engine.Stats;
            Console.WriteLine($"replayed {events:N0} events ({s.Reads:N0} reads, {s.Queries:N0} queries, " +
                $"{s.HotlistEntries:N0} hotlist entries) in {clock.Elapsed.TotalSeconds:N2} s");
            Console.WriteLine(
                $"  audit entries {engine.AuditEntryCount:N0} ({engine.AuditDecisionCount:N0} decisions), " +
                $"results {s.Results:N0}, " +
                $"push deliveries {s.Shared:N0}, alerts {s.Alerts:N0}, purges {s.Purges:N0}, " +
                $"dead letters {s.DeadLetters:N0}");
            Console.WriteLine($"  outputs in {Path.GetFullPath(outDir)}");
            return 0;
        }
        finally
        {
            foreach (ReplayInput input in inputs) input.Dispose();
        }
    }

    /// <summary>
    /// Where the replay clock starts without <c>--now</c>: at the earliest timestamp at the heads of the reads and
    /// queries (the first event the merge takes), never after the real current time (a later event is rejected as
    /// future-dated); at the Unix epoch when no head has a timestamp. A function of the inputs alone, so what holds and
    /// hotlists loaded before the first event are judged and audited at is the same on every run.
    /// </summary>
    private static long StartOf(List<ReplayInput> inputs, long now)
    {
        long start = long.MaxValue;
        foreach (ReplayInput input in inputs)
        {
            if (input.HasHead && input.HeadTime != long.MinValue) start = Math.Min(start, input.HeadTime);
        }
        return start == long.MaxValue ? 0 : Math.Min(start, now);
    }

    private static long BytesRead(List<ReplayInput> inputs)
    {
        long read = 0;
        foreach (ReplayInput input in inputs) read += input.Position;
        return read;
    }
}
