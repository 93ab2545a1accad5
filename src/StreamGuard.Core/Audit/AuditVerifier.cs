using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace StreamGuard.Audit;

/// <summary>
/// Verifies the hash chains of an audit log given as lines: compact v2 entries closed by block seals (SPEC §7), and v1
/// records (one per decision, each with <c>prev</c> and <c>hash</c>), which a chain may also begin with.
/// </summary>
/// <remarks>
/// Per chain, entries must carry consecutive sequence numbers from 1 and every block's seal must hash its entries onto
/// the hash before it, from the chain's genesis. So a changed byte, a deleted, duplicated or reordered entry or block,
/// and entries whose seal is missing (a cut tail) all break the check. The first break ends it: its line and what broke
/// are in <see cref="Result.Error"/>. Removing whole blocks from the end of a chain leaves a shorter valid chain: the
/// heads (<see cref="Result.Heads"/>) are what to compare with a head kept elsewhere.
/// </remarks>
public static class AuditVerifier
{
    public readonly record struct Result(
        long Entries, long Blocks, int Chains, long Line, string? Error,
        IReadOnlyDictionary<string, (long Seq, string Hash)> Heads);

    private const int HashHexLength = 64;

    /// <summary>Verifies lines given as text (each is hashed as its UTF-8 bytes).</summary>
    public static Result Verify(IEnumerable<string> lines) => Verify(lines.Select(Encoding.UTF8.GetBytes));

    /// <summary>
    /// The lines of an audit file as the bytes written, split on '\n' only: a carriage return, a byte-order mark or
    /// bytes that are not UTF-8 stay in the line, so its hash shows them. A last line without '\n' (a cut tail) is
    /// given too.
    /// </summary>
    public static IEnumerable<byte[]> Lines(Stream file)
    {
        var line = new List<byte>(1024);
        byte[] buffer = new byte[1 << 16];
        int n;
        while ((n = file.Read(buffer, 0, buffer.Length)) > 0)
        {
            for (int i = 0; i < n; i++)
            {
                if (buffer[i] != (byte)'\n')
                {
                    line.Add(buffer[i]);
                    continue;
                }
                yield return [.. line];
                line.Clear();
            }
        }
        if (line.Count > 0) yield return [.. line];
    }

    /// <summary>Verifies lines given as the bytes written.</summary>
    public static Result Verify(IEnumerable<byte[]> lines)
    {
        var chains = new Dictionary<string, (long Seq, string Hash)>(StringComparer.Ordinal);
        // Chains with a v2 block: StreamGuard continues a v1 chain in v2, never the other way round.
        var compact = new HashSet<string>(StringComparer.Ordinal);
        var pending = new List<(byte[] Bytes, long Seq)>();
        // The line of each pending entry: a break in a block is reported at the entry's line, not its seal's.
        var pendingLines = new List<long>();
        long lineNo = 0, entries = 0, blocks = 0;
        long? errorLine = null;
        foreach (byte[] bytes in lines)
        {
            lineNo++;
            // Nothing but entries, seals and v1 records: a blank line is a change too.
            if (bytes.Length == 0) return Broken("a blank line inside the log");
            string? error = Check(bytes);
            if (error is not null) return Broken(error);
        }
        if (pending.Count > 0)
        {
            return Broken($"{pending.Count} entries (seq {pending[0].Seq}…{pending[^1].Seq}) after the last seal: " +
                "the log's tail is cut");
        }
        return new Result(entries, blocks, chains.Count, lineNo, null, chains);

        Result Broken(string e) => new(entries, blocks, chains.Count, errorLine ?? lineNo, e, chains);

        string? Check(byte[] bytes)
        {
            string? chain = null, prev = null, hash = null;
            long seq;
            bool seal;
            try
            {
                using var doc = JsonDocument.Parse(bytes, s_strict);
                JsonElement root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object) return "not an audit entry (not a JSON object)";
                if (!root.TryGetProperty("seq", out JsonElement q) || q.ValueKind != JsonValueKind.Number
                    || !q.TryGetInt64(out seq))
                {
                    return "not an audit entry (no seq)";
                }
                // Any prev makes a v1 record, as for the readers (AuditExport): it must be the previous hash.
                if (root.TryGetProperty("prev", out JsonElement p))
                {
                    if (p.ValueKind != JsonValueKind.String) return "not an audit entry (prev is not a string)";
                    prev = p.GetString();
                }
                seal = root.TryGetProperty("salt", out _);
                if (seal || prev is not null)
                {
                    if (!root.TryGetProperty("chain", out JsonElement c) || c.ValueKind != JsonValueKind.String)
                    {
                        return "not an audit entry (no chain)";
                    }
                    chain = c.GetString()!;
                    if (!root.TryGetProperty("hash", out JsonElement h) || h.ValueKind != JsonValueKind.String)
                    {
                        return "not an audit entry (no hash)";
                    }
                    hash = h.GetString();
                }
            }
            catch (JsonException e)
            {
                return $"not an audit entry ({(Lenient(bytes) ? "a member written twice" : "not JSON: " + e.Message)})";
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException)
            {
                // A string of bytes that are no UTF-8, or an escaped lone surrogate: no text StreamGuard writes.
                return "not an audit entry (a string that is not valid text)";
            }
            if (!seal && prev is null)
            {
                pending.Add((bytes, seq));
                pendingLines.Add(lineNo);
                return null;
            }
            (long Seq, string Hash) state =
                chains.TryGetValue(chain!, out var s) ? s : (0, AuditLog.GenesisHex(chain!));
            if (prev is not null)
            {
                if (pending.Count > 0) return "a v1 record follows entries that no seal closed";
                if (compact.Contains(chain!))
                {
                    return $"chain {chain} seq {seq}: a v1 record after the chain's v2 blocks (StreamGuard never " +
                        "writes one; it carries no keyed salt)";
                }
                if (seq != state.Seq + 1)
                {
                    return $"chain {chain}: expected seq {state.Seq + 1}, found {seq} (gap or reordering)";
                }
                if (prev != state.Hash)
                {
                    return $"chain {chain} seq {seq}: prev does not match the previous record's hash";
                }
                if (!Canonical(bytes, out ReadOnlySpan<byte> body) || !Matches(state.Hash, [], body, hash))
                {
                    return $"chain {chain} seq {seq}: hash does not match the record's content";
                }
                chains[chain!] = (seq, hash!);
                entries++;
                return null;
            }
            if (pending.Count == 0) return $"chain {chain}: a seal (seq {seq}) closes no entries";
            for (int i = 0; i < pending.Count; i++)
            {
                long expected = state.Seq + 1 + i;
                if (pending[i].Seq != expected)
                {
                    errorLine = pendingLines[i];
                    return $"chain {chain}: expected seq {expected}, found {pending[i].Seq} " +
                        "(an entry or block deleted, duplicated or reordered)";
                }
            }
            if (pending[^1].Seq != seq)
            {
                return $"chain {chain}: the seal says seq {seq}, its last entry is {pending[^1].Seq}";
            }
            if (!Canonical(bytes, out ReadOnlySpan<byte> sealBody) || !Matches(state.Hash, pending, sealBody, hash))
            {
                return $"chain {chain}: the block ending at seq {seq} does not match its seal's hash " +
                    "(a changed byte, or an entry moved between blocks)";
            }
            chains[chain!] = (seq, hash!);
            compact.Add(chain!);
            entries += pending.Count;
            blocks++;
            pending.Clear();
            pendingLines.Clear();
            return null;
        }
    }

    // StreamGuard writes every member once: a line naming one twice is no entry of its (readers could take either).
    private static readonly JsonDocumentOptions s_strict = new() { AllowDuplicateProperties = false };

    /// <summary>Whether a line the strict parse refused is JSON when members may repeat: then it repeats one.</summary>
    private static bool Lenient(byte[] bytes)
    {
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            return true;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException)
        {
            return false;
        }
    }

    /// <summary>A record or seal without its trailing <c>,"hash":"…"</c> member (closing brace removed too).</summary>
    internal static bool Canonical(byte[] bytes, out ReadOnlySpan<byte> body)
    {
        const int tail = 9 + HashHexLength + 2; // ,"hash":" + hex + "}
        body = default;
        ReadOnlySpan<byte> line = bytes;
        if (line.Length <= tail || !line[^tail..].StartsWith(",\"hash\":\""u8) || !line.EndsWith("\"}"u8)) return false;
        body = line[..^tail];
        return true;
    }

    internal static bool Matches(string prevHex, List<(byte[] Bytes, long Seq)> entries, ReadOnlySpan<byte> body,
        string? stated)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(Encoding.ASCII.GetBytes(prevHex));
        foreach ((byte[] entry, _) in entries)
        {
            sha.AppendData(entry);
            sha.AppendData("\n"u8);
        }
        sha.AppendData(body);
        sha.AppendData("}"u8);
        return Convert.ToHexStringLower(sha.GetHashAndReset()) == stated;
    }
}
