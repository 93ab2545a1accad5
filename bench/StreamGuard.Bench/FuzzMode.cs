using System.Diagnostics;
using System.Globalization;
using StreamGuard.Fuzzing;

namespace StreamGuard.Bench;

/// <summary>
/// <c>dotnet run -c Release -- fuzz [--seed N] [--events N] [--ndjson N] [--policies N] [--policy FILE]</c>: the
/// hostile input fuzzer of the test suite (tests/StreamGuard.Core.Tests/Fuzz/HostileInputFuzzer.cs, compiled in
/// here) at full size. Prints the cases and outcomes per target; exits 1 if any case ended unclassified (an
/// exception, an undefined code, a broken invariant, a case slower than the hang limit). Run by scripts/fuzz.sh.
/// </summary>
public static class FuzzMode
{
    public static int Run(string[] args)
    {
        int seed = (int)Option(args, "--seed", 6_2026);
        long events = Option(args, "--events", 5_000_000);
        long ndjson = Option(args, "--ndjson", 100_000);
        long policies = Option(args, "--policies", 20_000);
        string policy = Value(args, "--policy") ?? Path.Combine("samples", "policy.yaml");
        Console.WriteLine($"fuzz: seed {seed}, {events:N0} event cases, {ndjson:N0} NDJSON streams, " +
            $"{policies:N0} policies (from {policy}); " +
            $"hang limit {HostileInputFuzzer.SlowCaseLimit.TotalMilliseconds:N0} ms per case");
        var fuzzer = new HostileInputFuzzer(seed, File.ReadAllBytes(policy),
            Path.GetDirectoryName(Path.GetFullPath(policy))!);
        var clock = Stopwatch.StartNew();
        fuzzer.Run(events, ndjson, policies, Console.WriteLine);
        Console.WriteLine(fuzzer.Summary());
        Console.WriteLine($"{fuzzer.Cases.Values.Sum():N0} cases in {clock.Elapsed.TotalSeconds:N0} s; " +
            $"{fuzzer.TotalFailures:N0} unclassified; slowest case {fuzzer.Slowest.TotalMilliseconds:N1} ms; " +
            $"{fuzzer.ScannedCases:N0} event cases taken by the parser's scanner, " +
            "every event case compared with the scanner off");
        foreach (string f in fuzzer.Failures) Console.WriteLine("  " + f);
        return fuzzer.TotalFailures == 0 ? 0 : 1;
    }

    private static string? Value(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static long Option(string[] args, string name, long fallback) =>
        Value(args, name) is string v
            ? long.Parse(v, NumberStyles.AllowThousands, CultureInfo.InvariantCulture)
            : fallback;
}
