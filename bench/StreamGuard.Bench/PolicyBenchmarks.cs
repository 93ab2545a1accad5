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
