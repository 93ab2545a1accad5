using System.Globalization;
using System.Text;
using StreamGuard.Events;
using StreamGuard.Policy;

namespace StreamGuard.Generation;

/// <summary>
/// Large synthetic policy files (SPEC §3 format) with a realistic shape, for benchmarks of loading, compiling,
/// deciding and diffing: agencies over all 50 states, mostly regional agreements, and the statutes' special cases
/// (Illinois and Connecticut declarations, Maryland's fusion center) present. Deterministic for a seed.
/// </summary>
/// <remarks>
/// <para>Agencies: ~2% federal (no state), the rest spread over the 50 states (every state has at least one when
/// there are 50 or more) with a flattened population weight; levels mostly local and county, some state, tribal and
/// private. Retention is omitted or shorter than the state's statute cap. No agency has a key, so the file loads
/// without key material (and queries against it cannot authenticate: it is for the policy, not for traffic).</para>
/// <para>Agreements: owners are 1-3 agencies of one state; recipients 2-10 agencies, mostly of that state, some of a
/// neighbouring state, a few federal; access and purposes are random subsets weighted towards the common ones; most
/// expire in 2027-2028, ~5% expired in 2025, ~5% never. Local rules: a handful, each denying
/// <c>immigration_enforcement</c>.</para>
/// <para>Agencies, rules and agreements draw from separate generators, so <c>Yaml(n, m + k, seed)</c> is
/// <c>Yaml(n, m, seed)</c> with k more agreements at the end (handy for a policy change of "k agreements
/// added").</para>
/// </remarks>
internal static class SyntheticPolicy
{
    private static readonly string[] s_illinoisNeighbours = ["IN", "IA", "KY", "MO", "WI"];
    private static readonly string[] s_connecticutNeighbours = ["MA", "NY", "RI"];
    private static readonly int[] s_typicalRetentionDays = [7, 14, 21, 30, 45, 60, 90, 180, 365, 730];

    /// <summary>Purpose and the chance an agreement grants it (the common investigative purposes dominate).</summary>
    private static readonly (Purpose Purpose, double Share)[] s_agreementPurposes =
    [
        (Purpose.CriminalInvestigation, 0.85), (Purpose.StolenVehicle, 0.75), (Purpose.MissingPerson, 0.60),
        (Purpose.AmberAlert, 0.55), (Purpose.HumanTrafficking, 0.35), (Purpose.Warrant, 0.35),
        (Purpose.ImmigrationEnforcement, 0.03), (Purpose.ReproductiveHealth, 0.01), (Purpose.GenderAffirmingCare, 0.01),
        (Purpose.CivilEnforcement, 0.03), (Purpose.Other, 0.05),
    ];

    private sealed class Agency(string id, string? state, AgencyLevel level)
    {
        public string Id { get; } = id;
        public string? State { get; } = state;
        public AgencyLevel Level { get; } = level;
        public bool FusionCenter { get; init; }
        public List<string> Declarations { get; } = [];
        public string? Retention { get; set; }
    }

    /// <summary>
    /// A policy file of <paramref name="agencies"/> agencies and <paramref name="agreements"/> agreements that
    /// <see cref="PolicyLoader.Load"/> accepts; the same arguments always give the same bytes.
    /// </summary>
    /// <remarks>5,000 agencies and 20,000 agreements make a file of about 5 MB.</remarks>
    public static string Yaml(int agencies, int agreements, int seed = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(agencies, 2);
        ArgumentOutOfRangeException.ThrowIfNegative(agreements);

        List<Agency> list = Agencies(agencies, new Random(seed));
        var byState = new Dictionary<string, List<Agency>>(StringComparer.Ordinal);
        var federal = new List<Agency>();
        foreach (Agency a in list)
        {
            if (a.State is null) federal.Add(a);
            else if (byState.TryGetValue(a.State, out List<Agency>? l)) l.Add(a);
            else byState.Add(a.State, [a]);
        }
        // Owners of camera data: public agencies and tribal police (private owners come as vendor feeds, rarely).
        Agency[] owners = list
            .Where(a => a.Level is AgencyLevel.Local or AgencyLevel.County or AgencyLevel.State or AgencyLevel.Tribal)
            .ToArray();
        if (owners.Length == 0) owners = list.Where(a => a.State is not null).ToArray();

        var sb = new StringBuilder(agencies * 80 + agreements * 260 + 4096);
        sb.Append("# Synthetic StreamGuard policy (SyntheticPolicy.Yaml): ").Append(agencies).Append(" agencies, ")
            .Append(agreements).Append(" agreements, seed ").Append(seed)
            .Append(". Not real agencies or agreements.\n");
        sb.Append("version: 1\ndefault_retention: 30d\nagencies:\n");
        foreach (Agency a in list) WriteAgency(sb, a);

        sb.Append("agreements:");
        if (agreements == 0) sb.Append(" []");
        sb.Append('\n');
        var agreementRandom = new Random(unchecked(seed * 7919 + 2));
        for (int k = 1; k <= agreements; k++) WriteAgreement(sb, agreementRandom, k, owners, byState, federal, list);

        WriteRules(sb, new Random(unchecked(seed * 7919 + 3)), list, byState, federal);

        sb.Append("search:\n  require_case_number: true\n  require_reason: true\n" +
            "  max_window: 90d\n  max_clock_skew: 5m\n");
        return sb.ToString();
    }

    private static List<Agency> Agencies(int count, Random random)
    {
        double totalWeight = UsStates.ByPopulation.Sum(s => Weight(s.Population));
        var perState = new Dictionary<string, int>(StringComparer.Ordinal);
        int federalCount = 0;
        var list = new List<Agency>(count);
        for (int i = 0; i < count; i++)
        {
            // Federal ~2% (never the first, so there is always an owner); the first 50 state agencies cover every
            // state once, the rest follow the weights.
            if (i > 0 && random.NextDouble() < 0.02)
            {
                list.Add(new Agency($"us-{++federalCount:D4}-fed", null, AgencyLevel.Federal));
                continue;
            }
            int stateAgencies = list.Count - federalCount;
            string state = stateAgencies < UsStates.ByPopulation.Length
                ? UsStates.ByPopulation[stateAgencies].State
                : PickState(random, totalWeight);
            AgencyLevel level = random.NextDouble() switch
            {
                < 0.62 => AgencyLevel.Local,
                < 0.87 => AgencyLevel.County,
                < 0.93 => AgencyLevel.State,
                < 0.96 => AgencyLevel.Tribal,
                _ => AgencyLevel.Private,
            };
            int n = perState[state] = perState.GetValueOrDefault(state) + 1;
            // One fusion center, Maryland's first agency: the only recipient Maryland's statute allows.
            bool fusion = state == "MD" && n == 1;
            if (fusion) level = AgencyLevel.State;
            list.Add(new Agency($"{state.ToLowerInvariant()}-{n:D4}-{(fusion ? "fc" : Suffix(level))}", state, level)
            {
                FusionCenter = fusion,
            });
        }

        foreach (Agency a in list)
        {
            bool isPublic = a.Level is AgencyLevel.Local or AgencyLevel.County or AgencyLevel.State;
            // Out-of-state agencies that signed Illinois's declaration: common next door, rare elsewhere.
            if (a.State != "IL" && (isPublic || a.Level == AgencyLevel.Federal))
            {
                double share = a.State is null ? 0.10 : s_illinoisNeighbours.Contains(a.State) ? 0.15 : 0.03;
                if (random.NextDouble() < share) a.Declarations.Add("IL-625-ILCS-5/2-130");
            }
            // Connecticut's act honours declarations from agencies of MA, NY and RI only; a few elsewhere file it
            // anyway.
            if (a.State is { } state && state != "CT" && isPublic)
            {
                double share = s_connecticutNeighbours.Contains(state) ? 0.20 : 0.005;
                if (random.NextDouble() < share) a.Declarations.Add("CT-PA-26-14");
            }
            a.Retention = RetentionFor(a, random);
        }
        return list;
    }

    // Flattened: small states still have many agencies.
    private static double Weight(double population) => population + 2.0;

    private static string PickState(Random random, double totalWeight)
    {
        double x = random.NextDouble() * totalWeight;
        foreach (var (state, population) in UsStates.ByPopulation)
        {
            x -= Weight(population);
            if (x < 0) return state;
        }
        return UsStates.ByPopulation[^1].State;
    }

    private static string Suffix(AgencyLevel level) => level switch
    {
        AgencyLevel.Local => "pd",
        AgencyLevel.County => "so",
        AgencyLevel.State => "sp",
        AgencyLevel.Tribal => "tpd",
        AgencyLevel.Private => "pvt",
        _ => "fed",
    };

    /// <summary>
    /// Omitted, or a typical window strictly shorter than the statute cap of the agency's state and level.
    /// </summary>
    private static string? RetentionFor(Agency a, Random random)
    {
        RetentionCap? cap = StatuteRules.RetentionCapFor(a.State);
        if (random.NextDouble() < (cap is null ? 0.5 : 0.4)) return null;
        if (cap is null) return $"{s_typicalRetentionDays[random.Next(s_typicalRetentionDays.Length)]}d";
        TimeSpan limit = cap.CapFor(a.Level);
        int[] shorter = s_typicalRetentionDays.Where(d => TimeSpan.FromDays(d) < limit).ToArray();
        if (shorter.Length > 0) return $"{shorter[random.Next(shorter.Length)]}d";
        int minutes = (int)limit.TotalMinutes;  // New Hampshire: 3 minutes
        return minutes > 1 ? $"{1 + random.Next(minutes - 1)}m" : null;
    }

    private static void WriteAgency(StringBuilder sb, Agency a)
    {
        sb.Append("  - {id: ").Append(a.Id).Append(", name: \"Synthetic ").Append(a.State ?? "federal").Append(' ')
            .Append(a.Level.ToString().ToLowerInvariant()).Append(" agency ").Append(a.Id).Append('"');
        if (a.State is not null) sb.Append(", state: ").Append(a.State);
        sb.Append(", level: ").Append(a.Level.ToString().ToLowerInvariant());
        if (a.Retention is not null) sb.Append(", retention: ").Append(a.Retention);
        if (a.Declarations.Count > 0) sb.Append(", declarations: [").AppendJoin(", ", a.Declarations).Append(']');
        if (a.FusionCenter) sb.Append(", fusion_center: true");
        sb.Append("}\n");
    }

    private static void WriteAgreement(StringBuilder sb, Random random, int k, Agency[] owners,
        Dictionary<string, List<Agency>> byState, List<Agency> federal, List<Agency> all)
    {
        Agency first = owners[random.Next(owners.Length)];
        string state = first.State!;
        List<Agency> home = byState[state];
        var ownerList = new List<Agency> { first };
        var recipients = new List<Agency>();
        double kind = random.NextDouble();
        bool privateFeed = false;
        if (kind < 0.02 && home.FirstOrDefault(a => a.Level == AgencyLevel.Private) is { } vendor)
        {
            // A private network sharing its camera data with local police.
            ownerList[0] = vendor;
            privateFeed = true;
        }
        else if (kind < 0.04 && home.Where(a => a.Level == AgencyLevel.Private).ToArray() is { Length: > 0 } companies)
        {
            // A repossession feed: one police agency to one private company.
            recipients.Add(companies[random.Next(companies.Length)]);
            privateFeed = true;
        }
        else
        {
            int more = random.Next(3);  // 1-3 owners
            for (int i = 0; i < more * 3 && ownerList.Count <= more; i++)
            {
                Agency o = home[random.Next(home.Count)];
                if (o.Level is not (AgencyLevel.Federal or AgencyLevel.Private) && !ownerList.Contains(o))
                {
                    ownerList.Add(o);
                }
            }
        }
        bool mutual = !privateFeed && random.NextDouble() < 0.3;
        if (mutual) recipients.AddRange(ownerList);

        int want = recipients.Count + (recipients.Count > 0 && privateFeed ? 0 : 2 + random.Next(9));
        string[] neighbours = UsStates.Neighbours[state];
        for (int attempt = 0; recipients.Count < want && attempt < want * 4; attempt++)
        {
            double x = random.NextDouble();
            Agency r;
            if (x < 0.015 && federal.Count > 0) r = federal[random.Next(federal.Count)];
            else if (x < 0.10
                && byState.TryGetValue(neighbours[random.Next(neighbours.Length)], out List<Agency>? next))
            {
                r = next[random.Next(next.Count)];
            }
            else r = home[random.Next(home.Count)];
            if (r.Level == AgencyLevel.Private && !privateFeed) continue;
            if (!recipients.Contains(r) && (!ownerList.Contains(r) || mutual)) recipients.Add(r);
        }
        if (recipients.Count == 0 || recipients.All(ownerList.Contains))
        {
            // A state with a single agency: share with anyone else.
            Agency r = all.First(a => !ownerList.Contains(a));
            recipients.Add(r);
        }

        bool toFederal = recipients.Any(r => r.Level == AgencyLevel.Federal);
        bool toPrivate = recipients.Any(r => r.Level == AgencyLevel.Private);
        sb.Append("  - id: ").Append(state.ToLowerInvariant()).Append("-mou-")
            .Append(k.ToString("D5", CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("    owners: [").AppendJoin(", ", ownerList.Select(a => a.Id)).Append("]\n");
        sb.Append("    recipients: [").AppendJoin(", ", recipients.Select(a => a.Id)).Append("]\n");

        var access = new List<string>(3);
        if (random.NextDouble() < 0.40) access.Add("push");
        if (random.NextDouble() < 0.85) access.Add("search");
        if (random.NextDouble() < 0.50) access.Add("alert");
        if (access.Count == 0) access.Add("search");
        sb.Append("    access: [").AppendJoin(", ", access).Append("]\n");

        var purposes = new List<string>(Purposes.Count);
        foreach (var (purpose, baseShare) in s_agreementPurposes)
        {
            double share = purpose switch
            {
                Purpose.ImmigrationEnforcement when toFederal => 0.30,
                Purpose.CivilEnforcement when toPrivate => 0.90,
                _ => baseShare,
            };
            if (random.NextDouble() < share) purposes.Add(Purposes.Name(purpose));
        }
        if (purposes.Count == 0) purposes.Add(Purposes.Name(Purpose.CriminalInvestigation));
        sb.Append("    purposes: [").AppendJoin(", ", purposes).Append("]\n");

        double e = random.NextDouble();
        if (e < 0.05) AppendDate(sb, "    expires: ", new DateOnly(2025, 1, 1).AddDays(random.Next(365)));
        else if (e < 0.95) AppendDate(sb, "    expires: ", new DateOnly(2027, 1, 1).AddDays(random.Next(730)));
        if (random.NextDouble() < 0.6)
        {
            sb.Append("    citation: \"MOU ").Append(state).Append('-').Append(2019 + random.Next(8)).Append('-')
                .Append(random.Next(1, 1000).ToString("D3", CultureInfo.InvariantCulture)).Append("\"\n");
        }
    }

    /// <summary>
    /// A handful of city and county rules that deny immigration enforcement (some only to federal recipients).
    /// </summary>
    private static void WriteRules(StringBuilder sb, Random random, List<Agency> all,
        Dictionary<string, List<Agency>> byState, List<Agency> federal)
    {
        Agency[] candidates = all.Where(a => a.Level is AgencyLevel.Local or AgencyLevel.County).ToArray();
        int count = candidates.Length == 0 ? 0 : Math.Max(1, all.Count / 400);
        sb.Append("rules:");
        if (count == 0) sb.Append(" []");
        sb.Append('\n');
        for (int k = 1; k <= count; k++)
        {
            Agency first = candidates[random.Next(candidates.Length)];
            var owners = new List<Agency> { first };
            List<Agency> home = byState[first.State!];
            int more = random.Next(3);
            for (int i = 0; i < 6 && owners.Count <= more; i++)
            {
                Agency o = home[random.Next(home.Count)];
                if (o.Level is AgencyLevel.Local or AgencyLevel.County && !owners.Contains(o)) owners.Add(o);
            }
            sb.Append("  - id: ").Append(first.State!.ToLowerInvariant()).Append("-values-")
                .Append(k.ToString("D3", CultureInfo.InvariantCulture)).Append('\n');
            sb.Append("    owners: [").AppendJoin(", ", owners.Select(a => a.Id)).Append("]\n");
            sb.Append("    deny_purposes: [immigration_enforcement]\n");
            if (federal.Count > 0 && random.NextDouble() < 0.33)
            {
                IEnumerable<string> to = federal.OrderBy(_ => random.Next())
                    .Take(Math.Min(federal.Count, 1 + random.Next(3))).Select(a => a.Id);
                sb.Append("    deny_recipients: [").AppendJoin(", ", to).Append("]\n");
            }
            sb.Append("    citation: \"").Append(first.State).Append(" local ordinance ")
                .Append(2017 + random.Next(10)).Append('-')
                .Append(random.Next(1, 100).ToString("D2", CultureInfo.InvariantCulture))
                .Append(" (sanctuary / values policy)\"\n");
        }
    }

    private static void AppendDate(StringBuilder sb, string prefix, DateOnly day) =>
        sb.Append(prefix).Append(day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)).Append('\n');
}
