using StreamGuard.Engine;
using StreamGuard.Events;

namespace StreamGuard.Policy;

/// <summary>
/// What <c>policy check</c> warns about beyond validation: every agreement, or part of one, that a statute or a local
/// rule nullifies, and every agreement that has expired. The "configuration error" of the 2025 incidents was an
/// agreement that looked like it shared what the law forbids; here it never passes silently.
/// </summary>
public static class PolicyCheck
{
    /// <summary>
    /// A nullified part of an agreement: for one owner, the rule that denies, and to whom and for what.
    /// </summary>
    public sealed record Nullification(AgreementConfig Agreement, string Owner, string Rule, string Citation,
        bool Statute, bool Confirmed, string? Status, IReadOnlyList<string> Recipients, ushort Purposes,
        AccessSet Access, bool Whole);

    /// <summary>
    /// One warning per agency <paramref name="previous"/>'s file names and <paramref name="next"/>'s does not name at
    /// all (not even as <c>retired: true</c>): a worker that never stops keeps its stored reads to the end of their
    /// window, but a restarted one cannot restore them — no policy it reads gives their window — so it would send
    /// no purge notice for them.
    /// </summary>
    public static IReadOnlyList<string> TakenOut(CompiledPolicy previous, CompiledPolicy next, long nowMs)
    {
        ArgumentNullException.ThrowIfNull(previous);
        ArgumentNullException.ThrowIfNull(next);
        var named = new HashSet<string>(next.Document.Agencies.Select(a => a.Id), StringComparer.Ordinal);
        var warnings = new List<string>();
        foreach (AgencyConfig a in previous.Document.Agencies)
        {
            if (named.Contains(a.Id)) continue;
            long window = previous.RetentionMs(previous.Agencies.FindAny(System.Text.Encoding.UTF8.GetBytes(a.Id)));
            string until = DateTimeOffset.FromUnixTimeMilliseconds(nowMs + window).UtcDateTime
                .ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
            string span = Durations.Format(TimeSpan.FromMilliseconds(window));
            warnings.Add(a.Retired
                ? $"{next.Document.Source}: agencies[{a.Id}]: a retired agency taken out of the file: if it was " +
                    $"retired less than its window ({span}) ago, or a hold of it is in force, reads it owns are " +
                    "still stored, and a restarted worker cannot restore them (no policy it reads gives their " +
                    "window) and would send no purge notice for them; otherwise nothing is lost"
                : $"{next.Document.Source}: agencies[{a.Id}]: taken out of the file: its stored reads keep their " +
                    "window while this worker runs, but a restarted worker cannot restore them (no policy it reads " +
                    "gives their window) and would send no purge notice for them; keep it in the file as " +
                    $"`retired: true` (no key, in no agreement or rule) until {until} (its window, {span}, from now; " +
                    "later if a hold keeps its reads)");
        }
        return warnings;
    }

    /// <summary>All warnings, in file order: expired agreements, then nullified parts of each agreement.</summary>
    public static IReadOnlyList<string> Warnings(CompiledPolicy policy, long nowMs, int maxNames = 12)
    {
        var warnings = new List<string>(policy.Document.Warnings);
        string source = policy.Document.Source;
        foreach (AgreementConfig a in policy.Document.Agreements)
        {
            if (a.ExpiresAtMs is { } e && e <= nowMs)
            {
                warnings.Add($"{source}:{a.Line}: agreements[{a.Id}].expires: expired on {a.ExpiresText}; " +
                    "it grants nothing (deny.agreement_expired)");
            }
        }
        foreach (Nullification x in Nullifications(policy))
        {
            string kind = x.Statute ? "statute" : "local rule";
            string status = x.Statute && !x.Confirmed ? $" ⚠ {x.Status}" : "";
            string what = x.Whole ? "all of it" : $"{AccessText(x.Access)} × {PurposeText(x.Purposes)}";
            warnings.Add($"{source}:{x.Agreement.Line}: agreements[{x.Agreement.Id}]: " +
                $"{kind} {x.Rule} ({x.Citation}{status}) nullifies it for " +
                $"{x.Owner}'s reads → {Names(x.Recipients, maxNames)}: {what}");
        }
        return warnings;
    }

    /// <summary>
    /// For each agreement and owner, every (recipient, access, purpose) it grants that step 2 (statutes) or step 3
    /// (local rules) denies, grouped by the rule that denies.
    /// </summary>
    public static IEnumerable<Nullification> Nullifications(CompiledPolicy policy)
    {
        const long BeforeAnyExpiry = long.MinValue;
        foreach (AgreementConfig a in policy.Document.Agreements)
        {
            foreach (string ownerId in a.Owners)
            {
                int owner = policy.Agencies.Find(ownerId);
                // rule → (recipients, purposes, accesses, tuples)
                var byRule = new Dictionary<string, (Decision D, List<string> Recipients, ushort Purposes,
                    AccessSet Access, int Tuples)>(StringComparer.Ordinal);
                int granted = 0;
                foreach (string recipientId in a.Recipients)
                {
                    int recipient = policy.Agencies.Find(recipientId);
                    if (recipient == owner) continue;
                    for (int acc = 0; acc < 3; acc++)
                    {
                        if ((a.Access & (AccessSet)(1 << acc)) == 0) continue;
                        for (int p = 0; p < Purposes.Count; p++)
                        {
                            if ((a.Purposes & (1 << p)) == 0) continue;
                            granted++;
                            Decision d = policy.Decide(owner, recipient, (Access)acc, (Purpose)p, documented: true,
                                BeforeAnyExpiry);
                            if (d.Code is not (DecisionCode.DenyStatute or DecisionCode.DenyLocal)) continue;
                            if (!byRule.TryGetValue(d.Rule, out var g)) g = (d, [], 0, AccessSet.None, 0);
                            if (!g.Recipients.Contains(recipientId)) g.Recipients.Add(recipientId);
                            g.Purposes |= (ushort)(1 << p);
                            g.Access |= (AccessSet)(1 << acc);
                            g.Tuples++;
                            byRule[d.Rule] = g;
                        }
                    }
                }
                int denied = byRule.Values.Sum(g => g.Tuples);
                // In evaluation order: statutes as Part A lists them, then local rules in file order.
                foreach (var (rule, g) in byRule.OrderBy(kv => RuleOrder(policy, kv.Key)))
                {
                    StatuteRule? statute = StatuteRules.All.FirstOrDefault(s => s.Id == rule);
                    yield return new Nullification(a, ownerId, rule, g.D.Citation, g.D.Code == DecisionCode.DenyStatute,
                        statute?.Confirmed ?? true, statute?.Status, g.Recipients, g.Purposes, g.Access,
                        Whole: byRule.Count == 1 && denied == granted);
                }
            }
        }
    }

    private static int RuleOrder(CompiledPolicy policy, string rule)
    {
        for (int i = 0; i < StatuteRules.All.Count; i++)
        {
            if (StatuteRules.All[i].Id == rule) return i;
        }
        for (int i = 0; i < policy.Document.Rules.Count; i++)
        {
            if (policy.Document.Rules[i].Id == rule) return StatuteRules.All.Count + i;
        }
        return int.MaxValue;
    }

    public static string Names(IReadOnlyList<string> names, int max) =>
        names.Count <= max
            ? string.Join(", ", names)
            : string.Join(", ", names.Take(max)) + $" and {names.Count - max} more";

    public static string AccessText(AccessSet access) => string.Join(", ",
        new[] { (AccessSet.Push, "push"), (AccessSet.Search, "search"), (AccessSet.Alert, "alert") }
            .Where(x => (access & x.Item1) != 0).Select(x => x.Item2));

    public static string PurposeText(ushort purposes) =>
        purposes == (1 << Purposes.Count) - 1 ? "every purpose"
            : string.Join(", ", Enumerable.Range(0, Purposes.Count).Where(p => (purposes & (1 << p)) != 0)
                .Select(p => Purposes.Name((Purpose)p)));
}
