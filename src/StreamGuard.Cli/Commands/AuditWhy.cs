using System.Text.Json;
using StreamGuard.Audit;
using StreamGuard.Cli.CommandLine;
using StreamGuard.Policy;
using static StreamGuard.Cli.Commands.AuditRecords;

namespace StreamGuard.Cli.Commands;

/// <summary>
/// <c>audit why ID</c>: one decision read back for an investigator — its rule, citation and the policy that decided
/// it, with its chain verified from the genesis to the record.
/// </summary>
internal static class AuditWhy
{
    public static int Run(CliArgs args)
    {
        if (args.Positional.Count != 2)
        {
            throw new UsageException("expected: audit why ID --audit FILE | --topic T --bootstrap B");
        }
        string id = args.Positional[1];
        IEnumerable<string> records = AuditRecords.Read(args);
        _ = args.Get(AuditCommand.Policy); // accepted for symmetry with report; the record carries the policy hash
        args.RejectUnknown();

        // Keep each chain's records until the one asked for, to check its links and find the policy_load before
        // it.
        var chains = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (string line in records)
        {
            if (AuditRecords.Parse(line) is not { } r) continue;
            string chain = Str(r, "chain");
            if (!chains.TryGetValue(chain, out List<string>? list)) chains.Add(chain, list = []);
            list.Add(line);
            if (Str(r, "id") != id) continue;

            AuditVerifier.Result check = AuditVerifier.Verify(list);
            JsonElement? load =
                list.Select(AuditRecords.Parse).LastOrDefault(x => x is { } e && Str(e, "event") == "policy_load");
            Print(r, load, check);
            return 0;
        }
        Console.Error.WriteLine($"audit why: no record with id {id}");
        return 1;
    }

    private static void Print(JsonElement r, JsonElement? load, AuditVerifier.Result check)
    {
        var o = Console.Out;
        string rule = Str(r, "rule");
        StatuteRule? statute = StatuteRules.All.FirstOrDefault(s => s.Id == rule);
        RetentionCap? cap = StatuteRules.RetentionCaps.FirstOrDefault(c => c.Id == rule);
        string status = statute is not null
            ? (statute.Confirmed ? $" [{statute.Status}]" : $" [⚠ {statute.Status}: not confirmed enacted]")
            : cap is not null ? (cap.Confirmed ? $" [{cap.Status}]" : $" [⚠ {cap.Status}]") : "";
        o.WriteLine($"decision    {Str(r, "id")}  " +
            $"(chain {Str(r, "chain")}, seq {r.GetProperty("seq").GetInt64()}, at {Str(r, "at")})");
        o.WriteLine($"event       {Str(r, "event")}");
        o.WriteLine($"outcome     {Str(r, "decision").ToUpperInvariant()} {Str(r, "code")}");
        o.WriteLine($"rule        {rule}{status}");
        o.WriteLine($"citation    {Str(r, "citation")}");
        o.WriteLine($"policy      {Str(r, "policy")}" + (load is { } l
            ? $"  (loaded from {Str(l, "file")}; " +
                $"its policy_load is seq {l.GetProperty("seq").GetInt64()} at {Str(l, "at")})"
            : ""));
        foreach (string field in (string[])["owner", "recipient", "purpose", "purposes", "query_id", "user",
            "case_number", "hotlist_id", "reads", "retain_until", "source", "plate_ref"])
        {
            if (!r.TryGetProperty(field, out JsonElement v)) continue;
            string text = v.ValueKind == JsonValueKind.Array
                ? string.Join(", ", v.EnumerateArray().Select(x => x.ToString()))
                : v.ToString();
            string label = field switch
            {
                "source" => "input",
                "plate_ref" => "plate_ref",
                _ => field,
            };
            o.WriteLine($"{label,-11} {text}{(field == "source" ? "  (the event that was decided)" : "")}");
        }
        o.WriteLine(check.Error is null
            ? $"integrity   chain {Str(r, "chain")} verified from its genesis to this record " +
                $"({check.Records:N0} records)"
            : $"integrity   BROKEN before this record: {check.Error}");
    }
}
