using System.CommandLine;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using StreamGuard.Cli.CommandLine;
using StreamGuard.Audit;

namespace StreamGuard.Cli.Commands;

/// <summary>
/// <c>streamguard audit verify|why|export|report</c>: the audit log checked, explained, exported, reported.
/// </summary>
internal static class AuditCommand
{
    /// <summary>The audit log as a Kafka topic (with <see cref="Bootstrap"/>) instead of a file.</summary>
    internal static readonly TextOption Topic = new("topic", "T",
        "the audit log as a Kafka topic, read from its beginning to its current end (read_committed)");

    internal static readonly TextOption Bootstrap = new("bootstrap", "B", "the Kafka cluster of --topic");

    internal static readonly TextOption Audit =
        new("audit", "FILE", "the audit log as an NDJSON file");

    internal static readonly TextOption Policy = new("policy", "P", """
        report: the policy that gives requesters' states and levels ({default});
        why accepts it and needs none (each record names its policy)
        """)
    {
        Default = Common.SamplePolicyPath, Shown = "default: the bundled sample policy",
    };

    internal static readonly TextOption Agency = new("agency", "A", "report: the agency the report is for");

    internal static readonly TextOption Out =
        new("out", "DIR", "report: where report.html and records.csv go (created)");

    internal static readonly TextOption From =
        new("from", "T", "report: decisions at or after T (a date, 2026-03-01, or RFC 3339)");

    internal static readonly TextOption To = new("to", "T", "report: decisions at or before T (a date: to its end)");

    /// <summary><c>audit verify</c>'s log as a file.</summary>
    private static readonly Argument<string> s_file = new("FILE")
    {
        Description = "the audit log as an NDJSON file (or --topic T --bootstrap B)", Arity = ArgumentArity.ZeroOrOne,
    };

    /// <summary><c>audit why</c>'s decision.</summary>
    internal static readonly Argument<string> Id = new("ID")
    {
        Description = "a decision's id: a result's decision_id, a share's sg-decision header, an alert's alert_id",
    };

    /// <summary><c>audit verify|why|export|report</c>: each a command with its own arguments and options.</summary>
    public static Command Command { get; } = new("audit",
        "verify hash chains, explain a decision, export, transparency report: audit verify|why|export|report")
    {
        Verb.Create("verify", "check the hash chains of an audit log (exit 1 on any break)", """
            streamguard audit verify FILE | --topic T --bootstrap B

            Checks the hash chains of an audit log — an NDJSON file, or a Kafka topic read from
            its beginning to its current end (read_committed): each block's seal hashes its entries onto
            the hash before it, entries are numbered without gaps, duplicates or reordering from each
            chain's genesis, and no entry lies after the last seal (v1 logs: each record's hash). Reports
            the first break with its line or topic/partition/offset (exit 1), else each chain's head
            (last seq and hash): keep it, and a later verify shows nothing was cut from the end.
            """, [Topic, Bootstrap], arguments: [s_file]).Runs((a, _) => Verify(a)),
        Verb.Create("why", "explain one decision by its id", """
            streamguard audit why ID --audit FILE | --topic T --bootstrap B [--policy P]

            Explains one decision by its id (the decision_id of a result, the sg-decision header of a
            share, an alert's alert_id): event, allow or deny, code, rule, citation and the law's status,
            the policy version in force (and the policy_load that opened it), owner, recipient, purpose,
            query and reads; verifies the log's chains.
            """, [Audit, Topic, Bootstrap, Policy], arguments: [Id]).Runs((a, _) => AuditWhy.Run(a)),
        Verb.Create("export", "one JSON object per decision on standard output, for SIEMs", """
            streamguard audit export --audit FILE | --topic T --bootstrap B

            Writes one JSON object per decision to standard output (the shape SIEMs read: id, chain,
            seq, at, event, decision, code, rule, citation, policy hash, agencies, purpose, query, reads,
            plate_ref), expanding each compact entry with its chain's policy_load tables. Verifies the
            log's chains first, as audit verify does: a broken log exports nothing (its first break on
            standard error, exit 1).
            """, [Audit, Topic, Bootstrap]).Runs((a, _) => Export(a)),
        Verb.Create("report", "a transparency report for one agency (HTML with charts, CSV)", """
            streamguard audit report --agency A --audit FILE | --topic T --bootstrap B --out DIR
                                     [--from T] [--to T] [--policy P]

            A transparency report for one agency: OUT/report.html (charts of searches of its data by
            requester state and level, denials by rule, shares by recipient, retention purges by day, and
            its own searches by purpose) and OUT/records.csv (one row per decision involving it). No raw
            plates and no plate references; a denial of another owner's data to this agency is left out
            (it would tell the agency what was withheld from it). Verifies the log's chains first, as
            audit verify does: a broken log gets no report (its first break on standard error, exit 1).
            """, [Agency, Audit, Topic, Bootstrap, Out, From, To, Policy]).Runs((a, _) => AuditReport.Report(a)),
    };

    private static int Verify(CommandArgs args)
    {
        string? path = args.Result.GetValue(s_file);
        if (args.Get(Topic) is { } topic)
        {
            string bootstrap = args.Require(Bootstrap);
            if (path is not null) throw new UsageException("give a FILE or --topic, not both");
            return VerifyTopic(bootstrap, topic);
        }
        if (path is null) throw new UsageException("expected: audit verify FILE | --topic T --bootstrap B");
        if (!File.Exists(path)) throw new UsageException($"{path}: no such file");
        AuditVerifier.Result result;
        using (FileStream file = File.OpenRead(path)) result = AuditVerifier.Verify(AuditVerifier.Lines(file));
        if (result.Error is not null)
        {
            Console.Error.WriteLine(AuditRecords.Printable($"{path}:{result.Line}: {result.Error}"));
            return 1;
        }
        Console.WriteLine($"{path}: ok — {Summary(result)}");
        PrintHeads(result);
        return 0;
    }

    /// <summary>
    /// Every record of an audit topic, partition by partition, to the end each had when reading began. A chain's
    /// records share a key, hence a partition, so partition order is chain order.
    /// </summary>
    public static IEnumerable<string> TopicRecords(string bootstrap, string topic, Action<string>? onSource = null)
    {
        using IConsumer<Ignore, string> consumer = new ConsumerBuilder<Ignore, string>(new ConsumerConfig
        {
            BootstrapServers = bootstrap, GroupId = "streamguard-audit-read-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false, IsolationLevel = IsolationLevel.ReadCommitted, FetchWaitMaxMs = 50,
            EnablePartitionEof = true,
        }).Build();
        using IAdminClient admin = new DependentAdminClientBuilder(consumer.Handle).Build();
        TopicMetadata? t = admin.GetMetadata(topic, TimeSpan.FromSeconds(30)).Topics
            .FirstOrDefault(x => x.Topic == topic);
        if (t is null || t.Error.IsError || t.Partitions.Count == 0)
        {
            throw new UsageException($"topic {topic}: {t?.Error.Reason ?? "not found"}");
        }
        foreach (PartitionMetadata p in t.Partitions.OrderBy(p => p.PartitionId))
        {
            var tp = new TopicPartition(topic, p.PartitionId);
            if (consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(30)).High.Value <= 0) continue;
            consumer.Assign(new TopicPartitionOffset(tp, Offset.Beginning));
            while (true)
            {
                ConsumeResult<Ignore, string>? r = consumer.Consume(TimeSpan.FromSeconds(10)) ??
                    throw new TimeoutException($"{topic}/{p.PartitionId}: no record within 10 s");
                if (r.IsPartitionEOF) break;
                onSource?.Invoke($"{topic}/{p.PartitionId}/{r.Offset.Value}");
                // A v2 message is a block: its entries and its seal, one per line.
                foreach (string line in (r.Message.Value ?? "").Split('\n')) yield return line;
            }
        }
    }

    private static int VerifyTopic(string bootstrap, string topic)
    {
        string source = "";
        IEnumerable<string> records = TopicRecords(bootstrap, topic, s => source = s);
        AuditVerifier.Result result;
        try
        {
            result = AuditVerifier.Verify(records);
        }
        catch (Exception e) when (e is TimeoutException or KafkaException)
        {
            Console.Error.WriteLine($"{topic}: could not read the whole topic: {e.Message}");
            return 1;
        }
        if (result.Error is not null)
        {
            Console.Error.WriteLine(AuditRecords.Printable($"{source}: {result.Error}"));
            return 1;
        }
        Console.WriteLine($"{topic}: ok — {Summary(result)}");
        PrintHeads(result);
        return 0;
    }

    private static int Export(CommandArgs args)
    {
        if (AuditRecords.Load(args) is not { } log) return 1;
        // Only a log whose every chain verifies is exported: an export is read as the log's decisions, all of them.
        if (log.Broken is { } broken)
        {
            Console.Error.WriteLine(broken);
            return 1;
        }
        IEnumerable<string> decisions = log.Decisions();
        // Through Console.Out (where the in-process callers and tests redirect it), in chunks of about 64 KiB: the
        // console writer flushes on every write.
        TextWriter o = Console.Out;
        var chunk = new StringBuilder(1 << 17);
        foreach (string d in decisions)
        {
            chunk.Append(d).Append('\n');
            if (chunk.Length < 1 << 16) continue;
            o.Write(chunk);
            chunk.Clear();
        }
        o.Write(chunk);
        o.Flush();
        // The decisions before a line that cannot be read are written; the line ends the export with exit 1.
        if (log.Unreadable is { } unreadable)
        {
            Console.Error.WriteLine(unreadable);
            return 1;
        }
        return 0;
    }

    private static string Summary(AuditVerifier.Result r) =>
        $"{r.Entries:N0} entries in {r.Blocks:N0} blocks on {r.Chains} chains, every link verified";

    /// <summary>
    /// Prints each chain's head (last seq and hash): kept elsewhere, a head shows later that no block was cut from the
    /// end, which no chain can show by itself. A chain's name is the log's text: printed escaped.
    /// </summary>
    private static void PrintHeads(AuditVerifier.Result r)
    {
        foreach ((string chain, (long seq, string hash)) in r.Heads.OrderBy(h => h.Key, StringComparer.Ordinal))
        {
            Console.WriteLine(AuditRecords.Printable($"  head {chain} seq {seq} {hash}"));
        }
    }
}
