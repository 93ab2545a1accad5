using System.Security.Cryptography;
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
    /// The audit key (HMAC key of plate references): <c>--audit-key env:NAME|file:PATH</c> (or the same reference
    /// in <c>STREAMGUARD_AUDIT_KEY</c>). Without one, a random key is used and plate references cannot be looked
    /// up later: said loudly.
    /// </summary>
    public static byte[] AuditKey(string? reference, TextWriter err)
    {
        if (reference is not null)
        {
            byte[]? key = PolicyLoader.ResolveKey(reference, Directory.GetCurrentDirectory(), out string? problem);
            return key ?? throw new UsageException($"--audit-key: {problem}");
        }
        err.WriteLine("warning: no audit key (--audit-key env:NAME|file:PATH): using a random one; " +
            "plate_ref values in this audit log cannot be looked up later");
        return RandomNumberGenerator.GetBytes(32);
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
