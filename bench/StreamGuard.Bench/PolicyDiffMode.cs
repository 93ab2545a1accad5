using System.Diagnostics;
using System.Globalization;
using StreamGuard.Engine;
using StreamGuard.Policy;

namespace StreamGuard.Bench;

/// <summary>
/// <c>dotnet run -c Release -- policy-diff [--agencies N] [--agreements N] [--seed N] [--runs N]</c>: times loading,
/// compiling and <see cref="PolicyDiff.Compute"/> on a large synthetic policy and a changed copy of it. Wall-clock
/// Stopwatch figures, one process: the first compile and diff include JIT; later runs show the warm figure.
/// </summary>
/// <remarks>
/// The change, like a real edit of a shared policy: 1% of the agreements dropped, 200 new ones added (the next 200
/// that <see cref="Generation.SyntheticPolicy"/> generates for the seed), and 20 agencies changed (an Illinois
/// declaration added or withdrawn, or a level switched between local and county). A changed agency makes
/// <see cref="PolicyDiff"/> examine all its pairs, as owner and as recipient.
/// </remarks>
public static class PolicyDiffMode
{
    public static int Run(string[] args)
    {
        int agencies = Option(args, "--agencies", PolicyBenchData.AgencyCount);
        int agreements = Option(args, "--agreements", PolicyBenchData.AgreementCount);
        int seed = Option(args, "--seed", 1);
        int runs = Math.Max(1, Option(args, "--runs", 3));
        const int Added = 200, ChangedAgencies = 20;

        Console.WriteLine($"policy-diff: {agencies:N0} agencies, {agreements:N0} agreements, seed {seed}; " +
            $".NET {Environment.Version}, {Environment.ProcessorCount} cores, " +
            $"server GC {System.Runtime.GCSettings.IsServerGC}");

        var clock = Stopwatch.StartNew();
        string oldYaml = PolicyBenchData.Yaml(agencies, agreements, seed);
        string newYaml = PolicyBenchData.Yaml(agencies, agreements + Added, seed);
        Report("generate both YAML files", clock, $"{oldYaml.Length / 1e6:F1} MB and {newYaml.Length / 1e6:F1} MB");

        clock.Restart();
        PolicyDocument oldDoc = PolicyLoader.Load(System.Text.Encoding.UTF8.GetBytes(oldYaml), "old.yaml", ".");
        Report("load old (PolicyLoader.Load)", clock);
        clock.Restart();
        PolicyDocument newDoc = Change(
            PolicyLoader.Load(System.Text.Encoding.UTF8.GetBytes(newYaml), "new.yaml", "."),
            agreements, ChangedAgencies, seed);
        Report("load new + apply the change", clock, $"{newDoc.Agreements.Count:N0} agreements");

        CompiledPolicy oldPolicy = null!;
        for (int i = 0; i < runs; i++)
        {
            long allocated = GC.GetTotalAllocatedBytes(true);
            clock.Restart();
            oldPolicy = new CompiledPolicy(oldDoc);
            Report($"compile old, run {i + 1}", clock,
                $"{(GC.GetTotalAllocatedBytes(true) - allocated) / 1e6:F0} MB allocated, " +
                $"{oldPolicy.AgreementPairs().Count():N0} agreement pairs");
        }
        CompiledPolicy newPolicy = null!;
        for (int i = 0; i < runs; i++)
        {
            clock.Restart();
            newPolicy = new CompiledPolicy(newDoc, oldPolicy);
            Report($"compile new (previous: old), run {i + 1}", clock);
        }

        for (int i = 0; i < runs; i++)
        {
            long allocated = GC.GetTotalAllocatedBytes(true);
            PolicyDiffResult diff = PolicyDiff.Compute(oldPolicy, newPolicy, PolicyBenchData.NowMs);
            Console.WriteLine(
                $"{"PolicyDiff.Compute, run " + (i + 1),-40} {diff.Elapsed.TotalMilliseconds,9:F0} ms   " +
                $"{diff.Changes.Count:N0} changes ({diff.Granted:N0} granted, {diff.Revoked:N0} revoked, " +
                $"{diff.ReasonChanged:N0} reason changed); " +
                $"{diff.PairsExamined:N0} (owner, recipient) pairs examined = " +
                $"{diff.PairsExamined * 3 * Events.Purposes.Count * 2:N0} decisions; " +
                $"{(GC.GetTotalAllocatedBytes(true) - allocated) / 1e6:F0} MB allocated");
            if (i == 0) Console.WriteLine("  most frequent changes: " + string.Join("; ", diff.Changes
                .GroupBy(c => $"{DecisionCodes.Text(c.Old.Code)} → {DecisionCodes.Text(c.New.Code)}")
                .OrderByDescending(g => g.Count()).Take(8).Select(g => $"{g.Key} {g.Count():N0}")));
        }

        // Run-time check of the 0 B claim, outside BenchmarkDotNet: allocation over every benchmark request, after a
        // warm-up pass.
        PolicyRequest[] requests = PolicyBenchData.Requests(oldPolicy, PolicyBenchData.RequestCount, seed);
        int sum = Decide(oldPolicy, requests);
        long before = GC.GetAllocatedBytesForCurrentThread();
        sum += Decide(oldPolicy, requests);
        long decideBytes = GC.GetAllocatedBytesForCurrentThread() - before;
        Console.WriteLine($"Decide over {requests.Length:N0} requests: {decideBytes} B allocated (checksum {sum}); " +
            $"mix: {PolicyBenchData.Mix(oldPolicy, requests)}");
        return 0;
    }

    private static int Decide(CompiledPolicy policy, PolicyRequest[] requests)
    {
        int sum = 0;
        foreach (PolicyRequest q in requests)
        {
            sum += (int)policy.Decide(q.Owner, q.Recipient, q.Access, q.Purpose, q.Documented,
                PolicyBenchData.NowMs).Code;
        }
        return sum;
    }

    /// <summary>
    /// Drops 1% of the first <paramref name="kept"/> agreements and changes <paramref name="agencies"/> agencies.
    /// </summary>
    private static PolicyDocument Change(PolicyDocument doc, int kept, int agencies, int seed)
    {
        var random = new Random(unchecked(seed * 31 + 17));
        var drop = new HashSet<int>();
        while (drop.Count < kept / 100) drop.Add(random.Next(kept));
        var agreements = doc.Agreements.Where((_, i) => !drop.Contains(i)).ToList();

        var list = doc.Agencies.ToList();
        var changed = new HashSet<int>();
        while (changed.Count < Math.Min(agencies, list.Count))
        {
            int i = random.Next(list.Count);
            if (list[i].Level is AgencyLevel.Federal or AgencyLevel.Private || !changed.Add(i)) continue;
            AgencyConfig a = list[i];
            const string Illinois = "IL-625-ILCS-5/2-130";
            list[i] = changed.Count % 2 == 0 && a.Level is AgencyLevel.Local or AgencyLevel.County
                ? a with { Level = a.Level == AgencyLevel.Local ? AgencyLevel.County : AgencyLevel.Local }
                : a with
                {
                    Declarations = a.Declarations.Contains(Illinois)
                        ? a.Declarations.Where(d => d != Illinois).ToList()
                        : [.. a.Declarations, Illinois],
                };
        }
        return doc with { Agencies = list, Agreements = agreements };
    }

    private static void Report(string what, Stopwatch clock, string? detail = null) =>
        Console.WriteLine(
            $"{what,-40} {clock.Elapsed.TotalMilliseconds,9:F0} ms{(detail is null ? "" : "   " + detail)}");

    private static int Option(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
