using System.Security.Cryptography;
using StreamGuard.Engine;
using StreamGuard.Policy;

namespace StreamGuard.Cli;

internal static class Common
{
    /// <summary>The sample policy shipped next to the executable.</summary>
    public static string SamplePolicyPath => Path.Combine(AppContext.BaseDirectory, "samples", "policy.yaml");

    public static CompiledPolicy LoadPolicy(string path, TextWriter err)
    {
        PolicyDocument doc = PolicyLoader.LoadFile(path);
        foreach (string w in doc.Warnings) err.WriteLine($"warning: {w}");
        return new CompiledPolicy(doc);
    }

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

    public static bool Interactive(TextWriter w) => w == Console.Error ? !Console.IsErrorRedirected : w == Console.Out && !Console.IsOutputRedirected;
}
