using System.Globalization;
using System.Text;

namespace StreamGuard.Bench;

/// <summary>
/// <c>ci</c> mode, run by .ci/run on every build: a short BenchmarkDotNet pass over the parse and policy-decision
/// benchmarks, each against its baseline in the same run, that fails when the parse/policy path allocates or when
/// a method's ratio to its baseline is more than the tolerance above the committed reference ratio. Ratios, not
/// absolute times: the machines are shared and noisy. It also fails when the audit's bytes per input event
/// (<see cref="CiAuditVolume"/>, an exact figure) are more than the tolerance above the reference's. Writes
/// BenchmarkDotNet's reports and <c>ci-ratios.json</c> under the output directory.
/// </summary>
/// <remarks>
/// On these shared machines a whole benchmark process can run slower than the next for the same code (a
/// neighbour's burst lands on one side of a ratio, or the JIT lays a method out differently in one process). So: a
/// time is the <em>fastest</em> of a method's measured iterations (interference only ever adds time); a class over
/// its limit is measured again, up to <see cref="Attempts"/> passes in all, and its best ratio counts (a regression
/// is slow in every pass; a slow process, in one); and the reference holds, per method, the <em>median</em> ratio of
/// <see cref="ReferencePasses"/> passes, neither one lucky pass nor one slow process.
/// </remarks>
internal static class CiGate
{
    private const string Usage =
        "dotnet run -c Release --project bench/StreamGuard.Bench -- ci [--reference FILE] [--out DIR] [--tolerance F]"
        + " [--update-reference | --update-audit-reference]\n" + """
          --reference FILE     committed reference ratios (default bench/results/reference.json)
          --out DIR            where the run's reports go (default bench/results/ci)
          --tolerance F        allowed ratio increase over the reference (default 0.25 = 25%)
          --update-reference   measure 3 passes and write the median ratio of each method, and the audit's bytes per
                               event, as the new reference (then review and commit it)
          --update-audit-reference
                               write only the audit's bytes per event into the reference, its ratios left as they
                               are (after a change of the audit's encoding; then review and commit it)
        """;

    /// <summary>
    /// The gated benchmarks: parsing (reads, queries), the policy decision (under the demo's policy: under the network
    /// policy a nanosecond decision is divided by a memory-bound LINQ scan, a ratio too noisy to gate), and both
    /// together.
    /// </summary>
    private static readonly Type[] s_gated =
    [
        typeof(ReadParseBenchmarks), typeof(QueryParseBenchmarks), typeof(SamplePolicyBenchmarks),
        typeof(ParseAndDecideBenchmarks),
    ];

    /// <summary>Passes at most for a class over its limit (the first and two re-measures).</summary>
    private const int Attempts = 3;

    /// <summary>Passes measured for a new reference.</summary>
    private const int ReferencePasses = 3;

    public static int Run(string[] args)
    {
        string root = RepositoryRoot();
        string reference = Path.Combine(root, "bench", "results", "reference.json");
        string output = Path.Combine(root, "bench", "results", "ci");
        double tolerance = 0.25;
        bool update = false, updateAudit = false;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--reference" when i + 1 < args.Length: reference = Path.GetFullPath(args[++i]); break;
                case "--out" when i + 1 < args.Length: output = Path.GetFullPath(args[++i]); break;
                case "--tolerance" when i + 1 < args.Length
                    && double.TryParse(args[i + 1], NumberStyles.Float, CultureInfo.InvariantCulture, out tolerance):
                    i++;
                    break;
                case "--update-reference": update = true; break;
                case "--update-audit-reference": updateAudit = true; break;
                default:
                    Console.Error.WriteLine($"bench ci: unexpected argument '{args[i]}'\n{Usage}");
                    return 2;
            }
        }

        if (update && updateAudit)
        {
            Console.Error.WriteLine($"bench ci: --update-reference already updates the audit's figure\n{Usage}");
            return 2;
        }

        var failures = new List<string>();
        var passes = new List<List<CiRow>>();
        // The audit volume first: one exact measurement of a few seconds, the same in every pass.
        CiAuditMeasure audit = CiAuditVolume.Measure(root);
        Console.WriteLine(AuditLine(audit));
        if (updateAudit)
        {
            if (!File.Exists(reference))
            {
                Console.Error.WriteLine($"bench ci: no reference file {reference}: run with --update-reference");
                return 1;
            }
            CiRatiosFile.UpdateAudit(reference, audit);
            Console.WriteLine($"bench ci: audit reference updated in {reference} (review the figure, then commit it)");
            return 0;
        }
        if (update)
        {
            // The reference: every method's median ratio over several full passes (a slow benchmark process is the
            // highest or lowest and drops out).
            for (int pass = 1; pass <= ReferencePasses; pass++)
            {
                Console.WriteLine($"bench ci: reference pass {pass} of {ReferencePasses}");
                passes.Add(CiPass.Run(s_gated, Path.Combine(output, $"pass{pass}"), failures));
            }
            List<CiRow> median = passes[0].Select(r =>
            {
                CiRow[] all = passes.Select(p => p.FirstOrDefault(x => x.Name == r.Name) ?? r)
                    .OrderBy(x => x.Ratio).ToArray();
                return all[all.Length / 2];
            }).ToList();
            Directory.CreateDirectory(Path.GetDirectoryName(reference)!);
            File.WriteAllText(reference, CiRatiosFile.Json(median, DateTime.UtcNow, passes,
                "median ratio of each method over the passes", audit));
            Console.WriteLine(Table(median, []));
            Console.WriteLine($"bench ci: reference updated: {reference} (review the ratios, then commit it)");
            foreach (string f in failures) Console.Error.WriteLine("  " + f);
            return failures.Count == 0 && !median.Any(r => !r.Baseline && r.AllocatedBytes is not 0) ? 0 : 1;
        }

        Dictionary<string, double> expected = CiRatiosFile.Read(reference, failures);
        double? auditReference = CiRatiosFile.ReadAudit(reference, failures);
        List<CiRow> rows = CiPass.Run(s_gated, output, failures);
        passes.Add(rows);
        for (int attempt = 2; attempt <= Attempts; attempt++)
        {
            // A class over its limit is measured again; the better ratio of each method counts.
            Type[] slow = s_gated.Where(t => rows.Any(r => r.Name.StartsWith(t.Name + ".", StringComparison.Ordinal)
                && !r.Baseline
                && expected.TryGetValue(r.Name, out double e) && r.Ratio > e * (1 + tolerance))).ToArray();
            if (slow.Length == 0) break;
            Console.WriteLine($"bench ci: {string.Join(", ", slow.Select(t => t.Name))} over the limit: " +
                $"measuring again (pass {attempt} of at most {Attempts})");
            List<CiRow> again = CiPass.Run(slow, Path.Combine(output, $"again{attempt}"), failures);
            passes.Add(again);
            rows = rows.Select(r =>
                again.FirstOrDefault(a => a.Name == r.Name && !a.Baseline && a.Ratio < r.Ratio) is { } better
                    ? better
                    : r).ToList();
        }

        Directory.CreateDirectory(output);
        string resultFile = Path.Combine(output, "ci-ratios.json");
        File.WriteAllText(resultFile, CiRatiosFile.Json(rows, DateTime.UtcNow, passes,
            "best ratio of each method over the passes", audit, auditReference));
        Console.WriteLine($"bench ci: ratios written to {resultFile}");

        foreach (CiRow r in rows.Where(r => !r.Baseline))
        {
            if (r.AllocatedBytes is not 0)
            {
                failures.Add($"{r.Name} allocates " +
                    $"{r.AllocatedBytes?.ToString(CultureInfo.InvariantCulture) ?? "an unknown number of"} " +
                    "B per operation: the parse/policy path must allocate nothing");
            }
            if (!expected.TryGetValue(r.Name, out double refRatio))
            {
                failures.Add($"{r.Name}: no reference ratio in {reference} " +
                    "(a new benchmark? run with --update-reference and commit the file)");
            }
            else if (r.Ratio > refRatio * (1 + tolerance))
            {
                failures.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{r.Name}: {r.Ratio:G4} of its baseline's time against {refRatio:G4} in the reference (+" +
                    $"{(r.Ratio / refRatio - 1) * 100:F0}%, more than the +{tolerance * 100:F0}% allowed, in each of " +
                    $"{passes.Count(p => p.Any(x => x.Name == r.Name))} passes): a regression, or a faster baseline"));
            }
        }
        if (auditReference is double auditRef && audit.BytesPerEvent > auditRef * (1 + tolerance))
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture,
                $"audit: {audit.BytesPerEvent:F1} B per input event against {auditRef:F1} in the reference " +
                $"(+{(audit.BytesPerEvent / auditRef - 1) * 100:F0}%, more than the +{tolerance * 100:F0}% " +
                $"allowed): the audit grew"));
        }
        Console.WriteLine(Table(rows, expected, tolerance));
        Console.WriteLine(AuditTable(audit, auditReference, tolerance));
        if (auditReference is double under && audit.BytesPerEvent * (1 + tolerance) < under)
        {
            // Not a failure: a smaller audit is the goal. A reference left far above the figure no longer gates it.
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"bench ci: the audit is {(1 - audit.BytesPerEvent / under) * 100:F0}% under its reference: " +
                $"take it again (--update-audit-reference) so that the gate holds the new size"));
        }
        if (failures.Count == 0)
        {
            Console.WriteLine($"bench ci: passed ({rows.Count(r => !r.Baseline)} benchmarks " +
                $"within +{tolerance * 100:F0}% of {reference}, none allocates; the audit within " +
                $"+{tolerance * 100:F0}% of its reference)");
            return 0;
        }
        Console.Error.WriteLine($"bench ci: FAILED ({failures.Count}):");
        foreach (string f in failures) Console.Error.WriteLine("  " + f);
        return 1;
    }

    private static string Table(List<CiRow> rows, Dictionary<string, double> expected, double tolerance = 0)
    {
        var table = new StringBuilder();
        table.AppendLine(CultureInfo.InvariantCulture,
            $"{"benchmark",-52} {"min ns",9} {"ratio",9} {"reference",9} {"limit",9} {"allocated",10}");
        foreach (CiRow r in rows.Where(r => !r.Baseline))
        {
            bool known = expected.TryGetValue(r.Name, out double refRatio);
            table.AppendLine(CultureInfo.InvariantCulture,
                $"{r.Name,-52} {r.MinNs,9:F1} {r.Ratio,9:G4} " +
                $"{(known ? refRatio.ToString("G4", CultureInfo.InvariantCulture) : "-"),9} " +
                $"{(known ? (refRatio * (1 + tolerance)).ToString("G4", CultureInfo.InvariantCulture) : "-"),9} " +
                $"{(r.AllocatedBytes is long b ? b + " B" : "?"),10}");
        }
        return table.ToString();
    }

    private static string AuditLine(CiAuditMeasure m) => string.Create(CultureInfo.InvariantCulture,
        $"bench ci: audit volume: {m.AuditBytes:N0} B in {m.AuditMessages:N0} audit messages for {m.Events:N0} " +
        $"input events, {m.BytesPerEvent:F1} B and {m.MessagesPerEvent:F2} messages per event ({m.Seconds:F1} s)");

    /// <summary>The audit row: B per event, the reference's, the limit (in B per event) and the ratio.</summary>
    private static string AuditTable(CiAuditMeasure m, double? reference, double tolerance)
    {
        static string F(double? x, string format) => x?.ToString(format, CultureInfo.InvariantCulture) ?? "-";
        return string.Create(CultureInfo.InvariantCulture,
            $"{"audit",-52} {"B/event",9} {"reference",9} {"limit",9} {"ratio",9}\n" +
            $"{"CiAuditVolume.BytesPerEvent",-52} {m.BytesPerEvent,9:F1} {F(reference, "F1"),9} " +
            $"{F(reference * (1 + tolerance), "F1"),9} {F(m.BytesPerEvent / reference, "G4"),9}");
    }

    internal static string RepositoryRoot()
    {
        for (string? dir = Directory.GetCurrentDirectory(); dir is not null; dir = Path.GetDirectoryName(dir))
        {
            if (File.Exists(Path.Combine(dir, "StreamGuard.sln"))) return dir;
        }
        return Directory.GetCurrentDirectory();
    }
}
