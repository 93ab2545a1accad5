using System.Globalization;
using StreamGuard.Engine;
using StreamGuard.Events;
using StreamGuard.Policy;

namespace StreamGuard.Cli.Commands;

/// <summary>
/// What <c>streamguard policy diff</c> prints: every changed (owner, recipient, access, purpose) as a tab-separated
/// line, or as text grouped into GRANTED, REVOKED and REASON CHANGED sections with the retention and key changes.
/// </summary>
internal static class PolicyDiffWriter
{
    public static void WriteTsv(TextWriter o, PolicyDiffResult diff)
    {
        o.WriteLine("change\towner\trecipient\taccess\tpurpose\told_code\told_rule\tnew_code\tnew_rule");
        foreach (OutcomeChange c in diff.Changes)
        {
            o.WriteLine($"{c.Kind.ToString().ToLowerInvariant()}\t{c.Owner}\t{c.Recipient}\t" +
                $"{PolicyExplainer.AccessName(c.Access)}\t{Purposes.Name(c.Purpose)}\t" +
                $"{DecisionCodes.Text(c.Old.Code)}\t{c.Old.Rule}\t{DecisionCodes.Text(c.New.Code)}\t{c.New.Rule}");
        }
    }

    public static void WriteText(TextWriter o, string oldPath, string newPath, CompiledPolicy oldPolicy,
        CompiledPolicy newPolicy, PolicyDiffResult diff, long at, bool allReasons)
    {
        o.WriteLine($"policy diff {oldPath} ({oldPolicy.Hash[..19]}…) → {newPath} ({newPolicy.Hash[..19]}…) " +
            $"at {DateTimeOffset.FromUnixTimeMilliseconds(at):yyyy-MM-ddTHH:mm:ssZ}");
        if (diff.AgenciesAdded.Count > 0)
        {
            o.WriteLine($"agencies added:   {string.Join(", ", diff.AgenciesAdded)}");
        }
        if (diff.AgenciesRemoved.Count > 0)
        {
            o.WriteLine($"agencies removed: {string.Join(", ", diff.AgenciesRemoved)}");
        }

        Section(o, "GRANTED", "outcomes newly allowed", diff.Changes.Where(c => c.Kind == ChangeKind.Granted),
            c => $"by {Code(c.New)}, was {Code(c.Old)}");
        Section(o, "REVOKED", "outcomes no longer allowed", diff.Changes.Where(c => c.Kind == ChangeKind.Revoked),
            c => $"now {Code(c.New)}, was {Code(c.Old)}");
        Section(o, "REASON CHANGED", "outcomes with the same allow/deny, decided by another rule",
            diff.Changes.Where(c => c.Kind == ChangeKind.Reason),
            c => $"{Code(c.Old)} → {Code(c.New)}", maxPairs: allReasons ? int.MaxValue : 5);
        if (diff.RetentionChanges.Count > 0)
        {
            o.WriteLine();
            o.WriteLine($"RETENTION CHANGED — {diff.RetentionChanges.Count} agencies " +
                $"(stored reads follow the new window)");
            foreach (RetentionChange r in diff.RetentionChanges)
            {
                o.WriteLine($"    {r.Agency}  {Durations.Format(TimeSpan.FromMilliseconds(r.OldMs))} ({r.OldRule}) " +
                    $"→ {Durations.Format(TimeSpan.FromMilliseconds(r.NewMs))} ({r.NewRule})");
            }
        }
        if (diff.KeyChanges.Count > 0)
        {
            // Keys are compared by content and never printed: who can sign as the agency changed.
            o.WriteLine();
            o.WriteLine($"KEYS CHANGED — {diff.KeyChanges.Count} agencies (queries are verified with the new keys)");
            foreach (KeyChange k in diff.KeyChanges) o.WriteLine($"    {k}");
        }
        if (diff.Changes.Count == 0) o.WriteLine("\nno outcome changes");
        o.WriteLine();
    }

    private static string Code(Decision d) => $"{DecisionCodes.Text(d.Code)} ({d.Rule})";

    /// <summary>
    /// One section: changes grouped by what decided them, then by (owner, recipient), accesses and purposes
    /// collapsed.
    /// </summary>
    private static void Section(TextWriter o, string title, string what, IEnumerable<OutcomeChange> changes,
        Func<OutcomeChange, string> group, int maxPairs = int.MaxValue)
    {
        var list = changes.ToList();
        if (list.Count == 0) return;
        o.WriteLine();
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{title} — {list.Count:N0} {what}"));
        foreach (var g in list.GroupBy(group))
        {
            var pairs = g.GroupBy(c => (c.Owner, c.Recipient)).ToList();
            o.WriteLine(pairs.Count > maxPairs
                ? string.Create(CultureInfo.InvariantCulture,
                    $"  {g.Key}: {g.Count():N0} outcomes, {pairs.Count:N0} pairs")
                : $"  {g.Key}:");
            foreach (var pair in pairs.Take(maxPairs))
            {
                // access → purposes; accesses with the same purposes are printed together.
                var byAccess = pair.GroupBy(c => c.Access).ToDictionary(a => a.Key,
                    a => (ushort)a.Aggregate(0, (m, c) => m | (1 << (int)c.Purpose)));
                foreach (var same in byAccess.GroupBy(kv => kv.Value))
                {
                    string accesses = string.Join(", ", same.Select(kv => PolicyExplainer.AccessName(kv.Key)));
                    o.WriteLine($"    {pair.Key.Owner} → {pair.Key.Recipient}  {accesses} × " +
                        $"{PolicyCheck.PurposeText(same.Key)}");
                }
            }
            if (pairs.Count > maxPairs)
            {
                o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"    … and {pairs.Count - maxPairs:N0} more pairs " +
                    $"(--reasons all, or --format tsv, lists every one)"));
            }
        }
    }
}
