using System.Text.Json;
using StreamGuard.Audit;
using StreamGuard.Cli.CommandLine;
using StreamGuard.Policy;
using static StreamGuard.Cli.Commands.AuditRecords;

namespace StreamGuard.Cli.Commands;

/// <summary>
/// <c>audit why ID</c>: one decision read back for an investigator — its rule, citation and the policy that decided
/// it, with the log's chains verified from their genesis.
/// </summary>
internal static class AuditWhy
{
    /// <summary>
    /// Exit 0 when the decision is found on a log whose every chain verifies; 1 when no decision has the id, or when
    /// the log is broken (the decision still explained, the break named as <c>audit verify</c> names it).
    /// </summary>
    public static int Run(CommandArgs args)
    {
        string id = args.Value(AuditCommand.Id);
        _ = args.Get(AuditCommand.Policy); // accepted for symmetry with report; the log carries the policy
        if (AuditRecords.Load(args) is not { } log) return 1;
        int code = log.Broken is null ? 0 : 1;

        // The policy_load in force on each chain when the decision asked for was made.
        var loads = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        (JsonElement Decision, JsonElement? Load)? hit = null;
        // Read to the end even once found: a file is read again after its verification, and only its end tells
        // whether it was still the bytes verified (AuditSource.Text).
        foreach (string decision in log.Decisions())
        {
            if (hit is not null || AuditRecords.Parse(decision) is not { } r) continue;
            if (Str(r, "event") == "policy_load") loads[Str(r, "chain")] = r;
            if (Str(r, "id") == id) hit = (r, loads.TryGetValue(Str(r, "chain"), out JsonElement load) ? load : null);
        }
        // A log changed since its verification is not explained: its verdict would no longer be the log's.
        if (hit is { } h && log.Changed is null) Print(h.Decision, h.Load, log);
        // The break verify reports, else a line the reading stopped at; and a change since the verification, which is
        // why nothing was explained.
        if (log.Broken is { } broken) Console.Error.WriteLine(broken);
        else if (log.Unreadable is { } unreadable && unreadable != log.Changed) Console.Error.WriteLine(unreadable);
        if (log.Changed is { } changed) Console.Error.WriteLine(changed);
        if (hit is not null) return log.Unreadable is null ? code : 1;
        if (log.Unreadable is null) Console.Error.WriteLine($"audit why: no decision with id {id}");
        return 1;
    }

    /// <summary>Prints the decision; every line through <see cref="AuditRecords.Printable"/> (its text is the log's).
    /// </summary>
    private static void Print(JsonElement r, JsonElement? load, AuditSource log)
    {
        AuditVerifier.Result check = log.Check;
        var o = Console.Out;
        string rule = Str(r, "rule");
        StatuteRule? statute = StatuteRules.All.FirstOrDefault(s => s.Id == rule);
        RetentionCap? cap = StatuteRules.RetentionCaps.FirstOrDefault(c => c.Id == rule);
        string status = statute is not null
            ? (statute.Confirmed ? $" [{statute.Status}]" : $" [⚠ {statute.Status}: not confirmed enacted]")
            : cap is not null ? (cap.Confirmed ? $" [{cap.Status}]" : $" [⚠ {cap.Status}]") : "";
        o.WriteLine(Printable($"decision    {Str(r, "id")}  " +
            $"(chain {Str(r, "chain")}, seq {r.GetProperty("seq").GetInt64()}, at {Str(r, "at")})"));
        o.WriteLine(Printable($"event       {Str(r, "event")}"));
        o.WriteLine(Printable($"outcome     {Str(r, "decision").ToUpperInvariant()} {Str(r, "code")}"));
        o.WriteLine(Printable($"rule        {rule}{status}"));
        o.WriteLine(Printable($"citation    {Str(r, "citation")}"));
        o.WriteLine(Printable($"policy      {Str(r, "policy")}" + (load is { } l
            ? $"  (loaded from {Str(l, "file")}; " +
                $"its policy_load is seq {l.GetProperty("seq").GetInt64()} at {Str(l, "at")})"
            : "")));
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
            o.WriteLine(Printable($"{label,-11} {text}{(field == "source" ? "  (the event that was decided)" : "")}"));
        }
        o.WriteLine(Printable(check.Error is null
            ? $"integrity   every chain verified from its genesis ({check.Entries:N0} entries, chain " +
                $"{Str(r, "chain")} to seq {check.Heads.GetValueOrDefault(Str(r, "chain")).Seq})"
            : $"integrity   BROKEN: {log.Position(check.Line)}: {check.Error}"));
    }
}
