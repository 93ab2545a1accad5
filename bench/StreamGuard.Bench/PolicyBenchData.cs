using System.Text;
using StreamGuard.Engine;
using StreamGuard.Events;
using StreamGuard.Generation;
using StreamGuard.Policy;

namespace StreamGuard.Bench;

/// <summary>
/// One precomputed request: interned indexes for the compiled policy, string and UTF-8 ids for the others.
/// </summary>
public readonly record struct PolicyRequest(
    int Owner, int Recipient, Access Access, Purpose Purpose, bool Documented, string OwnerId, string RecipientId,
    byte[] OwnerUtf8, byte[] RecipientUtf8);

/// <summary>
/// The synthetic policy and request mix shared by <see cref="PolicyBenchmarks"/> and the <c>policy-diff</c> mode.
/// </summary>
public static class PolicyBenchData
{
    public const int AgencyCount = 5_000;
    public const int AgreementCount = 20_000;
    public const int RequestCount = 4_096;

    /// <summary>
    /// The clock of every decision: 2026-11-29T00:00:00Z (agreements that expired in 2025 are expired).
    /// </summary>
    public static readonly long NowMs =
        new DateTimeOffset(2026, 11, 29, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    /// <summary>
    /// Request purposes and their shares: investigations and stolen vehicles dominate, as in real query logs.
    /// </summary>
    private static readonly (Purpose Purpose, double Share)[] s_requestPurposes =
    [
        (Purpose.CriminalInvestigation, 0.35), (Purpose.StolenVehicle, 0.25), (Purpose.Warrant, 0.10),
        (Purpose.MissingPerson, 0.08), (Purpose.AmberAlert, 0.05), (Purpose.HumanTrafficking, 0.04),
        (Purpose.ImmigrationEnforcement, 0.05), (Purpose.CivilEnforcement, 0.03), (Purpose.ReproductiveHealth, 0.01),
        (Purpose.GenderAffirmingCare, 0.01), (Purpose.Other, 0.03),
    ];

    public static string Yaml(int agencies, int agreements, int seed) =>
        SyntheticPolicy.Yaml(agencies, agreements, seed);

    public static PolicyDocument Load(int agencies, int agreements, int seed) =>
        PolicyLoader.Load(Encoding.UTF8.GetBytes(Yaml(agencies, agreements, seed)),
            $"synthetic-{agencies}x{agreements}-s{seed}.yaml", ".");

    /// <summary>
    /// Half the requests name a pair that some agreement names (owner and recipient drawn from one agreement); the
    /// rest are random pairs: same state, another state, federal recipients, a few agencies asking for their own reads.
    /// </summary>
    public static PolicyRequest[] Requests(CompiledPolicy policy, int count, int seed)
    {
        var random = new Random(seed);
        PolicyDocument doc = policy.Document;
        AgencyConfig[] owners =
            doc.Agencies.Where(a => a.Level is not (AgencyLevel.Federal or AgencyLevel.Private)).ToArray();
        AgencyConfig[] federal = doc.Agencies.Where(a => a.Level == AgencyLevel.Federal).ToArray();
        AgencyConfig[] withState = doc.Agencies.Where(a => a.State is not null).ToArray();
        Dictionary<string, AgencyConfig[]> byState = withState.GroupBy(a => a.State!)
            .ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);

        var requests = new PolicyRequest[count];
        for (int i = 0; i < count; i++)
        {
            string owner, recipient;
            double kind = random.NextDouble();
            if (kind < 0.5)
            {
                AgreementConfig a;
                do
                {
                    a = doc.Agreements[random.Next(doc.Agreements.Count)];
                    owner = a.Owners[random.Next(a.Owners.Count)];
                    recipient = a.Recipients[random.Next(a.Recipients.Count)];
                } while (owner == recipient);
            }
            else
            {
                AgencyConfig o = owners[random.Next(owners.Length)];
                owner = o.Id;
                double x = random.NextDouble();
                AgencyConfig r = x switch
                {
                    < 0.02 => o,
                    < 0.40 => Pick(random, byState[o.State!]),
                    < 0.75 => Pick(random, withState),
                    < 0.90 when federal.Length > 0 => Pick(random, federal),
                    _ => Pick(random, doc.Agencies),
                };
                recipient = r.Id;
            }
            Access access = random.NextDouble() switch
            {
                < 0.5 => Access.Search,
                < 0.8 => Access.Push,
                _ => Access.Alert,
            };
            Purpose purpose = PickPurpose(random);
            bool documented = random.NextDouble() < 0.9;
            requests[i] = new PolicyRequest(policy.Agencies.Find(owner), policy.Agencies.Find(recipient), access,
                purpose, documented, owner, recipient,
                Encoding.UTF8.GetBytes(owner), Encoding.UTF8.GetBytes(recipient));
        }
        return requests;
    }

    /// <summary>Decision codes over the requests, most frequent first, e.g. "deny.statute 31%, …".</summary>
    public static string Mix(CompiledPolicy policy, PolicyRequest[] requests) => string.Join(", ", requests
        .GroupBy(q => policy.Decide(q.Owner, q.Recipient, q.Access, q.Purpose, q.Documented, NowMs).Code)
        .OrderByDescending(g => g.Count())
        .Select(g => $"{DecisionCodes.Text(g.Key)} {100.0 * g.Count() / requests.Length:F0}%"));

    private static AgencyConfig Pick(Random random, IReadOnlyList<AgencyConfig> list) => list[random.Next(list.Count)];

    private static Purpose PickPurpose(Random random)
    {
        double x = random.NextDouble();
        foreach (var (purpose, share) in s_requestPurposes)
        {
            x -= share;
            if (x < 0) return purpose;
        }
        return Purpose.Other;
    }
}
