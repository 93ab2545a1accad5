using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace StreamGuard.Audit;

/// <summary>
/// Checks the tail of an audit chain before a worker continues it: the chain's last blocks as read back (one Kafka
/// message each), oldest first. Every block must follow the one before it (consecutive <c>seq</c>, its hash over the
/// previous block's hash, as <see cref="AuditVerifier"/> checks a whole log), and every block's <c>salt</c> must be
/// the one the audit key — or, after a rotation, a retired audit key given — derives for its first <c>seq</c>.
/// </summary>
/// <remarks>
/// The chain's hashes are unkeyed: whoever may write the audit topic can append a block hashed correctly onto the last
/// genuine one, and a worker continuing from it would make the forgery verify for good. The salt is keyed (the first
/// 128 bits of HMAC-SHA256 of <c>ids:pN:&lt;first seq&gt;</c> under the audit key): without the key, a block the
/// worker did not write cannot carry the salt of a block that was never written. The oldest block checked is the
/// checkpoint: its link to the block before is taken as written (a whole log is <c>audit verify</c>'s to check), its
/// salt is checked too. v1 records (one decision, with <c>prev</c>) carry no salt: their links alone are checked, and
/// one after a v2 block is refused (StreamGuard continues a v1 chain in v2, never the other way round).
/// </remarks>
/// <param name="auditKey">The audit key in force.</param>
/// <param name="retiredKeys">
/// Audit keys used before it (a rotation): blocks salted under one of them were written by StreamGuard too.
/// </param>
public sealed class AuditTailVerifier(byte[] auditKey, IReadOnlyList<byte[]>? retiredKeys = null)
{
    /// <summary>Blocks of a chain's tail checked before it is continued (fewer when the chain is shorter).</summary>
    public const int TailBlocks = 16;

    private readonly IncrementalHash[] _macs =
    [
        IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, auditKey),
        .. (retiredKeys ?? []).Select(k => IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, k)),
    ];

    /// <summary>
    /// Checks <paramref name="blocks"/>, the last blocks of chain <paramref name="chain"/> oldest first;
    /// <paramref name="fromGenesis"/> when the first is the chain's first (then it must hash onto the genesis).
    /// Returns null when the tail holds, else the index of the first block that breaks it and why.
    /// </summary>
    public (int Block, string Reason)? Check(string chain, IReadOnlyList<byte[]> blocks, bool fromGenesis)
    {
        string? hash = fromGenesis ? AuditLog.GenesisHex(chain) : null;
        long seq = fromGenesis ? 0 : -1;
        bool compact = false, currentKeySeen = false;
        for (int b = 0; b < blocks.Count; b++)
        {
            string? reason = CheckBlock(chain, blocks[b], ref seq, ref hash, ref compact, ref currentKeySeen);
            if (reason is not null) return (b, reason);
        }
        return null;
    }

    /// <summary>One block (or v1 record) onto the state before it: <paramref name="seq"/> and
    /// <paramref name="hash"/> of the previous block, -1 and null before the checkpoint.</summary>
    private string? CheckBlock(string chain, byte[] message, ref long seq, ref string? hash, ref bool compact,
        ref bool currentKeySeen)
    {
        var lines = new List<(byte[] Bytes, long Seq)>();
        ReadOnlySpan<byte> rest = message;
        while (!rest.IsEmpty)
        {
            int newline = rest.IndexOf((byte)'\n');
            ReadOnlySpan<byte> line = newline < 0 ? rest : rest[..newline];
            rest = newline < 0 ? default : rest[(newline + 1)..];
            if (line.IsEmpty) return "a blank line inside the block";
            lines.Add((line.ToArray(), 0));
        }
        if (lines.Count == 0) return "an empty message";
        byte[] last = lines[^1].Bytes;
        lines.RemoveAt(lines.Count - 1);
        string? sealChain, statedHash, prev = null, salt = null;
        long sealSeq;
        try
        {
            for (int i = 0; i < lines.Count; i++)
            {
                using var entry = JsonDocument.Parse(lines[i].Bytes);
                lines[i] = (lines[i].Bytes, entry.RootElement.GetProperty("seq").GetInt64());
            }
            using var doc = JsonDocument.Parse(last);
            JsonElement root = doc.RootElement;
            sealChain = root.GetProperty("chain").GetString();
            sealSeq = root.GetProperty("seq").GetInt64();
            statedHash = root.GetProperty("hash").GetString();
            if (root.TryGetProperty("salt", out JsonElement s)) salt = s.GetString();
            else prev = root.GetProperty("prev").GetString();
        }
        catch (Exception e)
            when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return $"not an audit block ({e.Message})";
        }
        if (sealChain != chain) return $"a block of chain {sealChain} under the key of {chain}";
        long first = lines.Count > 0 ? lines[0].Seq : sealSeq;
        if (salt is null && lines.Count > 0) return "entries closed by a v1 record";
        // A v1 record has no keyed salt: after a v2 block (StreamGuard never writes one there) it is a forgery's way
        // round the salt check.
        if (salt is null && compact) return "a v1 record after the chain's v2 blocks";
        if (salt is not null) compact = true;
        for (int i = 0; i < lines.Count; i++)
        {
            if (lines[i].Seq != first + i) return $"entry seq {lines[i].Seq} where {first + i} was due";
        }
        if (sealSeq != (lines.Count > 0 ? lines[^1].Seq : first)) return $"the seal's seq {sealSeq} is not its last";
        if (salt is null ? lines.Count != 0 : lines.Count == 0) return "a seal that closes no entries";
        if (seq >= 0 && first != seq + 1) return $"seq {first} follows {seq} (a gap, a repeat or a reordering)";
        if (!AuditVerifier.Canonical(last, out ReadOnlySpan<byte> body)) return "a seal without its hash";
        string? before = prev ?? hash;
        if (prev is not null && hash is not null && prev != hash) return $"seq {first}: prev is not the hash before";
        // The checkpoint's link to the block before it is taken as written: only its own bytes are checked there.
        if (before is not null && !AuditVerifier.Matches(before, lines, body, statedHash))
        {
            return $"the block ending at seq {sealSeq} does not hash onto the block before it";
        }
        if (salt is not null)
        {
            int key = KeyOf(chain, first, salt);
            if (key < 0)
            {
                return $"the block beginning at seq {first} has a salt no audit key given gives: StreamGuard did not " +
                    "write it (after a rotation of the audit key, give the retired one too)";
            }
            // Once the key in force salted a block, StreamGuard never salts one with a retired key again: whoever holds
            // the retired key (the reason to rotate it, often) could otherwise append blocks the worker continues.
            if (key > 0 && currentKeySeen)
            {
                return $"the block beginning at seq {first} is salted by the retired audit key after blocks of " +
                    "the key in force: StreamGuard did not write it";
            }
            currentKeySeen |= key == 0;
        }
        seq = sealSeq;
        hash = statedHash;
        return null;
    }

    /// <summary>
    /// Which audit key salted the block of <paramref name="chain"/> beginning at <paramref name="firstSeq"/> with
    /// <paramref name="salt"/> (hex, <see cref="AuditLog.BlockSalt"/>): 0 for the key in force, 1 and on for the
    /// retired keys in the order given, -1 for none of them.
    /// </summary>
    public int KeyOf(string chain, long firstSeq, string salt)
    {
        byte[] name = Encoding.ASCII.GetBytes(chain);
        Span<byte> bytes = stackalloc byte[DecisionIds.SaltLength];
        Span<char> hex = stackalloc char[2 * DecisionIds.SaltLength];
        for (int k = 0; k < _macs.Length; k++)
        {
            AuditLog.BlockSalt(_macs[k], name, firstSeq, bytes);
            Convert.TryToHexStringLower(bytes, hex, out _);
            if (salt.AsSpan().SequenceEqual(hex)) return k;
        }
        return -1;
    }
}
