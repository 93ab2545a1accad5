using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using StreamGuard.Audit;
using StreamGuard.Engine;
using StreamGuard.Tests.Support;

namespace StreamGuard.Tests.Audit;

/// <summary>The tail of a chain is checked before it is continued: links, and salts only the audit key gives.</summary>
public sealed class AuditTailVerifierTests : IDisposable
{
    private static readonly DateTimeOffset s_t0 = new(2026, 3, 3, 17, 0, 0, TimeSpan.Zero);
    private readonly TestPolicy _policy = new();

    public void Dispose() => _policy.Dispose();

    /// <summary>Blocks of chain p0 as the engine writes them, one per flush.</summary>
    private List<byte[]> Blocks(int count)
    {
        var sink = new MemorySink();
        StreamGuardEngine engine = TestEngine.Create(_policy.Compiled, sink, TestPolicy.AuditKey,
            new EngineOptions { EventTimeClock = true, ReplayNowMs = s_t0.ToUnixTimeMilliseconds() });
        for (int i = 0; i < count; i++)
        {
            engine.ProcessRead(Encoding.UTF8.GetBytes(TestPolicy.Read($"r{i}", "ca-lapd", "7ABC123", s_t0)),
                EventSource.File("reads", i + 1));
            engine.FlushAudit();
        }
        return sink.AuditBlocks.Select(Encoding.UTF8.GetBytes).ToList();
    }

    [Fact]
    public void TheBlocksAnEngineWroteHoldFromTheGenesisAndFromAnyCheckpoint()
    {
        List<byte[]> blocks = Blocks(5);
        var tails = new AuditTailVerifier(TestPolicy.AuditKey);
        Assert.Null(tails.Check("p0", blocks, fromGenesis: true));
        Assert.Null(tails.Check("p0", blocks[2..], fromGenesis: false));
    }

    [Fact]
    public void ABlockSaltedWithAnotherKeyOrOutOfTurnBreaksTheTail()
    {
        List<byte[]> blocks = Blocks(4);
        Assert.Equal(0, new AuditTailVerifier("another-key"u8.ToArray()).Check("p0", blocks, true)?.Block);
        var tails = new AuditTailVerifier(TestPolicy.AuditKey);
        Assert.Equal(2, tails.Check("p0", [blocks[0], blocks[1], blocks[3]], fromGenesis: true)?.Block);
        Assert.Equal(1, tails.Check("p0", [blocks[1], blocks[1]], fromGenesis: false)?.Block);
        Assert.Equal(0, tails.Check("p0", blocks[1..], fromGenesis: true)?.Block);
        Assert.Equal(0, tails.Check("p1", blocks, fromGenesis: true)?.Block);
    }

    [Fact]
    public void AfterARotationTheTailHoldsOnlyWithTheRetiredKeyGiven()
    {
        List<byte[]> blocks = Blocks(3);
        byte[] rotated = "the key after the rotation"u8.ToArray();
        (int Block, string Reason)? broken = new AuditTailVerifier(rotated).Check("p0", blocks, true);
        Assert.Equal(0, broken?.Block);
        Assert.Contains("give the retired one too", broken?.Reason, StringComparison.Ordinal);
        var tails = new AuditTailVerifier(rotated, [TestPolicy.AuditKey]);
        Assert.Null(tails.Check("p0", blocks, true));
        // KeyOf names the key: 1, the first retired key; a salt from neither is -1.
        string seal = Encoding.UTF8.GetString(blocks[0]).Split('\n')[^1];
        string salt = JsonDocument.Parse(seal).RootElement.GetProperty("salt").GetString()!;
        Assert.Equal(1, tails.KeyOf("p0", 1, salt));
        Assert.Equal(0, new AuditTailVerifier(TestPolicy.AuditKey).KeyOf("p0", 1, salt));
        Assert.Equal(-1, tails.KeyOf("p0", 2, salt));
    }

    /// <summary>One more block of chain p0 after <paramref name="before"/>, written by an engine under
    /// <paramref name="key"/> that resumed the chain.</summary>
    private byte[] NextBlock(List<byte[]> before, byte[] key, string readId)
    {
        AuditVerifier.Result head = AuditVerifier.Verify(
            before.SelectMany(b => Encoding.UTF8.GetString(b).Split('\n')).ToList());
        var sink = new MemorySink();
        StreamGuardEngine engine = TestEngine.Create(_policy.Compiled, sink, key,
            new EngineOptions { EventTimeClock = true, ReplayNowMs = s_t0.ToUnixTimeMilliseconds() });
        engine.ResumeChain(0, head.Heads["p0"].Seq, head.Heads["p0"].Hash);
        engine.ProcessRead(Encoding.UTF8.GetBytes(TestPolicy.Read(readId, "ca-lapd", "7ABC123", s_t0)),
            EventSource.File("reads", 1));
        engine.FlushAudit();
        return Encoding.UTF8.GetBytes(Assert.Single(sink.AuditBlocks));
    }

    [Fact]
    public void ABlockOfTheRetiredKeyAfterBlocksOfTheKeyInForceBreaksTheTail()
    {
        // Found by review: whoever holds the retired key could append blocks once the chain had moved on.
        byte[] rotated = "the key after the rotation"u8.ToArray();
        List<byte[]> blocks = Blocks(2);
        blocks.Add(NextBlock(blocks, rotated, "after-rotation"));
        var tails = new AuditTailVerifier(rotated, [TestPolicy.AuditKey]);
        Assert.Null(tails.Check("p0", blocks, true));
        blocks.Add(NextBlock(blocks, TestPolicy.AuditKey, "forged-with-the-old-key"));
        (int Block, string Reason)? broken = tails.Check("p0", blocks, true);
        Assert.Equal(3, broken?.Block);
        Assert.Contains("salted by the retired audit key after blocks of the key in force", broken?.Reason,
            StringComparison.Ordinal);
    }

    /// <summary>A v1-shaped record (no keyed salt), linked and hashed onto the last genuine block by someone without
    /// the audit key (the hashes are unkeyed). Found by review: the tail check took it as the chain's head.</summary>
    private static byte[] ForgedV1After(byte[] lastBlock)
    {
        string lastSeal = Encoding.UTF8.GetString(lastBlock).TrimEnd('\n').Split('\n')[^1];
        using var seal = JsonDocument.Parse(lastSeal);
        long seq = seal.RootElement.GetProperty("seq").GetInt64();
        string prev = seal.RootElement.GetProperty("hash").GetString()!;
        string body = $"{{\"seq\":{seq + 1},\"chain\":\"p0\",\"at\":\"2026-03-03T17:00:01Z\",\"decision\":\"allow\"," +
            $"\"code\":\"allow.agreement\",\"owner\":\"ca-lapd\",\"recipient\":\"us-ice-ero\",\"prev\":\"{prev}\"";
        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(prev + body + "}")));
        return Encoding.UTF8.GetBytes(body + $",\"hash\":\"{hash}\"}}");
    }

    [Fact]
    public void AForgedV1RecordAppendedToAV2ChainIsRefusedByTheTailCheckAndByAuditVerify()
    {
        List<byte[]> blocks = Blocks(3);
        byte[] forged = ForgedV1After(blocks[^1]);
        var tails = new AuditTailVerifier(TestPolicy.AuditKey);
        Assert.NotNull(tails.Check("p0", [.. blocks, forged], fromGenesis: true));
        Assert.NotNull(tails.Check("p0", [blocks[^1], forged], fromGenesis: false));

        IEnumerable<byte[]> lines = blocks.SelectMany(b => Encoding.UTF8.GetString(b).TrimEnd('\n').Split('\n'))
            .Select(Encoding.UTF8.GetBytes);
        Assert.Null(AuditVerifier.Verify(lines).Error);
        AuditVerifier.Result broken = AuditVerifier.Verify(lines.Append(forged));
        Assert.Contains("v1 record after the chain's v2 blocks", broken.Error);
    }
}
