using System.Text;
using System.Text.Json;
using StreamGuard.Audit;

namespace StreamGuard.Cli.Commands;

/// <summary><c>streamguard audit verify FILE</c>: checks every hash chain of an NDJSON audit log.</summary>
internal static class AuditCommand
{
    public const string Help = """
        streamguard audit verify FILE

        Checks the hash chains of an NDJSON audit log (SPEC §7): each record's hash over the previous hash and
        its canonical bytes, sequence numbers without gaps, each chain from its genesis hash. Reports the first
        broken link with its line; exit 1 on any break.
        """;

    public static int Run(CliArgs args)
    {
        if (args.Positional.Count != 2 || args.Positional[0] != "verify") throw new UsageException("expected: audit verify FILE");
        args.RejectUnknown();
        string path = args.Positional[1];
        if (!File.Exists(path)) throw new UsageException($"{path}: no such file");
        var result = AuditVerifier.Verify(File.ReadLines(path, Encoding.UTF8));
        if (result.Error is not null)
        {
            Console.Error.WriteLine($"{path}:{result.Line}: {result.Error}");
            return 1;
        }
        Console.WriteLine($"{path}: ok — {result.Records:N0} records in {result.Chains} chains, every link verified");
        return 0;
    }
}

/// <summary>Verifies hash chains of audit records given as lines.</summary>
internal static class AuditVerifier
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
                chain = doc.RootElement.GetProperty("chain").GetString() ?? throw new FormatException("chain is null");
                prev = doc.RootElement.GetProperty("prev").GetString() ?? throw new FormatException("prev is null");
                seq = doc.RootElement.GetProperty("seq").GetInt64();
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                return new Result(records, chains.Count, lineNo, $"not an audit record ({e.Message})");
            }
            (long Seq, string Hash) state = chains.TryGetValue(chain, out var s) ? s : (0, AuditLog.GenesisHex(chain));
            if (seq != state.Seq + 1) return new Result(records, chains.Count, lineNo, $"chain {chain}: expected seq {state.Seq + 1}, found {seq} (gap or reordering)");
            if (prev != state.Hash) return new Result(records, chains.Count, lineNo, $"chain {chain} seq {seq}: prev does not match the previous record's hash");
            if (!AuditLog.VerifyRecord(bytes, Encoding.ASCII.GetBytes(prev), out string hash)) return new Result(records, chains.Count, lineNo, $"chain {chain} seq {seq}: hash does not match the record's content");
            chains[chain] = (seq, hash);
            records++;
        }
        return new Result(records, chains.Count, lineNo, null);
    }
}
