using System.Text;
using StreamGuard.Audit;
using StreamGuard.Engine;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Audit;

/// <summary>
/// The compact log's tamper evidence (SPEC §7): a log of several blocks on two chains verifies, and every single
/// changed byte, every deleted, duplicated or reordered entry or block, and every cut tail is reported.
/// </summary>
public sealed class AuditTamperTests : IDisposable
{
    private static readonly DateTimeOffset s_t0 = new(2026, 3, 3, 17, 0, 0, TimeSpan.Zero);
    private readonly TestPolicy _policy = new();
    private readonly MemorySink _sink = new();
    private readonly List<string> _lines;

    public AuditTamperTests()
    {
        StreamGuardEngine engine = TestEngine.Create(_policy.Compiled, _sink, TestPolicy.AuditKey,
            new EngineOptions { EventTimeClock = true, ReplayNowMs = s_t0.AddDays(1).ToUnixTimeMilliseconds() });
        for (int block = 0; block < 3; block++)
        {
            for (int i = 0; i < 3; i++)
            {
                int n = block * 3 + i;
                engine.ProcessRead(Encoding.UTF8.GetBytes(TestPolicy.Read($"r{n}", "ca-lapd", $"7ABC{n:D3}",
                    s_t0.AddMinutes(n))), EventSource.Kafka("alpr.reads", n % 2, n));
            }
            engine.ProcessQuery(Encoding.UTF8.GetBytes(TestPolicy.Query($"q{block}", "us-ice-ero", "7ABC001",
                s_t0.AddMinutes(10 + block))), EventSource.Kafka("alpr.queries", 0, block));
            engine.FlushAudit(); // one block per chain per commit
        }
        _lines = _sink.AuditLines;
    }

    public void Dispose() => _policy.Dispose();

    private static bool IsSeal(string line) => line.Contains("\"salt\":", StringComparison.Ordinal);

    [Fact]
    public void TheLogVerifiesWithItsBlocksAndHeads()
    {
        AuditVerifier.Result result = AuditVerifier.Verify(_lines);
        Assert.Null(result.Error);
        Assert.Equal(2, result.Chains);
        Assert.Equal(6, result.Blocks);
        Assert.Equal(_lines.Count(l => !IsSeal(l)), result.Entries);
        Assert.Equal(["p0", "p1"], result.Heads.Keys.Order());
    }

    [Fact]
    public void ChangingAnySingleByteBreaksTheCheck()
    {
        byte[] log = Encoding.UTF8.GetBytes(string.Join('\n', _lines));
        for (int at = 0; at < log.Length; at++)
        {
            byte original = log[at];
            // A printable replacement that differs, and never a newline (that would re-split the lines, tested below).
            log[at] = (byte)(original == (byte)'a' ? 'b' : 'a');
            string[] tampered = Encoding.UTF8.GetString(log).Split('\n');
            Assert.True(AuditVerifier.Verify(tampered).Error is not null, $"byte {at} changed went unnoticed");
            log[at] = original;
        }
    }

    [Fact]
    public void DeletingDuplicatingOrSwappingAnyEntryBreaksTheCheck()
    {
        for (int i = 0; i < _lines.Count; i++)
        {
            if (IsSeal(_lines[i])) continue;
            Assert.NotNull(AuditVerifier.Verify(Without(_lines, i)).Error);
            Assert.NotNull(AuditVerifier.Verify(_lines.Take(i + 1).Append(_lines[i]).Concat(_lines.Skip(i + 1)))
                .Error);
            if (i + 1 < _lines.Count && !IsSeal(_lines[i + 1]))
            {
                Assert.NotNull(AuditVerifier.Verify(Swapped(_lines, i, i + 1)).Error);
            }
        }
    }

    [Fact]
    public void DeletingDuplicatingOrReorderingAnyBlockBreaksTheCheck()
    {
        List<List<string>> blocks = Blocks(_lines);
        Assert.Equal(6, blocks.Count);
        for (int b = 0; b < blocks.Count; b++)
        {
            AuditVerifier.Result deleted = AuditVerifier.Verify(blocks.Where((_, k) => k != b).SelectMany(x => x));
            if (blocks.Skip(b + 1).Any(x => Chain(x) == Chain(blocks[b]))) Assert.NotNull(deleted.Error);
            else Assert.NotEqual(AuditVerifier.Verify(_lines).Heads[Chain(blocks[b])], deleted.Heads[Chain(blocks[b])]);
            var duplicated = blocks.Take(b + 1).Append(blocks[b]).Concat(blocks.Skip(b + 1));
            Assert.NotNull(AuditVerifier.Verify(duplicated.SelectMany(x => x)).Error);
            for (int c = b + 1; c < blocks.Count; c++)
            {
                if (Chain(blocks[c]) != Chain(blocks[b])) continue;
                Assert.NotNull(AuditVerifier.Verify(Swapped(blocks, b, c).SelectMany(x => x)).Error);
            }
        }
    }

    [Fact]
    public void ACutTailIsReportedUnlessTheCutFallsBetweenBlocksWhereTheHeadShowsIt()
    {
        string log = string.Join('\n', _lines);
        AuditVerifier.Result full = AuditVerifier.Verify(_lines);
        List<List<string>> blocks = Blocks(_lines);
        int boundary = string.Join('\n', blocks.SkipLast(1).SelectMany(b => b)).Length; // the '\n' before the last
        for (int cut = boundary + 2; cut < log.Length; cut++)
        {
            AuditVerifier.Result r = AuditVerifier.Verify(log[..cut].Split('\n'));
            Assert.True(r.Error is not null, $"a log cut at {cut} of {log.Length} verified");
        }
        // Cut exactly after a block: a shorter chain that verifies, whose head differs from the full log's.
        AuditVerifier.Result shorter = AuditVerifier.Verify(log[..boundary].Split('\n'));
        Assert.Null(shorter.Error);
        Assert.NotEqual(full.Heads.OrderBy(h => h.Key).ToList(), shorter.Heads.OrderBy(h => h.Key).ToList());
    }

    [Fact]
    public void BlankLinesCarriageReturnsAByteOrderMarkOrBytesThatAreNotUtf8AreChangesToo()
    {
        for (int i = 1; i < _lines.Count; i++)
        {
            Assert.NotNull(AuditVerifier.Verify(_lines.Take(i).Append("").Concat(_lines.Skip(i))).Error);
            Assert.NotNull(AuditVerifier.Verify(_lines.Take(i).Append("  \t").Concat(_lines.Skip(i))).Error);
        }
        byte[] log = Encoding.UTF8.GetBytes(string.Join('\n', _lines) + "\n");
        Assert.Null(AuditVerifier.Verify(AuditVerifier.Lines(new MemoryStream(log))).Error);
        byte[] crlf = Encoding.UTF8.GetBytes(string.Join("\r\n", _lines) + "\r\n");
        Assert.NotNull(AuditVerifier.Verify(AuditVerifier.Lines(new MemoryStream(crlf))).Error);
        byte[] bom = [0xEF, 0xBB, 0xBF, .. log];
        Assert.NotNull(AuditVerifier.Verify(AuditVerifier.Lines(new MemoryStream(bom))).Error);
        // A user name's non-ASCII letter (written raw) replaced by a byte that is not UTF-8.
        int at = Array.IndexOf(log, (byte)'"', 20);
        byte[] invalid = [.. log];
        invalid[at + 1] = 0xFF;
        Assert.NotNull(AuditVerifier.Verify(AuditVerifier.Lines(new MemoryStream(invalid))).Error);
    }

    /// <summary>
    /// A break names the line an investigator must look at: the entry out of sequence, not the seal that closed its
    /// block; a line that is no entry is said to be none in the verifier's words, not the runtime's; and an entry
    /// with a member written twice (which a reader could take either way) is no entry StreamGuard writes.
    /// </summary>
    [Fact]
    public void ABreakNamesTheEntrysLineAndALineThatIsNoEntrySaysWhy()
    {
        const string NotText = "a string that is not valid text";
        int firstEntry = _lines.FindIndex(l => !IsSeal(l) && !l.Contains("policy_load", StringComparison.Ordinal));
        int next = firstEntry + 1;
        Assert.False(IsSeal(_lines[next]));
        AuditVerifier.Result deleted = AuditVerifier.Verify(Without(_lines, firstEntry));
        Assert.Contains("expected seq", deleted.Error, StringComparison.Ordinal);
        Assert.Equal(firstEntry + 1, deleted.Line); // 1-based: where the deleted entry's successor now is

        foreach (var (line, why) in new[]
        {
            ("{}", "no seq"), ("[]", "not a JSON object"), ("{\"seq\":\"11\"}", "no seq"),
            ("{\"seq\":1,\"salt\":\"00\"}", "no chain"), ("{\"seq\":1,\"seq\":2}", "a member written twice"),
            ("{\"seq\":1,\"prev\":\"\\ud800\",\"chain\":\"c\",\"hash\":\"h\"}", NotText),
            ("{\"seq\":1,\"prev\":\"x\",\"chain\":\"\\udc00\",\"hash\":\"h\"}", NotText),
            ("{\"seq\":1,\"a\\ud800\":1,\"a\\ud800\":2}", NotText),
            ("{\"seq\":1,\"prev\":5,\"chain\":\"c\",\"hash\":\"h\"}", "prev is not a string"),
            ("{\"seq\":1,\"prev\":null,\"event\":\"x\"}", "prev is not a string"),
        })
        {
            AuditVerifier.Result r = AuditVerifier.Verify(_lines.Take(next).Append(line).Concat(_lines.Skip(next)));
            Assert.Equal($"not an audit entry ({why})", r.Error);
            Assert.Equal(next + 1, r.Line);
        }
    }

    [Fact]
    public void OnePassPurgingThousandsOfReadsSplitsItsEntriesSoNoBlockPassesHalfAMebibyte()
    {
        var sink = new MemorySink();
        DateTimeOffset t = s_t0;
        StreamGuardEngine engine = TestEngine.Create(_policy.Compiled, sink, TestPolicy.AuditKey,
            new EngineOptions { EventTimeClock = true, ReplayNowMs = t.AddDays(3000).ToUnixTimeMilliseconds() });
        const int Reads = 20_000;
        for (int i = 0; i < Reads; i++)
        {
            engine.ProcessRead(Encoding.UTF8.GetBytes(TestPolicy.Read($"read-{Guid.NewGuid():N}", "ca-lapd",
                $"7A{i:D5}", t)), EventSource.Kafka("alpr.reads", 0, i));
        }
        engine.FlushAudit();
        int before = sink.AuditBlocks.Count;
        // Long after every window: one pass purges them all.
        engine.ProcessRead(Encoding.UTF8.GetBytes(TestPolicy.Read("late", "ca-lapd", "9ZZZ999", t.AddDays(1500))),
            EventSource.Kafka("alpr.reads", 0, Reads));
        engine.FlushAudit();
        IReadOnlyList<string> blocks = sink.AuditBlocks;
        Assert.All(blocks.Skip(before), b => Assert.True(Encoding.UTF8.GetByteCount(b) < 512 * 1024,
            $"a block of {Encoding.UTF8.GetByteCount(b):N0} B"));
        Assert.All(sink.AuditLines, l => Assert.True(Encoding.UTF8.GetByteCount(l) < 64 * 1024));
        Assert.True(sink.AuditLines.Count(l => l.Contains("\"purge\"", StringComparison.Ordinal)) > 1);
        Assert.Null(AuditVerifier.Verify(sink.AuditLines).Error);
        Assert.Equal(Reads, sink.AuditRecords.Count(d => d.Contains("\"event\":\"purge\"", StringComparison.Ordinal)));
    }

    [Fact]
    public void AChainMayContinueAV1ChainAndBothVerify()
    {
        // The head of a chain written by a v1 worker: v2 continues it (ResumeChain) and verify follows both formats.
        var v1 = new List<string>();
        string prev = AuditLog.GenesisHex("p0");
        for (int seq = 1; seq <= 2; seq++)
        {
            string body = $"{{\"id\":\"x{seq}\",\"chain\":\"p0\",\"seq\":{seq}," +
                $"\"prev\":\"{prev}\",\"event\":\"ingest\"";
            string hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(
                Encoding.UTF8.GetBytes(prev + body + "}")));
            v1.Add(body + $",\"hash\":\"{hash}\"}}");
            prev = hash;
        }
        var sink = new MemorySink();
        StreamGuardEngine engine = TestEngine.Create(_policy.Compiled, sink, TestPolicy.AuditKey);
        engine.ResumeChain(0, 2, prev);
        engine.ProcessRead(Encoding.UTF8.GetBytes(TestPolicy.Read("r-v2", "ca-lapd", "7ABC123", DateTimeOffset.UtcNow)),
            EventSource.Kafka("alpr.reads", 0, 9));
        List<string> log = [.. v1, .. sink.AuditLines];
        AuditVerifier.Result result = AuditVerifier.Verify(log);
        Assert.Null(result.Error);
        Assert.Equal(4, result.Entries); // two v1 records, the policy_load and the read
        Assert.NotNull(AuditVerifier.Verify([.. v1.Take(1), .. sink.AuditLines]).Error);
    }

    private static string Chain(List<string> block) =>
        MemorySink.Json(block[^1]).GetProperty("chain").GetString()!;

    private static List<List<string>> Blocks(List<string> lines)
    {
        var blocks = new List<List<string>> { new() };
        foreach (string line in lines)
        {
            blocks[^1].Add(line);
            if (IsSeal(line)) blocks.Add([]);
        }
        blocks.RemoveAt(blocks.Count - 1);
        return blocks;
    }

    private static List<T> Without<T>(List<T> list, int i) => list.Where((_, k) => k != i).ToList();

    private static List<T> Swapped<T>(List<T> list, int i, int j)
    {
        var copy = list.ToList();
        (copy[i], copy[j]) = (copy[j], copy[i]);
        return copy;
    }
}
