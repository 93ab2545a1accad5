using System.Globalization;
using System.Text.Json;
using System.Text;
using System.Text.RegularExpressions;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.CommandLine;

[CollectionDefinition("Console", DisableParallelization = true)]
public sealed class ConsoleCollection;

/// <summary>The command line in-process: exit codes, messages, and the README's example.</summary>
[Collection("Console")]
public sealed class CliTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sg-cli-" + Guid.NewGuid().ToString("N"));

    public CliTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    private static string SamplePolicy => Path.Combine(AppContext.BaseDirectory, "samples", "policy.yaml");
    private static string AuditKeyRef =>
        "file:" + Path.Combine(AppContext.BaseDirectory, "samples", "keys", "audit.key");

    /// <summary>
    /// A path the verb cannot write, or an input that is not what it must be, is an error the user can fix: its
    /// message and exit 1, never an unhandled exception.
    /// </summary>
    [Fact]
    public void AnOutputPathThatIsAFileOrAnExportThatIsNoGzipIsAnErrorNotACrash()
    {
        string file = Path.Combine(_dir, "a-file");
        File.WriteAllText(file, "x");
        var gen = Run("gen", "--out", file, "--reads", "10");
        Assert.Equal(1, gen.Code);
        Assert.StartsWith("streamguard gen: ", gen.Err, StringComparison.Ordinal);
        Assert.Contains(file, gen.Err, StringComparison.Ordinal);

        string notGzip = Path.Combine(_dir, "export.csv.gz");
        File.WriteAllText(notGzip, "plate,time\n");
        var seattle = Run("gen", "--seattle", notGzip, "--out", Path.Combine(_dir, "seattle"));
        Assert.Equal(1, seattle.Code);
        Assert.StartsWith("streamguard gen: ", seattle.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", seattle.Err, StringComparison.Ordinal);
    }

    /// <summary>
    /// An input that is one of the files replay writes would be replaced before it was read; standard input can
    /// feed one input only. Both are refused before anything is written.
    /// </summary>
    [Fact]
    public void ReplayRefusesAnInputItWouldOverwriteAndStandardInputTwice()
    {
        string outDir = Path.Combine(_dir, "out");
        Directory.CreateDirectory(outDir);
        string dlq = Path.Combine(outDir, "dlq.ndjson");
        string line = TestPolicy.Read("r1", "ca-lapd", "7ABC123", DateTimeOffset.Parse("2026-03-03T17:00:00Z",
            CultureInfo.InvariantCulture)) + "\n";
        File.WriteAllText(dlq, line);
        string link = Path.Combine(_dir, "reads-link.ndjson");
        File.CreateSymbolicLink(link, dlq);
        string outLink = Path.Combine(_dir, "out-link");
        Directory.CreateSymbolicLink(outLink, outDir);
        // A link whose target goes through another link: out2/dlq.ndjson → ../out-link/dlq.ndjson.
        string out2 = Path.Combine(_dir, "out2-dir");
        Directory.CreateDirectory(out2);
        File.CreateSymbolicLink(Path.Combine(out2, "dlq.ndjson"), Path.Combine("..", "out-link", "dlq.ndjson"));
        // `..` after a link goes up from where the link leads: deep-link → deep/a/b, so deep-link/../../../out is out.
        Directory.CreateDirectory(Path.Combine(_dir, "deep", "a", "b"));
        Directory.CreateSymbolicLink(Path.Combine(_dir, "deep-link"), Path.Combine(_dir, "deep", "a", "b"));
        string viaParent = Path.Combine(_dir, "deep-link", "..", "..", "..", "out", "dlq.ndjson");
        string in3 = Path.Combine(_dir, "in3");
        Directory.CreateDirectory(in3);
        File.CreateSymbolicLink(Path.Combine(in3, "reads.ndjson"),
            Path.Combine("..", "deep-link", "..", "..", "..", "out", "dlq.ndjson"));
        foreach (var (reads, @out) in new[]
        {
            (dlq, outDir), (Path.Combine(outDir, ".", "dlq.ndjson"), outDir), (link, outDir), (dlq, outLink),
            (Path.Combine(outLink, "dlq.ndjson"), outDir), (Path.Combine(out2, "dlq.ndjson"), outDir),
            (viaParent, outDir), (Path.Combine(in3, "reads.ndjson"), outDir),
        })
        {
            var r = Run("replay", "--policy", SamplePolicy, "--reads", reads, "--audit-key", AuditKeyRef,
                "--out", @out);
            Assert.Equal(2, r.Code);
            Assert.Contains($"--reads {reads}: it is a file that --out {@out} writes", r.Err,
                StringComparison.Ordinal);
            Assert.Equal(line, File.ReadAllText(dlq));
        }

        var twice = Run("replay", "--policy", SamplePolicy, "--reads", "-", "--queries", "-", "--audit-key",
            AuditKeyRef, "--out", Path.Combine(_dir, "out2"));
        Assert.Equal(2, twice.Code);
        Assert.Contains("--queries -: standard input is --reads's already", twice.Err, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_dir, "out2")));
    }

    [Fact]
    public void ReadmeExampleRunsAndReplayIsByteForByteDeterministic()
    {
        string traffic = Path.Combine(_dir, "traffic");
        var gen = Run("gen", "--out", traffic, "--reads", "3000", "--end", "2026-03-03T18:00:00Z", "--seed", "5");
        Assert.Equal(0, gen.Code);

        string[] outputs =
            ["shared.ndjson", "alerts.ndjson", "results.ndjson", "purges.ndjson", "audit.ndjson", "dlq.ndjson"];
        var runs = new List<Dictionary<string, byte[]>>();
        for (int i = 0; i < 2; i++)
        {
            string outDir = Path.Combine(_dir, "out" + i);
            var replay = Run("replay", "--policy", SamplePolicy, "--reads", Path.Combine(traffic, "reads.ndjson"),
                "--queries", Path.Combine(traffic, "queries.ndjson"),
                "--hotlists", Path.Combine(traffic, "hotlists.ndjson"),
                "--audit-key", AuditKeyRef, "--now", "2026-03-03T18:00:00Z", "--out", outDir);
            Assert.Equal(0, replay.Code);
            runs.Add(outputs.ToDictionary(f => f, f => File.ReadAllBytes(Path.Combine(outDir, f))));
            var verify = Run("audit", "verify", Path.Combine(outDir, "audit.ndjson"));
            Assert.Equal(0, verify.Code);
            Assert.Contains("every link verified", verify.Out, StringComparison.Ordinal);
        }
        foreach (string f in outputs) Assert.Equal(runs[0][f], runs[1][f]);
        Assert.NotEmpty(runs[0]["results.ndjson"]);
        Assert.NotEmpty(runs[0]["shared.ndjson"]);  // the sample policy's push agreements
        Assert.NotEmpty(runs[0]["alerts.ndjson"]);  // hotlist hits the policy allows
        Assert.NotEmpty(runs[0]["dlq.ndjson"]); // gen writes 1% bad lines by default
    }

    private string WritePolicy(string name, string agreements)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, """
            version: 1
            agencies:
              - {id: ca-lapd, state: CA, level: local}
              - {id: ca-lasd, state: CA, level: county}
              - {id: us-fbi, level: federal}
            """ + "\n" + agreements);
        return path;
    }

    [Fact]
    public void PolicyDiffListsEveryChangedOutcomeAndExitsThreeWhenAccessIsNewlyGranted()
    {
        string before = WritePolicy("old.yaml", "");
        string after = WritePolicy("new.yaml", "agreements:\n" +
            "  - {id: la-share, owners: [ca-lapd], recipients: [ca-lasd, us-fbi], access: [search, alert]," +
            " purposes: [stolen_vehicle, warrant]}");

        var grant = Run("policy", "diff", before, after, "--at", "2026-11-29T00:00:00Z");
        Assert.Equal(3, grant.Code);
        Assert.Contains("GRANTED — 4 outcomes newly allowed", grant.Out, StringComparison.Ordinal);
        Assert.Contains("by allow.agreement (la-share), was deny.no_agreement (DEFAULT.DENY):", grant.Out,
            StringComparison.Ordinal);
        Assert.Contains("ca-lapd → ca-lasd  search, alert × stolen_vehicle, warrant", grant.Out,
            StringComparison.Ordinal);
        // California law denies it either way
        Assert.DoesNotContain("us-fbi  search", grant.Out, StringComparison.Ordinal);
        // ca-lapd → ca-lasd push and other purposes: still denied, now by the agreement's most specific denial.
        Assert.Contains("deny.no_agreement (DEFAULT.DENY) → deny.access_not_granted (la-share):", grant.Out,
            StringComparison.Ordinal);
        Assert.Contains("deny.no_agreement (DEFAULT.DENY) → deny.purpose_not_granted (la-share):", grant.Out,
            StringComparison.Ordinal);
        Assert.Contains("summary: 4 granted, 0 revoked", grant.Out, StringComparison.Ordinal);

        var revoke = Run("policy", "diff", after, before, "--at", "2026-11-29T00:00:00Z", "--format", "tsv");
        Assert.Equal(0, revoke.Code);
        string[] rows = revoke.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("change\towner\trecipient\taccess\tpurpose\told_code\told_rule\tnew_code\tnew_rule", rows[0]);
        Assert.Equal(4, rows.Count(r => r.StartsWith("revoked\tca-lapd\tca-lasd\t", StringComparison.Ordinal)));
        Assert.Contains("revoked\tca-lapd\tca-lasd\tsearch\tstolen_vehicle\t" +
            "allow.agreement\tla-share\tdeny.no_agreement\tDEFAULT.DENY", rows);
    }

    [Fact]
    public void PolicyDiffShowsAChangedRetentionWindowWithoutCallingItAGrant()
    {
        string before = WritePolicy("a.yaml", "");
        string after = Path.Combine(_dir, "b.yaml");
        File.WriteAllText(after, File.ReadAllText(before).Replace("{id: ca-lasd, state: CA, level: county}",
            "{id: ca-lasd, state: CA, level: county, retention: 14d}", StringComparison.Ordinal));
        var r = Run("policy", "diff", before, after);
        Assert.Equal(0, r.Code);
        Assert.Contains("ca-lasd  30d (RETENTION.DEFAULT) → 14d (RETENTION.AGENCY)", r.Out, StringComparison.Ordinal);
        Assert.Contains("no outcome changes", r.Out, StringComparison.Ordinal);
    }

    /// <summary>A replay over the test policy (<see cref="ReplayedLog"/>): its audit log's path.</summary>
    private string ReplayAudit(out string resultsPath) => ReplayedLog.Make(_dir, out resultsPath);

    [Fact]
    public void AuditWhyExplainsTheDecisionBehindAnAnswerWithRuleCitationPolicyAndInput()
    {
        string audit = ReplayAudit(out _);
        // q1's denial of ca-lapd's reads to us-ice-ero: an investigator's id (the result names its empty answer).
        var export = Run("audit", "export", "--audit", audit);
        Assert.Equal(0, export.Code);
        JsonElement denied = export.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement.Clone())
            .First(d => d.TryGetProperty("query_id", out JsonElement q) && q.GetString() == "q1"
                && d.GetProperty("decision").GetString() == "deny");
        string id = denied.GetProperty("id").GetString()!;
        var why = Run("audit", "why", id, "--audit", audit);
        Assert.Equal(0, why.Code);
        Assert.Contains("outcome     DENY deny.statute", why.Out, StringComparison.Ordinal);
        Assert.Contains("rule        CA.PUBLIC_AGENCY_ONLY [enacted]", why.Out, StringComparison.Ordinal);
        Assert.Contains("recipient   us-ice-ero", why.Out, StringComparison.Ordinal);
        Assert.Contains("purpose     immigration_enforcement", why.Out, StringComparison.Ordinal);
        // The input event, by its id: a v2 entry names its query (the file and line are not kept).
        Assert.Contains("query_id    q1\n", why.Out.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        // Every chain checked from its genesis to its head, this decision's chain p0 included.
        Assert.Matches(@"integrity   every chain verified from its genesis \([1-9][0-9,]* entries, chain p0 to seq " +
            @"[1-9][0-9,]*\)", why.Out);
        Assert.Matches(@"policy      sha256:[0-9a-f]{64}  \(loaded from .*; its policy_load is seq 1 at ", why.Out);

        var missing = Run("audit", "why", "0123456789abcdef0123456789abcdef", "--audit", audit);
        Assert.Equal(1, missing.Code);
    }

    [Fact]
    public void AuditReportDrawsChartsAndWritesCsvWithoutPlates()
    {
        string audit = ReplayAudit(out _);
        using var policy = new TestPolicy();
        string outDir = Path.Combine(_dir, "report");
        var r = Run("audit", "report", "--agency", "ca-lapd", "--audit", audit, "--policy", policy.PolicyPath,
            "--out", outDir);
        Assert.Equal(0, r.Code);
        string html = File.ReadAllText(Path.Combine(outDir, "report.html"));
        foreach (string chart in (string[])["searches-by-requester", "denials-by-rule"])
        {
            Assert.Matches(
                $"<svg class=\"chart\" id=\"{chart}\"[^>]*>\\s*<text[^>]*>[^<]+</text><rect class=\"bar", html);
        }
        Assert.Contains(">federal</text>", html, StringComparison.Ordinal);
        Assert.Contains(">CA.PUBLIC_AGENCY_ONLY</text>", html, StringComparison.Ordinal);
        string[] csv = File.ReadAllLines(Path.Combine(outDir, "records.csv"));
        Assert.StartsWith("at,event,decision,code,rule,owner,recipient,purpose", csv[0], StringComparison.Ordinal);
        Assert.Contains(csv, l => l.Contains(
            ",search,deny,deny.statute,CA.PUBLIC_AGENCY_ONLY,ca-lapd,us-ice-ero,immigration_enforcement,",
            StringComparison.Ordinal));
        foreach (string text in (string[])[html, string.Join('\n', csv)])
        {
            Assert.DoesNotContain("PL0", text, StringComparison.Ordinal);
            Assert.DoesNotContain("plate_ref", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void AReportForADeniedSearcherRevealsNothingWithheldFromIt()
    {
        string audit = ReplayAudit(out _);
        using var policy = new TestPolicy();
        string outDir = Path.Combine(_dir, "report-ice");
        var r = Run("audit", "report", "--agency", "us-ice-ero", "--audit", audit, "--policy", policy.PolicyPath,
            "--out", outDir);
        Assert.Equal(0, r.Code);
        string html = File.ReadAllText(Path.Combine(outDir, "report.html"));
        string csv = File.ReadAllText(Path.Combine(outDir, "records.csv"));
        foreach (string text in (string[])[html, csv])
        {
            Assert.DoesNotContain("ca-lapd", text, StringComparison.Ordinal);           // whose reads were withheld
            Assert.DoesNotContain(">CA.PUBLIC_AGENCY_ONLY<", text, StringComparison.Ordinal); // no denial chart entry
            Assert.DoesNotContain(",CA.PUBLIC_AGENCY_ONLY,", text, StringComparison.Ordinal);
        }
        // The header and its five answers, each standing on the empty answer's decision, as if nothing was found.
        string[] rows = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(6, rows.Length);
        Assert.All(rows.Skip(1), l => Assert.Contains(",search,allow,allow.search,SEARCH.PRECHECK,,us-ice-ero,", l,
            StringComparison.Ordinal));
        Assert.Contains("<tr><td>Searches by its own users " +
            "(denied = refused at the query checks)</td><td>5</td><td>0</td></tr>", html, StringComparison.Ordinal);
    }

    [Fact]
    public void ChangingAnyByteOfAnyAuditRecordIsDetected()
    {
        string[] lines = File.ReadAllLines(ReplayAudit(out _));
        Assert.Null(StreamGuard.Audit.AuditVerifier.Verify(lines).Error);
        // The line number (1-based) of the seal that closes each line's block.
        int[] sealOf = new int[lines.Length];
        for (int i = lines.Length - 1, seal = 0; i >= 0; i--)
        {
            if (lines[i].Contains("\"salt\":", StringComparison.Ordinal)) seal = i + 1;
            sealOf[i] = seal;
        }
        Assert.Equal(lines.Length, sealOf[^1]); // the log ends with a seal
        int tampered = 0;
        for (int i = 0; i < lines.Length; i++)
        {
            byte[] original = Encoding.UTF8.GetBytes(lines[i]);
            for (int b = 0; b < original.Length; b++)
            {
                byte[] changed = (byte[])original.Clone();
                changed[b] = (byte)(changed[b] is >= (byte)'0' and <= (byte)'8' or >= (byte)'a' and <= (byte)'y'
                    ? changed[b] + 1
                    : changed[b] ^ 0x20);
                string[] copy = (string[])lines.Clone();
                copy[i] = Encoding.UTF8.GetString(changed);
                if (copy[i] == lines[i]) continue;
                var result = StreamGuard.Audit.AuditVerifier.Verify(copy);
                Assert.True(result.Error is not null, $"line {i + 1}, byte {b}: a change went undetected");
                // Found by the seal of the changed line's block at the latest (a seal checks its block's entries).
                Assert.True(result.Line <= sealOf[i], $"line {i + 1}, byte {b}: reported at line {result.Line}");
                tampered++;
            }
        }
        // Deleting, duplicating or swapping entries or seals is detected too.
        Assert.NotNull(StreamGuard.Audit.AuditVerifier.Verify(lines.Where((_, k) => k != lines.Length / 2)).Error);
        Assert.NotNull(StreamGuard.Audit.AuditVerifier.Verify(lines.Append(lines[^1])).Error);
        Assert.NotNull(StreamGuard.Audit.AuditVerifier
            .Verify(lines.Take(4).Append(lines[3]).Concat(lines.Skip(4))).Error);
        Assert.NotNull(StreamGuard.Audit.AuditVerifier
            .Verify(lines.Take(3).Append(lines[4]).Append(lines[3]).Concat(lines.Skip(5))).Error);
        Assert.NotNull(StreamGuard.Audit.AuditVerifier.Verify(lines.Take(lines.Length - 1)).Error); // the seal cut
        Assert.True(tampered > 10_000, $"{tampered} tampered copies checked");
    }

    [Fact]
    public void TheDemoRunsEndToEndAndSucceeds()
    {
        var r = Run("demo", "--reads", "3000", "--rate", "3000", "--hotlists", "50",
            "--out", Path.Combine(_dir, "demo"));
        Assert.True(r.Code == 0, r.Out + r.Err);
        Assert.Contains("events: 3,075 of 3,075 produced", r.Out, StringComparison.Ordinal);
        // What the worker wrote to Kafka per event, by topic: shared deliveries and audit blocks at least.
        Match perEvent = Regex.Match(r.Out,
            @"Kafka per event \(key \+ value bytes\): shared [0-9]\.[0-9]{2} msg [1-9][0-9,]* B, " +
            @"alerts [0-9.]+ msg [0-9,]+ B, results [0-9.]+ msg [0-9,]+ B, purges [0-9.]+ msg [0-9,]+ B, " +
            @"audit (?<am>[0-9]\.[0-9]{2}) msg [1-9][0-9,]* B, dlq [0-9.]+ msg [0-9,]+ B, " +
            @"repartition [0-9.]+ msg [0-9,]+ B, total [0-9]\.[0-9]{2} msg [1-9][0-9,]* B");
        Assert.True(perEvent.Success, r.Out);
        // One audit message per chain per transaction, not one per event (SPEC §7), yet some.
        Assert.InRange(double.Parse(perEvent.Groups["am"].Value, CultureInfo.InvariantCulture), 0.01, 0.99);
        // Every entry the engine wrote was read back from the topic, and every one of them verified.
        Match written = Regex.Match(r.Out,
            @"audit entries: (?<n>[1-9][0-9,]*) of \k<n> written \([1-9][0-9,]* decisions\)");
        Assert.True(written.Success, r.Out);
        Assert.Matches(
            $@"audit chains: [1-9]\d* verified, {written.Groups["n"].Value} entries in [1-9][0-9,]* blocks, no break",
            r.Out);
        Assert.True(File.Exists(Path.Combine(_dir, "demo", "report.html")));
    }

    [Fact]
    public void BenchMeasuresStreamGuardAndBothPassThroughCeilingsWithTransactionsOffAndOn()
    {
        var r = Run("bench", "--rate", "1000", "--duration", "2", "--warmup", "0.5", "--partitions", "4",
            "--sample", "2");
        Assert.True(r.Code == 0, r.Out + r.Err);
        // Bytes per event of a topic: a number with thousands separators.
        const string PerTopic = @"shared (?<sm>[0-9]\.[0-9]{2}) msg [0-9,]+ B, alerts [0-9]\.[0-9]{2} msg [0-9,]+ B, " +
            @"results (?<rm>[0-9]\.[0-9]{2}) msg [0-9,]+ B, purges [0-9]\.[0-9]{2} msg [0-9,]+ B, " +
            @"audit (?<am>[0-9]\.[0-9]{2}) msg (?<ab>[0-9,]+) B, dlq [0-9]\.[0-9]{2} msg [0-9,]+ B, " +
            @"repartition [0-9]\.[0-9]{2} msg [0-9,]+ B, total (?<tm>[0-9]\.[0-9]{2}) msg (?<tb>[0-9,]+) B";
        foreach (string mode in (string[])["transactions off", "transactions on "])
        {
            foreach (string system in (string[])["StreamGuard      ", "one-to-one pipe  ", "same-records pipe"])
            {
                // Every timed read (sampled partitions, after the warm-up) was seen: n/n, with percentiles and bytes
                // per event, then what the system wrote to Kafka per event, by topic.
                Assert.Matches($@"step +\d+ {mode} {system} offered +1,000/s: +[0-9,]+ events/s; " +
                    @"ms p50 [0-9.]+ p90 [0-9.]+ p99 [0-9.]+ p99\.9 [0-9.]+ max [0-9.]+; " +
                    @"(?<n>[1-9][0-9,]*)/\k<n> timed; sender late ms p50 [0-9.]+ p99 [0-9.]+; [1-9][0-9,]* B/event" +
                    @".*\n(.*\n)?          Kafka per event \(key \+ value bytes\): " + PerTopic,
                    r.Out);
            }

            // StreamGuard: shared deliveries, results and audit blocks; the audit in one message per chain per
            // transaction (SPEC §7), so far fewer than one per event, yet bytes on every event's account.
            Match sg = Regex.Match(r.Out, $@"{mode}  StreamGuard       Kafka per event: {PerTopic}");
            Assert.True(sg.Success, r.Out);
            double sharedPerEvent = double.Parse(sg.Groups["sm"].Value, CultureInfo.InvariantCulture);
            double auditPerEvent = double.Parse(sg.Groups["am"].Value, CultureInfo.InvariantCulture);
            Assert.True(sharedPerEvent > 0);
            Assert.True(double.Parse(sg.Groups["rm"].Value, CultureInfo.InvariantCulture) > 0);
            Assert.InRange(auditPerEvent, 0.01, 0.99);
            Assert.True(long.Parse(sg.Groups["ab"].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture)
                > 0);
            Assert.True(double.Parse(sg.Groups["tm"].Value, CultureInfo.InvariantCulture)
                >= sharedPerEvent + auditPerEvent);

            // The one-to-one pipe: exactly one message per event, all of it on alpr.shared, the input's bytes.
            Match one = Regex.Match(r.Out, $@"{mode} one-to-one pipe .*\n.*\n          Kafka per event " +
                $@"\(key \+ value bytes\): shared 1\.00 msg (?<b>[0-9,]+) B, alerts 0\.00 msg 0 B, " +
                @"results 0\.00 msg 0 B, purges 0\.00 msg 0 B, audit 0\.00 msg 0 B, dlq 0\.00 msg 0 B, " +
                @"repartition 0\.00 msg 0 B, total 1\.00 msg \k<b> B");
            Assert.True(one.Success, r.Out);
            // A synthetic read with its plate key is a few hundred bytes.
            Assert.InRange(long.Parse(one.Groups["b"].Value, NumberStyles.AllowThousands,
                CultureInfo.InvariantCulture), 100, 1000);

            Assert.Matches($@"{mode}  one-to-one pipe +[0-9,]+ events/s;", r.Out);
            Assert.Matches($@"{mode}  same-records pipe +[0-9,]+ events/s;", r.Out);
            foreach (string pipe in (string[])["one-to-one pipe", "same-records pipe"])
            {
                Assert.Matches($@"{mode}  StreamGuard / {pipe}: throughput [0-9]+\.[0-9]{{2}}[^;]*; " +
                    @"p50 [0-9]+\.[0-9]{2}, p99 [0-9]+\.[0-9]{2}; .*" +
                    @"Kafka messages per event (0\.[1-9]|[1-9]\.)[0-9]{1,2} against (0\.[1-9]|[1-9]\.)[0-9]{1,2}",
                    r.Out);
            }
            Assert.Matches($@"{mode}  StreamGuard / one-to-one pipe: .* against 1\.00\r?\n", r.Out);
        }
        Assert.Matches(
            @"outputs per event (0\.[1-9]|[1-9]\.)[0-9]{1,2} \(shared [0-9.]+ × [0-9]+ B, .*" +
            @"audit (0\.0[1-9]|0\.[1-9][0-9]) × [1-9][0-9]+ B",
            r.Out);
        Assert.Matches(@"transactions on .*\n.*\n.* [1-9][0-9,]* commits;", r.Out);
    }

    [Fact]
    public void BenchCompressesTheWorkersAndThePipesOutputsAsAsked()
    {
        var r = Run("bench", "--rate", "500", "--duration", "1", "--warmup", "0.5", "--partitions", "4",
            "--transactions", "on", "--ceiling", "one-to-one", "--compression", "zstd");
        Assert.True(r.Code == 0, r.Out + r.Err);
        Assert.Contains("compression.type=zstd", r.Out, StringComparison.Ordinal);
        Assert.Matches(@"step +1 transactions on  StreamGuard +offered", r.Out);
        Assert.Matches(@"step +2 transactions on  one-to-one pipe +offered", r.Out);
        Assert.DoesNotMatch("same-records pipe", r.Out);
        Assert.Matches(@"transactions on   StreamGuard / one-to-one pipe: throughput", r.Out);
        Assert.Equal(2, Run("bench", "--compression", "brotli").Code);
    }

    [Fact]
    public void BenchSweepReportsASustainableMaximum()
    {
        var r = Run("bench", "--rate", "400", "--duration", "1", "--warmup", "0.5", "--sweep", "2",
            "--transactions", "off", "--ceiling", "off", "--partitions", "4");
        Assert.True(r.Code == 0, r.Out + r.Err);
        Assert.Matches(@"step +1 transactions off StreamGuard +offered +400/s", r.Out);
        Assert.Matches(@"step +2 transactions off StreamGuard +offered +(600|200)/s", r.Out);
        Assert.Matches(@"transactions off  StreamGuard +sustainable maximum [0-9,]+ events/s", r.Out);

        Assert.Equal(2, Run("bench", "--transactions", "sometimes").Code);
        Assert.Equal(2, Run("bench", "--ceiling", "maybe").Code);
        Assert.Equal(2, Run("bench", "--ceiling", "on").Code); // the pipes are named: both, one-to-one, same-records
    }

    [Fact]
    public void PolicyExplainShowsEveryStepWithCitationAndStatus()
    {
        var r = Run("policy", "explain", SamplePolicy, "--owner", "wa-spd", "--recipient", "us-ice-ero",
            "--access", "search", "--purpose", "immigration_enforcement");
        Assert.Equal(0, r.Code);
        Assert.Matches(@"2\s+statute\s+WA\.IMMIGRATION\s+FAIL ←", r.Out);
        Assert.Contains("[⚠ signature unconfirmed: not confirmed enacted]", r.Out, StringComparison.Ordinal);
        Assert.Matches(@"4\s+agreement\s+national-network\s+\(allow\)", r.Out);
        Assert.Contains("decision   DENY deny.statute — rule WA.IMMIGRATION", r.Out, StringComparison.Ordinal);

        var bad = Run("policy", "explain", SamplePolicy, "--owner", "nobody", "--recipient", "us-ice-ero",
            "--access", "search", "--purpose", "warrant");
        Assert.Equal(2, bad.Code);
        Assert.Contains("--owner: 'nobody' is not an agency", bad.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void PolicyCheckRejectsAnAgreementNamingAnUnknownAgencyWithFileLineAndField()
    {
        string path = WritePolicy("bad.yaml", """
            agreements:
              - id: typo
                owners: [ca-lapd]
                recipients: [ca-lsad]
                access: [search]
                purposes: [warrant]
            """);
        var r = Run("policy", "check", path);
        Assert.Equal(2, r.Code);
        Assert.Contains($"{path}:9: agreements[typo].recipients: unknown agency 'ca-lsad'", r.Err,
            StringComparison.Ordinal);
    }

    [Fact]
    public void ReplayDeadLettersEveryBadLineWithItsFileAndLineAndReadsOn()
    {
        using var policy = new TestPolicy();
        string reads = Path.Combine(_dir, "reads.ndjson");
        var t = new DateTimeOffset(2026, 3, 3, 17, 0, 0, TimeSpan.Zero);
        using (var f = new FileStream(reads, FileMode.Create))
        {
            void Line(string s, string end = "\n") { f.Write(Encoding.UTF8.GetBytes(s + end)); }
            Line(TestPolicy.Read("r1", "ca-lapd", "7ABC123", t), "\r\n");                    // 1 CRLF
            Line("");                                                                        // 2 blank
            Line("{\"read_id\":");                                                           // 3 malformed
            f.Write([(byte)'{', 0xC0, 0xAF, (byte)'}', (byte)'\n']);                         // 4 invalid UTF-8
            Line("{\"read_id\":\"r-big\",\"pad\":\"" + new string('x', 2000) + "\"}");      // 5 oversized (cap 1024)
            Line(TestPolicy.Read("r2", "ca-lapd", "7ABC124", t.AddSeconds(1)), "");          // 6 no final newline
        }
        string outDir = Path.Combine(_dir, "out");
        var replay = Run("replay", "--policy", policy.PolicyPath, "--reads", reads, "--out", outDir,
            "--max-event-bytes", "1024", "--now", "2026-03-04T00:00:00Z", "--audit-key", AuditKeyRef);
        Assert.Equal(0, replay.Code);

        var dlq = File.ReadAllLines(Path.Combine(outDir, "dlq.ndjson"))
            .Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        Assert.Equal(
            [("malformed_json", $"{reads}:3"), ("invalid_utf8", $"{reads}:4"), ("oversized", $"{reads}:5")],
            dlq.Select(d => (d.GetProperty("error").GetString()!, d.GetProperty("source").GetString()!)));
        Assert.Equal(1024, Convert.FromBase64String(dlq[2].GetProperty("payload_b64").GetString()!).Length);
        var audit = File.ReadAllLines(Path.Combine(outDir, "audit.ndjson"));
        var check = StreamGuard.Audit.AuditVerifier.Verify(audit);
        Assert.Null(check.Error);
        Assert.Equal(3, check.Entries); // the chain's policy_load, then r1 and r2 ingested: no entry for a bad line
        Assert.Equal(
            ["policy.load", "allow.ingest r1", "allow.ingest r2"],
            StreamGuard.Audit.AuditExport.Decisions(audit).Select(MemorySink.Json)
                .Select(d => (d.GetProperty("code").GetString() + " " +
                    (d.TryGetProperty("reads", out JsonElement r) ? r[0].GetString() : "")).TrimEnd()));
    }

    [Fact]
    public void ReplayOnAFullDiskFailsWithExitOneNamingTheFileItCouldNotWrite()
    {
        if (!File.Exists("/dev/full")) Assert.Fail("this test needs Linux's /dev/full (every write: ENOSPC)");
        using var policy = new TestPolicy();
        string reads = Path.Combine(_dir, "reads.ndjson");
        var t = new DateTimeOffset(2026, 3, 3, 17, 0, 0, TimeSpan.Zero);
        File.WriteAllLines(reads, Enumerable.Range(0, 20).Select(i =>
            TestPolicy.Read($"r{i}", "ca-lapd", $"PL{i}", t.AddMinutes(i))));
        string outDir = Path.Combine(_dir, "out");
        Directory.CreateDirectory(outDir);
        File.CreateSymbolicLink(Path.Combine(outDir, "audit.ndjson"), "/dev/full");
        var replay = Run("replay", "--policy", policy.PolicyPath, "--reads", reads, "--out", outDir,
            "--now", "2026-03-04T00:00:00Z", "--audit-key", AuditKeyRef);
        Assert.Equal(1, replay.Code);
        Assert.Contains($"streamguard replay: cannot write {Path.Combine(outDir, "audit.ndjson")}: ", replay.Err,
            StringComparison.Ordinal);
        Assert.Contains("No space left on device", replay.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("replayed", replay.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void TheSeattleExportBecomesPlateReadsInUtcWithRepeatVehiclesKept()
    {
        const string csv =
            "zipcode|dt|location|address|device|plate_hash|lon|lat|median_incomeE\n" +
            "98036|10/07/2021 - 16:30:51|Plain car|I-5 N|SPD2020621MDC|1ea44336207b9a32fbd46ced905e9bdc3dc7045e|" +
            "-122.2948006|47.8128394|85407\n" +
            "98101|10/07/2021 - 16:31:02|Patrol|Pike St|M207709|1ea44336207b9a32fbd46ced905e9bdc3dc7045e|NA|NA|1\n" +
            "98101|garbage|Patrol|Pike St|M207709|1ea4|NA|NA|1";
        using var output = new MemoryStream();
        var (written, skipped) = StreamGuard.Cli.Commands.SeattleImport.Convert(new StringReader(csv), output);
        Assert.Equal((2L, 1L), (written, skipped));
        string[] lines = Encoding.UTF8.GetString(output.ToArray()).TrimEnd('\n').Split('\n');
        JsonElement first = JsonDocument.Parse(lines[0]).RootElement;
        JsonElement second = JsonDocument.Parse(lines[1]).RootElement;
        Assert.Equal("2021-10-07T23:30:51Z", first.GetProperty("observed_at").GetString()); // PDT is UTC-7
        Assert.Equal("1EA4433", first.GetProperty("plate").GetString());
        Assert.Equal(first.GetProperty("plate").GetString(), second.GetProperty("plate").GetString());
        Assert.Equal("wa-spd-SPD2020621MDC", first.GetProperty("camera_id").GetString());
        Assert.Equal(47.8128394, first.GetProperty("lat").GetDouble());
        Assert.False(second.TryGetProperty("lat", out _)); // "NA": no position, not a bad read

        using var policy = new TestPolicy();
        var parser = new StreamGuard.Parsing.EventParser(policy.Compiled.Agencies);
        Assert.All(lines, l => Assert.True(parser.ParseRead(Encoding.UTF8.GetBytes(l), out _).IsOk));
    }

    [Fact]
    public void APolicyErrorNamesFileLineAndFieldAndExitsTwo()
    {
        string path = Path.Combine(_dir, "bad.yaml");
        File.WriteAllText(path, "version: 1\nagencies:\n  - id: ca-lapd\n    state: CA\n    level: municipal\n");
        var r = Run("policy", "check", path);
        Assert.Equal(2, r.Code);
        Assert.Contains($"{path}:3: agencies[ca-lapd].level:", r.Err, StringComparison.Ordinal);
        Assert.Contains("'municipal'", r.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void TheSamplePolicyChecksWithAWarningForTheNationalNetworkThatStatutesNullify()
    {
        var r = Run("policy", "check", SamplePolicy, "--at", "2026-11-29T00:00:00Z");
        Assert.Equal(0, r.Code);
        string[] lines = r.Out.Split('\n');
        string ca = Assert.Single(lines, l => l.Contains("agreements[national-network]", StringComparison.Ordinal)
            && l.Contains("CA.PUBLIC_AGENCY_ONLY", StringComparison.Ordinal));
        Assert.Contains("ca-lapd's reads", ca, StringComparison.Ordinal);
        Assert.Contains("us-ice-ero", ca, StringComparison.Ordinal);
        Assert.Contains("us-fbi", ca, StringComparison.Ordinal);
        Assert.Contains("Cal. Civ. Code §1798.90.55(b)", ca, StringComparison.Ordinal);
        Assert.Contains(lines,
            l => l.Contains("agreements[texas-repo-feed].expires: expired on 2026-01-31", StringComparison.Ordinal));
        Assert.Contains(lines,
            l => l.Contains("WA.OUT_OF_STATE", StringComparison.Ordinal) && l.Contains("⚠", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("frobnicate")]
    [InlineData("replay", "--policy")]
    [InlineData("replay", "--polcy", "x")]
    [InlineData("gen", "--out", "x", "--reads", "-5")]
    public void BadUsageExitsTwoWithHelp(params string[] args)
    {
        var r = Run(args);
        Assert.Equal(2, r.Code);
        Assert.Contains("streamguard", r.Err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("demo")]
    [InlineData("run")]
    [InlineData("broker")]
    [InlineData("replay")]
    [InlineData("gen")]
    [InlineData("policy")]
    [InlineData("audit")]
    [InlineData("bench")]
    [InlineData("acl")]
    [InlineData("completion")]
    public void EveryVerbHasHelp(string verb)
    {
        var r = Run(verb, "--help");
        Assert.Equal(0, r.Code);
        Assert.Contains($"streamguard {verb}", r.Out, StringComparison.Ordinal);
    }
}
