using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using StreamGuard.Audit;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.CommandLine;

/// <summary>
/// <c>audit why</c>, <c>audit export</c> and <c>audit report</c> on logs that are not what a worker wrote: each judges
/// the log's integrity as <c>audit verify</c> does (the same bytes, the same line numbers) and ends with one line of
/// error and exit 1, never a stack trace, when the log cannot be read or its chains are broken.
/// </summary>
[Collection("Console")]
public sealed class AuditReadersTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sg-readers-" + Guid.NewGuid().ToString("N"));

    public AuditReadersTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    /// <summary>A replay's audit log over the test policy (<see cref="ReplayedLog"/>).</summary>
    private string ReplayAudit() => ReplayedLog.Make(_dir, out _);

    /// <summary>The id of the first decision on q1 (ICE's search, denied) in an intact log.</summary>
    private static string DeniedSearchId(string audit)
    {
        var export = CliRunner.Run("audit", "export", "--audit", audit);
        Assert.True(export.Code == 0, export.Err);
        return export.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(MemorySink.Json)
            .First(d => d.TryGetProperty("query_id", out JsonElement q) && q.GetString() == "q1"
                && d.GetProperty("decision").GetString() == "deny")
            .GetProperty("id").GetString()!;
    }

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private string Write(string name, IEnumerable<string> lines) =>
        Write(name, Encoding.UTF8.GetBytes(string.Join("", lines.Select(l => l + "\n"))));

    /// <summary>The first break <c>audit verify</c> reports for a file: its line number and what broke.</summary>
    private static (long Line, string Error) VerifyBreak(string path)
    {
        var verify = CliRunner.Run("audit", "verify", path);
        Assert.Equal(1, verify.Code);
        Match m = Regex.Match(verify.Err, "^" + Regex.Escape(path) + @":(?<line>[0-9]+): (?<error>.+?)\r?\n$");
        Assert.True(m.Success, verify.Err);
        return (long.Parse(m.Groups["line"].Value, System.Globalization.CultureInfo.InvariantCulture),
            m.Groups["error"].Value);
    }

    [Fact]
    public void WhyJudgesIntegrityByTheBytesAsVerifyDoesAndExitsOneWhenTheLogIsBroken()
    {
        string audit = ReplayAudit();
        string id = DeniedSearchId(audit);
        byte[] bytes = File.ReadAllBytes(audit);
        string[] lines = File.ReadAllLines(audit);
        Assert.True(lines.Length > 4);
        var broken = new Dictionary<string, byte[]>
        {
            ["crlf"] = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(bytes).Replace("\n", "\r\n",
                StringComparison.Ordinal)),
            ["bom"] = [0xEF, 0xBB, 0xBF, .. bytes],
            ["blank"] = Encoding.UTF8.GetBytes(string.Join("", lines.Take(3).Append("").Concat(lines.Skip(3))
                .Select(l => l + "\n"))),
            ["tampered"] = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(bytes).Replace("\"wa-spd\"",
                "\"wa-sp_\"", StringComparison.Ordinal)),
        };
        foreach ((string name, byte[] content) in broken)
        {
            string path = Write(name + ".ndjson", content);
            (long line, string error) = VerifyBreak(path);
            var why = CliRunner.Run("audit", "why", id, "--audit", path);
            Assert.True(why.Code == 1, $"{name}: exit {why.Code}\n{why.Out}");
            // Still explained, with the break verify reports, on standard output and as verify words it on error.
            Assert.Contains($"decision    {id}", why.Out, StringComparison.Ordinal);
            Assert.Contains($"integrity   BROKEN: line {line}: {error}\n", why.Out.ReplaceLineEndings("\n"),
                StringComparison.Ordinal);
            Assert.DoesNotContain("every chain verified", why.Out, StringComparison.Ordinal);
            Assert.Equal($"{path}:{line}: {error}", why.Err.TrimEnd());
        }
        // The intact log: verified, exit 0.
        var ok = CliRunner.Run("audit", "why", id, "--audit", audit);
        Assert.True(ok.Code == 0, ok.Err);
        Assert.Contains("integrity   every chain verified from its genesis", ok.Out, StringComparison.Ordinal);
        Assert.Equal("", ok.Err);
    }

    /// <summary>
    /// Corruptions of one line that a reader of entries trips on: a member named twice, a seq no integer holds, a
    /// policy version that is no number, a salt that is no hex, a share's code that is no string. Each as the changed
    /// line's number (1-based) and the changed lines.
    /// </summary>
    private static IEnumerable<(string Name, int Line, List<string> Lines)> Corruptions(string[] lines)
    {
        int seal = Array.FindIndex(lines, l => l.Contains("\"salt\":", StringComparison.Ordinal));
        int entry = Array.FindIndex(lines, l => l.StartsWith("{\"seq\":", StringComparison.Ordinal)
            && l.Contains("\"policy\":1,", StringComparison.Ordinal));
        int read = Array.FindIndex(lines, l => l.Contains("\"read\":", StringComparison.Ordinal));
        Assert.True(seal > 0 && entry > 0 && read > 0);
        (string, int, List<string>) Changed(string name, int at, Func<string, string> change)
        {
            List<string> copy = [.. lines];
            copy[at] = change(copy[at]);
            Assert.NotEqual(lines[at], copy[at]);
            return (name, at + 1, copy);
        }
        string Seq(string l, string seq) => Regex.Replace(l, "^\\{\"seq\":[0-9]+,", $"{{\"seq\":{seq},");
        yield return Changed("duplicate chain", seal, l => l.Replace("{\"chain\":\"p0\",", "{\"chain\":\"p0\"," +
            "\"chain\":\"p1\",", StringComparison.Ordinal));
        yield return Changed("seq beyond long", entry, l => Seq(l, "99999999999999999999999"));
        yield return Changed("seq 1e999", entry, l => Seq(l, "1e999"));
        yield return Changed("seq a string", entry, l => Seq(l, "\"11\""));
        yield return Changed("policy true", entry, l => l.Replace("\"policy\":1,", "\"policy\":true,",
            StringComparison.Ordinal));
        yield return Changed("salt not hex", seal, l => Regex.Replace(l, "\"salt\":\"[0-9a-f]+\"",
            "\"salt\":\"xyz\""));
        yield return Changed("push code a number", read, l => l[..^1] + ",\"push\":{\"zz\":[1,2]}}");
    }

    private (int Code, string Out, string Err)[] RunReaders(string path, string id)
    {
        using var policy = new TestPolicy();
        return
        [
            CliRunner.Run("audit", "why", id, "--audit", path),
            CliRunner.Run("audit", "export", "--audit", path),
            CliRunner.Run("audit", "report", "--agency", "ca-lapd", "--audit", path, "--policy", policy.PolicyPath,
                "--out", Path.Combine(_dir, "report-" + Path.GetFileNameWithoutExtension(path))),
        ];
    }

    [Fact]
    public void ACorruptedLineEndsWhyExportAndReportWithOneLineNamingItNeverAStackTrace()
    {
        string audit = ReplayAudit();
        string id = DeniedSearchId(audit);
        int n = 0;
        foreach ((string name, int line, List<string> lines) in Corruptions(File.ReadAllLines(audit)))
        {
            // As a changed byte of the log: verify names the break; each reader ends with an error naming a line.
            string path = Write($"corrupt{n++}.ndjson", lines);
            VerifyBreak(path);
            foreach (var r in RunReaders(path, id))
            {
                Assert.True(r.Code == 1, $"{name}: exit {r.Code}: {r.Err}");
                Assert.Matches($"^{Regex.Escape(path)}:[0-9]+: [^\n]+\n$", r.Err.ReplaceLineEndings("\n"));
                Assert.DoesNotContain("   at ", r.Err, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void AForgedLineWhoseChainVerifiesStillEndsEachReaderWithOneLineNamingIt()
    {
        string audit = ReplayAudit();
        string id = DeniedSearchId(audit);
        int n = 0;
        foreach ((string name, int line, List<string> lines) in Corruptions(File.ReadAllLines(audit)))
        {
            // Verify reads seq and refuses a member written twice: no such forgery passes it.
            if (name.StartsWith("seq", StringComparison.Ordinal)
                || name.StartsWith("duplicate", StringComparison.Ordinal))
            {
                Assert.True(CliRunner.Run("audit", "verify", Write($"forged{n++}.ndjson", Resealed(lines))).Code == 1,
                    name);
                continue;
            }
            // Resealed (no key needed): verify passes; the readers name the line they cannot read.
            string path = Write($"forged{n++}.ndjson", Resealed(lines));
            Assert.True(CliRunner.Run("audit", "verify", path).Code == 0, name);
            foreach (var r in RunReaders(path, id))
            {
                Assert.True(r.Code == 1, $"{name}: exit {r.Code}: {r.Err}");
                Assert.Matches($"^{Regex.Escape(path)}:{line}: not an audit entry \\([^\n]+\\)\n$",
                    r.Err.ReplaceLineEndings("\n"));
            }
        }
    }

    [Fact]
    public void ReadersOfATopicTheyCannotReachEndWithOneLineOfErrorAndExitOne()
    {
        string[] log = ["--topic", "sg-audit", "--bootstrap", "127.0.0.1:1"];
        using var policy = new TestPolicy();
        foreach (string[] args in (string[][])
            [
                ["audit", "why", "0123456789abcdef0123456789abcdef", .. log],
                ["audit", "export", .. log],
                ["audit", "report", "--agency", "ca-lapd", "--policy", policy.PolicyPath, "--out", _dir, .. log],
            ])
        {
            var r = CliRunner.Run(args);
            Assert.True(r.Code == 1, $"{args[1]}: exit {r.Code}: {r.Err}");
            Assert.StartsWith("sg-audit: could not read the whole topic: ",
                r.Err.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n')[^1], StringComparison.Ordinal);
        }
    }

    [Fact]
    public void ExportAndReportOfABrokenLogWriteNothingAndExitOneWithVerifysError()
    {
        string audit = ReplayAudit();
        byte[][] lines = File.ReadAllText(audit).TrimEnd('\n').Split('\n').Select(Encoding.UTF8.GetBytes).ToArray();
        int entry = Array.FindIndex(lines, l => Encoding.UTF8.GetString(l).Contains("\"query\":",
            StringComparison.Ordinal));
        Assert.True(entry > 0);
        byte[] Log(IEnumerable<byte[]> ls) => [.. ls.SelectMany(l => l.Append((byte)'\n'))];
        byte[] Appended(byte[] tail) => Log(lines.Select((l, i) => i == entry ? [.. l, .. tail] : l));
        var broken = new Dictionary<string, byte[]>
        {
            ["nul"] = Appended([0x00]),
            ["ff"] = Appended([0xFF]),
            ["object"] = Appended(" {}"u8.ToArray()),
            ["array"] = Log(lines.Take(entry).Append("[]"u8.ToArray()).Concat(lines.Skip(entry))),
            ["changed"] = Log(lines.Select((l, i) => i == entry
                ? Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(l).Replace("\"q", "\"Q", StringComparison.Ordinal))
                : l)),
        };
        using var policy = new TestPolicy();
        foreach ((string name, byte[] content) in broken)
        {
            string path = Write(name + ".ndjson", content);
            (long line, string error) = VerifyBreak(path);
            string expected = $"{path}:{line}: {error}";

            var export = CliRunner.Run("audit", "export", "--audit", path);
            Assert.True(export.Code == 1, $"{name}: export exit {export.Code}");
            Assert.Equal("", export.Out);
            Assert.Equal(expected, export.Err.TrimEnd());

            // No report claims the log is intact: none is written.
            string outDir = Path.Combine(_dir, "report-" + name);
            var report = CliRunner.Run("audit", "report", "--agency", "ca-lapd", "--audit", path,
                "--policy", policy.PolicyPath, "--out", outDir);
            Assert.True(report.Code == 1, $"{name}: report exit {report.Code}");
            Assert.Equal("", report.Out);
            Assert.Equal(expected, report.Err.TrimEnd());
            Assert.False(Directory.Exists(outDir), name);
        }
        // The intact log: exported and reported.
        Assert.Equal(0, CliRunner.Run("audit", "export", "--audit", audit).Code);
        Assert.Equal(0, CliRunner.Run("audit", "report", "--agency", "ca-lapd", "--audit", audit,
            "--policy", policy.PolicyPath, "--out", Path.Combine(_dir, "report-intact")).Code);
    }

    /// <summary>Characters a terminal acts on or that reorder text: C0, DEL, C1, line and paragraph separators,
    /// bidirectional embeddings, overrides and isolates.</summary>
    private static bool Acts(char c) => c < 0x20 && c != '\n' || c is >= '\u007f' and <= '\u009f'
        or '\u2028' or '\u2029' or >= '\u202a' and <= '\u202e' or >= '\u2066' and <= '\u2069';

    [Fact]
    public void WhyAndVerifyPrintTheLogsControlAndBidiCharactersEscaped()
    {
        string audit = ReplayAudit();
        string id = DeniedSearchId(audit);
        const string Hostile = @"\u001b[2J\u0007\r\u0000\u007f\u009b\u2028\u202e\u2066";
        List<string> lines = File.ReadAllLines(audit).Select(l =>
            l.Contains("\"query\":\"q1\"", StringComparison.Ordinal)
            ? l.Replace("\"user\":\"d.ortiz\"", $"\"user\":\"{Hostile}d.ortiz\"", StringComparison.Ordinal)
                .Replace("\"case_number\":\"CASE-1\"", $"\"case_number\":\"CASE-1{Hostile}\"", StringComparison.Ordinal)
            : l.Replace("{\"chain\":\"p0\",", $"{{\"chain\":\"p0{Hostile}\",", StringComparison.Ordinal)).ToList();
        string path = Write("hostile.ndjson", Resealed(lines));
        // Each printed as its \uXXXX escape (the log's JSON wrote CR as \r).
        string printed = Hostile.Replace(@"\r", @"\u000d", StringComparison.Ordinal);

        var why = CliRunner.Run("audit", "why", id, "--audit", path);
        Assert.True(why.Code == 0, why.Err);
        string output = why.Out.ReplaceLineEndings("\n");
        Assert.DoesNotContain(output + why.Err, Acts);
        Assert.Contains($"user        {printed}d.ortiz\n", output, StringComparison.Ordinal);
        Assert.Contains($"case_number CASE-1{printed}\n", output, StringComparison.Ordinal);
        Assert.Contains($"(chain p0{printed}, seq ", output, StringComparison.Ordinal);

        var verify = CliRunner.Run("audit", "verify", path);
        Assert.True(verify.Code == 0, verify.Err);
        Assert.DoesNotContain(verify.Out.ReplaceLineEndings("\n"), Acts);
        Assert.Contains($"  head p0{printed} seq ", verify.Out, StringComparison.Ordinal);
        // A break names the chain the same way.
        string cut = Write("hostile-cut.ndjson", Resealed(lines).SkipLast(1));
        File.AppendAllLines(cut,
            [Resealed(lines)[^1].Replace("\"hash\":\"", "\"hash\":\"0", StringComparison.Ordinal)]);
        var broken = CliRunner.Run("audit", "verify", cut);
        Assert.Equal(1, broken.Code);
        Assert.DoesNotContain(broken.Err.ReplaceLineEndings("\n"), Acts);
        Assert.Contains($"chain p0{printed}: ", broken.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void ReportCsvCellsThatASpreadsheetWouldRunAsFormulasArePrefixedWithAQuote()
    {
        string audit = ReplayAudit();
        // ca-lapd's own searches q0, q2, q4 with a user and a case number a spreadsheet reads as formulas.
        var hostile = new Dictionary<string, (string User, string Case)>
        {
            ["q0"] = ("=HYPERLINK(\"http://x\")", "@SUM(A1)"),
            ["q2"] = ("-2+3", @"\tx"),
            ["q4"] = ("+1", @"\rx"),
        };
        List<string> lines = File.ReadAllLines(audit).Select(l =>
        {
            foreach ((string q, (string user, string number)) in hostile)
            {
                if (!l.Contains($"\"query\":\"{q}\"", StringComparison.Ordinal)) continue;
                return l.Replace("\"user\":\"d.ortiz\"", $"\"user\":{JsonSerializer.Serialize(user)}",
                        StringComparison.Ordinal)
                    .Replace("\"case_number\":\"CASE-1\"", $"\"case_number\":\"{number}\"", StringComparison.Ordinal);
            }
            return l;
        }).ToList();
        string path = Write("formulas.ndjson", Resealed(lines));
        using var policy = new TestPolicy();
        string outDir = Path.Combine(_dir, "report-formulas");
        var r = CliRunner.Run("audit", "report", "--agency", "ca-lapd", "--audit", path, "--policy", policy.PolicyPath,
            "--out", outDir);
        Assert.True(r.Code == 0, r.Err);
        string csv = File.ReadAllText(Path.Combine(outDir, "records.csv"));
        // Quoted as RFC 4180 quotes, the value prefixed with ' (OWASP): shown as text, never evaluated.
        Assert.Contains(",q0,\"'=HYPERLINK(\"\"http://x\"\")\",\"'@SUM(A1)\",", csv, StringComparison.Ordinal);
        Assert.Contains(",q2,\"'-2+3\",\"'\tx\",", csv, StringComparison.Ordinal);
        Assert.Contains(",q4,\"'+1\",\"'\rx\",", csv, StringComparison.Ordinal);
        // The other searches' cells as before.
        Assert.Contains(",q6,d.ortiz,CASE-1,", csv, StringComparison.Ordinal);
    }

    /// <summary>
    /// The log with each block's seal hashed anew over its (changed) entries: a forgery <c>audit verify</c> passes,
    /// for it has no key; what reads the log must still not trust the entries' shapes.
    /// </summary>
    internal static List<string> Resealed(IEnumerable<string> lines)
    {
        var heads = new Dictionary<string, string>(StringComparer.Ordinal);
        var pending = new List<string>();
        var result = new List<string>();
        foreach (string line in lines)
        {
            if (!line.Contains("\"salt\":", StringComparison.Ordinal))
            {
                pending.Add(line);
                result.Add(line);
                continue;
            }
            string chain = MemorySink.Json(line).GetProperty("chain").GetString()!;
            string prev = heads.GetValueOrDefault(chain) ?? AuditLog.GenesisHex(chain);
            string body = line[..line.LastIndexOf(",\"hash\":\"", StringComparison.Ordinal)];
            var text = new StringBuilder(prev);
            foreach (string entry in pending) text.Append(entry).Append('\n');
            text.Append(body).Append('}');
            string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
            result.Add(body + $",\"hash\":\"{hash}\"}}");
            heads[chain] = hash;
            pending.Clear();
        }
        return result;
    }

    /// <summary>
    /// A file is verified, then read again for its decisions, never held in memory: when the second reading is not
    /// the bytes the first verified (the file was changed in between), the decisions end and the readers say so.
    /// </summary>
    [Fact]
    public void ALogChangedBetweenItsVerificationAndItsReadingIsSaidToHaveChanged()
    {
        List<byte[]> verified = AuditVerifier.Lines(new MemoryStream(File.ReadAllBytes(ReplayAudit()))).ToList();
        List<byte[]> forged = verified.Select(l => (byte[])l.Clone()).ToList();
        forged[^2] = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(forged[^2]).Replace("allow", "deny"));
        int opened = 0;
        var log = new StreamGuard.Cli.Commands.AuditSource(() => opened++ == 0 ? verified : forged, "log", null);
        Assert.Null(log.Broken);
        Assert.Empty(log.Decisions().ToList()); // one run (the log is under ChunkBytes): nothing of it is given
        Assert.Equal(2, opened);
        Assert.Equal("log: changed while it was read (not the bytes verified): read it again", log.Unreadable);

        // A log of many runs whose last is changed: every decision of the runs before it, none after.
        List<byte[]> big = [.. Enumerable.Repeat(verified, 1 + StreamGuard.Cli.Commands.AuditSource.ChunkBytes
            / verified.Sum(l => l.Length + 1)).SelectMany(x => x)];
        List<byte[]> bigForged = [.. big.SkipLast(1), forged[^2]];
        opened = 0;
        var partly = new StreamGuard.Cli.Commands.AuditSource(() => opened++ == 0 ? big : bigForged, "big", null);
        int given = partly.Decisions().Count();
        Assert.InRange(given, 1, AuditExport.Decisions(big.Select(Encoding.UTF8.GetString)).Count() - 1);
        Assert.StartsWith("big: changed while it was read", partly.Unreadable, StringComparison.Ordinal);

        var same = new StreamGuard.Cli.Commands.AuditSource(() => verified, "log", null);
        Assert.Equal(same.Decisions().Count(), AuditExport.Decisions(verified.Select(Encoding.UTF8.GetString))
            .Count());
        Assert.Null(same.Unreadable);
    }
}
