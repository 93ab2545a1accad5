using System.Text;
using System.Text.Json;

namespace StreamGuard.Audit;

/// <summary>
/// Verifies the hash chains of audit records given as lines: each chain's records in order, from its genesis hash,
/// every <c>prev</c> equal to the hash of the record before it and every hash equal to its record's content.
/// </summary>
/// <remarks>The first broken link ends the check: its line and what broke are in <see cref="Result.Error"/>.</remarks>
public static class AuditVerifier
{
    public readonly record struct Result(long Records, int Chains, long Line, string? Error);

    public static Result Verify(IEnumerable<string> lines)
    {
        var chains = new Dictionary<string, (long Seq, string Hash)>(StringComparer.Ordinal);
        long lineNo = 0, records = 0;
        foreach (string line in lines)
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            byte[] bytes = Encoding.UTF8.GetBytes(line);
            string chain, prev;
            long seq;
            try
            {
                using var doc = JsonDocument.Parse(bytes);
                JsonElement root = doc.RootElement;
                chain = root.GetProperty("chain").GetString() ?? throw new FormatException("chain is null");
                prev = root.GetProperty("prev").GetString() ?? throw new FormatException("prev is null");
                seq = root.GetProperty("seq").GetInt64();
            }
            catch (Exception e)
                when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                return Broken($"not an audit record ({e.Message})");
            }
            (long Seq, string Hash) state =
                chains.TryGetValue(chain, out var s) ? s : (0, AuditLog.GenesisHex(chain));
            if (seq != state.Seq + 1)
                return Broken($"chain {chain}: expected seq {state.Seq + 1}, found {seq} (gap or reordering)");
            if (prev != state.Hash)
                return Broken($"chain {chain} seq {seq}: prev does not match the previous record's hash");
            if (!AuditLog.VerifyRecord(bytes, Encoding.ASCII.GetBytes(prev), out string hash))
                return Broken($"chain {chain} seq {seq}: hash does not match the record's content");
            chains[chain] = (seq, hash);
            records++;
        }
        return new Result(records, chains.Count, lineNo, null);

        Result Broken(string error) => new(records, chains.Count, lineNo, error);
    }
}
