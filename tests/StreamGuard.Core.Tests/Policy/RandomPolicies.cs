using System.Globalization;
using System.Text;
using StreamGuard.Engine;
using StreamGuard.Events;
using StreamGuard.Policy;

namespace StreamGuard.Tests.Policy;

/// <summary>One agency of a generated policy.</summary>
internal sealed record RandomAgency(string Id, string? State, string Level, string[] Declarations, bool FusionCenter);

/// <summary>One agreement of a generated policy (<see cref="Expires"/> as written in the file, or null).</summary>
internal sealed record RandomAgreement(
    string Id, string[] Owners, string[] Recipients, string[] Access, string[] Purposes, string? Expires);

/// <summary>One local rule of a generated policy; an empty list is a condition the rule does not state.</summary>
internal sealed record RandomRule(
    string Id, string[] Owners, string[] DenyPurposes, string[] DenyRecipients, string[] DenyAccess);

/// <summary>
/// A generated policy: a model that writes itself as YAML and compiles through <see cref="PolicyLoader"/>.
/// </summary>
internal sealed class RandomPolicy
{
    public List<RandomAgency> Agencies { get; } = [];
    public List<RandomAgreement> Agreements { get; } = [];
    public List<RandomRule> Rules { get; } = [];
    /// <summary>Next number for a fresh agency, agreement or rule id (never reused, so ids stay unique).</summary>
    public int NextId { get; set; }

    public RandomPolicy Clone()
    {
        var copy = new RandomPolicy { NextId = NextId };
        copy.Agencies.AddRange(Agencies);
        copy.Agreements.AddRange(Agreements);
        copy.Rules.AddRange(Rules);
        return copy;
    }

    public string ToYaml()
    {
        var sb = new StringBuilder();
        sb.Append("version: 1\ndefault_retention: 30d\nagencies:\n");
        foreach (RandomAgency a in Agencies)
        {
            sb.Append(CultureInfo.InvariantCulture, $"  - {{id: {a.Id}, level: {a.Level}");
            if (a.State is not null) sb.Append(CultureInfo.InvariantCulture, $", state: {a.State}");
            if (a.Declarations.Length > 0)
            {
                sb.Append(CultureInfo.InvariantCulture, $", declarations: [{string.Join(", ", a.Declarations)}]");
            }
            if (a.FusionCenter) sb.Append(", fusion_center: true");
            sb.Append("}\n");
        }
        sb.Append(Agreements.Count == 0 ? "agreements: []\n" : "agreements:\n");
        foreach (RandomAgreement a in Agreements)
        {
            sb.Append(CultureInfo.InvariantCulture, $"  - id: {a.Id}\n");
            sb.Append(CultureInfo.InvariantCulture, $"    owners: [{string.Join(", ", a.Owners)}]\n");
            sb.Append(CultureInfo.InvariantCulture, $"    recipients: [{string.Join(", ", a.Recipients)}]\n");
            sb.Append(CultureInfo.InvariantCulture, $"    access: [{string.Join(", ", a.Access)}]\n");
            sb.Append(CultureInfo.InvariantCulture, $"    purposes: [{string.Join(", ", a.Purposes)}]\n");
            if (a.Expires is not null) sb.Append(CultureInfo.InvariantCulture, $"    expires: {a.Expires}\n");
        }
        sb.Append(Rules.Count == 0 ? "rules: []\n" : "rules:\n");
        foreach (RandomRule r in Rules)
        {
            sb.Append(CultureInfo.InvariantCulture, $"  - id: {r.Id}\n");
            sb.Append(CultureInfo.InvariantCulture, $"    owners: [{string.Join(", ", r.Owners)}]\n");
            if (r.DenyPurposes.Length > 0)
            {
                sb.Append(CultureInfo.InvariantCulture, $"    deny_purposes: [{string.Join(", ", r.DenyPurposes)}]\n");
            }
            if (r.DenyRecipients.Length > 0)
            {
                sb.Append(CultureInfo.InvariantCulture,
                    $"    deny_recipients: [{string.Join(", ", r.DenyRecipients)}]\n");
            }
            if (r.DenyAccess.Length > 0)
            {
                sb.Append(CultureInfo.InvariantCulture, $"    deny_access: [{string.Join(", ", r.DenyAccess)}]\n");
            }
            sb.Append(CultureInfo.InvariantCulture, $"    citation: \"Local ordinance {r.Id}\"\n");
        }
        return sb.ToString();
    }

    public PolicyDocument Load() => PolicyLoader.Load(Encoding.UTF8.GetBytes(ToYaml()), "random.yaml", ".");

    public CompiledPolicy Compile(CompiledPolicy? previous = null) => new(Load(), previous);
}

/// <summary>
/// Seeded generator of small random policies and of mutations of them, for the brute-force checks of
/// <see cref="PolicyDiff"/>, <see cref="PolicyExplainer"/> and the compiled statute tables.
/// </summary>
internal static class RandomPolicies
{
    /// <summary>The clock the generated expiries are set around (some before, some after).</summary>
    public static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    public static long NowMs => Now.ToUnixTimeMilliseconds();

    public static readonly string[] States = ["CA", "IL", "VA", "WA", "OR", "MD", "CT", "MN", "TX", "NV", "MA"];
    public static readonly string[] AccessNames = ["push", "search", "alert"];
    public static readonly string[] Declarations = ["IL-625-ILCS-5/2-130", "CT-PA-26-14"];
    public static readonly string[] PurposeNames =
        [.. Enumerable.Range(0, Purposes.Count).Select(p => Purposes.Name((Purpose)p))];

    private static readonly string[] s_levels =
        ["local", "local", "local", "county", "state", "state", "federal", "federal", "tribal", "private"];

    public static RandomPolicy Generate(Random rng)
    {
        var p = new RandomPolicy();
        int agencies = rng.Next(6, 13);
        if (rng.Next(3) == 0)
        {
            // Maryland's fusion center, the one recipient MD.NO_SHARING lets through.
            p.Agencies.Add(
                new RandomAgency(FreshId(p, "ag"), "MD", "state", RandomDeclarations(rng), FusionCenter: true));
        }
        while (p.Agencies.Count < agencies) p.Agencies.Add(RandomAgencyFacts(rng, FreshId(p, "ag")));
        int agreements = rng.Next(0, 9);
        for (int i = 0; i < agreements; i++) p.Agreements.Add(NewAgreement(p, rng));
        int rules = rng.Next(0, 3);
        for (int i = 0; i < rules; i++) p.Rules.Add(NewRule(p, rng));
        return p;
    }

    /// <summary>A copy of <paramref name="p"/> with one to three random changes.</summary>
    public static RandomPolicy Mutate(RandomPolicy p, Random rng)
    {
        RandomPolicy q = p.Clone();
        int changes = rng.Next(1, 4);
        for (int c = 0; c < changes; c++) MutateOnce(q, rng);
        return q;
    }

    private static void MutateOnce(RandomPolicy q, Random rng)
    {
        switch (rng.Next(15))
        {
            case 0:
                q.Agreements.Insert(rng.Next(q.Agreements.Count + 1), NewAgreement(q, rng));
                break;
            case 1 when q.Agreements.Count > 0:
                q.Agreements.RemoveAt(rng.Next(q.Agreements.Count));
                break;
            case 2 when q.Agreements.Count > 0:
                ReplaceAgreement(q, rng, a => a with { Access = RandomSubset(rng, AccessNames) });
                break;
            case 3 when q.Agreements.Count > 0:
                ReplaceAgreement(q, rng, a => a with { Purposes = RandomPurposes(rng) });
                break;
            case 4 when q.Agreements.Count > 0:
                ReplaceAgreement(q, rng, a => a with { Expires = RandomExpiry(rng) });
                break;
            case 5 when q.Agreements.Count > 0:
                ReplaceAgreement(q, rng, a => rng.Next(2) == 0
                    ? a with { Owners = RandomAgencies(q, rng, 1, 3) }
                    : a with { Recipients = RandomAgencies(q, rng, 1, 4) });
                break;
            case 6:
            {
                // Level and state: keep the id, re-draw the facts statutes look at.
                int i = rng.Next(q.Agencies.Count);
                RandomAgency fresh = RandomAgencyFacts(rng, q.Agencies[i].Id);
                q.Agencies[i] = fresh with { Declarations = q.Agencies[i].Declarations };
                break;
            }
            case 7:
            {
                int i = rng.Next(q.Agencies.Count);
                q.Agencies[i] = q.Agencies[i] with { Declarations = RandomDeclarations(rng) };
                break;
            }
            case 8:
            {
                int i = rng.Next(q.Agencies.Count);
                // The flag exists only on Maryland's state level (the loader refuses it elsewhere).
                q.Agencies[i] = q.Agencies[i] with
                {
                    FusionCenter = q.Agencies[i] is { State: "MD", Level: "state" } && !q.Agencies[i].FusionCenter,
                };
                break;
            }
            case 9:
            {
                string id = FreshId(q, "ag");
                q.Agencies.Insert(rng.Next(q.Agencies.Count + 1), RandomAgencyFacts(rng, id));
                if (rng.Next(2) == 0)
                {
                    // Most often an agency arrives together with an agreement naming it.
                    RandomAgreement a = NewAgreement(q, rng);
                    a = rng.Next(2) == 0
                        ? a with { Owners = [.. a.Owners.Append(id).Distinct()] }
                        : a with { Recipients = [.. a.Recipients.Append(id).Distinct()] };
                    q.Agreements.Add(a);
                }
                break;
            }
            case 10 when q.Agencies.Count > 3:
                RemoveAgency(q, q.Agencies[rng.Next(q.Agencies.Count)].Id);
                break;
            case 11:
                q.Rules.Insert(rng.Next(q.Rules.Count + 1), NewRule(q, rng));
                break;
            case 12 when q.Rules.Count > 0:
            {
                int i = rng.Next(q.Rules.Count);
                RandomRule fresh = NewRule(q, rng);
                q.Rules[i] = fresh with
                {
                    Id = q.Rules[i].Id,
                    Owners = rng.Next(2) == 0 ? q.Rules[i].Owners : fresh.Owners,
                };
                break;
            }
            case 13 when q.Rules.Count > 0:
                q.Rules.RemoveAt(rng.Next(q.Rules.Count));
                break;
            case 14 when q.Agreements.Count > 1:
            {
                // File order decides which allowing agreement is cited.
                int i = rng.Next(q.Agreements.Count), j = rng.Next(q.Agreements.Count);
                (q.Agreements[i], q.Agreements[j]) = (q.Agreements[j], q.Agreements[i]);
                break;
            }
            default:
                q.Agreements.Add(NewAgreement(q, rng));
                break;
        }
    }

    private static void ReplaceAgreement(RandomPolicy q, Random rng, Func<RandomAgreement, RandomAgreement> change)
    {
        int i = rng.Next(q.Agreements.Count);
        q.Agreements[i] = change(q.Agreements[i]);
    }

    /// <summary>
    /// Removes an agency and every reference to it, dropping agreements and rules that no longer name anyone.
    /// </summary>
    private static void RemoveAgency(RandomPolicy q, string id)
    {
        q.Agencies.RemoveAll(a => a.Id == id);
        for (int i = q.Agreements.Count - 1; i >= 0; i--)
        {
            RandomAgreement a = q.Agreements[i];
            a = a with
            {
                Owners = [.. a.Owners.Where(x => x != id)],
                Recipients = [.. a.Recipients.Where(x => x != id)],
            };
            if (a.Owners.Length == 0 || a.Recipients.Length == 0) q.Agreements.RemoveAt(i);
            else q.Agreements[i] = a;
        }
        for (int i = q.Rules.Count - 1; i >= 0; i--)
        {
            RandomRule r = q.Rules[i];
            bool hadRecipients = r.DenyRecipients.Length > 0;
            r = r with
            {
                Owners = [.. r.Owners.Where(x => x != id)],
                DenyRecipients = [.. r.DenyRecipients.Where(x => x != id)],
            };
            bool lostItsOnlyRecipient = hadRecipients && r.DenyRecipients.Length == 0;
            if (r.Owners.Length == 0 || lostItsOnlyRecipient) q.Rules.RemoveAt(i);
            else q.Rules[i] = r;
        }
    }

    private static string FreshId(RandomPolicy p, string prefix) =>
        prefix + (p.NextId++).ToString(CultureInfo.InvariantCulture);

    private static RandomAgency RandomAgencyFacts(Random rng, string id)
    {
        string level = s_levels[rng.Next(s_levels.Length)];
        string? state = level == "federal" ? null : States[rng.Next(States.Length)];
        bool fusion = state == "MD" && level == "state" && rng.Next(3) != 0;
        return new RandomAgency(id, state, level, RandomDeclarations(rng), fusion);
    }

    private static string[] RandomDeclarations(Random rng) => [.. Declarations.Where(_ => rng.Next(3) == 0)];

    private static RandomAgreement NewAgreement(RandomPolicy p, Random rng) =>
        new(FreshId(p, "k"), RandomAgencies(p, rng, 1, 3), RandomAgencies(p, rng, 1, 4), RandomSubset(rng, AccessNames),
            RandomPurposes(rng), RandomExpiry(rng));

    private static RandomRule NewRule(RandomPolicy p, Random rng)
    {
        while (true)
        {
            string[] purposes = rng.Next(2) == 0 ? RandomSubset(rng, PurposeNames) : [];
            string[] recipients = rng.Next(2) == 0 ? RandomAgencies(p, rng, 1, 3) : [];
            string[] access = rng.Next(2) == 0 ? RandomSubset(rng, AccessNames) : [];
            if (purposes.Length + recipients.Length + access.Length == 0) continue;
            return new RandomRule(FreshId(p, "r"), RandomAgencies(p, rng, 1, 2), purposes, recipients, access);
        }
    }

    private static string[] RandomAgencies(RandomPolicy p, Random rng, int min, int max)
    {
        int count = Math.Min(rng.Next(min, max + 1), p.Agencies.Count);
        return [.. p.Agencies.Select(a => a.Id).OrderBy(_ => rng.Next()).Take(count)];
    }

    private static string[] RandomPurposes(Random rng) =>
        rng.Next(4) == 0 ? PurposeNames : RandomSubset(rng, PurposeNames);

    /// <summary>A non-empty subset, in a random order.</summary>
    private static string[] RandomSubset(Random rng, string[] all)
    {
        while (true)
        {
            string[] subset = [.. all.Where(_ => rng.Next(2) == 0).OrderBy(_ => rng.Next())];
            if (subset.Length > 0) return subset;
        }
    }

    /// <summary>
    /// No expiry, a date around <see cref="Now"/> (some past), the day of <see cref="Now"/>, or an RFC 3339 instant.
    /// </summary>
    private static string? RandomExpiry(Random rng) => rng.Next(8) switch
    {
        0 or 1 or 2 => null,
        3 => "2026-06-01",                  // the day of Now: still valid until the end of the day
        4 => "2026-05-31",                  // expired at the midnight before Now
        // exactly at Now (expired) or 1 ms after
        5 => rng.Next(2) == 0 ? "2026-06-01T12:00:00Z" : "2026-06-01T12:00:00.001Z",
        _ => new DateOnly(2025, 1, 1).AddDays(rng.Next(3 * 365)).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
    };
}
