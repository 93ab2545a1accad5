using System.Text;
using BenchmarkDotNet.Attributes;
using StreamGuard.Engine;
using StreamGuard.Events;
using StreamGuard.Generation;
using StreamGuard.Policy;

namespace StreamGuard.Bench;

// One operation evaluates a batch of 4,096 precomputed requests; OperationsPerInvoke makes every figure per
// decision.
// Benchmark classes cannot be sealed: BenchmarkDotNet derives its runner from them.

/// <summary>
/// Policy decisions on a synthetic policy of 5,000 agencies and 20,000 agreements (<see cref="SyntheticPolicy"/>):
/// <see cref="CompiledPolicy.Decide"/> against the same SPEC §3 order written as LINQ over the loaded document
/// (<see cref="LinqPolicyBaseline"/>). Setup checks that both give the same decision for every request.
/// </summary>
[MemoryDiagnoser]
[GcServer(false)]
[GcConcurrent(false)]
public class PolicyBenchmarks
{
    public const int Batch = PolicyBenchData.RequestCount;

    private CompiledPolicy _policy = null!;
    private LinqPolicyBaseline _baseline = null!;
    private PolicyRequest[] _requests = [];

    /// <summary>The policy decided under: the synthetic network of 5,000 agencies and 20,000 agreements.</summary>
    protected virtual PolicyDocument LoadPolicy() =>
        PolicyBenchData.Load(PolicyBenchData.AgencyCount, PolicyBenchData.AgreementCount, seed: 1);

    [GlobalSetup]
    public void Setup()
    {
        PolicyDocument document = LoadPolicy();
        _policy = new CompiledPolicy(document);
        _baseline = new LinqPolicyBaseline(document);
        _requests = PolicyBenchData.Requests(_policy, Batch, seed: 1);

        // Like for like: the baseline must reach the same decision, for the same reason, on every request.
        int differ = 0;
        string? first = null;
        foreach (PolicyRequest q in _requests)
        {
            Decision a = _policy.Decide(q.Owner, q.Recipient, q.Access, q.Purpose, q.Documented, PolicyBenchData.NowMs);
            Decision b = _baseline.Decide(q.OwnerId, q.RecipientId, q.Access, q.Purpose, q.Documented,
                PolicyBenchData.NowMs);
            if (a == b) continue;
            differ++;
            first ??= $"{q.OwnerId} → {q.RecipientId} {q.Access} {Purposes.Name(q.Purpose)}: " +
                $"compiled {DecisionCodes.Text(a.Code)} ({a.Rule}), LINQ {DecisionCodes.Text(b.Code)} ({b.Rule})";
        }
        if (differ != 0)
        {
            throw new InvalidOperationException($"{differ} of {_requests.Length} decisions differ between " +
                $"CompiledPolicy and the LINQ baseline; first: {first}");
        }
        Console.WriteLine($"// policy: {document.Agencies.Count:N0} agencies, " +
            $"{document.Agreements.Count:N0} agreements, {document.Rules.Count} local rules; " +
            $"{_requests.Length:N0} requests, decisions identical in both; " +
            $"mix: {PolicyBenchData.Mix(_policy, _requests)}");
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    public int LinqBaseline()
    {
        int sum = 0;
        foreach (ref readonly PolicyRequest q in _requests.AsSpan())
        {
            sum += (int)_baseline.Decide(q.OwnerId, q.RecipientId, q.Access, q.Purpose, q.Documented,
                PolicyBenchData.NowMs).Code;
        }
        return sum;
    }

    /// <summary>Owner and recipient already interned (as <see cref="Parsing.EventParser"/> delivers them).</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public int CompiledDecide()
    {
        int sum = 0;
        foreach (ref readonly PolicyRequest q in _requests.AsSpan())
        {
            sum += (int)_policy.Decide(q.Owner, q.Recipient, q.Access, q.Purpose, q.Documented,
                PolicyBenchData.NowMs).Code;
        }
        return sum;
    }

    /// <summary>
    /// Owner and recipient looked up from their UTF-8 ids first, for a comparison with the baseline's string ids.
    /// </summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public int CompiledDecideFromIds()
    {
        int sum = 0;
        foreach (ref readonly PolicyRequest q in _requests.AsSpan())
        {
            int owner = _policy.Agencies.Find(q.OwnerUtf8), recipient = _policy.Agencies.Find(q.RecipientUtf8);
            sum += (int)_policy.Decide(owner, recipient, q.Access, q.Purpose, q.Documented,
                PolicyBenchData.NowMs).Code;
        }
        return sum;
    }
}

/// <summary>
/// The same decisions under the demo's policy (samples/policy.yaml: 18 agencies, 7 agreements). Both sides stay in
/// cache, so the ratio moves far less between benchmark processes than the network policy's, whose LINQ baseline
/// walks 20,000 agreements per decision: the CI gate measures this one.
/// </summary>
public class SamplePolicyBenchmarks : PolicyBenchmarks
{
    protected override PolicyDocument LoadPolicy() =>
        PolicyLoader.LoadFile(Path.Combine(CiGate.RepositoryRoot(), "samples", "policy.yaml"));
}

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
