using StreamGuard.Engine;
using StreamGuard.Policy;

namespace StreamGuard.Cli;

internal static class Common
{
    /// <summary>The sample policy shipped next to the executable.</summary>
    public static string SamplePolicyPath => Path.Combine(AppContext.BaseDirectory, "samples", "policy.yaml");

    /// <summary>
    /// Loads and compiles a policy; prints what <c>policy check</c> warns about (nullified agreements, expired ones),
    /// every warning when <paramref name="allWarnings"/>, else their number.
    /// </summary>
    public static CompiledPolicy LoadPolicy(string path, TextWriter err, bool allWarnings = true)
    {
        var policy = new CompiledPolicy(PolicyLoader.LoadFile(path));
        IReadOnlyList<string> warnings = PolicyCheck.Warnings(policy, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        if (allWarnings)
        {
            foreach (string w in warnings) err.WriteLine($"warning: {w}");
        }
        else if (warnings.Count > 0)
        {
            err.WriteLine($"policy: {warnings.Count} warnings (nullified or expired agreements): " +
                $"streamguard policy check {path}");
        }
        return policy;
    }

    /// <summary>
    /// What a policy grants against nothing (everything denied): stated by the first <c>policy_load</c> records.
    /// </summary>
    public static PolicyChangeSummary InitialChange(CompiledPolicy policy, long nowMs) =>
        PolicyDiff.Summarise(null, PolicyDiff.Compute(null, policy, nowMs));

    /// <summary>
    /// The audit key (HMAC key of plate references, salt of the chains' blocks): <c>--audit-key
    /// env:NAME|file:PATH</c> (in <c>run</c>, also <c>STREAMGUARD_AUDIT_KEY</c>). There is no default: under a key
    /// nobody kept, plate references could not be looked up and a restarted worker could continue no chain.
    /// </summary>
    /// <param name="reference">The reference given, or null.</param>
    /// <param name="missing">What is said when none is given: that it is required, how to give it, and why.</param>
    public static byte[] AuditKey(string? reference, string missing)
    {
        if (reference is null) throw new UsageException(missing);
        byte[]? key = PolicyLoader.ResolveKey(reference, Directory.GetCurrentDirectory(), out string? problem);
        return key ?? throw new UsageException($"--audit-key: {problem}");
    }

    /// <summary>
    /// The audit key in force before the last rotation (<c>--retired-audit-key</c>), or null: one that cannot be read,
    /// or that equals the key in force (a rotation not made), is refused.
    /// </summary>
    public static byte[]? RetiredAuditKey(string? reference, byte[] auditKey)
    {
        if (reference is null) return null;
        byte[] key = PolicyLoader.ResolveKey(reference, Directory.GetCurrentDirectory(), out string? problem)
            ?? throw new UsageException($"--retired-audit-key: {problem}");
        if (key.AsSpan().SequenceEqual(auditKey))
        {
            throw new UsageException("--retired-audit-key: it is the audit key in force (--audit-key): give the key " +
                "it replaced, or leave the option out");
        }
        return key;
    }

    public static bool Interactive(TextWriter w) =>
        w == Console.Error ? !Console.IsErrorRedirected : w == Console.Out && !Console.IsOutputRedirected;
}
